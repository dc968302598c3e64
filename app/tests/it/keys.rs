//! Key management on a real SQLite file: rotate, rewrap (with resumption and
//! format-1 secrets), retire, rekey — and a second "process" (its own
//! connection and keyring, as the running server) that keeps reading and
//! writing across each change.

use crate::{key, ns, value};
use app::{
    domain::{Description, Timestamp},
    ssr::{
        audit::{self, Verdict},
        crypto::{CryptoError, Keyring, Place, RootKey},
        db,
        store::keyring::{self, RetireError},
        store::{self, Stamp, StoreError},
    },
};
use rusqlite::{params, Connection};
use std::path::{Path, PathBuf};

const STAMP: Stamp<'static> = Stamp { actor: "tester", at: Timestamp(1_800_000_000) };

/// A process with the database open: its connection and what the root key unlocked.
struct Process {
    conn: Connection,
    unlocked: keyring::Unlocked,
}

fn process(path: &Path, root: &RootKey) -> Result<Process, StoreError> {
    let mut conn = db::open(path).unwrap();
    let unlocked = keyring::unlock(&mut conn, root, STAMP.at)?;
    Ok(Process { conn, unlocked })
}

impl Process {
    fn keyring(&self) -> &Keyring {
        &self.unlocked.keyring
    }
    fn read(&self, path: &str, k: &str) -> String {
        store::resolve_value(&self.conn, self.keyring(), &ns(path), &key(k)).unwrap().value.expose().to_owned()
    }
    fn rotate(&mut self, path: &str, k: &str, v: &str) {
        let keyring = &self.unlocked.keyring;
        store::rotate_secret(&self.conn, keyring, &ns(path), &key(k), &value(v), None, STAMP).unwrap();
    }
    fn key_ids(&self) -> Vec<i64> {
        let mut stmt = self
            .conn
            .prepare("SELECT key_id FROM secret_versions WHERE key_id IS NOT NULL ORDER BY secret_id, version")
            .unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    }
    fn verify_trail(&self) {
        assert!(matches!(audit::verify(&self.conn, &self.unlocked.audit_key()).unwrap(), Verdict::Intact { .. }));
    }
    fn rewrap_all(&mut self, batch: usize) -> keyring::Rewrapped {
        let mut total = keyring::Rewrapped::default();
        while let Some(done) =
            keyring::rewrap_batch(&mut self.conn, &self.unlocked.keyring, total.cursor, batch).unwrap()
        {
            total = keyring::Rewrapped {
                secrets: total.secrets + done.secrets,
                versions: total.versions + done.versions,
                given_ids: total.given_ids + done.given_ids,
                cursor: done.cursor,
            };
        }
        total
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    path: PathBuf,
    root: RootKey,
}

/// Three secrets with 1, 2 and 3 versions, all under data key 1.
fn setup() -> (Setup, Process) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let root = RootKey::generate().unwrap();
    let mut p = process(&path, &root).unwrap();
    store::create_namespace(&p.conn, &ns("co.team"), &Description::default(), STAMP).unwrap();
    for (n, k) in [("co", "A"), ("co", "B"), ("co.team", "C")] {
        let keyring = &p.unlocked.keyring;
        store::add_secret(&p.conn, keyring, &ns(n), &key(k), &value(&format!("{k}1")), &Description::default(), STAMP)
            .unwrap();
    }
    p.rotate("co", "B", "B2");
    p.rotate("co.team", "C", "C2");
    p.rotate("co.team", "C", "C3");
    (Setup { _dir: dir, path, root }, p)
}

#[test]
fn after_a_rotation_new_writes_use_the_new_key_even_in_a_process_started_before() {
    let (s, mut server) = setup();
    let mut cli = process(&s.path, &s.root).unwrap();
    let chain = cli.unlocked.audit_key();
    assert_eq!(keyring::rotate(&mut cli.conn, &s.root, &chain, STAMP.at).unwrap(), 2);
    // The server unlocked key 1 only; its next write learns key 2 and uses it.
    server.rotate("co", "A", "A2");
    assert_eq!(server.key_ids(), vec![1, 2, 1, 1, 1, 1, 1]);
    assert_eq!(server.read("co", "A"), "A2");
    assert_eq!(server.read("co", "B"), "B2");
    let listed = keyring::list(&cli.conn).unwrap();
    assert_eq!(listed.iter().map(|k| (k.id, k.versions)).collect::<Vec<_>>(), vec![(1, 6), (2, 1)]);
    cli.verify_trail();
}

#[test]
fn rewrap_moves_every_stored_version_to_the_newest_key_and_the_server_still_reads_them() {
    let (s, server) = setup();
    let mut cli = process(&s.path, &s.root).unwrap();
    let chain = cli.unlocked.audit_key();
    keyring::rotate(&mut cli.conn, &s.root, &chain, STAMP.at).unwrap();
    let total = cli.rewrap_all(1000);
    assert_eq!((total.secrets, total.versions, total.given_ids), (3, 6, 0));
    assert_eq!(cli.key_ids(), vec![2; 6]);
    // The server never unwrapped key 2: it learns it on the first read that needs it.
    assert_eq!(server.read("co.team", "C"), "C3");
    assert_eq!(server.read("co", "A"), "A1");
    // Older versions too (restore re-seals version 1 as version 4).
    let keyring = &server.unlocked.keyring;
    store::restore_version(&server.conn, keyring, &ns("co.team"), &key("C"), 1, STAMP).unwrap();
    assert_eq!(server.read("co.team", "C"), "C1");
    // Nothing left to do: a second run finds nothing.
    assert_eq!(keyring::rewrap_batch(&mut cli.conn, &cli.unlocked.keyring, 0, 1000).unwrap(), None);
    // Key 1 can go now; the newest never.
    assert!(matches!(keyring::retire(&mut cli.conn, &chain, 2, STAMP.at), Err(RetireError::Newest(2))));
    keyring::retire(&mut cli.conn, &chain, 1, STAMP.at).unwrap();
    assert!(matches!(keyring::retire(&mut cli.conn, &chain, 1, STAMP.at), Err(RetireError::Unknown(1))));
    assert_eq!(server.read("co", "B"), "B2");
    cli.verify_trail();
}

#[test]
fn retiring_a_key_still_in_use_is_refused_and_changes_nothing() {
    let (s, mut cli) = setup();
    let chain = cli.unlocked.audit_key();
    keyring::rotate(&mut cli.conn, &s.root, &chain, STAMP.at).unwrap();
    match keyring::retire(&mut cli.conn, &chain, 1, STAMP.at) {
        Err(RetireError::InUse { id: 1, versions: 6 }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(keyring::list(&cli.conn).unwrap().len(), 2);
    assert_eq!(cli.read("co.team", "C"), "C3");
}

#[test]
fn a_rewrap_stopped_part_way_resumes_and_loses_nothing() {
    let (s, mut cli) = setup();
    let chain = cli.unlocked.audit_key();
    keyring::rotate(&mut cli.conn, &s.root, &chain, STAMP.at).unwrap();
    // One batch of one secret, then the process is gone.
    let first = keyring::rewrap_batch(&mut cli.conn, &cli.unlocked.keyring, 0, 1).unwrap().unwrap();
    assert_eq!((first.secrets, first.versions), (1, 1));
    drop(cli);
    let mut again = process(&s.path, &s.root).unwrap();
    assert_eq!(again.key_ids(), vec![2, 1, 1, 1, 1, 1]);
    let rest = again.rewrap_all(2);
    assert_eq!((rest.secrets, rest.versions), (2, 5));
    assert_eq!(again.key_ids(), vec![2; 6]);
    for (n, k, v) in [("co", "A", "A1"), ("co", "B", "B2"), ("co.team", "C", "C3")] {
        assert_eq!(again.read(n, k), v);
    }
}

#[test]
fn rewrap_gives_secrets_made_before_format_2_their_random_id() {
    let (_s, mut cli) = setup();
    // Make "co/B" a format-1 secret, as an older Strongroom stored it.
    let id: i64 = cli.conn.query_row("SELECT id FROM secrets WHERE key = 'B'", [], |r| r.get(0)).unwrap();
    for (version, text) in [(1u32, "B1"), (2, "B2")] {
        let (n, k) = (ns("co"), key("B"));
        let sealed =
            cli.keyring().seal_value(Place { namespace: &n, key: &k, version, uid: None }, &value(text)).unwrap();
        cli.conn
            .execute(
                "UPDATE secret_versions SET key_id = ?3, nonce = ?4, ciphertext = ?5 WHERE secret_id = ?1 AND version = ?2",
                params![id, version, sealed.key_id, sealed.nonce, sealed.ciphertext],
            )
            .unwrap();
    }
    cli.conn.execute("UPDATE secrets SET uid = NULL WHERE id = ?1", [id]).unwrap();
    assert_eq!(cli.read("co", "B"), "B2");
    // No rotation: only the format-1 secret needs work.
    let total = cli.rewrap_all(1000);
    assert_eq!((total.secrets, total.versions, total.given_ids), (1, 2, 1));
    let uid: Option<Vec<u8>> = cli.conn.query_row("SELECT uid FROM secrets WHERE id = ?1", [id], |r| r.get(0)).unwrap();
    assert_eq!(uid.map(|u| u.len()), Some(16));
    assert_eq!(cli.read("co", "B"), "B2");
    let keyring = &cli.unlocked.keyring;
    store::restore_version(&cli.conn, keyring, &ns("co"), &key("B"), 1, STAMP).unwrap();
    assert_eq!(cli.read("co", "B"), "B1");
}

#[test]
fn rekey_changes_the_root_key_atomically_and_the_trail_still_verifies() {
    let (s, mut cli) = setup();
    let before = audit::verify(&cli.conn, &cli.unlocked.audit_key()).unwrap();
    let new = RootKey::generate().unwrap();
    let wrong = RootKey::generate().unwrap();
    assert!(matches!(
        keyring::rekey(&mut cli.conn, &wrong, &new, STAMP.at),
        Err(StoreError::Crypto(CryptoError::WrongRootKey))
    ));
    assert_eq!(keyring::rekey(&mut cli.conn, &s.root, &new, STAMP.at).unwrap(), 1);
    drop(cli);
    assert!(matches!(process(&s.path, &s.root), Err(StoreError::Crypto(CryptoError::WrongRootKey))));
    let after = process(&s.path, &new).unwrap();
    assert_eq!(after.read("co.team", "C"), "C3");
    // Same chain key: every entry before the change and the rekey entry verify.
    let Verdict::Intact { entries: before } = before else { panic!("{before:?}") };
    assert_eq!(
        audit::verify(&after.conn, &after.unlocked.audit_key()).unwrap(),
        Verdict::Intact { entries: before + 1 }
    );
    let outcome: String = after
        .conn
        .query_row("SELECT action || ' ' || outcome FROM audit ORDER BY id DESC LIMIT 1", [], |r| r.get(0))
        .unwrap();
    assert!(outcome.starts_with("keyring.rekey ok: 1 data keys"), "{outcome}");
}

#[test]
fn a_database_made_before_stored_base_keys_keeps_its_derived_keys() {
    // Such a database derived its chain key from the root key itself: its
    // trail must still verify once the base key is stored.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let root = RootKey::generate().unwrap();
    let p = process(&path, &root).unwrap();
    let legacy = audit::AuditKey::derive(&root.legacy_base());
    // As such a database was: no base key, no row MACs, a trail under the legacy key.
    p.conn.execute("DELETE FROM meta WHERE name IN ('base_key', 'audit_head', 'rows_sealed')", []).unwrap();
    p.conn.execute("DELETE FROM audit", []).unwrap();
    audit::start_chain(&p.conn, &legacy).unwrap();
    audit::append(&p.conn, &legacy, entry()).unwrap();
    // Without the mark the migration leaves, a missing base key is refused, not guessed.
    drop(p);
    let mut conn = db::open(&path).unwrap();
    assert!(matches!(keyring::unlock(&mut conn, &root, STAMP.at), Err(StoreError::MissingBaseKey)));
    // As the schema was before base keys: reopening runs the migration that marks it.
    // (Later migrations undone too, since they run again.)
    let undo = "ALTER TABLE secrets DROP COLUMN tags; DROP INDEX audit_refused; DROP INDEX audit_refused_by_namespace;
                ALTER TABLE users DROP COLUMN mac; ALTER TABLE grants DROP COLUMN mac; ALTER TABLE tokens DROP COLUMN mac;
                CREATE TABLE changes (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL) STRICT; DROP TABLE leases;
                DROP TABLE throttles; DROP TABLE handovers; ALTER TABLE sessions DROP COLUMN mac;
                DROP TABLE approle_secret_ids; DROP TABLE approles; DROP TABLE jwt_roles;
                DROP TABLE idp_grants; DROP TABLE sso_identities; ALTER TABLE sessions DROP COLUMN max_age;
                DROP TABLE second_factors; DROP TABLE required_keys; DROP TABLE secret_reads;
                DROP INDEX secret_versions_by_fingerprint; ALTER TABLE secret_versions DROP COLUMN fingerprint;
                ALTER TABLE secret_versions DROP COLUMN fingerprint_gen; DROP TABLE webhook_deliveries; DROP TABLE webhooks;";
    conn.execute_batch(undo).unwrap();
    conn.pragma_update(None, "user_version", 9).unwrap();
    drop(conn);
    let reopened = process(&path, &root).unwrap();
    // Its one entry, then its rows sealed at this first unlock by a version with row MACs.
    assert_eq!(audit::verify(&reopened.conn, &reopened.unlocked.audit_key()).unwrap(), Verdict::Intact { entries: 2 });
    let stored: i64 =
        reopened.conn.query_row("SELECT count(*) FROM meta WHERE name = 'base_key'", [], |r| r.get(0)).unwrap();
    assert_eq!(stored, 1);
}

fn entry() -> audit::NewEntry {
    audit::NewEntry {
        at: STAMP.at,
        actor: audit::Actor::CommandLine,
        action: app::domain::audit::Action::SecretAdd,
        namespace: "co".into(),
        key: "K".into(),
        version: Some(1),
        client: audit::Client::Local,
        outcome: "ok".into(),
    }
}

/// Fingerprints (`store::fingerprints`): a rekey makes a new fingerprint key,
/// under which the old fingerprints match nothing until the next process with
/// the new root key recomputes them all; a value stored by a process still
/// holding the old key matches nothing either until then.
#[test]
fn rekey_replaces_the_fingerprint_key_and_the_next_start_recomputes_every_fingerprint() {
    let (s, mut cli) = setup();
    store::add_secret(
        &cli.conn,
        cli.keyring(),
        &ns("co.team"),
        &key("A"),
        &value("A1"),
        &Description::default(),
        STAMP,
    )
    .unwrap();
    let same = |p: &Process| store::fingerprints::same_value(&p.conn, &ns("co"), &key("A")).unwrap().same_as;
    assert_eq!(same(&cli), [(ns("co.team"), key("A"))]);
    let generations = |p: &Process| -> Vec<i64> {
        let mut stmt = p.conn.prepare("SELECT DISTINCT fingerprint_gen FROM secret_versions ORDER BY 1").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    };
    assert_eq!(generations(&cli), [1]);
    let new = RootKey::generate().unwrap();
    keyring::rekey(&mut cli.conn, &s.root, &new, STAMP.at).unwrap();
    // Still running with generation 1: what it stores now is recomputed later.
    cli.rotate("co", "B", "B3");
    drop(cli);
    let after = process(&s.path, &new).unwrap();
    assert_eq!(generations(&after), [2], "every version fingerprinted again under the new key");
    assert_eq!(same(&after), [(ns("co.team"), key("A"))]);
    let blob: Vec<u8> =
        after.conn.query_row("SELECT value FROM meta WHERE name = 'fingerprint_key'", [], |r| r.get(0)).unwrap();
    assert!(RootKey::generate().unwrap().unwrap_fingerprint(2, &blob[8..]).is_err());
    assert!(new.unwrap_fingerprint(2, &blob[8..]).is_ok() && s.root.unwrap_fingerprint(2, &blob[8..]).is_err());
}

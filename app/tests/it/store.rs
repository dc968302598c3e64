//! The store and its encryption on a real SQLite file: round trips, inheritance,
//! versions, and every way a ciphertext can be tampered with or misplaced.

use crate::{key, ns, value};
use app::{
    domain::{Description, Timestamp},
    ssr::{
        crypto::{CryptoError, Keyring, RootKey},
        db,
        store::keyring,
        store::{self, Stamp, StoreError, RETAINED_VERSIONS},
    },
};
use rusqlite::{params, Connection};
use std::path::PathBuf;

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    conn: Connection,
    root: RootKey,
    keyring: Keyring,
}

const STAMP: Stamp<'static> = Stamp { actor: "tester", at: Timestamp(1_800_000_000) };

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let mut conn = db::open(&path).unwrap();
    let root = RootKey::generate().unwrap();
    let keyring = keyring::unlock(&mut conn, &root, STAMP.at).unwrap().keyring;
    Fixture { _dir: dir, path, conn, root, keyring }
}

fn none() -> Description {
    Description::default()
}

impl Fixture {
    fn namespace(&mut self, path: &str) {
        store::create_namespace(&self.conn, &ns(path), &none(), STAMP).unwrap();
    }
    fn add(&mut self, path: &str, k: &str, v: &str) {
        store::add_secret(&self.conn, &self.keyring, &ns(path), &key(k), &value(v), &none(), STAMP).unwrap();
    }
    fn rotate(&mut self, path: &str, k: &str, v: &str) -> u32 {
        store::rotate_secret(&self.conn, &self.keyring, &ns(path), &key(k), &value(v), None, STAMP).unwrap().version
    }
    fn read(&self, path: &str, k: &str) -> Result<(String, String), StoreError> {
        store::resolve_value(&self.conn, &self.keyring, &ns(path), &key(k))
            .map(|r| (r.defined_in.to_string(), r.value.expose().to_owned()))
    }
    /// Rewrites one blob column of one version row, as an attacker with the file could.
    fn tamper(&self, version: u32, column: &str, edit: impl FnOnce(&mut Vec<u8>)) {
        let mut blob: Vec<u8> = self
            .conn
            .query_row(&format!("SELECT {column} FROM secret_versions WHERE version = ?1"), [version], |r| r.get(0))
            .unwrap();
        edit(&mut blob);
        self.conn
            .execute(&format!("UPDATE secret_versions SET {column} = ?1 WHERE version = ?2"), params![blob, version])
            .unwrap();
    }
}

#[test]
fn a_value_round_trips_through_the_file() {
    let mut f = fixture();
    f.namespace("company");
    f.add("company", "DB", "multi\nline\nvalue");
    assert_eq!(f.read("company", "DB").unwrap(), ("company".into(), "multi\nline\nvalue".into()));
}

#[test]
fn the_value_is_not_in_the_database_file_in_clear() {
    let mut f = fixture();
    f.namespace("company");
    let canary = "canary-store-7f3a9c1e5b";
    f.add("company", "DB", canary);
    f.add("company", "DB_COPY", canary);
    f.rotate("company", "DB_COPY", "another value");
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", f.path.display()));
        if let Ok(bytes) = std::fs::read(&file) {
            assert!(!bytes.windows(canary.len()).any(|w| w == canary.as_bytes()), "{}", file.display());
        }
    }
}

#[test]
fn the_same_value_stored_twice_gives_different_ciphertexts() {
    let mut f = fixture();
    f.namespace("a");
    // In two secrets: a rotation to the current value is refused.
    f.add("a", "K", "same");
    f.add("a", "L", "same");
    let cts: Vec<(Vec<u8>, Vec<u8>)> = f
        .conn
        .prepare("SELECT nonce, ciphertext FROM secret_versions ORDER BY version")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(cts.len(), 2);
    assert_ne!(cts[0].0, cts[1].0, "nonces repeat");
    assert_ne!(cts[0].1, cts[1].1, "ciphertexts repeat");
}

#[test]
fn a_flipped_byte_in_nonce_ciphertext_or_tag_fails_to_decrypt() {
    type Flip = fn(&mut Vec<u8>);
    let cases: [(&str, Flip); 4] = [
        ("nonce", |b| b[0] ^= 1),
        ("ciphertext", |b| b[0] ^= 0x80),
        ("ciphertext", |b| *b.last_mut().unwrap() ^= 1), // the tag is the last 16 bytes
        ("nonce", |b| b[23] ^= 1),
    ];
    for (column, flip) in cases {
        let mut f = fixture();
        f.namespace("a");
        f.add("a", "K", "secret value");
        f.tamper(1, column, flip);
        assert!(matches!(f.read("a", "K"), Err(StoreError::Crypto(CryptoError::Tampered))), "{column}");
    }
}

/// Copies version `from_version`'s sealed columns onto the row of `to`.
fn move_ciphertext(conn: &Connection, from: (&str, &str, u32), to: (&str, &str, u32)) {
    let select = "SELECT v.key_id, v.nonce, v.ciphertext FROM secret_versions v
        JOIN secrets s ON s.id = v.secret_id JOIN namespaces n ON n.id = s.namespace_id
        WHERE n.path = ?1 AND s.key = ?2 AND v.version = ?3";
    let (kid, nonce, ct): (i64, Vec<u8>, Vec<u8>) =
        conn.query_row(select, params![from.0, from.1, from.2], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
    let changed = conn
        .execute(
            "UPDATE secret_versions SET key_id = ?1, nonce = ?2, ciphertext = ?3
             WHERE version = ?6 AND secret_id = (SELECT s.id FROM secrets s JOIN namespaces n ON n.id = s.namespace_id
                                                 WHERE n.path = ?4 AND s.key = ?5)",
            params![kid, nonce, ct, to.0, to.1, to.2],
        )
        .unwrap();
    assert_eq!(changed, 1);
}

#[test]
fn a_ciphertext_moved_to_another_namespace_key_or_version_fails() {
    let mut f = fixture();
    f.namespace("a.b");
    f.add("a", "K", "from a/K");
    f.add("a.b", "K", "from a.b/K");
    f.add("a", "OTHER", "from a/OTHER");
    f.rotate("a", "OTHER", "from a/OTHER v2");
    move_ciphertext(&f.conn, ("a", "K", 1), ("a.b", "K", 1)); // other namespace
    assert!(matches!(f.read("a.b", "K"), Err(StoreError::Crypto(CryptoError::Tampered))));
    move_ciphertext(&f.conn, ("a", "K", 1), ("a", "OTHER", 2)); // other key
    assert!(matches!(f.read("a", "OTHER"), Err(StoreError::Crypto(CryptoError::Tampered))));
    f.rotate("a", "K", "v2");
    move_ciphertext(&f.conn, ("a", "K", 1), ("a", "K", 2)); // other version of the same secret
    assert!(matches!(f.read("a", "K"), Err(StoreError::Crypto(CryptoError::Tampered))));
}

#[test]
fn a_wrong_root_key_is_refused_and_the_right_one_reopens() {
    let mut f = fixture();
    f.namespace("a");
    f.add("a", "K", "kept");
    drop(f.conn);
    let mut conn = db::open(&f.path).unwrap();
    let wrong = RootKey::generate().unwrap();
    assert!(matches!(
        keyring::unlock(&mut conn, &wrong, STAMP.at).map(|_| ()),
        Err(StoreError::Crypto(CryptoError::WrongRootKey))
    ));
    let keyring = keyring::unlock(&mut conn, &f.root, STAMP.at).unwrap().keyring;
    let v = store::resolve_value(&conn, &keyring, &ns("a"), &key("K")).unwrap().value;
    assert_eq!(v.expose(), "kept");
}

#[test]
fn a_tampered_wrapped_data_key_is_refused_at_start() {
    let f = fixture();
    f.conn.execute("UPDATE data_keys SET wrapped = zeroblob(48)", []).unwrap();
    drop(f.conn);
    let mut conn = db::open(&f.path).unwrap();
    assert!(matches!(
        keyring::unlock(&mut conn, &f.root, STAMP.at).map(|_| ()),
        Err(StoreError::Crypto(CryptoError::Tampered))
    ));
}

#[test]
fn creating_a_namespace_creates_its_missing_ancestors_once() {
    let mut f = fixture();
    f.namespace("a.b.c");
    f.namespace("a.x");
    let paths: Vec<String> = store::list_namespaces(&f.conn).unwrap().into_iter().map(|n| n.path.into()).collect();
    assert_eq!(paths, ["a", "a.b", "a.b.c", "a.x"]);
    assert!(matches!(store::create_namespace(&f.conn, &ns("a.b"), &none(), STAMP), Err(StoreError::NamespaceExists)));
}

#[test]
fn the_tree_lists_children_right_after_their_parent() {
    let mut f = fixture();
    for p in ["a-z", "a.b", "a0"] {
        f.namespace(p);
    }
    let paths: Vec<String> = store::list_namespaces(&f.conn).unwrap().into_iter().map(|n| n.path.into()).collect();
    assert_eq!(paths, ["a", "a.b", "a-z", "a0"]);
}

#[test]
fn children_inherit_and_the_nearest_definition_wins() {
    let mut f = fixture();
    f.namespace("co.team.etl");
    f.add("co", "DB", "co-db");
    f.add("co", "API", "co-api");
    f.add("co.team", "DB", "team-db");
    assert_eq!(f.read("co.team.etl", "DB").unwrap(), ("co.team".into(), "team-db".into()));
    assert_eq!(f.read("co.team.etl", "API").unwrap(), ("co".into(), "co-api".into()));
    assert_eq!(f.read("co", "DB").unwrap().1, "co-db");

    let view = store::namespace_listing(&f.conn, &ns("co.team")).unwrap();
    let shown: Vec<(String, bool, Option<String>)> = view
        .effective
        .iter()
        .map(|e| (e.meta.key.to_string(), e.own, e.shadows.as_ref().map(|p| p.to_string())))
        .collect();
    assert_eq!(shown, [("API".into(), false, None), ("DB".into(), true, Some("co".into()))]);
    assert_eq!(view.children.len(), 1);
    assert_eq!(view.namespace.secret_count, 1);
}

#[test]
fn a_deleted_secret_stops_shadowing_and_restore_brings_it_back() {
    let mut f = fixture();
    f.namespace("co.team");
    f.add("co", "DB", "co-db");
    f.add("co.team", "DB", "team-db");
    store::delete_secret(&f.conn, &ns("co.team"), &key("DB"), STAMP).unwrap();
    assert_eq!(f.read("co.team", "DB").unwrap().1, "co-db");
    let view = store::namespace_listing(&f.conn, &ns("co.team")).unwrap();
    assert_eq!(view.deleted.len(), 1);
    assert!(matches!(
        store::rotate_secret(&f.conn, &f.keyring, &ns("co.team"), &key("DB"), &value("x"), None, STAMP),
        Err(StoreError::SecretDeleted)
    ));
    assert!(matches!(
        store::add_secret(&f.conn, &f.keyring, &ns("co.team"), &key("DB"), &value("x"), &none(), STAMP),
        Err(StoreError::SecretDeleted)
    ));
    store::restore_secret(&f.conn, &ns("co.team"), &key("DB"), STAMP).unwrap();
    assert_eq!(f.read("co.team", "DB").unwrap().1, "team-db");
    assert!(matches!(
        store::restore_secret(&f.conn, &ns("co.team"), &key("DB"), STAMP),
        Err(StoreError::SecretNotDeleted)
    ));
}

#[test]
fn each_write_makes_a_new_version_and_restore_reseals_an_old_one() {
    let mut f = fixture();
    f.namespace("a");
    f.add("a", "K", "one");
    assert_eq!(f.rotate("a", "K", "two"), 2);
    let meta = store::restore_version(&f.conn, &f.keyring, &ns("a"), &key("K"), 1, STAMP).unwrap();
    assert_eq!(meta.version, 3);
    assert_eq!(f.read("a", "K").unwrap().1, "one");
    let detail = store::secret_detail(&f.conn, &ns("a"), &key("K")).unwrap();
    let versions: Vec<(u32, Option<u32>)> = detail.versions.iter().map(|v| (v.version, v.restored_from)).collect();
    assert_eq!(versions, [(3, Some(1)), (2, None), (1, None)]);
    assert!(matches!(
        store::restore_version(&f.conn, &f.keyring, &ns("a"), &key("K"), 9, STAMP),
        Err(StoreError::VersionNotFound)
    ));
}

#[test]
fn versions_past_the_retention_limit_lose_their_ciphertext_but_keep_metadata() {
    let mut f = fixture();
    f.namespace("a");
    f.add("a", "K", "v1");
    for n in 2..=RETAINED_VERSIONS + 1 {
        f.rotate("a", "K", &format!("v{n}"));
    }
    let detail = store::secret_detail(&f.conn, &ns("a"), &key("K")).unwrap();
    assert_eq!(detail.versions.len() as u32, RETAINED_VERSIONS + 1);
    let destroyed: Vec<u32> = detail.versions.iter().filter(|v| v.destroyed).map(|v| v.version).collect();
    assert_eq!(destroyed, [1]);
    let nulls: i64 = f
        .conn
        .query_row("SELECT count(*) FROM secret_versions WHERE ciphertext IS NULL AND nonce IS NULL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(nulls, 1);
    assert!(matches!(
        store::restore_version(&f.conn, &f.keyring, &ns("a"), &key("K"), 1, STAMP),
        Err(StoreError::VersionDestroyed(1))
    ));
    store::restore_version(&f.conn, &f.keyring, &ns("a"), &key("K"), 2, STAMP).unwrap();
    assert_eq!(f.read("a", "K").unwrap().1, "v2");
}

#[test]
fn refused_writes_change_nothing() {
    let mut f = fixture();
    f.namespace("a");
    f.add("a", "K", "original");
    let before: i64 = f.conn.query_row("SELECT total_changes()", [], |r| r.get(0)).unwrap();
    assert!(matches!(
        store::add_secret(&f.conn, &f.keyring, &ns("a"), &key("K"), &value("x"), &none(), STAMP),
        Err(StoreError::SecretExists)
    ));
    assert!(matches!(
        store::add_secret(&f.conn, &f.keyring, &ns("missing"), &key("K"), &value("x"), &none(), STAMP),
        Err(StoreError::NamespaceNotFound)
    ));
    assert!(matches!(
        store::rotate_secret(&f.conn, &f.keyring, &ns("a"), &key("NOPE"), &value("x"), None, STAMP),
        Err(StoreError::SecretNotFound)
    ));
    assert!(matches!(store::delete_secret(&f.conn, &ns("a"), &key("NOPE"), STAMP), Err(StoreError::SecretNotFound)));
    let after: i64 = f.conn.query_row("SELECT total_changes()", [], |r| r.get(0)).unwrap();
    assert_eq!(before, after);
    assert_eq!(f.read("a", "K").unwrap().1, "original");
    assert_eq!(store::secret_detail(&f.conn, &ns("a"), &key("K")).unwrap().meta.version, 1);
}

#[test]
fn deleting_a_secret_names_the_namespaces_that_stop_seeing_it() {
    let mut f = fixture();
    for path in ["company", "company.pay", "company.pay.api", "company.pay.web", "company.pay.web.cdn", "company.x_y"] {
        f.namespace(path);
    }
    f.add("company.pay", "STRIPE", "v1");
    f.add("company.pay.web", "STRIPE", "own");
    let (sees, instead) = store::dependents(&f.conn, &ns("company.pay"), &key("STRIPE")).unwrap();
    // web defines its own, so neither it nor cdn below it depends on company.pay's.
    assert_eq!(sees, [ns("company.pay.api")]);
    assert_eq!(instead, None);
    // With a definition higher up, the children fall back to it.
    f.add("company", "STRIPE", "top");
    let (_, instead) = store::dependents(&f.conn, &ns("company.pay"), &key("STRIPE")).unwrap();
    assert_eq!(instead, Some(ns("company")));
    assert_eq!(store::inherited_from(&f.conn, &ns("company.pay"), &key("STRIPE")).unwrap(), Some(ns("company")));
    // `_` is no wildcard: company.x_y is not under company.x.
    let (sees, _) = store::dependents(&f.conn, &ns("company"), &key("STRIPE")).unwrap();
    assert_eq!(sees, [ns("company.x_y")]);
}

/// SSO accounts (`store::sso`): made at the first sign-in, their IdP grants
/// re-computed at each one, a grant revoked and made again by hand is the
/// admin's (never taken by the next sign-in), and another identity with the
/// same name is refused.
#[test]
fn grants_from_the_idp_follow_the_groups_and_never_take_a_hand_grant() {
    use app::{
        domain::{Grant, Role, Scope, Username},
        ssr::store::{accounts, sso, sso::SignIn},
    };
    let dir = tempfile::tempdir().unwrap();
    let mut conn = db::open(&dir.path().join("sso.db")).unwrap();
    let rows = keyring::unlock(&mut conn, &RootKey::generate().unwrap(), STAMP.at).unwrap().row_key();
    let admin = Grant { role: Role::Admin, scope: Scope::All };
    let auditor = Grant { role: Role::Auditor, scope: Scope::parse("company").unwrap() };
    let (root, carol) = (Username::parse("root").unwrap(), Username::parse("carol").unwrap());
    accounts::create_user(&conn, &rows, &root, "x", std::slice::from_ref(&admin), STAMP).unwrap();
    let id = ("https://idp.example.com", "u-1");

    let first = sso::sign_in(&conn, &rows, id, Some(&carol), &[admin.clone(), auditor.clone()], STAMP).unwrap();
    let SignIn::Admitted { user, created: true, .. } = first else { panic!("{first:?}") };
    assert_eq!(sso::from_idp(&conn, &rows, user).unwrap().len(), 2);
    // The group that gave auditor is left: that grant goes, the account stays.
    assert!(matches!(
        sso::sign_in(&conn, &rows, id, None, std::slice::from_ref(&admin), STAMP).unwrap(),
        SignIn::Admitted { .. }
    ));
    assert_eq!(accounts::grants_of(&conn, &rows, user).unwrap(), std::slice::from_ref(&admin));

    // Revoked by hand, then granted by hand: the admin's grant now, not the IdP's.
    accounts::revoke_grant(&conn, &carol, &admin).unwrap();
    accounts::add_grant(&conn, &rows, &carol, &admin, STAMP).unwrap();
    assert!(sso::from_idp(&conn, &rows, user).unwrap().is_empty());
    assert!(matches!(sso::sign_in(&conn, &rows, id, None, &[], STAMP).unwrap(), SignIn::Admitted { .. }));
    assert_eq!(
        accounts::grants_of(&conn, &rows, user).unwrap(),
        std::slice::from_ref(&admin),
        "the next sign-in keeps it"
    );

    // Another identity named like an account: refused, nothing made; no role at all: nothing made.
    let other = ("https://idp.example.com", "u-2");
    assert_eq!(
        sso::sign_in(&conn, &rows, other, Some(&carol), std::slice::from_ref(&admin), STAMP).unwrap(),
        SignIn::NameTaken(carol.clone())
    );
    let dave = Username::parse("dave").unwrap();
    assert_eq!(
        sso::sign_in(&conn, &rows, ("https://idp.example.com", "u-3"), Some(&dave), &[], STAMP).unwrap(),
        SignIn::NoRole
    );
    assert_eq!(accounts::user_count(&conn).unwrap(), 2);
    // An identity row edited without the root key (pointed at root's account) is refused.
    conn.execute("UPDATE sso_identities SET user_id = (SELECT id FROM users WHERE username = 'root')", []).unwrap();
    assert_eq!(sso::sign_in(&conn, &rows, id, None, std::slice::from_ref(&admin), STAMP).unwrap(), SignIn::Tampered);
}

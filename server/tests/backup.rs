//! `strongroom backup` and `restore` with the real binary, against a data
//! directory a running server is using.

mod common;
use app::{
    domain::{NamespacePath, SecretKey},
    ssr::{audit, crypto::RootKey, state::AppState, store},
};
use common::{start, strongroom, text};

#[tokio::test]
async fn a_backup_taken_while_serving_restores_every_secret_and_refuses_bad_files() {
    let s = start().await;
    let canaries = [("DB_PASSWORD", "canary-db-7f3a"), ("API_KEY", "canary-api-91bc"), ("CERT", "canary-cert-55de")];
    s.secrets("company.team", &canaries).await;
    let work = tempfile::tempdir().unwrap();
    let backup = work.path().join("strongroom-backup.db");
    let b = backup.to_str().unwrap();

    // While the server holds the database open (and keeps writing).
    let out = strongroom(&["backup", b], s.dir.path(), &s.root_key);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("3 secrets"), "{}", text(&out));
    s.secrets("company.later", &[("AFTER", "made after the backup")]).await;
    let bytes = std::fs::read(&backup).unwrap();
    for (_, value) in canaries {
        assert!(!bytes.windows(value.len()).any(|w| w == value.as_bytes()), "{value} in clear in the backup");
    }
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777, 0o600);
    let again = strongroom(&["backup", b], s.dir.path(), &s.root_key);
    assert!(!again.status.success() && text(&again).contains("never overwrites"), "{}", text(&again));

    // Lose the machine: restore into an empty directory, read every secret back.
    let fresh = tempfile::tempdir().unwrap();
    let out = strongroom(&["restore", b], fresh.path(), &s.root_key);
    assert!(out.status.success(), "{}", text(&out));
    let root = RootKey::from_base64(&s.root_key).unwrap();
    let restored = AppState::open(&fresh.path().join("strongroom.db"), &root, &Default::default()).unwrap();
    let ns = NamespacePath::parse("company.team").unwrap();
    for (key, value) in canaries {
        let key = SecretKey::parse(key).unwrap();
        let keyring = restored.keyring.clone();
        let (ns, key) = (ns.clone(), key.clone());
        let got = restored.db.read(move |c| store::resolve_value(c, &keyring, &ns, &key)).await.unwrap();
        assert_eq!(got.value.expose(), value);
    }
    let chain = restored.audit.clone();
    let verdict = restored.db.read(move |c| audit::verify(c, &chain)).await.unwrap();
    assert!(matches!(verdict, audit::Verdict::Intact { .. }), "{verdict:?}");
    drop(restored);

    // Refusals, each saying why.
    let out = strongroom(&["restore", b], fresh.path(), &s.root_key);
    assert!(!out.status.success() && text(&out).contains("empty data directory"), "{}", text(&out));
    let other_key = RootKey::generate().unwrap().to_base64().to_string();
    let out = strongroom(&["restore", b], tempfile::tempdir().unwrap().path(), &other_key);
    assert!(!out.status.success() && text(&out).contains("another root key"), "{}", text(&out));

    let cut = work.path().join("cut.db");
    std::fs::copy(&backup, &cut).unwrap();
    rusqlite::Connection::open(&cut).unwrap().execute("DELETE FROM audit WHERE id = 2", []).unwrap();
    let empty = tempfile::tempdir().unwrap();
    let out = strongroom(&["restore", cut.to_str().unwrap()], empty.path(), &s.root_key);
    assert!(!out.status.success() && text(&out).contains("audit trail is broken at entry 3"), "{}", text(&out));
    assert!(!empty.path().join("strongroom.db").exists(), "nothing half-restored");

    let damaged = work.path().join("damaged.db");
    let mut bytes = std::fs::read(&backup).unwrap();
    let page = 4096;
    for b in &mut bytes[page..page * 3] {
        *b ^= 0x5a;
    }
    std::fs::write(&damaged, bytes).unwrap();
    let out = strongroom(&["restore", damaged.to_str().unwrap()], empty.path(), &s.root_key);
    assert!(!out.status.success() && text(&out).contains("refusing to restore"), "{}", text(&out));
    assert!(!empty.path().join("strongroom.db").exists());
}

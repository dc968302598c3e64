//! `strongroom backup` and `restore` with the real binary, against a data
//! directory a running server is using.

use crate::common::{start, strongroom, text};
use app::{
    domain::{NamespacePath, SecretKey},
    ssr::{audit, crypto::RootKey, state::AppState, store},
};

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

/// Issue 18, items 7, 9 and 11: a backup edited by someone without the root
/// key is refused, sessions never come back, a leftover journal beside the
/// target is refused, and `backup` writes only into a new file of its own.
#[tokio::test]
async fn a_backup_edited_without_the_root_key_is_refused_and_sessions_never_come_back() {
    let s = start().await;
    s.secrets("company", &[("DB_PASSWORD", "first-value")]).await;
    let mut admin = s.login("admin").await;
    let rotate = [("namespace", "company"), ("key", "DB_PASSWORD"), ("value", "second-value"), ("version", "1")];
    let (status, body) = admin.call("secrets/rotate", &rotate).await;
    assert_eq!(status, 200, "{body}");
    let week = app::domain::Timestamp(app::ssr::clock::now().0 + 7 * 86_400);
    s.token("ci", "company", Some(week)).await;
    let work = tempfile::tempdir().unwrap();
    let backup = work.path().join("b.db");
    let out = strongroom(&["backup", backup.to_str().unwrap()], s.dir.path(), &s.root_key);
    assert!(out.status.success(), "{}", text(&out));

    // Each edit on its own copy; each restore into an empty directory.
    let tamper = |name: &str, sql: &str| {
        let copy = work.path().join(format!("{name}.db"));
        std::fs::copy(&backup, &copy).unwrap();
        rusqlite::Connection::open(&copy).unwrap().execute_batch(sql).unwrap();
        let empty = tempfile::tempdir().unwrap();
        let out = strongroom(&["restore", copy.to_str().unwrap()], empty.path(), &s.root_key);
        assert!(!empty.path().join("strongroom.db").exists(), "{name}: restored anyway");
        assert!(!out.status.success(), "{name}: {}", text(&out));
        text(&out)
    };
    let said = tamper(
        "token",
        "INSERT INTO tokens (name, token_hash, namespace, created_at, created_by) VALUES ('evil', x'00', '', 1, 'x')",
    );
    assert!(said.contains("tokens row"), "{said}");
    let said = tamper("scope", "UPDATE tokens SET namespace = '' WHERE name = 'ci'");
    assert!(said.contains("tokens row \"ci\""), "{said}");
    let said = tamper("never-expires", "UPDATE tokens SET expires_at = NULL");
    assert!(said.contains("tokens row \"ci\""), "{said}");
    let said = tamper("grant", "UPDATE grants SET namespace = 'x'");
    assert!(said.contains("grants row"), "{said}");
    let said = tamper("password", "UPDATE users SET password_hash = 'known'");
    assert!(said.contains("users row \"admin\""), "{said}");
    let said = tamper(
        "trigger",
        "CREATE TRIGGER widen AFTER INSERT ON tokens BEGIN UPDATE tokens SET namespace = '' WHERE id = NEW.id; END;",
    );
    assert!(said.contains("schema object") && said.contains("trigger widen"), "{said}");
    let said = tamper("rollback", "UPDATE secrets SET version = 1");
    assert!(said.contains("company/DB_PASSWORD") && said.contains("rolled back"), "{said}");
    let said = tamper("removed", "DELETE FROM secret_versions; DELETE FROM secrets");
    assert!(said.contains("is gone"), "{said}");
    let said = tamper("mark", "DELETE FROM meta WHERE name = 'rows_sealed'; UPDATE tokens SET namespace = ''");
    assert!(said.contains("mark"), "{said}");
    let said = tamper("latest-version", "DELETE FROM secret_versions WHERE version = 2");
    assert!(said.contains("current version 2 is gone"), "{said}");
    let said = tamper(
        "swapped",
        "UPDATE secret_versions SET ciphertext = (SELECT ciphertext FROM secret_versions WHERE version = 1),
                                    nonce = (SELECT nonce FROM secret_versions WHERE version = 1) WHERE version = 2",
    );
    assert!(said.contains("version 2 does not open"), "{said}");

    // Rows that carry a good MAC but are older than the trail: put back from an earlier copy.
    let (status, _) = admin.call("tokens/revoke", &[("name", "ci")]).await;
    assert_eq!(status, 200);
    s.add_user("lead", app::domain::Role::Auditor, "company").await;
    let grant = [("username", "lead"), ("role", "editor"), ("scope", "company")];
    assert_eq!(admin.call("users/grant", &grant).await.0, 200);
    let granted = work.path().join("granted.db");
    assert!(strongroom(&["backup", granted.to_str().unwrap()], s.dir.path(), &s.root_key).status.success());
    assert_eq!(admin.call("users/revoke", &grant).await.0, 200);
    // A second apart, so that the reset is later than the row it replaces.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let reset = [("username", "lead"), ("password", "a brand new long password for lead")];
    assert_eq!(admin.call("users/reset_password", &reset).await.0, 200);
    let later = work.path().join("later.db");
    assert!(strongroom(&["backup", later.to_str().unwrap()], s.dir.path(), &s.root_key).status.success());
    let splice = |name: &str, older: &std::path::Path, sql: &str| {
        let copy = work.path().join(format!("{name}.db"));
        std::fs::copy(&later, &copy).unwrap();
        let conn = rusqlite::Connection::open(&copy).unwrap();
        conn.execute("ATTACH ?1 AS old", [older.to_str().unwrap()]).unwrap();
        conn.execute_batch(sql).unwrap();
        drop(conn);
        let empty = tempfile::tempdir().unwrap();
        let out = strongroom(&["restore", copy.to_str().unwrap()], empty.path(), &s.root_key);
        assert!(!out.status.success() && !empty.path().join("strongroom.db").exists(), "{name}: {}", text(&out));
        text(&out)
    };
    let said = splice(
        "unrevoked",
        &backup,
        "DELETE FROM tokens WHERE name = 'ci'; INSERT INTO tokens SELECT * FROM old.tokens WHERE name = 'ci';",
    );
    assert!(said.contains("token \"ci\" is not as the trail last left it"), "{said}");
    let said = splice(
        "regranted",
        &granted,
        "INSERT INTO grants SELECT * FROM old.grants WHERE role = 'editor' AND namespace = 'company';",
    );
    assert!(said.contains("grant editor on \"company\" of \"lead\" is back"), "{said}");
    let said = splice(
        "old-password",
        &granted,
        "DELETE FROM grants WHERE user_id = (SELECT id FROM users WHERE username = 'lead');
         DELETE FROM users WHERE username = 'lead';
         INSERT INTO users SELECT * FROM old.users WHERE username = 'lead';
         INSERT INTO grants SELECT * FROM old.grants WHERE role = 'auditor' AND user_id = (SELECT id FROM users WHERE username = 'lead');",
    );
    assert!(said.contains("\"lead\" has a password older than its last recorded change"), "{said}");
    // The untouched later copy restores.
    let fine = tempfile::tempdir().unwrap();
    let out = strongroom(&["restore", later.to_str().unwrap()], fine.path(), &s.root_key);
    assert!(out.status.success(), "{}", text(&out));

    // A session dated 2100 in the copy (and the admin's own live one) never comes back.
    let copy = work.path().join("session.db");
    std::fs::copy(&backup, &copy).unwrap();
    rusqlite::Connection::open(&copy)
        .unwrap()
        .execute("INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at) VALUES (x'01', 1, 4102444800, 4102444800)", [])
        .unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let out = strongroom(&["restore", copy.to_str().unwrap()], fresh.path(), &s.root_key);
    assert!(out.status.success(), "{}", text(&out));
    let sessions: i64 = rusqlite::Connection::open(fresh.path().join("strongroom.db"))
        .unwrap()
        .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sessions, 0);

    // A leftover -wal of the database that was there is refused, not replayed.
    let leftover = tempfile::tempdir().unwrap();
    std::fs::write(leftover.path().join("strongroom.db-wal"), b"stale").unwrap();
    let out = strongroom(&["restore", backup.to_str().unwrap()], leftover.path(), &s.root_key);
    assert!(!out.status.success() && text(&out).contains("strongroom.db-wal"), "{}", text(&out));

    // `backup` never writes into an existing file, empty or not, nor through a link.
    let empty_file = work.path().join("empty.db");
    std::fs::write(&empty_file, b"").unwrap();
    let out = strongroom(&["backup", empty_file.to_str().unwrap()], s.dir.path(), &s.root_key);
    assert!(!out.status.success() && text(&out).contains("never overwrites"), "{}", text(&out));
    let link = work.path().join("link.db");
    std::os::unix::fs::symlink(work.path().join("elsewhere.db"), &link).unwrap();
    let out = strongroom(&["backup", link.to_str().unwrap()], s.dir.path(), &s.root_key);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(!work.path().join("elsewhere.db").exists(), "written through the link");
}

/// Issue 18, item 7: a security row changed in the live database is not used.
#[tokio::test]
async fn a_token_or_grant_changed_in_the_live_database_is_not_used() {
    let s = start().await;
    s.secrets("company", &[("K", "v")]).await;
    let token = s.token("ci", "company.team", None).await;
    s.sql("UPDATE tokens SET namespace = ''");
    let (status, _, _) = s.api("GET", "/v1/namespaces/company/secrets/K", Some(&token)).await;
    assert_eq!(status, 401, "a widened token is refused, not obeyed");
    s.add_user("eve", app::domain::Role::Auditor, "company").await;
    s.sql("UPDATE grants SET role = 'admin', namespace = '' WHERE user_id = (SELECT id FROM users WHERE username = 'eve')");
    let mut eve = s.login("eve").await;
    let (status, _) = eve.call("users/list", &[]).await;
    assert_ne!(status, 200, "a forged admin grant was honoured");
}

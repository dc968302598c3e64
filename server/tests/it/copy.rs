//! `strongroom store copy`: a store moved from SQLite to PostgreSQL and back
//! with the real binary, everything intact at each end.

use crate::common::{start, text, TestDatabase};
use std::process::{Command, Output};

fn copy(from: &str, to: &str, root_key: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strongroom"))
        .args(["store", "copy", from, to])
        .env("STRONGROOM_MASTER_KEY", root_key)
        .env_remove("STRONGROOM_MASTER_KEY_FILE")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// What a store holds that a copy must keep: values as a token reads them,
/// the rows of every table but sessions, and the trail's verdict.
async fn contents(state: &app::ssr::state::AppState) -> (Vec<String>, Vec<(String, i64)>, app::ssr::audit::Verdict) {
    use app::ssr::db::sql::Sql;
    let (keyring, key) = (state.keyring.clone(), state.audit.clone());
    state
        .db
        .read(move |c| {
            let ns = "company.team".parse().unwrap();
            let values = app::ssr::store::resolve_all(c, &keyring, &ns).unwrap();
            let values =
                values.iter().map(|r| format!("{}/{}@{}={}", r.defined_in, r.key, r.version, r.value.expose()));
            let counts = app::ssr::store::copy::TABLES.iter().map(|t| {
                let n = c.query(&format!("SELECT count(*) FROM {t}"), &[]).unwrap()[0][0].int().unwrap();
                (t.to_string(), n)
            });
            (values.collect(), counts.collect(), app::ssr::audit::verify(c, &key).unwrap())
        })
        .await
}

#[tokio::test]
async fn a_store_moves_to_postgresql_and_back_with_every_value_row_and_entry() {
    let s = start().await;
    s.secrets("company", &[("DB_PASSWORD", "parent-canary")]).await;
    s.secrets("company.team", &[("DB_PASSWORD", "child-canary"), ("API_KEY", "päss ✓")]).await;
    let token = s.token("reader", "company", None).await;
    assert_eq!(s.api("GET", "/v1/namespaces/company.team/secrets/API_KEY", Some(&token)).await.0, 200);
    let before = contents(&s.state).await;
    let root = app::ssr::crypto::RootKey::from_base64(&s.root_key).unwrap();
    let (pg, back) =
        tokio::task::spawn_blocking(TestDatabase::new).await.map(|db| (db, tempfile::tempdir().unwrap())).unwrap();
    let dir = s.dir.path().to_str().unwrap().to_owned();

    let out = copy(&dir, &pg.url(), &s.root_key);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("audit entries verify"), "{}", text(&out));
    // A copy goes into an empty store only.
    let again = copy(&dir, &pg.url(), &s.root_key);
    assert!(!again.status.success() && text(&again).contains("not empty"), "{}", text(&again));
    // The copy opens with the root key only.
    let other = app::ssr::crypto::RootKey::generate().unwrap().to_base64().to_string();
    let wrong = copy(&pg.url(), back.path().join("x").to_str().unwrap(), &other);
    assert!(!wrong.status.success(), "{}", text(&wrong));
    assert!(!back.path().join("x/strongroom.db").exists(), "a failed copy left a file behind");

    let source = app::ssr::db::Source::Postgres(app::ssr::db::url::PgUrl::parse(&pg.url(), None, None).unwrap());
    let on_pg = {
        let key = app::ssr::crypto::RootKey::from_base64(&s.root_key).unwrap();
        tokio::task::spawn_blocking(move || app::ssr::state::AppState::open_source(&source, &key, &Default::default()))
            .await
            .unwrap()
            .unwrap()
    };
    let moved = contents(&on_pg).await;
    assert_eq!((&moved.0, &moved.1), (&before.0, &before.1));
    assert!(matches!(moved.2, app::ssr::audit::Verdict::Intact { .. }), "{:?}", moved.2);
    assert!(before.0.iter().any(|v| v.contains("child-canary")), "{:?}", before.0);

    // And back into a new data directory.
    let home = back.path().join("home");
    let out = copy(&pg.url(), home.to_str().unwrap(), &s.root_key);
    assert!(out.status.success(), "{}", text(&out));
    let returned = app::ssr::state::AppState::open(&home.join("strongroom.db"), &root, &Default::default()).unwrap();
    let home_contents = contents(&returned).await;
    assert_eq!((&home_contents.0, &home_contents.1), (&before.0, &before.1));
    // The token works on the copy, and the next entry continues the chain.
    let check = app::ssr::store::tokens::lookup;
    let (rows, hash) = (returned.rows.clone(), app::ssr::auth::token_hash(&token));
    let found = returned.db.read(move |c| check(c, &rows, &hash).unwrap()).await;
    assert_eq!(found.map(|t| t.name.to_string()), Some("reader".into()));
    drop(on_pg);

    // `backup` on PostgreSQL writes the portable SQLite file `restore` takes.
    let file = back.path().join("pg.backup");
    let run = |args: &[&str], url: Option<&str>| {
        Command::new(env!("CARGO_BIN_EXE_strongroom"))
            .args(args)
            .env("STRONGROOM_MASTER_KEY", &s.root_key)
            .env_remove("STRONGROOM_MASTER_KEY_FILE")
            .envs(url.map(|u| ("STRONGROOM_DATABASE_URL", u.to_owned())))
            .output()
            .unwrap()
    };
    let spare = back.path().join("spare");
    let out = run(&["backup", file.to_str().unwrap(), "--data-dir", spare.to_str().unwrap()], Some(&pg.url()));
    assert!(out.status.success(), "{}", text(&out));
    let restored = back.path().join("restored");
    let out = run(&["restore", file.to_str().unwrap(), "--data-dir", restored.to_str().unwrap()], None);
    assert!(out.status.success() && text(&out).contains("audit trail verified"), "{}", text(&out));
    let reopened =
        app::ssr::state::AppState::open(&restored.join("strongroom.db"), &root, &Default::default()).unwrap();
    assert_eq!(contents(&reopened).await.0, before.0);
}

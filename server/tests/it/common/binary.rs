//! The real `strongroom` binary serving a data dir prepared in-process: an
//! admin, a token for `drill` and secrets `K0`… in it.

use app::{
    domain::{Description, Grant, NamespacePath, Password, Role, Scope, SecretKey, SecretValue, TokenName, Username},
    ssr::{crypto::RootKey, state::AppState, store, store::accounts, store::tokens, store::Stamp},
};
use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use super::PASSWORD;

/// A data dir with an admin, a token for `drill` and `secrets` secrets `K{n}` = `K{n}-0`.
pub async fn prepare(dir: &std::path::Path, root: &RootKey, secrets: usize) -> String {
    let state = AppState::open(&dir.join("strongroom.db"), root, &Default::default()).unwrap();
    let hash = state.auth.hasher.hash(Password::parse_new(PASSWORD.into()).unwrap()).await.unwrap();
    let (token, token_hash) = tokens::new_token().unwrap();
    let (keyring, rows) = (state.keyring.clone(), state.rows.clone());
    state
        .db
        .call(move |c| {
            let stamp = Stamp { actor: "drill", at: app::ssr::clock::now() };
            let grant = Grant { role: Role::Admin, scope: Scope::parse("").unwrap() };
            accounts::create_user(c, &rows, &Username::parse("admin").unwrap(), &hash, &[grant], stamp).unwrap();
            let scope = Scope::parse("drill").unwrap();
            tokens::create(c, &rows, &TokenName::parse("drill").unwrap(), &scope, None, &token_hash, stamp).unwrap();
            let ns = NamespacePath::parse("drill").unwrap();
            store::create_namespace(c, &ns, &Description::default(), stamp).unwrap();
            for w in 0..secrets {
                let (key, value) =
                    (SecretKey::parse(&format!("K{w}")).unwrap(), SecretValue::parse(format!("K{w}-0")).unwrap());
                store::add_secret(c, &keyring, &ns, &key, &value, &Description::default(), stamp).unwrap();
            }
        })
        .await;
    token.to_string()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub async fn serve(dir: &std::path::Path, root: &str) -> (Child, String) {
    serve_with(dir, root, &[]).await
}

/// [`serve`] with more settings in its environment.
pub async fn serve_with(dir: &std::path::Path, root: &str, env: &[(&str, &str)]) -> (Child, String) {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_strongroom"))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir)
        .envs(env.iter().copied())
        .env_remove("STRONGROOM_MASTER_KEY_FILE")
        .env("STRONGROOM_MASTER_KEY", root)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if reqwest::get(format!("{base}/readyz")).await.is_ok_and(|r| r.status() == 200) {
            return (child, base);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server did not become ready");
}

pub async fn session(http: &reqwest::Client, base: &str) -> String {
    let res = http
        .post(format!("{base}/api/session/login"))
        .form(&[("username", "admin"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut set = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|s| s.split(';').next().unwrap().to_owned());
    set.find(|c| c.starts_with("strongroom_session")).expect("a session cookie")
}

/// What `key` holds now, read with the token.
pub async fn read(http: &reqwest::Client, base: &str, token: &str, key: &str) -> String {
    let res = http.get(format!("{base}/v1/namespaces/drill/secrets/{key}")).bearer_auth(token).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let json: serde_json::Value = res.json().await.unwrap();
    json["value"].as_str().unwrap().to_owned()
}

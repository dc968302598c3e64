//! The kill -9 drill: the real binary is SIGKILLed at a random moment while
//! writers rotate secrets through server functions and workloads read with a
//! token; after each restart every acknowledged write is there, SQLite's
//! integrity check passes and the audit trail verifies.
//!
//! `make test` runs a few rounds; `make bench` runs 20
//! (`STRONGROOM_CRASH_ROUNDS`), and both print what was checked.

use app::{
    domain::{
        Description, Grant, NamespacePath, Password, Role, Scope, SecretKey, SecretValue, Timestamp, TokenName,
        Username,
    },
    ssr::{accounts, crypto::RootKey, state::AppState, store, store::Stamp, tokens},
};
use std::{
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

const WRITERS: usize = 8;
const READERS: usize = 8;
const PASSWORD: &str = "correct horse battery staple";

fn random_below(n: u64) -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    u64::from_le_bytes(bytes) % n
}

/// A data dir with an admin, a token for `drill` and one secret per writer.
async fn prepare(dir: &std::path::Path, root: &RootKey) -> String {
    let state = AppState::open(&dir.join("strongroom.db"), root, &Default::default()).unwrap();
    let hash = state.auth.hasher.hash(Password::parse_new(PASSWORD.into()).unwrap()).await.unwrap();
    let (token, token_hash) = tokens::new_token().unwrap();
    let keyring = state.keyring.clone();
    state
        .db
        .call(move |c| {
            let stamp = Stamp { actor: "drill", at: Timestamp::now() };
            let grant = Grant { role: Role::Admin, scope: Scope::parse("").unwrap() };
            accounts::create_user(c, &Username::parse("admin").unwrap(), &hash, &[grant], stamp).unwrap();
            let scope = Scope::parse("drill").unwrap();
            tokens::create(c, &TokenName::parse("drill").unwrap(), &scope, None, &token_hash, stamp).unwrap();
            let ns = NamespacePath::parse("drill").unwrap();
            store::create_namespace(c, &ns, &Description::default(), stamp).unwrap();
            for w in 0..WRITERS {
                let (key, value) =
                    (SecretKey::parse(&format!("K{w}")).unwrap(), SecretValue::parse(format!("K{w}-0")).unwrap());
                store::add_secret(c, &keyring, &ns, &key, &value, &Description::default(), stamp).unwrap();
            }
        })
        .await;
    token.to_string()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn serve(dir: &std::path::Path, root: &str) -> (Child, String) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_strongroom"))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir)
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
    panic!("the server did not become ready");
}

async fn session(http: &reqwest::Client, base: &str) -> String {
    let res = http
        .post(format!("{base}/api/session/login"))
        .form(&[("username", "admin"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let set = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|s| s.split(';').next().unwrap().to_owned());
    set.filter(|c| c.starts_with("strongroom_session")).next().expect("a session cookie")
}

/// What `key` holds now, read with the token.
async fn read(http: &reqwest::Client, base: &str, token: &str, key: &str) -> String {
    let res = http.get(format!("{base}/v1/namespaces/drill/secrets/{key}")).bearer_auth(token).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let json: serde_json::Value = res.json().await.unwrap();
    json["value"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_write_survives_kill_9() {
    let rounds: usize = std::env::var("STRONGROOM_CRASH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    let root = RootKey::generate().unwrap();
    let root_text = root.to_base64().to_string();
    let token = prepare(dir.path(), &root).await;
    let http = reqwest::Client::new();
    // The last value each writer was told was stored: K{w}-{n}.
    let acked: Arc<Vec<AtomicU64>> = Arc::new((0..WRITERS).map(|_| AtomicU64::new(0)).collect());
    let (mut writes_acked, mut reads_ok) = (0u64, 0u64);
    for round in 0..rounds {
        let (mut child, base) = serve(dir.path(), &root_text).await;
        // After a restart, each key holds its last acknowledged value, or
        // the one in flight when the server died (committed, not yet answered).
        for (w, done) in acked.iter().enumerate() {
            let n = done.load(Ordering::SeqCst);
            let got = read(&http, &base, &token, &format!("K{w}")).await;
            let ok = [format!("K{w}-{n}"), format!("K{w}-{}", n + 1)];
            assert!(ok.contains(&got), "round {round}: K{w} holds {got}, acknowledged {n}");
            let held: u64 = got.rsplit('-').next().unwrap().parse().unwrap();
            done.store(held, Ordering::SeqCst);
        }
        let cookie = session(&http, &base).await;
        let stop = Arc::new(AtomicBool::new(false));
        let reads = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for w in 0..WRITERS {
            let (http, base, cookie, acked, stop) =
                (http.clone(), base.clone(), cookie.clone(), acked.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let mut count = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    let next = acked[w].load(Ordering::SeqCst) + 1;
                    let (key, value) = (format!("K{w}"), format!("K{w}-{next}"));
                    let form = [("namespace", "drill"), ("key", key.as_str()), ("value", value.as_str())];
                    let sent = http
                        .post(format!("{base}/api/secrets/rotate"))
                        .header("cookie", &cookie)
                        .form(&form)
                        .send()
                        .await;
                    match sent {
                        Ok(res) if res.status() == 200 => {
                            acked[w].store(next, Ordering::SeqCst);
                            count += 1;
                        }
                        // The server is gone: whatever it did with this write is checked after the restart.
                        _ => break,
                    }
                }
                count
            }));
        }
        for _ in 0..READERS {
            let (http, base, token, stop, reads) =
                (http.clone(), base.clone(), token.clone(), stop.clone(), reads.clone());
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let url = format!("{base}/v1/namespaces/drill/export?format=json");
                    match http.get(url).bearer_auth(&token).send().await {
                        Ok(res) if res.status() == 200 => reads.fetch_add(1, Ordering::Relaxed),
                        _ => break,
                    };
                }
                0
            }));
        }
        tokio::time::sleep(Duration::from_millis(150 + random_below(750))).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        stop.store(true, Ordering::SeqCst);
        for task in tasks {
            writes_acked += task.await.unwrap();
        }
        reads_ok += reads.load(Ordering::Relaxed);
    }
    // The last restart's state, checked once more, then the file itself.
    let (mut child, base) = serve(dir.path(), &root_text).await;
    for (w, done) in acked.iter().enumerate() {
        let n = done.load(Ordering::SeqCst);
        let got = read(&http, &base, &token, &format!("K{w}")).await;
        assert!([format!("K{w}-{n}"), format!("K{w}-{}", n + 1)].contains(&got), "K{w} holds {got}, acknowledged {n}");
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("strongroom.db")).unwrap();
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    drop(conn);
    let verify = Command::new(env!("CARGO_BIN_EXE_strongroom"))
        .args(["audit", "verify", "--data-dir"])
        .arg(dir.path())
        .env_remove("STRONGROOM_MASTER_KEY_FILE")
        .env("STRONGROOM_MASTER_KEY", &root_text)
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
    assert!(writes_acked > 0 && reads_ok > 0, "the drill did no work");
    eprintln!(
        "kill -9 drill: {rounds} rounds, {writes_acked} acknowledged writes and {reads_ok} token reads \
         before the kills; every acknowledged write present after each restart; integrity ok; {}",
        String::from_utf8_lossy(&verify.stdout).trim()
    );
}

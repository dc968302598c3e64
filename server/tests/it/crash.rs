//! The kill -9 drill: the real binary is SIGKILLed at a random moment while
//! writers rotate secrets through server functions and workloads read with a
//! token; after each restart every acknowledged write is there, SQLite's
//! integrity check passes and the audit trail verifies.
//!
//! `make test` runs a few rounds; `make bench` runs 20
//! (`STRONGROOM_CRASH_ROUNDS`), and both print what was checked.

use crate::common::binary::{prepare, read, serve, session};
use app::ssr::crypto::RootKey;
use std::{
    process::Command,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

const WRITERS: usize = 8;
const READERS: usize = 8;

fn random_below(n: u64) -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    u64::from_le_bytes(bytes) % n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_write_survives_kill_9() {
    let rounds: usize = std::env::var("STRONGROOM_CRASH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    let root = RootKey::generate().unwrap();
    let root_text = root.to_base64().to_string();
    let token = prepare(dir.path(), &root, WRITERS).await;
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

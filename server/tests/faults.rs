//! A full disk: the real server's data dir on a 16 MiB tmpfs, filled up.
//! Writes fail with 503 and a plain message, pages and metadata still read,
//! nothing is half-written, and once space returns writes work again.
//! (Mounting needs root, or `sudo -n`, as `make test` has here.)

mod common;
use app::ssr::crypto::RootKey;
use common::binary::{prepare, read, serve, session};
use std::process::Command;

/// Runs `mount`/`umount` as root: directly, or through `sudo -n`.
fn as_root(args: &[&str]) {
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    let status = if root {
        Command::new(args[0]).args(&args[1..]).status()
    } else {
        Command::new("sudo").arg("-n").args(args).status()
    };
    assert!(status.unwrap().success(), "{args:?} needs root (or sudo -n)");
}

struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        as_root(&[
            "mount",
            "-t",
            "tmpfs",
            "-o",
            &format!("size={size},mode=0700"),
            "tmpfs",
            dir.path().to_str().unwrap(),
        ]);
        Self(dir)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        as_root(&["umount", "-l", self.0.path().to_str().unwrap()]);
    }
}

/// Fills the file system holding `path` to the last byte.
fn fill(path: &std::path::Path) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while file.write_all(&chunk).is_ok() {}
    let small = [0u8; 512];
    while file.write_all(&small).is_ok() {}
    let _ = file.sync_all();
}

async fn rotate(http: &reqwest::Client, base: &str, cookie: &str, value: &str) -> (u16, String) {
    let form = [("namespace", "drill"), ("key", "K0"), ("value", value)];
    let res =
        http.post(format!("{base}/api/secrets/rotate")).header("cookie", cookie).form(&form).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// `K0`'s metadata and history, through the server function the secret page uses.
async fn detail(http: &reqwest::Client, base: &str, cookie: &str) -> (u16, serde_json::Value) {
    let form = [("namespace", "drill"), ("key", "K0")];
    let res = http.post(format!("{base}/api/secrets/get")).header("cookie", cookie).form(&form).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_plainly_keeps_reads_and_recovers() {
    let disk = Tmpfs::mount("16m");
    let data = disk.0.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let root = RootKey::generate().unwrap();
    let root_text = root.to_base64().to_string();
    let token = prepare(&data, &root, 1).await;
    let (mut server, base) = serve(&data, &root_text).await;
    let http = reqwest::Client::new();
    let cookie = session(&http, &base).await;
    assert_eq!(rotate(&http, &base, &cookie, "K0-1").await.0, 200);

    let filler = disk.0.path().join("filler");
    fill(&filler);
    let (status, body) = rotate(&http, &base, &cookie, "K0-lost").await;
    assert_eq!((status, body.as_str()), (503, "\"Unavailable\""));
    // A browser without JavaScript gets the page back with the reason on it.
    let form = [("namespace", "drill"), ("key", "K0"), ("value", "K0-lost")];
    let res = http
        .post(format!("{base}/api/secrets/rotate?back=/ns/drill/K0"))
        .header("cookie", &cookie)
        .header("accept", "text/html")
        .header("origin", &base)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    let html = res.text().await.unwrap();
    assert!(html.contains("disk is full or read-only") && html.contains("Nothing was changed"), "{html}");
    // Reading pages and metadata needs no write.
    let page = http.get(format!("{base}/ns/drill/K0")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(detail(&http, &base, &cookie).await.0, 200);
    // A value is only disclosed with its audit entry: with none possible, 503.
    let res = http.get(format!("{base}/v1/namespaces/drill/secrets/K0")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 503);

    // Space returns: the next write works, the refused one left nothing.
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(rotate(&http, &base, &cookie, "K0-2").await.0, 200);
    assert_eq!(read(&http, &base, &token, "K0").await, "K0-2");
    let (_, detail) = detail(&http, &base, &cookie).await;
    assert_eq!(detail["meta"]["version"], 3, "versions 1, 2 and 3: the refused write made none");
    server.kill().unwrap();
    server.wait().unwrap();

    let conn = rusqlite::Connection::open(data.join("strongroom.db")).unwrap();
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    drop(conn);
    let verify = Command::new(env!("CARGO_BIN_EXE_strongroom"))
        .args(["audit", "verify", "--data-dir"])
        .arg(&data)
        .env_remove("STRONGROOM_MASTER_KEY_FILE")
        .env("STRONGROOM_MASTER_KEY", &root_text)
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
}

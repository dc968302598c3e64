//! A full disk and a read-only one, under the real server:
//! - the data dir on a 16 MiB tmpfs, filled up;
//! - the data dir on an ext4 image mounted `errors=remount-ro`, turned read-only
//!   under the running server by an ext4 error (as a failing disk does).
//!
//! Writes fail with 503 and a plain message, pages and metadata still read,
//! nothing is half-written, and once space (or write access) returns writes
//! work again. (Mounting needs root, or `sudo -n`, as `make test` has here.)

use crate::common::binary::{prepare, read, serve, session};
use app::ssr::crypto::RootKey;
use std::process::Command;

/// Runs `args` as root: directly, or through `sudo -n`.
fn root_command(args: &[&str]) -> std::process::Output {
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    if root {
        Command::new(args[0]).args(&args[1..]).output()
    } else {
        Command::new("sudo").arg("-n").args(args).output()
    }
    .unwrap()
}

/// Runs `mount`, `losetup`, `mkfs.ext4` … as root, and returns what it printed.
fn as_root(args: &[&str]) -> String {
    let out = root_command(args);
    assert!(out.status.success(), "{args:?} needs root (or sudo -n): {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The test's user owns the mounted directory.
fn own(dir: &std::path::Path) {
    let me = String::from_utf8(Command::new("id").arg("-u").output().unwrap().stdout).unwrap();
    as_root(&["chown", me.trim(), dir.to_str().unwrap()]);
}

/// The server, killed when the test ends, a failed one included (declared after
/// the disk, so it stops before the disk is unmounted).
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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
        own(dir.path());
        Self(dir)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Best effort: an assertion here would abort a test already failing.
        root_command(&["umount", "-l", self.0.path().to_str().unwrap()]);
    }
}

/// A 64 MiB ext4 image on a loop device, mounted `errors=remount-ro`.
struct Ext4 {
    dir: tempfile::TempDir,
    _image: tempfile::NamedTempFile,
    device: String,
}

impl Ext4 {
    fn mount() -> Self {
        let image = tempfile::NamedTempFile::new().unwrap();
        image.as_file().set_len(64 << 20).unwrap();
        let path = image.path().to_str().unwrap().to_owned();
        as_root(&["mkfs.ext4", "-q", "-F", &path]);
        let device = as_root(&["losetup", "--find", "--show", &path]).trim().to_owned();
        // Built before mounting: if the mount fails, dropping it frees the loop device.
        let disk = Self { dir: tempfile::tempdir().unwrap(), _image: image, device };
        disk.mount_again();
        disk
    }

    fn mount_again(&self) {
        as_root(&["mount", "-o", "errors=remount-ro", &self.device, self.dir.path().to_str().unwrap()]);
        own(self.dir.path());
    }

    /// Records an ext4 error: with `errors=remount-ro` the kernel makes the
    /// file system read-only at once, files still open for writing included.
    fn fail(&self) {
        let name = self.device.trim_start_matches("/dev/");
        as_root(&["sh", "-c", &format!("echo strongroom-read-only-drill > /sys/fs/ext4/{name}/trigger_fs_error")]);
    }

    /// What an operator does after such an error: unmount, check, mount again
    /// (the kernel refuses to remount it writable in place).
    fn check_and_remount(&self) {
        as_root(&["umount", self.dir.path().to_str().unwrap()]);
        // e2fsck exits 1 when it corrected errors (the recorded one is).
        as_root(&["sh", "-c", &format!("e2fsck -f -y {} >/dev/null; [ $? -le 1 ]", self.device)]);
        self.mount_again();
    }
}

impl Drop for Ext4 {
    fn drop(&mut self) {
        // Best effort, as for `Tmpfs`.
        root_command(&["umount", "-l", self.dir.path().to_str().unwrap()]);
        root_command(&["losetup", "-d", &self.device]);
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

/// A refused rotation: 503, a plain answer, and the reason on the page for a
/// browser without JavaScript; pages, metadata still read; a value read by a
/// token refused too (it is only disclosed with its audit entry).
async fn writes_refused_reads_kept(d: &Drill) {
    let (http, base, cookie, token) = (&d.http, d.base.as_str(), d.cookie.as_str(), d.token.as_str());
    let (status, body) = rotate(http, base, cookie, "K0-lost").await;
    assert_eq!((status, body.as_str()), (503, "\"Unavailable\""));
    let form = [("namespace", "drill"), ("key", "K0"), ("value", "K0-lost")];
    let res = http
        .post(format!("{base}/api/secrets/rotate?back=/ns/drill/K0"))
        .header("cookie", cookie)
        .header("accept", "text/html")
        .header("origin", base)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    let html = res.text().await.unwrap();
    assert!(html.contains("disk is full or read-only") && html.contains("Nothing was changed"), "{html}");
    let page = http.get(format!("{base}/ns/drill/K0")).header("cookie", cookie).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(detail(http, base, cookie).await.0, 200);
    let res = http.get(format!("{base}/v1/namespaces/drill/secrets/K0")).bearer_auth(token).send().await.unwrap();
    assert_eq!(res.status(), 503);
    // Every kind of write answers the same (tokens and import previews
    // answered 500 "Something went wrong" once).
    for (endpoint, form) in [
        ("tokens/create", vec![("name", "drill-new"), ("namespace", "drill"), ("expires", "")]),
        ("tokens/revoke", vec![("name", "drill")]),
        ("import/preview", vec![("namespace", "drill"), ("content", "NEW=1"), ("format", "")]),
        ("import/apply", vec![("namespace", "drill"), ("id", d.preview.as_str())]),
        ("namespaces/create", vec![("namespace", "drill.new"), ("description", "")]),
        (
            "users/add",
            vec![
                ("username", "drill-user"),
                ("password", "a drill password, long enough"),
                ("role", "auditor"),
                ("scope", "drill"),
            ],
        ),
    ] {
        let res =
            http.post(format!("{base}/api/{endpoint}")).header("cookie", cookie).form(&form).send().await.unwrap();
        let status = res.status().as_u16();
        assert_eq!((status, res.text().await.unwrap().as_str()), (503, "\"Unavailable\""), "{endpoint}");
    }
}

/// Writes work again, and the refused one left nothing.
async fn recovered(d: &Drill) {
    let (http, base, cookie, token) = (&d.http, d.base.as_str(), d.cookie.as_str(), d.token.as_str());
    assert_eq!(rotate(http, base, cookie, "K0-2").await.0, 200);
    assert_eq!(read(http, base, token, "K0").await, "K0-2");
    let (_, detail) = detail(http, base, cookie).await;
    assert_eq!(detail["meta"]["version"], 3, "versions 1, 2 and 3: the refused write made none");
}

/// Previews an import and hands back its id (from the redirect to its page).
async fn preview(base: &str, cookie: &str) -> String {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let form = [("namespace", "drill"), ("content", "NEW=1"), ("format", "")];
    let res =
        http.post(format!("{base}/api/import/preview")).header("cookie", cookie).form(&form).send().await.unwrap();
    let location = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let id = location.split_once("import=").map(|(_, id)| id.to_owned());
    id.unwrap_or_else(|| panic!("no preview id in {location:?} ({})", res.status()))
}

/// The database is sound and the trail verifies (the server stopped).
fn sound(data: &std::path::Path, root_text: &str) {
    let conn = rusqlite::Connection::open(data.join("strongroom.db")).unwrap();
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    drop(conn);
    let verify = Command::new(env!("CARGO_BIN_EXE_strongroom"))
        .args(["audit", "verify", "--data-dir"])
        .arg(data)
        .env_remove("STRONGROOM_MASTER_KEY_FILE")
        .env("STRONGROOM_MASTER_KEY", root_text)
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
}

/// A server on a data dir in `dir`, an admin's session, and `K0` at version 2.
struct Drill {
    data: std::path::PathBuf,
    root_text: String,
    token: String,
    http: reqwest::Client,
    base: String,
    cookie: String,
    server: Option<Server>,
    /// An import previewed before the disk failed: applying it is a write too.
    preview: String,
}

impl Drill {
    async fn start(dir: &std::path::Path) -> Drill {
        let data = dir.join("data");
        std::fs::create_dir(&data).unwrap();
        let root = RootKey::generate().unwrap();
        let root_text = root.to_base64().to_string();
        let token = prepare(&data, &root, 1).await;
        let (server, base) = serve(&data, &root_text).await;
        let http = reqwest::Client::new();
        let cookie = session(&http, &base).await;
        assert_eq!(rotate(&http, &base, &cookie, "K0-1").await.0, 200);
        let preview = preview(&base, &cookie).await;
        Drill { data, root_text, token, http, base, cookie, server: Some(Server(server)), preview }
    }

    /// Stops the server; the database is sound and the trail verifies.
    fn stop(&mut self) {
        self.server = None;
        sound(&self.data, &self.root_text);
    }

    /// Starts the server again on the same data dir, with a new session.
    async fn restart(&mut self) {
        let (server, base) = serve(&self.data, &self.root_text).await;
        self.server = Some(Server(server));
        self.cookie = session(&self.http, &base).await;
        self.base = base;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_plainly_keeps_reads_and_recovers() {
    let disk = Tmpfs::mount("16m");
    let mut drill = Drill::start(disk.0.path()).await;

    let filler = disk.0.path().join("filler");
    fill(&filler);
    writes_refused_reads_kept(&drill).await;

    // Space returns.
    std::fs::remove_file(&filler).unwrap();
    recovered(&drill).await;
    drill.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_dir_gone_read_only_refuses_writes_plainly_keeps_reads_and_recovers() {
    let disk = Ext4::mount();
    let mut drill = Drill::start(disk.dir.path()).await;

    disk.fail();
    assert!(std::fs::write(disk.dir.path().join("probe"), b"x").is_err(), "the file system is read-only now");
    writes_refused_reads_kept(&drill).await;

    // The operator stops the server, checks and remounts the disk, starts it again.
    drill.stop();
    disk.check_and_remount();
    drill.restart().await;
    recovered(&drill).await;
    drill.stop();
}

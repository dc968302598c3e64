//! What the benchmarks share: a real `strongroom` binary on a temporary data
//! dir with one admin, and the arithmetic of percentiles and RSS.
#![allow(dead_code)] // each benchmark uses part of this

use std::{
    io::Write,
    process::{Child, Command, Stdio},
    time::Duration,
};

pub const PASSWORD: &str = "bench correct horse battery staple";

pub fn pct(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// A `/proc/PID/status` field in KiB (`VmRSS:`, `VmHWM:`).
pub fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// A data dir with a root key, and the binary to run on it.
pub struct Instance {
    pub bin: String,
    pub dir: tempfile::TempDir,
    key: String,
}

impl Instance {
    pub fn new(bin: String) -> Self {
        let key = String::from_utf8(Command::new(&bin).arg("keygen").output().unwrap().stdout).unwrap();
        Self { bin, dir: tempfile::tempdir().unwrap(), key: key.trim().to_owned() }
    }

    /// Another node of the same store: a data dir of its own, the same root
    /// key (a second server on the database `STRONGROOM_DATABASE_URL` names).
    pub fn sibling(&self) -> Self {
        Self { bin: self.bin.clone(), dir: tempfile::tempdir().unwrap(), key: self.key.clone() }
    }

    /// The root key, for opening the data dir in-process.
    pub fn root(&self) -> app::ssr::crypto::RootKey {
        app::ssr::crypto::RootKey::from_base64(&self.key).unwrap()
    }

    /// `strongroom ARGS --data-dir DIR` with the root key set. The benchmarks play
    /// hundreds of clients from one address: the per-client connection cap is
    /// raised to the global one for them.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args).args(["--data-dir", self.dir.path().to_str().unwrap()]).env("STRONGROOM_MASTER_KEY", &self.key);
        cmd.env("STRONGROOM_MAX_CONNECTIONS_PER_CLIENT", "1024");
        cmd
    }

    /// Adds admin `bench` with `PASSWORD`.
    pub fn add_admin(&self) {
        self.add_user("bench", &["--role", "admin"]);
    }

    /// Adds user `name` with `PASSWORD` and the given `user add` options.
    pub fn add_user(&self, name: &str, options: &[&str]) {
        let args: Vec<&str> = ["user", "add", name, "--init"].iter().chain(options).copied().collect();
        let mut add = self.command(&args).stdin(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
        add.stdin.take().unwrap().write_all(format!("{PASSWORD}\n").as_bytes()).unwrap();
        assert!(add.wait().unwrap().success());
    }

    /// Starts the server on a free loopback port; returns it and its base URL once it answers.
    pub async fn serve(&self) -> (Child, String) {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let server =
            self.command(&["serve", "--addr", &format!("127.0.0.1:{port}")]).env("RUST_LOG", "warn").spawn().unwrap();
        Self::wait(server, port).await
    }

    /// Like [`serve`], logging at `filter` into the file `log`.
    pub async fn serve_logging(&self, filter: &str, log: &std::path::Path) -> (Child, String) {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let server = self
            .command(&["serve", "--addr", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", filter)
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        Self::wait(server, port).await
    }

    async fn wait(server: Child, port: u16) -> (Child, String) {
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if http.get(format!("{base}/healthz")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        (server, base)
    }
}

/// Signs `bench` in; returns the session cookie.
pub async fn sign_in(http: &reqwest::Client, base: &str) -> String {
    sign_in_as(http, base, "bench").await
}

/// Signs `name` in; returns the session cookie.
pub async fn sign_in_as(http: &reqwest::Client, base: &str, name: &str) -> String {
    let res = http
        .post(format!("{base}/api/session/login"))
        .form(&[("username", name), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "sign-in failed");
    res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned()
}

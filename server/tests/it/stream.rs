//! Audit streaming (issue 23 §4) with Debian's rsyslog as the receiver:
//! RFC 5424 over TCP (octet counting), UDP, a Unix socket and TLS, and the
//! JSON Lines file — a receiver down for a while and a restart in between
//! lose nothing, and every entry carries its sequence number and MAC.

use crate::common::{binary, start, strongroom, text};
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};
use strongroom::audit_stream::Sink;

/// rsyslogd on loopback with `inputs`, writing what it parsed, one line a message.
struct Rsyslog {
    dir: PathBuf,
    inputs: String,
    child: Option<Child>,
}

/// What rsyslog made of one message.
#[derive(Debug)]
struct Line {
    input: String,
    app: String,
    msgid: String,
    facility: String,
    severity: String,
    entry: serde_json::Value,
}

impl Rsyslog {
    fn start(dir: &Path, inputs: &str) -> Self {
        let mut me = Self { dir: dir.to_owned(), inputs: inputs.to_owned(), child: None };
        me.restart();
        me
    }

    fn restart(&mut self) {
        let conf = self.dir.join("rsyslog.conf");
        std::fs::write(
            &conf,
            format!(
                "global(workDirectory=\"{dir}\")\n{inputs}\n\
                 template(name=\"fields\" type=\"string\" \
                   string=\"%inputname%|%app-name%|%msgid%|%syslogfacility-text%|%syslogseverity-text%|%msg%\\n\")\n\
                 action(type=\"omfile\" file=\"{dir}/out.log\" template=\"fields\")\n",
                dir = self.dir.display(),
                inputs = self.inputs
            ),
        )
        .unwrap();
        let _ = std::fs::remove_file(self.dir.join("rsyslog.pid"));
        let child = Command::new("/usr/sbin/rsyslogd")
            .args(["-n", "-f"])
            .arg(&conf)
            .arg("-i")
            .arg(self.dir.join("rsyslog.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("rsyslogd (Debian's rsyslog: scripts/setup.sh installs it)");
        self.child = Some(child);
        std::thread::sleep(Duration::from_millis(700));
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let _ = child.wait();
        }
    }

    fn lines(&self) -> Vec<Line> {
        let text = std::fs::read_to_string(self.dir.join("out.log")).unwrap_or_default();
        text.lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.splitn(6, '|').collect();
                Some(Line {
                    input: f.first()?.to_string(),
                    app: f.get(1)?.to_string(),
                    msgid: f.get(2)?.to_string(),
                    facility: f.get(3)?.to_string(),
                    severity: f.get(4)?.to_string(),
                    entry: serde_json::from_str(f.get(5)?.trim()).ok()?,
                })
            })
            .collect()
    }

    /// The ids received, waiting (up to `secs`) until they cover `1..=last`.
    async fn ids_through(&self, last: i64, secs: u64) -> BTreeMap<i64, usize> {
        let mut seen = BTreeMap::new();
        for _ in 0..secs * 10 {
            seen = BTreeMap::new();
            for line in self.lines() {
                *seen.entry(line.entry["id"].as_i64().unwrap()).or_insert(0) += 1;
            }
            if (1..=last).all(|id| seen.contains_key(&id)) {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let missing: Vec<i64> = (1..=last).filter(|id| !seen.contains_key(id)).take(20).collect();
        panic!("rsyslog is missing entries {missing:?} (of 1..={last})");
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        self.stop();
    }
}

fn newest(dir: &Path) -> i64 {
    let db = rusqlite::Connection::open(dir.join("strongroom.db")).unwrap();
    db.query_row("SELECT max(id) FROM audit", [], |r| r.get(0)).unwrap()
}

fn file_ids(path: &Path) -> Vec<i64> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_i64().unwrap()).collect()
}

fn sigterm(child: &mut Child) {
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let _ = child.wait();
}

/// The whole drill on the real binary: TCP to rsyslog and the file at once;
/// the receiver is not there at first, goes away and comes back, and the
/// server stops and starts again in between.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_and_file_lose_nothing_across_an_absent_receiver_and_a_restart() {
    let (dir, logs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let root = app::ssr::crypto::RootKey::generate().unwrap();
    let token = binary::prepare(dir.path(), &root, 2).await;
    let key = root.to_base64().to_string();
    let out = strongroom(&["audit", "seed", "700"], dir.path(), &key);
    assert!(out.status.success(), "{}", text(&out));
    let port = binary::free_port();
    let file = logs.path().join("audit.jsonl");
    let env = [
        ("STRONGROOM_AUDIT_SYSLOG", format!("tcp://127.0.0.1:{port}")),
        ("STRONGROOM_AUDIT_FILE", file.display().to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (mut server, base) = binary::serve_with(dir.path(), &key, &env).await;
    let http = reqwest::Client::new();
    let read = || async {
        let value = binary::read(&http, &base, &token, "K0").await;
        assert_eq!(value, "K0-0");
    };
    read().await;

    // The receiver comes up: everything so far arrives, in order of id.
    let mut rsyslog = Rsyslog::start(
        logs.path(),
        &format!("module(load=\"imtcp\")\ninput(type=\"imtcp\" port=\"{port}\" address=\"127.0.0.1\")"),
    );
    rsyslog.ids_through(newest(dir.path()), 30).await;
    // It goes away for a while; reads go on.
    rsyslog.stop();
    for _ in 0..3 {
        read().await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    rsyslog.restart();
    rsyslog.ids_through(newest(dir.path()), 30).await;

    // A restart of the server, with entries made while it was down.
    sigterm(&mut server);
    let out = strongroom(&["token", "create", "late", "--namespace", "drill"], dir.path(), &key);
    assert!(out.status.success(), "{}", text(&out));
    let (mut server, base) = binary::serve_with(dir.path(), &key, &env).await;
    let _ = binary::read(&http, &base, &token, "K1").await;
    let last = newest(dir.path());
    let seen = rsyslog.ids_through(last, 30).await;
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    assert!(duplicates <= 500, "at least once, not many times: {duplicates} duplicates");

    // What rsyslog parsed: our APP-NAME, authpriv, MSGID the action, the entry's MAC.
    let lines = rsyslog.lines();
    for line in &lines {
        assert_eq!(
            (line.input.as_str(), line.app.as_str(), line.facility.as_str()),
            ("imtcp", "strongroom", "authpriv")
        );
        assert_eq!(line.msgid, line.entry["action"].as_str().unwrap());
        assert_eq!(line.entry["mac"].as_str().unwrap().len(), 64);
        let ok = line.entry["outcome"].as_str().unwrap().starts_with("ok");
        assert_eq!(line.severity, if ok { "info" } else { "notice" }, "{line:?}");
    }
    assert!(lines
        .iter()
        .any(|l| l.msgid == "secret.read" && l.entry["key"] == "K0" && l.entry["actor"] == "token:drill"));
    assert!(lines.iter().any(|l| l.msgid == "token.create" && l.entry["key"] == "late"));
    assert!(!std::fs::read_to_string(logs.path().join("out.log")).unwrap().contains("K0-0"), "a value was streamed");

    // The file has every entry once, in order (synced before its cursor moved), and is 0600.
    for _ in 0..50 {
        if file_ids(&file).last() == Some(&last) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(file_ids(&file), (1..=last).collect::<Vec<_>>());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);

    // logrotate: the file is moved away, SIGHUP, and the next entries go to a new one.
    std::fs::rename(&file, logs.path().join("audit.jsonl.1")).unwrap();
    assert!(Command::new("kill").args(["-HUP", &server.id().to_string()]).status().unwrap().success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = binary::read(&http, &base, &token, "K0").await;
    let mut reopened = Vec::new();
    for _ in 0..50 {
        reopened = file_ids(&file);
        if !reopened.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(reopened.first(), Some(&(last + 1)), "the new file goes on where the moved one ended");
    assert_eq!(file_ids(&logs.path().join("audit.jsonl.1")).last(), Some(&last));
    sigterm(&mut server);
}

/// UDP and a Unix socket (as /dev/log takes them), from the server's stream loop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_and_unix_sockets_reach_rsyslog() {
    let logs = tempfile::tempdir().unwrap();
    let port = binary::free_port();
    let socket = logs.path().join("log.sock");
    let rsyslog = Rsyslog::start(
        logs.path(),
        &format!(
            "module(load=\"imudp\")\ninput(type=\"imudp\" port=\"{port}\" address=\"127.0.0.1\")\n\
             module(load=\"imuxsock\" SysSock.Use=\"off\")\n\
             input(type=\"imuxsock\" Socket=\"{}\" UseSpecialParser=\"off\" ParseHostname=\"on\")",
            socket.display()
        ),
    );
    let s = start().await;
    s.secrets("company", &[("K", "stream-canary")]).await;
    strongroom::audit_stream::start(s.state.clone(), Sink::syslog(&format!("udp://127.0.0.1:{port}"), None).unwrap());
    let last = s.number("SELECT max(id) FROM audit").await;
    rsyslog.ids_through(last, 20).await;
    // A second server, streaming to the socket.
    let t = start().await;
    t.secrets("company", &[("K", "stream-canary")]).await;
    strongroom::audit_stream::start(
        t.state.clone(),
        Sink::syslog(&format!("unix:{}", socket.display()), None).unwrap(),
    );
    let last_t = t.number("SELECT max(id) FROM audit").await;
    for _ in 0..100 {
        if rsyslog.lines().iter().filter(|l| l.input == "imuxsock").count() as i64 >= last_t {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let lines = rsyslog.lines();
    let unix: Vec<i64> =
        lines.iter().filter(|l| l.input == "imuxsock").map(|l| l.entry["id"].as_i64().unwrap()).collect();
    assert_eq!(unix, (1..=last_t).collect::<Vec<_>>());
    assert!(lines.iter().all(|l| l.app == "strongroom" && l.facility == "authpriv"));
    assert!(!std::fs::read_to_string(logs.path().join("out.log")).unwrap().contains("stream-canary"));
}

/// TLS (RFC 5425) to rsyslog's GnuTLS driver, the certificate checked
/// against the CA given; a receiver whose certificate does not check gets nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_reaches_rsyslog_and_checks_its_certificate() {
    let logs = tempfile::tempdir().unwrap();
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (ca, key) = (logs.path().join("cert.pem"), logs.path().join("key.pem"));
    std::fs::write(&ca, cert.pem()).unwrap();
    std::fs::write(&key, signing_key.serialize_pem()).unwrap();
    let port = binary::free_port();
    let rsyslog = Rsyslog::start(
        logs.path(),
        &format!(
            "global(DefaultNetstreamDriver=\"gtls\" DefaultNetstreamDriverCAFile=\"{ca}\" \
               DefaultNetstreamDriverCertFile=\"{ca}\" DefaultNetstreamDriverKeyFile=\"{key}\")\n\
             module(load=\"imtcp\" StreamDriver.Name=\"gtls\" StreamDriver.Mode=\"1\" StreamDriver.AuthMode=\"anon\")\n\
             input(type=\"imtcp\" port=\"{port}\" address=\"127.0.0.1\")",
            ca = ca.display(),
            key = key.display()
        ),
    );
    // A CA that did not sign the receiver's certificate: nothing is sent.
    let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let wrong = logs.path().join("other.pem");
    std::fs::write(&wrong, other.cert.pem()).unwrap();
    let s = start().await;
    s.secrets("company", &[("K", "tls-canary")]).await;
    strongroom::audit_stream::start(
        s.state.clone(),
        Sink::syslog(&format!("tls://localhost:{port}"), Some(&wrong)).unwrap(),
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(rsyslog.lines().is_empty(), "sent to a receiver whose certificate does not check");
    let t = start().await;
    t.secrets("company", &[("K", "tls-canary")]).await;
    strongroom::audit_stream::start(
        t.state.clone(),
        Sink::syslog(&format!("tls://localhost:{port}"), Some(&ca)).unwrap(),
    );
    let last = t.number("SELECT max(id) FROM audit").await;
    rsyslog.ids_through(last, 20).await;
    // Idle, the connection is found still up (the receiver's session tickets
    // notwithstanding) and nothing is sent twice.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let seen = rsyslog.ids_through(last, 1).await;
    assert!(seen.values().all(|n| *n == 1), "sent twice: {seen:?}");
    assert!(rsyslog.lines().iter().all(|l| l.input == "imtcp" && l.app == "strongroom"));
}

/// Two nodes on one database (on SQLite, two stream loops on one store):
/// the lease lets one of them send, so each entry arrives once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_stream_each_entry_once() {
    let logs = tempfile::tempdir().unwrap();
    let port = binary::free_port();
    let rsyslog = Rsyslog::start(
        logs.path(),
        &format!("module(load=\"imudp\")\ninput(type=\"imudp\" port=\"{port}\" address=\"127.0.0.1\")"),
    );
    let (a, b) =
        if crate::common::on_postgres() { crate::common::start_pair().await } else { (start().await, start().await) };
    let other = if crate::common::on_postgres() { &b } else { &a };
    let target = format!("udp://127.0.0.1:{port}");
    strongroom::audit_stream::start(a.state.clone(), Sink::syslog(&target, None).unwrap());
    strongroom::audit_stream::start(other.state.clone(), Sink::syslog(&target, None).unwrap());
    a.secrets("company", &[("ONE", "two-nodes-canary")]).await;
    other.secrets("company.team", &[("TWO", "two-nodes-canary")]).await;
    let last = a.number("SELECT max(id) FROM audit").await;
    rsyslog.ids_through(last, 20).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let seen = rsyslog.ids_through(last, 1).await;
    assert!(seen.values().all(|n| *n == 1), "sent by both: {seen:?}");
}

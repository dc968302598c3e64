//! The `strongroom` binary: commands, config errors and start-up refusals.

use app::ssr::{crypto::RootKey, state::AppState};
use std::process::{Command, Output};

fn strongroom(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strongroom"));
    cmd.args(args).env_remove("STRONGROOM_MASTER_KEY").env_remove("STRONGROOM_MASTER_KEY_FILE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn keygen_prints_a_fresh_256_bit_base64_key() {
    let a = String::from_utf8(strongroom(&["keygen"], &[]).stdout).unwrap();
    let b = String::from_utf8(strongroom(&["keygen"], &[]).stdout).unwrap();
    assert!(RootKey::from_base64(&a).is_ok(), "{a:?}");
    assert_ne!(a, b);
}

#[test]
fn help_lists_the_commands() {
    let out = String::from_utf8(strongroom(&["--help"], &[]).stdout).unwrap();
    assert!(out.contains("serve") && out.contains("keygen"), "{out}");
}

#[test]
fn a_bad_address_is_refused_with_an_example() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let out = strongroom(&["--addr", "not-an-address"], &[("STRONGROOM_DATA_DIR", data)]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("127.0.0.1:3000"), "{}", stderr(&out));
}

#[test]
fn user_add_reads_the_password_from_stdin_and_checks_it() {
    use std::io::Write;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("data");
    let data = dir.to_str().unwrap();
    let add = |args: &[&str], password: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_strongroom"))
            .args(["user", "add"])
            .args(args)
            .args(["--data-dir", data])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    // No database there yet: refused, naming where it looked, unless --init (issue 19, item 3).
    let out = add(&["root", "--role", "admin"], "correct horse battery staple");
    assert!(
        !out.status.success() && stderr(&out).contains(&format!("no database at {data}/strongroom.db")),
        "{}",
        stderr(&out)
    );
    assert!(!dir.join("strongroom.db").exists());
    let out = add(&["root", "--role", "admin", "--init"], "correct horse battery staple");
    assert!(out.status.success(), "{}", stderr(&out));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700, "data dir owner-only");
    assert!(String::from_utf8_lossy(&out.stdout).contains("added root as admin on every namespace"));
    let out = add(&["ed", "--role", "editor", "--namespace", "company.team"], "correct horse battery staple");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = add(&["root", "--role", "admin"], "correct horse battery staple");
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    let out = add(&["short", "--role", "admin"], "too short");
    assert!(stderr(&out).contains("at least 15"), "{}", stderr(&out));
    let out = add(&["x1", "--role", "owner"], "correct horse battery staple");
    assert!(stderr(&out).contains("admin, editor or auditor"), "{}", stderr(&out));
    let conn = rusqlite::Connection::open(dir.join("strongroom.db")).unwrap();
    let hash: String =
        conn.query_row("SELECT password_hash FROM users WHERE username = 'root'", [], |r| r.get(0)).unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    // Each user added is in the audit trail (after the new database's `rows.sealed`); the refused ones are not.
    let out = strongroom(&["audit", "verify", "--data-dir", data], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "audit trail intact: 3 entries");
    let elsewhere = parent.path().join("typo");
    let out = strongroom(&["audit", "verify", "--data-dir", elsewhere.to_str().unwrap()], &[]);
    assert!(!out.status.success() && stderr(&out).contains("no database at"), "{}", stderr(&out));
    assert!(!elsewhere.exists(), "verify created something");
}

#[test]
fn a_wrong_root_key_stops_the_server_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let right = RootKey::generate().unwrap();
    drop(AppState::open(&dir.path().join("strongroom.db"), &right, &Default::default()).unwrap());
    let wrong = RootKey::generate().unwrap().to_base64();
    let data = dir.path().to_str().unwrap();
    let out = strongroom(&["serve", "--addr", "127.0.0.1:0", "--data-dir", data], &[("STRONGROOM_MASTER_KEY", &wrong)]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("root key does not match"), "{}", stderr(&out));
    assert!(!stderr(&out).contains(wrong.as_str()), "the key was printed");
}

#[test]
fn a_malformed_root_key_is_refused_without_echoing_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let out =
        strongroom(&["serve", "--addr", "127.0.0.1:0", "--data-dir", data], &[("STRONGROOM_MASTER_KEY", "c2hvcnQ=")]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("STRONGROOM_MASTER_KEY is not a root key"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("c2hvcnQ="));
}

#[test]
fn a_fresh_start_makes_a_trial_key_and_says_how_to_make_the_first_admin() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_strongroom"))
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir", data])
        .env_remove("STRONGROOM_MASTER_KEY")
        .env_remove("STRONGROOM_MASTER_KEY_FILE")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = String::new();
    for line in BufReader::new(server.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        log.push_str(&line);
        log.push('\n');
        if line.contains("No accounts yet") {
            break;
        }
    }
    let _ = server.kill();
    let _ = server.wait();
    assert!(log.contains("CREATED TRIAL ROOT KEY"), "{log}");
    assert!(log.contains("strongroom user add NAME --role admin"), "{log}");
    // The one-time setup link: its file is named, 0600; the link itself never reaches the log.
    let link_file = dir.path().join("setup-link");
    assert!(log.contains(&link_file.display().to_string()), "{log}");
    let link = std::fs::read_to_string(&link_file).unwrap();
    let token = link.trim().rsplit('/').next().unwrap();
    assert!(token.len() >= 40 && !log.contains(token), "{log}");
    assert_eq!(std::fs::metadata(&link_file).unwrap().permissions().mode() & 0o777, 0o600);
    let mode = std::fs::metadata(dir.path().join("master.key")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// Hardening item 2: the server closes a connection that sends no request, or
/// half a request, within the header timeout, and holds at most
/// `--max-connections` open (more are closed at once).
#[test]
fn idle_and_half_sent_connections_are_closed_and_their_number_is_bounded() {
    use std::{
        io::{Read, Write},
        net::TcpStream,
        time::Duration,
    };
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let data = dir.path().to_str().unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_strongroom"))
        .args(["serve", "--addr", &addr, "--data-dir", data, "--max-connections", "3", "--header-timeout-secs", "1"])
        .env("STRONGROOM_MASTER_KEY", RootKey::generate().unwrap().to_base64().as_str())
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap();
    let connect = || {
        let s = TcpStream::connect(&addr)?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        Ok::<_, std::io::Error>(s)
    };
    let started = app::ssr::clock::instant();
    while connect().is_err() && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(1200)); // the probe connections above time out
                                                     // Closed by the server: reading gives end-of-file (or a reset), never data.
    let closed = |mut s: TcpStream| match s.read(&mut [0u8; 64]) {
        Ok(n) => n == 0,
        Err(e) => matches!(e.kind(), std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted),
    };
    let idle = connect().unwrap();
    let mut half = connect().unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow:").unwrap();
    let third = connect().unwrap();
    // A fourth while three are open is closed at once.
    let fourth = connect().unwrap();
    let at = app::ssr::clock::instant();
    assert!(closed(fourth));
    assert!(at.elapsed() < Duration::from_millis(900), "closed at once, not by the timeout");
    let at = app::ssr::clock::instant();
    assert!(closed(idle) && closed(half) && closed(third));
    assert!(at.elapsed() < Duration::from_secs(4), "closed after the header timeout");
    // And the server still answers.
    let mut ok = connect().unwrap();
    ok.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    ok.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let _ = server.kill();
    let _ = server.wait();
}

/// A clean start logs no error: the route list is made by rendering the app
/// without a request or server state, and nothing may take that for a fault
/// (every start once logged "AppState missing", which buries real alarms).
#[tokio::test]
async fn a_clean_start_logs_no_error() {
    let dir = tempfile::tempdir().unwrap();
    let (log, port) = (dir.path().join("server.log"), crate::common::binary::free_port());
    let mut server = Command::new(env!("CARGO_BIN_EXE_strongroom"))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir.path().join("data"))
        .env_remove("STRONGROOM_MASTER_KEY_FILE")
        .env("STRONGROOM_MASTER_KEY", RootKey::generate().unwrap().to_base64().as_str())
        .env("RUST_LOG", "info")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut ready = false;
    for _ in 0..200 {
        if reqwest::get(format!("http://127.0.0.1:{port}/readyz")).await.is_ok_and(|r| r.status() == 200) {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let _ = server.kill();
    let _ = server.wait();
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(ready, "{logged}");
    assert!(logged.contains("listening on") && !logged.contains("ERROR"), "{logged}");
}

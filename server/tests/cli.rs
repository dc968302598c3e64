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
    let out = add(&["root", "--role", "admin"], "correct horse battery staple");
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
    // Each user added is in the audit trail; the refused ones are not.
    let out = strongroom(&["audit", "verify", "--data-dir", data], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "audit trail intact: 2 entries");
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
        if line.contains("listening on") {
            break;
        }
    }
    let _ = server.kill();
    let _ = server.wait();
    assert!(log.contains("CREATED TRIAL ROOT KEY"), "{log}");
    assert!(log.contains("strongroom user add NAME --role admin"), "{log}");
    let mode = std::fs::metadata(dir.path().join("master.key")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

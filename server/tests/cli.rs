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
fn a_non_loopback_address_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let out = strongroom(&["serve", "--addr", "0.0.0.0:0", "--data-dir", data], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no sign-in yet"), "{}", stderr(&out));
    let out = strongroom(&["--addr", "not-an-address"], &[("STRONGROOM_DATA_DIR", data)]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("127.0.0.1:3000"), "{}", stderr(&out));
}

#[test]
fn a_wrong_root_key_stops_the_server_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let right = RootKey::generate().unwrap();
    drop(AppState::open(&dir.path().join("strongroom.db"), &right).unwrap());
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

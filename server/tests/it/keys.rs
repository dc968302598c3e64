//! `strongroom keyring rotate|retire|list`, `rewrap` and `rekey` with the real
//! binary, while a server keeps serving the same data directory: it writes
//! with the new key, reads what was re-sealed, and never stops answering.

use crate::common::{start, strongroom, text};
use serde_json::Value;

const SECRETS: [(&str, &str); 3] =
    [("DB_PASSWORD", "canary-db-1"), ("API_KEY", "canary-api-1"), ("CERT", "canary-cert-1")];

async fn key_ids(s: &crate::common::Server) -> Vec<i64> {
    s.numbers("SELECT key_id FROM secret_versions WHERE key_id IS NOT NULL ORDER BY secret_id, version").await
}

async fn read_all(s: &crate::common::Server, token: &str) -> Vec<(String, String)> {
    let (status, _, body) = s.api("GET", "/v1/namespaces/company.team/export?format=json", Some(token)).await;
    assert_eq!(status, 200, "{body}");
    let json: Value = serde_json::from_str(&body).unwrap();
    let mut pairs: Vec<(String, String)> =
        json.as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned())).collect();
    pairs.sort();
    pairs
}

#[tokio::test]
async fn keys_rotate_rewrap_retire_and_rekey_while_the_server_serves() {
    let s = start().await;
    s.secrets("company.team", &SECRETS).await;
    let token = s.token("reader", "company", None).await;
    let dir = s.dir.path();
    let mut expected: Vec<(String, String)> = SECRETS.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    expected.sort();
    assert_eq!(read_all(&s, &token).await, expected);

    // A wrong root key opens nothing.
    let other = app::ssr::crypto::RootKey::generate().unwrap().to_base64().to_string();
    for args in [&["keyring", "rotate"][..], &["rewrap"], &["keyring", "retire", "1"], &["keyring", "list"]] {
        let out = strongroom(args, dir, &other);
        assert!(!out.status.success() && text(&out).contains("does not match"), "{args:?}: {}", text(&out));
    }

    let out = strongroom(&["keyring", "rotate"], dir, &s.root_key);
    assert!(out.status.success() && text(&out).contains("data key 2 is the newest"), "{}", text(&out));
    // The server learns key 2 on its next write.
    let mut admin = s.login("admin").await;
    let (status, body) = admin
        .call("secrets/rotate", &[("namespace", "company.team"), ("key", "API_KEY"), ("value", "canary-api-2")])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(key_ids(&s).await, vec![1, 1, 2, 1]);
    expected[0].1 = "canary-api-2".into();
    assert_eq!(read_all(&s, &token).await, expected);

    let out = strongroom(&["keyring", "retire", "1"], dir, &s.root_key);
    assert!(!out.status.success() && text(&out).contains("still seals 3 stored versions"), "{}", text(&out));

    // Re-sealed under key 2 in batches of one, while the server reads.
    let out = strongroom(&["rewrap", "--batch", "1"], dir, &s.root_key);
    assert!(
        out.status.success() && text(&out).contains("rewrapped 3 versions of 3 secrets under data key 2"),
        "{}",
        text(&out)
    );
    assert_eq!(key_ids(&s).await, vec![2, 2, 2, 2]);
    assert_eq!(read_all(&s, &token).await, expected);

    let out = strongroom(&["keyring", "retire", "2"], dir, &s.root_key);
    assert!(!out.status.success() && text(&out).contains("is the newest"), "{}", text(&out));
    let out = strongroom(&["keyring", "retire", "1"], dir, &s.root_key);
    assert!(out.status.success(), "{}", text(&out));
    let out = strongroom(&["keyring", "list"], dir, &s.root_key);
    let listed = text(&out);
    assert!(listed.contains("4  (newest)") && !listed.lines().any(|l| l.trim_start().starts_with("1 ")), "{listed}");

    // A new root key: the old one stops working, the server keeps serving.
    let new_key = app::ssr::crypto::RootKey::generate().unwrap().to_base64().to_string();
    let key_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(key_file.path(), &new_key).unwrap();
    let same = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(same.path(), &s.root_key).unwrap();
    let out = strongroom(&["rekey", "--new-key-file", same.path().to_str().unwrap()], dir, &s.root_key);
    assert!(!out.status.success() && text(&out).contains("holds the current root key"), "{}", text(&out));
    let out = strongroom(&["rekey", "--new-key-file", key_file.path().to_str().unwrap()], dir, &s.root_key);
    assert!(out.status.success(), "{}", text(&out));
    let out = strongroom(&["keyring", "list"], dir, &s.root_key);
    assert!(!out.status.success() && text(&out).contains("does not match"), "{}", text(&out));
    assert_eq!(read_all(&s, &token).await, expected);

    // The trail verifies across the change, and says what was done.
    let out = strongroom(&["audit", "verify"], dir, &new_key);
    assert!(out.status.success(), "{}", text(&out));
    let actions = s.texts("SELECT action FROM audit WHERE action LIKE 'keyring.%' ORDER BY id").await;
    assert_eq!(actions, ["keyring.rotate", "keyring.rewrap", "keyring.retire", "keyring.rekey"]);
}

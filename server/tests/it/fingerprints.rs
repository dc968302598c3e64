//! Fingerprints without reveal (issue 23 §2): "same value as" for auditors and
//! admins among the secrets they may see, "same as the parent it overrides",
//! a rotation to the current value refused (and counted, like an import
//! preview), a restore saying when its value was first stored — and no
//! fingerprint in any response.

use crate::common::{error_field, start};
use app::domain::Role;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_values_are_told_to_auditors_who_see_both_and_to_nobody_else() {
    let s = start().await;
    s.secrets("company", &[("DB_PASSWORD", "fp-shared-canary"), ("OTHER", "fp-other-canary")]).await;
    s.secrets("company.staging", &[("DB_PASSWORD", "fp-shared-canary")]).await;
    s.secrets("company.prod", &[("DB_PASSWORD", "fp-prod-canary")]).await;
    s.secrets("elsewhere", &[("COPY", "fp-shared-canary")]).await;
    s.add_user("lead", Role::Auditor, "company").await;
    s.add_user("stager", Role::Auditor, "company.staging").await;
    s.add_user("ed", Role::Editor, "company").await;

    let mut lead = s.login("lead").await;
    let (status, same) =
        lead.call("secrets/same_value", &[("namespace", "company.staging"), ("key", "DB_PASSWORD")]).await;
    assert_eq!(status, 200, "{same}");
    assert_eq!(same["same_as"], serde_json::json!(["company/DB_PASSWORD"]), "elsewhere/COPY is out of sight");
    assert_eq!(same["same_as_parent"], "company");
    let (_, same) = lead.call("secrets/same_value", &[("namespace", "company.prod"), ("key", "DB_PASSWORD")]).await;
    assert_eq!(same, serde_json::json!({"same_as": [], "same_as_parent": null}));
    let (status, _, page) = lead.get("/ns/company.staging/DB_PASSWORD").await;
    assert_eq!(status, 200);
    assert!(page.contains("Same value as the parent it overrides (company)"), "{page}");
    assert!(page.contains("href=\"/ns/company/DB_PASSWORD\""), "{page}");

    // Lists mark it "reused" for them too.
    let reused = |view: &serde_json::Value| -> Vec<(String, bool)> {
        view["effective"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["meta"]["key"].as_str().unwrap().to_owned(), e["reused"].as_bool().unwrap()))
            .collect()
    };
    let (_, view) = lead.call("namespaces/get", &[("namespace", "company.staging")]).await;
    assert_eq!(reused(&view), [("DB_PASSWORD".to_owned(), true), ("OTHER".to_owned(), false)]);
    let (_, _, page) = lead.get("/ns/company.staging").await;
    assert!(page.contains(">reused</span>"), "{page}");

    // Who sees only one side learns nothing of the other.
    let mut stager = s.login("stager").await;
    let (_, same) =
        stager.call("secrets/same_value", &[("namespace", "company.staging"), ("key", "DB_PASSWORD")]).await;
    assert_eq!(same, serde_json::json!({"same_as": [], "same_as_parent": null}));
    let (_, _, page) = stager.get("/ns/company.staging/DB_PASSWORD").await;
    assert!(!page.contains("Same value"), "{page}");
    let (_, view) = stager.call("namespaces/get", &[("namespace", "company.staging")]).await;
    assert!(reused(&view).iter().all(|(_, r)| !r), "{view}");
    // An editor (who may write but not read) is never told.
    let mut ed = s.login("ed").await;
    let (status, _) = ed.call("secrets/same_value", &[("namespace", "company"), ("key", "DB_PASSWORD")]).await;
    assert_eq!(status, 403);
    let (_, _, page) = ed.get("/ns/company/DB_PASSWORD").await;
    assert!(!page.contains("Same value"));
    let (_, view) = ed.call("namespaces/get", &[("namespace", "company.staging")]).await;
    assert!(reused(&view).iter().all(|(_, r)| !r), "an editor is never told: {view}");

    // Rotating one: no longer the same.
    let (status, _) = ed
        .call("secrets/rotate", &[("namespace", "company"), ("key", "DB_PASSWORD"), ("value", "fp-new-canary")])
        .await;
    assert_eq!(status, 200);
    let (_, same) = lead.call("secrets/same_value", &[("namespace", "company.staging"), ("key", "DB_PASSWORD")]).await;
    assert_eq!(same["same_as"], serde_json::json!([]));

    // No fingerprint left the server, in any form.
    let fingerprints = match crate::common::on_postgres() {
        true => s.texts("SELECT encode(fingerprint, 'hex') FROM secret_versions WHERE fingerprint IS NOT NULL").await,
        false => s.texts("SELECT hex(fingerprint) FROM secret_versions WHERE fingerprint IS NOT NULL").await,
    };
    assert!(fingerprints.len() >= 6, "{fingerprints:?}");
    let seen = String::from_utf8_lossy(&s.seen.lock().unwrap()).to_lowercase();
    for hex in fingerprints {
        assert!(!seen.contains(&hex.to_lowercase()), "a fingerprint in a response");
        let bytes: Vec<u8> =
            (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
        use base64::Engine as _;
        for encoded in [
            base64::engine::general_purpose::STANDARD.encode(&bytes),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes),
        ] {
            assert!(!seen.contains(&encoded[..20].to_lowercase()), "a fingerprint in a response (base64)");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_to_the_current_value_is_refused_and_counted_and_a_restore_says_when_its_value_was_first_stored() {
    let s = start().await;
    s.secrets("company", &[("API_KEY", "fp-v1")]).await;
    s.add_user("ed", Role::Editor, "company").await;
    let mut ed = s.login("ed").await;
    let rotate = |value: &'static str| [("namespace", "company"), ("key", "API_KEY"), ("value", value)];
    let (status, body) = ed.call("secrets/rotate", &rotate("fp-v1")).await;
    assert_eq!((status, error_field(&body).1.as_deref()), (422, Some("value")), "{body}");
    assert!(body.to_string().contains("equals the current one"), "{body}");
    assert!(s.last_outcome().await.starts_with("refused"), "recorded");
    assert_eq!(ed.call("secrets/rotate", &rotate("fp-v2")).await.0, 200);
    // Back to v1 by restoring version 1: said when that value was first stored.
    let (status, meta) =
        ed.call("secrets/restore_version", &[("namespace", "company"), ("key", "API_KEY"), ("version", "1")]).await;
    assert_eq!((status, &meta["version"]), (200, &serde_json::json!(3)), "{meta}");
    let (status, body) = ed.call("secrets/rotate", &rotate("fp-v1")).await;
    assert_eq!(status, 422, "version 3 holds v1 again: {body}");
    // Guessing by rotation is counted with import previews: 20 a minute per user, then every rotation waits.
    for _ in 0..20 {
        ed.call("secrets/rotate", &rotate("fp-v1")).await;
    }
    let (status, _) = ed.call("secrets/rotate", &rotate("fp-v4")).await;
    assert_eq!(status, 429, "even a different value waits: its answer would tell");
    let mut admin = s.login("admin").await;
    assert_eq!(admin.call("secrets/rotate", &rotate("fp-v4")).await.0, 200, "another user is not held back");
}

//! Concurrent edits and retention through the real server: a rotation made
//! on a stale page is refused with who and when (with and without
//! JavaScript), and how many versions keep their value is set per server and
//! per secret.

use crate::common::{error_field, start};
use app::domain::Role;

const CANARY: &str = "canary-stale-rotate-4d1e";

#[tokio::test]
async fn a_rotation_from_a_stale_page_is_refused_naming_who_rotated_and_when() {
    let s = start().await;
    s.add_user("bob", Role::Editor, "company").await;
    s.secrets("company", &[("DB_PASSWORD", "v1")]).await;
    let (mut alice, mut bob) = (s.login("admin").await, s.login("bob").await);
    // Both pages showed version 1; bob saves first.
    let form =
        |value: &'static str| [("namespace", "company"), ("key", "DB_PASSWORD"), ("value", value), ("version", "1")];
    let (status, body) = bob.call("secrets/rotate", &form("bob's value")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = alice.call("secrets/rotate", &form(CANARY)).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(error_field(&body), ("Conflict".into(), Some("value".into())));
    let message = body.to_string();
    assert!(
        message.contains("bob rotated this secret to version 2 at ") && message.contains("showed version 1"),
        "{message}"
    );
    assert!(s.last_outcome().await.contains("bob rotated"), "the refusal is in the trail");

    // Without JavaScript: the page comes back with the message beside the field, no value echoed.
    let res = alice.post_page("secrets/rotate", "/ns/company/DB_PASSWORD", &form(CANARY)).await;
    assert_eq!(res.status().as_u16(), 409);
    let html = res.text().await.unwrap();
    assert!(html.contains("bob rotated this secret to version 2"), "{html}");
    assert!(!html.contains(CANARY));

    // Shown the current version, the rotation goes through; without one (an
    // API client that does not ask), it always does.
    let current = [("namespace", "company"), ("key", "DB_PASSWORD"), ("value", "alice's value"), ("version", "2")];
    assert_eq!(alice.call("secrets/rotate", &current).await.0, 200);
    let (status, body) =
        alice.call("secrets/rotate", &[("namespace", "company"), ("key", "DB_PASSWORD"), ("value", "v4")]).await;
    assert_eq!((status, body["version"].as_u64()), (200, Some(4)), "{body}");
    let token = s.token("ci", "company", None).await;
    let (_, _, read) = s.api("GET", "/v1/namespaces/company/secrets/DB_PASSWORD", Some(&token)).await;
    assert!(read.contains("\"v4\""), "{read}");
    assert!(!String::from_utf8_lossy(&s.seen.lock().unwrap()).contains(CANARY));
}

#[tokio::test]
async fn retention_is_set_per_server_and_per_secret_and_destroys_older_values_at_once() {
    let s = start().await;
    s.secrets("company", &[("K", "v1")]).await;
    let mut admin = s.login("admin").await;
    for n in 2..=6 {
        let value = format!("v{n}");
        let form = [("namespace", "company"), ("key", "K"), ("value", value.as_str())];
        assert_eq!(admin.call("secrets/rotate", &form).await.0, 200);
    }
    async fn destroyed(s: &crate::common::Server) -> Vec<i64> {
        s.numbers("SELECT version FROM secret_versions WHERE ciphertext IS NULL ORDER BY version").await
    }
    assert_eq!(destroyed(&s).await, Vec::<i64>::new());

    // This secret keeps 2: versions 1 to 4 lose their values now.
    let (status, body) =
        admin.call("secrets/retention", &[("namespace", "company"), ("key", "K"), ("keep", "2")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(destroyed(&s).await, [1, 2, 3, 4]);
    assert_eq!(s.last_outcome().await, "ok: keeps 2 versions");
    let (_, detail) = admin.call("secrets/get", &[("namespace", "company"), ("key", "K")]).await;
    assert_eq!(detail["retention"], serde_json::json!({"own": 2, "default": 10}));
    let (status, body) =
        admin.call("secrets/restore_version", &[("namespace", "company"), ("key", "K"), ("version", "4")]).await;
    assert_eq!(status, 409, "{body}");

    for bad in ["0", "1001", "two", "-1", "2.5"] {
        let (status, body) =
            admin.call("secrets/retention", &[("namespace", "company"), ("key", "K"), ("keep", bad)]).await;
        assert_eq!((status, error_field(&body)), (422, ("Validation".into(), Some("keep".into()))), "{bad}: {body}");
    }
    assert_eq!(destroyed(&s).await, [1, 2, 3, 4], "a refused setting changes nothing");
    // Destroying values is an admin's call, as purge is: an editor is refused.
    s.add_user("ed", Role::Editor, "company").await;
    let mut editor = s.login("ed").await;
    let (status, _) = editor.call("secrets/retention", &[("namespace", "company"), ("key", "K"), ("keep", "1")]).await;
    assert_eq!(status, 403);
    assert_eq!(destroyed(&s).await, [1, 2, 3, 4]);

    // Back to the server's default, and the default lowered to 3 (as
    // STRONGROOM_KEEP_VERSIONS does at start): version 4 goes too.
    assert_eq!(admin.call("secrets/retention", &[("namespace", "company"), ("key", "K"), ("keep", "")]).await.0, 200);
    let default = |keep: u32| {
        let chain = s.state.audit.clone();
        s.state.db.call(move |c| {
            let now = app::ssr::clock::now();
            app::ssr::db::Transact::write(c, |tx| app::ssr::store::set_default_retention(tx, &chain, keep, now))
        })
    };
    assert_eq!(default(10).await.unwrap(), Some(0), "first recorded");
    assert_eq!(default(10).await.unwrap(), None, "unchanged: nothing written");
    let gone = default(3).await.unwrap();
    assert_eq!(gone, Some(0), "5 and 6 are within 3 of 6; 4 was already destroyed");
    assert_eq!(s.last_outcome().await, "ok: by default 3 versions kept (was 10); 0 older values destroyed");
    let form = [("namespace", "company"), ("key", "K"), ("value", "v7")];
    assert_eq!(admin.call("secrets/rotate", &form).await.0, 200);
    assert_eq!(destroyed(&s).await, [1, 2, 3, 4]);
    let gone = default(1).await.unwrap();
    assert_eq!((gone, destroyed(&s).await), (Some(2), vec![1, 2, 3, 4, 5, 6]));
    let (_, detail) = admin.call("secrets/get", &[("namespace", "company"), ("key", "K")]).await;
    assert_eq!(detail["retention"], serde_json::json!({"own": null, "default": 1}));
    assert_eq!(detail["versions"].as_array().unwrap().len(), 7, "the history stays");
}

#[test]
fn the_server_refuses_a_default_retention_outside_1_to_1000() {
    for bad in ["0", "1001", "many"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_strongroom"))
            .args(["serve", "--keep-versions", bad])
            .output()
            .unwrap();
        let text = crate::common::text(&out);
        assert!(!out.status.success() && text.contains("--keep-versions"), "{bad}: {text}");
    }
}

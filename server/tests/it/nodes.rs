//! Two Strongroom nodes on one PostgreSQL database behave as one server:
//! a session or a token is good on either, a revocation or a sign-out takes
//! effect on both at once, a data key added through one is used by the
//! other, and reads through both at once keep one audit chain that verifies,
//! with one entry per value read.

use crate::common::start_pair;

#[tokio::test]
async fn a_session_and_its_end_hold_on_both_nodes() {
    let (a, b) = start_pair().await;
    let mut on_a = a.login("admin").await;
    let mut on_b = b.anon();
    on_b.cookie = on_a.cookie.clone();
    let (status, me) = on_b.call("session/me", &[]).await;
    assert_eq!((status, me["username"].as_str()), (200, Some("admin")), "{me}");
    // A namespace made through A is there through B.
    assert_eq!(on_a.call("namespaces/create", &[("namespace", "co"), ("description", "")]).await.0, 200);
    assert_eq!(on_b.call("namespaces/get", &[("namespace", "co")]).await.0, 200);
    assert_eq!(on_a.call("session/logout", &[]).await.0, 200);
    assert_eq!(on_b.call("namespaces/get", &[("namespace", "co")]).await.0, 401);
}

#[tokio::test]
async fn a_token_revoked_through_one_node_is_refused_by_the_other_at_once() {
    let (a, b) = start_pair().await;
    a.secrets("co", &[("K", "node-canary")]).await;
    let token = a.token("ci", "co", None).await;
    let path = "/v1/namespaces/co/secrets/K";
    assert_eq!(b.api("GET", path, Some(&token)).await.0, 200);
    let mut admin = a.login("admin").await;
    assert_eq!(admin.call("tokens/revoke", &[("name", "ci")]).await.0, 200);
    let (status, _, body) = b.api("GET", path, Some(&token)).await;
    assert_eq!(status, 401, "{body}");
    assert!(!body.contains("node-canary"), "{body}");
}

#[tokio::test]
async fn a_data_key_added_through_one_node_seals_the_other_nodes_next_write() {
    let (a, b) = start_pair().await;
    b.secrets("co", &[("K", "v1")]).await;
    let (root, chain) = (app::ssr::crypto::RootKey::from_base64(&a.root_key).unwrap(), a.state.audit.clone());
    let rotated = a.state.db.call(move |c| app::ssr::store::keyring::rotate(c, &root, &chain, app::ssr::clock::now()));
    assert_eq!(rotated.await.unwrap(), 2);
    let mut admin = b.login("admin").await;
    assert_eq!(admin.call("secrets/rotate", &[("namespace", "co"), ("key", "K"), ("value", "v2")]).await.0, 200);
    let keys = b.numbers("SELECT key_id FROM secret_versions ORDER BY version").await;
    assert_eq!(keys, [1, 2]);
    let token = a.token("ci", "co", None).await;
    let (status, _, body) = a.api("GET", "/v1/namespaces/co/secrets/K", Some(&token)).await;
    assert_eq!((status, body.contains("v2")), (200, true), "{body}");
}

#[tokio::test]
async fn reads_through_both_nodes_at_once_keep_one_chain_with_an_entry_per_read() {
    let (a, b) = start_pair().await;
    a.secrets("co", &[("K", "v")]).await;
    let token = a.token("ci", "co", None).await;
    let before = a.number("SELECT count(*) FROM audit WHERE action = 'secret.read'").await;
    let read = |node: &crate::common::Server| {
        let (url, token) = (format!("{}/v1/namespaces/co/secrets/K", node.base), token.clone());
        async move {
            let http = reqwest::Client::new();
            http.get(url).bearer_auth(token).send().await.unwrap().status().as_u16()
        }
    };
    let reads: Vec<_> = (0..40).map(|n| read(if n % 2 == 0 { &a } else { &b })).collect();
    let statuses = futures_util::future::join_all(reads).await;
    let ok = statuses.iter().filter(|s| **s == 200).count() as i64;
    assert_eq!(ok, 40, "{statuses:?}");
    let after = b.number("SELECT count(*) FROM audit WHERE action = 'secret.read'").await;
    assert_eq!(after - before, ok, "one entry per value read");
    let key = b.state.audit.clone();
    let verdict = b.state.db.read(move |c| app::ssr::audit::verify(c, &key)).await.unwrap();
    assert!(matches!(verdict, app::ssr::audit::Verdict::Intact { .. }), "{verdict:?}");
}

#[tokio::test]
async fn five_wrong_passwords_spread_over_two_nodes_lock_the_account_on_both() {
    let (a, b) = start_pair().await;
    a.add_user("editor", app::domain::Role::Editor, "co").await;
    async fn login(node: &crate::common::Server, password: &str) -> u16 {
        node.anon().call("session/login", &[("username", "editor"), ("password", password)]).await.0
    }
    for n in 0..5 {
        let node = if n % 2 == 0 { &a } else { &b };
        assert_eq!(login(node, "wrong password here").await, 401);
    }
    // Locked: the right password is refused through either node.
    assert_eq!(login(&a, crate::common::PASSWORD).await, 401);
    assert_eq!(login(&b, crate::common::PASSWORD).await, 401);
    // Other accounts are not.
    assert_eq!(
        b.anon().call("session/login", &[("username", "admin"), ("password", crate::common::PASSWORD)]).await.0,
        200
    );
}

/// A form post's redirect, and a client of the other node with the same session.
async fn redirected(res: reqwest::Response) -> String {
    assert_eq!(res.status(), 303);
    res.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_new_token_is_shown_once_by_whichever_node_serves_the_redirect() {
    let (a, b) = start_pair().await;
    let on_a = a.login("admin").await;
    let form = [("name", "ci"), ("namespace", "*"), ("expires", "never")];
    let page = redirected(on_a.post_page("tokens/create", "/admin/tokens", &form).await).await;
    let mut on_b = b.anon();
    on_b.cookie = on_a.cookie.clone();
    let (status, _, body) = on_b.get(&page).await;
    let token = body.split("sr_").nth(1).map(|rest| format!("sr_{}", &rest[..43])).unwrap_or_default();
    assert_eq!((status, token.len()), (200, 46), "the other node did not show the token");
    let (_, _, again) = on_a.get(&page).await;
    assert!(!again.contains("sr_"), "shown twice");
    // Held sealed while it waited: the token never sat in the database in clear.
    assert_eq!(a.number("SELECT count(*) FROM handovers").await, 0, "taken means deleted");
    assert_eq!(b.api("GET", "/v1/auth/token/lookup-self", Some(&token)).await.0, 200);
}

#[tokio::test]
async fn an_import_previewed_on_one_node_is_applied_on_the_other_and_held_sealed_meanwhile() {
    let (a, b) = start_pair().await;
    a.secrets("co", &[]).await;
    let on_a = a.login("admin").await;
    let form = [("namespace", "co"), ("content", "PASTED=import-canary-value"), ("format", "")];
    let page = redirected(on_a.post_page("import/preview", "/ns/co", &form).await).await;
    let id = page.split("import=").nth(1).unwrap().to_owned();
    let held = a.texts("SELECT encode(sealed, 'escape') FROM handovers").await;
    assert_eq!(held.len(), 1);
    assert!(!held[0].contains("import-canary-value"), "held in clear");
    let mut on_b = b.anon();
    on_b.cookie = on_a.cookie.clone();
    let (status, plan) = on_b.call("import/apply", &[("namespace", "co"), ("id", id.as_str())]).await;
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["adds"], serde_json::json!(["PASTED"]));
    let (status, again) = on_b.call("import/apply", &[("namespace", "co"), ("id", id.as_str())]).await;
    assert_eq!(status, 409, "applied twice: {again}");
}

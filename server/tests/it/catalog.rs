//! Finding secrets among many: tags, a namespace's filter box and pages, the
//! home page's search by name, and the trail's outcome filter — all through
//! the real server, each respecting the caller's grants.

use crate::common::{error_field, start};
use app::domain::{view::SECRETS_PER_PAGE, Role};
use serde_json::Value;

fn keys(view: &Value) -> Vec<String> {
    view["effective"].as_array().unwrap().iter().map(|s| s["meta"]["key"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn tags_are_set_on_add_edited_later_refused_when_malformed_and_recorded_in_the_trail() {
    let s = start().await;
    s.secrets("company.payments", &[]).await;
    s.add_user("ed", Role::Editor, "company.payments").await;
    s.add_user("aud", Role::Auditor, "company").await;
    let (mut editor, mut auditor) = (s.login("ed").await, s.login("aud").await);
    let add = |key: &'static str, tags: &'static str| {
        [("namespace", "company.payments"), ("key", key), ("value", "v"), ("description", ""), ("tags", tags)]
    };

    let (status, meta) = editor.call("secrets/add", &add("STRIPE_KEY", "owner=payments, env=prod")).await;
    assert_eq!((status, meta["tags"].as_str()), (200, Some("env=prod owner=payments")), "{meta}");
    let entry = s.last_entry().await;
    assert_eq!((entry.action.as_str(), entry.outcome.as_str()), ("secret.add", "ok: tags env=prod owner=payments"));

    // A malformed tag names the field and stores nothing.
    let (status, body) = editor.call("secrets/add", &add("OTHER", "env")).await;
    assert_eq!((status, error_field(&body).1), (422, Some("tags".into())), "{body}");
    assert!(body.to_string().contains("name=value"), "{body}");
    let (_, view) = editor.call("namespaces/get", &[("namespace", "company.payments")]).await;
    assert_eq!(keys(&view), ["STRIPE_KEY"]);

    let tags = |tags: &'static str| [("namespace", "company.payments"), ("key", "STRIPE_KEY"), ("tags", tags)];
    let (status, meta) = editor.call("secrets/tags", &tags("env=staging tier=1")).await;
    assert_eq!((status, meta["tags"].as_str()), (200, Some("env=staging tier=1")), "{meta}");
    assert_eq!(s.last_entry().await.outcome, "ok: tags env=staging tier=1");
    let (status, body) = editor.call("secrets/tags", &tags("Env=staging")).await;
    assert_eq!((status, error_field(&body).1), (422, Some("tags".into())), "{body}");
    assert_eq!(auditor.call("secrets/tags", &tags("env=x")).await.0, 403);
    let (_, detail) = auditor.call("secrets/get", &[("namespace", "company.payments"), ("key", "STRIPE_KEY")]).await;
    assert_eq!(detail["meta"]["tags"].as_str(), Some("env=staging tier=1"), "{detail}");
    let (status, meta) = editor.call("secrets/tags", &tags("")).await;
    assert_eq!((status, meta["tags"].as_str()), (200, Some("")), "{meta}");
    assert_eq!(s.last_entry().await.outcome, "ok: no tags");
    assert_eq!(
        editor.call("secrets/tags", &[("namespace", "company.payments"), ("key", "NOPE"), ("tags", "")]).await.0,
        404
    );
}

#[tokio::test]
async fn a_large_namespace_comes_in_pages_that_the_filter_box_narrows_without_finding_by_hidden_text() {
    let s = start().await;
    let mut admin = s.login("admin").await;
    // 3 levels: 60 in `co`, 60 in `co.team`, 30 in `co.team.etl` (10 of them shadowing `co`'s).
    for (ns, range, prefix) in [("co", 0..60, "PARENT"), ("co.team", 0..60, "TEAM"), ("co.team.etl", 0..30, "ETL")] {
        admin.call("namespaces/create", &[("namespace", ns), ("description", "")]).await;
        for i in range {
            let key = if ns == "co.team.etl" && i < 10 { format!("PARENT_{i:03}") } else { format!("{prefix}_{i:03}") };
            let (description, tags) = if i % 10 == 0 { ("rotated by hand", "env=prod") } else { ("", "env=dev") };
            let form = [("namespace", ns), ("key", &key), ("value", "v"), ("description", description), ("tags", tags)];
            assert_eq!(admin.call("secrets/add", &form).await.0, 200);
        }
    }
    let get = |q: &'static str, status: &'static str, page: &'static str| {
        [("namespace", "co.team.etl"), ("q", q), ("status", status), ("page", page)]
    };
    // 60 + 60 + 30 - 10 shadowed = 140 effective: pages of 50, by key.
    let (_, first) = admin.call("namespaces/get", &get("", "", "0")).await;
    assert_eq!(first["window"], serde_json::json!({"total": 140, "matching": 140, "page": 0, "pages": 3}));
    assert_eq!(keys(&first).len(), SECRETS_PER_PAGE);
    assert_eq!(keys(&first)[0], "ETL_010");
    let (_, last) = admin.call("namespaces/get", &get("", "", "2")).await;
    assert_eq!(keys(&last).len(), 140 - 2 * SECRETS_PER_PAGE);
    assert_eq!(keys(&last).last().map(String::as_str), Some("TEAM_059"));
    // Past the end: the last page, not an error.
    let (status, beyond) = admin.call("namespaces/get", &get("", "", "99")).await;
    assert_eq!((status, beyond["window"]["page"].as_u64()), (200, Some(2)));
    let mut all: Vec<String> = Vec::new();
    for page in ["0", "1", "2"] {
        all.extend(keys(&admin.call("namespaces/get", &get("", "", page)).await.1));
    }
    let mut sorted = all.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!((all.len(), sorted), (140, all.clone()), "every secret once, in key order");

    // Words match key or description, ignoring case; name=value matches a tag; status narrows.
    let (_, view) = admin.call("namespaces/get", &get("team_05", "", "0")).await;
    assert_eq!(keys(&view), (50..60).map(|i| format!("TEAM_{i:03}")).collect::<Vec<_>>());
    let (_, view) = admin.call("namespaces/get", &get("BY HAND env=prod", "", "0")).await;
    // etl's own PARENT_000, ETL_010, ETL_020; team's 6; co's 5 (its PARENT_000 is shadowed).
    assert_eq!(view["window"]["matching"], 14, "{}", view["window"]);
    let (_, view) = admin.call("namespaces/get", &get("env=prod", "own", "0")).await;
    assert_eq!(keys(&view), ["ETL_010", "ETL_020", "PARENT_000"]);
    let (_, view) = admin.call("namespaces/get", &get("", "inherited", "0")).await;
    assert_eq!(view["window"]["matching"], 110);
    let (_, view) = admin.call("namespaces/get", &get("no-such-thing", "", "0")).await;
    assert_eq!((view["window"]["matching"].as_u64(), keys(&view).len()), (Some(0), 0));

    let (status, body) = admin.call("namespaces/get", &get("", "sideways", "0")).await;
    assert_eq!((status, error_field(&body).1), (422, Some("status".into())), "{body}");
    let long = "x".repeat(201);
    let (status, body) = admin
        .call("namespaces/get", &[("namespace", "co.team.etl"), ("q", &long), ("status", ""), ("page", "0")])
        .await;
    assert_eq!((status, error_field(&body).1), (422, Some("q".into())), "{body}");

    // An editor of `co.team` sees `co`'s keys by name only: the filter cannot find them by
    // their description or tags, which it may not see.
    s.add_user("lead", Role::Editor, "co.team").await;
    let mut lead = s.login("lead").await;
    let (_, view) = lead.call("namespaces/get", &get("by hand", "", "0")).await;
    let mut expected = vec!["ETL_010".to_owned(), "ETL_020".into(), "PARENT_000".into()];
    expected.extend((0..60).step_by(10).map(|i| format!("TEAM_{i:03}")));
    assert_eq!(keys(&view), expected, "co's own PARENT_010… are not found by their description");
    let (_, view) = lead.call("namespaces/get", &get("PARENT_05", "", "0")).await;
    assert_eq!(keys(&view).len(), 10, "keys of an outside parent still show by name");
    assert!(view["effective"].as_array().unwrap().iter().all(|s| s["meta"]["tags"] == ""), "{view}");
}

#[tokio::test]
async fn search_finds_namespaces_and_keys_by_name_only_where_the_user_may_look() {
    let s = start().await;
    s.secrets("company.payments", &[("STRIPE_KEY", "sk-search-canary"), ("DB_PASSWORD", "p")]).await;
    s.secrets("company.shop", &[("STRIPE_KEY", "sk-2")]).await;
    s.secrets("secret.lab", &[("STRIPE_WEBHOOK", "w")]).await;
    let mut admin = s.login("admin").await;
    admin.call("secrets/delete", &[("namespace", "company.shop"), ("key", "STRIPE_KEY")]).await;

    let (status, found) = admin.call("search", &[("q", "stripe")]).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(
        found["secrets"],
        serde_json::json!([["company.payments", "STRIPE_KEY"], ["secret.lab", "STRIPE_WEBHOOK"]]),
        "deleted secrets are not found"
    );
    let (_, found) = admin.call("search", &[("q", "PAY")]).await;
    assert_eq!(found["namespaces"], serde_json::json!(["company.payments"]));
    assert!(!found.to_string().contains("sk-search-canary"));
    let (_, found) = admin.call("search", &[("q", "secret")]).await;
    assert_eq!(found["namespaces"], serde_json::json!(["secret", "secret.lab"]), "{found}");

    s.add_user("aud", Role::Auditor, "company").await;
    let mut auditor = s.login("aud").await;
    let (_, found) = auditor.call("search", &[("q", "stripe")]).await;
    assert_eq!(found["secrets"], serde_json::json!([["company.payments", "STRIPE_KEY"]]), "{found}");
    let (_, found) = auditor.call("search", &[("q", "lab")]).await;
    assert_eq!((found["namespaces"].as_array().unwrap().len(), found["secrets"].as_array().unwrap().len()), (0, 0));

    let (status, empty) = auditor.call("search", &[("q", "  ")]).await;
    assert_eq!((status, empty["namespaces"].as_array().map(Vec::len)), (200, Some(0)));
    let (status, body) = auditor.call("search", &[("q", "s")]).await;
    assert_eq!((status, error_field(&body).1), (422, Some("q".into())), "one character matches nearly everything");
    let long = "x".repeat(101);
    let (status, body) = auditor.call("search", &[("q", &long)]).await;
    assert_eq!((status, error_field(&body).1), (422, Some("q".into())), "{body}");
    assert_eq!(s.anon().call("search", &[("q", "stripe")]).await.0, 401);

    // The home page answers the same search as HTML, without JavaScript.
    let (status, _, html) = auditor.get("/?q=stripe").await;
    assert_eq!(status, 200);
    assert!(html.contains("href=\"/ns/company.payments/STRIPE_KEY\"") && !html.contains("STRIPE_WEBHOOK"), "{html}");
}

#[tokio::test]
async fn the_trail_shows_refusals_alone_or_hides_them_and_exports_the_same() {
    let s = start().await;
    s.secrets("company", &[("K", "v")]).await;
    s.add_user("aud", Role::Auditor, "company").await;
    let mut auditor = s.login("aud").await;
    for _ in 0..3 {
        assert_eq!(
            auditor.call("secrets/rotate", &[("namespace", "company"), ("key", "K"), ("value", "x")]).await.0,
            403
        );
    }
    let mut admin = s.login("admin").await;
    let list = |outcome: &'static str| {
        [("namespace", ""), ("actor", ""), ("action", ""), ("from", ""), ("to", ""), ("key", ""), ("outcome", outcome)]
    };
    let outcomes = |page: &Value| -> Vec<String> {
        page["entries"].as_array().unwrap().iter().map(|e| e["outcome"].as_str().unwrap().to_owned()).collect()
    };
    let (_, refused) = admin.call("audit/list", &list("refused")).await;
    let refused = outcomes(&refused);
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(refused.iter().all(|o| o.starts_with("refused")), "{refused:?}");
    let (_, done) = admin.call("audit/list", &list("ok")).await;
    let done = outcomes(&done);
    assert!(!done.is_empty() && done.iter().all(|o| o.starts_with("ok")), "{done:?}");
    let (_, any) = admin.call("audit/list", &list("")).await;
    assert_eq!(outcomes(&any).len(), refused.len() + done.len());

    let (status, _, csv) = admin.get("/audit/export.csv?outcome=refused").await;
    assert_eq!(status, 200);
    assert_eq!(csv.lines().count(), 1 + 3, "{csv}");
    // Without JavaScript the filter is a link.
    let (_, _, html) = admin.get("/audit?outcome=refused").await;
    assert_eq!(html.matches("class=\"refused\"").count(), 3, "{html}");
    // (A bad filter is refused, and that refusal is itself recorded.)
    let (status, body) = admin.call("audit/list", &list("maybe")).await;
    assert_eq!((status, error_field(&body).1), (422, Some("outcome".into())), "{body}");
}

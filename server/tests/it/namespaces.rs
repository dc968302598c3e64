//! Namespaces after they are made: a new description (editor), deleting an
//! empty one (admin) — refused, saying why, while anything is in it.

use crate::common::{error_field, start};
use app::domain::Role;

#[tokio::test]
async fn a_description_changes_and_only_an_empty_namespace_is_deleted() {
    let s = start().await;
    s.secrets("company.team", &[("K", "v")]).await;
    s.secrets("other", &[]).await;
    s.add_user("ed", Role::Editor, "company").await;
    let (mut admin, mut editor) = (s.login("admin").await, s.login("ed").await);

    let (status, body) =
        editor.call("namespaces/describe", &[("namespace", "company.team"), ("description", "Payments team")]).await;
    assert_eq!((status, body["description"].as_str()), (200, Some("Payments team")), "{body}");
    let (_, view) = editor.call("namespaces/get", &[("namespace", "company")]).await;
    assert!(view.to_string().contains("Payments team"), "{view}");
    assert_eq!(s.last_entry().await.action, "namespace.describe");
    let long = "x".repeat(1001);
    let (status, body) =
        editor.call("namespaces/describe", &[("namespace", "company.team"), ("description", &long)]).await;
    assert_eq!((status, error_field(&body).1), (422, Some("description".into())));
    let (status, _) = editor.call("namespaces/describe", &[("namespace", "other"), ("description", "x")]).await;
    assert!(status == 403 || status == 404, "outside the editor's grant: {status}");
    let (_, other) = admin.call("namespaces/get", &[("namespace", "other")]).await;
    assert!(!other.to_string().contains("\"description\":\"x\""), "{other}");

    // Deleting is an admin's call, and only for an empty namespace.
    assert_eq!(editor.call("namespaces/delete", &[("namespace", "company.team")]).await.0, 403);
    let (status, body) = admin.call("namespaces/delete", &[("namespace", "company")]).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("0 secrets") && body.to_string().contains("1 child namespaces"), "{body}");
    let (status, body) = admin.call("namespaces/delete", &[("namespace", "company.team")]).await;
    assert!(status == 409 && body.to_string().contains("1 secrets"), "{body}");
    // A deleted secret still counts: its history is kept until purged.
    admin.call("secrets/delete", &[("namespace", "company.team"), ("key", "K")]).await;
    assert_eq!(admin.call("namespaces/delete", &[("namespace", "company.team")]).await.0, 409);
    assert_eq!(
        admin.call("secrets/purge", &[("namespace", "company.team"), ("key", "K"), ("confirm", "K")]).await.0,
        200
    );
    let (status, body) = admin.call("namespaces/delete", &[("namespace", "company.team")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(s.last_entry().await.action, "namespace.delete");
    assert_eq!(admin.call("namespaces/get", &[("namespace", "company.team")]).await.0, 404);
    assert_eq!(admin.call("namespaces/delete", &[("namespace", "company")]).await.0, 200);
    assert_eq!(admin.call("namespaces/delete", &[("namespace", "company")]).await.0, 404);
}

/// Required keys (`strongroom require`), inherited by children, checked by
/// `GET /v1/namespaces/{ns}/check` and `strongroom check` (exit 0 complete,
/// 1 missing with the names, 2 on an error) — names only, no read recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_keys_are_inherited_and_checked_without_reading_a_value() {
    use crate::common::{strongroom, text};
    let s = start().await;
    s.secrets("company", &[("DB_PASSWORD", "p")]).await;
    s.secrets("company.team", &[("API_KEY", "k")]).await;
    s.secrets("company.other", &[]).await;
    let cli = |args: &[&str]| strongroom(args, s.dir.path(), &s.root_key);
    let out = cli(&["require", "company", "DB_PASSWORD", "STRIPE_KEY"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = cli(&["require", "company.team", "API_KEY"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!cli(&["require", "company", "bad key"]).status.success());

    let token = s.token("ci", "company", None).await;
    let check = |ns: &'static str| {
        let (base, token) = (s.base.clone(), token.clone());
        async move {
            let res = reqwest::Client::new()
                .get(format!("{base}/v1/namespaces/{ns}/check"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.json::<serde_json::Value>().await.unwrap())
        }
    };
    let before = s.audit_count().await;
    let (status, body) = check("company.team").await;
    assert_eq!(status, 200);
    assert_eq!(body["complete"], false);
    let keys = |list: &serde_json::Value| {
        list.as_array()
            .unwrap()
            .iter()
            .map(|r| format!("{}@{}", r["key"].as_str().unwrap(), r["declared_in"].as_str().unwrap()))
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&body["required"]), ["API_KEY@company.team", "DB_PASSWORD@company", "STRIPE_KEY@company"]);
    assert_eq!(keys(&body["missing"]), ["STRIPE_KEY@company"]);
    assert_eq!(s.audit_count().await, before, "a check is not a read");
    assert!(!body.to_string().contains("\"p\"") && !body.to_string().contains("\"k\""));

    // `strongroom check`: 1 with the names, then 0 once complete; 2 on an error.
    let run_check = |ns: &str, token: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_strongroom"))
            .args(["check", ns])
            .env("STRONGROOM_SERVER", &s.base)
            .env("STRONGROOM_TOKEN", token)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = tokio::task::block_in_place(|| run_check("company.other", &token));
    assert_eq!(
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned()),
        (Some(1), "STRIPE_KEY\n".to_owned())
    );
    s.secrets("company", &[("STRIPE_KEY", "s")]).await;
    let out = tokio::task::block_in_place(|| run_check("company.team", &token));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = tokio::task::block_in_place(|| run_check("company.team", "sr_not_a_token"));
    assert_eq!(out.status.code(), Some(2), "an error is not a gap: {}", text(&out));
    // Outside the token's scope: refused like a read.
    let outside = s.token("narrow", "company.team", None).await;
    let (base, t) = (s.base.clone(), outside);
    let res =
        reqwest::Client::new().get(format!("{base}/v1/namespaces/company/check")).bearer_auth(t).send().await.unwrap();
    assert_eq!(res.status(), 403);
    // No longer required: complete.
    assert!(cli(&["require", "company.team", "API_KEY", "--remove"]).status.success());
    assert_eq!(keys(&check("company.team").await.1["required"]), ["DB_PASSWORD@company", "STRIPE_KEY@company"]);
    let trail = s
        .texts(
            "SELECT action || ' ' || namespace || ' ' || key FROM audit WHERE action = 'namespace.require' ORDER BY id",
        )
        .await;
    assert_eq!(
        trail,
        [
            "namespace.require company DB_PASSWORD,STRIPE_KEY",
            "namespace.require company.team API_KEY",
            "namespace.require company.team API_KEY"
        ]
    );
}

/// The namespace page lists what it requires and whether each resolves here;
/// editors require and un-require keys there (auditors only see).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_namespace_page_shows_and_edits_required_keys() {
    let s = start().await;
    s.secrets("company", &[("DB_PASSWORD", "p")]).await;
    s.secrets("company.team", &[]).await;
    s.add_user("ed", Role::Editor, "company").await;
    s.add_user("lead", Role::Auditor, "company").await;
    let (mut editor, mut lead) = (s.login("ed").await, s.login("lead").await);
    let (status, _) =
        editor.call("namespaces/require", &[("namespace", "company"), ("keys", "DB_PASSWORD, STRIPE_KEY")]).await;
    assert_eq!(status, 200);
    let (status, body) = editor.call("namespaces/require", &[("namespace", "company"), ("keys", "GOOD BAD!KEY")]).await;
    assert_eq!((status, error_field(&body).1.as_deref()), (422, Some("keys")), "{body}");
    let (status, _) = lead.call("namespaces/require", &[("namespace", "company"), ("keys", "X")]).await;
    assert_eq!(status, 403, "auditors see, editors change");

    let (status, _, page) = lead.get("/ns/company.team").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Required keys") && page.contains("inherited from company") && page.contains("missing"),
        "{page}"
    );
    assert!(!page.contains("No longer require"), "no edit buttons for an auditor");
    let (_, list) = lead.call("namespaces/required", &[("namespace", "company.team")]).await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["defined_in"], "company");
    assert_eq!(list[1]["defined_in"], serde_json::Value::Null);

    let (status, _) = editor.call("namespaces/unrequire", &[("namespace", "company"), ("key", "STRIPE_KEY")]).await;
    assert_eq!(status, 200);
    let (_, list) = lead.call("namespaces/required", &[("namespace", "company.team")]).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
}

/// The completeness matrix: each namespace of a subtree × each key required
/// anywhere in it, defined here / inherited / missing / overdue; names only,
/// for anyone who may see the subtree's root.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_completeness_matrix_shows_each_namespace_against_each_required_key() {
    let s = start().await;
    s.secrets("company", &[("DB_PASSWORD", "matrix-canary-1")]).await;
    s.secrets("company.team", &[("API_KEY", "matrix-canary-2")]).await;
    s.secrets("company.team.jobs", &[]).await;
    s.secrets("company.ops", &[]).await;
    s.add_user("lead", Role::Auditor, "company").await;
    s.add_user("teamlead", Role::Auditor, "company.team").await;
    let mut a = s.login("admin").await;
    a.call("namespaces/require", &[("namespace", "company"), ("keys", "DB_PASSWORD")]).await;
    a.call("namespaces/require", &[("namespace", "company.team"), ("keys", "API_KEY SMTP_URL")]).await;
    let (status, _) = a
        .call(
            "secrets/rotation",
            &[("namespace", "company"), ("key", "DB_PASSWORD"), ("rotate_by", "2020-01-01"), ("every_days", "")],
        )
        .await;
    assert_eq!(status, 200);

    let mut lead = s.login("lead").await;
    let (status, m) = lead.call("namespaces/completeness", &[("namespace", "company")]).await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["keys"], serde_json::json!(["API_KEY", "DB_PASSWORD", "SMTP_URL"]));
    let row = |ns: &str| m["rows"].as_array().unwrap().iter().find(|r| r[0] == ns).unwrap()[1].clone();
    assert_eq!(row("company"), serde_json::json!(["NotRequired", {"Here": {"overdue": true}}, "NotRequired"]),);
    assert_eq!(
        row("company.team.jobs"),
        serde_json::json!([
            {"Inherited": {"from": "company.team", "overdue": false}},
            {"Inherited": {"from": "company", "overdue": true}},
            "Missing"
        ]),
    );
    assert_eq!(row("company.ops")[0], "NotRequired");
    let (status, _, page) = lead.get("/completeness/company").await;
    assert_eq!(status, 200);
    assert!(page.contains("2 missing, 4 overdue."), "{page}");
    assert!(page.contains("from company.team") && page.contains("not required"), "{page}");
    assert!(!page.contains("matrix-canary"), "names only");

    // Someone who sees only company.team sees its matrix; its parent's is
    // answered as if it did not exist, like every namespace out of sight.
    let mut team = s.login("teamlead").await;
    assert_eq!(team.call("namespaces/completeness", &[("namespace", "company")]).await.0, 404);
    let (status, m) = team.call("namespaces/completeness", &[("namespace", "company.team")]).await;
    assert_eq!(status, 200);
    assert_eq!(m["rows"].as_array().unwrap().len(), 2);
    assert_eq!(team.get("/completeness/company").await.0, 404);
    assert_eq!(lead.call("namespaces/completeness", &[("namespace", "nowhere")]).await.0, 404);
}

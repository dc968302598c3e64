//! Who reads what (issue 23 §1): the read summary behind a secret's "Read by",
//! the page per token or role, and the `unused` filter and list — names and
//! counts only, kept with the trail's entries, for those who may see them.

use crate::{
    approle::{fields, login},
    common::start,
};
use app::domain::Role;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_by_groups_reads_by_workload_identity_and_unused_lists_what_nothing_read() {
    let s = start().await;
    s.secrets("company", &[("DB_PASSWORD", "reads-canary-1")]).await;
    s.secrets("company.ops", &[("UNREAD", "reads-canary-2"), ("STALE", "reads-canary-3")]).await;
    s.secrets("company.team", &[("API_KEY", "reads-canary-4")]).await;
    s.secrets("elsewhere", &[("OTHER", "reads-canary-5")]).await;
    s.add_user("lead", Role::Auditor, "company").await;
    s.add_user("outsider", Role::Auditor, "elsewhere").await;
    let ci = s.token("ci", "company", None).await;
    let wide = s.token("wide", "*", None).await;
    for _ in 0..2 {
        assert_eq!(s.api("GET", "/v1/namespaces/company/secrets/DB_PASSWORD", Some(&ci)).await.0, 200);
    }
    // Through a child namespace, and in an export: both count for the parent's secret.
    assert_eq!(s.api("GET", "/v1/namespaces/company.team/export?format=json", Some(&ci)).await.0, 200);
    assert_eq!(s.api("GET", "/v1/namespaces/company.ops/secrets/STALE", Some(&wide)).await.0, 200);
    assert_eq!(s.api("GET", "/v1/namespaces/elsewhere/secrets/OTHER", Some(&wide)).await.0, 200);
    // Two AppRole logins are one reader: the role.
    let role = fields(&s.cli(&["approle", "create", "deploy", "--namespace", "company"]).await);
    for _ in 0..2 {
        let (status, body) = login(&s, &role["role_id"], &role["secret_id"]).await;
        assert_eq!(status, 200, "{body}");
        let token = body["auth"]["client_token"].as_str().unwrap();
        assert_eq!(s.api("GET", "/v1/namespaces/company/secrets/DB_PASSWORD", Some(token)).await.0, 200);
    }
    // A refused read is not a read.
    assert_eq!(s.api("GET", "/v1/namespaces/elsewhere/secrets/OTHER", Some(&ci)).await.0, 403);

    let mut lead = s.login("lead").await;
    let (status, readers) = lead.call("secrets/readers", &[("namespace", "company"), ("key", "DB_PASSWORD")]).await;
    assert_eq!(status, 200, "{readers}");
    let who: Vec<(&str, i64)> = readers
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["reader"].as_str().unwrap(), r["reads"].as_i64().unwrap()))
        .collect();
    assert_eq!(who, [("approle:deploy", 2), ("token:ci", 3)], "last read first");
    let (status, _, page) = lead.get("/ns/company/DB_PASSWORD").await;
    assert_eq!(status, 200);
    assert!(page.contains("Read by") && page.contains("href=\"/readers/approle:deploy\""), "{page}");
    assert!(!page.contains("reads-canary"), "names only");
    let (_, _, page) = lead.get("/ns/company.ops/UNREAD").await;
    assert!(page.contains("No workload has read this value.") && page.contains("never read by a workload"));

    // What one reader read, limited to what the viewer's grants cover.
    let (status, read) = lead.call("audit/reader", &[("reader", "token:wide")]).await;
    assert_eq!(status, 200, "{read}");
    let names: Vec<String> =
        read.as_array().unwrap().iter().map(|r| format!("{}/{}", r["namespace"], r["key"]).replace('"', "")).collect();
    assert_eq!(names, ["company.ops/STALE"], "elsewhere/OTHER is out of the lead's sight");
    let (status, _, page) = lead.get("/readers/token:ci").await;
    assert_eq!(status, 200);
    assert!(page.contains("company/DB_PASSWORD") && page.contains("company.team/API_KEY"), "{page}");
    let mut outsider = s.login("outsider").await;
    let (_, read) = outsider.call("audit/reader", &[("reader", "token:ci")]).await;
    assert_eq!(read, serde_json::json!([]));

    // Unused: existed before the window and not read since. Time passes by
    // moving the records back, as a long-running server would see them.
    s.sql(
        "UPDATE secrets SET created_at = created_at - 200 * 86400;
         UPDATE secret_reads SET last_at = last_at - 100 * 86400 WHERE key = 'STALE'",
    );
    let (status, unused) = lead.call("secrets/unused", &[]).await;
    assert_eq!(status, 200);
    let keys: Vec<&str> = unused.as_array().unwrap().iter().map(|m| m["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["STALE", "UNREAD"], "API_KEY and DB_PASSWORD were read; OTHER is out of sight");
    let (_, view) = lead.call("namespaces/get", &[("namespace", "company.ops"), ("status", "unused")]).await;
    let keys: Vec<&str> =
        view["effective"].as_array().unwrap().iter().map(|e| e["meta"]["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["STALE", "UNREAD"]);
    let (_, _, home) = lead.get("/").await;
    assert!(home.contains("Unused secrets") && home.contains("never read"), "{home}");
}

/// The summary says what the trail says: the value reads, by secret and
/// reader (refused reads, with no version, are not reads).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_summary_agrees_with_the_trail() {
    let s = start().await;
    s.secrets("company", &[("A", "summary-canary-a"), ("B", "summary-canary-b")]).await;
    let t = s.token("agent", "company", None).await;
    for path in ["secrets/A", "secrets/A", "export?format=json", "secrets/NOPE"] {
        s.api("GET", &format!("/v1/namespaces/company/{path}"), Some(&t)).await;
    }
    let from_trail = s
        .texts(
            "SELECT namespace || '/' || key || ' ' || actor || ' ' || count(*) FROM audit
             WHERE action = 'secret.read' AND version IS NOT NULL GROUP BY namespace, key, actor ORDER BY 1",
        )
        .await;
    let summary =
        s.texts("SELECT namespace || '/' || key || ' ' || reader || ' ' || reads FROM secret_reads ORDER BY 1").await;
    assert_eq!(summary, ["company/A token:agent 3", "company/B token:agent 1"]);
    assert_eq!(summary, from_trail);
}

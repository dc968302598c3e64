//! The workload API: every `/v1` route against every token state, scope and
//! inheritance, the audit of every value read (and a failing audit write
//! failing the read), and what the API never accepts or sends.

use crate::common::{start, Server};
use app::domain::Timestamp;
use serde_json::Value;

const SHARED: &str = "shared-db-password\nline two";
const TEAM: &str = "team-api-key \"quoted\" $HOME";
const OTHER: &str = "other-team-secret";

struct Tokens {
    team: String,
    every: String,
    expired: String,
    revoked: String,
}

async fn setup() -> (Server, Tokens) {
    let s = start().await;
    s.secrets("company", &[("DB_PASSWORD", SHARED), ("REGION", "eu-west")]).await;
    s.secrets("company.team", &[("API_KEY", TEAM), ("REGION", "us-east")]).await;
    s.secrets("company.other", &[("OTHER", OTHER)]).await;
    s.secrets("company.team.etl", &[]).await;
    let tokens = Tokens {
        team: s.token("team", "company.team", None).await,
        every: s.token("every", "", Some(Timestamp(app::ssr::clock::now().0 + 3600))).await,
        expired: s.token("expired", "company.team", Some(Timestamp(app::ssr::clock::now().0 - 1))).await,
        revoked: s.token("revoked", "company.team", None).await,
    };
    let rows = s.state.rows.clone();
    s.state
        .db
        .call(move |c| {
            let at = app::ssr::store::Stamp { actor: "test", at: app::ssr::clock::now() };
            app::ssr::store::tokens::revoke(c, &rows, &app::domain::TokenName::parse("revoked").unwrap(), at)
        })
        .await
        .unwrap();
    (s, tokens)
}

/// Every `/v1` route, aimed at a namespace (`{ns}` as a dotted name, `{path}` as a Vault path).
const ROUTES: &[(&str, &str, Surface)] = &[
    ("GET", "/v1/namespaces/{ns}/secrets/REGION", Surface::Native),
    ("GET", "/v1/namespaces/{ns}/export?format=json", Surface::Native),
    ("GET", "/v1/secret/data/{path}", Surface::Vault),
    ("GET", "/v1/secret/metadata/{path}", Surface::Vault),
    ("LIST", "/v1/secret/metadata/{path}", Surface::Vault),
    ("GET", "/v1/secret/metadata/{path}?list=true", Surface::Vault),
    ("GET", "/v1/sys/internal/ui/mounts/secret/{path}", Surface::Vault),
    ("GET", "/v1/auth/token/lookup-self", Surface::Vault),
];

#[derive(Clone, Copy, PartialEq, Debug)]
enum Surface {
    Native,
    Vault,
}

fn aimed(route: &str, ns: &str) -> String {
    route.replace("{ns}", ns).replace("{path}", &ns.replace('.', "/"))
}

/// Routes that answer without reading a namespace: scope does not apply.
fn scopeless(route: &str) -> bool {
    route.contains("lookup-self") || route.contains("/mounts/")
}

#[tokio::test]
async fn every_route_refuses_every_bad_token_and_reads_only_inside_the_scope() {
    let (s, t) = setup().await;
    let mut failures = Vec::new();
    let cases: [(&str, Option<&str>, &str); 6] = [
        ("no token", None, "company.team"),
        ("a bad token", Some("sr_not-a-real-token"), "company.team"),
        ("an expired token", Some(&t.expired), "company.team"),
        ("a revoked token", Some(&t.revoked), "company.team"),
        ("out of scope", Some(&t.team), "company.other"),
        ("in scope", Some(&t.team), "company.team"),
    ];
    // Each request from an address of its own: a client's refused reads beyond
    // ten a minute are counted, not recorded one by one (hardening item 11).
    let mut client =
        (0..).map(|n: u32| Some(std::net::IpAddr::from([127, 0, 1 + (n / 250) as u8, 1 + (n % 250) as u8])));
    for &(method, route, surface) in ROUTES {
        for (case, token, ns) in cases {
            let path = aimed(route, ns);
            let before = s.audit_count().await;
            let (status, headers, body) = s.api_from(client.next().unwrap(), method, &path, token).await;
            let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let want = match (case, surface) {
                ("in scope", _) => 200,
                ("out of scope", _) if scopeless(route) => 200,
                ("out of scope", _) | (_, Surface::Vault) => 403,
                (_, Surface::Native) => 401,
            };
            if status != want {
                failures.push(format!("{method} {path} with {case}: want {want}, got {status} {body}"));
            }
            if headers.get("content-type").map(|v| v.to_str().unwrap()) != Some("application/json") {
                failures.push(format!("{method} {path} with {case}: content-type {:?}", headers.get("content-type")));
            }
            if headers.get("cache-control").map(|v| v.to_str().unwrap()) != Some("no-store") {
                failures.push(format!("{method} {path} with {case}: no Cache-Control: no-store"));
            }
            if status != 200 {
                let shape_ok = match surface {
                    Surface::Native => json["error"]["code"].is_string() && json["error"]["message"].is_string(),
                    Surface::Vault => json == serde_json::json!({ "errors": ["permission denied"] }),
                };
                if !shape_ok {
                    failures.push(format!("{method} {path} with {case}: error body {body}"));
                }
                let entry = s.last_entry().await;
                let recorded = s.audit_count().await - before == 1 && entry.outcome.starts_with("refused");
                if !recorded || entry.action != "secret.read" {
                    failures.push(format!("{method} {path} with {case}: refusal not audited once: {entry:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "token matrix:\n{}", failures.join("\n"));
    // The expired and revoked tokens are named in their refusals; unknown ones are not.
    let (_, _, _) = s.api("GET", "/v1/namespaces/company.team/secrets/REGION", Some(&t.revoked)).await;
    assert_eq!(s.last_entry().await.actor, "token:revoked");
    let (_, _, _) = s.api("GET", "/v1/namespaces/company.team/secrets/REGION", Some(&t.every)).await;
    assert_eq!(s.last_entry().await.actor, "token:every");
}

#[tokio::test]
async fn a_token_reads_what_its_namespace_inherits_but_never_above_or_beside_it() {
    let (s, t) = setup().await;
    let get = |ns: &str, key: &str| format!("/v1/namespaces/{ns}/secrets/{key}");
    let (status, _, body) = s.api("GET", &get("company.team", "DB_PASSWORD"), Some(&t.team)).await;
    assert_eq!(status, 200, "{body}");
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"namespace": "company.team", "key": "DB_PASSWORD", "version": 1, "value": SHARED,
            "defined_in": "company"})
    );
    // The nearest definition wins.
    let (_, _, body) = s.api("GET", &get("company.team", "REGION"), Some(&t.team)).await;
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["value"], "us-east");
    // company itself and company.other are outside the scope; existence is not revealed.
    for path in [get("company", "DB_PASSWORD"), get("company.other", "OTHER"), get("nowhere", "X")] {
        assert_eq!(s.api("GET", &path, Some(&t.team)).await.0, 403, "{path}");
    }
    // Inside the scope: unknown key or namespace is 404; a bad name is 400.
    assert_eq!(s.api("GET", &get("company.team", "MISSING"), Some(&t.team)).await.0, 404);
    assert_eq!(s.api("GET", &get("company.team.nope", "X"), Some(&t.team)).await.0, 404);
    let (status, _, body) = s.api("GET", &get("company.team", "BAD-KEY"), Some(&t.team)).await;
    assert_eq!(
        (status, serde_json::from_str::<Value>(&body).unwrap()["error"]["code"].clone()),
        (400, "bad_name".into())
    );
    // The export holds the effective set.
    let (_, _, body) = s.api("GET", "/v1/namespaces/company.team/export?format=json", Some(&t.team)).await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        serde_json::json!({"API_KEY": TEAM, "DB_PASSWORD": SHARED, "REGION": "us-east"})
    );
    let (status, _, body) = s.api("GET", "/v1/namespaces/company.team/export?format=yaml", Some(&t.team)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("kestra"), "{body}");
}

#[tokio::test]
async fn every_value_read_is_one_audit_entry_and_the_chain_verifies() {
    let (s, t) = setup().await;
    let before = s.audit_count().await;
    for _ in 0..5 {
        assert_eq!(s.api("GET", "/v1/namespaces/company.team/secrets/DB_PASSWORD", Some(&t.team)).await.0, 200);
    }
    let entry = s.last_entry().await;
    assert_eq!(
        (entry.actor.as_str(), entry.action.as_str(), entry.namespace.as_str(), entry.key.as_str(), entry.version),
        ("token:team", "secret.read", "company", "DB_PASSWORD", Some(1))
    );
    assert_eq!(entry.outcome, "ok: read via company.team");
    assert_eq!(entry.client, "127.0.0.1");
    // An export is one entry per key disclosed, and so is a Vault read.
    assert_eq!(s.api("GET", "/v1/namespaces/company.team/export?format=dotenv", Some(&t.team)).await.0, 200);
    assert_eq!(s.api("GET", "/v1/secret/data/company/team", Some(&t.team)).await.0, 200);
    assert_eq!(s.audit_count().await - before, 5 + 3 + 3);
    let key = s.state.audit.clone();
    let verdict = s.state.db.read(move |c| app::ssr::audit::verify(c, &key)).await.unwrap();
    assert!(matches!(verdict, app::ssr::audit::Verdict::Intact { .. }), "{verdict:?}");
    // Concurrent reads share batches.
    let reads = (0..40).map(|_| s.api("GET", "/v1/namespaces/company.team/secrets/REGION", Some(&t.team)));
    let statuses: Vec<u16> = futures_util::future::join_all(reads).await.into_iter().map(|r| r.0).collect();
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    assert_eq!(s.audit_count().await - before, 11 + 40);
    // A team lead filtering the trail by key sees every read of it, exports included.
    s.add_user("lead", app::domain::Role::Auditor, "company").await;
    let mut lead = s.login("lead").await;
    let filter =
        [("namespace", ""), ("actor", ""), ("action", "secret.read"), ("from", ""), ("to", ""), ("key", "DB_PASSWORD")];
    let (status, page) = lead.call("audit/list", &filter).await;
    assert_eq!(status, 200, "{page}");
    let entries = page["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 5 + 1 + 1, "five reads, one export, one Vault read");
    assert!(entries.iter().all(|e| e["key"] == "DB_PASSWORD" && e["actor"] == "token:team"));
    // The token list shows when it was last used.
    let used = s.state.db.read(|c| app::ssr::store::tokens::list(c, app::ssr::clock::now())).await.unwrap();
    assert!(used.iter().find(|t| t.name.as_str() == "team").unwrap().last_used_at.is_some());
}

#[tokio::test]
async fn a_read_whose_audit_entry_cannot_be_written_fails_and_shows_no_value() {
    let (s, t) = setup().await;
    s.refuse_audit_inserts(true);
    for path in ["/v1/namespaces/company.team/secrets/API_KEY", "/v1/namespaces/company.team/export?format=json"] {
        let (status, _, body) = s.api("GET", path, Some(&t.team)).await;
        // 503: the server may recover (a full disk); no value leaves unrecorded meanwhile.
        assert_eq!(status, 503, "{path}: {body}");
        assert!(!body.contains("team-api-key") && !body.contains("shared-db"), "{body}");
    }
    let (status, _, body) = s.api("GET", "/v1/secret/data/company/team", Some(&t.team)).await;
    assert_eq!(status, 503, "{body}");
    assert!(!body.contains("team-api-key"), "{body}");
    // Once the trail accepts entries again, reads work.
    s.refuse_audit_inserts(false);
    assert_eq!(s.api("GET", "/v1/namespaces/company.team/secrets/API_KEY", Some(&t.team)).await.0, 200);
}

#[tokio::test]
async fn a_browser_session_opens_nothing_under_v1() {
    let (s, _) = setup().await;
    let admin = s.login("admin").await;
    for path in ["/v1/namespaces/company/secrets/DB_PASSWORD", "/v1/secret/data/company"] {
        let (status, _, body) = admin.get(path).await;
        assert!(status == 401 || status == 403, "{path}: {status} {body}");
        assert!(!body.contains("shared-db-password"), "{body}");
    }
}

#[tokio::test]
async fn the_vault_surface_answers_in_vault_shapes() {
    let (s, t) = setup().await;
    let tok = Some(t.team.as_str());
    let (status, _, body) = s.api("GET", "/v1/secret/data/company/team", tok).await;
    assert_eq!(status, 200, "{body}");
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["data"]["data"], serde_json::json!({"API_KEY": TEAM, "DB_PASSWORD": SHARED, "REGION": "us-east"}));
    assert_eq!(json["data"]["metadata"]["deletion_time"], "");
    assert_eq!(json["data"]["metadata"]["destroyed"], false);
    assert_eq!(json["mount_type"], "kv");
    // The map's version: the same in data and metadata; only the current one reads; it grows
    // with any change along the ancestry, deletes included, and never comes back.
    let version = json["data"]["metadata"]["version"].as_u64().unwrap();
    let (_, _, meta) = s.api("GET", "/v1/secret/metadata/company/team", tok).await;
    assert_eq!(serde_json::from_str::<Value>(&meta).unwrap()["data"]["current_version"], version);
    assert_eq!(s.api("GET", &format!("/v1/secret/data/company/team?version={version}"), tok).await.0, 200);
    let before = s.audit_count().await;
    let old = format!("/v1/secret/data/company/team?version={}", version - 1);
    assert_eq!(s.api("GET", &old, tok).await.0, 404);
    assert_eq!(s.audit_count().await, before, "a refused version disclosed nothing");
    let mut admin = s.login("admin").await;
    admin.call("secrets/rotate", &[("namespace", "company"), ("key", "REGION"), ("value", "x")]).await;
    let now = |body: String| serde_json::from_str::<Value>(&body).unwrap()["data"]["metadata"]["version"].as_u64();
    let after_rotate = now(s.api("GET", "/v1/secret/data/company/team", tok).await.2).unwrap();
    assert!(after_rotate > version, "{after_rotate} > {version}");
    admin.call("secrets/delete", &[("namespace", "company.team"), ("key", "API_KEY")]).await;
    let after_delete = now(s.api("GET", "/v1/secret/data/company/team", tok).await.2).unwrap();
    assert!(after_delete > after_rotate);
    // Slashes doubled or trailing are fine.
    assert_eq!(s.api("GET", "/v1/secret/data/company//team/", tok).await.0, 200);
    // Mount check: version is the string "2".
    let (_, _, body) = s.api("GET", "/v1/sys/internal/ui/mounts/secret/company/team", tok).await;
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["data"]["options"]["version"], "2");
    assert_eq!(s.api("GET", "/v1/sys/internal/ui/mounts/kv/x", tok).await.0, 403);
    // Lists: the way down to the scope, then its children.
    let keys = |body: &str| serde_json::from_str::<Value>(body).unwrap()["data"]["keys"].clone();
    let (status, _, body) = s.api("LIST", "/v1/secret/metadata/", tok).await;
    assert_eq!((status, keys(&body)), (200, serde_json::json!(["company/"])));
    let (_, _, body) = s.api("GET", "/v1/secret/metadata/company?list=true", tok).await;
    assert_eq!(keys(&body), serde_json::json!(["team", "team/"]));
    let every = Some(t.every.as_str());
    let (_, _, body) = s.api("LIST", "/v1/secret/metadata/company", every).await;
    assert_eq!(keys(&body), serde_json::json!(["other", "team", "team/"]));
    let (_, _, body) = s.api("LIST", "/v1/secret/metadata", every).await;
    assert_eq!(keys(&body), serde_json::json!(["company", "company/"]));
    // An empty list is a 404, as in Vault.
    let (_, _, body) = s.api("LIST", "/v1/secret/metadata/company/team", tok).await;
    assert_eq!(keys(&body), serde_json::json!(["etl"]));
    let (status, _, body) = s.api("LIST", "/v1/secret/metadata/company/team/etl", tok).await;
    assert_eq!((status, body.as_str()), (404, r#"{"errors":[]}"#));
    // Metadata: no values.
    let (_, _, body) = s.api("GET", "/v1/secret/metadata/company/team", tok).await;
    assert!(!body.contains("team-api-key") && !body.contains("shared-db"), "{body}");
    // lookup-self: a number for ttl; the presented token as id, to its bearer (as Vault does).
    let (_, _, body) = s.api("GET", "/v1/auth/token/lookup-self", every).await;
    let json: Value = serde_json::from_str(&body).unwrap();
    assert!(json["data"]["ttl"].as_i64().unwrap() > 3000, "{body}");
    assert!(json["data"]["expire_time"].is_string());
    assert_eq!(json["data"]["id"].as_str(), Some(t.every.as_str()), "{body}");
    // Writes are refused Vault-style.
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        let (status, headers, body) = s.api(method, "/v1/secret/data/company/team", tok).await;
        assert_eq!(status, 405, "{method}: {body}");
        assert_eq!(headers["content-type"], "application/json");
        assert!(serde_json::from_str::<Value>(&body).unwrap()["errors"][0].is_string());
    }
    assert_eq!(s.api("GET", "/v1/kv/data/x", tok).await.0, 404);
}

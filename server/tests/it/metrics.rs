//! `/metrics` on its own address, read by Prometheus' own Python client
//! parser (`prometheus-client`, installed by `scripts/setup.sh`): requests
//! by route and status, latency, sign-ins and refusals, audit batches,
//! database waits, stored counts — and never on the public address, never a
//! value or a token.

use crate::common::start;
use serde_json::Value;
use std::path::PathBuf;

const CANARY: &str = "canary-metrics-5b0c";

/// Prints `{"name{label=value,...}": value}` for every sample.
const PARSE: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
        out[f"{s.name}{{{labels}}}"] = s.value
print(json.dumps(out))
"#;

fn python() -> PathBuf {
    let python = PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/strongroom/pyenv/bin/python");
    assert!(python.exists(), "no {python:?}: run scripts/setup.sh");
    python
}

fn parse(text: &str) -> serde_json::Map<String, Value> {
    use std::io::Write;
    let mut child = std::process::Command::new(python())
        .args(["-c", PARSE])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the Prometheus parser refused it: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice::<Value>(&out.stdout).unwrap().as_object().unwrap().clone()
}

fn at_least(samples: &serde_json::Map<String, Value>, name: &str, min: f64) {
    let got = samples.get(name).and_then(Value::as_f64);
    assert!(got.is_some_and(|v| v >= min), "{name} = {got:?}, want >= {min}; have: {:?}", samples.keys());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_apart_parse_as_prometheus_and_count_what_happened() {
    let s = start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics_base = format!("http://{}", listener.local_addr().unwrap());
    let router = strongroom::metrics::router(s.state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    s.secrets("company", &[("DB_PASSWORD", CANARY), ("API_KEY", "second")]).await;
    let token = s.token("ci", "company", None).await;
    let (status, _, _) = s.api("GET", "/v1/namespaces/company/secrets/DB_PASSWORD", Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(s.api("GET", "/v1/namespaces/company/secrets/DB_PASSWORD", Some("sr_wrong")).await.0, 401);
    let refused = s
        .anon()
        .http
        .post(format!("{}/api/session/login", s.base))
        .header("origin", &s.base)
        .form(&[("username", "admin"), ("password", "not the password")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    // Any token is a method to HTTP: made-up ones share one label.
    let brew = reqwest::Method::from_bytes(b"BREWCOFFEE").unwrap();
    s.anon().http.request(brew, format!("{}/healthz", s.base)).send().await.unwrap();

    // Not on the public address, signed in or not.
    let admin = s.login("admin").await;
    let (_, _, public) = admin.get("/metrics").await;
    assert!(!public.contains("strongroom_http_requests_total"), "metrics on the public address");

    let text = reqwest::get(format!("{metrics_base}/metrics")).await.unwrap().text().await.unwrap();
    assert!(!text.contains(CANARY) && !text.contains(&token), "a value or token in the metrics");
    assert!(!text.contains("BREWCOFFEE") && text.contains("method=\"OTHER\""), "{text}");
    let samples = parse(&text);
    let secret_route = "route=/v1/namespaces/{namespace}/secrets/{key}";
    at_least(&samples, &format!("strongroom_http_requests_total{{method=GET,{secret_route},status=200}}"), 1.0);
    at_least(&samples, &format!("strongroom_http_requests_total{{method=GET,{secret_route},status=401}}"), 1.0);
    at_least(&samples, &format!("strongroom_http_request_duration_seconds_count{{{secret_route}}}"), 2.0);
    at_least(&samples, "strongroom_audit_entries_total{action=sign-in,outcome=ok}", 1.0);
    at_least(&samples, "strongroom_audit_entries_total{action=sign-in,outcome=refused}", 1.0);
    at_least(&samples, "strongroom_audit_entries_total{action=secret.read,outcome=ok}", 1.0);
    at_least(&samples, "strongroom_audit_read_batch_entries_count{}", 1.0);
    at_least(&samples, "strongroom_db_connection_wait_seconds_count{connection=reader}", 1.0);
    at_least(&samples, "strongroom_db_connection_wait_seconds_count{connection=writer}", 1.0);
    assert_eq!(samples["strongroom_stored{kind=secrets}"], 2.0);
    assert_eq!(samples["strongroom_stored{kind=namespaces}"], 1.0);
    assert_eq!(samples["strongroom_stored{kind=tokens}"], 1.0);
    // Only route patterns in route labels: no namespace or key names.
    for name in samples.keys().filter(|n| n.contains("route=")) {
        assert!(!name.contains("company") && !name.contains("DB_PASSWORD"), "{name}");
    }
}

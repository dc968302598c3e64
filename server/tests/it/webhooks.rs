//! Webhooks (issue 23 §4): a real HTTP receiver on loopback, the delivery
//! loop the server runs, signatures checked with Python's `hmac` (what a
//! receiver would use), a receiver that is down for a while, a restart of
//! the real binary in between, SSRF refusals — and never a value.

use crate::common::{binary, start, start_pair, strongroom, text, Server};
use app::domain::webhook::Cidr;
use axum::{extract::State, http::HeaderMap, routing::post, Router};
use std::{
    sync::{
        atomic::{AtomicU16, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

/// What a receiver was sent: headers and body, per attempt.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    /// The status it answers with (503 while "down").
    status: Arc<AtomicU16>,
}

impl Receiver {
    async fn start(status: u16) -> (Self, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        (Self::serve(listener, status), url)
    }

    fn serve(listener: tokio::net::TcpListener, status: u16) -> Self {
        let me = Self::default();
        me.status.store(status, Ordering::Relaxed);
        let app = Router::new()
            .route(
                "/hook",
                post(|State(me): State<Receiver>, headers: HeaderMap, body: String| async move {
                    me.got.lock().unwrap().push((headers, body));
                    let status = me.status.load(Ordering::Relaxed);
                    let mut answer = axum::http::Response::builder().status(status);
                    if status == 302 {
                        answer = answer.header("location", "http://127.0.0.1:9/elsewhere");
                    }
                    answer.body(axum::body::Body::empty()).unwrap()
                }),
            )
            .with_state(me.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        me
    }

    fn attempts(&self) -> Vec<(HeaderMap, String)> {
        self.got.lock().unwrap().clone()
    }

    /// Waits (up to 15 s) until `done` holds for what was received.
    async fn until(&self, what: &str, done: impl Fn(&[(HeaderMap, String)]) -> bool) -> Vec<(HeaderMap, String)> {
        for _ in 0..300 {
            let got = self.attempts();
            if done(&got) {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{what}: the receiver got {:?}", self.attempts().iter().map(|(_, b)| b).collect::<Vec<_>>());
    }
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// Checks `Strongroom-Signature` as a receiver would, with Python's hmac.
fn python_verifies(secret_hex: &str, signature: &str, body: &str) -> bool {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import hmac, sys\n\
             secret, header, body = bytes.fromhex(sys.argv[1]), sys.argv[2], sys.argv[3]\n\
             parts = [p.split('=', 1) for p in header.split(',')]\n\
             t = [v for k, v in parts if k == 't'][0]\n\
             want = hmac.new(secret, (t + '.' + body).encode(), 'sha256').hexdigest()\n\
             sys.exit(0 if any(hmac.compare_digest(v, want) for k, v in parts if k == 'v1') else 1)",
            secret_hex,
            signature,
            body,
        ])
        .output()
        .unwrap();
    out.status.success()
}

fn signed_at(signature: &str) -> i64 {
    signature.split(',').find_map(|p| p.strip_prefix("t=")).unwrap().parse().unwrap()
}

/// The signing secret shown once on the page a new webhook redirects to.
async fn add_on_the_page(s: &Server, form: &[(&str, &str)]) -> String {
    let admin = s.login("admin").await;
    let res = admin.post_page("webhooks/add", "/admin/webhooks", form).await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let page = res.headers()["location"].to_str().unwrap().to_owned();
    let (_, _, body) = admin.get(&page).await;
    let at = body.find("data-testid=\"new-webhook-secret\"").expect("the secret is shown");
    let value = &body[at..][body[at..].find("value=\"").unwrap() + 7..];
    let secret = value[..64].to_owned();
    assert!(secret.chars().all(|c| c.is_ascii_hexdigit()), "{secret}");
    let (_, _, again) = admin.get(&page).await;
    assert!(!again.contains(&secret), "shown twice");
    secret
}

fn deliver(s: &Server) {
    let allow = vec![Cidr::parse("127.0.0.1").unwrap()];
    strongroom::webhooks::start(s.state.clone(), strongroom::webhooks::Delivery { allow, first_retry_secs: 1 });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_reach_the_receiver_signed_names_only_and_retried_until_it_answers() {
    let s = start().await;
    let (receiver, url) = Receiver::start(503).await;
    let (chat, chat_url) = Receiver::start(200).await;
    // The test server allows no private range, so loopback is refused at once...
    let mut admin = s.login("admin").await;
    fn form(url: &str) -> [(&'static str, &str); 4] {
        [("name", "team"), ("url", url), ("events", ""), ("format", "json")]
    }
    let (status, body) = admin.call("webhooks/add", &form(&url)).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("STRONGROOM_WEBHOOK_ALLOW_CIDRS"), "{body}");
    for metadata in ["http://169.254.169.254/latest/meta-data", "http://[::ffff:169.254.169.254]/", "http://0.0.0.0/"] {
        let (status, body) = admin.call("webhooks/add", &form(metadata)).await;
        assert_eq!(status, 422, "{metadata}: {body}");
    }
    // ... so these are added by name (judged when resolved, by the delivering node, which allows it).
    let named = url.replace("127.0.0.1", "localhost");
    let events = "secret.added,secret.rotated,secret.overdue,required.missing";
    let form = [("name", "team"), ("url", named.as_str()), ("events", events), ("format", "json")];
    let secret = add_on_the_page(&s, &form).await;
    let chat_url = chat_url.replace("127.0.0.1", "localhost");
    let form = [("name", "chat"), ("url", chat_url.as_str()), ("events", "secret.rotated"), ("format", "slack")];
    add_on_the_page(&s, &form).await;

    s.secrets("company", &[("DB_PASSWORD", "webhook-canary-1")]).await;
    let rotate = [("namespace", "company"), ("key", "DB_PASSWORD"), ("value", "webhook-canary-2"), ("version", "1")];
    let (status, body) = admin.call("secrets/rotate", &rotate).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = admin
        .call(
            "secrets/rotation",
            &[("namespace", "company"), ("key", "DB_PASSWORD"), ("rotate_by", "2020-01-01"), ("every_days", "")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(s.cli(&["require", "company", "STRIPE_KEY"]).await.status.success());
    // Not wanted by either webhook: never sent.
    s.token("ci", "company", None).await;
    deliver(&s);

    // Down: every delivery is tried, and tried again.
    let tried = receiver.until("two attempts of each", |got| got.len() >= 8).await;
    let (status, log) = admin.call("webhooks/log", &[]).await;
    assert_eq!(status, 200);
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|d| d["state"] == "pending" && d["last_result"] == "answered 503 Service Unavailable"),
        "{log}"
    );
    receiver.status.store(200, Ordering::Relaxed);
    for _ in 0..300 {
        let (_, log) = admin.call("webhooks/log", &[]).await;
        let team = log.as_array().unwrap().iter().filter(|d| d["webhook"] == "team").cloned().collect::<Vec<_>>();
        if team.len() == 4 && team.iter().all(|d| d["state"] == "delivered") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = receiver.attempts();
    assert!(got.len() > tried.len());
    let mut events: Vec<String> = Vec::new();
    for (h, body) in &got {
        assert!(python_verifies(&secret, header(h, "strongroom-signature"), body), "{h:?} {body}");
        assert!(!body.contains("webhook-canary"), "a value in a webhook: {body}");
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["event"], header(h, "strongroom-event"));
        // The delivery id is signed with the body: a replay cannot pass as a new delivery.
        assert_eq!(json["delivery"], header(h, "strongroom-delivery"));
        events.push(format!(
            "{} {}/{} {}",
            json["event"].as_str().unwrap(),
            json["namespace"].as_str().unwrap(),
            json["key"].as_str().unwrap(),
            json["version"]
        ));
    }
    events.sort();
    events.dedup();
    assert_eq!(
        events,
        [
            "required.missing company/STRIPE_KEY null",
            "secret.added company/DB_PASSWORD 1",
            "secret.overdue company/DB_PASSWORD 2",
            "secret.rotated company/DB_PASSWORD 2",
        ]
    );
    // One delivery id per event, kept across its attempts, each signed afresh.
    let rotated: Vec<&(HeaderMap, String)> =
        got.iter().filter(|(h, _)| header(h, "strongroom-event") == "secret.rotated").collect();
    let id = header(&rotated[0].0, "strongroom-delivery");
    assert!(rotated.iter().all(|(h, _)| header(h, "strongroom-delivery") == id) && id.len() == 36, "{id}");
    let times: Vec<i64> = rotated.iter().map(|(h, _)| signed_at(header(h, "strongroom-signature"))).collect();
    assert!(times.windows(2).all(|w| w[1] > w[0]), "a fresh t on every attempt: {times:?}");
    assert!(python_verifies(&secret, header(&rotated[0].0, "strongroom-signature"), &rotated[0].1));
    assert!(!python_verifies(&"00".repeat(32), header(&rotated[0].0, "strongroom-signature"), &rotated[0].1));

    // The chat webhook got the rotation, as a message Slack shows.
    let chat = chat.until("the chat message", |got| !got.is_empty()).await;
    let message: serde_json::Value = serde_json::from_str(&chat[0].1).unwrap();
    assert_eq!(message["text"], "Strongroom *secret.rotated*: `company/DB_PASSWORD` version 2 by admin");
    assert_eq!(chat.len(), 1);

    // The reminders are once a day: another pass adds nothing.
    let rows = s.state.rows.clone();
    let again = s
        .state
        .db
        .call(move |c| {
            app::ssr::db::Transact::write(c, |tx| app::ssr::store::webhooks::remind(tx, &rows, app::ssr::clock::now()))
        })
        .await
        .unwrap();
    assert_eq!(again, 0);
    let (_, log) = admin.call("webhooks/log", &[]).await;
    assert!(log.as_array().unwrap().iter().all(|d| d["state"] == "delivered"), "{log}");
    let (_, list) = admin.call("webhooks/list", &[]).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    for (what, answer) in [("list", list), ("log", log)] {
        assert!(!answer.to_string().contains(&secret), "the {what} shows the signing secret");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_are_judged_after_resolution_and_redirects_are_not_followed() {
    let s = start().await;
    let (receiver, url) = Receiver::start(302).await;
    let name_url = url.replace("127.0.0.1", "localhost");
    let out = s.cli(&["webhook", "add", "redirected", &name_url, "--events", "secret.added"]).await;
    assert!(out.status.success(), "{}", text(&out));
    // The delivering node allows loopback; this one it will not.
    let (_, other) = Receiver::start(200).await;
    let private = other.replace("127.0.0.1", "localhost").replace("/hook", "/private");
    let out = s.cli(&["webhook", "add", "private", &private, "--events", "secret.added"]).await;
    assert!(out.status.success(), "{}", text(&out));
    s.secrets("company", &[("K", "redirect-canary")]).await;
    strongroom::webhooks::start(
        s.state.clone(),
        strongroom::webhooks::Delivery { allow: vec![Cidr::parse("127.0.0.1/32").unwrap()], first_retry_secs: 60 },
    );
    receiver.until("the redirecting answer", |got| !got.is_empty()).await;
    let mut admin = s.login("admin").await;
    for _ in 0..100 {
        let (_, log) = admin.call("webhooks/log", &[]).await;
        let log = log.to_string();
        if log.contains("redirects are not followed") && log.contains("/private")
            || log.matches("pending").count() == 2 && log.contains("302")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, log) = admin.call("webhooks/log", &[]).await;
    let by: std::collections::BTreeMap<&str, &str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["webhook"].as_str().unwrap(), d["last_result"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(by["redirected"], "answered 302 Found (redirects are not followed)", "{log}");
    assert_eq!(receiver.attempts().len(), 1, "tried once, then waits: not followed");
    // localhost resolves to loopback, which is allowed: its 404 is the receiver's own answer.
    assert!(by["private"].starts_with("answered 404"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivering_node_refuses_loopback_unless_allowed() {
    let s = start().await;
    let (receiver, url) = Receiver::start(200).await;
    let out =
        s.cli(&["webhook", "add", "local", &url.replace("127.0.0.1", "localhost"), "--events", "token.created"]).await;
    assert!(out.status.success(), "{}", text(&out));
    s.token("ci", "company", None).await;
    let out = s.cli(&["token", "create", "ci2", "--namespace", "company"]).await;
    assert!(out.status.success(), "{}", text(&out));
    strongroom::webhooks::start(
        s.state.clone(),
        strongroom::webhooks::Delivery { allow: vec![Cidr::parse("10.0.0.0/8").unwrap()], first_retry_secs: 60 },
    );
    let mut admin = s.login("admin").await;
    let mut log = serde_json::Value::Null;
    for _ in 0..100 {
        log = admin.call("webhooks/log", &[]).await.1;
        if log.to_string().contains("refused") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(log.to_string().contains("refused: 127.0.0.1 is a loopback or private address"), "{log}");
    assert!(receiver.attempts().is_empty());
}

/// The real binary: deliveries wait in the outbox while the receiver is
/// down and across a restart, and each event arrives (at least) once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_while_the_receiver_is_down_and_the_server_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let root = app::ssr::crypto::RootKey::generate().unwrap();
    binary::prepare(dir.path(), &root, 1).await;
    let key = root.to_base64().to_string();
    // A port with nothing on it yet: the receiver comes up there later.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://localhost:{}/hook", listener.local_addr().unwrap().port());
    drop(listener);
    let out = strongroom(&["webhook", "add", "ops", &url, "--events", "token.created,token.revoked"], dir.path(), &key);
    assert!(out.status.success(), "{}", text(&out));
    let env = [("STRONGROOM_WEBHOOK_ALLOW_CIDRS", "127.0.0.0/8,::1"), ("STRONGROOM_WEBHOOK_FIRST_RETRY_SECS", "1")];
    let (mut server, _) = binary::serve_with(dir.path(), &key, &env).await;
    for n in 0..3 {
        let out = strongroom(&["token", "create", &format!("t{n}"), "--namespace", "drill"], dir.path(), &key);
        assert!(out.status.success(), "{}", text(&out));
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // A clean stop gives the delivery lease back: the next start delivers at once.
    let stopped = std::process::Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
    assert!(stopped.success());
    let _ = server.wait();
    // While the server is stopped, more happens.
    let out = strongroom(&["token", "revoke", "t0"], dir.path(), &key);
    assert!(out.status.success(), "{}", text(&out));
    let port: u16 = url.rsplit(':').next().unwrap().trim_end_matches("/hook").parse().unwrap();
    let receiver = Receiver::serve(tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap(), 200);
    let (mut server, _) = binary::serve_with(dir.path(), &key, &env).await;
    let got = receiver.until("four events", |got| got.len() >= 4).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got_all = receiver.attempts();
    let _ = server.kill();
    let _ = server.wait();
    let mut ids: Vec<&str> = got_all.iter().map(|(h, _)| header(h, "strongroom-delivery")).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4, "each event once: {got:?}");
    let mut events: Vec<String> = got_all
        .iter()
        .map(|(_, b)| {
            let j: serde_json::Value = serde_json::from_str(b).unwrap();
            format!("{} {}", j["event"].as_str().unwrap(), j["token"].as_str().unwrap())
        })
        .collect();
    events.sort();
    events.dedup();
    assert_eq!(events, ["token.created t0", "token.created t1", "token.created t2", "token.revoked t0"]);
}

/// Two nodes on one database: each event is delivered by one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_deliver_each_event_once() {
    let (a, b) = if crate::common::on_postgres() {
        start_pair().await
    } else {
        // On SQLite, two delivery loops on one store stand in for two nodes.
        let a = start().await;
        let b = start().await;
        (a, b)
    };
    let nodes_share = crate::common::on_postgres();
    let (receiver, url) = Receiver::start(200).await;
    let out =
        a.cli(&["webhook", "add", "once", &url.replace("127.0.0.1", "localhost"), "--events", "secret.added"]).await;
    assert!(out.status.success(), "{}", text(&out));
    deliver(&a);
    deliver(if nodes_share { &b } else { &a });
    a.secrets("company", &[("ONE", "v1"), ("TWO", "v2"), ("THREE", "v3")]).await;
    receiver.until("three events", |got| got.len() >= 3).await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(receiver.attempts().len(), 3, "each event once");
}

/// A new signing secret (from the command line, then the page): the
/// previous one signs beside it for a day, so receivers can switch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_secret_signs_beside_the_new_one_for_a_day() {
    let s = start().await;
    let (receiver, url) = Receiver::start(200).await;
    let out =
        s.cli(&["webhook", "add", "rot", &url.replace("127.0.0.1", "localhost"), "--events", "secret.added"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let first = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let out = s.cli(&["webhook", "rotate-secret", "rot"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let second = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(second.len() == 64 && second != first);
    let admin = s.login("admin").await;
    let res = admin.post_page("webhooks/rotate_secret", "/admin/webhooks", &[("name", "rot")]).await;
    assert_eq!(res.status(), 303);
    let page = res.headers()["location"].to_str().unwrap().to_owned();
    let (_, _, body) = admin.get(&page).await;
    let at = body.find("data-testid=\"new-webhook-secret\"").expect("the new secret is shown");
    let value = &body[at..][body[at..].find("value=\"").unwrap() + 7..];
    let third = value[..64].to_owned();
    assert!(body.contains("the previous secret signs too until"), "{body}");

    s.secrets("company", &[("K", "rotation-canary")]).await;
    deliver(&s);
    let got = receiver.until("the delivery", |got| !got.is_empty()).await;
    let (signature, body) = (header(&got[0].0, "strongroom-signature"), &got[0].1);
    assert_eq!(signature.matches("v1=").count(), 2, "{signature}");
    assert!(python_verifies(&third, signature, body) && python_verifies(&second, signature, body));
    assert!(!python_verifies(&first, signature, body), "only the one before the newest still signs");
    let out = s.cli(&["webhook", "list"]).await;
    assert!(text(&out).contains("rot") && !text(&out).contains(&third));
}

/// Someone who can write to the database but lacks the root key cannot have
/// the server sign what they wrote: a delivery row put in the outbox is given
/// up, and a trail entry that does not chain is never turned into an event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_deliveries_and_forged_trail_entries_are_never_signed() {
    let s = start().await;
    let (receiver, url) = Receiver::start(200).await;
    let out = s.cli(&["webhook", "add", "target", &url.replace("127.0.0.1", "localhost"), "--events", "*"]).await;
    assert!(out.status.success(), "{}", text(&out));
    s.secrets("company", &[("REAL", "forgery-canary")]).await;
    deliver(&s);
    receiver.until("the real event", |got| !got.is_empty()).await;
    let mut admin = s.login("admin").await;
    // A delivery written straight into the outbox, and an entry appended without the chain key.
    s.sql(
        "INSERT INTO webhook_deliveries (webhook_id, delivery, event, cause, body, created_at, next_at, state)
         SELECT id, 'forged-delivery', 'secret.rotated', 'forged', '{\"event\":\"forged\"}', 0, 0, 'pending' FROM webhooks",
    );
    let next = s.number("SELECT max(id) + 1 FROM audit").await;
    let blob = if s.database_url.is_some() { "decode('00', 'hex')" } else { "x'00'" };
    s.sql(&format!(
        "INSERT INTO audit (id, at, actor, action, namespace, key, version, client, outcome, mac)
         VALUES ({next}, 1800000000, 'mallory', 'secret.rotate', 'company', 'REAL', 9, '-', 'ok', {blob})"
    ));
    let mut log = serde_json::Value::Null;
    for _ in 0..100 {
        log = admin.call("webhooks/log", &[]).await.1;
        if log.to_string().contains("changed without the root key") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let forged = log.as_array().unwrap().iter().find(|d| d["delivery"] == "forged-delivery").cloned().unwrap();
    assert_eq!((forged["state"].as_str(), forged["attempts"].as_i64()), (Some("failed"), Some(1)), "{log}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = receiver.attempts();
    assert_eq!(got.len(), 1, "only the real event: {:?}", got.iter().map(|(_, b)| b).collect::<Vec<_>>());
    assert!(!got[0].1.contains("mallory") && !got[0].1.contains("forged"));
}

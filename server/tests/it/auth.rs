//! Who may call what: an authorization matrix over every registered server
//! function, sign-in throttling and enumeration, cookies and session ends,
//! and cross-origin refusal.

use crate::common::{error_field, start, Client, Server, PASSWORD};
use app::domain::Role;
use std::{collections::BTreeMap, net::IpAddr};

/// What a server function demands of its caller.
#[derive(Clone, Copy, Debug)]
enum Needs {
    /// Anyone (signing in).
    Nobody,
    /// Any signed-in user; acts only on the caller's own data.
    Session,
    /// This role on the namespace named in the call.
    Role(Role),
    /// Admin of every namespace.
    FullAdmin,
    /// An auditor or admin grant anywhere (the audit trail, limited to it).
    TrailReader,
    /// An auditor or admin grant on the namespace named (not an editor's:
    /// what only those who may audit are told, like shared values).
    Auditing,
}

/// Every server function and what it needs. A function missing here fails the
/// matrix, so a new one cannot ship without a stated rule.
fn expectations() -> BTreeMap<&'static str, Needs> {
    use Needs::*;
    BTreeMap::from([
        ("/api/session/login", Nobody),
        ("/api/session/logout", Session),
        ("/api/session/me", Session),
        ("/api/session/password", Session),
        ("/api/session/changed", Session),
        ("/api/namespaces/list", Session),
        ("/api/namespaces/create", Role(app::domain::Role::Editor)),
        ("/api/namespaces/get", Role(app::domain::Role::Auditor)),
        ("/api/namespaces/describe", Role(app::domain::Role::Editor)),
        ("/api/namespaces/delete", Role(app::domain::Role::Admin)),
        ("/api/secrets/add", Role(app::domain::Role::Editor)),
        ("/api/secrets/rotate", Role(app::domain::Role::Editor)),
        ("/api/secrets/delete", Role(app::domain::Role::Editor)),
        ("/api/secrets/restore", Role(app::domain::Role::Editor)),
        ("/api/secrets/restore_version", Role(app::domain::Role::Editor)),
        ("/api/secrets/get", Role(app::domain::Role::Auditor)),
        ("/api/namespaces/required", Role(app::domain::Role::Auditor)),
        ("/api/namespaces/completeness", Role(app::domain::Role::Auditor)),
        ("/api/namespaces/require", Role(app::domain::Role::Editor)),
        ("/api/namespaces/unrequire", Role(app::domain::Role::Editor)),
        ("/api/secrets/rotation", Role(app::domain::Role::Editor)),
        ("/api/secrets/retention", Role(app::domain::Role::Admin)),
        ("/api/secrets/overdue", Session),
        ("/api/secrets/unused", Session),
        ("/api/secrets/readers", Role(app::domain::Role::Auditor)),
        ("/api/secrets/same_value", Auditing),
        ("/api/secrets/purge", Role(app::domain::Role::Admin)),
        ("/api/secrets/tags", Role(app::domain::Role::Editor)),
        ("/api/secrets/describe", Role(app::domain::Role::Editor)),
        ("/api/secrets/delete_preview", Role(app::domain::Role::Editor)),
        // While no account exists only; the setup link is its own credential.
        ("/api/session/first_run", Nobody),
        ("/api/setup/check", Nobody),
        ("/api/setup/admin", Nobody),
        ("/api/search", Session),
        ("/api/users/list", FullAdmin),
        ("/api/users/add", FullAdmin),
        ("/api/users/grant", FullAdmin),
        ("/api/users/revoke", FullAdmin),
        ("/api/users/disable", FullAdmin),
        ("/api/users/reset_password", FullAdmin),
        ("/api/users/end_sessions", FullAdmin),
        ("/api/audit/list", TrailReader),
        ("/api/audit/reader", TrailReader),
        ("/api/tokens/list", FullAdmin),
        ("/api/tokens/create", FullAdmin),
        ("/api/tokens/reveal", FullAdmin),
        ("/api/tokens/revoke", FullAdmin),
        ("/api/approles/list", FullAdmin),
        ("/api/approles/create", FullAdmin),
        ("/api/approles/secret_id", FullAdmin),
        ("/api/approles/reveal", FullAdmin),
        ("/api/approles/revoke_secret_id", FullAdmin),
        ("/api/approles/revoke", FullAdmin),
        ("/api/webhooks/list", FullAdmin),
        ("/api/webhooks/log", FullAdmin),
        ("/api/webhooks/add", FullAdmin),
        ("/api/webhooks/rotate_secret", FullAdmin),
        ("/api/webhooks/reveal", FullAdmin),
        ("/api/webhooks/remove", FullAdmin),
        ("/api/jwt_roles/list", FullAdmin),
        ("/api/jwt_roles/revoke", FullAdmin),
        ("/api/import/preview", Role(app::domain::Role::Editor)),
        ("/api/import/plan", Role(app::domain::Role::Editor)),
        ("/api/import/apply", Role(app::domain::Role::Editor)),
    ])
}

/// One form that satisfies every server function's arguments (each takes the
/// fields it knows), aimed at `ns`, so that only authorization can refuse it.
fn args(ns: &str) -> Vec<(&'static str, String)> {
    [
        ("namespace", ns),
        ("key", "K"),
        ("value", "matrix-value"),
        ("description", ""),
        ("version", "1"),
        ("keep", "5"),
        ("username", "target"),
        ("password", "a perfectly long password"),
        ("role", "auditor"),
        ("scope", "inside"),
        ("disabled", "false"),
        ("current", "not the current password"),
        ("new_password", "another perfectly long password"),
        ("rotate_by", ""),
        ("every_days", "30"),
        ("actor", ""),
        ("action", ""),
        ("from", ""),
        ("to", ""),
        ("name", "matrix-token"),
        ("expires", ""),
        ("content", "MATRIX_KEY=matrix-value"),
        ("format", ""),
        ("id", "no-such-import"),
        ("created", "no-such-token"),
        ("changed", "no-such-notice"),
        ("tags", "env=matrix"),
        ("q", "KEY"),
        ("confirm", "K"),
        ("token", "no-such-setup-link"),
        ("days", "30"),
        ("token_ttl", ""),
        ("secret_id_ttl", ""),
        ("accessor", "no-such-accessor"),
        ("issued", "no-such-secret-id"),
        ("reader", "token:matrix-token"),
        ("url", "https://hooks.example.com/matrix"),
        ("events", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

async fn call(client: &mut Client<'_>, path: &str, ns: &str) -> (u16, serde_json::Value) {
    let form = args(ns);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    client.call(path.trim_start_matches("/api/"), &form).await
}

/// A refusal by authorization, as opposed to any answer about the request itself.
fn refusal(status: u16, body: &serde_json::Value) -> Option<&'static str> {
    match (status, error_field(body).0.as_str()) {
        (401, "Unauthorized") => Some("unauthenticated"),
        (403, _) => Some("forbidden"),
        (404, _) if body.to_string().contains("Namespace not found") => Some("hidden"),
        _ => None,
    }
}

async fn setup() -> Server {
    let s = start().await;
    let mut admin = s.login("admin").await;
    for ns in ["inside", "outside"] {
        admin.call("namespaces/create", &[("namespace", ns), ("description", "")]).await;
        admin.call("secrets/add", &[("namespace", ns), ("key", "K"), ("value", "v"), ("description", "")]).await;
    }
    s.add_user("editor", Role::Editor, "inside").await;
    s.add_user("auditor", Role::Auditor, "inside").await;
    s.add_user("target", Role::Auditor, "inside").await;
    s
}

#[tokio::test]
async fn every_server_function_checks_its_caller() {
    let s = setup().await;
    // A second secret no cell touches: `namespaces/delete`, which admins may call,
    // is then refused as "not empty" whatever ran before it (a purge of `K`), and
    // the namespaces every later cell needs stay.
    let mut admin = s.login("admin").await;
    for ns in ["inside", "outside"] {
        let (status, _) =
            admin.call("secrets/add", &[("namespace", ns), ("key", "KEEP"), ("value", "v"), ("description", "")]).await;
        assert_eq!(status, 200);
    }
    let table = expectations();
    // In a fixed order, so that a failure can be replayed.
    let mut registered: Vec<String> =
        leptos::server_fn::axum::server_fn_paths().map(|(path, _)| path.to_owned()).collect();
    registered.sort();
    assert!(registered.len() >= table.len(), "server functions missing from the build: {registered:?}");
    let mut failures = Vec::new();
    // Each cell from an address of its own: a client's refused reads beyond ten
    // a minute are counted, not recorded one by one (hardening item 11).
    let mut ips = (0..).map(|n: u32| Some(IpAddr::from([127, 0, 2 + (n / 250) as u8, 1 + (n % 250) as u8])));
    for path in &registered {
        let Some(needs) = table.get(path.as_str()).copied() else {
            failures.push(format!("{path}: no expectation; add it to the matrix with the role it needs"));
            continue;
        };
        for who in ["anonymous", "auditor", "editor", "admin"] {
            for ns in ["inside", "outside"] {
                // Fresh sessions: logout and password changes must not leak into other cells.
                let ip = ips.next().unwrap();
                let mut client = if who == "anonymous" { s.client_from(ip) } else { s.login_from(who, ip).await };
                let entries = s.audit_count().await;
                let (status, body) = call(&mut client, path, ns).await;
                let got = refusal(status, &body);
                // Every refusal is in the audit trail, once.
                if got.is_some() {
                    let (new, outcome) = (s.audit_count().await - entries, s.last_outcome().await);
                    if new != 1 || !outcome.starts_with("refused") {
                        failures
                            .push(format!("{path} as {who} on {ns}: refused, but audited {new} time(s): {outcome}"));
                    }
                }
                let role = match who {
                    "admin" => Some(Role::Admin),
                    "editor" => Some(Role::Editor),
                    "auditor" => Some(Role::Auditor),
                    _ => None,
                };
                let want: Option<&str> = match (needs, role) {
                    (Needs::Nobody, _) => None,
                    (_, None) => Some("unauthenticated"),
                    (Needs::Session, Some(_)) => None,
                    (Needs::FullAdmin, Some(Role::Admin)) => None,
                    (Needs::FullAdmin, Some(_)) => Some("forbidden"),
                    (Needs::TrailReader, Some(Role::Editor)) => Some("forbidden"),
                    (Needs::TrailReader, Some(_)) => None,
                    (Needs::Auditing, Some(Role::Admin)) => None,
                    (Needs::Auditing, Some(_)) if ns == "outside" => Some("hidden"),
                    (Needs::Auditing, Some(Role::Editor)) => Some("forbidden"),
                    (Needs::Auditing, Some(_)) => None,
                    (Needs::Role(_), Some(Role::Admin)) => None,
                    (Needs::Role(_), Some(_)) if ns == "outside" => Some("hidden"),
                    (Needs::Role(need), Some(have)) if have >= need => None,
                    (Needs::Role(_), Some(_)) => Some("forbidden"),
                };
                if got != want {
                    failures.push(format!("{path} as {who} on {ns}: want {want:?}, got {got:?} ({status} {body})"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "authorization matrix:\n{}", failures.join("\n"));
}

#[tokio::test]
async fn out_of_scope_namespaces_are_not_listed() {
    let s = setup().await;
    let mut editor = s.login("editor").await;
    let (_, list) = editor.call("namespaces/list", &[]).await;
    let paths: Vec<&str> = list["namespaces"].as_array().unwrap().iter().map(|n| n["path"].as_str().unwrap()).collect();
    assert_eq!((paths, &list["total"]), (vec!["inside"], &serde_json::json!(1)));
    assert_eq!(editor.get("/ns/outside").await.0, 404);
}

fn loopback(n: u8) -> Option<IpAddr> {
    Some(IpAddr::from([127, 0, 0, n]))
}

async fn try_login(client: &mut Client<'_>, user: &str, password: &str) -> (u16, serde_json::Value) {
    client.call("session/login", &[("username", user), ("password", password)]).await
}

#[tokio::test]
async fn failed_sign_ins_lock_the_account_after_five_and_not_its_neighbours() {
    let s = setup().await;
    // Wrong passwords for `editor` from several addresses.
    for n in 0..5u8 {
        let mut client = s.client_from(loopback(10 + n));
        let (status, body) = try_login(&mut client, "editor", "wrong password number").await;
        assert_eq!((status, error_field(&body).0.as_str()), (401, "SignInFailed"));
    }
    // Locked now: even the right password is refused, with the same answer.
    let mut client = s.client_from(loopback(20));
    let (status, body) = try_login(&mut client, "editor", PASSWORD).await;
    assert_eq!((status, error_field(&body).0.as_str()), (401, "SignInFailed"));
    assert!(client.cookie.is_none());
    // Other accounts, from the same addresses, are unaffected.
    let mut client = s.client_from(loopback(10));
    assert_eq!(try_login(&mut client, "auditor", PASSWORD).await.0, 200);
}

#[tokio::test]
async fn an_address_that_guesses_many_names_is_locked_and_others_are_not() {
    let s = setup().await;
    let mut guesser = s.client_from(loopback(30));
    for n in 0..20 {
        try_login(&mut guesser, &format!("guess{n}"), "wrong password here").await;
    }
    assert_eq!(try_login(&mut guesser, "auditor", PASSWORD).await.0, 401);
    let mut other = s.client_from(loopback(31));
    assert_eq!(try_login(&mut other, "auditor", PASSWORD).await.0, 200);
}

#[tokio::test]
async fn unknown_users_wrong_passwords_disabled_and_locked_accounts_look_the_same() {
    let s = setup().await;
    let mut admin = s.login("admin").await;
    assert_eq!(admin.call("users/disable", &[("username", "target"), ("disabled", "true")]).await.0, 200);
    for n in 0..5 {
        try_login(&mut s.client_from(loopback(40 + n)), "editor", "wrong password here").await;
    }
    let mut answers = Vec::new();
    for (user, password) in
        [("nobody", PASSWORD), ("auditor", "wrong password here"), ("target", PASSWORD), ("editor", PASSWORD)]
    {
        let (status, body) = try_login(&mut s.client_from(loopback(50)), user, password).await;
        answers.push((status, body.to_string()));
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    assert_eq!(answers[0].0, 401);
}

#[tokio::test]
async fn the_session_cookie_is_http_only_strict_and_new_at_every_sign_in() {
    let s = setup().await;
    let res = s
        .anon()
        .http
        .post(format!("{}/api/session/login", s.base))
        .form(&[("username", "auditor"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("strongroom_session="), "{cookie}");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{attr} missing: {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http must not set Secure");
    let token = cookie.split(';').next().unwrap().trim_start_matches("strongroom_session=");
    assert_eq!(token.len(), 43, "256 bits in base64url");
    let again = s.login("auditor").await.cookie.unwrap();
    assert_ne!(again, format!("strongroom_session={token}"));
    // Only the hash is stored.
    for file in s.db_files() {
        let bytes = std::fs::read(file).unwrap();
        assert!(!bytes.windows(token.len()).any(|w| w == token.as_bytes()));
    }
}

#[tokio::test]
async fn sign_out_ends_the_session() {
    let s = setup().await;
    let mut auditor = s.login("auditor").await;
    let cookie = auditor.cookie.clone();
    assert_eq!(auditor.call("session/logout", &[]).await.0, 200);
    auditor.cookie = cookie;
    assert_eq!(auditor.call("session/me", &[]).await.0, 401);
    assert_eq!(auditor.get("/").await.0, 303);
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions_only() {
    let s = setup().await;
    let mut here = s.login("auditor").await;
    let mut elsewhere = s.login("auditor").await;
    let new = "a brand new long passphrase";
    let (status, body) = here.call("session/password", &[("current", "wrong"), ("new_password", new)]).await;
    assert_eq!((status, error_field(&body).1.as_deref()), (422, Some("current")));
    let (status, _) = here.call("session/password", &[("current", PASSWORD), ("new_password", "short")]).await;
    assert_eq!(status, 422);
    assert_eq!(here.call("session/password", &[("current", PASSWORD), ("new_password", new)]).await.0, 200);
    assert_eq!(here.call("session/me", &[]).await.0, 200);
    assert_eq!(elsewhere.call("session/me", &[]).await.0, 401);
    assert_eq!(try_login(&mut s.anon(), "auditor", new).await.0, 200);
}

#[tokio::test]
async fn sessions_end_after_idle_and_absolute_timeouts() {
    let s = setup().await;
    let mut idle = s.login("auditor").await;
    let mut old = s.login("editor").await;
    // 31 idle minutes for one, 13 hours since sign-in (but active) for the other.
    s.sql(
        "UPDATE sessions SET last_seen_at = last_seen_at - 31 * 60
           WHERE user_id = (SELECT id FROM users WHERE username = 'auditor');
         UPDATE sessions SET created_at = created_at - 13 * 3600
           WHERE user_id = (SELECT id FROM users WHERE username = 'editor');",
    );
    assert_eq!(idle.call("session/me", &[]).await.0, 401);
    assert_eq!(old.call("session/me", &[]).await.0, 401);
    assert_eq!(s.login("auditor").await.call("session/me", &[]).await.0, 200);
}

#[tokio::test]
async fn cross_origin_posts_are_refused_in_every_encoding() {
    let s = setup().await;
    let admin = s.login("admin").await;
    let cookie = admin.cookie.clone().unwrap();
    let url = format!("{}/api/namespaces/create", s.base);
    let http = reqwest::Client::new();
    let encodings: Vec<(&str, String)> = vec![
        ("application/x-www-form-urlencoded", "namespace=evil&description=".into()),
        (
            "multipart/form-data; boundary=X",
            "--X\r\nContent-Disposition: form-data; name=\"namespace\"\r\n\r\nevil\r\n--X--\r\n".into(),
        ),
        ("text/plain", "namespace=evil".into()),
        ("application/json", r#"{"namespace":"evil","description":""}"#.into()),
    ];
    for (content_type, body) in &encodings {
        for (header, value) in [("origin", "http://evil.example"), ("sec-fetch-site", "cross-site"), ("origin", "null")]
        {
            let before = s.audit_count().await;
            let res = http
                .post(&url)
                .header("cookie", &cookie)
                .header("content-type", *content_type)
                .header(header, value)
                .body(body.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(res.status().as_u16(), 403, "{content_type} with {header}: {value}");
            // Recorded once, with who sent it (the cookie was attached) and where to.
            let entry = s.last_entry().await;
            assert_eq!(s.audit_count().await, before + 1);
            let got = (entry.actor.as_str(), entry.action.as_str(), entry.key.as_str());
            assert_eq!(got, ("admin", "request", "/api/namespaces/create"));
            assert!(entry.outcome.starts_with("refused: cross-origin"), "{}", entry.outcome);
        }
    }
    let (_, list) = s.login("admin").await.call("namespaces/list", &[]).await;
    assert!(!list.to_string().contains("evil"), "a cross-origin post changed something");
    // The same-origin form post without JavaScript still works.
    let res = admin.post_page("namespaces/create", "/", &[("namespace", "fine"), ("description", "")]).await;
    assert_eq!(res.status().as_u16(), 303);
}

#[tokio::test]
async fn pages_need_a_session_and_carry_a_nonce_csp() {
    let s = setup().await;
    let (status, headers, _) = s.anon().get("/ns/inside").await;
    assert_eq!((status, headers["location"].to_str().unwrap()), (303, "/login?next=/ns/inside"));
    let (status, headers, html) = s.anon().get("/login").await;
    assert_eq!(status, 200);
    let csp = headers["content-security-policy"].to_str().unwrap();
    let nonce = csp.split("'nonce-").nth(1).and_then(|r| r.split('\'').next()).expect("a nonce");
    assert!(html.contains(&format!("nonce=\"{nonce}\"")), "the scripts do not carry the header's nonce");
    for part in ["'wasm-unsafe-eval'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"] {
        assert!(csp.contains(part), "{part} missing: {csp}");
    }
    let (_, again, _) = s.anon().get("/login").await;
    assert_ne!(again["content-security-policy"], headers["content-security-policy"], "nonce reused");
    assert_eq!(headers["cache-control"], "no-store");
}

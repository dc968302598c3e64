//! Single sign-on for people (`/auth/oidc/*`) against a real OpenID provider
//! on loopback (`oauth2-mock-server`: discovery, keys, the authorization code
//! flow with PKCE), the real `strongroom serve` configured by its environment.
//! The IdP is at `localhost`, Strongroom at `127.0.0.1`: different sites.
//! The claim variants and failures: groups to roles (and a group left, the
//! role gone), a user with no mapped group, a local name collision, a
//! replayed callback, another browser, wrong audience, issuer or nonce, an
//! expired token, Entra's groups overage, open redirects, the IdP down, and
//! password sign-in limited once SSO is set.

use crate::common::{
    binary::{free_port, prepare},
    idp::Issuer,
    PASSWORD,
};
use app::ssr::crypto::RootKey;
use serde_json::json;
use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

struct Node {
    child: Child,
    base: String,
    dir: tempfile::TempDir,
    root: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Node {
    fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.dir.path().join("strongroom.db")).unwrap()
    }

    fn texts(&self, sql: &str) -> Vec<String> {
        let db = self.db();
        let mut stmt = db.prepare(sql).unwrap();
        stmt.query_map([], |r| r.get::<_, String>(0)).unwrap().map(Result::unwrap).collect()
    }

    fn last_sign_in(&self) -> String {
        self.texts("SELECT actor || ' ' || outcome FROM audit WHERE action = 'sign-in' ORDER BY id DESC LIMIT 1")
            .pop()
            .unwrap_or_default()
    }
}

/// `strongroom serve` with an admin, SSO against `issuer` and `env` besides.
async fn serve(issuer: &str, env: &[(&str, &str)]) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let root = RootKey::generate().unwrap();
    prepare(dir.path(), &root, 0).await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut command = Command::new(env!("CARGO_BIN_EXE_strongroom"));
    command
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir.path())
        .env_remove("STRONGROOM_MASTER_KEY_FILE")
        .env("STRONGROOM_MASTER_KEY", &*root.to_base64())
        .env("STRONGROOM_PUBLIC_URL", &base)
        .env("STRONGROOM_OIDC_ISSUER", issuer)
        .env("STRONGROOM_OIDC_CLIENT_ID", "strongroom")
        .env("STRONGROOM_OIDC_CLIENT_SECRET", "client-secret")
        .env("STRONGROOM_OIDC_NAME", "Example IdP")
        .env("STRONGROOM_OIDC_ROLES", "platform=admin@*,pay-leads=auditor@company.payments")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        command.env(k, v);
    }
    // Dropped (killed and waited for) on every path, ready or not.
    let node = Node { child: command.spawn().unwrap(), base, dir, root: root.to_base64().to_string() };
    for _ in 0..400 {
        if reqwest::get(format!("{}/readyz", node.base)).await.is_ok_and(|r| r.status() == 200) {
            return node;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the server did not become ready");
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The `name=value` of cookie `name` a response sets.
fn set_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .find(|c| c.starts_with(&format!("{name}=")) && c.len() > name.len() + 1)
}

fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().unwrap().to_owned()
}

/// A sign-in's first two legs: Strongroom's redirect to the IdP (and the flow
/// cookie), and the IdP's redirect back (the callback URL).
async fn begin(node: &Node, next: &str) -> (String, String) {
    let res = http().get(format!("{}/auth/oidc/login?next={next}", node.base)).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let flow = set_cookie(&res, "strongroom_sso_flow").expect("a flow cookie (__Host- over https)");
    let to_idp = location(&res);
    assert!(to_idp.contains("code_challenge_method=S256") && to_idp.contains("nonce="), "{to_idp}");
    let res = http().get(&to_idp).send().await.unwrap();
    assert_eq!(res.status().as_u16() / 100, 3, "the IdP redirects back");
    (flow, location(&res))
}

/// The callback, with `cookie`: its status, body and the session cookie it set.
async fn finish(callback: &str, cookie: Option<&str>) -> (u16, String, Option<String>) {
    let mut req = http().get(callback);
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    let res = req.send().await.unwrap();
    let session = set_cookie(&res, "strongroom_session");
    (res.status().as_u16(), res.text().await.unwrap(), session)
}

async fn sign_in(node: &Node, next: &str) -> (u16, String, Option<String>) {
    let (flow, callback) = begin(node, next).await;
    finish(&callback, Some(&flow)).await
}

async fn page(node: &Node, path: &str, session: &str) -> (u16, String) {
    let res = http().get(format!("{}{path}", node.base)).header("cookie", session).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_give_roles_at_each_sign_in_and_refusals_are_audited() {
    let idp = Issuer::start(&["RS256"]);
    let node = serve(&idp.url, &[]).await;
    idp.id_claims(json!({ "sub": "u-1", "preferred_username": "Alice", "groups": ["platform", "other"] })).await;

    // Signed in through the IdP: a same-origin page that navigates on (the
    // Strict session cookie goes with that navigation), the account made.
    let (status, body, session) = sign_in(&node, "/admin/users").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("http-equiv=\"refresh\" content=\"0;url=/admin/users\""), "{body}");
    let session = session.expect("a session cookie");
    let (status, users) = page(&node, "/admin/users", &session).await;
    assert_eq!(status, 200);
    assert!(users.contains("alice"), "the account, named after preferred_username");
    assert!(node.last_sign_in().starts_with("alice ok: sso sub=u-1, account made, IdP grants [admin@*]"));
    let max_age = node.texts("SELECT CAST(max_age AS TEXT) FROM sessions WHERE max_age IS NOT NULL");
    assert_eq!(max_age, ["3600"], "an SSO session ends after STRONGROOM_OIDC_SESSION_MAX_MINUTES");

    // The same callback again, or one begun in another browser: refused.
    let (flow, callback) = begin(&node, "/").await;
    assert_eq!(finish(&callback, None).await.0, 403);
    assert_eq!(node.last_sign_in(), "(sso) refused: sso: the sign-in began in another browser");
    assert_eq!(finish(&callback, Some(&flow)).await.0, 403, "the flow was taken by the first try");
    assert_eq!(node.last_sign_in(), "(sso) refused: sso: unknown, expired or used state");

    // The group changes at the IdP: the role follows at the next sign-in; hand grants stay.
    idp.id_claims(json!({ "sub": "u-1", "preferred_username": "alice", "groups": ["pay-leads"] })).await;
    assert_eq!(sign_in(&node, "/").await.0, 200);
    let grants = node.texts(
        "SELECT g.role || '@' || g.namespace FROM grants g JOIN users u ON u.id = g.user_id WHERE u.username = 'alice'",
    );
    assert_eq!(grants, ["auditor@company.payments"]);
    idp.id_claims(json!({ "sub": "u-1", "preferred_username": "alice", "groups": ["nobody-maps-this"] })).await;
    let (status, body, session) = sign_in(&node, "/").await;
    assert_eq!((status, session), (403, None));
    assert!(body.contains("Your groups give you no role here"), "{body}");
    assert_eq!(node.last_sign_in(), "sso:u-1 refused: sso: the groups give no role here");

    // A new identity with no mapped group: nothing made. One named like a local account: refused.
    let users = || node.texts("SELECT username FROM users ORDER BY username");
    let before = users();
    idp.id_claims(json!({ "sub": "u-2", "preferred_username": "bob", "groups": ["other"] })).await;
    assert_eq!(sign_in(&node, "/").await.0, 403);
    idp.id_claims(json!({ "sub": "u-3", "preferred_username": "admin", "groups": ["platform"] })).await;
    let (status, body, _) = sign_in(&node, "/").await;
    assert!(status == 403 && body.contains("An account with your name already exists"), "{body}");
    assert!(node.last_sign_in().contains("the name admin belongs to another account"));
    assert_eq!(users(), before, "no account made, none taken over");
    // Only an admin links accounts, explicitly: then that identity signs in as the account.
    let mut link = Command::new(env!("CARGO_BIN_EXE_strongroom"));
    link.args(["user", "link-sso", "admin", "--issuer", &idp.url, "--subject", "u-3", "--data-dir"])
        .arg(node.dir.path());
    link.env("STRONGROOM_MASTER_KEY", &node.root).env_remove("STRONGROOM_MASTER_KEY_FILE");
    assert!(link.status().unwrap().success());
    let (status, body, _) = sign_in(&node, "/").await;
    assert_eq!(status, 200, "{body}");
    assert!(node.last_sign_in().starts_with("admin ok: sso sub=u-3, IdP grants [admin@*]"), "{}", node.last_sign_in());
    let by_hand = node.texts("SELECT count(*) || '' FROM idp_grants");
    assert_eq!(by_hand, ["0"], "admin's own grant stays a hand grant");

    // Claims the IdP should not have sent, or that were forged.
    let now = app::ssr::clock::now().0;
    let cases = [
        (json!({ "groups": null }), "refused: sso: the ID token has no groups claim"),
        (json!({ "aud": "another-client" }), "refused: sso: the ID token: Invalid audiences"),
        (json!({ "iss": "http://localhost:1" }), "refused: sso: the ID token: Invalid issuer"),
        (json!({ "nonce": "replayed" }), "refused: sso: the ID token: Invalid nonce"),
        (json!({ "exp": now - 600 }), "refused: sso: the ID token: Expired"),
        (json!({ "iat": now + 3600, "exp": now + 7200 }), "refused: sso: the ID token was issued in the future"),
        // Never cut short: two subjects cut alike would be one account.
        (json!({ "sub": "x".repeat(300) }), "is not 1 to 255 visible ASCII characters"),
        (
            json!({ "groups": null, "_claim_names": { "groups": "src1" } }),
            "refused: sso: the IdP sent a groups overage claim instead of the groups",
        ),
    ];
    for (patch, outcome) in cases {
        let mut claims = json!({ "sub": "u-4", "preferred_username": "carol", "groups": ["platform"] });
        claims.as_object_mut().unwrap().extend(patch.as_object().unwrap().clone());
        idp.id_claims(claims).await;
        let (status, body, session) = sign_in(&node, "/").await;
        assert_eq!((status, session.is_some()), (403, false), "{outcome}: {body}");
        let last = node.last_sign_in();
        assert!(last.contains(outcome), "{last} should contain {outcome}");
    }
    assert!(!users().contains(&"carol".to_owned()));

    // `next` is a path of this server, never another site.
    idp.id_claims(json!({ "sub": "u-1", "preferred_username": "alice", "groups": ["platform"] })).await;
    for next in ["https://evil.example/x", "//evil.example", "/\\evil.example", "/auth/oidc/login?next=/"] {
        let (status, body, _) = sign_in(&node, &app::components::encode_query_value(next)).await;
        assert!(status == 200 && body.contains("content=\"0;url=/\""), "{next}: {body}");
    }

    // Sign-out ends the session here and sends the browser to the IdP's end-session endpoint.
    let (_, _, session) = sign_in(&node, "/").await;
    let session = session.unwrap();
    let res = http()
        .post(format!("{}/auth/oidc/logout", node.base))
        .header("cookie", &session)
        .header("origin", &node.base)
        .send()
        .await
        .unwrap();
    // A page of ours that navigates on (a 303 to another origin after a form post would be
    // blocked by the CSP's form-action 'self').
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    let to = format!("content=\"0;url={}/endsession?", idp.url);
    assert!(body.contains(&to) && body.contains("client_id=strongroom"), "{body}");
    assert_eq!(page(&node, "/admin/users", &session).await.0, 303, "the session is over");
    // Nothing secret in the trail: no code, no token.
    let trail = node.texts("SELECT actor || outcome || key || client FROM audit").concat();
    assert!(!trail.contains("eyJ") && !trail.contains("code="), "{trail}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_idp_gives_a_plain_page_and_password_sign_in_can_be_limited() {
    let unreachable = format!("http://localhost:{}", free_port());
    let node = serve(&unreachable, &[("STRONGROOM_PASSWORD_SIGNIN", "admins")]).await;
    let res = http().get(format!("{}/auth/oidc/login?next=/", node.base)).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert!(res.text().await.unwrap().contains("The identity provider cannot be reached"));
    // One client cannot begin sign-ins without end (each holds a flow for ten minutes).
    let mut statuses = Vec::new();
    for _ in 0..60 {
        statuses.push(http().get(format!("{}/auth/oidc/login", node.base)).send().await.unwrap().status().as_u16());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 1, "60 free, then a wait: {statuses:?}");
    // Anyone can call the callback: refusals before any ID token get ten entries a minute, the rest counted.
    for i in 0..30 {
        let res = http().get(format!("{}/auth/oidc/callback?error=e{i}", node.base)).send().await.unwrap();
        assert_eq!(res.status(), 403);
    }
    let recorded = node.texts("SELECT outcome FROM audit WHERE outcome LIKE 'refused: sso: the IdP answered%'");
    assert_eq!(recorded.len(), 10, "{recorded:?}");

    // The login page offers SSO.
    let res = http().get(format!("{}/login", node.base)).send().await.unwrap();
    let body = res.text().await.unwrap();
    assert!(body.contains("Sign in with Example IdP") && body.contains("href=\"/auth/oidc/login?next=/\""), "{body}");

    // Password sign-in is for admins only: an editor with the right password is told to use SSO.
    let mut add = Command::new(env!("CARGO_BIN_EXE_strongroom"));
    add.args(["user", "add", "ed", "--role", "editor", "--data-dir"]).arg(node.dir.path());
    add.env("STRONGROOM_MASTER_KEY", &node.root).env_remove("STRONGROOM_MASTER_KEY_FILE");
    let mut child = add.stdin(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), format!("{PASSWORD}\n").as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
    let sign_in = |name: &'static str| {
        let base = node.base.clone();
        async move {
            http()
                .post(format!("{base}/api/session/login"))
                .header("origin", &base)
                .form(&[("username", name), ("password", PASSWORD)])
                .send()
                .await
                .unwrap()
        }
    };
    let res = sign_in("ed").await;
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("Password sign-in is for admins only: sign in with single sign-on."));
    assert_eq!(node.last_sign_in(), "ed refused: password sign-in is for admins");
    // A local admin is the break-glass account: while SSO is on, only with a one-time code
    // (`one_time_codes_guard_password_sign_ins_and_are_required_of_admins_under_sso`).
    let res = sign_in("admin").await;
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("needs a one-time code"));
}

/// A one-time code (TOTP) as a local account's second factor: set up with
/// `strongroom user totp`, then required at sign-in, each code once, wrong
/// ones throttled; while SSO is on an admin without one is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_time_codes_guard_password_sign_ins_and_are_required_of_admins_under_sso() {
    use app::ssr::auth::totp;
    let idp = Issuer::start(&["RS256"]);
    let node = serve(&idp.url, &[]).await;
    let sign_in = |name: &'static str, code: String| {
        let base = node.base.clone();
        async move {
            let res = http()
                .post(format!("{base}/api/session/login"))
                .header("origin", &base)
                .form(&[("username", name), ("password", PASSWORD), ("code", code.as_str())])
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            (status, res.text().await.unwrap())
        }
    };
    // SSO is on: the admin has no second factor yet, so even the right password is refused.
    let (status, body) = sign_in("admin", String::new()).await;
    assert!(status == 409 && body.contains("needs a one-time code"), "{status} {body}");
    assert_eq!(node.last_sign_in(), "admin refused: an admin without a second factor while SSO is on");

    let mut set_up = Command::new(env!("CARGO_BIN_EXE_strongroom"));
    set_up.args(["user", "totp", "admin", "--data-dir"]).arg(node.dir.path());
    set_up.env("STRONGROOM_MASTER_KEY", &node.root).env_remove("STRONGROOM_MASTER_KEY_FILE");
    let out = set_up.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    let uri = printed.lines().find_map(|l| l.strip_prefix("uri    ")).unwrap().to_owned();
    assert!(uri.starts_with("otpauth://totp/Strongroom:admin?secret="), "{uri}");
    let secret_b32 = printed.lines().find_map(|l| l.strip_prefix("secret ")).unwrap().to_owned();
    let secret = base32_decode(&secret_b32);
    // Not in the database file in clear (it is sealed).
    let file = std::fs::read(node.dir.path().join("strongroom.db")).unwrap();
    assert!(!file.windows(secret.len()).any(|w| w == secret.as_slice()));

    let now = app::ssr::clock::now().0;
    let code = format!("{:06}", totp::code(&secret, now / totp::STEP));
    assert_eq!(sign_in("admin", String::new()).await.0, 401, "no code");
    assert_eq!(sign_in("admin", "000000".into()).await.0, 401, "a wrong code");
    assert_eq!(node.last_sign_in(), "admin refused: wrong or missing one-time code");
    let (status, body) = sign_in("admin", code.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(sign_in("admin", code).await.0, 401, "a code works once");
    // Wrong codes are throttled per account (after the right password): five, then a wait.
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(sign_in("admin", "111111".into()).await.0);
    }
    assert_eq!(node.last_sign_in(), "admin refused: locked after wrong one-time codes", "{statuses:?}");
}

fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut count, mut out) = (0u64, 0, Vec::new());
    for c in text.chars() {
        bits = (bits << 5) | ALPHABET.find(c).unwrap() as u64;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

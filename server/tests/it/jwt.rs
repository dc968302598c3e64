//! JWT logins (`POST /v1/auth/jwt/login`) against a real OpenID issuer on
//! loopback: `oauth2-mock-server` (npm, installed by `scripts/setup.sh`)
//! publishes the discovery document and the keys and signs the tokens
//! (`end2end/idp/jwt-issuer.mjs`). The clients that exist log in with them:
//! hvac's `auth.jwt.jwt_login`, OpenBao Agent's `jwt` auto-auth, and
//! `strongroom get | run` with `STRONGROOM_JWT_FILE`. Then the attacks: other
//! audiences, issuers and claims, expired and far-future tokens, `alg: none`,
//! HS256 under the issuer's `kid`, made-up `kid`s (the keys are fetched at
//! most once a minute), a forged signature, a role row changed in the database.

use crate::common::{idp::Issuer, pyenv, run, start, text, Server};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use serde_json::{json, Value};
use std::process::Command;

/// What a GitHub Actions job on `main` of org/app (repository 42) holds.
fn github(aud: &str) -> Value {
    json!({
        "aud": aud, "sub": "repo:org/app:ref:refs/heads/main", "repository": "org/app",
        "repository_id": "42", "ref": "refs/heads/main",
    })
}

/// A server with secrets, and role `gh` for repository 42's main and dev branches.
async fn setup(issuer: &Issuer) -> Server {
    let s = start().await;
    s.secrets("company", &[("SHARED", "from the parent")]).await;
    s.secrets("company.team", &[("DB_PASSWORD", "team password")]).await;
    s.secrets("company.other", &[("OTHER", "not for the team")]).await;
    let args = [
        "jwt-role",
        "create",
        "gh",
        "--issuer",
        &issuer.url,
        "--audience",
        "strongroom",
        "--bound-claims",
        "repository_id=42,ref=refs/heads/main|refs/heads/dev",
        "--namespace",
        "company.team",
        "--token-ttl",
        "10m",
    ];
    let out = s.cli(&args).await;
    assert!(out.status.success(), "{}", text(&out));
    s
}

async fn login(s: &Server, role: &str, jwt: &str) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(format!("{}/v1/auth/jwt/login", s.base))
        .json(&json!({ "role": role, "jwt": jwt }))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

const HVAC: &str = r#"
import hvac, json, os
c = hvac.Client(url=os.environ["URL"])
login = c.auth.jwt.jwt_login(role="gh", jwt=os.environ["JWT"])
out = {"ttl": login["auth"]["lease_duration"], "role": login["auth"]["metadata"]["role"]}
out["data"] = c.secrets.kv.v2.read_secret_version(path="company/team", mount_point="secret", raise_on_deleted_version=True)["data"]["data"]
try:
    c.secrets.kv.v2.read_secret_version(path="company/other", mount_point="secret", raise_on_deleted_version=True)
    out["other"] = "read"
except hvac.exceptions.Forbidden:
    out["other"] = "forbidden"
print(json.dumps(out))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hvac_the_openbao_agent_and_run_log_in_with_a_signed_token() {
    let issuer = Issuer::start(&["RS256", "ES256"]);
    let s = setup(&issuer).await;
    let jwt = issuer.mint(github("strongroom"), 300, json!({}), None).await;

    let mut hvac = Command::new(pyenv().join("python"));
    hvac.args(["-c", HVAC]).env("URL", &s.base).env("JWT", &jwt);
    let out = run(hvac).await;
    assert!(out.status.success(), "{}", text(&out));
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["role"], "gh");
    assert!((599..=600).contains(&got["ttl"].as_i64().unwrap()), "the role's TTL: {got}");
    assert_eq!(got["data"], json!({ "DB_PASSWORD": "team password", "SHARED": "from the parent" }));
    assert_eq!(got["other"], "forbidden");

    // OpenBao Agent's `jwt` auto-auth, rendering a template, then exiting.
    let dir = tempfile::tempdir().unwrap();
    let (jwt_file, out_file) = (dir.path().join("jwt"), dir.path().join("rendered"));
    // Signed with the issuer's second key (ES256): found by its kid.
    let kids = issuer.stats().await["kids"].clone();
    let es256 = issuer.mint(github("strongroom"), 300, json!({}), kids[1].as_str()).await;
    std::fs::write(&jwt_file, &es256).unwrap();
    let config = format!(
        r#"
vault {{ address = "{base}" }}
auto_auth {{
  method "jwt" {{
    config = {{
      path = "{jwt}"
      role = "gh"
      remove_jwt_after_reading = false
    }}
  }}
}}
template {{
  contents = "{{{{ with secret \"secret/data/company/team\" }}}}{{{{ .Data.data.DB_PASSWORD }}}}|{{{{ .Data.data.SHARED }}}}{{{{ end }}}}"
  destination = "{out}"
}}
exit_after_auth = true
"#,
        base = s.base,
        jwt = jwt_file.display(),
        out = out_file.display()
    );
    let config_file = dir.path().join("agent.hcl");
    std::fs::write(&config_file, config).unwrap();
    let mut agent = Command::new("timeout");
    agent.arg("60").arg(pyenv().join("bao")).arg("agent").arg(format!("-config={}", config_file.display()));
    agent.env("HOME", dir.path()).env_remove("BAO_TOKEN").env_remove("VAULT_TOKEN");
    let out = run(agent).await;
    assert!(out.status.success(), "bao agent: {}", text(&out));
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), "team password|from the parent");

    // `strongroom get | run` log in by themselves; the command gets neither the JWT nor the token.
    let workload = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_strongroom"));
        c.args(args).env("STRONGROOM_SERVER", &s.base).env("RUST_LOG", "warn");
        c.env("STRONGROOM_JWT_ROLE", "gh").env("STRONGROOM_JWT_FILE", &jwt_file);
        c.env_remove("STRONGROOM_TOKEN").env_remove("STRONGROOM_TOKEN_FILE").env_remove("STRONGROOM_ROLE_ID");
        c
    };
    let out = run(workload(&["get", "company.team", "DB_PASSWORD"])).await;
    assert_eq!(String::from_utf8_lossy(&out.stdout), "team password", "{}", text(&out));
    let show = r#"printf '%s|' "$DB_PASSWORD"; env | grep -c -e JWT -e '=sr_' -e '=eyJ' || true"#;
    let out = run(workload(&["run", "company.team", "--", "sh", "-c", show])).await;
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "team password|0", "{}", text(&out));
    std::fs::write(&jwt_file, issuer.mint(github("someone-else"), 300, json!({}), None).await).unwrap();
    let out = run(workload(&["run", "company.team", "--", "sh", "-c", "echo ran"])).await;
    assert!(!out.status.success() && !String::from_utf8_lossy(&out.stdout).contains("ran"));
    assert!(text(&out).contains("the JWT login was refused: invalid role or JWT"), "{}", text(&out));

    // Logins are audited with the token's subject; reads as the role; nothing listed one by one.
    let logins = s.texts("SELECT actor || ' ' || outcome FROM audit WHERE action = 'jwt.login' ORDER BY id").await;
    let sub = "jwt:gh sub=repo:org/app:ref:refs/heads/main";
    // hvac, the agent, get, run; then run with a token for another audience.
    assert_eq!(logins[..4], [format!("{sub} ok"), format!("{sub} ok"), format!("{sub} ok"), format!("{sub} ok")]);
    assert_eq!(logins[4], "jwt:gh refused: the token is for another audience");
    let readers = s.texts("SELECT DISTINCT actor FROM audit WHERE action = 'secret.read'").await;
    assert_eq!(readers, ["jwt:gh"]);
    let listed = s.state.db.read(|c| app::ssr::store::tokens::list(c, app::ssr::clock::now())).await.unwrap();
    assert!(listed.is_empty(), "login tokens are counted per role: {listed:?}");
    let out = s.cli(&["jwt-role", "list"]).await;
    let line = String::from_utf8_lossy(&out.stdout).lines().find(|l| l.starts_with("gh ")).unwrap().to_owned();
    assert!(line.contains(" 4 active") && line.contains("repository_id=42"), "{line}");
    // Neither a JWT nor a login's token is kept in clear, nor in the trail.
    let files: Vec<Vec<u8>> = s.db_files().iter().map(|f| std::fs::read(f).unwrap_or_default()).collect();
    for needle in [jwt.as_str(), es256.as_str()] {
        assert!(!files.iter().any(|f| f.windows(40).any(|w| w == &needle.as_bytes()[needle.len() - 40..])));
    }
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_foreign_and_loose_tokens_are_refused_alike() {
    let issuer = Issuer::start(&["RS256"]);
    let s = setup(&issuer).await;
    let now = app::ssr::clock::now().0;
    let good = issuer.mint(github("strongroom"), 300, json!({}), None).await;
    assert_eq!(login(&s, "gh", &good).await.0, 200);
    let kid = issuer.stats().await["kids"][0].as_str().unwrap().to_owned();

    let with = |patch: Value| {
        let mut claims = github("strongroom");
        claims.as_object_mut().unwrap().extend(patch.as_object().unwrap().clone());
        claims
    };
    // Another issuer on this machine, its key and a header pointing at it.
    let other = Issuer::start(&["RS256"]);
    let (_, payload, _) = split(&good);
    let mut forged_claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    forged_claims["repository_id"] = json!("43");
    let (header, _, signature) = split(&good);
    let hs256 = jsonwebtoken::encode(
        &jsonwebtoken::Header { kid: Some(kid.clone()), ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256) },
        &with(json!({ "iss": issuer.url, "exp": now + 300 })),
        &jsonwebtoken::EncodingKey::from_secret(b"the issuer's public key, as a secret").unwrap(),
    )
    .unwrap();
    let cases: Vec<(String, &str)> = vec![
        (
            issuer.mint(with(json!({ "aud": "another-app" })), 300, json!({}), None).await,
            "refused: the token is for another audience",
        ),
        (
            issuer.mint(with(json!({ "repository_id": "43" })), 300, json!({}), None).await,
            "refused: bound claim repository_id does not match",
        ),
        (issuer.mint(with(json!({ "ref": null })), 300, json!({}), None).await, "refused: the token has no ref claim"),
        // Exactly: a number that prints like the bound value is not it.
        (
            issuer.mint(with(json!({ "repository_id": 42 })), 300, json!({}), None).await,
            "refused: bound claim repository_id is not a string",
        ),
        (
            issuer.mint(with(json!({ "iss": [issuer.url, "http://evil.example"] })), 300, json!({}), None).await,
            "refused: the token's iss is not the issuer, as one string",
        ),
        (
            issuer.mint(with(json!({ "iat": now + 3600 })), 300, json!({}), None).await,
            "refused: the token was issued in the future (iat)",
        ),
        (
            issuer.mint(with(json!({ "ref": ["refs/heads/main"] })), 300, json!({}), None).await,
            "refused: bound claim ref is not a string",
        ),
        (issuer.mint(with(json!({})), -120, json!({}), None).await, "refused: the token has expired"),
        (
            issuer.mint(with(json!({ "nbf": now + 3600 })), 7200, json!({}), None).await,
            "refused: the token is not good yet (nbf)",
        ),
        (
            issuer.mint(with(json!({})), 3 * 86_400, json!({}), None).await,
            "refused: the token is good for more than a day",
        ),
        (
            issuer.mint(with(json!({ "exp": "99999999999" })), 300, json!({}), None).await,
            "refused: the token has no exp",
        ),
        (issuer.mint(with(json!({ "exp": null })), 300, json!({}), None).await, "refused: the token has no exp"),
        // Signed by another issuer's key, claiming to be this one, naming its own key in the header.
        (
            other
                .mint(with(json!({ "iss": issuer.url })), 300, json!({ "jku": format!("{}/jwks", other.url) }), None)
                .await,
            "refused: no key of the issuer has the token's kid",
        ),
        (other.mint(with(json!({})), 300, json!({}), None).await, "refused: no key of the issuer has the token's kid"),
        (
            format!(
                "{}.{}.",
                b64(&json!({ "alg": "none", "kid": kid })),
                b64(&with(json!({ "iss": issuer.url, "exp": now + 300 })))
            ),
            "refused: the token is not a JWT",
        ),
        (hs256, "refused: the token's algorithm HS256 is not a public-key one"),
        (format!("{header}.{}.{signature}", b64(&forged_claims)), "refused: the token's signature does not hold"),
        ("not a token".to_owned(), "refused: the token is not a JWT"),
    ];
    for (jwt, outcome) in &cases {
        let (status, body) = login(&s, "gh", jwt).await;
        assert_eq!((status, &body), (400, &json!({ "errors": ["invalid role or JWT"] })), "{outcome}");
        assert_eq!(s.last_outcome().await, *outcome);
    }
    // An unknown role or a role name that is no name: the same answer, nothing fetched.
    for role in ["nobody", "../x"] {
        assert_eq!(login(&s, role, &good).await, (400, json!({ "errors": ["invalid role or JWT"] })));
        assert_eq!(s.last_outcome().await, "refused: no role with that name");
    }

    // Made-up kids make no fetch: the keys were fetched once, at the first login.
    for i in 0..20 {
        let header = b64(&json!({ "alg": "RS256", "typ": "JWT", "kid": format!("made-up-{i}") }));
        let (_, payload, signature) = split(&good);
        assert_eq!(login(&s, "gh", &format!("{header}.{payload}.{signature}")).await.0, 400);
    }
    assert_eq!(issuer.stats().await["jwks"], 1, "the issuer's keys are fetched at most once a minute");

    // The role's row widened in the database: refused. Then revoked: refused, live logins ended.
    s.sql("UPDATE jwt_roles SET namespace = '*'");
    assert_eq!(login(&s, "gh", &good).await.0, 400);
    assert_eq!(s.last_outcome().await, "refused: the role's row was changed without the root key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_must_bind_a_claim_and_revoking_ends_their_logins() {
    let issuer = Issuer::start(&["RS256"]);
    let s = setup(&issuer).await;
    let refused = |args: &'static [&'static str], says: &'static str| {
        let s = &s;
        async move {
            let out = s.cli(args).await;
            assert!(!out.status.success() && text(&out).contains(says), "{args:?}: {}", text(&out));
        }
    };
    refused(
        &[
            "jwt-role",
            "create",
            "xx",
            "--issuer",
            "https://gitlab.com",
            "--audience",
            "a",
            "--namespace",
            "company",
            "--bound-claims",
            " ",
        ],
        "bind at least one claim",
    )
    .await;
    refused(
        &[
            "jwt-role",
            "create",
            "xx",
            "--issuer",
            "http://gitlab.example.com",
            "--audience",
            "a",
            "--namespace",
            "company",
            "--bound-claims",
            "sub=x",
        ],
        "https",
    )
    .await;
    refused(
        &[
            "jwt-role",
            "create",
            "xx",
            "--issuer",
            "https://gitlab.com",
            "--audience",
            "a",
            "--namespace",
            "company",
            "--bound-claims",
            "aud=a",
        ],
        "cannot be bound",
    )
    .await;
    refused(&["token", "create", "jwt.gh.x", "--namespace", "company"], "jwt.").await;

    let jwt = issuer.mint(github("strongroom"), 300, json!({}), None).await;
    let (status, body) = login(&s, "gh", &jwt).await;
    assert_eq!(status, 200, "{body}");
    let token = body["auth"]["client_token"].as_str().unwrap().to_owned();
    let read = |token: String| {
        let base = s.base.clone();
        async move {
            let res = reqwest::Client::new()
                .get(format!("{base}/v1/secret/data/company/team"))
                .header("X-Vault-Token", token)
                .send()
                .await
                .unwrap();
            res.status().as_u16()
        }
    };
    assert_eq!(read(token.clone()).await, 200);
    let out = s.cli(&["jwt-role", "revoke", "gh"]).await;
    assert!(text(&out).contains("1 live login token"), "{}", text(&out));
    assert_eq!(read(token).await, 403);
    assert_eq!(login(&s, "gh", &jwt).await.0, 400);
    assert_eq!(s.last_outcome().await, "refused: the role is revoked");
    let changes = s.texts("SELECT action || ' ' || key FROM audit WHERE action LIKE 'jwt-role.%' ORDER BY id").await;
    assert_eq!(changes, ["jwt-role.create gh", "jwt-role.revoke gh"]);
}

fn split(jwt: &str) -> (String, String, String) {
    let mut parts = jwt.split('.').map(str::to_owned);
    (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap())
}

/// `/admin/tokens` lists JWT roles (never a token) with their live logins,
/// and revokes one; an auditor cannot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_see_and_revoke_jwt_roles_on_the_tokens_page() {
    let issuer = Issuer::start(&["RS256"]);
    let s = setup(&issuer).await;
    let jwt = issuer.mint(github("strongroom"), 300, json!({}), None).await;
    let (_, body) = login(&s, "gh", &jwt).await;
    let token = body["auth"]["client_token"].as_str().unwrap().to_owned();
    let admin = s.login("admin").await;
    let (status, _, page) = admin.get("/admin/tokens").await;
    assert_eq!(status, 200);
    assert!(page.contains("JWT roles") && page.contains("ref=refs/heads/main|refs/heads/dev, repository_id=42"));
    assert!(!page.contains(&token) && !page.contains("eyJ"), "no token, no JWT on the page");
    s.add_user("lead", app::domain::Role::Auditor, "company").await;
    let (status, _) = s.login("lead").await.call("jwt_roles/revoke", &[("name", "gh")]).await;
    assert_eq!(status, 403);
    let res = admin.post_page("jwt_roles/revoke", "/admin/tokens", &[("name", "gh")]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(login(&s, "gh", &jwt).await.0, 400);
    assert_eq!(s.last_outcome().await, "refused: the role is revoked");
    let revoked = s
        .texts("SELECT actor || ' ' || substr(outcome, 1, 7) || ' ' || key FROM audit WHERE action = 'jwt-role.revoke'")
        .await;
    assert_eq!(revoked, ["lead refused gh", "admin ok gh"], "the refusal is audited too");
}

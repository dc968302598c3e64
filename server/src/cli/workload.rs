//! `strongroom get | export | run`: a workload's side, against a running
//! server with a token. The token comes from `--token-file` /
//! `STRONGROOM_TOKEN_FILE` (it then stays out of shell history and `ps`) or
//! `STRONGROOM_TOKEN` / `--token`. HTTPS servers work (rustls, the system's
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
    /// A PEM file of CA certificates to trust besides the system's (a private CA).
    #[arg(long, env = "STRONGROOM_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// Send the token over plain http to a server that is not on this machine.
    #[arg(long, env = "STRONGROOM_ALLOW_HTTP")]
    pub allow_http: bool,
}

/// Whether `base` (`http://host[:port]…`) names this machine.
fn is_loopback(base: &str) -> bool {
    let rest = base.trim_start_matches("http://");
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn fail(message: impl Into<String>) -> RunError {
    RunError::User(message.into())
}

impl Remote {
    fn token(&self) -> Result<Zeroizing<String>, RunError> {
        match (&self.token, &self.token_file) {
            (Some(_), Some(_)) => Err(fail("give the token once: --token/STRONGROOM_TOKEN or --token-file")),
            (Some(token), None) => Ok(Zeroizing::new(token.trim().to_owned())),
            (None, Some(path)) => {
                let text = Zeroizing::new(
                    std::fs::read_to_string(path)
                        .map_err(|e| fail(format!("cannot read the token file {}: {e}", path.display())))?,
                );
                Ok(Zeroizing::new(text.trim().to_owned()))
            }
            (None, None) => Err(fail("no token: set STRONGROOM_TOKEN_FILE or STRONGROOM_TOKEN (or --token-file)")),
        }
    }

    fn client(&self) -> Result<reqwest::Client, RunError> {
        let mut builder = reqwest::Client::builder().use_rustls_tls().timeout(std::time::Duration::from_secs(30));
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
        let base = self.server.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(fail(format!("--server {base:?} must start with http:// or https://")));
        }
        if base.starts_with("http://") && !is_loopback(base) && !self.allow_http {
            return Err(fail(format!(
                "refusing to send the token in clear to {base}: use https://, or --allow-http \
                 (STRONGROOM_ALLOW_HTTP=true) on a network you trust"
            )));
        }
        let token = self.token()?;
        let res = self
            .client()?
            .get(format!("{base}{path}"))
            .bearer_auth(token.as_str())
            .send()
            .await
            .map_err(|e| fail(format!("cannot reach {base}: {}", without_url(&e))))?;
        let status = res.status();
        let body = Zeroizing::new(res.bytes().await.map_err(|e| fail(format!("reading the answer: {e}")))?.to_vec());
        if status.is_success() {
            return Ok(body);
        }
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
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

pub async fn export(remote: &Remote, ns: &str, format: &str) -> Result<(), RunError> {
    let format: Format = format.parse().map_err(|e: app::ssr::formats::FormatError| fail(e.to_string()))?;
    let body = remote.fetch(&format!("/v1/namespaces/{}/export?format={}", namespace(ns)?, format.as_str())).await?;
    write_out(&body)
}

fn write_out(bytes: &[u8]) -> Result<(), RunError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(bytes).and_then(|()| out.flush()).map_err(|e| fail(format!("writing to standard output: {e}")))
}

/// Variables that make a program (or its shell or loader) run other code, or
/// find another program: a secret of that name would let anyone who may edit
/// a parent namespace run code wherever `run` is used. Refused unless named
/// with `--allow-env`.
fn dangerous(name: &str) -> bool {
    const EXACT: &[&str] =
        &["PATH", "BASH_ENV", "ENV", "IFS", "PS4", "SHELLOPTS", "NODE_OPTIONS", "PERL5OPT", "RUBYOPT", "GCONV_PATH"];
    const PREFIXES: &[&str] = &["LD_", "DYLD_", "PYTHON"];
    EXACT.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Replaces this process with `command`, its environment plus every secret
/// `ns` sees: signals reach the command directly, and its exit status is ours.
/// The command does not inherit this process's token.
pub async fn run(remote: &Remote, ns: &str, allow: &[String], command: Vec<OsString>) -> Result<(), RunError> {
    use std::os::unix::process::CommandExt;
    let body = remote.fetch(&format!("/v1/namespaces/{}/export?format=json", namespace(ns)?)).await?;
    let secrets: std::collections::BTreeMap<String, Zeroizing<String>> =
        serde_json::from_slice(&body).map_err(|_| fail("the server's answer is not an export"))?;
    for (key, value) in &secrets {
        if dangerous(key) && !allow.contains(key) {
            return Err(fail(format!(
                "refusing to set {key} for the command: it can make programs run other code; \
                 pass --allow-env {key} if that is intended"
            )));
        }
        if value.contains('\0') {
            return Err(fail(format!("{key} holds a NUL byte, which an environment variable cannot carry")));
        }
    }
    let (program, args) = command.split_first().ok_or_else(|| fail("no command given after --"))?;
    let mut child = std::process::Command::new(program);
    child.args(args).env_remove("STRONGROOM_TOKEN").env_remove("STRONGROOM_TOKEN_FILE");
    for (key, value) in &secrets {
        child.env(key, value.as_str());
    }
    // exec only returns on failure.
    let error = child.exec();
    Err(fail(format!("cannot run {}: {error}", program.to_string_lossy())))
}

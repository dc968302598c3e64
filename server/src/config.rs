//! Configuration: flags over environment variables (see `.env.example`),
//! validated before anything starts, with messages that say what to fix.

use app::ssr::crypto::RootKey;
use clap::Args;
use std::{
    fs,
    io::Write,
    net::SocketAddr,
    path::{Path, PathBuf},
};

/// Options of `strongroom serve`.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "STRONGROOM_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: String,
    /// Directory for the database (and the trial root key when none is configured).
    #[arg(long, env = "STRONGROOM_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Serve the browser assets (`pkg/`, favicon) from this directory instead of the
    /// copies built into the binary (for development).
    #[arg(long, env = "STRONGROOM_SITE_ROOT")]
    pub site_root: Option<PathBuf>,
    /// File holding the base64 root key. `STRONGROOM_MASTER_KEY` may hold the key itself.
    #[arg(long, env = "STRONGROOM_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// The URL people use, e.g. https://secrets.example.com (behind a TLS proxy):
    /// https makes the session cookie `Secure`; mutating requests must come from it.
    #[arg(long, env = "STRONGROOM_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Minutes without a request before a session ends.
    #[arg(long, env = "STRONGROOM_SESSION_IDLE_MINUTES", default_value_t = 30)]
    pub session_idle_minutes: u64,
    /// Hours after sign-in when a session ends however active.
    #[arg(long, env = "STRONGROOM_SESSION_MAX_HOURS", default_value_t = 12)]
    pub session_max_hours: u64,
    /// argon2id memory cost in KiB (at least 19456); raising it rehashes at next sign-in.
    #[arg(long, env = "STRONGROOM_ARGON2_M_KIB", default_value_t = 19456)]
    pub argon2_m_kib: u32,
    /// argon2id passes (at least 2).
    #[arg(long, env = "STRONGROOM_ARGON2_T", default_value_t = 2)]
    pub argon2_t: u32,
    /// Connections open at once; more are closed at once.
    #[arg(long, env = "STRONGROOM_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers (an idle or half-sent request is closed).
    #[arg(long, env = "STRONGROOM_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,
    /// Connections open at once from one client (an IPv4 address, an IPv6 /64); the
    /// trusted proxies are exempt (behind a proxy every connection is the proxy's).
    #[arg(long, env = "STRONGROOM_MAX_CONNECTIONS_PER_CLIENT", default_value_t = 64)]
    pub max_connections_per_client: usize,
    /// Seconds a client has to send a request's body after its headers (a slow body is answered 408).
    #[arg(long, env = "STRONGROOM_REQUEST_TIMEOUT_SECS", default_value_t = 60)]
    pub request_timeout_secs: u64,
    /// Seconds a keep-alive connection may sit idle before it is closed: keep it longer than
    /// the upstream keep-alive of the proxy in front (nginx 60 s, most load balancers 60 s),
    /// or the proxy may send a request just as the connection closes and answer 502.
    #[arg(long, env = "STRONGROOM_KEEPALIVE_IDLE_SECS", default_value_t = 75)]
    pub keepalive_idle_secs: u64,
    /// Reverse proxies whose X-Forwarded-For names the client (comma-separated
    /// CIDRs or addresses, e.g. 127.0.0.1,10.0.0.0/8). Empty: the header is ignored.
    #[arg(long, env = "STRONGROOM_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
    /// Versions of each secret kept with their value (1 to 1000) unless a secret sets its
    /// own; older values are destroyed, their history kept.
    #[arg(long, env = "STRONGROOM_KEEP_VERSIONS", default_value_t = app::ssr::store::RETAINED_VERSIONS,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(app::domain::view::Retention::MAX)))]
    pub keep_versions: u32,
    /// Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9187); never on
    /// the public address. Unset: no metrics endpoint.
    #[arg(long, env = "STRONGROOM_METRICS_ADDR")]
    pub metrics_addr: Option<String>,
    /// Days without a workload read after which a secret counts as unused (the
    /// `unused` filter, the home page).
    #[arg(long, env = "STRONGROOM_UNUSED_DAYS", default_value_t = app::ssr::state::DEFAULT_UNUSED_DAYS,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub unused_days: u32,
    /// Archive audit entries older than this many days to DATA_DIR/audit-archive/
    /// and remove them from the live trail, about once a day (one node does it).
    /// Unset: the trail keeps everything.
    #[arg(long, env = "STRONGROOM_AUDIT_KEEP_DAYS", value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub audit_keep_days: Option<u32>,
    /// Loopback and private ranges webhooks may be delivered to, separated by commas
    /// (e.g. 10.0.0.0/8,127.0.0.1). Link-local (cloud metadata) and 0.0.0.0 never are.
    #[arg(long, env = "STRONGROOM_WEBHOOK_ALLOW_CIDRS", default_value = "")]
    pub webhook_allow_cidrs: String,
    /// Seconds before a failed webhook delivery is tried again; the wait doubles each
    /// time, up to an hour, for 24 attempts.
    #[arg(long, env = "STRONGROOM_WEBHOOK_FIRST_RETRY_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub webhook_first_retry_secs: u32,
    /// Also send every audit entry as RFC 5424 syslog: udp://HOST:PORT (best effort),
    /// tcp://HOST:PORT, tls://HOST:PORT or unix:PATH.
    #[arg(long, env = "STRONGROOM_AUDIT_SYSLOG")]
    pub audit_syslog: Option<String>,
    /// CA certificate (PEM) a tls:// syslog receiver's certificate must chain to,
    /// instead of the system's.
    #[arg(long, env = "STRONGROOM_AUDIT_SYSLOG_CA")]
    pub audit_syslog_ca: Option<PathBuf>,
    /// Also append every audit entry to this file as JSON Lines (0600; reopened on SIGHUP,
    /// for logrotate).
    #[arg(long, env = "STRONGROOM_AUDIT_FILE")]
    pub audit_file: Option<PathBuf>,
    #[command(flatten)]
    pub sso: crate::sso::config::SsoArgs,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("STRONGROOM_ADDR / --addr {0:?} is not an address: use IP:PORT, e.g. 127.0.0.1:3000")]
    BadAddr(String),
    #[error("STRONGROOM_PUBLIC_URL / --public-url {0:?} must look like https://host[:port] (no path)")]
    BadPublicUrl(String),
    #[error("STRONGROOM_SESSION_IDLE_MINUTES and STRONGROOM_SESSION_MAX_HOURS must be at least 1")]
    BadSessionLimits,
    #[error("single sign-on: {0}")]
    Sso(String),
    #[error(
        "STRONGROOM_MAX_CONNECTIONS, STRONGROOM_MAX_CONNECTIONS_PER_CLIENT, STRONGROOM_HEADER_TIMEOUT_SECS, \
         STRONGROOM_REQUEST_TIMEOUT_SECS and STRONGROOM_KEEPALIVE_IDLE_SECS must be at least 1"
    )]
    BadLimits,
    #[error(
        "STRONGROOM_METRICS_ADDR / --metrics-addr {0:?} is not an address: use IP:PORT, e.g. 127.0.0.1:9187, \
         or leave it unset for no metrics endpoint"
    )]
    BadMetricsAddr(String),
    #[error("STRONGROOM_TRUSTED_PROXIES / --trusted-proxies: {0:?} is not an address or a CIDR such as 10.0.0.0/8")]
    BadProxies(String),
    #[error("STRONGROOM_WEBHOOK_ALLOW_CIDRS: {0}")]
    BadWebhookAllow(String),
    #[error("{0}")]
    BadAuditStream(String),
    #[error("set only one of STRONGROOM_MASTER_KEY and STRONGROOM_MASTER_KEY_FILE")]
    TwoKeys,
    #[error("STRONGROOM_MASTER_KEY is not a root key: {0}")]
    BadKeyEnv(app::ssr::crypto::CryptoError),
    #[error("the root key file {0} is not a root key: {1}")]
    BadKeyFile(PathBuf, app::ssr::crypto::CryptoError),
    #[error("cannot read the root key file {0}: {1}")]
    ReadKeyFile(PathBuf, std::io::Error),
    #[error("cannot create the data directory {0}: {1}")]
    DataDir(PathBuf, std::io::Error),
    #[error("cannot write the trial root key {0}: {1}")]
    WriteKeyFile(PathBuf, std::io::Error),
    #[error("STRONGROOM_DATABASE_URL / --database-url: {0}")]
    BadDatabaseUrl(app::ssr::db::url::UrlError),
    #[error(
        "with STRONGROOM_DATABASE_URL every node must hold the same root key: set STRONGROOM_MASTER_KEY_FILE \
         (or STRONGROOM_MASTER_KEY); the trial key in the data directory is refused"
    )]
    TrialKeyWithDatabase,
}

/// Where the store is: a PostgreSQL database, else the data directory's SQLite file.
#[derive(clap::Args, Clone, Default)]
pub struct StoreArgs {
    /// PostgreSQL instead of the data directory's SQLite file, as a libpq URL:
    /// postgres://strongroom@db1,db2/strongroom?target_session_attrs=read-write
    #[arg(long, env = "STRONGROOM_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// File holding the database password, when the URL has none (else PGPASSFILE).
    #[arg(long, env = "STRONGROOM_DATABASE_PASSWORD_FILE")]
    pub database_password_file: Option<PathBuf>,
}

/// Never shows the URL: it may hold a password.
impl std::fmt::Debug for StoreArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreArgs")
            .field("database_url", &self.database_url.as_ref().map(|_| ".."))
            .field("database_password_file", &self.database_password_file)
            .finish()
    }
}

impl StoreArgs {
    /// The store: PostgreSQL when a URL is set (its password from the URL,
    /// the password file, or `PGPASSFILE`), else `strongroom.db` in `data_dir`.
    pub fn source(&self, data_dir: &Path) -> Result<app::ssr::db::Source, ConfigError> {
        use app::ssr::db::{url::PgUrl, Source};
        match self.database_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            None => Ok(Source::File(data_dir.join("strongroom.db"))),
            Some(url) => {
                let pgpass = std::env::var_os("PGPASSFILE").map(PathBuf::from);
                let env = |name| std::env::var(name).ok();
                let (mode, root) = (env("PGSSLMODE"), env("PGSSLROOTCERT"));
                let url = app::ssr::db::url::with_tls_env(url, mode.as_deref(), root.as_deref())
                    .map_err(ConfigError::BadDatabaseUrl)?;
                let url = PgUrl::parse(&url, self.database_password_file.as_deref(), pgpass.as_deref())
                    .map_err(ConfigError::BadDatabaseUrl)?;
                Ok(Source::Postgres(url))
            }
        }
    }

    /// Refuses the trial key with a shared database: each node would make its own.
    pub fn check_key(&self, origin: &KeyOrigin) -> Result<(), ConfigError> {
        match (origin, &self.database_url) {
            (KeyOrigin::Trial { .. }, Some(url)) if !url.trim().is_empty() => Err(ConfigError::TrialKeyWithDatabase),
            _ => Ok(()),
        }
    }
}

/// Where the root key came from.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyOrigin {
    Env,
    File,
    /// Generated into the data directory: for trying Strongroom out only.
    Trial {
        created: bool,
    },
}

impl ServeArgs {
    /// Connection limits for the listener.
    pub fn limits(&self) -> Result<crate::listen::Limits, ConfigError> {
        let secs = std::time::Duration::from_secs;
        let counts = [self.max_connections, self.max_connections_per_client];
        let times = [self.header_timeout_secs, self.request_timeout_secs, self.keepalive_idle_secs];
        if counts.contains(&0) || times.contains(&0) {
            return Err(ConfigError::BadLimits);
        }
        Ok(crate::listen::Limits {
            max_connections: self.max_connections,
            per_client: self.max_connections_per_client.min(self.max_connections),
            header_timeout: secs(self.header_timeout_secs),
            request_timeout: secs(self.request_timeout_secs),
            keepalive_idle: secs(self.keepalive_idle_secs),
            exempt: self.trusted_proxies()?,
        })
    }

    pub fn trusted_proxies(&self) -> Result<crate::layers::client::TrustedProxies, ConfigError> {
        crate::layers::client::TrustedProxies::parse(&self.trusted_proxies).map_err(ConfigError::BadProxies)
    }

    pub fn socket_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.addr.parse().map_err(|_| ConfigError::BadAddr(self.addr.clone()))
    }

    pub fn metrics_socket_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        self.metrics_addr.as_ref().map(|a| a.parse().map_err(|_| ConfigError::BadMetricsAddr(a.clone()))).transpose()
    }

    /// The public origin (`scheme://host[:port]`), if configured.
    pub fn public_origin(&self) -> Result<Option<String>, ConfigError> {
        let Some(url) = &self.public_url else { return Ok(None) };
        let bad = || ConfigError::BadPublicUrl(url.clone());
        let trimmed = url.trim_end_matches('/');
        let rest = trimmed.strip_prefix("https://").or_else(|| trimmed.strip_prefix("http://")).ok_or_else(bad)?;
        if rest.is_empty() || rest.contains(['/', '?', '#', ' ']) {
            return Err(bad());
        }
        Ok(Some(trimmed.to_ascii_lowercase()))
    }

    /// Sign-in and session settings for `AppState`.
    pub fn auth_settings(&self) -> Result<app::ssr::state::AuthSettings, ConfigError> {
        if self.session_idle_minutes == 0 || self.session_max_hours == 0 {
            return Err(ConfigError::BadSessionLimits);
        }
        let secure = self.public_origin()?.is_some_and(|o| o.starts_with("https://"));
        let sso =
            self.sso()?.map(|c| app::ssr::state::SsoPolicy { name: c.name, password_sign_in: c.password_sign_in });
        Ok(app::ssr::state::AuthSettings {
            argon2_m_kib: self.argon2_m_kib,
            argon2_t: self.argon2_t,
            session_idle: std::time::Duration::from_secs(self.session_idle_minutes * 60),
            session_absolute: std::time::Duration::from_secs(self.session_max_hours * 3600),
            secure_cookies: secure,
            sso,
            unused_days: self.unused_days,
            webhook_allow: self.webhook_allow()?,
            ..Default::default()
        })
    }

    /// `STRONGROOM_WEBHOOK_ALLOW_CIDRS`, parsed.
    pub fn webhook_allow(&self) -> Result<Vec<app::domain::webhook::Cidr>, ConfigError> {
        app::domain::webhook::Cidr::parse_list(&self.webhook_allow_cidrs).map_err(ConfigError::BadWebhookAllow)
    }

    /// The audit streams configured (`STRONGROOM_AUDIT_SYSLOG`, `STRONGROOM_AUDIT_FILE`).
    /// Inside the runtime: the file's stream listens for SIGHUP.
    pub fn audit_streams(&self) -> Result<Vec<crate::audit_stream::Sink>, ConfigError> {
        use crate::audit_stream::Sink;
        let mut sinks = Vec::new();
        if let Some(spec) = self.audit_syslog.as_deref().filter(|s| !s.is_empty()) {
            sinks.push(Sink::syslog(spec, self.audit_syslog_ca.as_deref()).map_err(ConfigError::BadAuditStream)?);
        }
        if let Some(path) = &self.audit_file {
            let sink = Sink::file(path.clone());
            sinks.push(sink.map_err(|e| ConfigError::BadAuditStream(format!("STRONGROOM_AUDIT_FILE: {e}")))?);
        }
        Ok(sinks)
    }

    /// Single sign-on's settings, checked; `None` when no issuer is set.
    pub fn sso(&self) -> Result<Option<crate::sso::config::SsoConfig>, ConfigError> {
        self.sso.config(self.public_origin()?).map_err(ConfigError::Sso)
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("strongroom.db")
    }

    /// Creates the data directory (owner-only) if missing.
    pub fn ensure_data_dir(&self) -> Result<(), ConfigError> {
        ensure_dir(&self.data_dir)
    }

    /// The root key from `STRONGROOM_MASTER_KEY`, the key file, or the trial key
    /// file in the data directory (created on first use, mode 0600).
    /// With a database URL, the trial key is refused.
    pub fn root_key(&self, env_key: Option<String>) -> Result<(RootKey, KeyOrigin), ConfigError> {
        let (key, origin) = root_key(&self.data_dir, self.master_key_file.as_deref(), env_key)?;
        self.store.check_key(&origin)?;
        Ok((key, origin))
    }

    /// The store this server serves.
    pub fn source(&self) -> Result<app::ssr::db::Source, ConfigError> {
        self.store.source(&self.data_dir)
    }
}

/// Refuses to run as root on a data directory someone else owns (the
/// package's `strongroom` user): the database, its WAL and any file made
/// there would become root's, and the server could no longer open them.
pub fn refuse_root_in_others_dir(data_dir: &Path) -> Result<(), String> {
    if !rustix::process::geteuid().is_root() {
        return Ok(());
    }
    let Ok(stat) = rustix::fs::stat(data_dir) else { return Ok(()) };
    if stat.st_uid == 0 {
        return Ok(());
    }
    let owner = user_name(stat.st_uid).unwrap_or_else(|| stat.st_uid.to_string());
    Err(format!(
        "{} belongs to {owner}, and this runs as root: files it made there would be root's. Run it as {owner}, \
         e.g. `sudo -u {owner} strongroom user add …`",
        data_dir.display()
    ))
}

/// The name of user `uid`, from `/etc/passwd`.
fn user_name(uid: u32) -> Option<String> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let (name, _, id) = (fields.next()?, fields.next()?, fields.next()?);
        (id.parse::<u32>().ok()? == uid).then(|| name.to_owned())
    })
}

pub fn read_key_file(path: &Path) -> Result<RootKey, ConfigError> {
    let text = zeroize::Zeroizing::new(fs::read_to_string(path).map_err(|e| ConfigError::ReadKeyFile(path.into(), e))?);
    RootKey::from_base64(&text).map_err(|e| ConfigError::BadKeyFile(path.into(), e))
}

fn write_new_key_file(path: &Path, key: &RootKey) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(key.to_base64().as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

use std::os::unix::fs::DirBuilderExt;

#[cfg(test)]
mod tests {
    use super::*;

    fn args(dir: &Path) -> ServeArgs {
        ServeArgs {
            addr: "127.0.0.1:0".into(),
            data_dir: dir.to_owned(),
            store: StoreArgs::default(),
            site_root: None,
            master_key_file: None,
            public_url: None,
            session_idle_minutes: 30,
            session_max_hours: 12,
            argon2_m_kib: 19456,
            argon2_t: 2,
            max_connections: 1024,
            header_timeout_secs: 10,
            max_connections_per_client: 64,
            request_timeout_secs: 60,
            keepalive_idle_secs: 75,
            sso: Default::default(),
            trusted_proxies: String::new(),
            keep_versions: 10,
            metrics_addr: None,
            unused_days: 90,
            audit_keep_days: None,
            webhook_allow_cidrs: String::new(),
            webhook_first_retry_secs: 10,
            audit_syslog: None,
            audit_syslog_ca: None,
            audit_file: None,
        }
    }

    #[test]
    fn a_bad_metrics_address_names_its_own_variable() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = args(dir.path());
        a.metrics_addr = Some(String::new());
        let message = a.metrics_socket_addr().unwrap_err().to_string();
        assert!(message.starts_with("STRONGROOM_METRICS_ADDR"), "{message}");
    }

    #[test]
    fn any_ip_and_port_is_accepted_and_a_host_name_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = args(dir.path());
        for ok in ["127.0.0.1:3000", "[::1]:3000", "0.0.0.0:3000", "[::]:80"] {
            a.addr = ok.into();
            assert!(a.socket_addr().is_ok(), "{ok}");
        }
        a.addr = "localhost".into();
        assert!(matches!(a.socket_addr(), Err(ConfigError::BadAddr(_))));
    }

    #[test]
    fn an_https_public_url_makes_cookies_secure() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = args(dir.path());
        assert!(!a.auth_settings().unwrap().secure_cookies);
        a.public_url = Some("https://Secrets.example.com/".into());
        assert_eq!(a.public_origin().unwrap().as_deref(), Some("https://secrets.example.com"));
        assert!(a.auth_settings().unwrap().secure_cookies);
        for bad in ["secrets.example.com", "https://x/path", "ftp://x"] {
            a.public_url = Some(bad.into());
            assert!(matches!(a.public_origin(), Err(ConfigError::BadPublicUrl(_))), "{bad}");
        }
    }

    #[test]
    fn the_trial_key_is_created_once_with_mode_0600_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let a = args(dir.path());
        let (first, origin) = a.root_key(None).unwrap();
        assert_eq!(origin, KeyOrigin::Trial { created: true });
        let mode = fs::metadata(dir.path().join("master.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let (again, origin) = a.root_key(None).unwrap();
        assert_eq!(origin, KeyOrigin::Trial { created: false });
        assert_eq!(first.to_base64(), again.to_base64());
    }

    #[test]
    fn a_key_in_the_environment_wins_and_a_bad_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = args(dir.path());
        let key = RootKey::generate().unwrap().to_base64().to_string();
        assert_eq!(a.root_key(Some(key)).unwrap().1, KeyOrigin::Env);
        assert!(matches!(a.root_key(Some("short".into())), Err(ConfigError::BadKeyEnv(_))));
        assert!(!dir.path().join("master.key").exists());
    }

    #[test]
    fn two_key_sources_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = args(dir.path());
        a.master_key_file = Some(dir.path().join("k"));
        assert!(matches!(a.root_key(Some("x".into())), Err(ConfigError::TwoKeys)));
    }
}

/// Where the root key comes from, for commands other than `serve`.
#[derive(clap::Args, Debug, Clone)]
pub struct KeyArgs {
    /// Directory holding strongroom.db.
    #[arg(long, env = "STRONGROOM_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// File holding the base64 root key. `STRONGROOM_MASTER_KEY` may hold the key itself.
    #[arg(long, env = "STRONGROOM_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Creates a data directory (owner-only) if missing.
pub fn ensure_dir(dir: &Path) -> Result<(), ConfigError> {
    let err = |e| ConfigError::DataDir(dir.to_owned(), e);
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(err)
}

impl KeyArgs {
    /// The root key (see [`root_key`]), creating the data directory if missing.
    /// With a database URL, the trial key is refused.
    pub fn root_key(&self) -> Result<(RootKey, KeyOrigin), ConfigError> {
        ensure_dir(&self.data_dir)?;
        let (key, origin) =
            root_key(&self.data_dir, self.master_key_file.as_deref(), std::env::var("STRONGROOM_MASTER_KEY").ok())?;
        self.store.check_key(&origin)?;
        Ok((key, origin))
    }

    /// The store these commands open.
    pub fn source(&self) -> Result<app::ssr::db::Source, ConfigError> {
        self.store.source(&self.data_dir)
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("strongroom.db")
    }
}

/// The root key from `env_key`, the key file, or the trial key file in
/// `data_dir` (created on first use, mode 0600).
pub fn root_key(
    data_dir: &Path,
    key_file: Option<&Path>,
    env_key: Option<String>,
) -> Result<(RootKey, KeyOrigin), ConfigError> {
    match (env_key, key_file) {
        (Some(_), Some(_)) => Err(ConfigError::TwoKeys),
        (Some(text), None) => Ok((RootKey::from_base64(&text).map_err(ConfigError::BadKeyEnv)?, KeyOrigin::Env)),
        (None, Some(path)) => Ok((read_key_file(path)?, KeyOrigin::File)),
        (None, None) => {
            let path = data_dir.join("master.key");
            if path.exists() {
                return Ok((read_key_file(&path)?, KeyOrigin::Trial { created: false }));
            }
            let key = RootKey::generate().map_err(|e| ConfigError::BadKeyFile(path.clone(), e))?;
            write_new_key_file(&path, &key).map_err(|e| ConfigError::WriteKeyFile(path.clone(), e))?;
            Ok((key, KeyOrigin::Trial { created: true }))
        }
    }
}

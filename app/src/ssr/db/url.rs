//! Where the store lives: the SQLite file in the data directory (the embedded
//! default), or PostgreSQL at a libpq-style URL (`STRONGROOM_DATABASE_URL`),
//! several hosts included, so that a node finds the new primary after a
//! failover by itself (`target_session_attrs=read-write`).
//!
//! The password comes from the URL, else a file (`STRONGROOM_DATABASE_PASSWORD_FILE`),
//! else a libpq password file (`PGPASSFILE`, `host:port:database:user:password`
//! lines, `*` matching anything). It is never shown: `Display` and `Debug`
//! print the URL without it.
//!
//! TLS: `sslmode=verify-full` (or `require`, verified all the same) encrypts
//! and checks the server's certificate and host name, against the CA file
//! in `sslrootcert=` or else the system's trusted roots. Without it the
//! connection is not encrypted: loopback and private networks only.

use std::{
    fmt,
    path::{Path, PathBuf},
    str::FromStr,
};

/// A PostgreSQL connection's settings, password included (never displayed).
#[derive(Clone)]
pub struct PgUrl {
    config: postgres::Config,
    tls: Option<Tls>,
}

/// TLS with verification: the certificate authorities to trust (`None`: the system's).
#[derive(Clone, Debug)]
pub struct Tls {
    pub roots: Option<PathBuf>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("the database URL must start with postgres:// or postgresql:// (SQLite needs no URL: it is the data directory's file)")]
    NotPostgres,
    #[error("the database URL is not valid: {0}")]
    Invalid(String),
    #[error("the database URL names no user (postgres://USER@HOST/DATABASE)")]
    NoUser,
    #[error("the database URL names no database (postgres://USER@HOST/DATABASE)")]
    NoDatabase,
    #[error("the database password file {0} cannot be read: {1}")]
    PasswordFile(String, String),
    #[error("the database URL's TLS settings: {0}")]
    Tls(String),
}

/// Takes the TLS parameters libpq knows and the client does not
/// (`sslmode=verify-full|verify-ca`, `sslrootcert`) out of `url`.
fn take_tls(url: &str) -> Result<(String, Option<Tls>), UrlError> {
    let Some((base, query)) = url.split_once('?') else { return Ok((url.to_owned(), None)) };
    let (mut mode, mut roots, mut kept) = (None, None, Vec::new());
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sslmode", value)) => mode = Some(value.to_owned()),
            Some(("sslrootcert", value)) => roots = Some(PathBuf::from(value)),
            _ => kept.push(pair),
        }
    }
    let tls = match mode.as_deref() {
        Some("verify-full" | "require") => Some(Tls { roots }),
        Some("verify-ca") => {
            return Err(UrlError::Tls(
                "sslmode=verify-ca is not offered: use verify-full (the host name is checked too)".into(),
            ))
        }
        Some("disable" | "prefer") | None if roots.is_some() => {
            return Err(UrlError::Tls("sslrootcert= is used with sslmode=verify-full only".into()))
        }
        Some("disable" | "prefer") | None => {
            if let Some(mode) = &mode {
                kept.push(if mode == "disable" { "sslmode=disable" } else { "sslmode=prefer" });
            }
            None
        }
        Some(other) => {
            return Err(UrlError::Tls(format!("sslmode={other} is not one of disable, prefer, require, verify-full")))
        }
    };
    let rest = if kept.is_empty() { String::new() } else { format!("?{}", kept.join("&")) };
    Ok((format!("{base}{rest}"), tls))
}

/// `url` with libpq's `PGSSLMODE` / `PGSSLROOTCERT` (given as `mode`,
/// `root`) added where it says nothing of its own: someone who set them for
/// `psql` and expects a verified connection must not get a plain one. The CA
/// file is added only where the connection verifies (as libpq ignores it
/// otherwise); a value this URL form cannot carry is refused.
pub fn with_tls_env(url: &str, mode: Option<&str>, root: Option<&str>) -> Result<String, UrlError> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let said = |name: &str| {
        query.split('&').find_map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k == name).then(|| v.to_owned())
        })
    };
    let given = |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let mut url = url.to_owned();
    let mut add = |name: &str, value: &str| -> Result<(), UrlError> {
        if value.contains(['&', '#', '?']) {
            return Err(UrlError::Tls(format!("{name} from the environment holds '&', '#' or '?': rename the file")));
        }
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&format!("{name}={value}"));
        Ok(())
    };
    let mode = match (said("sslmode"), given(mode)) {
        (Some(own), _) => Some(own),
        (None, Some(env)) => {
            add("sslmode", &env)?;
            Some(env)
        }
        (None, None) => None,
    };
    let verifies = matches!(mode.as_deref(), Some("verify-full" | "require"));
    if let (None, Some(root), true) = (said("sslrootcert"), given(root), verifies) {
        add("sslrootcert", &root)?;
    }
    Ok(url)
}

impl PgUrl {
    /// Parses `url`; a password missing from it is looked up in
    /// `password_file` (the whole file, trailing newline ignored), else in
    /// `pgpass` (libpq's format and rules, each host in turn).
    pub fn parse(url: &str, password_file: Option<&Path>, pgpass: Option<&Path>) -> Result<Self, UrlError> {
        let url = url.trim();
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(UrlError::NotPostgres);
        }
        // A raw `@` in the password splits the URL at the wrong place: the
        // rest of the password would read as a host, a user or a database
        // name and be shown wherever the URL is. The parser splits at the
        // first `@` anywhere, query included: one `@` in the whole URL.
        if url.matches('@').count() > 1 {
            return Err(UrlError::Invalid("it holds more than one '@': write an '@' in the password as %40".into()));
        }
        let (url, tls) = take_tls(url)?;
        // The parser's messages never quote the password.
        let mut config = postgres::Config::from_str(&url).map_err(|e| UrlError::Invalid(e.to_string()))?;
        if tls.is_some() {
            config.ssl_mode(postgres::config::SslMode::Require);
        }
        // A host that vanishes (power off, a partition) sends no reset: without
        // these, a connection would wait for it for many minutes.
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(10));
        }
        config.keepalives_idle(std::time::Duration::from_secs(30));
        config.keepalives_interval(std::time::Duration::from_secs(10));
        config.keepalives_retries(3);
        let user = config.get_user().ok_or(UrlError::NoUser)?.to_owned();
        let db = config.get_dbname().ok_or(UrlError::NoDatabase)?.to_owned();
        if config.get_password().is_none() {
            if let Some(file) = password_file {
                // As libpq's pgpass: a file others can read is not used.
                let text = private_file(file).ok_or_else(|| {
                    let why = "it cannot be read, or others can read it (chmod 600)";
                    UrlError::PasswordFile(file.display().to_string(), why.into())
                })?;
                config.password(text.trim_end_matches(['\r', '\n']));
            } else if let Some(text) = pgpass.and_then(private_file) {
                let ports = config.get_ports().to_vec();
                let found = hosts(&config).iter().enumerate().find_map(|(i, host)| {
                    let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
                    from_pgpass(&text, host, port, &db, &user)
                });
                if let Some(found) = found {
                    config.password(found);
                }
            }
        }
        Ok(Self { config, tls })
    }

    pub fn config(&self) -> &postgres::Config {
        &self.config
    }

    /// TLS with verification, when the URL asks for it.
    pub fn tls(&self) -> Option<&Tls> {
        self.tls.as_ref()
    }
}

/// The hosts as libpq's password file names them: a socket directory is `localhost`.
fn hosts(config: &postgres::Config) -> Vec<String> {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            postgres::config::Host::Tcp(h) => h.clone(),
            postgres::config::Host::Unix(_) => "localhost".into(),
        })
        .collect();
    if hosts.is_empty() {
        vec!["localhost".into()]
    } else {
        hosts
    }
}

/// A password file's text, if it is a regular file only its owner may read
/// (libpq ignores any other, and so does this).
fn private_file(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).ok()?;
    (meta.is_file() && meta.permissions().mode() & 0o077 == 0).then(|| std::fs::read_to_string(path).ok()).flatten()
}

/// One field of a password file line, unescaped; `any` when it was a bare
/// `*` (which matches anything in the first four; `\*` is a literal star).
struct Field {
    text: String,
    any: bool,
}

/// A line of a password file in its five fields, as libpq reads it: `\`
/// escapes the next character (a trailing one stays), the password ends at
/// the next unescaped `:`.
fn pgpass_fields(line: &str) -> Option<[Field; 5]> {
    let mut fields: Vec<Field> = Vec::with_capacity(5);
    let (mut text, mut escaped, mut chars) = (String::new(), false, line.chars());
    loop {
        match chars.next() {
            Some('\\') => {
                text.push(chars.next().unwrap_or('\\'));
                escaped = true;
            }
            Some(c) if c != ':' => text.push(c),
            end => {
                let any = text == "*" && !escaped;
                fields.push(Field { text: std::mem::take(&mut text), any });
                escaped = false;
                if fields.len() == 5 || end.is_none() {
                    break;
                }
            }
        }
    }
    <[Field; 5]>::try_from(fields).ok()
}

/// The password of the first matching line of a libpq password file.
fn from_pgpass(text: &str, host: &str, port: u16, db: &str, user: &str) -> Option<String> {
    let port = port.to_string();
    text.lines().filter(|l| !l.starts_with('#')).find_map(|line| {
        let [h, p, d, u, password] = pgpass_fields(line)?;
        let matches = |field: &Field, value: &str| field.any || field.text == value;
        (matches(&h, host) && matches(&p, &port) && matches(&d, db) && matches(&u, user)).then_some(password.text)
    })
}

impl fmt::Display for PgUrl {
    /// `postgres://USER@HOST:PORT,HOST:PORT/DATABASE`: no password, ever.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        let ports = c.get_ports();
        let hosts: Vec<String> = c
            .get_hosts()
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let host = match h {
                    postgres::config::Host::Tcp(h) if h.contains(':') => format!("[{h}]"),
                    postgres::config::Host::Tcp(h) => h.clone(),
                    postgres::config::Host::Unix(p) => p.display().to_string(),
                };
                match ports.get(i).or(ports.first()) {
                    Some(port) => format!("{host}:{port}"),
                    None => host,
                }
            })
            .collect();
        write!(
            f,
            "postgres://{}@{}/{}",
            c.get_user().unwrap_or_default(),
            hosts.join(","),
            c.get_dbname().unwrap_or_default()
        )
    }
}

impl fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_hosts_parse_and_the_password_is_never_shown() {
        let url = PgUrl::parse(
            "postgres://strongroom:hunter2-canary@db1:5433,db2/strongroom?target_session_attrs=read-write",
            None,
            None,
        )
        .unwrap();
        assert_eq!(url.to_string(), "postgres://strongroom@db1:5433,db2:5432/strongroom");
        assert!(!format!("{url:?}").contains("hunter2"));
        assert_eq!(url.config().get_password(), Some(&b"hunter2-canary"[..]));
        assert_eq!(url.config().get_target_session_attrs(), postgres::config::TargetSessionAttrs::ReadWrite);
    }

    #[test]
    fn libpq_tls_variables_fill_in_what_the_url_leaves_out() {
        let env = (Some("verify-full"), Some("/etc/ca.crt"));
        assert_eq!(
            with_tls_env("postgres://u@h/d", env.0, env.1).unwrap(),
            "postgres://u@h/d?sslmode=verify-full&sslrootcert=/etc/ca.crt"
        );
        // The URL's own word wins; a CA file goes only where the connection verifies.
        assert_eq!(
            with_tls_env("postgres://u@h/d?sslmode=disable", env.0, env.1).unwrap(),
            "postgres://u@h/d?sslmode=disable"
        );
        assert_eq!(with_tls_env("postgres://u@h/d", None, env.1).unwrap(), "postgres://u@h/d");
        assert_eq!(
            with_tls_env("postgres://u@h/d?application_name=x", None, None).unwrap(),
            "postgres://u@h/d?application_name=x"
        );
        assert!(with_tls_env("postgres://u@h/d", env.0, Some("/etc/a&b.crt")).is_err());
        let verified = PgUrl::parse(&with_tls_env("postgres://u:p@h/d", env.0, None).unwrap(), None, None).unwrap();
        assert!(verified.tls.is_some(), "PGSSLMODE=verify-full gives a verified connection");
    }

    #[test]
    fn bad_urls_get_a_clear_error() {
        assert_eq!(PgUrl::parse("mysql://a@b/c", None, None).unwrap_err(), UrlError::NotPostgres);
        assert_eq!(PgUrl::parse("postgres://db1/strongroom", None, None).unwrap_err(), UrlError::NoUser);
        assert_eq!(PgUrl::parse("postgres://u@db1", None, None).unwrap_err(), UrlError::NoDatabase);
        for url in [
            "postgres://u:CAN@RY-canary@db1/x",
            "postgres://u:p@ss/RY-canary@db1/x",
            "postgres://u@db1/x?password=RY-canary@other",
        ] {
            let split = PgUrl::parse(url, None, None).unwrap_err();
            assert!(matches!(&split, UrlError::Invalid(_)) && !split.to_string().contains("RY-canary"), "{split}");
        }
        let invalid = PgUrl::parse("postgres://u:secret-canary@db1/x?sslmode=sometimes", None, None).unwrap_err();
        assert!(matches!(&invalid, UrlError::Tls(_)), "{invalid:?}");
        assert!(!invalid.to_string().contains("secret-canary"), "{invalid}");
    }

    #[test]
    fn a_password_comes_from_the_url_else_the_file_else_pgpass() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("password");
        std::fs::write(&file, "from-file\n").unwrap();
        std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
        let refused = PgUrl::parse("postgres://sr@db1/strongroom", Some(&file), None).map(|_| ());
        assert!(matches!(refused, Err(UrlError::PasswordFile(..))), "a password file others can read is used");
        std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        let pgpass = dir.path().join("pgpass");
        std::fs::write(
            &pgpass,
            "# comment\nother:*:*:*:wrong\n\\*:*:*:*:star\ndb2:5432:strongroom:sr:from\\:pgpass:extra\n",
        )
        .unwrap();
        std::fs::set_permissions(&pgpass, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        let password = |url: &str, file: Option<&Path>| {
            let url = PgUrl::parse(url, file, Some(&pgpass)).unwrap();
            url.config().get_password().map(|p| String::from_utf8(p.to_vec()).unwrap())
        };
        assert_eq!(password("postgres://sr:in-url@db1/strongroom", Some(&file)).as_deref(), Some("in-url"));
        assert_eq!(password("postgres://sr@db1/strongroom", Some(&file)).as_deref(), Some("from-file"));
        // Each host in turn; the password ends at an unescaped `:`; `\*` is a literal star.
        assert_eq!(password("postgres://sr@db1,db2/strongroom", None).as_deref(), Some("from:pgpass"));
        assert_eq!(password("postgres://sr@db9/strongroom", None), None);
        assert_eq!(password("postgres://sr@*/strongroom", None).as_deref(), Some("star"));
        std::fs::write(&pgpass, "db3:*:*:*:*\n").unwrap();
        assert_eq!(password("postgres://sr@db3/strongroom", None).as_deref(), Some("*"), "a password that is a star");
        // A file others may read is ignored, as libpq does.
        std::fs::set_permissions(&pgpass, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
        assert_eq!(password("postgres://sr@db2/strongroom", None), None);
        let missing = PgUrl::parse("postgres://sr@db1/strongroom", Some(&dir.path().join("nope")), None).unwrap_err();
        assert!(matches!(missing, UrlError::PasswordFile(..)));
    }
}

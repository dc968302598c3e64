//! Where the store lives: the SQLite file in the data directory (the embedded
//! default), or PostgreSQL at a libpq-style URL (`STRONGROOM_DATABASE_URL`),
//! several hosts included, so that a node finds the new primary after a
//! failover by itself (`target_session_attrs=read-write`).
//!
//! The password comes from the URL, else a file (`STRONGROOM_DATABASE_PASSWORD_FILE`),
//! else a libpq password file (`PGPASSFILE`, `host:port:database:user:password`
//! lines, `*` matching anything). It is never shown: `Display` and `Debug`
//! print the URL without it.

use std::{fmt, path::Path, str::FromStr};

/// A PostgreSQL connection's settings, password included (never displayed).
#[derive(Clone)]
pub struct PgUrl {
    config: postgres::Config,
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
}

impl PgUrl {
    /// Parses `url`; a password missing from it is looked up in
    /// `password_file` (the whole file, trailing newline ignored), else in
    /// `pgpass` (libpq's format, for the first host).
    pub fn parse(url: &str, password_file: Option<&Path>, pgpass: Option<&Path>) -> Result<Self, UrlError> {
        let url = url.trim();
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(UrlError::NotPostgres);
        }
        // The parser's messages never quote the password.
        let mut config = postgres::Config::from_str(url).map_err(|e| UrlError::Invalid(e.to_string()))?;
        let user = config.get_user().ok_or(UrlError::NoUser)?.to_owned();
        let db = config.get_dbname().ok_or(UrlError::NoDatabase)?.to_owned();
        if config.get_password().is_none() {
            if let Some(file) = password_file {
                let text = std::fs::read_to_string(file)
                    .map_err(|e| UrlError::PasswordFile(file.display().to_string(), e.to_string()))?;
                config.password(text.trim_end_matches(['\r', '\n']));
            } else if let Some(file) = pgpass {
                let (host, port) = (first_host(&config), config.get_ports().first().copied().unwrap_or(5432));
                // libpq ignores an unreadable password file; so does this.
                if let Some(found) =
                    std::fs::read_to_string(file).ok().and_then(|text| from_pgpass(&text, &host, port, &db, &user))
                {
                    config.password(found);
                }
            }
        }
        Ok(Self { config })
    }

    pub fn config(&self) -> &postgres::Config {
        &self.config
    }
}

fn first_host(config: &postgres::Config) -> String {
    match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    }
}

/// The password of the first matching line of a libpq password file.
fn from_pgpass(text: &str, host: &str, port: u16, db: &str, user: &str) -> Option<String> {
    let port = port.to_string();
    text.lines().filter(|l| !l.trim_start().starts_with('#')).find_map(|line| {
        // Fields are `:`-separated; `\:` and `\\` escape.
        let mut fields = vec![String::new()];
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => fields.last_mut()?.extend(chars.next()),
                ':' if fields.len() < 5 => fields.push(String::new()),
                c => fields.last_mut()?.push(c),
            }
        }
        let [h, p, d, u, password] = <[String; 5]>::try_from(fields).ok()?;
        let matches = |pattern: &str, value: &str| pattern == "*" || pattern == value;
        (matches(&h, host) && matches(&p, &port) && matches(&d, db) && matches(&u, user)).then_some(password)
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
    fn bad_urls_get_a_clear_error() {
        assert_eq!(PgUrl::parse("mysql://a@b/c", None, None).unwrap_err(), UrlError::NotPostgres);
        assert_eq!(PgUrl::parse("postgres://db1/strongroom", None, None).unwrap_err(), UrlError::NoUser);
        assert_eq!(PgUrl::parse("postgres://u@db1", None, None).unwrap_err(), UrlError::NoDatabase);
        let invalid = PgUrl::parse("postgres://u:secret-canary@db1/x?sslmode=sometimes", None, None).unwrap_err();
        assert!(matches!(&invalid, UrlError::Invalid(_)), "{invalid:?}");
        assert!(!invalid.to_string().contains("secret-canary"), "{invalid}");
    }

    #[test]
    fn a_password_comes_from_the_url_else_the_file_else_pgpass() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("password");
        std::fs::write(&file, "from-file\n").unwrap();
        let pgpass = dir.path().join("pgpass");
        std::fs::write(&pgpass, "# comment\nother:*:*:*:wrong\ndb1:5432:strongroom:sr:from\\:pgpass\n").unwrap();
        let password = |url: &str, file: Option<&Path>| {
            let url = PgUrl::parse(url, file, Some(&pgpass)).unwrap();
            url.config().get_password().map(|p| String::from_utf8(p.to_vec()).unwrap())
        };
        assert_eq!(password("postgres://sr:in-url@db1/strongroom", Some(&file)).as_deref(), Some("in-url"));
        assert_eq!(password("postgres://sr@db1/strongroom", Some(&file)).as_deref(), Some("from-file"));
        assert_eq!(password("postgres://sr@db1/strongroom", None).as_deref(), Some("from:pgpass"));
        assert_eq!(password("postgres://sr@db9/strongroom", None), None);
        let missing = PgUrl::parse("postgres://sr@db1/strongroom", Some(&dir.path().join("nope")), None).unwrap_err();
        assert!(matches!(missing, UrlError::PasswordFile(..)));
    }
}

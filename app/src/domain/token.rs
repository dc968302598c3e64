//! Workload tokens: their names, expiry, and what the token list shows.
//! The token itself never appears here: it is shown once at creation
//! (`NewToken`) and only its hash is stored.

use super::{Scope, Timestamp};
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// Every token starts with this, so a leaked one is easy to recognise and scan for.
pub const TOKEN_PREFIX: &str = "sr_";

/// The name of an AppRole login's token starts with this: `approle.ROLE.ID`
/// (see `ssr::store::approles`). Names people choose may not.
pub const LOGIN_PREFIX: &str = "approle.";
/// The name of a JWT login's token starts with this: `jwt.ROLE.ID` (see
/// `ssr::store::jwt_roles`). Names people choose may not.
pub const JWT_LOGIN_PREFIX: &str = "jwt.";
/// Every prefix kept for logins' tokens.
pub const LOGIN_PREFIXES: [&str; 2] = [LOGIN_PREFIX, JWT_LOGIN_PREFIX];

/// A token's name: 2 to 64 of `[a-z0-9._-]`, starting with a letter or digit
/// (lowercased). It names the workload in the audit trail as `token:NAME`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TokenName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenNameError {
    #[error("Name must be 2 to 64 characters.")]
    Length,
    #[error("Name may contain only letters, digits, '.', '_' and '-', and must start with a letter or digit.")]
    BadChar,
    #[error("Names starting with 'approle.' or 'jwt.' are kept for the tokens of logins.")]
    Reserved,
    #[error("A role's name is 2 to 40 of a-z, 0-9, '_' and '-' (no '.'), starting with a letter or digit, and not 'revoke'.")]
    BadRole,
}

impl TokenName {
    pub fn parse(input: &str) -> Result<Self, TokenNameError> {
        let name = input.trim().to_ascii_lowercase();
        if !(2..=64).contains(&name.chars().count()) {
            return Err(TokenNameError::Length);
        }
        let mut chars = name.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !first_ok || !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c)) {
            return Err(TokenNameError::BadChar);
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// How the audit trail names a workload using this token (no username has a `:`).
    pub fn actor(&self) -> String {
        match self.login_role() {
            Some((kind, role)) => format!("{kind}:{role}"),
            None => format!("token:{}", self.0),
        }
    }

    /// A name a person chose for a token: not one kept for logins.
    pub fn parse_chosen(input: &str) -> Result<Self, TokenNameError> {
        let name = Self::parse(input)?;
        if is_login_name(&name.0) {
            return Err(TokenNameError::Reserved);
        }
        Ok(name)
    }

    /// An AppRole's name: at most 40 characters and no '.', so that a
    /// login's token name (`approle.ROLE.ID`) fits and names one role only.
    pub fn parse_role(input: &str) -> Result<Self, TokenNameError> {
        let name = Self::parse(input)?;
        // `revoke` reads as `approle secret-id revoke …` on the command line.
        if name.0.len() > 40 || name.0.contains('.') || name.0 == "revoke" {
            return Err(TokenNameError::BadRole);
        }
        Ok(name)
    }

    /// The kind (`approle`, `jwt`) and role whose login this token is, if it is one.
    pub fn login_role(&self) -> Option<(&'static str, &str)> {
        LOGIN_PREFIXES.iter().find_map(|prefix| {
            let role = self.0.strip_prefix(prefix)?.rsplit_once('.')?.0;
            Some((prefix.trim_end_matches('.'), role))
        })
    }
}

/// Whether `name` is kept for logins' tokens (`approle.…`, `jwt.…`).
pub fn is_login_name(name: &str) -> bool {
    LOGIN_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// A lifetime typed as `90s`, `15m`, `1h` or `30d` (or `never`, where
/// allowed), in seconds; 0 is never.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ttl(pub i64);

impl Ttl {
    /// Parses `input`, at most `max` seconds; `never` only if `never_ok`.
    pub fn parse(input: &str, max: i64, never_ok: bool) -> Result<Self, String> {
        let input = input.trim().to_ascii_lowercase();
        if input == "never" {
            return if never_ok { Ok(Self(0)) } else { Err("a lifetime is required here, not never".into()) };
        }
        let (number, unit) = input.split_at(input.find(|c: char| !c.is_ascii_digit()).unwrap_or(input.len()));
        let unit = match unit {
            "s" | "" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(format!("{input:?} is not a lifetime: write 90s, 15m, 1h or 30d")),
        };
        let secs = number.parse::<i64>().ok().and_then(|n| n.checked_mul(unit)).filter(|s| *s > 0);
        match secs {
            Some(secs) if secs <= max => Ok(Self(secs)),
            Some(_) => Err(format!("at most {}", Self(max))),
            None => Err(format!("{input:?} is not a lifetime: write 90s, 15m, 1h or 30d")),
        }
    }
}

impl fmt::Display for Ttl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => f.write_str("never"),
            s if s % 86_400 == 0 => write!(f, "{}d", s / 86_400),
            s if s % 3600 == 0 => write!(f, "{}h", s / 3600),
            s if s % 60 == 0 => write!(f, "{}m", s / 60),
            s => write!(f, "{s}s"),
        }
    }
}

impl fmt::Display for TokenName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl FromStr for TokenName {
    type Err = TokenNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for TokenName {
    type Error = TokenNameError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<TokenName> for String {
    fn from(n: TokenName) -> Self {
        n.0
    }
}

/// What a new token may read: one namespace subtree, or `*` for every
/// namespace. Unlike a user's grant, it is never implied by an empty field:
/// the widest scope has to be asked for.
pub fn token_scope(input: &str) -> Result<Scope, String> {
    match input.trim() {
        "" => Err("Name the namespace the token reads (and below), or * for every namespace.".into()),
        "*" => Ok(Scope::All),
        path => super::NamespacePath::parse(path).map(Scope::Subtree).map_err(|e| e.to_string()),
    }
}

/// When a new token stops working: never, after some days or hours, or at a
/// date (UTC). Typed as `never` (or empty), `30d`, `12h`, or `2027-01-31`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    Never,
    After(std::time::Duration),
    At(Timestamp),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Use never, a number of days or hours (30d, 12h), or a date like 2027-01-31 (UTC).")]
pub struct ExpiryError;

/// The longest relative expiry accepted: ten years.
const MAX_DAYS: u64 = 3650;

impl Expiry {
    pub fn parse(input: &str) -> Result<Self, ExpiryError> {
        let text = input.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("never") {
            return Ok(Expiry::Never);
        }
        let relative = |digits: &str, unit: u64| -> Result<Self, ExpiryError> {
            let n: u64 = digits.parse().map_err(|_| ExpiryError)?;
            if n == 0 || n.checked_mul(unit).is_none_or(|secs| secs > MAX_DAYS * 86_400) {
                return Err(ExpiryError);
            }
            Ok(Expiry::After(std::time::Duration::from_secs(n * unit)))
        };
        if let Some(days) = text.strip_suffix('d') {
            return relative(days, 86_400);
        }
        if let Some(hours) = text.strip_suffix('h') {
            return relative(hours, 3600);
        }
        Timestamp::parse_utc(text).map(Expiry::At).map_err(|_| ExpiryError)
    }

    /// The instant the token expires, counted from `now`; an instant not after
    /// `now` is refused (a token that is dead on arrival is a mistake).
    pub fn at(self, now: Timestamp) -> Result<Option<Timestamp>, ExpiryError> {
        match self {
            Expiry::Never => Ok(None),
            Expiry::After(d) => Ok(Some(Timestamp(now.0 + d.as_secs() as i64))),
            Expiry::At(t) if t > now => Ok(Some(t)),
            Expiry::At(_) => Err(ExpiryError),
        }
    }
}

/// A token as the list shows it: never the token, never its hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    pub name: TokenName,
    pub scope: Scope,
    pub created_at: Timestamp,
    pub created_by: String,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub revoked_by: Option<String>,
    /// `expires_at` has passed (decided by the server's clock).
    pub expired: bool,
}

impl TokenView {
    pub fn is_live(&self) -> bool {
        self.revoked_at.is_none() && !self.expired
    }

    /// `active`, `expired` or `revoked`.
    pub fn status(&self) -> &'static str {
        match (self.revoked_at, self.expired) {
            (Some(_), _) => "revoked",
            (None, true) => "expired",
            (None, false) => "active",
        }
    }
}

/// An AppRole as lists show it: never a secret id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRoleView {
    pub name: TokenName,
    pub role_id: String,
    pub scope: Scope,
    /// Seconds (see [`Ttl`]).
    pub token_ttl: i64,
    /// Seconds; 0 is never.
    pub secret_id_ttl: i64,
    pub created_at: Timestamp,
    pub created_by: String,
    pub revoked_at: Option<Timestamp>,
    /// Secret ids neither revoked nor expired.
    pub live_secret_ids: i64,
    /// Login tokens neither revoked nor expired.
    pub live_logins: i64,
}

/// A secret id just issued for an AppRole: the only time it is shown.
#[derive(Clone, Serialize, Deserialize)]
pub struct NewSecretId {
    pub role: TokenName,
    pub role_id: String,
    pub scope: Scope,
    pub secret_id: String,
    /// Names the secret id (to revoke it) without being it.
    pub accessor: String,
    pub expires_at: Option<Timestamp>,
}

impl Drop for NewSecretId {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.secret_id);
    }
}

/// The answer to creating a token: the only time the token is shown.
#[derive(Clone, Serialize, Deserialize)]
pub struct NewToken {
    pub token: String,
    pub view: TokenView,
}

impl Drop for NewToken {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.token);
    }
}

impl fmt::Debug for NewToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewToken").field("token", &"<redacted>").field("view", &self.view).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lowercased_and_limited_to_a_safe_alphabet() {
        assert_eq!(TokenName::parse(" CI-Deploy.prod_1 ").unwrap().as_str(), "ci-deploy.prod_1");
        assert_eq!(TokenName::parse("a"), Err(TokenNameError::Length));
        assert!(TokenName::parse(&"a".repeat(64)).is_ok());
        assert_eq!(TokenName::parse(&"a".repeat(65)), Err(TokenNameError::Length));
        for bad in ["-ci", "ci deploy", "ci:x", "ci/x", "cï"] {
            assert_eq!(TokenName::parse(bad), Err(TokenNameError::BadChar), "{bad}");
        }
    }

    #[test]
    fn every_namespace_must_be_asked_for_with_a_star() {
        assert!(token_scope("").is_err());
        assert!(token_scope("  ").is_err());
        assert_eq!(token_scope("*"), Ok(Scope::All));
        assert_eq!(token_scope(" company.team ").unwrap().as_str(), "company.team");
        assert!(token_scope("Company").is_err());
    }

    #[test]
    fn the_actor_cannot_be_mistaken_for_a_username() {
        assert_eq!(TokenName::parse("ci").unwrap().actor(), "token:ci");
        let login = TokenName::parse("approle.deploy-prod.5f0c1a2b-9e3d").unwrap();
        assert_eq!(
            (login.login_role(), login.actor().as_str()),
            (Some(("approle", "deploy-prod")), "approle:deploy-prod")
        );
        let jwt = TokenName::parse("jwt.gh-deploy.5f0c1a2b-9e3d").unwrap();
        assert_eq!(jwt.actor(), "jwt:gh-deploy");
        assert_eq!(TokenName::parse_chosen("approle.x.y"), Err(TokenNameError::Reserved));
        assert_eq!(TokenName::parse_chosen("jwt.x.y"), Err(TokenNameError::Reserved));
        assert!(TokenName::parse_chosen("jwtx.y").is_ok());
        assert_eq!(TokenName::parse_role("a.b"), Err(TokenNameError::BadRole));
        assert_eq!(TokenName::parse_role(&"a".repeat(41)), Err(TokenNameError::BadRole));
        assert!(TokenName::parse_role("deploy_prod-2").is_ok());
        assert_eq!(Ttl::parse("15m", 86_400, false), Ok(Ttl(900)));
        assert_eq!(Ttl::parse("never", 86_400, true), Ok(Ttl(0)));
        assert!(Ttl::parse("never", 86_400, false).is_err() && Ttl::parse("25h", 86_400, false).is_err());
        assert!(Ttl::parse("0s", 60, false).is_err() && Ttl::parse("1w", 1 << 40, false).is_err());
        assert_eq!(
            (Ttl(900).to_string(), Ttl(86_400 * 30).to_string(), Ttl(90).to_string()),
            ("15m".into(), "30d".into(), "90s".into())
        );
    }

    #[test]
    fn expiry_accepts_never_days_hours_and_dates() {
        let now = Timestamp(1_000_000);
        assert_eq!(Expiry::parse("").unwrap().at(now), Ok(None));
        assert_eq!(Expiry::parse("Never").unwrap().at(now), Ok(None));
        assert_eq!(Expiry::parse("30d").unwrap().at(now), Ok(Some(Timestamp(1_000_000 + 30 * 86_400))));
        assert_eq!(Expiry::parse("12h").unwrap().at(now), Ok(Some(Timestamp(1_000_000 + 12 * 3600))));
        let date = Expiry::parse("2099-01-31").unwrap();
        assert_eq!(date.at(now).unwrap().unwrap().date(), "2099-01-31");
    }

    #[test]
    fn expiry_refuses_zero_too_far_past_and_gibberish() {
        for bad in ["0d", "3651d", "-1d", "d", "soon", "30 days", "2026-02-30", "99999999999999999d"] {
            assert_eq!(Expiry::parse(bad), Err(ExpiryError), "{bad}");
        }
        let past = Expiry::parse("2001-01-01").unwrap();
        assert_eq!(past.at(Timestamp(2_000_000_000)), Err(ExpiryError));
    }
}

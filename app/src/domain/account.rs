//! Accounts: usernames, passwords, roles and the namespaces a role covers.

use super::{NamespacePath, NamespacePathError};
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};
use zeroize::Zeroizing;

/// A username: 2 to 64 characters of `[a-z0-9._@-]`, starting with a letter or
/// digit. Parsing lowercases, so `Alice` and `alice` are one account.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("Username must be 2 to 64 characters.")]
    Length,
    #[error(
        "Username may contain only letters, digits, '.', '_', '@' and '-', and must start with a letter or digit."
    )]
    BadChar,
}

impl Username {
    pub fn parse(input: &str) -> Result<Self, UsernameError> {
        let name = input.trim().to_ascii_lowercase();
        if !(2..=64).contains(&name.chars().count()) {
            return Err(UsernameError::Length);
        }
        let mut chars = name.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !first_ok || !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._@-".contains(c)) {
            return Err(UsernameError::BadChar);
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Username {
    type Err = UsernameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Username {
    type Error = UsernameError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Username> for String {
    fn from(u: Username) -> String {
        u.0
    }
}

/// Fewest and most characters a password may have. The upper bound is checked
/// before hashing, so nobody can make the server hash megabytes.
pub const PASSWORD_MIN_CHARS: usize = 15;
pub const PASSWORD_MAX_CHARS: usize = 1024;

/// A password on its way to be hashed or verified. No `Serialize`; `Debug` is
/// redacted; zeroized on drop.
pub struct Password(Zeroizing<String>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("Password must be at least {PASSWORD_MIN_CHARS} characters.")]
    TooShort,
    #[error("Password must be at most {PASSWORD_MAX_CHARS} characters.")]
    TooLong,
}

impl Password {
    /// For a new password: length rules apply.
    pub fn parse_new(input: String) -> Result<Self, PasswordError> {
        let input = Zeroizing::new(input);
        match input.chars().count() {
            n if n < PASSWORD_MIN_CHARS => Err(PasswordError::TooShort),
            n if n > PASSWORD_MAX_CHARS => Err(PasswordError::TooLong),
            _ => Ok(Self(input)),
        }
    }

    /// For a sign-in attempt: only the upper bound (old passwords may be shorter
    /// than today's rule, and a short guess must still cost a hash).
    pub fn parse_attempt(input: String) -> Result<Self, PasswordError> {
        let input = Zeroizing::new(input);
        if input.chars().count() > PASSWORD_MAX_CHARS {
            return Err(PasswordError::TooLong);
        }
        Ok(Self(input))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// What a grant allows. Ordered: each role can do everything the one before can.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Names, metadata, versions; never a value, never a change.
    Auditor,
    /// Adds, rotates, deletes and restores secrets; creates namespaces.
    Editor,
    /// Everything, including users and grants (when granted on every namespace).
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Editor, Role::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Auditor => "auditor",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Role must be admin, editor or auditor.")]
pub struct RoleError;

impl FromStr for Role {
    type Err = RoleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "admin" => Ok(Role::Admin),
            "editor" => Ok(Role::Editor),
            "auditor" => Ok(Role::Auditor),
            _ => Err(RoleError),
        }
    }
}

/// The namespaces a grant covers: all of them, or one subtree.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Scope {
    All,
    Subtree(NamespacePath),
}

impl Scope {
    /// Empty input (or `*`) means every namespace.
    pub fn parse(input: &str) -> Result<Self, NamespacePathError> {
        match input.trim() {
            "" | "*" => Ok(Scope::All),
            path => NamespacePath::parse(path).map(Scope::Subtree),
        }
    }

    pub fn covers(&self, ns: &NamespacePath) -> bool {
        match self {
            Scope::All => true,
            Scope::Subtree(root) => ns.is_within(root),
        }
    }

    /// As stored and posted: `""` for every namespace.
    pub fn as_str(&self) -> &str {
        match self {
            Scope::All => "",
            Scope::Subtree(p) => p.as_str(),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::All => f.write_str("every namespace"),
            Scope::Subtree(p) => write!(f, "{p} and below"),
        }
    }
}

/// A role on a scope.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Grant {
    pub role: Role,
    pub scope: Scope,
}

impl Grant {
    /// Auditor and admin grants open the audit trail for their scope; an
    /// editor grant alone does not.
    pub fn reads_trail(&self) -> bool {
        matches!(self.role, Role::Auditor | Role::Admin)
    }

    /// Whether this grant allows `role` on `ns`.
    pub fn allows(&self, role: Role, ns: &NamespacePath) -> bool {
        self.role >= role && self.scope.covers(ns)
    }
}

/// What the UI knows of the signed-in user.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub username: Username,
    pub grants: Vec<Grant>,
    /// Told to admins: the server runs on a trial root key.
    #[serde(default)]
    pub trial_key: bool,
}

impl Me {
    /// Admin on every namespace: may manage users.
    pub fn is_admin(&self) -> bool {
        self.grants.iter().any(|g| g.role == Role::Admin && g.scope == Scope::All)
    }

    /// An auditor or admin grant anywhere: the audit trail opens (for the link).
    pub fn can_read_trail(&self) -> bool {
        self.grants.iter().any(Grant::reads_trail)
    }

    /// Whether any grant allows `role` on `ns` (for hiding forms; the server decides).
    pub fn can(&self, role: Role, ns: &NamespacePath) -> bool {
        self.grants.iter().any(|g| g.allows(role, ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_lowercased_and_trimmed() {
        assert_eq!(Username::parse("  Alice.Ops@corp ").unwrap().as_str(), "alice.ops@corp");
    }

    #[test]
    fn usernames_of_2_and_64_chars_are_accepted_and_1_or_65_are_not() {
        assert!(Username::parse("ab").is_ok());
        assert!(Username::parse(&"a".repeat(64)).is_ok());
        assert_eq!(Username::parse("a").unwrap_err(), UsernameError::Length);
        assert_eq!(Username::parse(&"a".repeat(65)).unwrap_err(), UsernameError::Length);
    }

    #[test]
    fn usernames_reject_spaces_unicode_control_and_leading_punctuation() {
        for bad in ["a b", "zoë", "a\nb", "-ab", ".ab", "a/b", "a\u{1b}b"] {
            assert_eq!(Username::parse(bad).unwrap_err(), UsernameError::BadChar, "{bad:?}");
        }
    }

    #[test]
    fn new_passwords_need_15_to_1024_characters() {
        assert_eq!(Password::parse_new("a".repeat(14)).unwrap_err(), PasswordError::TooShort);
        assert!(Password::parse_new("a".repeat(15)).is_ok());
        assert!(Password::parse_new("é".repeat(1024)).is_ok());
        assert_eq!(Password::parse_new("a".repeat(1025)).unwrap_err(), PasswordError::TooLong);
    }

    #[test]
    fn sign_in_attempts_only_have_the_upper_bound() {
        assert!(Password::parse_attempt("short".into()).is_ok());
        assert_eq!(Password::parse_attempt("a".repeat(1025)).unwrap_err(), PasswordError::TooLong);
    }

    #[test]
    fn password_debug_is_redacted() {
        let p = Password::parse_new("correct horse battery staple".into()).unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }

    #[test]
    fn roles_are_ordered_and_parse_from_their_names() {
        assert!(Role::Admin > Role::Editor && Role::Editor > Role::Auditor);
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn a_subtree_grant_covers_its_root_and_descendants_only() {
        let ns = |s: &str| NamespacePath::parse(s).unwrap();
        let grant = Grant { role: Role::Editor, scope: Scope::parse("company.team").unwrap() };
        assert!(grant.allows(Role::Editor, &ns("company.team")));
        assert!(grant.allows(Role::Auditor, &ns("company.team.etl")));
        assert!(!grant.allows(Role::Admin, &ns("company.team")));
        assert!(!grant.allows(Role::Auditor, &ns("company")));
        assert!(!grant.allows(Role::Auditor, &ns("company.teamx")));
        assert_eq!(Scope::parse("").unwrap(), Scope::All);
        assert!(Scope::parse("Bad").is_err());
    }
}

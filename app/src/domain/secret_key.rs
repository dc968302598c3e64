//! `SecretKey`: the name of a secret, usable as an environment variable name.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// Longest key accepted.
pub const MAX_LEN: usize = 128;

/// A valid secret key. Invariant: matches `[A-Za-z_][A-Za-z0-9_]*`, 1 to 128 chars.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SecretKey(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretKeyError {
    #[error("Key is required.")]
    Empty,
    #[error("Key must be at most {MAX_LEN} characters.")]
    TooLong,
    #[error("Key must start with a letter or '_' (it becomes an environment variable name).")]
    BadStart,
    #[error("Key may contain only letters, digits and '_' (it becomes an environment variable name).")]
    BadChar,
}

impl SecretKey {
    pub fn parse(input: &str) -> Result<Self, SecretKeyError> {
        let mut chars = input.chars();
        match chars.next() {
            None => return Err(SecretKeyError::Empty),
            Some(c) if c.is_ascii_digit() => return Err(SecretKeyError::BadStart),
            Some(c) if !(c.is_ascii_alphabetic() || c == '_') => return Err(SecretKeyError::BadChar),
            Some(_) => {}
        }
        if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(SecretKeyError::BadChar);
        }
        if input.len() > MAX_LEN {
            return Err(SecretKeyError::TooLong);
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for SecretKey {
    type Err = SecretKeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for SecretKey {
    type Error = SecretKeyError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<SecretKey> for String {
    fn from(k: SecretKey) -> String {
        k.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> SecretKeyError {
        SecretKey::parse(s).unwrap_err()
    }

    #[test]
    fn env_style_names_are_accepted() {
        for s in ["DB_PASSWORD", "_private", "a", "apiKey2", "_"] {
            assert!(SecretKey::parse(s).is_ok(), "{s}");
        }
    }

    #[test]
    fn the_empty_string_is_rejected() {
        assert_eq!(err(""), SecretKeyError::Empty);
    }

    #[test]
    fn exactly_128_chars_is_accepted_and_129_is_not() {
        assert!(SecretKey::parse(&"K".repeat(128)).is_ok());
        assert_eq!(err(&"K".repeat(129)), SecretKeyError::TooLong);
    }

    #[test]
    fn a_leading_digit_is_rejected() {
        assert_eq!(err("1PASSWORD"), SecretKeyError::BadStart);
    }

    #[test]
    fn dots_dashes_spaces_equals_and_unicode_are_rejected() {
        for s in ["A.B", "A-B", "A B", "A=B", "É", "AÉ", " A", "A\n", "$A", "A\0"] {
            assert_eq!(err(s), SecretKeyError::BadChar, "{s:?}");
        }
    }

    #[test]
    fn deserializing_runs_the_same_rules() {
        assert!(serde_json::from_str::<SecretKey>("\"OK_1\"").is_ok());
        assert!(serde_json::from_str::<SecretKey>("\"1X\"").is_err());
    }
}

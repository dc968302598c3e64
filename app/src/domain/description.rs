//! `Description`: free text shown next to a namespace or secret.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest description accepted, in characters.
pub const MAX_CHARS: usize = 1000;

/// Trimmed text of at most 1000 characters, without control characters other
/// than line breaks and tabs (so it renders and exports safely). May be empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Description(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DescriptionError {
    #[error("Description must be at most {MAX_CHARS} characters.")]
    TooLong,
    #[error("Description may not contain control characters.")]
    ControlChar,
}

impl Description {
    pub fn parse(input: &str) -> Result<Self, DescriptionError> {
        let text = input.trim();
        if text.chars().count() > MAX_CHARS {
            return Err(DescriptionError::TooLong);
        }
        if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            return Err(DescriptionError::ControlChar);
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Description {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Description {
    type Error = DescriptionError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Description> for String {
    fn from(d: Description) -> String {
        d.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surrounding_white_space_is_trimmed_and_empty_is_allowed() {
        assert_eq!(Description::parse("  db for etl \n").unwrap().as_str(), "db for etl");
        assert_eq!(Description::parse("").unwrap().as_str(), "");
    }

    #[test]
    fn exactly_1000_characters_is_accepted_and_1001_is_not() {
        assert!(Description::parse(&"é".repeat(1000)).is_ok());
        assert_eq!(Description::parse(&"é".repeat(1001)).unwrap_err(), DescriptionError::TooLong);
    }

    #[test]
    fn escape_and_nul_characters_are_rejected_but_line_breaks_are_not() {
        assert_eq!(Description::parse("a\u{1b}[31mred").unwrap_err(), DescriptionError::ControlChar);
        assert_eq!(Description::parse("a\0b").unwrap_err(), DescriptionError::ControlChar);
        assert!(Description::parse("line one\nline two\tend").is_ok());
    }
}

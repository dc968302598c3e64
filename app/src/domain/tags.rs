//! `Tags`: `name=value` labels on a secret (`owner=payments`, `env=prod`),
//! for finding and grouping secrets. Never secret themselves.

use serde::{Deserialize, Serialize};
use std::{collections::BTreeMap, fmt};

/// Most tags on one secret.
pub const MAX_TAGS: usize = 16;
/// Longest tag name, in characters.
pub const MAX_NAME: usize = 32;
/// Longest tag value, in characters.
pub const MAX_VALUE: usize = 64;

/// A set of `name=value` pairs, at most one value per name, kept sorted by
/// name. Written as `name=value` separated by commas or white space; names are
/// lower-case letters, digits, `_`, `-` and `.` starting with a letter; values
/// are letters, digits and `_ - . : / @ +`, possibly empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Tags(BTreeMap<String, String>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagsError {
    #[error("Write each tag as name=value (\"{0}\" has no \"=\").")]
    NoEquals(String),
    #[error(
        "Tag name \"{0}\": use 1–{MAX_NAME} lower-case letters, digits, \"_\", \"-\" or \".\", starting with a letter."
    )]
    BadName(String),
    #[error("Tag value \"{0}\": use at most {MAX_VALUE} letters, digits or \"_ - . : / @ +\".")]
    BadValue(String),
    #[error("Tag \"{0}\" is given twice.")]
    Repeated(String),
    #[error("Use at most {MAX_TAGS} tags.")]
    TooMany,
}

fn valid_name(name: &str) -> bool {
    name.chars().count() <= MAX_NAME
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'))
}

fn valid_value(value: &str) -> bool {
    value.chars().count() <= MAX_VALUE
        && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/' | '@' | '+'))
}

impl Tags {
    pub fn parse(input: &str) -> Result<Self, TagsError> {
        // Errors quote the offending part, shortened: never a whole pasted blob.
        let quote = |s: &str| s.chars().take(40).collect::<String>();
        let mut tags = BTreeMap::new();
        for pair in input.split(|c: char| c == ',' || c.is_whitespace()).filter(|p| !p.is_empty()) {
            if tags.len() == MAX_TAGS {
                return Err(TagsError::TooMany);
            }
            let (name, value) = pair.split_once('=').ok_or_else(|| TagsError::NoEquals(quote(pair)))?;
            if !valid_name(name) {
                return Err(TagsError::BadName(quote(name)));
            }
            if !valid_value(value) {
                return Err(TagsError::BadValue(quote(value)));
            }
            if tags.insert(name.to_owned(), value.to_owned()).is_some() {
                return Err(TagsError::Repeated(name.to_owned()));
            }
        }
        Ok(Self(tags))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `name=value` each, sorted by name.
    pub fn pairs(&self) -> impl Iterator<Item = String> + '_ {
        self.0.iter().map(|(name, value)| format!("{name}={value}"))
    }

    /// True when this set has `name` with exactly `value`.
    pub fn has(&self, name: &str, value: &str) -> bool {
        self.0.get(name).is_some_and(|v| v == value)
    }
}

/// The stored and exported form: `name=value` pairs sorted by name, one space apart.
impl fmt::Display for Tags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pairs().collect::<Vec<_>>().join(" "))
    }
}

impl std::str::FromStr for Tags {
    type Err = TagsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Tags {
    type Error = TagsError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Tags> for String {
    fn from(t: Tags) -> String {
        t.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_sorted_by_name_whatever_the_separator() {
        let tags = Tags::parse(" owner=payments,env=prod  tier= ").unwrap();
        assert_eq!(tags.to_string(), "env=prod owner=payments tier=");
        assert!(tags.has("env", "prod") && tags.has("tier", "") && !tags.has("env", "dev"));
        assert_eq!(Tags::parse(&tags.to_string()).unwrap(), tags);
        assert!(Tags::parse("  ").unwrap().is_empty());
    }

    #[test]
    fn malformed_tags_are_refused_with_the_offending_part() {
        assert_eq!(Tags::parse("env").unwrap_err(), TagsError::NoEquals("env".into()));
        assert_eq!(Tags::parse("Env=prod").unwrap_err(), TagsError::BadName("Env".into()));
        assert_eq!(Tags::parse("=prod").unwrap_err(), TagsError::BadName("".into()));
        assert_eq!(Tags::parse("env=p\"rod").unwrap_err(), TagsError::BadValue("p\"rod".into()));
        assert_eq!(Tags::parse("env=a=b").unwrap_err(), TagsError::BadValue("a=b".into()));
        assert_eq!(Tags::parse("env=a env=b").unwrap_err(), TagsError::Repeated("env".into()));
        let many: Vec<String> = (0..=MAX_TAGS).map(|i| format!("t{i}=x")).collect();
        assert_eq!(Tags::parse(&many.join(",")).unwrap_err(), TagsError::TooMany);
        assert!(Tags::parse(&format!("{}=x", "a".repeat(MAX_NAME))).is_ok());
        assert!(Tags::parse(&format!("{}=x", "a".repeat(MAX_NAME + 1))).is_err());
        assert!(Tags::parse(&format!("a={}", "v".repeat(MAX_VALUE + 1))).is_err());
        assert_eq!(Tags::parse(&"x".repeat(10_000)).unwrap_err(), TagsError::NoEquals("x".repeat(40)));
    }
}

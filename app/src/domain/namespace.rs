//! `NamespacePath`: a dotted path such as `company.team.etl`.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// Longest path accepted, in bytes (all characters are ASCII).
pub const MAX_LEN: usize = 255;
/// Deepest nesting accepted.
pub const MAX_SEGMENTS: usize = 8;

/// A valid namespace path. Invariant: 1 to 8 segments joined by `.`, each matching
/// `[a-z0-9][a-z0-9_-]*`, at most 255 characters in all.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NamespacePath(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NamespacePathError {
    #[error("Namespace is required.")]
    Empty,
    #[error("Namespace must be at most {MAX_LEN} characters.")]
    TooLong,
    #[error("Namespace may have at most {MAX_SEGMENTS} dot-separated parts.")]
    TooDeep,
    #[error("Namespace parts must not be empty (check for a leading, trailing or doubled dot).")]
    EmptySegment,
    #[error("Each namespace part must start with a lowercase letter or digit.")]
    BadStart,
    #[error("Namespace may contain only lowercase letters, digits, '_', '-' and '.'.")]
    BadChar,
}

impl NamespacePath {
    /// Parses `input` exactly (no trimming: what is shown is what is stored).
    pub fn parse(input: &str) -> Result<Self, NamespacePathError> {
        if input.is_empty() {
            return Err(NamespacePathError::Empty);
        }
        if input.len() > MAX_LEN {
            return Err(NamespacePathError::TooLong);
        }
        let mut segments = 0;
        for segment in input.split('.') {
            segments += 1;
            let mut chars = segment.chars();
            match chars.next() {
                None => return Err(NamespacePathError::EmptySegment),
                Some(c) if !(c.is_ascii_lowercase() || c.is_ascii_digit()) => {
                    return Err(if c == '_' || c == '-' {
                        NamespacePathError::BadStart
                    } else {
                        NamespacePathError::BadChar
                    })
                }
                Some(_) => {}
            }
            if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-') {
                return Err(NamespacePathError::BadChar);
            }
        }
        if segments > MAX_SEGMENTS {
            return Err(NamespacePathError::TooDeep);
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The parent path, `None` for a top-level namespace.
    pub fn parent(&self) -> Option<NamespacePath> {
        self.0.rsplit_once('.').map(|(parent, _)| Self(parent.to_owned()))
    }

    /// This path and every ancestor, nearest first: `a.b.c`, `a.b`, `a`.
    pub fn self_and_ancestors(&self) -> Vec<NamespacePath> {
        let mut out = vec![self.clone()];
        let mut current = self.parent();
        while let Some(p) = current {
            current = p.parent();
            out.push(p);
        }
        out
    }

    /// Number of segments (1 for `company`).
    pub fn depth(&self) -> usize {
        self.0.split('.').count()
    }

    /// Tree order: parents before children, siblings by name, segment by
    /// segment (so `a.b` comes right after `a`, before `a-b`).
    pub fn tree_cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.split('.').cmp(other.0.split('.'))
    }

    /// The last segment: `etl` for `company.team.etl`.
    pub fn leaf(&self) -> &str {
        self.0.rsplit('.').next().unwrap_or(&self.0)
    }

    /// True when `self` is `other` or lies below it.
    pub fn is_within(&self, other: &NamespacePath) -> bool {
        self.0 == other.0
            || (self.0.len() > other.0.len()
                && self.0.starts_with(&other.0)
                && self.0.as_bytes()[other.0.len()] == b'.')
    }
}

impl fmt::Display for NamespacePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for NamespacePath {
    type Err = NamespacePathError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for NamespacePath {
    type Error = NamespacePathError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<NamespacePath> for String {
    fn from(p: NamespacePath) -> String {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> NamespacePathError {
        NamespacePath::parse(s).unwrap_err()
    }

    #[test]
    fn a_single_segment_is_a_namespace() {
        assert_eq!(NamespacePath::parse("company").unwrap().as_str(), "company");
    }

    #[test]
    fn digits_underscores_and_dashes_are_allowed_after_the_first_char() {
        assert!(NamespacePath::parse("0ps.team_a.etl-2").is_ok());
    }

    #[test]
    fn the_empty_string_is_rejected() {
        assert_eq!(err(""), NamespacePathError::Empty);
    }

    #[test]
    fn exactly_255_chars_is_accepted_and_256_is_not() {
        let seg = "a".repeat(63); // 4 segments of 63 + 3 dots = 255
        let max = [seg.as_str(); 4].join(".");
        assert_eq!(max.len(), 255);
        assert!(NamespacePath::parse(&max).is_ok());
        assert_eq!(err(&format!("{max}a")), NamespacePathError::TooLong);
    }

    #[test]
    fn eight_segments_are_accepted_and_nine_are_not() {
        assert!(NamespacePath::parse("a.b.c.d.e.f.g.h").is_ok());
        assert_eq!(err("a.b.c.d.e.f.g.h.i"), NamespacePathError::TooDeep);
    }

    #[test]
    fn empty_segments_are_rejected() {
        for s in [".a", "a.", "a..b", "."] {
            assert_eq!(err(s), NamespacePathError::EmptySegment, "{s}");
        }
    }

    #[test]
    fn a_segment_may_not_start_with_underscore_or_dash() {
        assert_eq!(err("_a"), NamespacePathError::BadStart);
        assert_eq!(err("a.-b"), NamespacePathError::BadStart);
    }

    #[test]
    fn uppercase_spaces_slashes_and_unicode_are_rejected() {
        for s in ["Company", "a b", "a/b", "a\\b", "é", "a.ü", "a\nb", " a", "a ", "a\0"] {
            assert_eq!(err(s), NamespacePathError::BadChar, "{s:?}");
        }
    }

    #[test]
    fn ancestors_are_listed_nearest_first() {
        let p = NamespacePath::parse("a.b.c").unwrap();
        let names: Vec<_> = p.self_and_ancestors().iter().map(|p| p.to_string()).collect();
        assert_eq!(names, ["a.b.c", "a.b", "a"]);
        assert_eq!(p.depth(), 3);
        assert_eq!(p.leaf(), "c");
    }

    #[test]
    fn within_means_same_or_below_not_a_shared_prefix() {
        let a = NamespacePath::parse("company").unwrap();
        assert!(NamespacePath::parse("company.team").unwrap().is_within(&a));
        assert!(a.is_within(&a));
        assert!(!NamespacePath::parse("companyx").unwrap().is_within(&a));
        assert!(!a.is_within(&NamespacePath::parse("company.team").unwrap()));
    }

    #[test]
    fn deserializing_runs_the_same_rules() {
        assert!(serde_json::from_str::<NamespacePath>("\"a.b\"").is_ok());
        assert!(serde_json::from_str::<NamespacePath>("\"A\"").is_err());
    }
}

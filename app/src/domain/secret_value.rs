//! `SecretValue`: a plaintext value on its way into the store or out to a workload.
//!
//! It has no `Serialize`, and its `Debug` is redacted, so it cannot reach a page,
//! a server-function response or a log line by accident. Memory is zeroized on drop.

use std::fmt;
use zeroize::Zeroizing;

/// Largest value accepted, in bytes of UTF-8.
pub const MAX_BYTES: usize = 64 * 1024;

/// A value of 1 byte to 64 KiB of UTF-8 text (multi-line allowed).
pub struct SecretValue(Zeroizing<String>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretValueError {
    #[error("Value is required.")]
    Empty,
    #[error("Value must be at most 64 KiB (65536 bytes).")]
    TooLong,
    #[error("Value must be UTF-8 text.")]
    NotUtf8,
}

impl SecretValue {
    /// Takes ownership so that the only copy is the zeroizing one.
    pub fn parse(input: String) -> Result<Self, SecretValueError> {
        let input = Zeroizing::new(input);
        if input.is_empty() {
            return Err(SecretValueError::Empty);
        }
        if input.len() > MAX_BYTES {
            return Err(SecretValueError::TooLong);
        }
        Ok(Self(input))
    }

    /// From decrypted bytes; the bytes are zeroized whatever the outcome.
    pub fn from_bytes(bytes: Zeroizing<Vec<u8>>) -> Result<Self, SecretValueError> {
        let text = std::str::from_utf8(&bytes).map_err(|_| SecretValueError::NotUtf8)?;
        Self::parse(text.to_owned())
    }

    /// What landed, without showing it — "7 lines, ends with a newline, 399
    /// bytes" — so whoever saved a pasted key can tell it arrived whole. For
    /// the saver's own answer only: never stored, never in the trail.
    pub fn shape(&self) -> String {
        let text = self.0.as_str();
        let lines = text.lines().count().max(1);
        let mut parts = vec![if lines == 1 { "1 line".to_owned() } else { format!("{lines} lines") }];
        if text.ends_with('\n') {
            parts.push("ends with a newline".into());
        }
        if text.starts_with([' ', '\t']) || text.trim_end_matches('\n').ends_with([' ', '\t']) {
            parts.push("starts or ends with a space".into());
        }
        parts.push(format!("{} bytes", text.len()));
        parts.join(", ")
    }

    /// The plaintext. Callers must not log it or send it to a browser.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretValue(<redacted, {} bytes>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shape_says_what_landed_without_the_value() {
        let key = format!("-----BEGIN KEY-----\n{}\n-----END KEY-----\n", "A".repeat(64));
        let shape = SecretValue::parse(key.clone()).unwrap().shape();
        assert_eq!(shape, format!("3 lines, ends with a newline, {} bytes", key.len()));
        assert_eq!(SecretValue::parse("hunter2".into()).unwrap().shape(), "1 line, 7 bytes");
        assert_eq!(
            SecretValue::parse("pw \n".into()).unwrap().shape(),
            "1 line, ends with a newline, starts or ends with a space, 4 bytes"
        );
    }

    #[test]
    fn one_byte_is_the_smallest_value() {
        assert!(SecretValue::parse("x".into()).is_ok());
        assert_eq!(SecretValue::parse(String::new()).unwrap_err(), SecretValueError::Empty);
    }

    #[test]
    fn exactly_64_kib_is_accepted_and_one_byte_more_is_not() {
        assert!(SecretValue::parse("a".repeat(MAX_BYTES)).is_ok());
        assert_eq!(SecretValue::parse("a".repeat(MAX_BYTES + 1)).unwrap_err(), SecretValueError::TooLong);
    }

    #[test]
    fn the_limit_counts_bytes_not_characters() {
        // 'é' is two bytes: 32768 of them are exactly 64 KiB.
        assert!(SecretValue::parse("é".repeat(MAX_BYTES / 2)).is_ok());
        assert!(SecretValue::parse(format!("{}x", "é".repeat(MAX_BYTES / 2))).is_err());
    }

    #[test]
    fn multi_line_values_such_as_pem_are_kept_verbatim() {
        let pem = "-----BEGIN KEY-----\nabc\n-----END KEY-----\n";
        assert_eq!(SecretValue::parse(pem.into()).unwrap().expose(), pem);
    }

    #[test]
    fn debug_never_shows_the_value() {
        let v = SecretValue::parse("hunter2-canary".into()).unwrap();
        let shown = format!("{v:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn invalid_utf8_bytes_are_rejected() {
        let bytes = Zeroizing::new(vec![0xff, 0xfe]);
        assert_eq!(SecretValue::from_bytes(bytes).unwrap_err(), SecretValueError::NotUtf8);
    }
}

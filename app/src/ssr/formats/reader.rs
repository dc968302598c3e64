//! Reading an import: the entries, their limits, and the format-specific prefixes.

use super::*;
use crate::domain::{SecretKey, SecretKeyError, SecretValue, SecretValueError};
use base64::engine::general_purpose::STANDARD;
use std::collections::HashSet;
use zeroize::Zeroizing;

/// One parsed line of an import. `line` is 1-based (the line where the entry starts).
#[derive(Debug)]
pub struct Entry {
    pub line: usize,
    pub key: SecretKey,
    pub value: SecretValue,
}

/// The result of an import: the format it was read as, and the entries in file order.
#[derive(Debug)]
pub struct Parsed {
    pub format: Format,
    pub entries: Vec<Entry>,
}

/// Never contains any of the input's content (no value, no key text): only a line number and a
/// fixed reason. Line `0` means the file as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ParseError {
    pub line: usize,
    pub reason: &'static str,
}

pub(super) fn error(line: usize, reason: &'static str) -> ParseError {
    ParseError { line, reason }
}

pub(super) const NO_SECRETS: &str = "no secrets in the file";
pub(super) const FILE_TOO_LARGE: &str = "the file is larger than 1 MiB";
pub(super) const NOT_KEY_VALUE: &str = "expected KEY=value";
pub(super) const UNTERMINATED_QUOTE: &str = "quoted value is not closed";
pub(super) const TEXT_AFTER_QUOTE: &str = "unexpected text after the closing quote";
pub(super) const UNDEFINED_VARIABLE: &str = "${…} names a variable that is not defined earlier in the file";
pub(super) const EMPTY_VALUE: &str = "value is empty";
pub(super) const VALUE_TOO_LONG: &str = "value is longer than 64 KiB";
pub(super) const NOT_BASE64: &str = "value is not valid base64";
pub(super) const BASE64_NOT_UTF8: &str = "base64 value does not decode to UTF-8 text";
pub(super) const DUPLICATE_KEY: &str = "key appears more than once";
pub(super) const TOO_MANY_ENTRIES: &str = "more than 5,000 secrets in one import: split the file";
pub(super) const TOO_MUCH_EXPANDED: &str = "the values add up to more than 4 MiB once ${…} is expanded";
pub(super) const SHELL_EXPORT_ONLY: &str = "shell is an export format: import a dotenv or json export instead";
pub(super) const MISSING_KESTRA_PREFIX: &str = "key does not start with SECRET_";
pub(super) const MISSING_PREFECT_PREFIX: &str = "key does not start with PREFECT__CONTEXT__SECRETS__";
pub(super) const KEY_EMPTY: &str = "key is empty after its prefix";
pub(super) const KEY_TOO_LONG: &str = "key is longer than 128 characters";
pub(super) const KEY_BAD_START: &str = "key must start with a letter or '_'";
pub(super) const KEY_BAD_CHAR: &str = "key may contain only letters, digits and '_'";
pub(super) const NOT_JSON: &str = "not valid JSON";
pub(super) const NOT_JSON_OBJECT: &str = "expected a JSON object whose values are all strings";

/// A key and value as written in the file, before prefix stripping and validation.
pub(super) struct RawEntry {
    pub(super) line: usize,
    pub(super) key: String,
    pub(super) value: Zeroizing<String>,
}

/// Parses an import. `format: None` detects the format: JSON if the text starts with `{`.
/// Otherwise dotenv lines, read as prefect if every key has the Prefect prefix, as kestra if every
/// key starts with `SECRET_` and every value is base64 of UTF-8 text, and as plain dotenv if not.
pub fn parse(text: &str, format: Option<Format>) -> Result<Parsed, ParseError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(error(0, FILE_TOO_LARGE));
    }
    if format == Some(Format::Shell) {
        return Err(error(0, SHELL_EXPORT_ONLY));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let is_json = match format {
        Some(f) => f == Format::Json,
        None => text.trim_start().starts_with('{'),
    };
    let raw = if is_json { parse_json(text)? } else { parse_dotenv(text)? };
    if raw.is_empty() {
        return Err(error(0, NO_SECRETS));
    }
    if let Some(extra) = raw.get(MAX_ENTRIES) {
        return Err(error(extra.line, TOO_MANY_ENTRIES));
    }
    let format = match format {
        Some(f) => f,
        None if is_json => Format::Json,
        None => detect(&raw),
    };
    let prefix = format.key_prefix();

    let mut seen = HashSet::with_capacity(raw.len());
    let mut entries = Vec::with_capacity(raw.len());
    for RawEntry { line, key, value } in raw {
        let Some(name) = key.strip_prefix(prefix) else {
            let reason = if format == Format::Kestra { MISSING_KESTRA_PREFIX } else { MISSING_PREFECT_PREFIX };
            return Err(error(line, reason));
        };
        let key = SecretKey::parse(name).map_err(|e| error(line, key_reason(&e)))?;
        if !seen.insert(key.clone()) {
            return Err(error(line, DUPLICATE_KEY));
        }
        let mut value = match format {
            Format::Kestra => decode_base64(&value).map_err(|r| error(line, r))?,
            // What Prefect reads from a string literal (of a string literal); other text as it is.
            Format::Prefect => match from_python_literal(&value) {
                Some(once) => from_python_literal(&once).unwrap_or(once),
                None => value,
            },
            _ => value,
        };
        let value = SecretValue::parse(std::mem::take(&mut *value)).map_err(|e| error(line, value_reason(&e)))?;
        entries.push(Entry { line, key, value });
    }
    Ok(Parsed { format, entries })
}

pub(super) fn detect(raw: &[RawEntry]) -> Format {
    if raw.iter().all(|e| e.key.starts_with(PREFECT_PREFIX)) {
        Format::Prefect
    } else if raw.iter().all(|e| e.key.starts_with(KESTRA_PREFIX) && decode_base64(&e.value).is_ok()) {
        Format::Kestra
    } else {
        Format::Dotenv
    }
}

pub(super) fn decode_base64(value: &str) -> Result<Zeroizing<String>, &'static str> {
    let bytes = Zeroizing::new(STANDARD.decode(value).map_err(|_| NOT_BASE64)?);
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_owned())),
        Err(_) => Err(BASE64_NOT_UTF8),
    }
}

pub(super) fn key_reason(e: &SecretKeyError) -> &'static str {
    match e {
        SecretKeyError::Empty => KEY_EMPTY,
        SecretKeyError::TooLong => KEY_TOO_LONG,
        SecretKeyError::BadStart => KEY_BAD_START,
        SecretKeyError::BadChar => KEY_BAD_CHAR,
    }
}

pub(super) fn value_reason(e: &SecretValueError) -> &'static str {
    match e {
        SecretValueError::Empty => EMPTY_VALUE,
        SecretValueError::TooLong => VALUE_TOO_LONG,
        SecretValueError::NotUtf8 => BASE64_NOT_UTF8,
    }
}

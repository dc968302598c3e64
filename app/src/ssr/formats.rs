//! Export and import of secrets as text: `kestra`, `dotenv`, `prefect` and `json`.
//!
//! # Formats
//!
//! - **kestra**: `SECRET_<KEY>=<base64>` per line: standard alphabet, with padding, never wrapped
//!   (a PEM key stays on one line). Kestra base64-decodes `SECRET_*` environment variables, which
//!   Docker Compose loads from this file with `env_file`.
//! - **dotenv**: `KEY="…"` per line, read back exactly by python-dotenv's `dotenv_values()`.
//! - **prefect**: `PREFECT__CONTEXT__SECRETS__<KEY>="…"`, quoted as for dotenv (Prefect 1.x reads
//!   local secrets from environment variables named like that). Prefect 1.x does more to a value
//!   than read it (`prefect/configuration.py`): twice over, it expands `$NAME`, `${NAME}` and a
//!   leading `~`, then turns text that Python's `ast.literal_eval` accepts into that value — so
//!   `5432` would come back as a number, `true` as a boolean, `'x'` as `x`. The value is therefore
//!   written as a Python string literal of a Python string literal, with every `$` as `\x24`:
//!   each of Prefect's two passes removes one layer and finds no `$` to expand, and what is left is
//!   exactly the value. One thing no file can carry: Prefect replaces `${…}` in any final config
//!   value with another config key, so a value containing `${` does not reach a flow unchanged.
//! - **json**: one compact object `{"KEY":"value",…}` in the given order, then `\n`.
//! - **shell**: `export KEY='…'` per line, safe to source with `.` in any POSIX shell: inside
//!   single quotes a shell expands nothing (no `$(…)`, no backticks, no `$NAME`), and the only
//!   character that cannot appear there, `'`, is written `'\''` (close, an escaped quote, reopen).
//!   Newlines stay inside the quotes as they are. Export only: a NUL byte cannot be carried by a
//!   shell variable, so a value holding one is refused ([`unrepresentable`]). The dotenv and prefect
//!   files are **not** for sourcing: their double quotes are python-dotenv's, and a shell runs
//!   `$(…)` and backticks inside double quotes.
//!
//! # Quoting rule for dotenv and prefect (checked against python-dotenv 1.2.4)
//!
//! Every value is double-quoted. `\` is written as `\\`, `"` as `\"`, and newline, carriage
//! return and tab as `\n`, `\r` and `\t`, so every entry stays on one line. Each `$` that
//! comes just before a `{` is written as `${=:-$}`. Everything else is written as it is.
//!
//! Why:
//! - python-dotenv's double quotes decode `\\ \' \" \a \b \f \n \r \t \v` and leave any other
//!   backslash as it is. So escaping `\` and `"` is enough to keep any text safe.
//! - python-dotenv reads the file in text mode, and Python turns a raw `\r` or `\r\n` into `\n`
//!   while reading. A carriage return must therefore be written as the escape `\r`. This rules
//!   out single quotes: they have no `\r` escape.
//! - `dotenv_values()` interpolates by default, and it does so after unquoting, for **every**
//!   value, whether quoted with `"`, with `'` or not quoted at all. It replaces `${NAME}` and
//!   `${NAME:-default}` with the value of `NAME` (from earlier entries or the process environment)
//!   or with the default. There is no way to escape this: `\$` is not an escape and stays as `\$`.
//!   Single quotes do not help either: `'${HOME}'` becomes `/root`. A bare `$` (`$HOME`, `$(x)`)
//!   is never interpolated. What python-dotenv does provide is defaults: `${=:-$}` names
//!   the variable `=`, which can never be defined, so it always turns into its default, `$`.
//!   No environment variable name can contain `=` (Python refuses to set one, and POSIX `environ`
//!   splits at the first `=`), and no key in our files can either. So `${HOME}` is written as
//!   `${=:-$}{HOME}`, which python-dotenv turns back into `${HOME}`. A file written this way
//!   is only correct when read *with* interpolation (python-dotenv's default).
//!
//! # Import
//!
//! [`parse`] follows python-dotenv's grammar for the common cases. It accepts blank lines,
//! `# comments`, an `export ` prefix, `KEY = value`, unquoted values (trimmed, ending at a `#`
//! that follows whitespace), single quotes (escapes `\\` and `\'` only), double quotes (the
//! escapes above), quoted values that span lines, and CRLF or CR line endings. Like
//! `dotenv_values()`, it then expands `${NAME}` and `${NAME:-default}`, but it looks names up
//! **only in earlier entries of the same file**. The server's own environment must never leak into
//! a secret. A name that is not defined there and has no default is an error. python-dotenv would
//! quietly read the environment or use an empty string instead.
//!
//! Limits, so that one request cannot take the server's memory or time: the file is at most 1 MiB,
//! holds at most 5,000 entries, and its values add up to at most 4 MiB once expanded. A key may
//! appear once (refused as the line is read, before anything is expanded), and a `${NAME}` is
//! found in a map of the entries before it.
//!
//! Errors name a line and a fixed reason, never any of the input's text. Line `0` means the file
//! as a whole (no secrets in it).

use crate::domain::{SecretKey, SecretKeyError, SecretValue, SecretValueError};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use std::{
    collections::{HashMap, HashSet},
    fmt, io,
    str::FromStr,
};
use zeroize::Zeroizing;

const KESTRA_PREFIX: &str = "SECRET_";
/// The most a value may hold (as `SecretValue`), checked while expanding `${…}`.
const MAX_VALUE_BYTES: usize = crate::domain::secret_value::MAX_BYTES;
/// The largest file an import reads.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;
/// The most entries one import holds: an import is one transaction that holds the writer.
pub const MAX_ENTRIES: usize = 5_000;
/// The most bytes all values of one import may add up to once `${…}` is expanded: without it, one
/// 64 KiB value referenced from 75,000 lines of a 1 MiB file expands to 5 GB.
pub const MAX_PARSED_BYTES: usize = 4 * MAX_FILE_BYTES;
const PREFECT_PREFIX: &str = "PREFECT__CONTEXT__SECRETS__";
/// python-dotenv turns this back into a single `$` (see the module docs).
const LITERAL_DOLLAR: &str = "${=:-$}";

/// An export / import format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Kestra,
    Dotenv,
    Prefect,
    Json,
    Shell,
}

impl Format {
    pub const ALL: [Format; 5] = [Format::Kestra, Format::Dotenv, Format::Prefect, Format::Json, Format::Shell];
    /// The formats an import reads (`shell` is for sourcing only).
    pub const IMPORTS: [Format; 4] = [Format::Kestra, Format::Dotenv, Format::Prefect, Format::Json];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Kestra => "kestra",
            Format::Dotenv => "dotenv",
            Format::Prefect => "prefect",
            Format::Json => "json",
            Format::Shell => "shell",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Kestra | Format::Dotenv | Format::Prefect | Format::Shell => "text/plain; charset=utf-8",
        }
    }

    /// What every key carries in the file in this format.
    fn key_prefix(self) -> &'static str {
        match self {
            Format::Kestra => KESTRA_PREFIX,
            Format::Prefect => PREFECT_PREFIX,
            Format::Dotenv | Format::Json | Format::Shell => "",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format: expected one of kestra, dotenv, prefect, json, shell")]
pub struct FormatError;

impl FromStr for Format {
    type Err = FormatError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Format::ALL.into_iter().find(|f| f.as_str().eq_ignore_ascii_case(s)).ok_or(FormatError)
    }
}

// ---------------------------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------------------------

/// The first key whose value `format` cannot carry (a NUL byte in a shell variable), if any.
pub fn unrepresentable<'a>(
    format: Format,
    secrets: impl IntoIterator<Item = (&'a SecretKey, &'a SecretValue)>,
) -> Option<&'a SecretKey> {
    let refused = |v: &SecretValue| format == Format::Shell && v.expose().contains('\0');
    secrets.into_iter().find(|(_, v)| refused(v)).map(|(k, _)| k)
}

/// Renders every (key, value) pair, in the order given (callers pass them sorted by key).
/// Callers check [`unrepresentable`] first.
pub fn export(format: Format, secrets: &[(SecretKey, SecretValue)]) -> Zeroizing<String> {
    let estimate: usize = secrets
        .iter()
        .map(|(k, v)| {
            let value = match format {
                Format::Kestra => v.expose().len().div_ceil(3) * 4,
                _ => v.expose().len() + v.expose().len() / 8,
            };
            format.key_prefix().len() + k.as_str().len() + value + 8
        })
        .sum();
    let mut out = Buf::with_capacity(estimate + 3);
    match format {
        Format::Json => {
            out.push_str("{");
            for (i, (key, value)) in secrets.iter().enumerate() {
                if i > 0 {
                    out.push_str(",");
                }
                out.push_json_string(key.as_str());
                out.push_str(":");
                out.push_json_string(value.expose());
            }
            out.push_str("}\n");
        }
        Format::Shell => {
            for (key, value) in secrets {
                out.push_str("export ");
                out.push_str(key.as_str());
                out.push_str("='");
                for c in value.expose().chars() {
                    match c {
                        '\'' => out.push_str("'\\''"),
                        c => out.push(c),
                    }
                }
                out.push_str("'\n");
            }
        }
        Format::Kestra | Format::Dotenv | Format::Prefect => {
            for (key, value) in secrets {
                out.push_str(format.key_prefix());
                out.push_str(key.as_str());
                out.push_str("=");
                match format {
                    Format::Kestra => out.push_base64(value.expose()),
                    Format::Prefect => out.push_dotenv_quoted(&python_literal(&python_literal(value.expose()))),
                    _ => out.push_dotenv_quoted(value.expose()),
                }
                out.push_str("\n");
            }
        }
    }
    out.0
}

/// An output buffer that never leaves a stale copy behind. When it needs more room, it copies into
/// a bigger zeroizing allocation and drops the old one, which zeroizes it.
struct Buf(Zeroizing<String>);

impl Buf {
    fn with_capacity(capacity: usize) -> Self {
        Self(Zeroizing::new(String::with_capacity(capacity)))
    }

    fn reserve(&mut self, extra: usize) {
        let needed = self.0.len().saturating_add(extra);
        if needed > self.0.capacity() {
            let mut bigger = Zeroizing::new(String::with_capacity(needed.max(self.0.capacity().saturating_mul(2))));
            bigger.push_str(&self.0);
            self.0 = bigger;
        }
    }

    fn push_str(&mut self, s: &str) {
        self.reserve(s.len());
        self.0.push_str(s);
    }

    fn push(&mut self, c: char) {
        self.reserve(c.len_utf8());
        self.0.push(c);
    }

    fn push_base64(&mut self, value: &str) {
        self.reserve(value.len().div_ceil(3) * 4);
        STANDARD.encode_string(value, &mut self.0);
    }

    fn push_json_string(&mut self, s: &str) {
        serde_json::to_writer(&mut *self, s).expect("serializing a str into memory cannot fail");
    }

    /// The dotenv quoting rule from the module docs.
    fn push_dotenv_quoted(&mut self, value: &str) {
        self.push('"');
        let mut chars = value.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => self.push_str("\\\\"),
                '"' => self.push_str("\\\""),
                '\n' => self.push_str("\\n"),
                '\r' => self.push_str("\\r"),
                '\t' => self.push_str("\\t"),
                '$' if chars.peek() == Some(&'{') => self.push_str(LITERAL_DOLLAR),
                c => self.push(c),
            }
        }
        self.push('"');
    }
}

/// `value` as a single-quoted Python string literal whose only `$` are written `\x24`, so that
/// `os.path.expandvars` finds nothing to expand in it (see the module docs on Prefect).
fn python_literal(value: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(value.len() + value.len() / 4 + 2));
    out.push('\'');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '$' => out.push_str("\\x24"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The text a Python string literal (`'…'` or `"…"`, no prefix) stands for; `None` when `text`
/// is not exactly one such literal, or uses an escape this reader does not know.
fn from_python_literal(text: &str) -> Option<Zeroizing<String>> {
    let quote = text.chars().next().filter(|&q| q == '\'' || q == '"')?;
    let inner = text.strip_prefix(quote)?.strip_suffix(quote)?;
    let mut out = Zeroizing::new(String::with_capacity(inner.len()));
    let mut chars = inner.chars();
    let hex = |chars: &mut std::str::Chars<'_>, n: usize| -> Option<char> {
        let digits: String = chars.by_ref().take(n).collect();
        (digits.len() == n).then(|| u32::from_str_radix(&digits, 16).ok().and_then(char::from_u32)).flatten()
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                '\n' => {}
                c @ ('\\' | '\'' | '"') => out.push(c),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'a' => out.push('\x07'),
                'b' => out.push('\x08'),
                'f' => out.push('\x0c'),
                'v' => out.push('\x0b'),
                'x' => out.push(hex(&mut chars, 2)?),
                'u' => out.push(hex(&mut chars, 4)?),
                'U' => out.push(hex(&mut chars, 8)?),
                _ => return None,
            },
            '\n' | '\r' => return None,
            c if c == quote => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

/// serde_json writes a string as whole UTF-8 pieces: quotes, ASCII escapes, and runs of the input
/// cut at ASCII bytes.
impl io::Write for Buf {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let s = std::str::from_utf8(bytes).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8"))?;
        self.push_str(s);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------------------------

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

fn error(line: usize, reason: &'static str) -> ParseError {
    ParseError { line, reason }
}

const NO_SECRETS: &str = "no secrets in the file";
const FILE_TOO_LARGE: &str = "the file is larger than 1 MiB";
const NOT_KEY_VALUE: &str = "expected KEY=value";
const UNTERMINATED_QUOTE: &str = "quoted value is not closed";
const TEXT_AFTER_QUOTE: &str = "unexpected text after the closing quote";
const UNDEFINED_VARIABLE: &str = "${…} names a variable that is not defined earlier in the file";
const EMPTY_VALUE: &str = "value is empty";
const VALUE_TOO_LONG: &str = "value is longer than 64 KiB";
const NOT_BASE64: &str = "value is not valid base64";
const BASE64_NOT_UTF8: &str = "base64 value does not decode to UTF-8 text";
const DUPLICATE_KEY: &str = "key appears more than once";
const TOO_MANY_ENTRIES: &str = "more than 5,000 secrets in one import: split the file";
const TOO_MUCH_EXPANDED: &str = "the values add up to more than 4 MiB once ${…} is expanded";
const SHELL_EXPORT_ONLY: &str = "shell is an export format: import a dotenv or json export instead";
const MISSING_KESTRA_PREFIX: &str = "key does not start with SECRET_";
const MISSING_PREFECT_PREFIX: &str = "key does not start with PREFECT__CONTEXT__SECRETS__";
const KEY_EMPTY: &str = "key is empty after its prefix";
const KEY_TOO_LONG: &str = "key is longer than 128 characters";
const KEY_BAD_START: &str = "key must start with a letter or '_'";
const KEY_BAD_CHAR: &str = "key may contain only letters, digits and '_'";
const NOT_JSON: &str = "not valid JSON";
const NOT_JSON_OBJECT: &str = "expected a JSON object whose values are all strings";

/// A key and value as written in the file, before prefix stripping and validation.
struct RawEntry {
    line: usize,
    key: String,
    value: Zeroizing<String>,
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

fn detect(raw: &[RawEntry]) -> Format {
    if raw.iter().all(|e| e.key.starts_with(PREFECT_PREFIX)) {
        Format::Prefect
    } else if raw.iter().all(|e| e.key.starts_with(KESTRA_PREFIX) && decode_base64(&e.value).is_ok()) {
        Format::Kestra
    } else {
        Format::Dotenv
    }
}

fn decode_base64(value: &str) -> Result<Zeroizing<String>, &'static str> {
    let bytes = Zeroizing::new(STANDARD.decode(value).map_err(|_| NOT_BASE64)?);
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_owned())),
        Err(_) => Err(BASE64_NOT_UTF8),
    }
}

fn key_reason(e: &SecretKeyError) -> &'static str {
    match e {
        SecretKeyError::Empty => KEY_EMPTY,
        SecretKeyError::TooLong => KEY_TOO_LONG,
        SecretKeyError::BadStart => KEY_BAD_START,
        SecretKeyError::BadChar => KEY_BAD_CHAR,
    }
}

fn value_reason(e: &SecretValueError) -> &'static str {
    match e {
        SecretValueError::Empty => EMPTY_VALUE,
        SecretValueError::TooLong => VALUE_TOO_LONG,
        SecretValueError::NotUtf8 => BASE64_NOT_UTF8,
    }
}

// ----- dotenv --------------------------------------------------------------------------------

/// Whitespace that does not end a line.
fn is_blank(c: char) -> bool {
    c.is_whitespace() && c != '\n' && c != '\r'
}

/// A position in the text, counting lines (1-based).
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn eat_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&keep) {
            self.bump();
        }
        self.text.get(start..self.pos).unwrap_or("")
    }
}

/// `text` with CRLF and lone CR turned into LF (as Python's text mode reads a file, and as a
/// pasted value is meant), in a zeroizing copy.
pub fn lf_line_ends(text: &str) -> Zeroizing<String> {
    let mut normalized = Zeroizing::new(String::with_capacity(text.len()));
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            chars.next_if_eq(&'\n');
            normalized.push('\n');
        } else {
            normalized.push(c);
        }
    }
    normalized
}

/// Reads dotenv lines the way python-dotenv does, then expands `${…}` (see the module docs).
fn parse_dotenv(text: &str) -> Result<Vec<RawEntry>, ParseError> {
    // Like Python's text mode: CRLF and lone CR become LF before anything else.
    let normalized = lf_line_ends(text);

    let mut cur = Cursor { text: &normalized, pos: 0, line: 1 };
    let mut entries: Vec<RawEntry> = Vec::new();
    let mut defined: HashSet<&str> = HashSet::new();
    loop {
        cur.eat_while(char::is_whitespace);
        let Some(first) = cur.peek() else { break };
        let line = cur.line;
        if first == '#' {
            cur.eat_while(|c| c != '\n');
            continue;
        }
        if let Some(after) = cur.rest().strip_prefix("export") {
            if after.starts_with(is_blank) {
                cur.pos += "export".len();
                cur.eat_while(is_blank);
            }
        }
        let key = if cur.peek() == Some('\'') {
            cur.bump();
            let key = cur.eat_while(|c| c != '\'');
            if cur.bump() != Some('\'') {
                return Err(error(line, NOT_KEY_VALUE));
            }
            key
        } else {
            cur.eat_while(|c| c != '=' && c != '#' && !c.is_whitespace())
        };
        cur.eat_while(is_blank);
        if key.is_empty() || cur.bump() != Some('=') {
            return Err(error(line, NOT_KEY_VALUE));
        }
        let blank_after_equals = !cur.eat_while(is_blank).is_empty();
        let value = match cur.peek() {
            // `KEY= # comment` is an empty value; `KEY=#x` is the value `#x`.
            Some('#') if blank_after_equals => Zeroizing::new(String::new()),
            Some(quote @ ('"' | '\'')) => quoted_value(&mut cur, quote, line)?,
            None | Some('\n') => Zeroizing::new(String::new()),
            Some(_) => unquoted_value(&mut cur),
        };
        cur.eat_while(is_blank);
        if cur.peek() == Some('#') {
            cur.eat_while(|c| c != '\n');
        }
        if !matches!(cur.peek(), None | Some('\n')) {
            return Err(error(cur.line, TEXT_AFTER_QUOTE));
        }
        // Refused while reading, before any expansion: the expansions are what cost.
        if entries.len() == MAX_ENTRIES {
            return Err(error(line, TOO_MANY_ENTRIES));
        }
        if !defined.insert(key) {
            return Err(error(line, DUPLICATE_KEY));
        }
        entries.push(RawEntry { line, key: key.to_owned(), value });
    }

    // Each name is defined once (duplicates were refused), so a map of the
    // entries seen so far finds what `${NAME}` refers to in one step.
    let mut earlier: HashMap<String, usize> = HashMap::with_capacity(entries.len());
    let mut total = 0usize;
    for i in 0..entries.len() {
        // No value may be longer than 64 KiB: neither may the text it is expanded from.
        if entries[i].value.len() > MAX_VALUE_BYTES {
            return Err(error(entries[i].line, VALUE_TOO_LONG));
        }
        if entries[i].value.contains("${") {
            let lookup = |name: &str| earlier.get(name).map(|&j| entries[j].value.as_str());
            let expanded = interpolate(&entries[i].value, lookup).map_err(|reason| error(entries[i].line, reason))?;
            entries[i].value = expanded;
        }
        total += entries[i].value.len();
        if total > MAX_PARSED_BYTES {
            return Err(error(entries[i].line, TOO_MUCH_EXPANDED));
        }
        earlier.insert(entries[i].key.clone(), i);
    }
    Ok(entries)
}

/// A quoted value starting at the cursor's opening quote; may span lines.
fn quoted_value(cur: &mut Cursor, quote: char, line: usize) -> Result<Zeroizing<String>, ParseError> {
    cur.bump();
    let start = cur.pos;
    let end = loop {
        let here = cur.pos;
        match cur.bump() {
            None => return Err(error(line, UNTERMINATED_QUOTE)),
            // A backslash always takes the next character with it (as in python-dotenv).
            Some('\\') => {
                if cur.bump().is_none() {
                    return Err(error(line, UNTERMINATED_QUOTE));
                }
            }
            Some(c) if c == quote => break here,
            Some(_) => {}
        }
    };
    let raw = cur.text.get(start..end).unwrap_or("");
    let mut out = Zeroizing::new(String::with_capacity(raw.len()));
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(next) = chars.next() else {
            out.push('\\');
            break;
        };
        let decoded = match (quote, next) {
            (_, '\\') => Some('\\'),
            (_, '\'') => Some('\''),
            ('"', '"') => Some('"'),
            ('"', 'a') => Some('\x07'),
            ('"', 'b') => Some('\x08'),
            ('"', 'f') => Some('\x0c'),
            ('"', 'n') => Some('\n'),
            ('"', 'r') => Some('\r'),
            ('"', 't') => Some('\t'),
            ('"', 'v') => Some('\x0b'),
            _ => None,
        };
        match decoded {
            Some(d) => out.push(d),
            None => {
                out.push('\\');
                out.push(next);
            }
        }
    }
    Ok(out)
}

/// The rest of the line, cut at the first `#` that follows whitespace, then trimmed at the end
/// (python-dotenv: `re.sub(r"\s+#.*", "", value).rstrip()`).
fn unquoted_value(cur: &mut Cursor) -> Zeroizing<String> {
    let raw = cur.eat_while(|c| c != '\n');
    let mut end = raw.len();
    let mut blank_run_start = None;
    for (i, c) in raw.char_indices() {
        if c == '#' {
            if let Some(start) = blank_run_start {
                end = start;
                break;
            }
        }
        if c.is_whitespace() {
            blank_run_start = blank_run_start.or(Some(i));
        } else {
            blank_run_start = None;
        }
    }
    Zeroizing::new(raw.get(..end).unwrap_or("").trim_end().to_owned())
}

/// python-dotenv's `${NAME}` / `${NAME:-default}` expansion, looking names up only in `earlier`.
/// Fails on a name undefined there without a default, and as soon as the value outgrows what a
/// secret may hold: each line could otherwise multiply the one before it (`B=${A}${A}…`) until
/// the server runs out of memory.
fn interpolate<'a>(value: &str, earlier: impl Fn(&str) -> Option<&'a str>) -> Result<Zeroizing<String>, &'static str> {
    let mut out = Buf::with_capacity(value.len().min(MAX_VALUE_BYTES));
    let mut rest = value;
    let push = |out: &mut Buf, text: &str| {
        if out.0.len() + text.len() > MAX_VALUE_BYTES {
            return Err(VALUE_TOO_LONG);
        }
        out.push_str(text);
        Ok(())
    };
    while let Some(at) = rest.find("${") {
        let after = rest.get(at + 2..).unwrap_or("");
        match variable_reference(after) {
            Ok((name, default, used)) => {
                push(&mut out, rest.get(..at).unwrap_or(""))?;
                let defined = earlier(name);
                push(&mut out, defined.or(default).ok_or(UNDEFINED_VARIABLE)?)?;
                rest = after.get(used..).unwrap_or("");
            }
            // Every `${` before `stop` fails the same way (see `variable_reference`):
            // that text is kept as it is, and the search goes on after it, so each
            // byte is looked at a bounded number of times (`${${${…` is no CPU bomb).
            Err(stop) => {
                let keep = at + 2 + stop;
                push(&mut out, rest.get(..keep).unwrap_or(rest))?;
                rest = rest.get(keep..).unwrap_or("");
            }
        }
    }
    push(&mut out, rest)?;
    Ok(out.0)
}

/// Matches python-dotenv's `\$\{(?P<name>[^}:]*)(?::-(?P<default>[^}]*))?\}` on the text after
/// `${`: the name, the default, and how many bytes were used. When it does not match, `Err`
/// says how far no `${` can match either: the name of any `${` before the first `}` or `:`
/// ends at that same place and fails the same way; and with no `}` after it, nothing later
/// can match at all.
fn variable_reference(after: &str) -> Result<(&str, Option<&str>, usize), usize> {
    let Some(name_end) = after.find(['}', ':']) else { return Err(after.len()) };
    let name = after.get(..name_end).unwrap_or("");
    let tail = after.get(name_end..).unwrap_or("");
    if tail.starts_with('}') {
        return Ok((name, None, name_end + 1));
    }
    let default_start = name_end + ":-".len();
    if !tail.starts_with(":-") {
        return Err(name_end);
    }
    let Some(default_len) = after.get(default_start..).and_then(|d| d.find('}')) else { return Err(after.len()) };
    Ok((name, after.get(default_start..default_start + default_len), default_start + default_len + 1))
}

// ----- JSON ----------------------------------------------------------------------------------

/// The object's members in document order, with values in zeroizing strings.
struct JsonPairs(Vec<(String, Zeroizing<String>)>);

impl<'de> Deserialize<'de> for JsonPairs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor;
        impl<'de> Visitor<'de> for PairsVisitor {
            type Value = JsonPairs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of string values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonPairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    let value = Zeroizing::new(map.next_value::<String>()?);
                    pairs.push((key, value));
                }
                Ok(JsonPairs(pairs))
            }
        }
        deserializer.deserialize_map(PairsVisitor)
    }
}

fn parse_json(text: &str) -> Result<Vec<RawEntry>, ParseError> {
    let JsonPairs(pairs) = serde_json::from_str(text).map_err(|e| {
        let reason = if e.is_data() { NOT_JSON_OBJECT } else { NOT_JSON };
        error(e.line().max(1), reason)
    })?;
    let lines = json_key_lines(text);
    Ok(pairs
        .into_iter()
        .enumerate()
        .map(|(i, (key, value))| RawEntry { line: lines.get(i).copied().unwrap_or(1), key, value })
        .collect())
}

/// The line of each member key of the top-level object, in order. The text is valid JSON (serde_json
/// accepted it), so tracking strings and nesting is enough.
fn json_key_lines(text: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let (mut line, mut depth, mut in_string, mut escaped, mut expect_key) = (1, 0usize, false, false, false);
    for c in text.chars() {
        if c == '\n' {
            line += 1;
        }
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                if depth == 1 && expect_key {
                    lines.push(line);
                    expect_key = false;
                }
                in_string = true;
            }
            '{' | '[' => {
                depth += 1;
                expect_key = depth == 1;
            }
            '}' | ']' => depth = depth.saturating_sub(1),
            ',' if depth == 1 => expect_key = true,
            _ => {}
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n-----END PRIVATE KEY-----\n";

    /// Sorted by key, as callers pass them.
    fn tricky() -> Vec<(SecretKey, SecretValue)> {
        let values: &[(&str, &str)] = &[
            ("A_PEM", PEM),
            ("B_UNICODE", "pässwörd ✓ 日本"),
            ("C_EQUALS", "a=b=c"),
            ("D_QUOTES", "say \"hi\" and 'bye'"),
            ("E_BACKSLASH", "back\\slash and trailing \\"),
            ("F_DOLLARS", "$HOME and ${HOME} and $(whoami)"),
            ("G_HASH", "# not a comment"),
            ("H_SPACES", "  leading and trailing spaces  "),
            ("I_TAB", "tab\there"),
            ("J_CRLF", "crlf\r\ninside\rand lone cr"),
            ("K_TRICKY_DOLLARS", "$${X} ${=:-$} ${A:-b} ${ $} $"),
            ("L_ESCAPE_LOOKALIKES", "\\n \\\" \\$ \\x41 \\"),
            ("M_BRACES", "{\"json\": true}"),
            ("N_CONTROL", "bell\x07 vt\x0b ff\x0c nul\0 del\x7f"),
            ("_", "x"),
        ];
        values
            .iter()
            .map(|(k, v)| (SecretKey::parse(k).unwrap(), SecretValue::parse((*v).to_owned()).unwrap()))
            .collect()
    }

    fn one(key: &str, value: &str) -> Vec<(SecretKey, SecretValue)> {
        vec![(SecretKey::parse(key).unwrap(), SecretValue::parse(value.to_owned()).unwrap())]
    }

    fn pairs(parsed: &Parsed) -> Vec<(String, String)> {
        parsed.entries.iter().map(|e| (e.key.to_string(), e.value.expose().to_owned())).collect()
    }

    fn pairs_of(secrets: &[(SecretKey, SecretValue)]) -> Vec<(String, String)> {
        secrets.iter().map(|(k, v)| (k.to_string(), v.expose().to_owned())).collect()
    }

    fn values(text: &str) -> Vec<(String, String)> {
        pairs(&parse(text, None).unwrap())
    }

    fn err(text: &str, format: Option<Format>) -> ParseError {
        parse(text, format).unwrap_err()
    }

    #[test]
    fn every_format_round_trips_the_tricky_values_byte_for_byte() {
        let secrets = tricky();
        for format in Format::IMPORTS {
            let text = export(format, &secrets);
            let parsed = parse(&text, None).unwrap_or_else(|e| panic!("{format}: {e}"));
            assert_eq!(parsed.format, format);
            assert_eq!(pairs(&parsed), pairs_of(&secrets), "{format}");
            let again: Vec<_> = parsed.entries.into_iter().map(|e| (e.key, e.value)).collect();
            assert_eq!(*export(format, &again), *text, "{format}");
        }
    }

    #[test]
    fn an_explicit_format_reads_the_same_values_as_detection() {
        let secrets = tricky();
        for format in Format::IMPORTS {
            let parsed = parse(&export(format, &secrets), Some(format)).unwrap();
            assert_eq!(parsed.format, format);
            assert_eq!(pairs(&parsed), pairs_of(&secrets), "{format}");
        }
    }

    #[test]
    fn entries_of_a_dotenv_export_are_numbered_one_per_line() {
        let parsed = parse(&export(Format::Dotenv, &tricky()), None).unwrap();
        let lines: Vec<usize> = parsed.entries.iter().map(|e| e.line).collect();
        assert_eq!(lines, (1..=tricky().len()).collect::<Vec<_>>());
    }

    #[test]
    fn text_exports_have_one_line_per_secret_and_end_with_a_newline() {
        let secrets = tricky();
        for format in [Format::Kestra, Format::Dotenv, Format::Prefect] {
            let text = export(format, &secrets);
            assert_eq!(text.lines().count(), secrets.len(), "{format}");
            assert!(text.ends_with('\n') && !text.contains('\r'), "{format}");
        }
    }

    #[test]
    fn kestra_lines_never_wrap_even_for_a_5_kb_value_and_decode_back() {
        let big = "0123456789abcdef\n".repeat(300);
        let text = export(Format::Kestra, &one("BIG", &big));
        assert_eq!(text.matches('\n').count(), 1);
        let encoded = text.strip_prefix("SECRET_BIG=").unwrap().strip_suffix('\n').unwrap();
        assert!(encoded.len() > 6000);
        assert_eq!(STANDARD.decode(encoded).unwrap(), big.as_bytes());
        assert_eq!(values(&text), vec![("BIG".to_owned(), big)]);
    }

    #[test]
    fn kestra_uses_the_standard_alphabet_with_padding() {
        assert_eq!(*export(Format::Kestra, &one("K", "a")), "SECRET_K=YQ==\n");
        assert_eq!(*export(Format::Kestra, &one("K", "\u{fb}\u{ff}")), "SECRET_K=w7vDvw==\n");
        assert_eq!(*export(Format::Kestra, &one("K", "??>")), "SECRET_K=Pz8+\n");
    }

    #[test]
    fn dotenv_export_double_quotes_and_escapes_as_documented() {
        let cases = [
            ("plain", r#"K="plain""#),
            ("a\\b\"c'd", r#"K="a\\b\"c'd""#),
            ("l1\nl2\r\n\tx", r#"K="l1\nl2\r\n\tx""#),
            ("$HOME ${HOME} $(x) $", r#"K="$HOME ${=:-$}{HOME} $(x) $""#),
            ("$${X}", r#"K="$${=:-$}{X}""#),
            ("# = ✓", r##"K="# = ✓""##),
        ];
        for (value, line) in cases {
            assert_eq!(*export(Format::Dotenv, &one("K", value)), format!("{line}\n"), "{value:?}");
        }
    }

    #[test]
    fn prefect_export_is_a_literal_of_a_literal_without_dollars_behind_the_prefix() {
        let cases = [
            ("plain", r#"K="'\\'plain\\''""#),
            ("5432", r#"K="'\\'5432\\''""#),
            ("$HOME", r#"K="'\\'\\\\x24HOME\\''""#),
            ("it's", r#"K="'\\'it\\\\\\'s\\''""#),
        ];
        for (value, line) in cases {
            assert_eq!(*export(Format::Prefect, &one("K", value)), format!("{PREFECT_PREFIX}{line}\n"), "{value:?}");
        }
    }

    #[test]
    fn a_file_whose_lines_multiply_each_other_stops_at_the_value_limit() {
        let mut text = format!("A={}\n", "a".repeat(16));
        for (name, prev) in
            ["B", "C", "D", "E", "F", "G", "H", "I"].iter().zip(["A", "B", "C", "D", "E", "F", "G", "H"])
        {
            text.push_str(&format!("{name}={}\n", format!("${{{prev}}}").repeat(16)));
        }
        assert!(text.len() < 1024);
        let e = parse(&text, None).unwrap_err();
        assert_eq!((e.line, e.reason), (5, VALUE_TOO_LONG));
        assert_eq!(parse(&"A=x\n".repeat(300_000), None).unwrap_err().reason, FILE_TOO_LARGE);
    }

    #[test]
    fn shell_export_single_quotes_everything_and_is_export_only() {
        let text = export(Format::Shell, &one("K", "it's $(x) `y` \\ \n\n"));
        assert_eq!(*text, "export K='it'\\''s $(x) `y` \\ \n\n'\n");
        assert_eq!(parse(&text, Some(Format::Shell)).unwrap_err(), error(0, SHELL_EXPORT_ONLY));
        let nul = one("N", "a\0b");
        assert_eq!(unrepresentable(Format::Shell, nul.iter().map(|(k, v)| (k, v))).map(|k| k.as_str()), Some("N"));
        assert_eq!(unrepresentable(Format::Json, nul.iter().map(|(k, v)| (k, v))), None);
    }

    #[test]
    fn an_import_is_bounded_in_entries_and_expanded_bytes_and_refuses_duplicates_before_expanding() {
        let many: String = (0..=MAX_ENTRIES).map(|i| format!("K{i}=v\n")).collect();
        assert_eq!(err(&many, None), error(MAX_ENTRIES + 1, TOO_MANY_ENTRIES));
        let just: String = (0..MAX_ENTRIES).map(|i| format!("K{i}=v\n")).collect();
        assert_eq!(parse(&just, None).unwrap().entries.len(), MAX_ENTRIES);
        let big = format!("X={}\n", "x".repeat(MAX_VALUE_BYTES - 1));
        let wide: String = big.clone() + &(0..100).map(|i| format!("B{i}=${{X}}\n")).collect::<String>();
        assert_eq!(err(&wide, None), error(65, TOO_MUCH_EXPANDED));
        assert_eq!(err(&format!("{big}Y=1\nY=${{X}}${{X}}\n"), None), error(3, DUPLICATE_KEY));
        // A chain of 5,000 references, each to the line before, is read with one lookup each.
        let chain: String = std::iter::once("K0=v\n".to_owned())
            .chain((1..MAX_ENTRIES).map(|i| format!("K{i}=${{K{}}}\n", i - 1)))
            .collect();
        assert!(parse(&chain, None).unwrap().entries.iter().all(|e| e.value.expose() == "v"));
    }

    #[test]
    fn unclosed_references_are_read_in_one_pass_and_kept_as_they_are() {
        // Each of these took minutes when every `${` rescanned the rest of the value.
        for (text, expected) in [
            (format!("X={}", "${".repeat(30_000)), "${".repeat(30_000)),
            (format!("X={}", "${a:-".repeat(12_000)), "${a:-".repeat(12_000)),
            (format!("X={}:x}}", "${".repeat(30_000)), format!("{}:x}}", "${".repeat(30_000))),
        ] {
            assert_eq!(values(&text)[0].1, expected);
        }
        assert_eq!(values("A=1\nX=${A:x}${A}${:-d}${A")[1].1, "${A:x}1d${A");
        let long = format!("X={}", "${".repeat(40_000));
        assert_eq!(err(&long, None), error(1, VALUE_TOO_LONG), "a raw value over 64 KiB");
    }

    #[test]
    fn a_hand_written_prefect_file_reads_as_prefect_would() {
        let text = "PREFECT__CONTEXT__SECRETS__A=plain\nPREFECT__CONTEXT__SECRETS__B=\"'quoted'\"\n";
        let parsed = parse(text, None).unwrap();
        assert_eq!(pairs(&parsed), [("A".to_owned(), "plain".to_owned()), ("B".to_owned(), "quoted".to_owned())]);
        assert_eq!(from_python_literal(r"'a\x24\n\u00e9\''").unwrap().as_str(), "a$\né'");
        for not_one in ["'a'b'", "'a", "b'a'", r"'\q'", "'a\nb'"] {
            assert!(from_python_literal(not_one).is_none(), "{not_one}");
        }
    }

    #[test]
    fn json_export_is_compact_ordered_and_identical_to_serde_json_escaping() {
        let secrets = tricky();
        let mut expected = String::from("{");
        for (i, (k, v)) in secrets.iter().enumerate() {
            if i > 0 {
                expected.push(',');
            }
            expected.push_str(&serde_json::to_string(k.as_str()).unwrap());
            expected.push(':');
            expected.push_str(&serde_json::to_string(v.expose()).unwrap());
        }
        expected.push_str("}\n");
        assert_eq!(*export(Format::Json, &secrets), expected);
        assert_eq!(*export(Format::Json, &one("B", "2")), "{\"B\":\"2\"}\n");
        let all_controls: String = (0u8..0x20).map(char::from).collect();
        let text = export(Format::Json, &one("C", &all_controls));
        assert_eq!(*text, format!("{{\"C\":{}}}\n", serde_json::to_string(&all_controls).unwrap()));
    }

    #[test]
    fn exporting_nothing_gives_an_empty_file_or_an_empty_object() {
        assert_eq!(*export(Format::Dotenv, &[]), "");
        assert_eq!(*export(Format::Json, &[]), "{}\n");
    }

    #[test]
    fn format_names_parse_and_an_unknown_name_lists_the_choices() {
        for format in Format::ALL {
            assert_eq!(format.as_str().parse::<Format>(), Ok(format));
        }
        assert_eq!("JSON".parse::<Format>(), Ok(Format::Json));
        let message = "yaml".parse::<Format>().unwrap_err().to_string();
        for name in ["kestra", "dotenv", "prefect", "json", "shell"] {
            assert!(message.contains(name), "{message}");
        }
    }

    #[test]
    fn only_json_is_served_as_application_json() {
        assert_eq!(Format::Json.content_type(), "application/json");
        for format in [Format::Kestra, Format::Dotenv, Format::Prefect] {
            assert_eq!(format.content_type(), "text/plain; charset=utf-8");
        }
    }

    #[test]
    fn comments_blank_lines_export_prefixes_spaces_and_crlf_are_accepted() {
        let text = "\u{feff}# header\r\n\r\n  export A=1\r\nB = 2 # note\r\n\t'C'=3\r\n   # indented\r\nexportD=4\n";
        let expected = [("A", "1"), ("B", "2"), ("C", "3"), ("exportD", "4")];
        let expected: Vec<_> = expected.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(values(text), expected);
        let lines: Vec<usize> = parse(text, None).unwrap().entries.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 5, 7]);
    }

    #[test]
    fn unquoted_values_are_trimmed_and_end_at_a_hash_after_whitespace() {
        let text = "A=  a b  #c\nB=#kept\nC=x#kept too\nD=1\t# tab comment\nE=it's \"raw\" \\n\n";
        let got = values(text);
        let want = [("A", "a b"), ("B", "#kept"), ("C", "x#kept too"), ("D", "1"), ("E", "it's \"raw\" \\n")];
        assert_eq!(got, want.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>());
    }

    #[test]
    fn single_quotes_decode_only_backslash_and_quote_and_may_span_lines() {
        let got = values("A='a\\\\b \\' \\n \\\" x'\nB='line1\r\nline2' # c\nC=1\n");
        assert_eq!(got[0].1, "a\\b ' \\n \\\" x");
        assert_eq!(got[1].1, "line1\nline2");
        assert_eq!(parse("A='x'\nB='l1\nl2'\nC=1", None).unwrap().entries[2].line, 4);
    }

    #[test]
    fn double_quotes_decode_the_python_dotenv_escapes_and_keep_others() {
        let got = values(r#"A="\\ \' \" \a \b \f \n \r \t \v \$ \x41 \u00e9""#);
        assert_eq!(got[0].1, "\\ ' \" \x07 \x08 \x0c \n \r \t \x0b \\$ \\x41 \\u00e9");
        assert_eq!(values("A=\"multi\nline\"")[0].1, "multi\nline");
    }

    #[test]
    fn interpolation_uses_earlier_entries_and_defaults_like_python_dotenv() {
        let text =
            "HOST=db\nURL=\"pg://${HOST}:${PORT:-5432}/x\"\nLIT='${=:-$}{HOST} $HOST $${HOST}'\nODD=${ ${a:b} ${:-}|\n";
        let got = values(text);
        assert_eq!(got[1].1, "pg://db:5432/x");
        assert_eq!(got[2].1, "${HOST} $HOST $db");
        assert_eq!(got[3].1, "${ ${a:b} |");
    }

    #[test]
    fn an_undefined_variable_is_an_error_rather_than_the_server_environment() {
        assert_eq!(err("A=1\nB=\"${PATH}\"", None), error(2, UNDEFINED_VARIABLE));
        assert_eq!(err("B=${LATER}\nLATER=x", None), error(1, UNDEFINED_VARIABLE));
    }

    #[test]
    fn detection_needs_every_key_prefixed_and_every_kestra_value_decodable() {
        assert_eq!(parse("SECRET_A=YQ==\nSECRET_B=Yg==", None).unwrap().format, Format::Kestra);
        assert_eq!(parse("SECRET_A=YQ==\nB=Yg==", None).unwrap().format, Format::Dotenv);
        assert_eq!(parse("SECRET_A=YQ==\nSECRET_B=not base64", None).unwrap().format, Format::Dotenv);
        assert_eq!(parse("SECRET_A=//79", None).unwrap().format, Format::Dotenv);
        let prefect = parse("PREFECT__CONTEXT__SECRETS__A=1\nPREFECT__CONTEXT__SECRETS__B=2", None).unwrap();
        assert_eq!(
            (prefect.format, pairs(&prefect)[1].clone()),
            (Format::Prefect, (String::from("B"), String::from("2")))
        );
        assert_eq!(parse("PREFECT__CONTEXT__SECRETS__A=1\nB=2", None).unwrap().format, Format::Dotenv);
        assert_eq!(parse("  \n {\"A\":\"1\"}", None).unwrap().format, Format::Json);
    }

    #[test]
    fn json_entries_carry_the_line_of_their_key() {
        let text = "{\n  \"A\": \"x\",\n  \"B\": {\"nested\": 1} ,\n  \"C\":\n\"y\"}";
        assert_eq!(json_key_lines(text), [2, 3, 4]);
        let parsed = parse("{\n \"A\": \"a\\n\\\"q\\\"\",\n \"B\": \"b\"\n}", None).unwrap();
        let lines: Vec<usize> = parsed.entries.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3]);
        assert_eq!(parsed.entries[0].value.expose(), "a\n\"q\"");
    }

    #[test]
    fn every_error_names_its_line_and_none_of_the_content() {
        let big = format!("BIG=\"{}\"", "h".repeat(64 * 1024 + 1));
        let cases: Vec<(String, Option<Format>, usize, &str)> = vec![
            ("".into(), None, 0, NO_SECRETS),
            ("# only hunter2 comments\n\n".into(), None, 0, NO_SECRETS),
            ("{}".into(), None, 0, NO_SECRETS),
            ("A=1\nhunter2\n".into(), None, 2, NOT_KEY_VALUE),
            ("A=1\n=hunter2\n".into(), None, 2, NOT_KEY_VALUE),
            ("A=1\n'CANARY=hunter2\n".into(), None, 2, NOT_KEY_VALUE),
            ("A=1\n\nCANARY-KEY=hunter2".into(), None, 3, KEY_BAD_CHAR),
            ("9CANARY=hunter2".into(), None, 1, KEY_BAD_START),
            (format!("{}=hunter2", "K".repeat(129)), None, 1, KEY_TOO_LONG),
            ("A=1\nB=\"hunter2\nmore\n".into(), None, 2, UNTERMINATED_QUOTE),
            ("A='hunter2\\'".into(), None, 1, UNTERMINATED_QUOTE),
            ("A=1\nB=\"hunter2\" CANARY".into(), None, 2, TEXT_AFTER_QUOTE),
            ("A=\"x\nhunter2\" CANARY".into(), None, 2, TEXT_AFTER_QUOTE),
            ("A=1\nCANARY=".into(), None, 2, EMPTY_VALUE),
            ("A=1\nCANARY= # hunter2".into(), None, 2, EMPTY_VALUE),
            ("A=1\nCANARY=\"\"".into(), None, 2, EMPTY_VALUE),
            (format!("A=1\n{big}"), None, 2, VALUE_TOO_LONG),
            ("A=1\nCANARY=hunter2\nCANARY=hunter3".into(), None, 3, DUPLICATE_KEY),
            ("SECRET_A=YQ==\nSECRET_B=hunter2!".into(), Some(Format::Kestra), 2, NOT_BASE64),
            ("SECRET_A=YQ==\nSECRET_B=//79".into(), Some(Format::Kestra), 2, BASE64_NOT_UTF8),
            ("SECRET_A=YQ==\nCANARY=YQ==".into(), Some(Format::Kestra), 2, MISSING_KESTRA_PREFIX),
            ("SECRET_=YQ==".into(), Some(Format::Kestra), 1, KEY_EMPTY),
            ("SECRET_A=YQ==\nSECRET_A=Yg==".into(), None, 2, DUPLICATE_KEY),
            ("A=1\nCANARY=hunter2".into(), Some(Format::Prefect), 1, MISSING_PREFECT_PREFIX),
            ("{\"A\": \"1\",\n \"CANARY\": \"hunter2\",\n}".into(), None, 3, NOT_JSON),
            ("{\"A\": \"1\",\n \"CANARY\": 5}".into(), None, 2, NOT_JSON_OBJECT),
            ("[\"hunter2\"]".into(), Some(Format::Json), 1, NOT_JSON_OBJECT),
            ("{\"A\": \"1\",\n\n \"CANARY\": \"\"}".into(), None, 3, EMPTY_VALUE),
            ("{\"A\": \"1\",\n\n \"CANARY-X\": \"hunter2\"}".into(), None, 3, KEY_BAD_CHAR),
            ("{\"CANARY\": \"hunter2\",\n \"CANARY\": \"hunter3\"}".into(), None, 2, DUPLICATE_KEY),
        ];
        for (text, format, line, reason) in cases {
            let e = err(&text, format);
            assert_eq!(e, error(line, reason), "{:?}", text.get(..60.min(text.len())));
            let message = e.to_string();
            for content in ["hunter", "CANARY", "KKKK", "hhhh", "YQ", "//79"] {
                assert!(!message.contains(content), "{message}");
            }
        }
    }

    #[test]
    fn debug_of_parsed_entries_never_shows_a_value() {
        let parsed = parse("A=hunter2-canary", None).unwrap();
        let shown = format!("{parsed:?}");
        assert!(shown.contains("\"A\"") && !shown.contains("hunter2"), "{shown}");
    }
}

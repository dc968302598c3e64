//! Writing a namespace's values in each format (see the module docs for the quoting rules).

use super::*;
use crate::domain::{SecretKey, SecretValue};
use base64::engine::general_purpose::STANDARD;
use std::io;
use zeroize::Zeroizing;

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
pub(super) struct Buf(pub(super) Zeroizing<String>);

impl Buf {
    pub(super) fn with_capacity(capacity: usize) -> Self {
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

    pub(super) fn push_str(&mut self, s: &str) {
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

    #[expect(clippy::expect_used, reason = "serializing a str into memory cannot fail")]
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
pub(super) fn python_literal(value: &str) -> Zeroizing<String> {
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
pub(super) fn from_python_literal(text: &str) -> Option<Zeroizing<String>> {
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

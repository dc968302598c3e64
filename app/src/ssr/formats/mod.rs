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

use base64::Engine as _;
use std::{fmt, str::FromStr};

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

mod dotenv;
mod json;
mod reader;
mod writer;
pub use dotenv::*;
use json::*;
pub use reader::*;
pub use writer::*;

#[cfg(test)]
mod tests;

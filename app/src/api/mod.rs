//! Server functions: the only way the UI talks to the server. Each is a public
//! endpoint with a stable URL under `/api`, and each follows one shape:
//! identify the caller → parse arguments → store work → map the error.

pub mod approles;
pub mod audit;
pub mod import;
pub mod namespaces;
pub mod secrets;
pub mod session;
pub mod tokens;
pub mod users;
pub mod webhooks;

use serde::{Deserialize, Serialize};
use std::fmt;
use zeroize::Zeroize;

/// What was typed into a write-only field (a secret value or a password), on
/// its way to the server. It can be deserialized (it arrives in a form post) but
/// its `Debug` is redacted and it is zeroized on drop; the server parses it into
/// a `SecretValue` or `Password` at once.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WriteOnly(String);

impl WriteOnly {
    pub fn new(text: String) -> Self {
        Self(text)
    }

    /// Moves the text out; what is left behind is empty.
    pub fn into_inner(mut self) -> String {
        std::mem::take(&mut self.0)
    }
}

/// Parses a submitted value. The input is zeroized whether or not it parses.
/// Browsers submit a textarea's line breaks as CRLF (the HTML rules), so a
/// pasted SSH key would come back with a `\r` on every line and stop working:
/// CRLF and lone CR become LF here, where forms (JavaScript on or off) arrive.
/// The `/v1` API and the CLI never come through here: they keep bytes exactly.
#[cfg(feature = "ssr")]
pub(crate) fn value_field(name: &str, input: WriteOnly) -> Result<crate::domain::SecretValue, crate::error::AppError> {
    let mut text = zeroize::Zeroizing::new(input.into_inner());
    if text.contains('\r') {
        text = crate::ssr::formats::lf_line_ends(&text);
    }
    crate::ssr::access::field(name, crate::domain::SecretValue::parse(std::mem::take(&mut *text)))
}

impl Drop for WriteOnly {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for WriteOnly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WriteOnly(<redacted>)")
    }
}

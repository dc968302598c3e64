//! Server functions: the only way the UI talks to the server. Each is a public
//! endpoint with a stable URL under `/api`, and each follows one shape:
//! identify the caller → parse arguments → store work → map the error.

pub mod namespaces;
pub mod secrets;

use serde::{Deserialize, Serialize};
use std::fmt;
use zeroize::Zeroize;

/// A value typed into a write-only field, on its way to the server. It can be
/// deserialized (it arrives in a form post) but its `Debug` is redacted and it
/// is zeroized on drop; the server turns it into a `SecretValue` at once.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ValueInput(String);

impl ValueInput {
    pub fn new(text: String) -> Self {
        Self(text)
    }

    /// Moves the text out; what is left behind is empty.
    pub fn into_inner(mut self) -> String {
        std::mem::take(&mut self.0)
    }
}

impl Drop for ValueInput {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for ValueInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ValueInput(<redacted>)")
    }
}

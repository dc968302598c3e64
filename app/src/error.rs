//! `AppError`: the one error type that crosses the wire.
//!
//! Messages are written for the person in front of the form; they never contain
//! a value, SQL, a path on disk or a key id. Details for operators go to the log
//! at the boundary (`ssr::handler`), never to the client.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Please sign in.")]
    Unauthorized,
    /// Unknown user, wrong password, disabled or locked account: one answer for all.
    #[error("Invalid username or password.")]
    SignInFailed,
    #[error("You do not have access to this.")]
    Forbidden,
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with what is stored; `field` names the form field.
    #[error("{message}")]
    Conflict { field: Option<String>, message: String },
    /// A field failed its parsing rule.
    #[error("{message}")]
    Validation { field: String, message: String },
    #[error("Too many attempts. Try again later.")]
    RateLimited,
    /// The request itself was malformed (missing or undecodable arguments).
    #[error("The request was malformed or incomplete.")]
    BadRequest,
    /// The browser could not reach the server.
    #[error("Could not reach the server. Check your connection and try again.")]
    Network,
    /// The server cannot write now (its disk is full or read-only); nothing was changed.
    #[error("The server cannot save changes right now: its disk is full or read-only. Nothing was changed; try again later.")]
    Unavailable,
    #[error("Something went wrong.")]
    Internal,
}

impl AppError {
    pub fn validation(field: &str, message: impl ToString) -> Self {
        Self::Validation { field: field.into(), message: message.to_string() }
    }

    pub fn conflict(field: Option<&str>, message: impl Into<String>) -> Self {
        Self::Conflict { field: field.map(Into::into), message: message.into() }
    }

    /// The form field this error belongs next to, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Validation { field, .. } => Some(field),
            Self::Conflict { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    /// The HTTP status for this error, for API clients and no-JS form posts.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthorized | Self::SignInFailed => 401,
            Self::Forbidden => 403,
            Self::NotFound(_) => 404,
            Self::Conflict { .. } => 409,
            Self::Validation { .. } => 422,
            Self::RateLimited => 429,
            Self::BadRequest => 400,
            Self::Network | Self::Unavailable => 503,
            Self::Internal => 500,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // Argument errors may quote the submitted input (a value): never echo them.
            ServerFnErrorErr::Args(_)
            | ServerFnErrorErr::MissingArg(_)
            | ServerFnErrorErr::Deserialization(_)
            | ServerFnErrorErr::Serialization(_)
            | ServerFnErrorErr::UnsupportedRequestMethod(_) => Self::BadRequest,
            ServerFnErrorErr::Request(_) => Self::Network,
            _ => Self::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_errors_never_echo_the_input() {
        let e = AppError::from_server_fn_error(ServerFnErrorErr::Args("invalid: canary-123".into()));
        assert_eq!(e, AppError::BadRequest);
        assert!(!e.to_string().contains("canary"));
    }

    #[test]
    fn each_error_has_a_client_or_server_status() {
        assert_eq!(AppError::validation("key", "bad").status(), 422);
        assert_eq!(AppError::conflict(Some("key"), "exists").status(), 409);
        assert_eq!(AppError::NotFound("x".into()).status(), 404);
        assert_eq!(AppError::Internal.status(), 500);
    }

    #[test]
    fn internal_errors_say_nothing_specific() {
        assert_eq!(AppError::Internal.to_string(), "Something went wrong.");
    }
}

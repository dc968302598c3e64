//! `AppError`: the one error type that crosses the wire.
//!
//! Messages are written for the person in front of the form; they never contain
//! a value, SQL, a path on disk or a key id. Details for operators go to the log
//! at the boundary (`ssr::access`), never to the client.

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
    /// Several fields failed theirs: a form reports every mistake at once.
    #[error("{}", problems.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join(" "))]
    Invalid { problems: Vec<Problem> },
    #[error("Too many attempts. Try again later.")]
    RateLimited,
    /// The request itself was malformed (missing or undecodable arguments).
    #[error("The request was malformed or incomplete.")]
    BadRequest,
    /// The browser could not reach the server.
    #[error("Could not reach the server. Check your connection and try again.")]
    Network,
    /// The server cannot write now (its disk is full or read-only, or its
    /// database is unavailable); nothing was changed.
    #[error(
        "The server cannot save changes right now: its disk is full or read-only, or its database is unavailable. \
         Nothing was changed; try again later."
    )]
    Unavailable,
    #[error("Something went wrong.")]
    Internal,
}

/// One field's mistake, within [`AppError::Invalid`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

impl AppError {
    pub fn validation(field: &str, message: impl ToString) -> Self {
        Self::Validation { field: field.into(), message: message.to_string() }
    }

    pub fn conflict(field: Option<&str>, message: impl Into<String>) -> Self {
        Self::Conflict { field: field.map(Into::into), message: message.into() }
    }

    /// The form field this error belongs next to, if any (the first, of several).
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Validation { field, .. } => Some(field),
            Self::Conflict { field, .. } => field.as_deref(),
            Self::Invalid { problems } => problems.first().map(|p| p.field.as_str()),
            _ => None,
        }
    }

    /// What this error says about `field`, if anything.
    pub fn message_for(&self, field: &str) -> Option<String> {
        match self {
            Self::Invalid { problems } => problems.iter().find(|p| p.field == field).map(|p| p.message.clone()),
            other => (other.field() == Some(field)).then(|| other.to_string()),
        }
    }

    /// Whether some of this error belongs to none of `fields`: shown for the whole form.
    pub fn beyond(&self, fields: &[&str]) -> bool {
        match self {
            Self::Invalid { problems } => problems.iter().any(|p| !fields.contains(&p.field.as_str())),
            other => other.field().is_none_or(|f| !fields.contains(&f)),
        }
    }

    /// Joins two errors of one form: field mistakes add up; anything else wins.
    fn and(self, other: Self) -> Self {
        match (self.into_problems(), other.into_problems()) {
            (Ok(mut a), Ok(b)) => {
                a.extend(b);
                Self::Invalid { problems: a }
            }
            (Err(e), _) | (_, Err(e)) => e,
        }
    }

    fn into_problems(self) -> Result<Vec<Problem>, Self> {
        match self {
            Self::Validation { field, message } => Ok(vec![Problem { field, message }]),
            Self::Invalid { problems } => Ok(problems),
            other => Err(other),
        }
    }

    /// The HTTP status for this error, for API clients and no-JS form posts.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthorized | Self::SignInFailed => 401,
            Self::Forbidden => 403,
            Self::NotFound(_) => 404,
            Self::Conflict { .. } => 409,
            Self::Validation { .. } | Self::Invalid { .. } => 422,
            Self::RateLimited => 429,
            Self::BadRequest => 400,
            Self::Network | Self::Unavailable => 503,
            Self::Internal => 500,
        }
    }
}

/// Parsed form fields, or every field's mistake at once:
/// `let (key, tags) = every((field("key", …), field("tags", …)))?;`
pub fn every<T: Every>(fields: T) -> Result<T::Output, AppError> {
    fields.every()
}

pub trait Every {
    type Output;
    fn every(self) -> Result<Self::Output, AppError>;
}

macro_rules! every_tuple {
    ($($t:ident $v:ident),+) => {
        impl<$($t),+> Every for ($(Result<$t, AppError>,)+) {
            type Output = ($($t,)+);
            fn every(self) -> Result<Self::Output, AppError> {
                let ($($v,)+) = self;
                let mut error: Option<AppError> = None;
                $(let $v = match $v {
                    Ok(v) => Some(v),
                    Err(e) => {
                        error = Some(match error.take() { Some(prev) => prev.and(e), None => e });
                        None
                    }
                };)+
                match error {
                    Some(e) => Err(e),
                    None => Ok(($($v.expect("no error means every field parsed"),)+)),
                }
            }
        }
    };
}
every_tuple!(A a, B b);
every_tuple!(A a, B b, C c);
every_tuple!(A a, B b, C c, D d);
every_tuple!(A a, B b, C c, D d, E e);

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
    fn every_field_mistake_is_reported_at_once() {
        let ok: Result<u8, AppError> = Ok(1);
        assert_eq!(every((ok.clone(), Ok::<_, AppError>("x"))), Ok((1, "x")));
        let e = every((
            Err::<u8, _>(AppError::validation("key", "Bad key.")),
            ok.clone(),
            Err::<u8, _>(AppError::validation("tags", "Bad tags.")),
        ))
        .unwrap_err();
        assert_eq!(e.status(), 422);
        assert_eq!(e.message_for("key").as_deref(), Some("Bad key."));
        assert_eq!(e.message_for("tags").as_deref(), Some("Bad tags."));
        assert_eq!(e.message_for("value"), None);
        assert!(!e.beyond(&["key", "tags"]) && e.beyond(&["key"]));
        // Anything but a field mistake stands alone: no point listing typos to someone signed out.
        let e = every((Err::<u8, _>(AppError::validation("key", "Bad key.")), Err::<u8, _>(AppError::Unauthorized)))
            .unwrap_err();
        assert_eq!(e, AppError::Unauthorized);
    }

    #[test]
    fn internal_errors_say_nothing_specific() {
        assert_eq!(AppError::Internal.to_string(), "Something went wrong.");
    }
}

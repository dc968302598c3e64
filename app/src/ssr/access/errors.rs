//! The one error map: every store, account, token, import and keyring failure becomes
//! an `AppError` (server functions) or a `ReadError` (workload reads) here, and nowhere else.

use crate::error::AppError;
use crate::ssr::db::sql::SqlError;
use crate::ssr::store::{
    accounts::AccountError, approles::AppRoleError, import::ImportError, tokens::TokenError, webhooks::WebhookError,
    StoreError,
};

/// Why a workload request is refused or failed. Both API surfaces map this to
/// their own wire shapes; the text is safe to show (never a value or token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("missing token: send Authorization: Bearer TOKEN")]
    MissingToken,
    #[error("invalid token")]
    BadToken,
    #[error("token expired")]
    Expired,
    #[error("token revoked")]
    Revoked,
    #[error("outside the token's scope")]
    OutOfScope,
    #[error("namespace not found")]
    NamespaceNotFound,
    #[error("secret not found")]
    SecretNotFound,
    #[error("invalid {field}: {message}")]
    BadName { field: &'static str, message: String },
    #[error("too many reads are waiting; try again shortly")]
    Busy,
    /// The audit trail could not be written (a full or read-only disk): no value is disclosed unrecorded.
    #[error("the read could not be recorded in the audit trail; try again later")]
    Unrecorded,
    /// The database cannot be reached (a failover under way): nothing was read or changed.
    #[error("the database is unavailable; nothing was read or changed: try again shortly")]
    Unavailable,
    #[error("internal error")]
    Internal,
}

impl ReadError {
    /// The HTTP status of the native API (the Vault surface has its own rules).
    pub fn status(&self) -> u16 {
        match self {
            Self::MissingToken | Self::BadToken | Self::Expired | Self::Revoked => 401,
            Self::OutOfScope => 403,
            Self::NamespaceNotFound | Self::SecretNotFound => 404,
            Self::BadName { .. } => 400,
            Self::Busy | Self::Unrecorded | Self::Unavailable => 503,
            Self::Internal => 500,
        }
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::BadToken => "bad_token",
            Self::Expired => "token_expired",
            Self::Revoked => "token_revoked",
            Self::OutOfScope => "out_of_scope",
            Self::NamespaceNotFound => "namespace_not_found",
            Self::SecretNotFound => "secret_not_found",
            Self::BadName { .. } => "bad_name",
            Self::Busy => "busy",
            Self::Unrecorded => "unrecorded",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }

    /// The token itself was refused (not the request made with it).
    pub fn is_token_refusal(&self) -> bool {
        matches!(self, Self::MissingToken | Self::BadToken | Self::Expired | Self::Revoked)
    }

    /// Refused (the caller's doing), not failed (ours).
    pub fn verb(&self) -> &'static str {
        if matches!(self, Self::Internal | Self::Unrecorded | Self::Unavailable) {
            "failed"
        } else {
            "refused"
        }
    }
}

/// Maps a store failure to what the user is told. Internal failures are logged
/// here with their detail (never a value: store errors carry none) and reach
/// the client as "Something went wrong".
pub fn store_error(err: StoreError) -> AppError {
    match err {
        StoreError::NamespaceNotFound => AppError::NotFound("Namespace not found.".into()),
        StoreError::NamespaceExists => AppError::conflict(Some("namespace"), "That namespace already exists."),
        StoreError::NamespaceNotEmpty { secrets, children } => AppError::conflict(
            None,
            format!(
                "Only an empty namespace can be deleted: this one has {secrets} secrets (deleted ones count until \
                 purged) and {children} child namespaces."
            ),
        ),
        StoreError::SecretNotFound => AppError::NotFound("Secret not found.".into()),
        StoreError::SecretExists => {
            AppError::conflict(Some("key"), "A secret with this key already exists here. Rotate it instead.")
        }
        StoreError::SecretDeleted => AppError::conflict(
            Some("key"),
            "A deleted secret with this key exists here. Restore it from its page first.",
        ),
        StoreError::SecretNotDeleted => AppError::conflict(None, "This secret is not deleted."),
        StoreError::VersionNotFound => AppError::NotFound("Version not found.".into()),
        StoreError::VersionDestroyed(v) => AppError::conflict(
            Some("version"),
            format!("Version {v} is past the retention limit; its value was destroyed and cannot be restored."),
        ),
        StoreError::Stale { expected, version, by, at } => AppError::conflict(
            Some("value"),
            format!(
                "{by} rotated this secret to version {version} at {at}, after this page showed version {expected}. \
                 Your value was not saved: look at the new version, then rotate again if yours should replace it."
            ),
        ),
        StoreError::SameValue => AppError::validation(
            "value",
            "The new value equals the current one: nothing was stored. Paste the new value.",
        ),
        StoreError::Database(e) if e.unavailable() => unavailable(&e),
        other => internal("store", &other),
    }
}

/// A database failure as the user is told it: a write the disk or the
/// database refused is 503 "nothing was changed" (as for every write);
/// anything else is internal.
pub fn database_error(what: &str, err: &SqlError) -> AppError {
    if err.unavailable() {
        unavailable(err)
    } else {
        internal(what, err)
    }
}

/// Logs a write the disk or database refused, and tells the client plainly.
pub(super) fn unavailable(err: &SqlError) -> AppError {
    tracing::error!(error = %err, "a write failed: the disk is full or read-only, or the database is unavailable");
    AppError::Unavailable
}

/// Maps an account failure to what the admin is told.
pub fn account_error(err: AccountError) -> AppError {
    match err {
        AccountError::UserExists => AppError::conflict(Some("username"), "That username is taken."),
        AccountError::UserNotFound => AppError::NotFound("User not found.".into()),
        AccountError::GrantExists => AppError::conflict(Some("role"), "The user already has that grant."),
        AccountError::GrantNotFound => AppError::NotFound("Grant not found.".into()),
        AccountError::AdminExists => AppError::conflict(
            None,
            "An admin exists already: the setup link makes the first one only. Sign in instead.",
        ),
        AccountError::LastAdmin => {
            AppError::conflict(None, "That would leave no enabled admin of every namespace. Add another admin first.")
        }
        AccountError::Database(e) if e.unavailable() => unavailable(&e),
        other => internal("accounts", &other),
    }
}

/// Maps an AppRole failure to what the admin is told.
pub fn approle_error(e: AppRoleError) -> AppError {
    match e {
        AppRoleError::NameTaken => {
            AppError::conflict(Some("name"), "An AppRole with that name exists. Pick another name.")
        }
        AppRoleError::NotFound => AppError::NotFound("AppRole not found.".into()),
        AppRoleError::Revoked => AppError::conflict(None, "That AppRole is revoked."),
        AppRoleError::NoSuchSecretId => {
            AppError::validation("accessor", "No live secret id of this AppRole has that accessor.")
        }
        AppRoleError::Database(e) => database_error("approles", &e),
        AppRoleError::Token(e) => token_error(e),
        other => internal("approles", &other),
    }
}

/// Maps a token failure to what the admin is told.
pub fn token_error(e: TokenError) -> AppError {
    match e {
        TokenError::NameTaken => AppError::conflict(Some("name"), "A token with that name exists. Pick another name."),
        TokenError::NotFound => AppError::NotFound("Token not found.".into()),
        TokenError::AlreadyRevoked => AppError::conflict(None, "That token is already revoked."),
        // A full or read-only disk: 503 "nothing was changed", like every other write.
        TokenError::Database(e) => database_error("tokens", &e),
        other => internal("tokens", &other),
    }
}

/// Maps a webhook failure to what the admin is told.
pub fn webhook_error(e: WebhookError) -> AppError {
    match e {
        WebhookError::NameTaken(_) => {
            AppError::conflict(Some("name"), "A webhook with that name exists. Pick another name.")
        }
        WebhookError::NotFound(_) => AppError::NotFound("Webhook not found.".into()),
        WebhookError::Database(e) => database_error("webhooks", &e),
        WebhookError::Store(e) => store_error(e),
        other => internal("webhooks", &other),
    }
}

/// Maps an import failure to what the editor is told.
pub fn import_error(e: ImportError) -> AppError {
    match e {
        ImportError::Deleted(_) => AppError::validation("content", e),
        ImportError::Store(e) => store_error(e),
    }
}

/// Logs an unexpected failure and hides it from the client.
pub fn internal(what: &str, err: &dyn std::fmt::Display) -> AppError {
    tracing::error!(error = %err, "{what} failure");
    AppError::Internal
}

/// What a store failure means to a workload.
pub fn read_store_error(e: StoreError) -> ReadError {
    match e {
        StoreError::NamespaceNotFound => ReadError::NamespaceNotFound,
        StoreError::SecretNotFound => ReadError::SecretNotFound,
        StoreError::Database(e) if e.unavailable() => unavailable_read(&e),
        other => internal_read("workload read", &other),
    }
}

/// A workload request the database could not serve (lost, a standby, a
/// failover): logged, and 503, as writes are.
pub fn unavailable_read(e: &SqlError) -> ReadError {
    tracing::error!(error = %e, "a workload request failed: the database is unavailable");
    ReadError::Unavailable
}

/// Logs an unexpected failure of a workload request and hides it from the client.
pub fn internal_read(what: &str, e: &dyn std::fmt::Display) -> ReadError {
    tracing::error!(error = %e, "{what} failed");
    ReadError::Internal
}

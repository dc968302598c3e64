//! What every server function does the same way: find the caller, parse
//! arguments into domain types, run store work off the runtime, and turn
//! failures into an `AppError`, logged once here. (The server gives each error
//! response the status of its `AppError`.)

use super::{state::AppState, store::StoreError};
use crate::{
    domain::{SecretValue, Timestamp},
    error::AppError,
};
use leptos::prelude::*;

/// The person a request acts for.
///
/// Until accounts exist, the server listens on loopback only (the server refuses
/// any other address) and every caller is the machine's local operator.
pub struct Caller {
    pub name: String,
}

/// Identifies the caller. Every server function calls this first.
pub fn caller() -> Result<Caller, AppError> {
    Ok(Caller { name: "local".to_owned() })
}

impl Caller {
    pub fn stamp(&self) -> super::store::Stamp<'_> {
        super::store::Stamp { actor: &self.name, at: Timestamp::now() }
    }
}

pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the Leptos context");
        AppError::Internal
    })
}

/// Parses one form field, naming the field in the error.
pub fn field<T, E: std::fmt::Display>(name: &str, parsed: Result<T, E>) -> Result<T, AppError> {
    parsed.map_err(|e| AppError::validation(name, e))
}

/// Parses a submitted value. The input is zeroized whether or not it parses.
pub fn value_field(name: &str, input: crate::api::ValueInput) -> Result<SecretValue, AppError> {
    field(name, SecretValue::parse(input.into_inner()))
}

/// Maps a store failure to what the user is told. Internal failures are logged
/// here with their detail (never a value: store errors carry none) and reach
/// the client as "Something went wrong".
pub fn store_error(err: StoreError) -> AppError {
    match err {
        StoreError::NamespaceNotFound => AppError::NotFound("Namespace not found.".into()),
        StoreError::NamespaceExists => AppError::conflict(Some("namespace"), "That namespace already exists."),
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
        other => {
            tracing::error!(error = %other, "store failure");
            AppError::Internal
        }
    }
}

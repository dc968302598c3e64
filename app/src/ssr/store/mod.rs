//! Namespaces and secrets in SQLite. Free of Leptos: each function takes a
//! connection and domain types and returns `Result<_, StoreError>`, so it is
//! tested directly on a real file. Every write runs in one transaction.
//!
//! Values enter as [`SecretValue`] and are sealed (see `crypto`) before they touch
//! a statement; reads for the UI return metadata types with no value field.
//!
//! Layer 4: uses `audit`, `db`, `crypto` and `auth`; never names Leptos,
//! axum or a request, and never reads the clock (a `Stamp` carries the time).

use crate::domain::Timestamp;
use crate::ssr::crypto::{CryptoError, SecretUid};
use crate::ssr::db::sql::SqlError;

/// Versions whose ciphertext is kept unless configured otherwise; older ones
/// keep only their metadata.
pub const RETAINED_VERSIONS: u32 = 10;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("namespace not found")]
    NamespaceNotFound,
    #[error("namespace already exists")]
    NamespaceExists,
    #[error("namespace is not empty: {secrets} secrets, {children} child namespaces")]
    NamespaceNotEmpty { secrets: i64, children: i64 },
    #[error("secret not found")]
    SecretNotFound,
    #[error("secret already exists")]
    SecretExists,
    #[error("secret is deleted")]
    SecretDeleted,
    #[error("secret is not deleted")]
    SecretNotDeleted,
    #[error("version not found")]
    VersionNotFound,
    #[error("version {0} was destroyed by the retention limit")]
    VersionDestroyed(u32),
    /// Someone stored another version since the writer was shown `expected`.
    #[error("{by} rotated it to version {version} at {at}")]
    Stale { expected: u32, version: u32, by: String, at: Timestamp },
    /// A rotation would store the current value again.
    #[error("the new value equals the current one")]
    SameValue,
    #[error("the database has data keys but no key check; refusing to guess")]
    MissingKeyCheck,
    #[error("the database has a key check but no base key (meta.base_key); refusing to guess")]
    MissingBaseKey,
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("database error: {0}")]
    Database(#[from] SqlError),
    #[error(transparent)]
    Rows(#[from] crate::ssr::store::rows::RowError),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Database(e.into())
    }
}

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Errors that wrap `StoreError` take the engine layer's through it.
macro_rules! from_sql_error {
    ($($t:ty),*) => {$(
        impl From<SqlError> for $t {
            fn from(e: SqlError) -> Self {
                StoreError::from(e).into()
            }
        }
    )*};
}
from_sql_error!(import::ImportError, keyring::RetireError);

/// Who performs a write and when; recorded in the metadata.
#[derive(Clone, Copy, Debug)]
pub struct Stamp<'a> {
    pub actor: &'a str,
    pub at: Timestamp,
}

/// The current value's creation time, and when the rotation policy wants the
/// next one.
macro_rules! value_since {
    () => {
        "(SELECT v.created_at FROM secret_versions v WHERE v.secret_id = s.id AND v.version = s.version)"
    };
}
// A CASE, not COALESCE: the version lookup runs only for secrets with an
// every-N-days policy (listing 1,000 secrets, it was two lookups each).
macro_rules! due {
    () => {
        concat!(
            "CASE WHEN s.rotate_by IS NOT NULL THEN s.rotate_by WHEN s.rotate_every_days IS NOT NULL THEN ",
            value_since!(),
            " + s.rotate_every_days * 86400 END"
        )
    };
}

/// When a workload last read the secret's value (see `audit::reads`).
macro_rules! last_read {
    () => {
        "(SELECT max(r.last_at) FROM secret_reads r WHERE r.namespace = n.path AND r.key = s.key)"
    };
}

const META_COLUMNS: &str = concat!(
    "n.path, s.key, s.description, s.version, s.created_at, s.created_by,
    s.updated_at, s.updated_by, s.deleted_at, s.deleted_by, ",
    value_since!(),
    ", s.rotate_by, s.rotate_every_days, ",
    due!(),
    ", ",
    due!(),
    " <= unixepoch(), s.tags, ",
    last_read!()
);

/// What listing, filtering and paging a namespace's secrets needs; the rest of
/// the metadata is read for the page shown only ([`fill_metas`]): at 1,000
/// secrets, reading all of it for every row cost most of the page's time.
const LISTING_COLUMNS: &str =
    concat!("n.path, s.key, s.description, s.tags, ", due!(), " <= unixepoch(), s.created_at, ", last_read!());

/// Live secrets, namespaces, active tokens, enabled users and audit entries (`/metrics`).
pub fn stored_counts<S: crate::ssr::db::sql::Sql + ?Sized>(db: &S) -> Result<Vec<(&'static str, i64)>, SqlError> {
    let queries = [
        ("secrets", "SELECT count(*) FROM secrets WHERE deleted_at IS NULL"),
        ("namespaces", "SELECT count(*) FROM namespaces"),
        ("tokens", "SELECT count(*) FROM tokens WHERE revoked_at IS NULL"),
        ("users", "SELECT count(*) FROM users WHERE disabled = 0"),
        ("audit_entries", "SELECT COALESCE(MAX(id), 0) FROM audit"),
    ];
    queries.into_iter().map(|(kind, sql)| Ok((kind, db.query(sql, &[])?[0][0].int()?))).collect()
}

/// A `secrets.uid` column: NULL for secrets made before format 2.
pub(super) fn uid_of(value: &crate::ssr::db::sql::Value<'_>) -> Result<Option<SecretUid>, SqlError> {
    match value {
        crate::ssr::db::sql::Value::Null => Ok(None),
        other => SecretUid::from_slice(other.blob()?)
            .map(Some)
            .ok_or_else(|| SqlError::Type("a stored secret uid is not 16 bytes".into())),
    }
}

pub mod accounts;
pub mod approles;
pub mod copy;
pub mod fingerprints;
pub mod handovers;
pub mod import;
pub mod jwt_roles;
pub mod keyring;
pub mod logins;
mod namespaces;
pub mod required;
mod resolve;
pub mod rows;
pub mod second_factors;
mod secrets;
pub mod sso;
pub mod throttles;
pub mod tokens;
pub mod webhooks;
pub use namespaces::*;
pub use resolve::*;
pub use secrets::*;

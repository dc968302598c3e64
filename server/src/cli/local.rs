//! What the local commands (`user add`, `token …`, `import`, `audit …`) share:
//! opening the data directory's database with the root key, as `serve` does.

use super::RunError;
use crate::config::KeyArgs;
use app::domain::audit::Action;
use app::ssr::audit::{Actor, Client, NewEntry};
use app::ssr::{
    crypto::{CryptoError, RootKey},
    db::Source,
    state::{AppState, AuthSettings, OpenError},
    store::StoreError,
};

/// Opens (creating and migrating if needed) the store, checking the root key.
pub async fn open_state(source: Source, root: RootKey, settings: AuthSettings) -> Result<AppState, RunError> {
    let shown = source.to_string();
    app::ssr::db::run_blocking(move || AppState::open_source(&source, &root, &settings)).await.map_err(|e| match e {
        OpenError::Store(StoreError::Crypto(CryptoError::WrongRootKey)) => RunError::WrongRootKey(shown),
        other => RunError::Database(shown, other),
    })
}

/// The data directory's state for a local command: the root key from the
/// environment or key file, and a database that must already exist (a local
/// command never creates an empty one by mistake) unless `create` is set.
pub async fn open(key: &KeyArgs, create: bool) -> Result<AppState, RunError> {
    crate::config::refuse_root_in_others_dir(&key.data_dir).map_err(RunError::User)?;
    let source = key.source()?;
    if !create && !exists(&source).await? {
        return Err(RunError::User(format!("no database at {source}")));
    }
    let (root, _) = key.root_key()?;
    open_state(source, root, AuthSettings::default()).await
}

/// Whether the store is there (see `Source::exists`); PostgreSQL unreachable is an error.
pub async fn exists(source: &Source) -> Result<bool, RunError> {
    let probe = source.clone();
    app::ssr::db::run_blocking(move || probe.exists())
        .await
        .map_err(|e| RunError::User(format!("cannot reach the database at {source}: {e}")))
}

/// The audit entry of a change a local command makes: by `(command line)`,
/// from `local`, now.
pub fn entry(action: Action, namespace: &str, key: impl std::fmt::Display, outcome: String) -> NewEntry {
    NewEntry {
        at: app::ssr::clock::now(),
        actor: Actor::CommandLine,
        action,
        namespace: namespace.to_owned(),
        key: key.to_string(),
        version: None,
        client: Client::Local,
        outcome,
    }
}

/// Runs `change` on the store with its audit entry, in one transaction; the
/// entry's outcome is what `outcome` says of the result (`None`: plain ok).
pub async fn audited<T: Send + 'static, E: From<app::ssr::db::sql::SqlError> + std::fmt::Display + Send + 'static>(
    state: &AppState,
    record: NewEntry,
    outcome: impl FnOnce(&T) -> Option<String> + Send + 'static,
    change: impl FnOnce(&dyn app::ssr::db::sql::Sql, &app::ssr::db::RowKey) -> Result<T, E> + Send + 'static,
) -> Result<T, RunError> {
    let (chain, rows) = (state.audit.clone(), state.rows.clone());
    state
        .db
        .call(move |c| app::ssr::audit::with_entry(c, &chain, record, |v| (None, outcome(v)), |c| change(&*c, &rows)))
        .await
        .map_err(|e: E| RunError::User(e.to_string()))
}

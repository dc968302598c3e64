//! What the local commands (`user add`, `token …`, `import`, `audit …`) share:
//! opening the data directory's database with the root key, as `serve` does.

use super::RunError;
use crate::config::KeyArgs;
use app::ssr::{
    crypto::{CryptoError, RootKey},
    state::{AppState, AuthSettings, OpenError},
    store::StoreError,
};

/// Opens (creating and migrating if needed) the database, checking the root key.
pub async fn open_state(
    db_path: std::path::PathBuf,
    root: RootKey,
    settings: AuthSettings,
) -> Result<AppState, RunError> {
    let shown = db_path.display().to_string();
    app::ssr::db::run_blocking(move || AppState::open(&db_path, &root, &settings)).await.map_err(|e| match e {
        OpenError::Store(StoreError::Crypto(CryptoError::WrongRootKey)) => RunError::WrongRootKey(shown),
        other => RunError::Database(shown, other),
    })
}

/// The data directory's state for a local command: the root key from the
/// environment or key file, and a database that must already exist (a local
/// command never creates an empty one by mistake) unless `create` is set.
pub async fn open(key: &KeyArgs, create: bool) -> Result<AppState, RunError> {
    crate::config::refuse_root_in_others_dir(&key.data_dir).map_err(RunError::User)?;
    if !create && !key.db_path().is_file() {
        return Err(RunError::User(format!("no database at {}", key.db_path().display())));
    }
    let (root, _) = key.root_key()?;
    open_state(key.db_path(), root, AuthSettings::default()).await
}

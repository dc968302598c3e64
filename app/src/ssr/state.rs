//! `AppState`: what every request handler and server function shares.

use super::{
    crypto::{Keyring, RootKey},
    db::{self, Db},
    store::{self, StoreError},
};
use crate::domain::Timestamp;
use std::{path::Path, sync::Arc};

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub keyring: Arc<Keyring>,
}

impl AppState {
    /// Opens the database at `path`, migrates it, verifies `root` against its key
    /// check (a wrong key fails with `StoreError::Crypto(WrongRootKey)`) and
    /// unwraps the keyring. Blocking: call before the runtime serves requests.
    pub fn open(path: &Path, root: &RootKey) -> Result<Self, StoreError> {
        let mut conn = db::open(path)?;
        let keyring = store::load_keyring(&mut conn, root, Timestamp::now())?;
        Ok(Self { db: Db::new(conn), keyring: Arc::new(keyring) })
    }
}

//! `strongroom keyring list|rotate|retire`, `strongroom rewrap` and
//! `strongroom rekey`: changing the keys while the server runs (see
//! `app::ssr::store::keyring`). Each opens the database itself, refuses a wrong root key
//! and records what it did in the audit trail.

use super::RunError;
use crate::config::{read_key_file, KeyArgs};
use app::ssr::{
    crypto::{CryptoError, RootKey},
    db,
    store::keyring::{self, Rewrapped, Unlocked},
    store::StoreError,
};
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum KeyringCommand {
    /// List the data keys and how many stored versions each seals.
    List {
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Make a new data key the newest: new values are sealed with it; older keys still open theirs.
    Rotate {
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Delete an old data key; refused while any stored version still uses it.
    Retire {
        id: i64,
        #[command(flatten)]
        key: KeyArgs,
    },
}

/// The database and what the root key unlocks in it.
struct Opened {
    conn: db::Conn,
    root: RootKey,
    unlocked: Unlocked,
}

fn open(key: &KeyArgs) -> Result<Opened, RunError> {
    let source = key.source()?;
    let shown = source.to_string();
    let present = source.exists().map_err(|e| RunError::User(format!("cannot reach the database at {shown}: {e}")))?;
    if !present {
        return Err(RunError::User(format!("no database at {shown}")));
    }
    let (root, _) = key.root_key()?;
    let mut conn = source.connect(false).map_err(|e| RunError::Database(shown.clone(), StoreError::from(e).into()))?;
    let unlocked = keyring::unlock(&mut conn, &root, app::ssr::clock::now()).map_err(|e| store_error(&shown, e))?;
    Ok(Opened { conn, root, unlocked })
}

/// The store as messages name it (a URL without its password).
fn shown(key: &KeyArgs) -> String {
    key.source().map_or_else(|_| key.db_path().display().to_string(), |s| s.to_string())
}

fn store_error(shown: &str, e: StoreError) -> RunError {
    match e {
        StoreError::Crypto(CryptoError::WrongRootKey) => RunError::WrongRootKey(shown.to_owned()),
        other => RunError::Database(shown.to_owned(), other.into()),
    }
}

/// Runs blocking database work off the async runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, RunError> + Send + 'static) -> Result<T, RunError> {
    db::run_blocking(f).await
}

pub async fn keyring(command: KeyringCommand) -> Result<(), RunError> {
    match command {
        KeyringCommand::List { key } => blocking(move || list(&key)).await,
        KeyringCommand::Rotate { key } => blocking(move || rotate(&key)).await,
        KeyringCommand::Retire { id, key } => blocking(move || retire(&key, id)).await,
    }
}

fn list(key: &KeyArgs) -> Result<(), RunError> {
    let opened = open(key)?;
    let shown = shown(key);
    let keys = keyring::list(&opened.conn).map_err(|e| store_error(&shown, e))?;
    let newest = keys.last().map(|k| k.id);
    println!("{:>4}  {:<20}  {:>10}", "id", "created (UTC)", "versions");
    for k in keys {
        let mark = if Some(k.id) == newest { "  (newest)" } else { "" };
        println!("{:>4}  {:<20}  {:>10}{mark}", k.id, k.created_at.to_string(), k.versions);
    }
    Ok(())
}

fn rotate(key: &KeyArgs) -> Result<(), RunError> {
    let mut opened = open(key)?;
    let shown = shown(key);
    let chain = opened.unlocked.audit_key();
    let id = keyring::rotate(&mut opened.conn, &opened.root, &chain, app::ssr::clock::now())
        .map_err(|e| store_error(&shown, e))?;
    println!("data key {id} is the newest; run `strongroom rewrap` to seal the stored versions with it");
    Ok(())
}

fn retire(key: &KeyArgs, id: i64) -> Result<(), RunError> {
    let mut opened = open(key)?;
    let chain = opened.unlocked.audit_key();
    keyring::retire(&mut opened.conn, &chain, id, app::ssr::clock::now()).map_err(|e| RunError::User(e.to_string()))?;
    println!("data key {id} retired");
    Ok(())
}

/// `strongroom rewrap`: every stored version re-sealed under the newest data
/// key, `batch` versions per transaction, so the server's writes wait at most
/// one batch. Killed, it resumes where it stopped when run again.
pub async fn rewrap(key: KeyArgs, batch: usize) -> Result<(), RunError> {
    blocking(move || {
        let mut opened = open(&key)?;
        let shown = shown(&key);
        let started = app::ssr::clock::instant();
        let mut total = Rewrapped::default();
        // Twice over: the second pass finds what a server still holding an
        // older newest key wrote during the first (none, normally).
        for _pass in 0..2 {
            let mut cursor = 0;
            // Capped: a batch holds the write lock, and the server's writes wait at most 5 s.
            let batch = batch.clamp(1, 10_000);
            while let Some(done) = keyring::rewrap_batch(&mut opened.conn, &opened.unlocked.keyring, cursor, batch)
                .map_err(|e| store_error(&shown, e))?
            {
                cursor = done.cursor;
                total.secrets += done.secrets;
                total.versions += done.versions;
                total.given_ids += done.given_ids;
            }
        }
        let newest = opened.unlocked.keyring.newest_id().unwrap_or(0);
        let chain = opened.unlocked.audit_key();
        keyring::record_rewrap(&mut opened.conn, &chain, total, newest, app::ssr::clock::now())
            .map_err(|e| store_error(&shown, e))?;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "rewrapped {} versions of {} secrets under data key {newest} in {seconds:.2} s ({:.0} versions/s); \
             {} secrets given a random id",
            total.versions,
            total.secrets,
            total.versions as f64 / seconds.max(1e-9),
            total.given_ids
        );
        Ok(())
    })
    .await
}

/// `strongroom rekey --new-key-file F`: the database opens with the key in F
/// afterwards, and no longer with the old one. A running server keeps serving
/// with the keys it unwrapped; restart it with the new key before the next
/// `keyring rotate`.
pub async fn rekey(key: KeyArgs, new_key_file: PathBuf) -> Result<(), RunError> {
    blocking(move || {
        let new = read_key_file(&new_key_file)?;
        let mut opened = open(&key)?;
        if new.to_base64() == opened.root.to_base64() {
            return Err(RunError::User(format!("{} holds the current root key", new_key_file.display())));
        }
        let shown = shown(&key);
        let count = keyring::rekey(&mut opened.conn, &opened.root, &new, app::ssr::clock::now())
            .map_err(|e| store_error(&shown, e))?;
        println!(
            "{count} data keys are now wrapped by the root key in {}; the old root key no longer opens {shown}. \
             Start the server with the new key (STRONGROOM_MASTER_KEY_FILE={}).",
            new_key_file.display(),
            new_key_file.display()
        );
        Ok(())
    })
    .await
}

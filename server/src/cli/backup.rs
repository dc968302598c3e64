//! `strongroom backup PATH` and `strongroom restore PATH`: a consistent copy
//! of the database while the server runs, and putting one back.
//!
//! A backup is the database file itself (values, keyring and trail still
//! encrypted and MACed); the root key is never in it. A restore refuses a file
//! that is damaged, was made with another root key, or whose trail does not
//! verify, and says which.

use super::RunError;
use crate::config::{ensure_dir, KeyArgs};
use app::domain::Timestamp;
use app::ssr::{
    audit::{self, Verdict},
    crypto::{CryptoError, RootKey},
    db, keys,
    store::StoreError,
};
use rusqlite::{Connection, OpenFlags};
use std::{
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
};

/// What a backup holds, as printed.
struct Summary {
    bytes: u64,
    secrets: i64,
    versions: i64,
    audit_entries: i64,
}

fn summary(path: &Path) -> rusqlite::Result<Summary> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0));
    Ok(Summary {
        bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        secrets: count("SELECT count(*) FROM secrets WHERE deleted_at IS NULL")?,
        versions: count("SELECT count(*) FROM secret_versions WHERE ciphertext IS NOT NULL")?,
        audit_entries: count("SELECT count(*) FROM audit")?,
    })
}

fn failed<'a>(what: &'static str, path: &'a Path) -> impl Fn(rusqlite::Error) -> RunError + 'a {
    move |e| RunError::User(format!("{what} {}: {e}", path.display()))
}

pub async fn backup(to: PathBuf, key: &KeyArgs) -> Result<(), RunError> {
    if std::fs::metadata(&to).is_ok_and(|m| m.len() > 0) {
        return Err(RunError::User(format!("{} exists: a backup never overwrites a file", to.display())));
    }
    // Opening checks the root key: a backup made with the wrong one could not be restored.
    let state = super::local::open(key, false).await?;
    // Made empty and owner-only first: SQLite writes into it with that mode.
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&to)
        .map_err(|e| RunError::User(format!("cannot create {}: {e}", to.display())))?;
    let target = to.to_string_lossy().into_owned();
    // One read transaction: a consistent copy however busy the server is.
    let copied = state.db.call(move |c| c.execute("VACUUM INTO ?1", [target])).await;
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&to);
        return Err(failed("cannot back up into", &to)(e));
    }
    let s = summary(&to).map_err(failed("cannot read the backup", &to))?;
    println!(
        "backed up to {}: {} bytes, {} secrets ({} stored versions), {} audit entries; \
         still encrypted: keep the root key apart from it",
        to.display(),
        s.bytes,
        s.secrets,
        s.versions,
        s.audit_entries
    );
    Ok(())
}

/// Why a file cannot be restored.
fn check(path: &Path, root: &RootKey) -> Result<(), String> {
    {
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| format!("not a database: {e}"))?;
        let verdict: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(|e| format!("not a Strongroom database or damaged: {e}"))?;
        if verdict != "ok" {
            return Err(format!("it fails SQLite's integrity check: {verdict}"));
        }
    }
    let mut conn = db::open(path).map_err(|e| format!("cannot open it: {e}"))?;
    let unlocked = match keys::unlock(&mut conn, root, Timestamp::now()) {
        Ok(unlocked) => unlocked,
        Err(StoreError::Crypto(CryptoError::WrongRootKey)) => {
            return Err("it was made with another root key (its key check does not open)".into())
        }
        Err(e) => return Err(format!("its keyring cannot be read: {e}")),
    };
    match audit::verify(&conn, &unlocked.audit_key()) {
        Ok(Verdict::Intact { .. }) => Ok(()),
        Ok(Verdict::Broken { id, problem }) => Err(format!("its audit trail is broken at entry {id}: {problem}")),
        Err(e) => Err(format!("its audit trail cannot be read: {e}")),
    }
}

pub async fn restore(from: PathBuf, key: &KeyArgs) -> Result<(), RunError> {
    let db_path = key.db_path();
    if std::fs::metadata(&db_path).is_ok_and(|m| m.len() > 0) {
        return Err(RunError::User(format!(
            "{} exists: restore only into an empty data directory (move the old one aside first)",
            db_path.display()
        )));
    }
    if !from.is_file() {
        return Err(RunError::User(format!("no backup file at {}", from.display())));
    }
    let (root, _) = key.root_key()?;
    ensure_dir(&key.data_dir)?;
    // Checked on a copy beside the target, then renamed into place: never a
    // half-restored database under the real name.
    let staging = key.data_dir.join("strongroom.db.restoring");
    let _ = std::fs::remove_file(&staging);
    std::fs::copy(&from, &staging).map_err(|e| RunError::User(format!("cannot copy {}: {e}", from.display())))?;
    let checked = app::ssr::db::run_blocking({
        let staging = staging.clone();
        move || check(&staging, &root)
    })
    .await;
    if let Err(why) = checked {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", staging.display()));
        }
        return Err(RunError::User(format!("refusing to restore {}: {why}", from.display())));
    }
    std::fs::rename(&staging, &db_path).map_err(|e| RunError::User(format!("cannot move the restored file: {e}")))?;
    let s = summary(&db_path).map_err(failed("cannot read", &db_path))?;
    println!(
        "restored {} into {}: {} secrets ({} stored versions), {} audit entries; key check and audit trail verified",
        from.display(),
        db_path.display(),
        s.secrets,
        s.versions,
        s.audit_entries
    );
    Ok(())
}

//! Reading the committed trail in order, from a durable cursor: how webhooks
//! and audit streaming learn of entries. An entry is written in the same
//! transaction as the change it records, so whatever a reader finds here was
//! committed, and nothing committed is missed: ids are consecutive and given
//! in commit order (appenders take turns, see `Chain::load`).
//!
//! A cursor is the id of the last entry a reader is done with, kept in
//! `meta` as `cursor:NAME` and moved only after the entries were handled, so
//! a restart goes on where it stopped (at least once).

use super::chain::entry_and_mac;
use super::query::COLUMNS;
use crate::domain::audit::AuditEntry;
use crate::ssr::db::sql::{Sql, SqlError};

/// Where reader `name` stopped; `None` when it never ran.
pub fn cursor<S: Sql + ?Sized>(db: &S, name: &str) -> Result<Option<i64>, SqlError> {
    let row = db.query_opt("SELECT value FROM meta WHERE name = ?1", &[format!("cursor:{name}").as_str().into()])?;
    row.map(|r| {
        let bytes = r[0].blob()?;
        let id: [u8; 8] = bytes.try_into().map_err(|_| SqlError::Type(format!("cursor {name} is damaged")))?;
        Ok(i64::from_be_bytes(id))
    })
    .transpose()
}

/// Records that reader `name` is done with every entry up to `id`.
pub fn advance<S: Sql + ?Sized>(db: &S, name: &str, id: i64) -> Result<(), SqlError> {
    db.execute(
        "INSERT INTO meta (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        &[format!("cursor:{name}").as_str().into(), id.to_be_bytes().as_slice().into()],
    )?;
    Ok(())
}

/// The newest entry's id (0 for an empty trail), where a new reader that
/// wants only what comes next starts.
pub fn newest<S: Sql + ?Sized>(db: &S) -> Result<i64, SqlError> {
    let row = db.query_opt("SELECT max(id) FROM audit", &[])?;
    let newest = row.map(|r| r[0].opt_int()).transpose()?.flatten();
    match newest {
        Some(id) => Ok(id),
        None => super::archive::base(db, None).map(|(id, _)| id).map_err(|e| SqlError::Type(e.to_string())),
    }
}

/// Up to `limit` entries after `id`, oldest first, each with its MAC.
pub fn after<S: Sql + ?Sized>(db: &S, id: i64, limit: i64) -> Result<Vec<(AuditEntry, Vec<u8>)>, SqlError> {
    let rows = db.query(
        &format!("SELECT {COLUMNS}, mac FROM audit WHERE id > ?1 ORDER BY id LIMIT ?2"),
        &[id.into(), limit.into()],
    )?;
    rows.iter().map(|r| entry_and_mac(r)).collect()
}

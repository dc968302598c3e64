//! Reading the committed trail in order, from a durable cursor: how webhooks
//! and audit streaming learn of entries. An entry is written in the same
//! transaction as the change it records, so whatever a reader finds here was
//! committed, and nothing committed is missed: ids are consecutive and given
//! in commit order (appenders take turns, see `Chain::load`).
//!
//! A cursor is the id of the last entry a reader is done with, kept in
//! `meta` as `cursor:NAME` and moved only after the entries were handled, so
//! a restart goes on where it stopped (at least once).

use super::chain::{chain_mac, entry_and_mac, AuditKey};
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

/// Entries, each with its chain MAC.
pub type Entries = Vec<(AuditEntry, Vec<u8>)>;

/// Up to `limit` entries after `id`, oldest first, each with its MAC.
pub fn after<S: Sql + ?Sized>(db: &S, id: i64, limit: i64) -> Result<Entries, SqlError> {
    let rows = db.query(
        &format!("SELECT {COLUMNS}, mac FROM audit WHERE id > ?1 ORDER BY id LIMIT ?2"),
        &[id.into(), limit.into()],
    )?;
    rows.iter().map(|r| entry_and_mac(r)).collect()
}

/// [`after`], each entry checked against the chain from the MAC of entry
/// `id`: entries up to the first that does not verify, and that entry's id
/// if one did not (an entry inserted or edited without the chain key).
pub fn after_verified<S: Sql + ?Sized>(
    db: &S,
    key: &AuditKey,
    id: i64,
    limit: i64,
) -> Result<(Entries, Option<i64>), SqlError> {
    let prev = db.query_opt("SELECT mac FROM audit WHERE id = ?1", &[id.into()])?;
    let mut prev = match prev {
        Some(row) => row[0].blob()?.to_vec(),
        None => match super::archive::base(db, Some(key)) {
            Ok((base, mac)) if base == id => mac,
            // The entry the cursor stands on is gone (archived past it): nothing to chain from.
            _ => return Ok((Vec::new(), Some(id + 1))),
        },
    };
    let mut entries = after(db, id, limit)?;
    let mut expected = id + 1;
    for (n, (entry, mac)) in entries.iter().enumerate() {
        if entry.id != expected || chain_mac(key, &prev, entry) != *mac {
            let broken = entry.id;
            entries.truncate(n);
            return Ok((entries, Some(broken)));
        }
        (prev, expected) = (mac.clone(), entry.id + 1);
    }
    Ok((entries, None))
}

//! `strongroom store copy FROM TO`: everything in one store copied into an
//! empty one of either engine, values still sealed (the root key opens both),
//! then checked at the other end: the same rows in every table, the key check
//! opens, every value opens, the security rows' MACs hold and the audit
//! chain verifies. `backup` on PostgreSQL is a copy into a new SQLite file.
//!
//! Not copied: sessions (everyone signs in again) and leases (a node's turn
//! at background work).

use crate::domain::Timestamp;
use crate::ssr::{
    audit::{self, Verdict},
    crypto::RootKey,
    db::{
        sql::{Engine, Sql, SqlError, Value},
        Transact,
    },
    store::{keyring, rows, StoreError},
};

/// The tables copied, parents before children.
pub const TABLES: [&str; 19] = [
    "meta",
    "data_keys",
    "namespaces",
    "secrets",
    "secret_versions",
    "users",
    "grants",
    "tokens",
    "approles",
    "approle_secret_ids",
    "jwt_roles",
    "sso_identities",
    "idp_grants",
    "second_factors",
    "required_keys",
    "audit",
    "secret_reads",
    "webhooks",
    "webhook_deliveries",
];

/// Tables whose ids PostgreSQL numbers itself: numbered on after the copy.
const NUMBERED: [&str; 11] = [
    "data_keys",
    "namespaces",
    "secrets",
    "users",
    "tokens",
    "approles",
    "approle_secret_ids",
    "jwt_roles",
    "sso_identities",
    "webhooks",
    "webhook_deliveries",
];

/// Rows per INSERT: well under both engines' parameter limits.
const ROWS_PER_INSERT: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("the target is not empty: {0} has rows (copy only into a new store)")]
    NotEmpty(&'static str),
    #[error("the copy does not match its source: {0}")]
    Mismatch(String),
    /// Committed, but its checks failed: the target holds a copy that must not be used.
    #[error("the copy was made but does not check out: {0}")]
    Check(Box<CopyError>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sql(#[from] SqlError),
}

/// What was copied: each table's rows.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Copied {
    pub rows: Vec<(&'static str, u64)>,
    pub values_opened: u64,
    pub audit_entries: u64,
}

/// The columns of `table`, in the schema's order.
fn columns<S: Sql + ?Sized>(db: &S, table: &str) -> Result<Vec<String>, SqlError> {
    let sql = match db.engine() {
        Engine::Sqlite => "SELECT name FROM pragma_table_info(?1) ORDER BY cid",
        Engine::Postgres => {
            "SELECT CAST(column_name AS TEXT) FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = ?1 ORDER BY ordinal_position"
        }
    };
    db.query(sql, &[table.into()])?.iter().map(|r| Ok(r[0].text()?.to_owned())).collect()
}

fn count<S: Sql + ?Sized>(db: &S, table: &str) -> Result<u64, SqlError> {
    Ok(db.query(&format!("SELECT count(*) FROM {table}"), &[])?[0][0].int()?.max(0) as u64)
}

/// Refuses a target that holds anything.
pub fn check_empty<S: Sql + ?Sized>(to: &S) -> Result<(), CopyError> {
    for table in TABLES {
        if count(to, table)? > 0 {
            return Err(CopyError::NotEmpty(table));
        }
    }
    Ok(())
}

/// Copies every row of [`TABLES`] from `from` (read in one snapshot by the
/// caller) into `to`, in one transaction; `progress` hears each table's rows
/// as they go. Then checks the copy with `root` (see the module doc).
pub fn copy<S: Sql + ?Sized>(
    from: &S,
    to: &mut impl Transact,
    root: &RootKey,
    now: Timestamp,
    mut progress: impl FnMut(&str, u64, u64),
) -> Result<Copied, CopyError> {
    let mut copied = Copied::default();
    to.write(|tx| {
        check_empty(tx)?;
        for table in TABLES {
            let names = columns(from, table)?;
            if names != columns(tx, table)? {
                return Err(CopyError::Mismatch(format!("{table} has other columns at the target")));
            }
            let total = count(from, table)?;
            let mut rows: Vec<Vec<Value<'static>>> = Vec::with_capacity(ROWS_PER_INSERT);
            let mut done = 0u64;
            let mut flush = |rows: &mut Vec<Vec<Value<'static>>>| -> Result<(), SqlError> {
                if rows.is_empty() {
                    return Ok(());
                }
                insert(tx, table, &names, rows)?;
                done += rows.len() as u64;
                rows.clear();
                progress(table, done, total);
                Ok(())
            };
            from.query_each(&format!("SELECT {} FROM {table}", names.join(", ")), &[], &mut |row| {
                rows.push(row.iter().map(owned).collect());
                if rows.len() == ROWS_PER_INSERT {
                    flush(&mut rows)?;
                }
                Ok(())
            })?;
            flush(&mut rows)?;
            copied.rows.push((table, total));
        }
        // Adding secrets ran the change counters' trigger: put back the source's.
        for row in from.query("SELECT id, changed FROM namespaces", &[])? {
            tx.execute("UPDATE namespaces SET changed = ?2 WHERE id = ?1", &[row[0].clone(), row[1].clone()])?;
        }
        if tx.engine() == Engine::Postgres {
            for table in NUMBERED {
                tx.query(
                    &format!(
                        "SELECT CAST(setval(pg_get_serial_sequence('{table}', 'id'), \
                         (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false) AS BIGINT)"
                    ),
                    &[],
                )?;
            }
        }
        Ok::<_, CopyError>(())
    })?;
    let checked = check(from, to, root, now, &copied).map_err(|e| CopyError::Check(Box::new(e)))?;
    Ok(Copied { values_opened: checked.0, audit_entries: checked.1, ..copied })
}

fn owned(v: &Value<'_>) -> Value<'static> {
    match v {
        Value::Null => Value::Null,
        Value::Int(i) => Value::Int(*i),
        Value::Text(t) => Value::Text(t.to_string().into()),
        Value::Blob(b) => Value::Blob(b.to_vec().into()),
    }
}

fn insert<S: Sql + ?Sized>(
    tx: &S,
    table: &str,
    names: &[String],
    rows: &[Vec<Value<'static>>],
) -> Result<(), SqlError> {
    let width = names.len();
    let marks: Vec<String> = (0..rows.len())
        .map(|r| format!("({})", (1..=width).map(|c| format!("?{}", r * width + c)).collect::<Vec<_>>().join(", ")))
        .collect();
    let sql = format!("INSERT INTO {table} ({}) VALUES {}", names.join(", "), marks.join(", "));
    let args: Vec<Value<'_>> = rows.iter().flatten().cloned().collect();
    tx.execute(&sql, &args)?;
    Ok(())
}

/// The copy's own checks, on the target: counts, the key check and every
/// value, the security rows, the audit chain. Returns the values opened and
/// the entries verified.
fn check<S: Sql + ?Sized>(
    from: &S,
    to: &mut impl Transact,
    root: &RootKey,
    now: Timestamp,
    copied: &Copied,
) -> Result<(u64, u64), CopyError> {
    to.write(|tx| {
        for (table, rows) in &copied.rows {
            let there = count(tx, table)?;
            if there != *rows || count(from, table)? != *rows {
                return Err(CopyError::Mismatch(format!("{table}: {rows} rows copied, {there} there")));
            }
        }
        Ok::<_, CopyError>(())
    })?;
    // Unlocking checks the root key against the copied key check.
    let unlocked = keyring::unlock(to, root, now)?;
    to.write(|tx| {
        rows::check_all(tx, &unlocked.row_key()).map_err(|e| CopyError::Mismatch(e.to_string()))?;
        let opened = keyring::verify_all(tx, &unlocked.keyring).map_err(CopyError::Mismatch)?;
        match audit::verify(tx, &unlocked.audit_key())? {
            Verdict::Intact { entries } => Ok((opened, entries)),
            Verdict::Broken { id, problem } => {
                Err(CopyError::Mismatch(format!("the audit trail is broken at entry {id}: {problem}")))
            }
        }
    })
}

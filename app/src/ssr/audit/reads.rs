//! Who read each secret: a summary of the trail's value reads (`secret.read`
//! entries with a version), one row per secret and reader — `token:NAME`,
//! `approle:ROLE`, `jwt:ROLE` (a login's many short-lived tokens are one
//! reader) — with how many reads and the last one's time.
//!
//! The chain counts the reads it appends and writes the summary in the same
//! transaction as the entries (one upsert per secret and reader per batch),
//! so "read by" and "unused" answer from a few rows at any trail length, and
//! pruning the trail leaves them whole. Names only, like the trail.

use crate::domain::{
    audit::{Action, AuditEntry},
    view::{ReadSummary, ReaderView},
    NamespacePath, SecretKey, Timestamp,
};
use crate::ssr::db::sql::{Sql, SqlError};
use std::collections::BTreeMap;

/// Reads counted in one batch: `(namespace, key, reader)` → `(reads, last at)`.
#[derive(Default)]
pub struct Tally(BTreeMap<(String, String, String), (i64, i64)>);

impl Tally {
    pub(super) fn count(&mut self, action: &Action, e: &AuditEntry) {
        if *action != Action::SecretRead || e.version.is_none() {
            return;
        }
        let (reads, last) = self.0.entry((e.namespace.clone(), e.key.clone(), e.actor.clone())).or_default();
        *reads += 1;
        *last = (*last).max(e.at.0);
    }

    pub(super) fn write<S: Sql + ?Sized>(&self, db: &S) -> Result<(), SqlError> {
        for ((namespace, key, reader), (reads, last)) in &self.0 {
            db.execute(
                "INSERT INTO secret_reads (namespace, key, reader, reads, last_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (namespace, key, reader) DO UPDATE SET reads = secret_reads.reads + excluded.reads,
                   last_at = CASE WHEN excluded.last_at > secret_reads.last_at
                                  THEN excluded.last_at ELSE secret_reads.last_at END",
                &[
                    namespace.as_str().into(),
                    key.as_str().into(),
                    reader.as_str().into(),
                    (*reads).into(),
                    (*last).into(),
                ],
            )?;
        }
        Ok(())
    }
}

/// Everyone who read the value of `key` defined in `ns`, last read first.
pub fn readers_of<S: Sql + ?Sized>(db: &S, ns: &NamespacePath, key: &SecretKey) -> Result<Vec<ReaderView>, SqlError> {
    db.query(
        "SELECT reader, reads, last_at FROM secret_reads WHERE namespace = ?1 AND key = ?2
         ORDER BY last_at DESC, reader",
        &[ns.as_str().into(), key.as_str().into()],
    )?
    .iter()
    .map(|r| Ok(ReaderView { reader: r[0].text()?.to_owned(), reads: r[1].int()?, last_at: Timestamp(r[2].int()?) }))
    .collect()
}

/// Every secret `reader` read, last read first (a page per token or role).
/// Secrets whose names no longer parse (written by hand) are left out.
pub fn read_by<S: Sql + ?Sized>(db: &S, reader: &str) -> Result<Vec<ReadSummary>, SqlError> {
    let mut out = Vec::new();
    for r in db.query(
        "SELECT namespace, key, reads, last_at FROM secret_reads WHERE reader = ?1 ORDER BY last_at DESC, namespace, key",
        &[reader.into()],
    )? {
        let (Ok(namespace), Ok(key)) = (NamespacePath::parse(r[0].text()?), SecretKey::parse(r[1].text()?)) else {
            continue;
        };
        out.push(ReadSummary { namespace, key, reads: r[2].int()?, last_at: Timestamp(r[3].int()?) });
    }
    Ok(out)
}

//! Leases: at most one holder of a named job at a time, across every node on
//! one database (webhook delivery, trail streaming, schedules: work that must
//! run exactly once). A holder renews before `until`; a lease not renewed in
//! time passes to whoever asks next, so a node that died frees its jobs
//! after one term.
//!
//! One statement, the same on both engines: an upsert that takes the row
//! when it is free, expired or already the caller's. On PostgreSQL the
//! conflict path re-checks the newest row under its lock, so two nodes
//! asking at once cannot both win. Times are the nodes' clocks (milliseconds):
//! keep them within a small part of the term of each other (NTP does).

use super::sql::{Sql, SqlError};

/// Takes or renews lease `name` for `holder` until `now_ms + term_ms`.
/// `false`: someone else holds it.
pub fn acquire<S: Sql + ?Sized>(db: &S, name: &str, holder: &str, now_ms: i64, term_ms: i64) -> Result<bool, SqlError> {
    let changed = db.execute(
        "INSERT INTO leases (name, holder, until) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
         WHERE leases.holder = excluded.holder OR leases.until <= ?4",
        &[name.into(), holder.into(), now_ms.saturating_add(term_ms).into(), now_ms.into()],
    )?;
    Ok(changed == 1)
}

/// Gives the lease back (a clean stop), if `holder` has it.
pub fn release<S: Sql + ?Sized>(db: &S, name: &str, holder: &str) -> Result<(), SqlError> {
    db.execute("DELETE FROM leases WHERE name = ?1 AND holder = ?2", &[name.into(), holder.into()])?;
    Ok(())
}

/// A new holder's name: the process, its start of work and a count, so that
/// two loops of one process (or two processes) never share a turn.
pub fn holder() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-{}-{n}", std::process::id(), crate::ssr::clock::now_ms())
}

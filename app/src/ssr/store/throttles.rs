//! Sign-in failure counts in the database, for several nodes on one
//! PostgreSQL (one node keeps them in memory: `auth::Throttle`). The same
//! rule: after `free` failures each attempt waits `base × 2^(n − free)`, at
//! most `max`; an attempt is counted before its password is checked, in one
//! statement, so attempts on several nodes at once cannot all slip through.

use crate::ssr::{
    auth::Rule,
    db::sql::{Engine, Sql, SqlError},
};

/// Counts an attempt of `key` at `now_ms`; false (nothing counted) while it must wait.
pub fn attempt<S: Sql + ?Sized>(db: &S, kind: &str, key: &str, now_ms: i64, rule: Rule) -> Result<bool, SqlError> {
    let (least, greatest) = match db.engine() {
        Engine::Sqlite => ("min", "max"),
        Engine::Postgres => ("LEAST", "GREATEST"),
    };
    // The wait after n failures, in SQL: base << min(n - free, 20), capped.
    let sql = format!(
        "INSERT INTO throttles (kind, key, failures, last_ms) VALUES (?1, ?2, 1, ?3)
         ON CONFLICT (kind, key) DO UPDATE SET failures = throttles.failures + 1,
             last_ms = {greatest}(throttles.last_ms, ?3)
         WHERE throttles.failures < ?4
            OR ?3 >= throttles.last_ms
                 + {least}(CAST(?5 AS BIGINT) << CAST({least}(throttles.failures - ?4, 20) AS INTEGER), ?6)
         RETURNING failures"
    );
    let args = [
        kind.into(),
        key.into(),
        now_ms.into(),
        i64::from(rule.free).into(),
        (rule.base.as_millis() as i64).into(),
        (rule.max.as_millis() as i64).into(),
    ];
    let counted = db.query_opt(&sql, &args)?.is_some();
    // Only counts still under the free allowance are forgotten once old, as
    // one node forgets nothing else until a right password: a key past its
    // allowance keeps waiting the longest wait between attempts for good.
    db.execute(
        "DELETE FROM throttles WHERE kind = ?1 AND last_ms < ?2 AND failures < ?3",
        &[kind.into(), (now_ms - rule.max.as_millis() as i64).into(), i64::from(rule.free).into()],
    )?;
    Ok(counted)
}

/// Forgets every failure of `key` (a right password).
pub fn succeed<S: Sql + ?Sized>(db: &S, kind: &str, key: &str) -> Result<(), SqlError> {
    db.execute("DELETE FROM throttles WHERE kind = ?1 AND key = ?2", &[kind.into(), key.into()])?;
    Ok(())
}

/// Takes back one counted attempt that turned out right.
pub fn forgive<S: Sql + ?Sized>(db: &S, kind: &str, key: &str) -> Result<(), SqlError> {
    db.execute(
        "UPDATE throttles SET failures = failures - 1 WHERE kind = ?1 AND key = ?2",
        &[kind.into(), key.into()],
    )?;
    db.execute("DELETE FROM throttles WHERE kind = ?1 AND key = ?2 AND failures <= 0", &[kind.into(), key.into()])?;
    Ok(())
}

//! Security rows under a MAC: the rows that say who may do what — users
//! (name, password hash, disabled), their grants (role, subtree) and workload
//! tokens (name, hash, scope, expiry, revocation). Someone who can edit a copy
//! of the database but does not hold the root key (a backup on a file share,
//! a replica) could otherwise add a token for every namespace, give a user
//! admin of everything, set a password they know, or un-revoke a token, and a
//! restore would bring it in.
//!
//! Each such row carries `mac = HMAC-SHA256(k, table ‖ covered columns)`, `k`
//! derived from the base key under its own label ([`RowKey`]). The MAC is
//! computed in SQL by `row_mac(table, column, …)`, a function this process
//! installs on its own connections only ([`install`]): it is `DIRECTONLY`, so
//! no trigger or view stored in the file can call it. Writers set the MAC in
//! the statement after their change; readers compare it in the query that
//! uses the row, and a row whose MAC does not match is not used (a token is
//! refused, a grant ignored, an account cannot sign in) and is logged.
//!
//! Covered columns (see [`USERS`], [`GRANTS`], [`TOKENS`]); **every security
//! table added later joins this list**:
//! - `users`: `id, username, password_hash, disabled, password_changed_at`;
//! - `grants`: `user_id, role, namespace`;
//! - `tokens`: `id, name, token_hash, namespace, expires_at, revoked_at`.
//!
//! A MAC says a row is one this server wrote, not that it is the newest: an
//! older row put back from an older copy (a token before its revocation) is
//! found at restore by comparing the rows with the verified trail.
//!
//! Databases made before row MACs get theirs once, when first unlocked by a
//! version that has them ([`seal`]); that is recorded in the trail
//! (`rows.sealed`), so a copy whose "sealed" mark was deleted to have its rows
//! sealed again is refused instead.

use crate::domain::{
    audit::{Action, OK},
    Timestamp,
};
use crate::ssr::audit::{self, AuditKey, NewEntry};
use rusqlite::{Connection, OptionalExtension};

/// The MAC of a `users` row, as SQL.
pub const USERS: &str = "row_mac('users', id, username, password_hash, disabled, password_changed_at)";
/// The MAC of a `grants` row, as SQL.
pub const GRANTS: &str = "row_mac('grants', user_id, role, namespace)";
/// The MAC of a `tokens` row, as SQL.
pub const TOKENS: &str = "row_mac('tokens', id, name, token_hash, namespace, expires_at, revoked_at)";

/// Every covered table with its MAC expression and what names a row in a message.
pub const TABLES: [(&str, &str, &str); 3] =
    [("users", USERS, "username"), ("grants", GRANTS, "user_id || ' ' || role"), ("tokens", TOKENS, "name")];

/// Why a database's security rows cannot be trusted.
#[derive(Debug, thiserror::Error)]
pub enum RowError {
    #[error("its security rows were sealed, but the mark saying so was removed (tampered)")]
    MarkRemoved,
    #[error("{table} row {row:?} was changed without the root key (its MAC does not match)")]
    Tampered { table: &'static str, row: String },
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// Gives every security row its MAC, once per database (the first unlock by a
/// version with row MACs; for a new database, its first unlock), and records
/// that in the trail. `row_mac` must be installed on `conn`, inside the
/// caller's write transaction.
pub fn seal(conn: &Connection, chain: &AuditKey, now: Timestamp) -> Result<(), RowError> {
    let sealed: Option<i64> =
        conn.query_row("SELECT 1 FROM meta WHERE name = 'rows_sealed'", [], |r| r.get(0)).optional()?;
    if sealed.is_some() {
        return Ok(());
    }
    let marked: bool =
        conn.query_row("SELECT EXISTS (SELECT 1 FROM audit WHERE action = ?1)", [Action::RowsSealed.as_str()], |r| {
            r.get(0)
        })?;
    if marked {
        return Err(RowError::MarkRemoved);
    }
    let mut counts = Vec::new();
    for (table, mac, _) in TABLES {
        counts.push(format!("{} {table}", conn.execute(&format!("UPDATE {table} SET mac = {mac}"), [])?));
    }
    conn.execute("INSERT INTO meta (name, value) VALUES ('rows_sealed', x'01')", [])?;
    let entry = NewEntry {
        at: now,
        actor: crate::ssr::audit::Actor::ServerStart,
        action: Action::RowsSealed,
        namespace: String::new(),
        key: String::new(),
        version: None,
        client: crate::ssr::audit::Client::Local,
        outcome: format!("{OK}: {}", counts.join(", ")),
    };
    audit::append(conn, chain, entry)?;
    Ok(())
}

/// The first security row whose MAC does not match, if any (for restore).
pub fn check_all(conn: &Connection) -> Result<(), RowError> {
    for (table, mac, name) in TABLES {
        let bad: Option<String> = conn
            .query_row(&format!("SELECT {name} FROM {table} WHERE mac IS NOT {mac} LIMIT 1"), [], |r| {
                r.get::<_, rusqlite::types::Value>(0).map(|v| match v {
                    rusqlite::types::Value::Text(t) => t,
                    other => format!("{other:?}"),
                })
            })
            .optional()?;
        if let Some(row) = bad {
            return Err(RowError::Tampered { table, row });
        }
    }
    Ok(())
}

/// Logs a row that is not used because its MAC does not match.
pub fn refused(table: &str, row: &str) {
    tracing::error!(table, row, "a security row was changed without the root key (its MAC does not match): not used");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::crypto::BaseKey;
    use rusqlite::types::ValueRef;

    fn db() -> (tempfile::TempDir, Connection, AuditKey) {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::ssr::db::open(&dir.path().join("t.db")).unwrap();
        let base = BaseKey::generate().unwrap();
        crate::ssr::db::install_row_mac(&conn, &crate::ssr::db::RowKey::derive(&base)).unwrap();
        let chain = AuditKey::derive(&base);
        audit::start_chain(&conn, &chain).unwrap();
        (dir, conn, chain)
    }

    #[test]
    fn rows_are_sealed_once_and_an_edit_without_the_key_is_found() {
        let (_dir, conn, chain) = db();
        conn.execute(
            "INSERT INTO users (username, password_hash, created_at, created_by, password_changed_at)
             VALUES ('alice', 'h', 1, 'x', 1)",
            [],
        )
        .unwrap();
        seal(&conn, &chain, Timestamp(1)).unwrap();
        seal(&conn, &chain, Timestamp(2)).unwrap();
        let marks: i64 =
            conn.query_row("SELECT count(*) FROM audit WHERE action = 'rows.sealed'", [], |r| r.get(0)).unwrap();
        assert_eq!(marks, 1);
        check_all(&conn).unwrap();
        conn.execute("UPDATE users SET password_hash = 'known'", []).unwrap();
        assert!(matches!(check_all(&conn), Err(RowError::Tampered { table: "users", .. })));
    }

    #[test]
    fn removing_the_sealed_mark_does_not_get_rows_sealed_again() {
        let (_dir, conn, chain) = db();
        seal(&conn, &chain, Timestamp(1)).unwrap();
        conn.execute("DELETE FROM meta WHERE name = 'rows_sealed'", []).unwrap();
        assert!(matches!(seal(&conn, &chain, Timestamp(2)), Err(RowError::MarkRemoved)));
    }

    #[test]
    fn the_function_cannot_be_called_from_a_trigger_in_the_file() {
        let (_dir, conn, _) = db();
        conn.execute_batch(
            "CREATE TRIGGER forge AFTER INSERT ON tokens BEGIN
               UPDATE tokens SET mac = row_mac('tokens', NEW.id, NEW.name, NEW.token_hash, NEW.namespace,
                                                NEW.expires_at, NEW.revoked_at) WHERE id = NEW.id;
             END;",
        )
        .unwrap();
        let forged = conn.execute(
            "INSERT INTO tokens (name, token_hash, namespace, created_at, created_by) VALUES ('t', x'00', '', 1, 'x')",
            [],
        );
        assert!(forged.is_err(), "a trigger computed a MAC");
    }

    #[test]
    fn values_of_different_types_or_splits_never_mac_alike() {
        let key = crate::ssr::db::RowKey::derive(&BaseKey::generate().unwrap());
        let a = key.mac(&[ValueRef::Text(b"ab"), ValueRef::Text(b"c")]);
        assert_ne!(a, key.mac(&[ValueRef::Text(b"a"), ValueRef::Text(b"bc")]));
        assert_ne!(key.mac(&[ValueRef::Integer(1)]), key.mac(&[ValueRef::Text(b"1")]));
        assert_ne!(key.mac(&[ValueRef::Null]), key.mac(&[ValueRef::Blob(b"")]));
    }
}

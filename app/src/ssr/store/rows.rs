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
//! computed in Rust, never in SQL, so nothing stored in the database (a
//! trigger, a view, a function) can compute one, and both engines check rows
//! alike. Writers reseal a row in the transaction that changed it
//! ([`reseal`]); readers select the covered columns with the row and check it
//! ([`Table::intact`]), and a row whose MAC does not match is not used (a
//! token is refused, a grant ignored, an account cannot sign in) and is logged.
//!
//! Covered columns (see [`USERS`], [`GRANTS`], [`TOKENS`]); **every security
//! table added later joins this list**:
//! - `users`: `id, username, password_hash, disabled, password_changed_at`;
//! - `grants`: `user_id, role, namespace`;
//! - `tokens`: `id, name, token_hash, namespace, expires_at, revoked_at`;
//! - `approles`: `id, name, role_id, namespace, token_ttl, revoked_at, secret_id_ttl`;
//! - `approle_secret_ids`: `id, approle_id, hash, expires_at, revoked_at`;
//! - `jwt_roles`: `id, name, issuer, audience, bound_claims, namespace, token_ttl, revoked_at`;
//! - `sso_identities`: `id, issuer, subject, user_id`;
//! - `idp_grants`: `user_id, role, namespace`;
//! - `second_factors`: `user_id, nonce, sealed`;
//! - `required_keys`: `namespace_id, key`;
//! - `webhooks`: `id, name, url, events, format, nonce, sealed, old_nonce, old_sealed, old_until, after_id`;
//! - `webhook_deliveries`: `id, webhook_id, delivery, event, cause, body` (checked where used);
//! - `sessions`: `token_hash, user_id, created_at, max_age` (not `last_seen_at`, which
//!   every page may move; a session ends by time measured from `created_at` too).
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
use crate::ssr::{
    audit::{self, AuditKey, NewEntry},
    db::{
        sql::{Sql, SqlError, Value},
        RowKey,
    },
};

/// A table of security rows: which columns its MAC covers, which name a row.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    /// The covered columns, in MAC order.
    covered: &'static [&'static str],
    /// The covered columns that name one row (its key).
    key: &'static [&'static str],
}

pub const USERS: Table = Table {
    name: "users",
    covered: &["id", "username", "password_hash", "disabled", "password_changed_at"],
    key: &["id"],
};
pub const GRANTS: Table =
    Table { name: "grants", covered: &["user_id", "role", "namespace"], key: &["user_id", "role", "namespace"] };
pub const TOKENS: Table = Table {
    name: "tokens",
    covered: &["id", "name", "token_hash", "namespace", "expires_at", "revoked_at"],
    key: &["id"],
};
pub const APPROLES: Table = Table {
    name: "approles",
    covered: &["id", "name", "role_id", "namespace", "token_ttl", "revoked_at", "secret_id_ttl"],
    key: &["id"],
};
pub const SECRET_IDS: Table = Table {
    name: "approle_secret_ids",
    covered: &["id", "approle_id", "hash", "expires_at", "revoked_at"],
    key: &["id"],
};
pub const JWT_ROLES: Table = Table {
    name: "jwt_roles",
    covered: &["id", "name", "issuer", "audience", "bound_claims", "namespace", "token_ttl", "revoked_at"],
    key: &["id"],
};
pub const SSO_IDENTITIES: Table =
    Table { name: "sso_identities", covered: &["id", "issuer", "subject", "user_id"], key: &["id"] };
pub const IDP_GRANTS: Table =
    Table { name: "idp_grants", covered: &["user_id", "role", "namespace"], key: &["user_id", "role", "namespace"] };
pub const SECOND_FACTORS: Table =
    Table { name: "second_factors", covered: &["user_id", "nonce", "sealed"], key: &["user_id"] };
pub const REQUIRED_KEYS: Table =
    Table { name: "required_keys", covered: &["namespace_id", "key"], key: &["namespace_id", "key"] };
pub const WEBHOOKS: Table = Table {
    name: "webhooks",
    covered: &[
        "id",
        "name",
        "url",
        "events",
        "format",
        "nonce",
        "sealed",
        "old_nonce",
        "old_sealed",
        "old_until",
        "after_id",
    ],
    key: &["id"],
};
/// Checked where used, like sessions: a delivery forged into the outbox
/// would otherwise be signed with the webhook's real secret.
pub const WEBHOOK_DELIVERIES: Table = Table {
    name: "webhook_deliveries",
    covered: &["id", "webhook_id", "delivery", "event", "cause", "body"],
    key: &["id"],
};
pub const SESSIONS: Table =
    Table { name: "sessions", covered: &["token_hash", "user_id", "created_at", "max_age"], key: &["token_hash"] };

/// The covered tables a database carries for good (sealed once, checked at
/// restore). Sessions are checked where they are used; a copy's never come
/// back (restore deletes them, `store copy` leaves them).
pub const TABLES: [&Table; 11] = [
    &USERS,
    &GRANTS,
    &TOKENS,
    &APPROLES,
    &SECRET_IDS,
    &JWT_ROLES,
    &SSO_IDENTITIES,
    &IDP_GRANTS,
    &SECOND_FACTORS,
    &REQUIRED_KEYS,
    &WEBHOOKS,
];

impl Table {
    /// How many values [`Table::columns`] selects.
    pub const fn width(&self) -> usize {
        self.covered.len() + 1
    }

    /// The covered columns then `mac`, each prefixed with `alias.` (if not
    /// empty), for a `SELECT` whose row [`Table::intact`] checks.
    pub fn columns(&self, alias: &str) -> String {
        let dot = if alias.is_empty() { String::new() } else { format!("{alias}.") };
        self.covered.iter().chain(["mac"].iter()).map(|c| format!("{dot}{c}")).collect::<Vec<_>>().join(", ")
    }

    /// Whether `row` (what [`Table::columns`] selected) carries its MAC.
    pub fn intact(&self, key: &RowKey, row: &[Value<'_>]) -> bool {
        let Some((mac, covered)) = row.split_last() else { return false };
        covered.len() == self.covered.len() && key.verify(&self.tagged(covered), mac)
    }

    fn tagged<'a>(&self, covered: &[Value<'a>]) -> Vec<Value<'a>> {
        std::iter::once(Value::from(self.name)).chain(covered.iter().cloned()).collect()
    }
}

/// Gives the rows of `table` that `filter` (a `WHERE` condition over `args`)
/// selects their MACs; returns how many. Inside the transaction of the change.
pub fn reseal<S: Sql + ?Sized>(
    db: &S,
    key: &RowKey,
    table: &Table,
    filter: &str,
    args: &[Value<'_>],
) -> Result<u64, SqlError> {
    let rows = db.query(&format!("SELECT {} FROM {} WHERE {filter}", table.columns(""), table.name), args)?;
    let at = |c: &str| table.covered.iter().position(|x| *x == c);
    let by_key = table.key.iter().enumerate().map(|(i, c)| format!("{c} = ?{}", i + 2)).collect::<Vec<_>>();
    let update = format!("UPDATE {} SET mac = ?1 WHERE {}", table.name, by_key.join(" AND "));
    for row in &rows {
        let covered = &row[..table.covered.len()];
        let mut values = vec![Value::from(key.mac(&table.tagged(covered)))];
        values.extend(table.key.iter().filter_map(|c| at(c)).map(|i| covered[i].clone()));
        db.execute(&update, &values)?;
    }
    Ok(rows.len() as u64)
}

/// Refuses to change rows of `table` that `filter` selects unless each still
/// carries its MAC (and locks them on PostgreSQL until the change commits):
/// resealing a row someone edited without the root key would make the edit
/// look like this server's.
pub fn check_before_change<S: Sql + ?Sized>(
    db: &S,
    key: &RowKey,
    table: &Table,
    filter: &str,
    args: &[Value<'_>],
) -> Result<(), RowError> {
    let lock = if db.engine() == crate::ssr::db::sql::Engine::Postgres { " FOR UPDATE" } else { "" };
    let rows = db.query(&format!("SELECT {} FROM {} WHERE {filter}{lock}", table.columns(""), table.name), args)?;
    match rows.iter().find(|row| !table.intact(key, row)) {
        Some(row) => {
            let named = describe(table, row);
            refused(table.name, &named);
            Err(RowError::Tampered { table: table.name, row: named })
        }
        None => Ok(()),
    }
}

/// Why a database's security rows cannot be trusted.
#[derive(Debug, thiserror::Error)]
pub enum RowError {
    #[error("its security rows were sealed, but the mark saying so was removed (tampered)")]
    MarkRemoved,
    #[error("{table} row {row:?} was changed without the root key (its MAC does not match)")]
    Tampered { table: &'static str, row: String },
    #[error(transparent)]
    Sql(#[from] SqlError),
}

impl From<rusqlite::Error> for RowError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sql(e.into())
    }
}

/// Gives every security row its MAC, once per database (the first unlock by a
/// version with row MACs; for a new database, its first unlock), and records
/// that in the trail. Inside the caller's write transaction.
pub fn seal<S: Sql + ?Sized>(db: &S, rows: &RowKey, chain: &AuditKey, now: Timestamp) -> Result<(), RowError> {
    if db.query_opt("SELECT 1 FROM meta WHERE name = 'rows_sealed'", &[])?.is_some() {
        return Ok(());
    }
    let marked =
        db.query_opt("SELECT 1 FROM audit WHERE action = ?1 LIMIT 1", &[Action::RowsSealed.as_str().into()])?;
    if marked.is_some() {
        return Err(RowError::MarkRemoved);
    }
    let mut counts = Vec::new();
    for table in TABLES {
        counts.push(format!("{} {}", reseal(db, rows, table, "1 = 1", &[])?, table.name));
    }
    db.execute("INSERT INTO meta (name, value) VALUES ('rows_sealed', ?1)", &[Value::from(&[1u8][..])])?;
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
    audit::append(db, chain, entry)?;
    Ok(())
}

/// The first security row whose MAC does not match, if any (for restore).
pub fn check_all<S: Sql + ?Sized>(db: &S, rows: &RowKey) -> Result<(), RowError> {
    for table in TABLES {
        let mut bad = None;
        db.query_each(&format!("SELECT {} FROM {}", table.columns(""), table.name), &[], &mut |row| {
            if bad.is_none() && !table.intact(rows, row) {
                bad = Some(describe(table, row));
            }
            Ok(())
        })?;
        if let Some(row) = bad {
            return Err(RowError::Tampered { table: table.name, row });
        }
    }
    Ok(())
}

/// What names a row in a message: a user's or token's name, a grant's user and role.
fn describe(table: &Table, row: &[Value<'_>]) -> String {
    let text = |v: &Value<'_>| match v {
        Value::Text(t) => t.to_string(),
        Value::Int(i) => i.to_string(),
        _ => String::from("?"),
    };
    match table.name {
        "grants" => format!("{} {}", text(&row[0]), text(&row[1])),
        "sessions" => format!("of user {}", text(&row[1])),
        _ => text(&row[1]),
    }
}

/// Logs a row that is not used because its MAC does not match.
pub fn refused(table: &str, row: &str) {
    tracing::error!(table, row, "a security row was changed without the root key (its MAC does not match): not used");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::crypto::BaseKey;
    use rusqlite::Connection;

    fn db() -> (tempfile::TempDir, Connection, RowKey, AuditKey) {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::ssr::db::open(&dir.path().join("t.db")).unwrap();
        let base = BaseKey::generate().unwrap();
        let chain = AuditKey::derive(&base);
        audit::start_chain(&conn, &chain).unwrap();
        (dir, conn, RowKey::derive(&base), chain)
    }

    #[test]
    fn rows_are_sealed_once_and_an_edit_without_the_key_is_found() {
        let (_dir, conn, rows, chain) = db();
        conn.execute(
            "INSERT INTO users (username, password_hash, created_at, created_by, password_changed_at)
             VALUES ('alice', 'h', 1, 'x', 1)",
            [],
        )
        .unwrap();
        seal(&conn, &rows, &chain, Timestamp(1)).unwrap();
        seal(&conn, &rows, &chain, Timestamp(2)).unwrap();
        let marks: i64 =
            conn.query_row("SELECT count(*) FROM audit WHERE action = 'rows.sealed'", [], |r| r.get(0)).unwrap();
        assert_eq!(marks, 1);
        check_all(&conn, &rows).unwrap();
        conn.execute("UPDATE users SET password_hash = 'known'", []).unwrap();
        let err = check_all(&conn, &rows).unwrap_err();
        assert!(matches!(&err, RowError::Tampered { table: "users", row } if row == "alice"), "{err}");
    }

    #[test]
    fn removing_the_sealed_mark_does_not_get_rows_sealed_again() {
        let (_dir, conn, rows, chain) = db();
        seal(&conn, &rows, &chain, Timestamp(1)).unwrap();
        conn.execute("DELETE FROM meta WHERE name = 'rows_sealed'", []).unwrap();
        assert!(matches!(seal(&conn, &rows, &chain, Timestamp(2)), Err(RowError::MarkRemoved)));
    }

    #[test]
    fn no_sql_function_computes_a_mac() {
        let (_dir, conn, _, _) = db();
        let called = conn.query_row("SELECT row_mac('tokens', 1)", [], |r| r.get::<_, Vec<u8>>(0));
        assert!(called.is_err(), "row_mac exists in SQL");
    }

    #[test]
    fn a_grant_is_named_by_its_key_and_resealing_covers_only_its_row() {
        let (_dir, conn, rows, _) = db();
        conn.execute_batch(
            "INSERT INTO users (id, username, password_hash, created_at, created_by, password_changed_at)
               VALUES (7, 'bob', 'h', 1, 'x', 1);
             INSERT INTO grants (user_id, role, namespace, created_at, created_by) VALUES
               (7, 'admin', '', 1, 'x'), (7, 'auditor', 'company', 1, 'x');",
        )
        .unwrap();
        assert_eq!(reseal(&conn, &rows, &USERS, "id = ?1", &[7i64.into()]).unwrap(), 1);
        let one = reseal(&conn, &rows, &GRANTS, "user_id = ?1 AND role = ?2", &[7i64.into(), "auditor".into()]);
        assert_eq!(one.unwrap(), 1);
        let err = check_all(&conn, &rows).unwrap_err();
        assert!(matches!(&err, RowError::Tampered { table: "grants", row } if row == "7 admin"), "{err}");
        reseal(&conn, &rows, &GRANTS, "1 = 1", &[]).unwrap();
        check_all(&conn, &rows).unwrap();
    }

    /// Rows sealed by earlier versions (by a SQL function with this encoding) still match.
    #[test]
    fn the_encoding_is_the_one_rows_were_sealed_with() {
        use hmac::Mac;
        let base = BaseKey::generate().unwrap();
        let derived = base.derive("strongroom security rows v1");
        let mut expected = crate::ssr::crypto::hmac_sha256(derived.as_ref());
        for (tag, bytes) in
            [(b't', b"tokens".to_vec()), (b'i', 5i64.to_be_bytes().to_vec()), (b'n', vec![]), (b'b', vec![1, 2])]
        {
            expected.update(&[tag]);
            expected.update(&(bytes.len() as u64).to_be_bytes());
            expected.update(&bytes);
        }
        let values = [Value::from("tokens"), Value::Int(5), Value::Null, Value::from(&[1u8, 2][..])];
        let key = RowKey::derive(&base);
        assert_eq!(key.mac(&values), expected.finalize().into_bytes().to_vec());
    }

    #[test]
    fn values_of_different_types_or_splits_never_mac_alike() {
        let key = RowKey::derive(&BaseKey::generate().unwrap());
        let a = key.mac(&[Value::from("ab"), Value::from("c")]);
        assert_ne!(a, key.mac(&[Value::from("a"), Value::from("bc")]));
        assert_ne!(key.mac(&[Value::Int(1)]), key.mac(&[Value::from("1")]));
        assert_ne!(key.mac(&[Value::Null]), key.mac(&[Value::from(&[][..])]));
        assert!(key.verify(&[Value::Int(1)], &Value::from(key.mac(&[Value::Int(1)]))));
        assert!(!key.verify(&[Value::Int(1)], &Value::Null));
    }
}

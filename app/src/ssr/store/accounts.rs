//! Users, grants and sessions in SQLite. Free of Leptos, like `store`.
//! Passwords arrive already hashed; session tokens arrive already hashed.

use crate::domain::{view::UserView, Grant, Role, Scope, Timestamp, UserId, Username};
use crate::ssr::{
    store::rows::{self, GRANTS, USERS},
    store::Stamp,
};
use rusqlite::{params, Connection, OptionalExtension};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("user already exists")]
    UserExists,
    #[error("user not found")]
    UserNotFound,
    #[error("grant already exists")]
    GrantExists,
    #[error("grant not found")]
    GrantNotFound,
    #[error("that would leave no enabled admin of every namespace")]
    LastAdmin,
    /// The setup link makes the first admin only.
    #[error("an admin exists already")]
    AdminExists,
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

type Result<T, E = AccountError> = std::result::Result<T, E>;

/// What sign-in needs to know about a user.
#[derive(Debug)]
pub struct Credentials {
    pub id: UserId,
    pub username: Username,
    pub password_hash: String,
    pub disabled: bool,
}

/// The user behind a live session.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub id: UserId,
    pub username: Username,
    pub grants: Vec<Grant>,
}

fn user_id(conn: &Connection, username: &Username) -> Result<UserId> {
    conn.query_row("SELECT id FROM users WHERE username = ?1", [username.as_str()], |r| r.get(0))
        .optional()?
        .ok_or(AccountError::UserNotFound)
}

/// Creates a user with an already-hashed password and its first grants.
pub fn create_user(
    conn: &mut Connection,
    username: &Username,
    password_hash: &str,
    grants: &[Grant],
    stamp: Stamp<'_>,
) -> Result<()> {
    let tx = conn.savepoint()?;
    if user_id(&tx, username).is_ok() {
        return Err(AccountError::UserExists);
    }
    tx.execute(
        "INSERT INTO users (username, password_hash, created_at, created_by, password_changed_at)
         VALUES (?1, ?2, ?3, ?4, ?3)",
        params![username.as_str(), password_hash, stamp.at.0, stamp.actor],
    )?;
    let id = UserId(tx.last_insert_rowid());
    seal_user(&tx, id)?;
    for grant in grants {
        insert_grant(&tx, id, grant, stamp)?;
    }
    tx.commit()?;
    Ok(())
}

/// Gives a `users` row its MAC after a change (see `rows`).
fn seal_user(conn: &Connection, id: UserId) -> Result<()> {
    conn.execute(&format!("UPDATE users SET mac = {USERS} WHERE id = ?1"), [id])?;
    Ok(())
}

/// What signing in as `username` is checked against; none for a name that is
/// no account, or whose row was changed without the root key.
pub fn credentials(conn: &Connection, username: &Username) -> Result<Option<Credentials>> {
    let row = conn
        .query_row(
            &format!("SELECT id, password_hash, disabled, mac IS {USERS} FROM users WHERE username = ?1"),
            [username.as_str()],
            |r| {
                let found = Credentials {
                    id: r.get(0)?,
                    username: username.clone(),
                    password_hash: r.get(1)?,
                    disabled: r.get(2)?,
                };
                Ok((found, r.get::<_, bool>(3)?))
            },
        )
        .optional()?;
    Ok(match row {
        Some((found, true)) => Some(found),
        Some((_, false)) => {
            rows::refused("users", username.as_str());
            None
        }
        None => None,
    })
}

/// Replaces a password hash. `ends_sessions` ends the user's sessions except
/// the one whose hash is given (the caller's own, when changing one's own password).
pub fn set_password_hash(
    conn: &mut Connection,
    user: UserId,
    hash: &str,
    now: Timestamp,
    keep_session: Option<&[u8]>,
    ends_sessions: bool,
) -> Result<()> {
    let tx = conn.savepoint()?;
    tx.execute(
        "UPDATE users SET password_hash = ?2, password_changed_at = ?3 WHERE id = ?1",
        params![user, hash, now.0],
    )?;
    seal_user(&tx, user)?;
    if ends_sessions {
        tx.execute("DELETE FROM sessions WHERE user_id = ?1 AND token_hash IS NOT ?2", params![user, keep_session])?;
    }
    tx.commit()?;
    Ok(())
}

pub fn user_id_of(conn: &Connection, username: &Username) -> Result<UserId> {
    user_id(conn, username)
}

fn parse_grant(role: String, namespace: String) -> rusqlite::Result<Grant> {
    let conv = |e: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e)
    };
    Ok(Grant {
        role: role.parse::<Role>().map_err(|e| conv(Box::new(e)))?,
        scope: Scope::parse(&namespace).map_err(|e| conv(Box::new(e)))?,
    })
}

/// The user's grants; one whose row was changed without the root key is left out (and logged).
pub fn grants_of(conn: &Connection, user: UserId) -> Result<Vec<Grant>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT role, namespace, mac IS {GRANTS} FROM grants WHERE user_id = ?1"))?;
    let rows =
        stmt.query_map([user], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, bool>(2)?)))?;
    let mut grants = Vec::new();
    for row in rows {
        let (role, namespace, sealed) = row?;
        if !sealed {
            rows::refused("grants", &format!("user {user}: {role} on {namespace:?}"));
            continue;
        }
        grants.push(parse_grant(role, namespace)?);
    }
    grants.sort();
    Ok(grants)
}

fn insert_grant(conn: &Connection, user: UserId, grant: &Grant, stamp: Stamp<'_>) -> Result<()> {
    let inserted = conn.execute(
        "INSERT OR IGNORE INTO grants (user_id, role, namespace, created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![user, grant.role.as_str(), grant.scope.as_str(), stamp.at.0, stamp.actor],
    )?;
    if inserted == 0 {
        return Err(AccountError::GrantExists);
    }
    conn.execute(
        &format!("UPDATE grants SET mac = {GRANTS} WHERE user_id = ?1 AND role = ?2 AND namespace = ?3"),
        params![user, grant.role.as_str(), grant.scope.as_str()],
    )?;
    Ok(())
}

pub fn add_grant(conn: &mut Connection, username: &Username, grant: &Grant, stamp: Stamp<'_>) -> Result<()> {
    let tx = conn.savepoint()?;
    let id = user_id(&tx, username)?;
    insert_grant(&tx, id, grant, stamp)?;
    tx.commit()?;
    Ok(())
}

/// Whether an enabled admin of every namespace exists.
pub fn admin_exists(conn: &Connection) -> Result<bool> {
    Ok(full_admins(conn)? > 0)
}

/// Enabled users holding admin on every namespace.
fn full_admins(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM users u JOIN grants g ON g.user_id = u.id
         WHERE u.disabled = 0 AND g.role = 'admin' AND g.namespace = ''",
        [],
        |r| r.get(0),
    )?)
}

pub fn revoke_grant(conn: &mut Connection, username: &Username, grant: &Grant) -> Result<()> {
    let tx = conn.savepoint()?;
    let id = user_id(&tx, username)?;
    let removed = tx.execute(
        "DELETE FROM grants WHERE user_id = ?1 AND role = ?2 AND namespace = ?3",
        params![id, grant.role.as_str(), grant.scope.as_str()],
    )?;
    if removed == 0 {
        return Err(AccountError::GrantNotFound);
    }
    if full_admins(&tx)? == 0 {
        return Err(AccountError::LastAdmin);
    }
    tx.commit()?;
    Ok(())
}

/// Disables (ending every session) or re-enables a user.
pub fn set_disabled(conn: &mut Connection, username: &Username, disabled: bool) -> Result<()> {
    let tx = conn.savepoint()?;
    let id = user_id(&tx, username)?;
    tx.execute("UPDATE users SET disabled = ?2 WHERE id = ?1", params![id, disabled])?;
    seal_user(&tx, id)?;
    if disabled {
        tx.execute("DELETE FROM sessions WHERE user_id = ?1", [id])?;
        if full_admins(&tx)? == 0 {
            return Err(AccountError::LastAdmin);
        }
    }
    tx.commit()?;
    Ok(())
}

/// Every user with grants and live session count, by username.
/// How many accounts exist (none on a fresh install).
pub fn user_count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?)
}

pub fn list_users(conn: &Connection) -> Result<Vec<UserView>> {
    let mut stmt = conn.prepare(
        "SELECT id, username, disabled, created_at, (SELECT count(*) FROM sessions s WHERE s.user_id = u.id),
            (SELECT a.at FROM audit a WHERE a.actor = u.username AND a.action = 'sign-in'
               AND substr(a.outcome, 1, 2) = 'ok' ORDER BY a.id DESC LIMIT 1)
         FROM users u ORDER BY username",
    )?;
    let rows = stmt
        .query_map([], |r| {
            let last: Option<i64> = r.get(5)?;
            Ok((r.get::<_, UserId>(0)?, r.get::<_, String>(1)?, r.get(2)?, Timestamp(r.get(3)?), r.get(4)?, last))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(id, name, disabled, created_at, sessions, last)| {
            let username = Username::parse(&name)
                .map_err(|e| rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e)))?;
            let last_sign_in = last.map(Timestamp);
            Ok(UserView { username, disabled, created_at, sessions, last_sign_in, grants: grants_of(conn, id)? })
        })
        .collect()
}

// ---------------------------------------------------------------- sessions

pub fn create_session(conn: &Connection, token_hash: &[u8], user: UserId, now: Timestamp) -> Result<()> {
    conn.execute(
        "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at) VALUES (?1, ?2, ?3, ?3)",
        params![token_hash, user, now.0],
    )?;
    Ok(())
}

/// Session lifetimes.
#[derive(Clone, Copy, Debug)]
pub struct SessionLimits {
    pub idle: Duration,
    pub absolute: Duration,
}

/// The user of a live session. An expired session (idle or absolute), or one
/// whose user is disabled, is deleted and counts as none. `last_seen_at` is
/// refreshed at most once a minute, so page loads rarely write.
/// What a session lookup found. Lookups run on a read-only connection; the
/// follow-ups (`Ended` → delete, `touch` → bump `last_seen_at`) go to the writer.
#[derive(Debug)]
pub enum SessionLookup {
    Missing,
    /// Expired, or its user is disabled: delete it.
    Ended,
    /// Live; `touch` when `last_seen_at` is a minute old or more.
    Live {
        user: SessionUser,
        touch: bool,
    },
}

pub fn lookup_session(
    conn: &Connection,
    token_hash: &[u8],
    now: Timestamp,
    limits: SessionLimits,
) -> Result<SessionLookup> {
    let row: Option<(UserId, String, bool, i64, i64, bool)> = conn
        .prepare_cached(&format!(
            "SELECT u.id, u.username, u.disabled, s.created_at, s.last_seen_at, u.mac IS {USERS}
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1"
        ))?
        .query_row([token_hash], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .optional()?;
    let Some((id, name, disabled, created, seen, sealed)) = row else { return Ok(SessionLookup::Missing) };
    let expired = now.0 - seen > limits.idle.as_secs() as i64 || now.0 - created > limits.absolute.as_secs() as i64;
    // Times after now were not written by this server (a clock a minute off is forgiven).
    let from_the_future = created > now.0 + 60 || seen > now.0 + 60;
    let Ok(username) = Username::parse(&name) else { return Ok(SessionLookup::Ended) };
    if !sealed {
        rows::refused("users", &name);
    }
    if expired || disabled || from_the_future || !sealed {
        return Ok(SessionLookup::Ended);
    }
    let user = SessionUser { id, username, grants: grants_of(conn, id)? };
    Ok(SessionLookup::Live { user, touch: now.0 - seen >= 60 })
}

pub fn touch_session(conn: &Connection, token_hash: &[u8], now: Timestamp) -> Result<()> {
    conn.execute("UPDATE sessions SET last_seen_at = ?2 WHERE token_hash = ?1", params![token_hash, now.0])?;
    Ok(())
}

pub fn end_session(conn: &Connection, token_hash: &[u8]) -> Result<()> {
    conn.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
    Ok(())
}

/// Ends every session of `username`; returns how many ended.
pub fn end_sessions(conn: &Connection, username: &Username) -> Result<usize> {
    let id = user_id(conn, username)?;
    Ok(conn.execute("DELETE FROM sessions WHERE user_id = ?1", [id])?)
}

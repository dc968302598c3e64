//! Users, grants and sessions. Free of Leptos, like `store`.
//! Passwords arrive already hashed; session tokens arrive already hashed.

use crate::domain::{view::UserView, Grant, Role, Scope, Timestamp, UserId, Username};
use crate::ssr::{
    db::{
        sql::{hold, savepoint, Lock, Sql, SqlError},
        RowKey,
    },
    store::rows::{self, GRANTS, SESSIONS, USERS},
    store::Stamp,
};
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
    Database(#[from] SqlError),
    #[error(transparent)]
    Rows(#[from] rows::RowError),
}

impl From<rusqlite::Error> for AccountError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Database(e.into())
    }
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

fn user_id<S: Sql + ?Sized>(db: &S, username: &Username) -> Result<UserId> {
    let row = db.query_opt("SELECT id FROM users WHERE username = ?1", &[username.as_str().into()])?;
    Ok(UserId(row.ok_or(AccountError::UserNotFound)?[0].int()?))
}

/// Creates a user with an already-hashed password and its first grants.
pub fn create_user<S: Sql + ?Sized>(
    db: &S,
    rows: &RowKey,
    username: &Username,
    password_hash: &str,
    grants: &[Grant],
    stamp: Stamp<'_>,
) -> Result<()> {
    savepoint(db, |tx| {
        // Two creates of one name at once: the unique index refuses the second.
        let made = tx.query_opt(
            "INSERT INTO users (username, password_hash, created_at, created_by, password_changed_at)
             VALUES (?1, ?2, ?3, ?4, ?3) ON CONFLICT (username) DO NOTHING RETURNING id",
            &[username.as_str().into(), password_hash.into(), stamp.at.0.into(), stamp.actor.into()],
        )?;
        let id = UserId(made.ok_or(AccountError::UserExists)?[0].int()?);
        seal_user(tx, rows, id)?;
        for grant in grants {
            insert_grant(tx, rows, id, grant, stamp)?;
        }
        Ok(())
    })
}

/// Gives a `users` row its MAC after a change (see `rows`).
fn seal_user<S: Sql + ?Sized>(db: &S, rows: &RowKey, id: UserId) -> Result<()> {
    rows::reseal(db, rows, &USERS, "id = ?1", &[id.into()])?;
    Ok(())
}

/// What signing in as `username` is checked against; none for a name that is
/// no account, or whose row was changed without the root key.
pub fn credentials<S: Sql + ?Sized>(db: &S, rows: &RowKey, username: &Username) -> Result<Option<Credentials>> {
    // The covered columns (id, username, password_hash, disabled, password_changed_at), then mac.
    static SQL: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| format!("SELECT {} FROM users WHERE username = ?1", USERS.columns("")));
    let Some(row) = db.query_opt(&SQL, &[username.as_str().into()])? else { return Ok(None) };
    if !USERS.intact(rows, &row) {
        rows::refused("users", username.as_str());
        return Ok(None);
    }
    Ok(Some(Credentials {
        id: UserId(row[0].int()?),
        username: username.clone(),
        password_hash: row[2].text()?.to_owned(),
        disabled: row[3].bool()?,
    }))
}

/// Replaces a password hash. `ends_sessions` ends the user's sessions except
/// the one whose hash is given (the caller's own, when changing one's own password).
pub fn set_password_hash<S: Sql + ?Sized>(
    db: &S,
    rows: &RowKey,
    user: UserId,
    hash: &str,
    now: Timestamp,
    keep_session: Option<&[u8]>,
    ends_sessions: bool,
) -> Result<()> {
    savepoint(db, |tx| {
        // No check first: a new password (an admin's reset) replaces what an
        // edit without the root key could have put there.
        tx.execute(
            "UPDATE users SET password_hash = ?2, password_changed_at = ?3 WHERE id = ?1",
            &[user.into(), hash.into(), now.0.into()],
        )?;
        seal_user(tx, rows, user)?;
        if ends_sessions {
            let keep = keep_session.unwrap_or_default();
            tx.execute("DELETE FROM sessions WHERE user_id = ?1 AND token_hash <> ?2", &[user.into(), keep.into()])?;
        }
        Ok(())
    })
}

pub fn user_id_of<S: Sql + ?Sized>(db: &S, username: &Username) -> Result<UserId> {
    user_id(db, username)
}

fn parse_grant(role: &str, namespace: &str) -> Result<Grant, SqlError> {
    let bad = |what: &str| SqlError::Type(format!("a stored grant's {what} does not parse"));
    Ok(Grant {
        role: role.parse::<Role>().map_err(|_| bad("role"))?,
        scope: Scope::parse(namespace).map_err(|_| bad("namespace"))?,
    })
}

/// The user's grants; one whose row was changed without the root key is left out (and logged).
pub fn grants_of<S: Sql + ?Sized>(db: &S, rows: &RowKey, user: UserId) -> Result<Vec<Grant>> {
    // The covered columns (user_id, role, namespace), then mac.
    static SQL: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| format!("SELECT {} FROM grants WHERE user_id = ?1", GRANTS.columns("")));
    let mut grants = Vec::new();
    db.query_each(&SQL, &[user.into()], &mut |row| {
        // Checked before anything is read out of it: an edited row may hold anything.
        if !GRANTS.intact(rows, row) {
            rows::refused("grants", &format!("of user {user}"));
            return Ok(());
        }
        grants.push(parse_grant(row[1].text()?, row[2].text()?)?);
        Ok(())
    })?;
    grants.sort();
    Ok(grants)
}

fn insert_grant<S: Sql + ?Sized>(db: &S, rows: &RowKey, user: UserId, grant: &Grant, stamp: Stamp<'_>) -> Result<()> {
    let inserted = db.execute(
        "INSERT INTO grants (user_id, role, namespace, created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (user_id, role, namespace) DO NOTHING",
        &[user.into(), grant.role.as_str().into(), grant.scope.as_str().into(), stamp.at.0.into(), stamp.actor.into()],
    )?;
    if inserted == 0 {
        return Err(AccountError::GrantExists);
    }
    rows::reseal(
        db,
        rows,
        &GRANTS,
        "user_id = ?1 AND role = ?2 AND namespace = ?3",
        &[user.into(), grant.role.as_str().into(), grant.scope.as_str().into()],
    )?;
    Ok(())
}

pub fn add_grant<S: Sql + ?Sized>(
    db: &S,
    rows: &RowKey,
    username: &Username,
    grant: &Grant,
    stamp: Stamp<'_>,
) -> Result<()> {
    savepoint(db, |tx| {
        let id = user_id(tx, username)?;
        insert_grant(tx, rows, id, grant, stamp)
    })
}

/// Whether an enabled admin of every namespace exists.
pub fn admin_exists<S: Sql + ?Sized>(db: &S) -> Result<bool> {
    Ok(full_admins(db)? > 0)
}

/// Enabled users holding admin on every namespace. Counted under a lock, so
/// that two changes at once on PostgreSQL (each removing one of two admins)
/// take turns, and the second counts after the first's change.
fn full_admins<S: Sql + ?Sized>(db: &S) -> Result<i64> {
    hold(db, Lock::Admins)?;
    let counted = db.query(
        "SELECT count(*) FROM users u JOIN grants g ON g.user_id = u.id
         WHERE u.disabled = 0 AND g.role = 'admin' AND g.namespace = ''",
        &[],
    )?;
    Ok(counted[0][0].int()?)
}

pub fn revoke_grant<S: Sql + ?Sized>(db: &S, username: &Username, grant: &Grant) -> Result<()> {
    savepoint(db, |tx| {
        let id = user_id(tx, username)?;
        let removed = tx.execute(
            "DELETE FROM grants WHERE user_id = ?1 AND role = ?2 AND namespace = ?3",
            &[id.into(), grant.role.as_str().into(), grant.scope.as_str().into()],
        )?;
        if removed == 0 {
            return Err(AccountError::GrantNotFound);
        }
        // Given by the IdP once, revoked by hand now: a later grant by hand is the admin's.
        tx.execute(
            "DELETE FROM idp_grants WHERE user_id = ?1 AND role = ?2 AND namespace = ?3",
            &[id.into(), grant.role.as_str().into(), grant.scope.as_str().into()],
        )?;
        if full_admins(tx)? == 0 {
            return Err(AccountError::LastAdmin);
        }
        Ok(())
    })
}

/// Disables (ending every session) or re-enables a user.
pub fn set_disabled<S: Sql + ?Sized>(db: &S, rows: &RowKey, username: &Username, disabled: bool) -> Result<()> {
    savepoint(db, |tx| {
        let id = user_id(tx, username)?;
        // Resealing would make an edited password hash this server's: reset the password first.
        rows::check_before_change(tx, rows, &USERS, "id = ?1", &[id.into()])?;
        tx.execute("UPDATE users SET disabled = ?2 WHERE id = ?1", &[id.into(), disabled.into()])?;
        seal_user(tx, rows, id)?;
        if disabled {
            tx.execute("DELETE FROM sessions WHERE user_id = ?1", &[id.into()])?;
            if full_admins(tx)? == 0 {
                return Err(AccountError::LastAdmin);
            }
        }
        Ok(())
    })
}

/// How many accounts exist (none on a fresh install).
pub fn user_count<S: Sql + ?Sized>(db: &S) -> Result<i64> {
    Ok(db.query("SELECT count(*) FROM users", &[])?[0][0].int()?)
}

/// Every user with grants and live session count, by username.
pub fn list_users<S: Sql + ?Sized>(db: &S, rows: &RowKey) -> Result<Vec<UserView>> {
    let found = db.query(
        "SELECT id, username, disabled, created_at, (SELECT count(*) FROM sessions s WHERE s.user_id = u.id),
            (SELECT a.at FROM audit a WHERE a.actor = u.username AND a.action = 'sign-in'
               AND substr(a.outcome, 1, 2) = 'ok' ORDER BY a.id DESC LIMIT 1)
         FROM users u ORDER BY username",
        &[],
    )?;
    found
        .iter()
        .map(|r| {
            let id = UserId(r[0].int()?);
            Ok(UserView {
                username: r[1].parse::<Username>()?,
                disabled: r[2].bool()?,
                created_at: Timestamp(r[3].int()?),
                sessions: u32::try_from(r[4].int()?).unwrap_or(u32::MAX),
                last_sign_in: r[5].opt_int()?.map(Timestamp),
                grants: grants_of(db, rows, id)?,
                idp_grants: super::sso::from_idp(db, rows, id)?,
            })
        })
        .collect()
}

// ---------------------------------------------------------------- sessions

pub fn create_session<S: Sql + ?Sized>(
    db: &S,
    rows: &RowKey,
    token_hash: &[u8],
    user: UserId,
    now: Timestamp,
) -> Result<()> {
    savepoint(db, |tx| {
        tx.execute(
            "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at) VALUES (?1, ?2, ?3, ?3)",
            &[token_hash.into(), user.into(), now.0.into()],
        )?;
        rows::reseal(tx, rows, &SESSIONS, "token_hash = ?1", &[token_hash.into()])?;
        Ok(())
    })
}

/// Session lifetimes.
#[derive(Clone, Copy, Debug)]
pub struct SessionLimits {
    pub idle: Duration,
    pub absolute: Duration,
}

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

/// The user of a live session. An expired session (idle or absolute), or one
/// whose user is disabled, counts as ended. `last_seen_at` is refreshed at
/// most once a minute, so page loads rarely write.
pub fn lookup_session<S: Sql + ?Sized>(
    db: &S,
    rows: &RowKey,
    token_hash: &[u8],
    now: Timestamp,
    limits: SessionLimits,
) -> Result<SessionLookup> {
    // The user's covered columns and mac, the session's, then when it was last seen.
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT {}, {}, s.last_seen_at FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = ?1",
            USERS.columns("u"),
            SESSIONS.columns("s")
        )
    });
    let Some(row) = db.query_opt(&SQL, &[token_hash.into()])? else { return Ok(SessionLookup::Missing) };
    let (user, rest) = row.split_at(USERS.width());
    let (session, seen) = rest.split_at(SESSIONS.width());
    let (id, name, disabled) = (UserId(user[0].int()?), user[1].text()?, user[3].bool()?);
    let (created, seen) = (session[2].int()?, seen[0].int()?);
    // An SSO session ends sooner: its user's roles are re-computed at the IdP.
    let absolute =
        session[3].opt_int()?.map_or(limits.absolute.as_secs() as i64, |max| max.min(limits.absolute.as_secs() as i64));
    if !SESSIONS.intact(rows, session) {
        rows::refused("sessions", &format!("of user {name}"));
        return Ok(SessionLookup::Ended);
    }
    let sealed = USERS.intact(rows, user);
    let expired = now.0 - seen > limits.idle.as_secs() as i64 || now.0 - created > absolute;
    // Times after now were not written by this server (a clock a minute off is forgiven).
    let from_the_future = created > now.0 + 60 || seen > now.0 + 60;
    let Ok(username) = Username::parse(name) else { return Ok(SessionLookup::Ended) };
    if !sealed {
        rows::refused("users", name);
    }
    if expired || disabled || from_the_future || !sealed {
        return Ok(SessionLookup::Ended);
    }
    let user = SessionUser { id, username, grants: grants_of(db, rows, id)? };
    Ok(SessionLookup::Live { user, touch: now.0 - seen >= 60 })
}

pub fn touch_session<S: Sql + ?Sized>(db: &S, token_hash: &[u8], now: Timestamp) -> Result<()> {
    db.execute("UPDATE sessions SET last_seen_at = ?2 WHERE token_hash = ?1", &[token_hash.into(), now.0.into()])?;
    Ok(())
}

pub fn end_session<S: Sql + ?Sized>(db: &S, token_hash: &[u8]) -> Result<()> {
    db.execute("DELETE FROM sessions WHERE token_hash = ?1", &[token_hash.into()])?;
    Ok(())
}

/// Ends every session of `username`; returns how many ended.
pub fn end_sessions<S: Sql + ?Sized>(db: &S, username: &Username) -> Result<usize> {
    let id = user_id(db, username)?;
    Ok(db.execute("DELETE FROM sessions WHERE user_id = ?1", &[id.into()])? as usize)
}

//! AppRoles: how a workload logs in without a long-lived token on disk, as
//! Vault's AppRole does (`POST /v1/auth/approle/login`). A role has a public
//! `role_id` and any number of `secret_id`s (stored as hashes, each with an
//! expiry); a login with both gets a short-lived token scoped like the role.
//!
//! A login's token is a row of `tokens` named `approle.ROLE.ID`, created by
//! `approle:ROLE` (see `logins`). Revoking a role revokes its secret ids and
//! its live logins at once.
//!
//! `approles` and `approle_secret_ids` are security rows (`store::rows`): a
//! row changed without the root key is refused, never trusted.

use crate::domain::{token::LOGIN_PREFIX, Scope, Timestamp, TokenName};
use crate::ssr::{
    auth::token_hash,
    db::{
        sql::{Sql, SqlError, Value},
        RowKey,
    },
    store::rows::{self, APPROLES, SECRET_IDS},
    store::Stamp,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use zeroize::Zeroizing;

/// What a secret id starts with (secret scanners can look for it).
pub const SECRET_ID_PREFIX: &str = "srs_";

/// The longest a secret id may live (0 means never expires).
pub const MAX_SECRET_ID_TTL: i64 = 366 * 86_400;

use super::logins::{random, uuid};
pub use super::logins::{RoleError as AppRoleError, MAX_TOKEN_TTL};

type Result<T, E = AppRoleError> = std::result::Result<T, E>;

pub use crate::domain::token::AppRoleView;

/// A secret id just issued: shown once, then only its hash is kept.
pub struct Issued {
    pub secret_id: Zeroizing<String>,
    /// Names the secret id (to revoke it) without being it.
    pub accessor: String,
    pub expires_at: Option<Timestamp>,
}

/// A login that succeeded: its token (shown once, to the workload).
pub struct Login {
    pub token: Zeroizing<String>,
    /// The token's row name (`approle.ROLE.ID`).
    pub token_name: TokenName,
    pub accessor: String,
    /// The accessor of the secret id that logged in (for the trail).
    pub secret_accessor: String,
    pub role: TokenName,
    pub scope: Scope,
    pub expires_at: Timestamp,
}

fn view_sql() -> String {
    VIEW_TEMPLATE.replace("{LIVE}", &super::logins::live_count("a.name"))
}

const VIEW_TEMPLATE: &str =
    "SELECT a.name, a.role_id, a.namespace, a.token_ttl, a.secret_id_ttl, a.created_at, a.created_by,
       a.revoked_at,
       (SELECT count(*) FROM approle_secret_ids s WHERE s.approle_id = a.id AND s.revoked_at IS NULL
          AND (s.expires_at IS NULL OR s.expires_at > ?1)),
       {LIVE}
     FROM approles a";

fn view_from(r: &[Value<'_>]) -> Result<AppRoleView, SqlError> {
    let bad = |what: &str| SqlError::Type(format!("a stored AppRole {what} does not parse"));
    Ok(AppRoleView {
        name: TokenName::parse(r[0].text()?).map_err(|_| bad("name"))?,
        role_id: r[1].text()?.to_owned(),
        scope: Scope::parse(r[2].text()?).map_err(|_| bad("scope"))?,
        token_ttl: r[3].int()?,
        secret_id_ttl: r[4].int()?,
        created_at: Timestamp(r[5].int()?),
        created_by: r[6].text()?.to_owned(),
        revoked_at: r[7].opt_int()?.map(Timestamp),
        live_secret_ids: r[8].int()?,
        live_logins: r[9].int()?,
    })
}

/// Every AppRole, live ones first, by name.
pub fn list<S: Sql + ?Sized>(db: &S, now: Timestamp) -> Result<Vec<AppRoleView>> {
    let sql = format!("{} ORDER BY a.revoked_at IS NOT NULL, a.name", view_sql());
    let rows = db.query(&sql, &[now.0.into(), LOGIN_PREFIX.into()])?;
    Ok(rows.iter().map(|r| view_from(r)).collect::<Result<_, _>>()?)
}

/// One AppRole by name.
pub fn get<S: Sql + ?Sized>(db: &S, name: &TokenName, now: Timestamp) -> Result<AppRoleView> {
    let sql = format!("{} WHERE a.name = ?3", view_sql());
    let row = db.query_opt(&sql, &[now.0.into(), LOGIN_PREFIX.into(), name.as_str().into()])?;
    Ok(view_from(&row.ok_or(AppRoleError::NotFound)?)?)
}

/// Creates AppRole `name` reading `scope`, and its first secret id.
pub fn create<S: Sql + ?Sized>(
    db: &S,
    rows: &RowKey,
    name: &TokenName,
    scope: &Scope,
    (token_ttl, secret_id_ttl): (i64, i64),
    stamp: Stamp<'_>,
) -> Result<(AppRoleView, Issued)> {
    // Two creates of one name at once: the unique index refuses the second.
    let inserted = db.execute(
        "INSERT INTO approles (name, role_id, namespace, token_ttl, secret_id_ttl, created_at, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (name) DO NOTHING",
        &[
            name.as_str().into(),
            uuid()?.into(),
            scope.as_str().into(),
            token_ttl.into(),
            secret_id_ttl.into(),
            stamp.at.0.into(),
            stamp.actor.into(),
        ],
    )?;
    if inserted == 0 {
        return Err(AppRoleError::NameTaken);
    }
    rows::reseal(db, rows, &APPROLES, "name = ?1", &[name.as_str().into()])?;
    let secret = issue_secret_id(db, rows, name, stamp)?;
    Ok((get(db, name, stamp.at)?, secret))
}

/// The id of live role `name`, its row checked (and locked on PostgreSQL).
fn live_role<S: Sql + ?Sized>(db: &S, rows: &RowKey, name: &TokenName) -> Result<(i64, i64)> {
    let row = db
        .query_opt("SELECT id, secret_id_ttl, revoked_at FROM approles WHERE name = ?1", &[name.as_str().into()])?
        .ok_or(AppRoleError::NotFound)?;
    if !matches!(row[2], Value::Null) {
        return Err(AppRoleError::Revoked);
    }
    let id = row[0].int()?;
    rows::check_before_change(db, rows, &APPROLES, "id = ?1", &[id.into()])?;
    Ok((id, row[1].int()?))
}

/// Issues another secret id for live role `name`, expiring after the role's secret-id TTL.
pub fn issue_secret_id<S: Sql + ?Sized>(db: &S, rows: &RowKey, name: &TokenName, stamp: Stamp<'_>) -> Result<Issued> {
    let (role, ttl) = live_role(db, rows, name)?;
    let secret_id = Zeroizing::new(format!("{SECRET_ID_PREFIX}{}", URL_SAFE_NO_PAD.encode(random::<32>()?.as_ref())));
    let accessor = uuid()?;
    let expires_at = (ttl > 0).then(|| Timestamp(stamp.at.0.saturating_add(ttl)));
    db.execute(
        "INSERT INTO approle_secret_ids (approle_id, hash, accessor, created_at, created_by, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        &[
            role.into(),
            token_hash(&secret_id).into(),
            accessor.as_str().into(),
            stamp.at.0.into(),
            stamp.actor.into(),
            expires_at.map(|t| t.0).into(),
        ],
    )?;
    rows::reseal(db, rows, &SECRET_IDS, "accessor = ?1", &[accessor.as_str().into()])?;
    Ok(Issued { secret_id, accessor, expires_at })
}

/// Revokes the secret id of role `name` whose accessor is `accessor`.
pub fn revoke_secret_id<S: Sql + ?Sized>(
    db: &S,
    rows: &RowKey,
    name: &TokenName,
    accessor: &str,
    stamp: Stamp<'_>,
) -> Result<()> {
    let (role, _) = live_role(db, rows, name)?;
    let revoked = db.execute(
        "UPDATE approle_secret_ids SET revoked_at = ?3
         WHERE approle_id = ?1 AND accessor = ?2 AND revoked_at IS NULL",
        &[role.into(), accessor.trim().into(), stamp.at.0.into()],
    )?;
    if revoked == 0 {
        return Err(AppRoleError::NoSuchSecretId);
    }
    rows::reseal(db, rows, &SECRET_IDS, "accessor = ?1", &[accessor.trim().into()])?;
    Ok(())
}

/// Revokes role `name`, its secret ids and its live logins' tokens, at once.
/// Returns how many login tokens were revoked.
pub fn revoke<S: Sql + ?Sized>(db: &S, rows: &RowKey, name: &TokenName, stamp: Stamp<'_>) -> Result<u64> {
    let (role, _) = live_role(db, rows, name)?;
    db.execute(
        "UPDATE approles SET revoked_at = ?2, revoked_by = ?3 WHERE id = ?1",
        &[role.into(), stamp.at.0.into(), stamp.actor.into()],
    )?;
    rows::reseal(db, rows, &APPROLES, "id = ?1", &[role.into()])?;
    db.execute(
        "UPDATE approle_secret_ids SET revoked_at = ?2 WHERE approle_id = ?1 AND revoked_at IS NULL",
        &[role.into(), stamp.at.0.into()],
    )?;
    rows::reseal(db, rows, &SECRET_IDS, "approle_id = ?1", &[role.into()])?;
    super::logins::revoke_all(db, rows, (LOGIN_PREFIX, name), stamp)
}

/// Logs in with `role_id` and `secret_id`: a new token scoped like the role,
/// living for the role's token TTL (never past the secret id's expiry is not
/// promised: the secret id proves who logs in, the token is what they hold).
pub fn login<S: Sql + ?Sized>(db: &S, rows: &RowKey, role_id: &str, secret_id: &str, now: Timestamp) -> Result<Login> {
    let refused = AppRoleError::Refused;
    let role = db
        .query_opt(
            &format!("SELECT {} FROM approles WHERE role_id = ?1", APPROLES.columns("")),
            &[role_id.trim().into()],
        )?
        .ok_or(refused("unknown role id"))?;
    // The covered columns: id, name, role_id, namespace, token_ttl, revoked_at; then mac.
    let name =
        TokenName::parse(role[1].text()?).map_err(|_| SqlError::Type("an AppRole name does not parse".into()))?;
    if !APPROLES.intact(rows, &role) {
        rows::refused("approles", name.as_str());
        return Err(refused("the role's row was changed without the root key"));
    }
    if !matches!(role[5], Value::Null) {
        return Err(refused("the role is revoked"));
    }
    let (id, ttl) = (role[0].int()?, role[4].int()?);
    let scope = Scope::parse(role[3].text()?).map_err(|_| SqlError::Type("an AppRole scope does not parse".into()))?;
    let secret = db
        .query_opt(
            &format!("SELECT {} FROM approle_secret_ids WHERE hash = ?1", SECRET_IDS.columns("")),
            &[token_hash(secret_id.trim()).into()],
        )?
        .ok_or(refused("unknown secret id"))?;
    // Covered: id, approle_id, hash, expires_at, revoked_at; then mac.
    if secret[1].int()? != id {
        return Err(refused("the secret id belongs to another role"));
    }
    if !SECRET_IDS.intact(rows, &secret) {
        rows::refused("approle_secret_ids", &secret[0].int()?.to_string());
        return Err(refused("the secret id's row was changed without the root key"));
    }
    if !matches!(secret[4], Value::Null) {
        return Err(refused("the secret id is revoked"));
    }
    if secret[3].opt_int()?.is_some_and(|at| at <= now.0) {
        return Err(refused("the secret id has expired"));
    }
    let secret_accessor = db
        .query_opt("SELECT accessor FROM approle_secret_ids WHERE id = ?1", &[secret[0].clone()])?
        .map(|r| r[0].text().map(str::to_owned))
        .transpose()?
        .unwrap_or_default();
    let actor = format!("approle:{name}");
    let t = super::logins::issue(db, rows, (LOGIN_PREFIX, &name), &scope, ttl, &actor, now)?;
    Ok(Login {
        token: t.token,
        token_name: t.token_name,
        accessor: t.accessor,
        secret_accessor,
        role: name,
        scope,
        expires_at: t.expires_at,
    })
}

/// The name of the role whose role id is `role_id`, if any (what a refused
/// login's entry names).
pub fn name_of_role_id<S: Sql + ?Sized>(db: &S, role_id: &str) -> Result<Option<TokenName>> {
    let row = db.query_opt("SELECT name FROM approles WHERE role_id = ?1", &[role_id.trim().into()])?;
    Ok(row.and_then(|r| TokenName::parse(r[0].text().ok()?).ok()))
}

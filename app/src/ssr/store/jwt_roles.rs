//! JWT roles: how a workload logs in with a signed identity token (GitHub
//! Actions, GitLab CI, Kubernetes), as Vault's `jwt` auth does
//! (`POST /v1/auth/jwt/login`). A role names the issuer whose keys sign the
//! token, the audience it must carry, claims it must carry exactly, and what
//! its logins read. The signature and claims are checked by the server
//! (`v1::jwt`) before [`login`] makes the token.
//!
//! A login's token is a row of `tokens` named `jwt.ROLE.ID` (see `logins`).
//! `jwt_roles` rows are security rows (`store::rows`): a role whose row was
//! changed without the root key (a claim loosened, a scope widened) is
//! refused, never trusted.

use super::logins::{self, LoginToken, RoleError};
use crate::domain::{
    jwt::{BoundClaims, Issuer, JwtRoleView},
    token::JWT_LOGIN_PREFIX,
    Scope, Timestamp, TokenName,
};
use crate::ssr::{
    db::{
        sql::{Sql, SqlError, Value},
        RowKey,
    },
    store::rows::{self, JWT_ROLES},
    store::Stamp,
};

type Result<T, E = RoleError> = std::result::Result<T, E>;

/// The longest a login's token may live (what `--token-ttl` allows).
pub use super::logins::MAX_TOKEN_TTL;

/// A live role, its row checked: what a login is held against.
#[derive(Clone, Debug)]
pub struct Role {
    pub name: TokenName,
    pub issuer: Issuer,
    pub audience: String,
    pub bound: BoundClaims,
    pub scope: Scope,
    pub token_ttl: i64,
}

fn parse_err(what: &str) -> SqlError {
    SqlError::Type(format!("a stored JWT role's {what} does not parse"))
}

fn bound_from(text: &str) -> Result<BoundClaims, SqlError> {
    serde_json::from_str(text).map_err(|_| parse_err("bound claims"))
}

fn view_sql() -> String {
    format!(
        "SELECT r.name, r.issuer, r.audience, r.bound_claims, r.namespace, r.token_ttl, r.created_at, r.created_by,
                r.revoked_at, {}
         FROM jwt_roles r",
        logins::live_count("r.name")
    )
}

fn view_from(r: &[Value<'_>]) -> Result<JwtRoleView, SqlError> {
    Ok(JwtRoleView {
        name: TokenName::parse(r[0].text()?).map_err(|_| parse_err("name"))?,
        issuer: Issuer::parse(r[1].text()?).map_err(|_| parse_err("issuer"))?,
        audience: r[2].text()?.to_owned(),
        bound: bound_from(r[3].text()?)?,
        scope: Scope::parse(r[4].text()?).map_err(|_| parse_err("scope"))?,
        token_ttl: r[5].int()?,
        created_at: Timestamp(r[6].int()?),
        created_by: r[7].text()?.to_owned(),
        revoked_at: r[8].opt_int()?.map(Timestamp),
        live_logins: r[9].int()?,
    })
}

/// Every JWT role, live ones first, by name.
pub fn list<S: Sql + ?Sized>(db: &S, now: Timestamp) -> Result<Vec<JwtRoleView>> {
    let sql = format!("{} ORDER BY r.revoked_at IS NOT NULL, r.name", view_sql());
    let rows = db.query(&sql, &[now.0.into(), JWT_LOGIN_PREFIX.into()])?;
    Ok(rows.iter().map(|r| view_from(r)).collect::<Result<_, _>>()?)
}

/// One JWT role by name.
pub fn get<S: Sql + ?Sized>(db: &S, name: &TokenName, now: Timestamp) -> Result<JwtRoleView> {
    let sql = format!("{} WHERE r.name = ?3", view_sql());
    let row = db.query_opt(&sql, &[now.0.into(), JWT_LOGIN_PREFIX.into(), name.as_str().into()])?;
    Ok(view_from(&row.ok_or(RoleError::NotFound)?)?)
}

/// Creates role `name`: tokens from `issuer` for `audience` carrying `bound`
/// log in for `token_ttl` seconds, reading `scope`.
pub fn create<S: Sql + ?Sized>(db: &S, rows: &RowKey, role: &Role, stamp: Stamp<'_>) -> Result<JwtRoleView> {
    let bound = serde_json::to_string(&role.bound).map_err(|e| SqlError::Type(e.to_string()))?;
    let inserted = db.execute(
        "INSERT INTO jwt_roles (name, issuer, audience, bound_claims, namespace, token_ttl, created_at, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (name) DO NOTHING",
        &[
            role.name.as_str().into(),
            role.issuer.as_str().into(),
            role.audience.as_str().into(),
            bound.as_str().into(),
            role.scope.as_str().into(),
            role.token_ttl.into(),
            stamp.at.0.into(),
            stamp.actor.into(),
        ],
    )?;
    if inserted == 0 {
        return Err(RoleError::NameTaken);
    }
    rows::reseal(db, rows, &JWT_ROLES, "name = ?1", &[role.name.as_str().into()])?;
    get(db, &role.name, stamp.at)
}

/// Live role `name` with its row checked, or why a login with it is refused.
pub fn for_login<S: Sql + ?Sized>(db: &S, rows: &RowKey, name: &TokenName) -> Result<(i64, Role)> {
    let refused = RoleError::Refused;
    let row = db
        .query_opt(
            &format!("SELECT {} FROM jwt_roles WHERE name = ?1", JWT_ROLES.columns("")),
            &[name.as_str().into()],
        )?
        .ok_or(refused("unknown role"))?;
    // Covered: id, name, issuer, audience, bound_claims, namespace, token_ttl, revoked_at; then mac.
    if !JWT_ROLES.intact(rows, &row) {
        rows::refused("jwt_roles", name.as_str());
        return Err(refused("the role's row was changed without the root key"));
    }
    if !matches!(row[7], Value::Null) {
        return Err(refused("the role is revoked"));
    }
    let role = Role {
        name: name.clone(),
        issuer: Issuer::parse(row[2].text()?).map_err(|_| parse_err("issuer"))?,
        audience: row[3].text()?.to_owned(),
        bound: bound_from(row[4].text()?)?,
        scope: Scope::parse(row[5].text()?).map_err(|_| parse_err("scope"))?,
        token_ttl: row[6].int()?,
    };
    Ok((row[0].int()?, role))
}

/// Revokes role `name` and its live logins' tokens at once; returns how many
/// login tokens were revoked.
pub fn revoke<S: Sql + ?Sized>(db: &S, rows: &RowKey, name: &TokenName, stamp: Stamp<'_>) -> Result<u64> {
    let row = db
        .query_opt("SELECT id, revoked_at FROM jwt_roles WHERE name = ?1", &[name.as_str().into()])?
        .ok_or(RoleError::NotFound)?;
    if !matches!(row[1], Value::Null) {
        return Err(RoleError::Revoked);
    }
    let id = row[0].int()?;
    rows::check_before_change(db, rows, &JWT_ROLES, "id = ?1", &[id.into()])?;
    db.execute(
        "UPDATE jwt_roles SET revoked_at = ?2, revoked_by = ?3 WHERE id = ?1",
        &[id.into(), stamp.at.0.into(), stamp.actor.into()],
    )?;
    rows::reseal(db, rows, &JWT_ROLES, "id = ?1", &[id.into()])?;
    logins::revoke_all(db, rows, (JWT_LOGIN_PREFIX, name), stamp)
}

/// Logs in to role `name` for a token whose signature and claims the caller
/// checked against `checked` (what [`for_login`] gave it): the role is read
/// again here, in the login's transaction, so a role revoked or changed
/// meanwhile refuses the login.
pub fn login<S: Sql + ?Sized>(
    db: &S,
    rows: &RowKey,
    checked: &Role,
    actor: &str,
    now: Timestamp,
) -> Result<(Role, LoginToken)> {
    let (_, role) = for_login(db, rows, &checked.name)?;
    let same = role.issuer == checked.issuer
        && role.audience == checked.audience
        && role.bound == checked.bound
        && role.scope == checked.scope;
    if !same {
        return Err(RoleError::Refused("the role changed while the token was checked"));
    }
    let token = logins::issue(db, rows, (JWT_LOGIN_PREFIX, &role.name), &role.scope, role.token_ttl, actor, now)?;
    Ok((role, token))
}

//! What AppRoles (`approles`) and JWT roles (`jwt_roles`) share: their
//! errors, and the short-lived token a login gets.
//!
//! A login's token is a row of `tokens` named `PREFIX.ROLE.ID` (`approle.…`,
//! `jwt.…`; the name is covered by the row's MAC, so who logged in cannot be
//! rewritten), created by the role's actor, expiring after the role's TTL.
//! Names typed by people may not start with a login prefix.

use crate::domain::{Scope, Timestamp, TokenName};
use crate::ssr::{
    db::{
        sql::{Sql, SqlError},
        RowKey,
    },
    store::rows::RowError,
    store::{tokens, Stamp},
};
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    #[error("a role with that name exists")]
    NameTaken,
    #[error("no role with that name")]
    NotFound,
    #[error("that role is revoked")]
    Revoked,
    #[error("no live secret id with that accessor for this AppRole")]
    NoSuchSecretId,
    /// A login refused; the reason is for the audit trail and the log only:
    /// the client is told nothing of which part was wrong.
    #[error("{0}")]
    Refused(&'static str),
    #[error("the system random number generator failed")]
    Random,
    /// A new secret id could not be held for its one showing (nothing is made).
    #[error("the new secret id could not be held for showing: {0}")]
    Unshown(String),
    #[error(transparent)]
    Token(#[from] tokens::TokenError),
    #[error(transparent)]
    Rows(#[from] RowError),
    #[error("database error: {0}")]
    Database(#[from] SqlError),
}

impl From<super::StoreError> for RoleError {
    fn from(e: super::StoreError) -> Self {
        match e {
            super::StoreError::Database(e) => Self::Database(e),
            super::StoreError::Rows(e) => Self::Rows(e),
            other => Self::Unshown(other.to_string()),
        }
    }
}

/// The longest a login's token may live: logins are for short-lived tokens.
pub const MAX_TOKEN_TTL: i64 = 24 * 3600;

pub(super) fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>, RoleError> {
    let mut raw = Zeroizing::new([0u8; N]);
    getrandom::fill(raw.as_mut()).map_err(|_| RoleError::Random)?;
    Ok(raw)
}

/// A random id in UUID form (what Vault's clients show and expect).
pub(super) fn uuid() -> Result<String, RoleError> {
    Ok(crate::ssr::crypto::uuid_v4(*random::<16>()?))
}

/// A login's new token (shown once, to the workload).
pub struct LoginToken {
    pub token: Zeroizing<String>,
    /// The token's row name (`PREFIX.ROLE.ID`).
    pub token_name: TokenName,
    /// Vault's accessor: names the token without being it.
    pub accessor: String,
    pub expires_at: Timestamp,
}

/// Makes the token of a login to `role` (a login prefix such as `approle.`):
/// scoped `scope`, living `ttl` seconds, created by `actor`. The role's
/// expired login tokens are pruned here, so a fleet that logs in all day does
/// not grow the table for ever.
pub(super) fn issue<S: Sql + ?Sized>(
    db: &S,
    rows: &RowKey,
    (prefix, role): (&str, &TokenName),
    scope: &Scope,
    ttl: i64,
    actor: &str,
    now: Timestamp,
) -> Result<LoginToken, RoleError> {
    let (prefix, end) = range(prefix, role);
    db.execute(
        "DELETE FROM tokens WHERE name >= ?1 AND name < ?3 AND expires_at <= ?2",
        &[prefix.as_str().into(), now.0.into(), end.as_str().into()],
    )?;
    let accessor = uuid()?;
    // The name carries the role and the first part of the accessor (the trail shows it).
    let token_name = TokenName::parse(&format!("{prefix}{}", &accessor[..13]))
        .map_err(|_| SqlError::Type("a login token's name does not parse".into()))?;
    let (token, hash) = tokens::new_token()?;
    let expires_at = Timestamp(now.0.saturating_add(ttl));
    tokens::create(db, rows, &token_name, scope, Some(expires_at), &hash, Stamp { actor, at: now })?;
    Ok(LoginToken { token, token_name, accessor, expires_at })
}

/// Revokes the live login tokens of `role` (prefix `prefix`); returns how many.
pub(super) fn revoke_all<S: Sql + ?Sized>(
    db: &S,
    rows: &RowKey,
    (prefix, role): (&str, &TokenName),
    stamp: Stamp<'_>,
) -> Result<u64, RoleError> {
    let (prefix, end) = range(prefix, role);
    // Expired ones need no revoking (and are not counted as live).
    let revoked = db.execute(
        "UPDATE tokens SET revoked_at = ?2, revoked_by = ?3
         WHERE name >= ?1 AND name < ?4 AND revoked_at IS NULL AND expires_at > ?2",
        &[prefix.as_str().into(), stamp.at.0.into(), stamp.actor.into(), end.as_str().into()],
    )?;
    // Only revoked rows are resealed: that legitimizes nothing (an expired
    // login left as it was keeps whatever MAC it had).
    let revoked_logins = "name >= ?1 AND name < ?2 AND revoked_at IS NOT NULL";
    super::rows::reseal(
        db,
        rows,
        &super::rows::TOKENS,
        revoked_logins,
        &[prefix.as_str().into(), end.as_str().into()],
    )?;
    Ok(revoked)
}

/// The names of `role`'s login tokens, as a range the name index serves
/// (`substr(name, …) = …` would read every token): from `PREFIX.ROLE.` up to
/// `PREFIX.ROLE/` (`/` follows `.`; names are ASCII, compared byte-wise).
fn range(prefix: &str, role: &TokenName) -> (String, String) {
    (format!("{prefix}{role}."), format!("{prefix}{role}/"))
}

/// SQL counting the live login tokens of the role named by column `name_col`
/// under login prefix `?2`, at `?1`.
pub(super) fn live_count(name_col: &str) -> String {
    format!(
        "(SELECT count(*) FROM tokens t WHERE t.name >= ?2 || {name_col} || '.' AND t.name < ?2 || {name_col} || '/'
          AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?1))"
    )
}

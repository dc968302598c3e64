//! Workload tokens. Free of Leptos, like `store`.
//!
//! A token is `sr_` followed by 256 random bits in base64url; only its SHA-256
//! is stored (the token has full entropy, so one hash suffices), so a copy of
//! the database does not hand out working tokens.

use crate::domain::{
    token::{LOGIN_PREFIXES, TOKEN_PREFIX},
    Scope, Timestamp, TokenId, TokenName, TokenView,
};
use crate::ssr::{
    auth::token_hash,
    db::{
        sql::{Sql, SqlError, Value},
        RowKey,
    },
    store::rows::{self, TOKENS},
    store::Stamp,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("a token with that name exists")]
    NameTaken,
    #[error("token not found")]
    NotFound,
    #[error("token already revoked")]
    AlreadyRevoked,
    #[error("the system random number generator failed")]
    Random,
    /// The new token could not be held for its one showing (nothing is made).
    #[error("the new token could not be held for showing: {0}")]
    Unshown(String),
    #[error("database error: {0}")]
    Database(#[from] SqlError),
}

impl From<super::StoreError> for TokenError {
    fn from(e: super::StoreError) -> Self {
        match e {
            super::StoreError::Database(e) => Self::Database(e),
            other => Self::Unshown(other.to_string()),
        }
    }
}

impl From<rusqlite::Error> for TokenError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Database(e.into())
    }
}

type Result<T, E = TokenError> = std::result::Result<T, E>;

/// A new token and the hash to store. The token is zeroized on drop.
pub fn new_token() -> Result<(Zeroizing<String>, Vec<u8>)> {
    let mut raw = Zeroizing::new([0u8; 32]);
    getrandom::fill(raw.as_mut()).map_err(|_| TokenError::Random)?;
    let token = Zeroizing::new(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(raw.as_ref())));
    let hash = token_hash(&token);
    Ok((token, hash))
}

/// What a request presenting a token is allowed, as looked up by its hash.
#[derive(Clone, Debug)]
pub struct TokenRecord {
    pub id: TokenId,
    pub name: TokenName,
    pub scope: Scope,
    pub expires_at: Option<Timestamp>,
    pub revoked: bool,
}

const VIEW_COLUMNS: &str =
    "name, namespace, created_at, created_by, expires_at, last_used_at, revoked_at, revoked_by, expires_at <= ?1";

fn name_of(v: &Value<'_>) -> Result<TokenName, SqlError> {
    TokenName::parse(v.text()?).map_err(|_| SqlError::Type("a stored token name does not parse".into()))
}

fn scope_of(v: &Value<'_>) -> Result<Scope, SqlError> {
    Scope::parse(v.text()?).map_err(|_| SqlError::Type("a stored token scope does not parse".into()))
}

fn view_from(r: &[Value<'_>]) -> Result<TokenView, SqlError> {
    Ok(TokenView {
        name: name_of(&r[0])?,
        scope: scope_of(&r[1])?,
        created_at: Timestamp(r[2].int()?),
        created_by: r[3].text()?.to_owned(),
        expires_at: r[4].opt_int()?.map(Timestamp),
        last_used_at: r[5].opt_int()?.map(Timestamp),
        revoked_at: r[6].opt_int()?.map(Timestamp),
        revoked_by: r[7].opt_text()?.map(str::to_owned),
        expired: r[8].bool()?,
    })
}

fn view_of<S: Sql + ?Sized>(db: &S, name: &TokenName, now: Timestamp) -> Result<TokenView> {
    let row = db.query_opt(
        &format!("SELECT {VIEW_COLUMNS} FROM tokens WHERE name = ?2"),
        &[now.0.into(), name.as_str().into()],
    )?;
    Ok(view_from(&row.ok_or(TokenError::NotFound)?)?)
}

/// Stores a new token's hash under `name`.
pub fn create<S: Sql + ?Sized>(
    db: &S,
    rows: &RowKey,
    name: &TokenName,
    scope: &Scope,
    expires_at: Option<Timestamp>,
    hash: &[u8],
    stamp: Stamp<'_>,
) -> Result<TokenView> {
    if db.query_opt("SELECT 1 FROM tokens WHERE name = ?1", &[name.as_str().into()])?.is_some() {
        return Err(TokenError::NameTaken);
    }
    // Two creates of one name at once: the unique index refuses the second.
    let inserted = db.execute(
        "INSERT INTO tokens (name, token_hash, namespace, created_at, created_by, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (name) DO NOTHING",
        &[
            name.as_str().into(),
            hash.into(),
            scope.as_str().into(),
            stamp.at.0.into(),
            stamp.actor.into(),
            expires_at.map(|t| t.0).into(),
        ],
    )?;
    if inserted == 0 {
        return Err(TokenError::NameTaken);
    }
    seal(db, rows, name)?;
    view_of(db, name, stamp.at)
}

/// Every token made by hand, live ones first, newest first within each
/// group. Logins' tokens are not listed (`approles::list`, `jwt_roles::list` count them).
pub fn list<S: Sql + ?Sized>(db: &S, now: Timestamp) -> Result<Vec<TokenView>> {
    let mut list = Vec::new();
    db.query_each(
        &format!(
            "SELECT {VIEW_COLUMNS} FROM tokens
             WHERE substr(name, 1, length(?2)) <> ?2 AND substr(name, 1, length(?3)) <> ?3
             ORDER BY revoked_at IS NOT NULL, COALESCE(expires_at <= ?1, FALSE), created_at DESC, id DESC"
        ),
        &[now.0.into(), LOGIN_PREFIXES[0].into(), LOGIN_PREFIXES[1].into()],
        &mut |r| {
            list.push(view_from(r)?);
            Ok(())
        },
    )?;
    Ok(list)
}

/// Revokes a token at once: the next request presenting it is refused.
pub fn revoke<S: Sql + ?Sized>(db: &S, rows: &RowKey, name: &TokenName, stamp: Stamp<'_>) -> Result<TokenView> {
    // No check first: a revoked row is refused whatever else it says, so
    // resealing it legitimizes nothing, and revoking is the remedy.
    // Only a live token changes: of two revokes at once, one finds nothing to do.
    let revoked = db.execute(
        "UPDATE tokens SET revoked_at = ?2, revoked_by = ?3 WHERE name = ?1 AND revoked_at IS NULL",
        &[name.as_str().into(), stamp.at.0.into(), stamp.actor.into()],
    )?;
    if revoked == 0 {
        view_of(db, name, stamp.at)?;
        return Err(TokenError::AlreadyRevoked);
    }
    seal(db, rows, name)?;
    view_of(db, name, stamp.at)
}

/// Gives a `tokens` row its MAC after a change (see `rows`).
fn seal<S: Sql + ?Sized>(db: &S, rows: &RowKey, name: &TokenName) -> Result<()> {
    rows::reseal(db, rows, &TOKENS, "name = ?1", &[name.as_str().into()])?;
    Ok(())
}

/// The token whose hash is `hash`, revoked or expired or not; none if its row
/// was changed without the root key (logged).
pub fn lookup<S: Sql + ?Sized>(db: &S, rows: &RowKey, hash: &[u8]) -> Result<Option<TokenRecord>> {
    // The covered columns (id, name, token_hash, namespace, expires_at, revoked_at), then mac.
    static LOOKUP: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| format!("SELECT {} FROM tokens WHERE token_hash = ?1", TOKENS.columns("")));
    let Some(row) = db.query_opt(&LOOKUP, &[hash.into()])? else { return Ok(None) };
    let name = name_of(&row[1])?;
    if !TOKENS.intact(rows, &row) {
        rows::refused("tokens", name.as_str());
        return Ok(None);
    }
    Ok(Some(TokenRecord {
        id: TokenId(row[0].int()?),
        name,
        scope: scope_of(&row[3])?,
        expires_at: row[4].opt_int()?.map(Timestamp),
        revoked: !matches!(row[5], Value::Null),
    }))
}

/// Notes that the token was used at `at` (shown in the list as "last used").
pub fn touch<S: Sql + ?Sized>(db: &S, id: TokenId, at: Timestamp) -> Result<(), SqlError> {
    db.execute(
        "UPDATE tokens SET last_used_at = ?2 WHERE id = ?1 AND COALESCE(last_used_at, 0) < ?2",
        &[id.into(), at.0.into()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use rusqlite::Connection;

    fn db() -> (tempfile::TempDir, Connection, RowKey) {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::ssr::db::open(&dir.path().join("t.db")).unwrap();
        let base = crate::ssr::crypto::BaseKey::generate().unwrap();
        (dir, conn, RowKey::derive(&base))
    }

    fn stamp(at: i64) -> Stamp<'static> {
        Stamp { actor: "alice", at: Timestamp(at) }
    }

    #[test]
    fn a_token_is_prefixed_random_and_only_its_hash_is_stored() {
        let (_dir, conn, rows) = db();
        let (token, hash) = new_token().unwrap();
        let (other, _) = new_token().unwrap();
        assert!(token.starts_with("sr_") && token.len() == 3 + 43, "{}", token.as_str());
        assert_ne!(token.as_str(), other.as_str());
        let name = TokenName::parse("ci").unwrap();
        create(&conn, &rows, &name, &Scope::All, None, &hash, stamp(10)).unwrap();
        let stored: Vec<u8> = conn.query_row("SELECT token_hash FROM tokens", [], |r| r.get(0)).unwrap();
        assert_eq!(stored, token_hash(&token));
        assert!(!stored.windows(token.len()).any(|w| w == token.as_bytes()));
        let found = lookup(&conn, &rows, &token_hash(&token)).unwrap().unwrap();
        assert_eq!((found.name, found.scope, found.revoked), (name, Scope::All, false));
        assert!(lookup(&conn, &rows, &token_hash(&other)).unwrap().is_none());
    }

    #[test]
    fn names_are_unique_and_revoking_twice_is_refused() {
        let (_dir, conn, rows) = db();
        let name = TokenName::parse("ci").unwrap();
        create(&conn, &rows, &name, &Scope::All, None, &new_token().unwrap().1, stamp(10)).unwrap();
        let again = create(&conn, &rows, &name, &Scope::All, None, &new_token().unwrap().1, stamp(11));
        assert!(matches!(again, Err(TokenError::NameTaken)));
        let view = revoke(&conn, &rows, &name, stamp(12)).unwrap();
        assert_eq!((view.status(), view.revoked_by.as_deref()), ("revoked", Some("alice")));
        assert!(matches!(revoke(&conn, &rows, &name, stamp(13)), Err(TokenError::AlreadyRevoked)));
        assert!(matches!(
            revoke(&conn, &rows, &TokenName::parse("nope").unwrap(), stamp(13)),
            Err(TokenError::NotFound)
        ));
    }

    #[test]
    fn the_list_marks_expired_tokens_and_puts_live_ones_first() {
        let (_dir, conn, rows) = db();
        let scope = Scope::parse("company.team").unwrap();
        for (name, expires) in [("old", Some(Timestamp(50))), ("live", None), ("soon", Some(Timestamp(500)))] {
            create(&conn, &rows, &TokenName::parse(name).unwrap(), &scope, expires, &new_token().unwrap().1, stamp(10))
                .unwrap();
        }
        let list = list(&conn, Timestamp(100)).unwrap();
        let shown: Vec<(&str, &str)> = list.iter().map(|t| (t.name.as_str(), t.status())).collect();
        assert_eq!(shown, [("soon", "active"), ("live", "active"), ("old", "expired")]);
        touch(&conn, TokenId(1), Timestamp(90)).unwrap();
        touch(&conn, TokenId(1), Timestamp(80)).unwrap(); // never goes back
        let old = list_one(&conn, "old");
        assert_eq!(old.last_used_at, Some(Timestamp(90)));
    }

    fn list_one(conn: &Connection, name: &str) -> TokenView {
        list(conn, Timestamp(100)).unwrap().into_iter().find(|t| t.name.as_str() == name).unwrap()
    }
}

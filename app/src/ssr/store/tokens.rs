//! Workload tokens in SQLite. Free of Leptos, like `store`.
//!
//! A token is `sr_` followed by 256 random bits in base64url; only its SHA-256
//! is stored (the token has full entropy, so one hash suffices), so a copy of
//! the database does not hand out working tokens.

use crate::domain::{token::TOKEN_PREFIX, Scope, Timestamp, TokenId, TokenName, TokenView};
use crate::ssr::{
    auth::token_hash,
    store::rows::{self, TOKENS},
    store::Stamp,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use rusqlite::{params, Connection, OptionalExtension, Row};
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
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
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

fn scope_from(row: &Row<'_>, idx: usize) -> rusqlite::Result<Scope> {
    let text: String = row.get(idx)?;
    Scope::parse(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, e.into()))
}

fn name_from(row: &Row<'_>, idx: usize) -> rusqlite::Result<TokenName> {
    let text: String = row.get(idx)?;
    TokenName::parse(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, e.into()))
}

fn view_from(row: &Row<'_>) -> rusqlite::Result<TokenView> {
    Ok(TokenView {
        name: name_from(row, 0)?,
        scope: scope_from(row, 1)?,
        created_at: Timestamp(row.get(2)?),
        created_by: row.get(3)?,
        expires_at: row.get::<_, Option<i64>>(4)?.map(Timestamp),
        last_used_at: row.get::<_, Option<i64>>(5)?.map(Timestamp),
        revoked_at: row.get::<_, Option<i64>>(6)?.map(Timestamp),
        revoked_by: row.get(7)?,
        expired: row.get::<_, Option<bool>>(8)?.unwrap_or(false),
    })
}

fn view_of(conn: &Connection, name: &TokenName, now: Timestamp) -> Result<TokenView> {
    conn.query_row(
        &format!("SELECT {VIEW_COLUMNS} FROM tokens WHERE name = ?2"),
        params![now.0, name.as_str()],
        view_from,
    )
    .optional()?
    .ok_or(TokenError::NotFound)
}

/// Stores a new token's hash under `name`.
pub fn create(
    conn: &Connection,
    name: &TokenName,
    scope: &Scope,
    expires_at: Option<Timestamp>,
    hash: &[u8],
    stamp: Stamp<'_>,
) -> Result<TokenView> {
    let taken: bool =
        conn.query_row("SELECT EXISTS (SELECT 1 FROM tokens WHERE name = ?1)", [name.as_str()], |r| r.get(0))?;
    if taken {
        return Err(TokenError::NameTaken);
    }
    conn.execute(
        "INSERT INTO tokens (name, token_hash, namespace, created_at, created_by, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![name.as_str(), hash, scope.as_str(), stamp.at.0, stamp.actor, expires_at.map(|t| t.0)],
    )?;
    seal(conn, name)?;
    view_of(conn, name, stamp.at)
}

/// Every token, live ones first, newest first within each group.
pub fn list(conn: &Connection, now: Timestamp) -> Result<Vec<TokenView>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {VIEW_COLUMNS} FROM tokens
         ORDER BY revoked_at IS NOT NULL, COALESCE(expires_at <= ?1, 0), created_at DESC, id DESC"
    ))?;
    let list = stmt.query_map([now.0], view_from)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(list)
}

/// Revokes a token at once: the next request presenting it is refused.
pub fn revoke(conn: &Connection, name: &TokenName, stamp: Stamp<'_>) -> Result<TokenView> {
    let view = view_of(conn, name, stamp.at)?;
    if view.revoked_at.is_some() {
        return Err(TokenError::AlreadyRevoked);
    }
    conn.execute(
        "UPDATE tokens SET revoked_at = ?2, revoked_by = ?3 WHERE name = ?1",
        params![name.as_str(), stamp.at.0, stamp.actor],
    )?;
    seal(conn, name)?;
    view_of(conn, name, stamp.at)
}

/// Gives a `tokens` row its MAC after a change (see `rows`).
fn seal(conn: &Connection, name: &TokenName) -> Result<()> {
    conn.execute(&format!("UPDATE tokens SET mac = {TOKENS} WHERE name = ?1"), [name.as_str()])?;
    Ok(())
}

/// The token whose hash is `hash`, revoked or expired or not; none if its row
/// was changed without the root key (logged).
pub fn lookup(conn: &Connection, hash: &[u8]) -> Result<Option<TokenRecord>> {
    let found = conn
        .prepare_cached(&format!(
            "SELECT id, name, namespace, expires_at, revoked_at IS NOT NULL, mac IS {TOKENS}
             FROM tokens WHERE token_hash = ?1"
        ))?
        .query_row([hash], |r| {
            let record = TokenRecord {
                id: r.get(0)?,
                name: name_from(r, 1)?,
                scope: scope_from(r, 2)?,
                expires_at: r.get::<_, Option<i64>>(3)?.map(Timestamp),
                revoked: r.get(4)?,
            };
            Ok((record, r.get::<_, bool>(5)?))
        })
        .optional()?;
    Ok(match found {
        Some((record, true)) => Some(record),
        Some((record, false)) => {
            rows::refused("tokens", record.name.as_str());
            None
        }
        None => None,
    })
}

/// Notes that the token was used at `at` (shown in the list as "last used").
pub fn touch(conn: &Connection, id: TokenId, at: Timestamp) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE tokens SET last_used_at = ?2 WHERE id = ?1 AND COALESCE(last_used_at, 0) < ?2")?
        .execute(params![id, at.0])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::ssr::db::open(&dir.path().join("t.db")).unwrap();
        let base = crate::ssr::crypto::BaseKey::generate().unwrap();
        crate::ssr::db::install_row_mac(&conn, &crate::ssr::db::RowKey::derive(&base)).unwrap();
        (dir, conn)
    }

    fn stamp(at: i64) -> Stamp<'static> {
        Stamp { actor: "alice", at: Timestamp(at) }
    }

    #[test]
    fn a_token_is_prefixed_random_and_only_its_hash_is_stored() {
        let (_dir, conn) = db();
        let (token, hash) = new_token().unwrap();
        let (other, _) = new_token().unwrap();
        assert!(token.starts_with("sr_") && token.len() == 3 + 43, "{}", token.as_str());
        assert_ne!(token.as_str(), other.as_str());
        let name = TokenName::parse("ci").unwrap();
        create(&conn, &name, &Scope::All, None, &hash, stamp(10)).unwrap();
        let stored: Vec<u8> = conn.query_row("SELECT token_hash FROM tokens", [], |r| r.get(0)).unwrap();
        assert_eq!(stored, token_hash(&token));
        assert!(!stored.windows(token.len()).any(|w| w == token.as_bytes()));
        let found = lookup(&conn, &token_hash(&token)).unwrap().unwrap();
        assert_eq!((found.name, found.scope, found.revoked), (name, Scope::All, false));
        assert!(lookup(&conn, &token_hash(&other)).unwrap().is_none());
    }

    #[test]
    fn names_are_unique_and_revoking_twice_is_refused() {
        let (_dir, conn) = db();
        let name = TokenName::parse("ci").unwrap();
        create(&conn, &name, &Scope::All, None, &new_token().unwrap().1, stamp(10)).unwrap();
        let again = create(&conn, &name, &Scope::All, None, &new_token().unwrap().1, stamp(11));
        assert!(matches!(again, Err(TokenError::NameTaken)));
        let view = revoke(&conn, &name, stamp(12)).unwrap();
        assert_eq!((view.status(), view.revoked_by.as_deref()), ("revoked", Some("alice")));
        assert!(matches!(revoke(&conn, &name, stamp(13)), Err(TokenError::AlreadyRevoked)));
        assert!(matches!(revoke(&conn, &TokenName::parse("nope").unwrap(), stamp(13)), Err(TokenError::NotFound)));
    }

    #[test]
    fn the_list_marks_expired_tokens_and_puts_live_ones_first() {
        let (_dir, conn) = db();
        let scope = Scope::parse("company.team").unwrap();
        for (name, expires) in [("old", Some(Timestamp(50))), ("live", None), ("soon", Some(Timestamp(500)))] {
            create(&conn, &TokenName::parse(name).unwrap(), &scope, expires, &new_token().unwrap().1, stamp(10))
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

//! One-time hand-overs between two requests of one user (a new token shown
//! once, a pasted import awaiting its apply), in the database so that any
//! node serves the second request: sealed under the newest data key (bound
//! to the row's id, kind and owner), with an expiry, and deleted when taken.
//! One node keeps them in memory instead (`memory::Stash`).

use crate::domain::{Timestamp, UserId};
use crate::ssr::{
    crypto::{Keyring, Sealed},
    db::sql::{Sql, Value},
    store::{keyring::refresh, StoreError},
};
use zeroize::Zeroizing;

/// How a kind of hand-over is bounded.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub ttl_secs: i64,
    /// Items held at once, all owners.
    pub capacity: i64,
    /// Items one owner holds at once: a new one replaces their oldest.
    pub per_owner: i64,
    /// Bytes held at once, all owners.
    pub max_bytes: i64,
    /// When full, the oldest item (anyone's) makes room; else a new one is refused.
    pub evict_others: bool,
}

impl Limits {
    pub const fn new(ttl_secs: i64, capacity: i64, per_owner: i64, max_bytes: i64, evict_others: bool) -> Self {
        Self { ttl_secs, capacity, per_owner, max_bytes, evict_others }
    }
}

fn context(id: &str, kind: &str, owner: UserId) -> Vec<u8> {
    format!("{}:{id}:{}:{kind}", owner.0, id.len()).into_bytes()
}

/// Holds `bytes` for `owner`; its id, or `None` when the kind is full.
/// Inside the caller's write transaction: nodes take turns (a lock), so the
/// bounds hold across them.
pub fn put<S: Sql + ?Sized>(
    db: &S,
    keyring: &Keyring,
    kind: &str,
    owner: UserId,
    bytes: &[u8],
    limits: Limits,
    now: Timestamp,
) -> Result<Option<String>, StoreError> {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).map_err(|_| crate::ssr::crypto::CryptoError::Random)?;
    let id = URL_SAFE_NO_PAD.encode(raw);
    crate::ssr::db::sql::hold(db, crate::ssr::db::sql::Lock::Handovers)?;
    db.execute("DELETE FROM handovers WHERE expires_at <= ?1", &[now.0.into()])?;
    // The owner's oldest make room for the new one.
    let mine = db.query(
        "SELECT id FROM handovers WHERE kind = ?1 AND owner = ?2 ORDER BY expires_at DESC",
        &[kind.into(), owner.into()],
    )?;
    for old in mine.iter().skip(usize::try_from(limits.per_owner - 1).unwrap_or(0)) {
        db.execute("DELETE FROM handovers WHERE id = ?1", &[old[0].clone()])?;
    }
    let size = bytes.len() as i64;
    if size > limits.max_bytes {
        return Ok(None);
    }
    loop {
        let held = db.query(
            "SELECT count(*), CAST(COALESCE(sum(bytes), 0) AS BIGINT) FROM handovers WHERE kind = ?1",
            &[kind.into()],
        )?;
        if held[0][0].int()? < limits.capacity && held[0][1].int()? + size <= limits.max_bytes {
            break;
        }
        // Full: as in memory, the item closest to expiring makes room (one-time
        // notices, new tokens), or the new one is refused (someone's paste).
        if !limits.evict_others {
            return Ok(None);
        }
        let oldest =
            db.query_opt("SELECT id FROM handovers WHERE kind = ?1 ORDER BY expires_at LIMIT 1", &[kind.into()])?;
        let Some(oldest) = oldest else { return Ok(None) };
        db.execute("DELETE FROM handovers WHERE id = ?1", &[oldest[0].clone()])?;
    }
    refresh(db, keyring)?;
    let sealed = keyring.seal_blob(&context(&id, kind, owner), bytes)?;
    db.execute(
        "INSERT INTO handovers (id, kind, owner, bytes, key_id, nonce, sealed, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        &[
            id.as_str().into(),
            kind.into(),
            owner.into(),
            size.into(),
            sealed.key_id.into(),
            sealed.nonce.as_slice().into(),
            sealed.ciphertext.as_slice().into(),
            (now.0 + limits.ttl_secs).into(),
        ],
    )?;
    Ok(Some(id))
}

/// The item, taken (`take`: deleted in the same statement that finds it, so
/// that of two nodes asked at once one gets it) or only looked at. `None`
/// when it is not `owner`'s, expired or gone.
pub fn find<S: Sql + ?Sized>(
    db: &S,
    keyring: &Keyring,
    (kind, owner, id): (&str, UserId, &str),
    take: bool,
    now: Timestamp,
) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
    let sql = if take {
        "DELETE FROM handovers WHERE id = ?1 AND kind = ?2 AND owner = ?3 RETURNING key_id, nonce, sealed, expires_at"
    } else {
        "SELECT key_id, nonce, sealed, expires_at FROM handovers WHERE id = ?1 AND kind = ?2 AND owner = ?3"
    };
    let row = db.query_opt(sql, &[id.into(), kind.into(), owner.into()])?;
    open(db, keyring, kind, owner, id, row, now)
}

fn open<S: Sql + ?Sized>(
    db: &S,
    keyring: &Keyring,
    kind: &str,
    owner: UserId,
    id: &str,
    row: Option<Vec<Value<'static>>>,
    now: Timestamp,
) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
    let Some(row) = row else { return Ok(None) };
    if row[3].int()? <= now.0 {
        return Ok(None);
    }
    let sealed = Sealed { key_id: row[0].int()?, nonce: row[1].blob()?.to_vec(), ciphertext: row[2].blob()?.to_vec() };
    if !keyring.contains(sealed.key_id) {
        refresh(db, keyring)?;
    }
    Ok(Some(keyring.open_blob(&context(id, kind, owner), &sealed)?))
}

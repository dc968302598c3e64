//! The keys on the database (formats in `crypto`): unlocking them with the root
//! key, and changing them while the server runs — `keyring rotate` (a new
//! newest data key), `rewrap` (every stored version re-sealed under it, in
//! batches, resumable), `keyring retire` (an unused old key removed) and
//! `rekey` (the keyring, key check and base key wrapped by a new root key).
//!
//! A running server learns keys added by another process when it next writes
//! (its writer asks for keys newer than its newest) or meets a ciphertext under
//! a key it does not hold.

use crate::domain::{audit::Action, NamespacePath, SecretKey, Timestamp};
// Not `Sql` itself: in scope, `tx.execute` on a rusqlite transaction would
// pick the trait's method. Bounds name it by path.
use crate::ssr::db::sql::{SqlError, Value};
use crate::ssr::{
    audit::{self, AuditKey, NewEntry},
    crypto::{BaseKey, CryptoError, DataKey, Keyring, Place, RootKey, Sealed, SecretUid, WrappedKey},
    db::RowKey,
    store::rows,
    store::{parsed, uid_at, StoreError},
};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What the root key unlocks: the data keys and the base key.
pub struct Unlocked {
    pub keyring: Keyring,
    pub base: BaseKey,
}

impl Unlocked {
    pub fn audit_key(&self) -> AuditKey {
        AuditKey::derive(&self.base)
    }

    pub fn row_key(&self) -> RowKey {
        RowKey::derive(&self.base)
    }
}

/// Verifies `root` against the database's key check and unwraps the keyring
/// and the base key. On a new database, writes the key check, the first data
/// key, a random base key and the trail's genesis head; on one made before
/// base keys were stored, stores the root key's bytes as its base key (what
/// its derived keys came from).
pub fn unlock(conn: &mut Connection, root: &RootKey, now: Timestamp) -> Result<Unlocked> {
    // The write lock first: it may write, and another process (Litestream) may commit meanwhile.
    let tx = immediate(conn)?;
    let check: Option<Vec<u8>> = meta(&tx, "key_check")?;
    match check {
        Some(check) => root.verify_key_check(&check)?,
        None if wrapped_keys(&tx)?.is_empty() => {
            set_meta(&tx, "key_check", &root.key_check()?)?;
            add_data_key(&tx, root, now)?;
            let base = BaseKey::generate()?;
            set_meta(&tx, "base_key", &root.wrap_base(&base)?)?;
            // The trail starts with a head too, so that a wiped trail is told from a new one.
            audit::start_chain(&tx, &AuditKey::derive(&base))?;
        }
        None => return Err(StoreError::MissingKeyCheck),
    }
    let base = match meta(&tx, "base_key")? {
        Some(blob) => root.unwrap_base(&blob)?,
        None if meta(&tx, "base_key_legacy")?.is_some() => {
            let base = root.legacy_base();
            set_meta(&tx, "base_key", &root.wrap_base(&base)?)?;
            tx.execute("DELETE FROM meta WHERE name = 'base_key_legacy'", [])?;
            base
        }
        None => return Err(StoreError::MissingBaseKey),
    };
    let keys = wrapped_keys(&tx)?.iter().map(|w| root.unwrap(w)).collect::<Result<Vec<_>, _>>()?;
    rows::seal(&tx, &RowKey::derive(&base), &AuditKey::derive(&base), now)?;
    tx.commit()?;
    Ok(Unlocked { keyring: Keyring::unlocked(root, keys), base })
}

fn meta(conn: &Connection, name: &str) -> Result<Option<Vec<u8>>> {
    Ok(conn.query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| r.get(0)).optional()?)
}

fn set_meta(conn: &Connection, name: &str, value: &[u8]) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = ?2",
        params![name, value],
    )?;
    Ok(())
}

fn wrapped_keys(conn: &Connection) -> Result<Vec<WrappedKey>> {
    wrapped_keys_after(conn, 0)
}

fn wrapped_keys_after<S: crate::ssr::db::sql::Sql + ?Sized>(db: &S, after: i64) -> Result<Vec<WrappedKey>> {
    let rows = db.query("SELECT id, nonce, wrapped FROM data_keys WHERE id > ?1 ORDER BY id", &[after.into()])?;
    let key = |r: &[Value<'_>]| -> Result<WrappedKey, SqlError> {
        Ok(WrappedKey { id: r[0].int()?, nonce: r[1].blob()?.to_vec(), wrapped: r[2].blob()?.to_vec() })
    };
    Ok(rows.iter().map(|r| key(r)).collect::<Result<_, _>>()?)
}

fn add_data_key(tx: &Connection, root: &RootKey, now: Timestamp) -> Result<i64> {
    let id: i64 = tx.query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM data_keys", [], |r| r.get(0))?;
    let wrapped = root.wrap(&DataKey::generate(id)?)?;
    tx.execute(
        "INSERT INTO data_keys (id, nonce, wrapped, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![id, wrapped.nonce, wrapped.wrapped, now.0],
    )?;
    Ok(id)
}

/// Learns the data keys added since `keyring` was unlocked (by `keyring
/// rotate` in another process), so that new writes use the newest. One
/// indexed lookup when nothing changed.
pub fn refresh<S: crate::ssr::db::sql::Sql + ?Sized>(db: &S, keyring: &Keyring) -> Result<()> {
    for stored in wrapped_keys_after(db, keyring.newest_id().unwrap_or(0))? {
        if let Err(e) = keyring.learn(&stored) {
            // Rekeyed, then rotated, while this process runs: it must not seal with an
            // older key (`retire` may delete it), so the write fails until a restart.
            tracing::warn!(data_key = stored.id, "a data key added to the database does not unwrap with the root key this process started with; restart it with the current root key");
            return Err(e.into());
        }
    }
    Ok(())
}

/// Opens a stored version, learning its data key first if another process
/// added it since this keyring was unlocked.
pub fn open_value<S: crate::ssr::db::sql::Sql + ?Sized>(
    db: &S,
    keyring: &Keyring,
    place: Place<'_>,
    sealed: &Sealed,
) -> Result<crate::domain::SecretValue> {
    if !keyring.contains(sealed.key_id) {
        refresh(db, keyring)?;
    }
    Ok(keyring.open_value(place, sealed)?)
}

fn immediate(conn: &mut Connection) -> Result<rusqlite::Transaction<'_>> {
    Ok(conn.transaction_with_behavior(TransactionBehavior::Immediate)?)
}

fn entry(action: Action, at: Timestamp, outcome: String) -> NewEntry {
    NewEntry {
        at,
        actor: crate::ssr::audit::Actor::CommandLine,
        action,
        namespace: String::new(),
        key: String::new(),
        version: None,
        client: crate::ssr::audit::Client::Local,
        outcome,
    }
}

/// One data key as `keyring list` shows it.
#[derive(Debug, PartialEq, Eq)]
pub struct KeyUse {
    pub id: i64,
    pub created_at: Timestamp,
    /// Stored versions sealed under it.
    pub versions: i64,
}

pub fn list(conn: &Connection) -> Result<Vec<KeyUse>> {
    let mut stmt = conn.prepare(
        "SELECT k.id, k.created_at, (SELECT count(*) FROM secret_versions v WHERE v.key_id = k.id)
         FROM data_keys k ORDER BY k.id",
    )?;
    let rows =
        stmt.query_map([], |r| Ok(KeyUse { id: r.get(0)?, created_at: Timestamp(r.get(1)?), versions: r.get(2)? }))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// `keyring rotate`: a new data key becomes the newest; older ones still open
/// what they sealed. Returns its id.
pub fn rotate(conn: &mut Connection, root: &RootKey, chain: &AuditKey, now: Timestamp) -> Result<i64> {
    let tx = immediate(conn)?;
    // Checked again under the write lock: a `rekey` that committed since the
    // keyring was unlocked makes `root` the old key, which must wrap nothing.
    root.verify_key_check(&meta(&tx, "key_check")?.ok_or(StoreError::MissingKeyCheck)?)?;
    let id = add_data_key(&tx, root, now)?;
    audit::append(&tx, chain, entry(Action::KeyringRotate, now, format!("ok: data key {id} is the newest")))?;
    tx.commit()?;
    Ok(id)
}

#[derive(Debug, thiserror::Error)]
pub enum RetireError {
    #[error("no data key {0}")]
    Unknown(i64),
    #[error("data key {0} is the newest: new values are sealed with it (run `keyring rotate` first)")]
    Newest(i64),
    #[error("data key {id} still seals {versions} stored versions: run `strongroom rewrap` first")]
    InUse { id: i64, versions: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for RetireError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Store(e.into())
    }
}

/// `keyring retire ID`: deletes a data key no stored version uses.
pub fn retire(conn: &mut Connection, chain: &AuditKey, id: i64, now: Timestamp) -> Result<(), RetireError> {
    let tx = immediate(conn)?;
    let newest: Option<i64> = tx.query_row("SELECT MAX(id) FROM data_keys", [], |r| r.get(0))?;
    let exists: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM data_keys WHERE id = ?1)", [id], |r| r.get(0))?;
    if !exists {
        return Err(RetireError::Unknown(id));
    }
    if newest == Some(id) {
        return Err(RetireError::Newest(id));
    }
    let versions: i64 = tx.query_row("SELECT count(*) FROM secret_versions WHERE key_id = ?1", [id], |r| r.get(0))?;
    if versions > 0 {
        return Err(RetireError::InUse { id, versions });
    }
    // secure_delete overwrites the wrapped key's bytes in the file.
    tx.execute("DELETE FROM data_keys WHERE id = ?1", [id])?;
    audit::append(&tx, chain, entry(Action::KeyringRetire, now, format!("ok: data key {id} retired")))?;
    tx.commit()?;
    Ok(())
}

/// What one `rewrap` batch did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Rewrapped {
    pub secrets: u64,
    pub versions: u64,
    /// Secrets made before format 2 that were given their random id.
    pub given_ids: u64,
    /// The last secret id done; the next batch starts after it.
    pub cursor: i64,
}

/// One `rewrap` batch: the secrets after `cursor` that have a stored version
/// under an older data key, or no random id yet, re-sealed under the newest
/// key, whole secrets at a time (a secret's id is in every version's
/// associated data), about `batch` versions per transaction. A batch
/// commits or leaves nothing, so a killed rewrap resumes where it stopped.
/// `None` when no secret after `cursor` needs it.
pub fn rewrap_batch(conn: &mut Connection, keyring: &Keyring, cursor: i64, batch: usize) -> Result<Option<Rewrapped>> {
    let tx = immediate(conn)?;
    refresh(&tx, keyring)?;
    let newest = keyring.newest_id().ok_or(CryptoError::UnknownDataKey)?;
    let mut done = Rewrapped { cursor, ..Rewrapped::default() };
    let mut find = tx.prepare_cached(
        "SELECT s.id, n.path, s.key, s.uid FROM secrets s JOIN namespaces n ON n.id = s.namespace_id
         WHERE s.id > ?1 AND (s.uid IS NULL OR EXISTS (
             SELECT 1 FROM secret_versions v WHERE v.secret_id = s.id AND v.key_id IS NOT NULL AND v.key_id <> ?2))
         ORDER BY s.id LIMIT 1",
    )?;
    let mut versions = tx.prepare_cached(
        "SELECT version, key_id, nonce, ciphertext FROM secret_versions
         WHERE secret_id = ?1 AND ciphertext IS NOT NULL ORDER BY version",
    )?;
    let mut update = tx.prepare_cached(
        "UPDATE secret_versions SET key_id = ?3, nonce = ?4, ciphertext = ?5 WHERE secret_id = ?1 AND version = ?2",
    )?;
    while (done.versions as usize) < batch {
        type Found = (i64, NamespacePath, SecretKey, Option<SecretUid>);
        let found: Option<Found> = find
            .query_row(params![done.cursor, newest], |r| Ok((r.get(0)?, parsed(r, 1)?, parsed(r, 2)?, uid_at(r, 3)?)))
            .optional()?;
        let Some((id, ns, key, old_uid)) = found else { break };
        let new_uid = match old_uid {
            Some(uid) => uid,
            None => SecretUid::generate()?,
        };
        let stored = versions
            .query_map([id], |r| {
                let sealed = Sealed { key_id: r.get(1)?, nonce: r.get(2)?, ciphertext: r.get(3)? };
                Ok((r.get::<_, u32>(0)?, sealed))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        // With its id already given, a version under the newest key is done.
        for (version, sealed) in stored.into_iter().filter(|(_, s)| s.key_id != newest || old_uid.is_none()) {
            let old = Place { namespace: &ns, key: &key, version, uid: old_uid };
            let value = keyring.open_value(old, &sealed)?;
            let resealed = keyring.seal_value(Place { uid: Some(new_uid), ..old }, &value)?;
            update.execute(params![id, version, resealed.key_id, resealed.nonce, resealed.ciphertext])?;
            done.versions += 1;
        }
        if old_uid.is_none() {
            tx.execute("UPDATE secrets SET uid = ?2 WHERE id = ?1", params![id, new_uid.0])?;
            done.given_ids += 1;
        }
        done.secrets += 1;
        done.cursor = id;
    }
    drop((find, versions, update));
    tx.commit()?;
    Ok((done.secrets > 0).then_some(done))
}

/// Opens every stored version (and drops the value at once): a ciphertext
/// moved, swapped or damaged fails here, naming its secret and version.
/// Also each secret's current version must still hold its ciphertext.
pub fn verify_all(conn: &Connection, keyring: &Keyring) -> std::result::Result<u64, String> {
    let q = |e: rusqlite::Error| format!("its secrets cannot be read: {e}");
    let mut stmt = conn
        .prepare(
            "SELECT n.path, s.key, s.uid, v.version, v.key_id, v.nonce, v.ciphertext, s.version
             FROM secret_versions v JOIN secrets s ON s.id = v.secret_id JOIN namespaces n ON n.id = s.namespace_id
             WHERE v.ciphertext IS NOT NULL OR v.version = s.version",
        )
        .map_err(q)?;
    let mut rows = stmt.query([]).map_err(q)?;
    let mut opened = 0;
    while let Some(r) = rows.next().map_err(q)? {
        let (ns, key): (NamespacePath, SecretKey) = (parsed(r, 0).map_err(q)?, parsed(r, 1).map_err(q)?);
        let (uid, version): (Option<SecretUid>, u32) = (uid_at(r, 2).map_err(q)?, r.get(3).map_err(q)?);
        let (key_id, nonce, ciphertext): (Option<i64>, Option<Vec<u8>>, Option<Vec<u8>>) =
            (r.get(4).map_err(q)?, r.get(5).map_err(q)?, r.get(6).map_err(q)?);
        let (Some(key_id), Some(nonce), Some(ciphertext)) = (key_id, nonce, ciphertext) else {
            return Err(format!("secret {ns}/{key}: its current version {version} has no value"));
        };
        let place = Place { namespace: &ns, key: &key, version, uid };
        open_value(conn, keyring, place, &Sealed { key_id, nonce, ciphertext })
            .map_err(|e| format!("secret {ns}/{key} version {version} does not open ({e}): moved or changed"))?;
        opened += 1;
    }
    let missing: Option<(String, String, u32)> = conn
        .query_row(
            "SELECT n.path, s.key, s.version FROM secrets s JOIN namespaces n ON n.id = s.namespace_id
             WHERE NOT EXISTS (SELECT 1 FROM secret_versions v WHERE v.secret_id = s.id AND v.version = s.version)
             LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(q)?;
    if let Some((ns, key, version)) = missing {
        return Err(format!("secret {ns}/{key}: its current version {version} is gone"));
    }
    Ok(opened)
}

/// Records a finished rewrap.
pub fn record_rewrap(
    conn: &mut Connection,
    chain: &AuditKey,
    total: Rewrapped,
    newest: i64,
    now: Timestamp,
) -> Result<()> {
    let tx = immediate(conn)?;
    let outcome = format!(
        "ok: {} versions of {} secrets sealed under data key {newest} ({} given a random id)",
        total.versions, total.secrets, total.given_ids
    );
    audit::append(&tx, chain, entry(Action::KeyringRewrap, now, outcome))?;
    tx.commit()?;
    Ok(())
}

/// `rekey`: the keyring, the key check and the base key wrapped by `new`
/// instead of `old`, in one transaction; afterwards only `new` opens the
/// database. The data keys and the base key themselves do not change, so
/// every value and the whole trail read as before.
pub fn rekey(conn: &mut Connection, old: &RootKey, new: &RootKey, now: Timestamp) -> Result<usize> {
    let tx = immediate(conn)?;
    let check = meta(&tx, "key_check")?.ok_or(StoreError::MissingKeyCheck)?;
    old.verify_key_check(&check)?;
    let base_blob = meta(&tx, "base_key")?.ok_or(StoreError::MissingKeyCheck)?;
    let base = old.unwrap_base(&base_blob)?;
    let stored = wrapped_keys(&tx)?;
    for w in &stored {
        let rewrapped = new.wrap(&old.unwrap(w)?)?;
        tx.execute(
            "UPDATE data_keys SET nonce = ?2, wrapped = ?3 WHERE id = ?1",
            params![w.id, rewrapped.nonce, rewrapped.wrapped],
        )?;
    }
    set_meta(&tx, "key_check", &new.key_check()?)?;
    set_meta(&tx, "base_key", &new.wrap_base(&base)?)?;
    let outcome =
        format!("ok: {} data keys wrapped by a new root key; the old one no longer opens this database", stored.len());
    audit::append(&tx, &AuditKey::derive(&base), entry(Action::KeyringRekey, now, outcome))?;
    tx.commit()?;
    Ok(stored.len())
}

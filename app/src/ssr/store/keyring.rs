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
use crate::ssr::db::sql::{hold, Lock, Sql, SqlError, Value};
use crate::ssr::{
    audit::{self, AuditKey, NewEntry},
    crypto::{BaseKey, CryptoError, DataKey, Keyring, Place, RootKey, Sealed, SecretUid, WrappedKey},
    db::{RowKey, Transact},
    store::rows,
    store::{uid_of, StoreError},
};

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

    pub fn factor_key(&self) -> crate::ssr::crypto::FactorKey {
        crate::ssr::crypto::SealKey::factors(&self.base)
    }

    pub fn webhook_key(&self) -> crate::ssr::crypto::SealKey {
        crate::ssr::crypto::SealKey::webhooks(&self.base)
    }
}

/// Verifies `root` against the database's key check and unwraps the keyring
/// and the base key. On a new database, writes the key check, the first data
/// key, a random base key and the trail's genesis head; on one made before
/// base keys were stored, stores the root key's bytes as its base key (what
/// its derived keys came from). Nodes starting at once on a new PostgreSQL
/// database take turns: one writes the keys, the others find them.
pub fn unlock(conn: &mut impl Transact, root: &RootKey, now: Timestamp) -> Result<Unlocked> {
    conn.write(|tx| {
        hold(tx, Lock::Keyring)?;
        let check: Option<Vec<u8>> = meta(tx, "key_check")?;
        match check {
            Some(check) => root.verify_key_check(&check)?,
            None if wrapped_keys(tx)?.is_empty() => {
                set_meta(tx, "key_check", &root.key_check()?)?;
                add_data_key(tx, root, now)?;
                let base = BaseKey::generate()?;
                set_meta(tx, "base_key", &root.wrap_base(&base)?)?;
                // The trail starts with a head too, so that a wiped trail is told from a new one.
                audit::start_chain(tx, &AuditKey::derive(&base))?;
            }
            None => return Err(StoreError::MissingKeyCheck),
        }
        let base = match meta(tx, "base_key")? {
            Some(blob) => root.unwrap_base(&blob)?,
            None if meta(tx, "base_key_legacy")?.is_some() => {
                let base = root.legacy_base();
                set_meta(tx, "base_key", &root.wrap_base(&base)?)?;
                tx.execute("DELETE FROM meta WHERE name = 'base_key_legacy'", &[])?;
                base
            }
            None => return Err(StoreError::MissingBaseKey),
        };
        let keys = wrapped_keys(tx)?.iter().map(|w| root.unwrap(w)).collect::<Result<Vec<_>, _>>()?;
        rows::seal(tx, &RowKey::derive(&base), &AuditKey::derive(&base), now)?;
        let keyring = Keyring::unlocked(root, keys);
        let (generation, fingerprints) = super::fingerprints::unlock(tx, root)?;
        keyring.set_fingerprint_key(generation, fingerprints);
        // Versions stored before fingerprints, or under a key a rekey replaced.
        super::fingerprints::recompute(tx, &keyring)?;
        Ok(Unlocked { keyring, base })
    })
}

fn meta<S: Sql + ?Sized>(db: &S, name: &str) -> Result<Option<Vec<u8>>> {
    let row = db.query_opt("SELECT value FROM meta WHERE name = ?1", &[name.into()])?;
    Ok(row.map(|r| r[0].blob().map(<[u8]>::to_vec)).transpose()?)
}

fn set_meta<S: Sql + ?Sized>(db: &S, name: &str, value: &[u8]) -> Result<()> {
    db.execute(
        "INSERT INTO meta (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = ?2",
        &[name.into(), value.into()],
    )?;
    Ok(())
}

fn wrapped_keys<S: Sql + ?Sized>(db: &S) -> Result<Vec<WrappedKey>> {
    wrapped_keys_after(db, 0)
}

fn wrapped_keys_after<S: Sql + ?Sized>(db: &S, after: i64) -> Result<Vec<WrappedKey>> {
    let rows = db.query("SELECT id, nonce, wrapped FROM data_keys WHERE id > ?1 ORDER BY id", &[after.into()])?;
    let key = |r: &[Value<'_>]| -> Result<WrappedKey, SqlError> {
        Ok(WrappedKey { id: r[0].int()?, nonce: r[1].blob()?.to_vec(), wrapped: r[2].blob()?.to_vec() })
    };
    Ok(rows.iter().map(|r| key(r)).collect::<Result<_, _>>()?)
}

/// Under [`Lock::Keyring`] on PostgreSQL: two rotations at once would pick one id.
fn add_data_key<S: Sql + ?Sized>(tx: &S, root: &RootKey, now: Timestamp) -> Result<i64> {
    let id = tx.query("SELECT COALESCE(MAX(id), 0) + 1 FROM data_keys", &[])?[0][0].int()?;
    let wrapped = root.wrap(&DataKey::generate(id)?)?;
    tx.execute(
        "INSERT INTO data_keys (id, nonce, wrapped, created_at) VALUES (?1, ?2, ?3, ?4)",
        &[id.into(), wrapped.nonce.as_slice().into(), wrapped.wrapped.as_slice().into(), now.0.into()],
    )?;
    Ok(id)
}

/// Learns the data keys added since `keyring` was unlocked (by `keyring
/// rotate` in another process), so that new writes use the newest. One
/// indexed lookup when nothing changed.
pub fn refresh<S: Sql + ?Sized>(db: &S, keyring: &Keyring) -> Result<()> {
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
pub fn open_value<S: Sql + ?Sized>(
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

pub fn list<S: Sql + ?Sized>(db: &S) -> Result<Vec<KeyUse>> {
    let rows = db.query(
        "SELECT k.id, k.created_at, (SELECT count(*) FROM secret_versions v WHERE v.key_id = k.id)
         FROM data_keys k ORDER BY k.id",
        &[],
    )?;
    let each = |r: &Vec<Value<'_>>| -> Result<KeyUse, SqlError> {
        Ok(KeyUse { id: r[0].int()?, created_at: Timestamp(r[1].int()?), versions: r[2].int()? })
    };
    Ok(rows.iter().map(each).collect::<Result<_, _>>()?)
}

/// `keyring rotate`: a new data key becomes the newest; older ones still open
/// what they sealed. Returns its id.
pub fn rotate(conn: &mut impl Transact, root: &RootKey, chain: &AuditKey, now: Timestamp) -> Result<i64> {
    conn.write(|tx| {
        hold(tx, Lock::Keyring)?;
        // Checked again under the write lock: a `rekey` that committed since the
        // keyring was unlocked makes `root` the old key, which must wrap nothing.
        root.verify_key_check(&meta(tx, "key_check")?.ok_or(StoreError::MissingKeyCheck)?)?;
        let id = add_data_key(tx, root, now)?;
        audit::append(tx, chain, entry(Action::KeyringRotate, now, format!("ok: data key {id} is the newest")))?;
        Ok(id)
    })
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
pub fn retire(conn: &mut impl Transact, chain: &AuditKey, id: i64, now: Timestamp) -> Result<(), RetireError> {
    conn.write(|tx| {
        hold(tx, Lock::Keyring)?;
        let newest = tx.query("SELECT MAX(id) FROM data_keys", &[])?[0][0].opt_int()?;
        if tx.query_opt("SELECT 1 FROM data_keys WHERE id = ?1", &[id.into()])?.is_none() {
            return Err(RetireError::Unknown(id));
        }
        if newest == Some(id) {
            return Err(RetireError::Newest(id));
        }
        // A rewrap or a write sealing under this key now would be one the count misses:
        // none can (new values take the newest key; rewrap moves away from this one).
        let versions = tx.query("SELECT count(*) FROM secret_versions WHERE key_id = ?1", &[id.into()])?[0][0].int()?;
        if versions > 0 {
            return Err(RetireError::InUse { id, versions });
        }
        // On SQLite, secure_delete overwrites the wrapped key's bytes in the file.
        tx.execute("DELETE FROM data_keys WHERE id = ?1", &[id.into()])?;
        audit::append(tx, chain, entry(Action::KeyringRetire, now, format!("ok: data key {id} retired")))?;
        Ok(())
    })
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
pub fn rewrap_batch(
    conn: &mut impl Transact,
    keyring: &Keyring,
    cursor: i64,
    batch: usize,
) -> Result<Option<Rewrapped>> {
    conn.write(|tx| {
        refresh(tx, keyring)?;
        let newest = keyring.newest_id().ok_or(CryptoError::UnknownDataKey)?;
        let mut done = Rewrapped { cursor, ..Rewrapped::default() };
        while (done.versions as usize) < batch {
            // Locked on PostgreSQL: a rotation of this secret on another node waits for the batch.
            // A scalar subquery, not EXISTS: PostgreSQL turned an EXISTS here
            // into a hash of every version, built again for each secret found
            // (100,000 secrets would take over an hour); this is one index probe.
            let lock = if tx.engine() == crate::ssr::db::sql::Engine::Postgres { " FOR UPDATE OF s" } else { "" };
            let found = tx.query_opt(
                &format!(
                    "SELECT s.id, n.path, s.key, s.uid FROM secrets s JOIN namespaces n ON n.id = s.namespace_id
                     WHERE s.id > ?1 AND (s.uid IS NULL OR (
                         SELECT 1 FROM secret_versions v
                         WHERE v.secret_id = s.id AND v.key_id IS NOT NULL AND v.key_id <> ?2 LIMIT 1) IS NOT NULL)
                     ORDER BY s.id LIMIT 1{lock}"
                ),
                &[done.cursor.into(), newest.into()],
            )?;
            let Some(found) = found else { break };
            let (id, ns, key, old_uid): (i64, NamespacePath, SecretKey, Option<SecretUid>) =
                (found[0].int()?, found[1].parse()?, found[2].parse()?, uid_of(&found[3])?);
            let new_uid = match old_uid {
                Some(uid) => uid,
                None => SecretUid::generate()?,
            };
            let stored = tx.query(
                "SELECT version, key_id, nonce, ciphertext FROM secret_versions
                 WHERE secret_id = ?1 AND ciphertext IS NOT NULL ORDER BY version",
                &[id.into()],
            )?;
            for r in &stored {
                let (version, key_id) = (r[0].u32()?, r[1].int()?);
                // With its id already given, a version under the newest key is done.
                if key_id == newest && old_uid.is_some() {
                    continue;
                }
                let sealed = Sealed { key_id, nonce: r[2].blob()?.to_vec(), ciphertext: r[3].blob()?.to_vec() };
                let old = Place { namespace: &ns, key: &key, version, uid: old_uid };
                let value = keyring.open_value(old, &sealed)?;
                let resealed = keyring.seal_value(Place { uid: Some(new_uid), ..old }, &value)?;
                // Only the ciphertext read: one destroyed meanwhile by the
                // retention limit (another node) stays destroyed.
                let resealed_now = tx.execute(
                    "UPDATE secret_versions SET key_id = ?3, nonce = ?4, ciphertext = ?5
                     WHERE secret_id = ?1 AND version = ?2 AND key_id = ?6 AND nonce = ?7",
                    &[
                        id.into(),
                        version.into(),
                        resealed.key_id.into(),
                        resealed.nonce.as_slice().into(),
                        resealed.ciphertext.as_slice().into(),
                        key_id.into(),
                        sealed.nonce.as_slice().into(),
                    ],
                )?;
                done.versions += resealed_now;
            }
            if old_uid.is_none() {
                tx.execute("UPDATE secrets SET uid = ?2 WHERE id = ?1", &[id.into(), new_uid.0.as_slice().into()])?;
                done.given_ids += 1;
            }
            done.secrets += 1;
            done.cursor = id;
        }
        Ok((done.secrets > 0).then_some(done))
    })
}

/// Opens every stored version (and drops the value at once): a ciphertext
/// moved, swapped or damaged fails here, naming its secret and version.
/// Also each secret's current version must still hold its ciphertext.
pub fn verify_all<S: Sql + ?Sized>(db: &S, keyring: &Keyring) -> std::result::Result<u64, String> {
    let q = |e: SqlError| format!("its secrets cannot be read: {e}");
    // Every key first: the rows are streamed, and the connection is busy meanwhile.
    refresh(db, keyring).map_err(|e| format!("its keyring cannot be read: {e}"))?;
    let mut opened = 0;
    let mut failed = None;
    db.query_each(
        "SELECT n.path, s.key, s.uid, v.version, v.key_id, v.nonce, v.ciphertext, s.version
         FROM secret_versions v JOIN secrets s ON s.id = v.secret_id JOIN namespaces n ON n.id = s.namespace_id
         WHERE v.ciphertext IS NOT NULL OR v.version = s.version",
        &[],
        &mut |r| {
            if failed.is_some() {
                return Ok(());
            }
            let (ns, key): (NamespacePath, SecretKey) = (r[0].parse()?, r[1].parse()?);
            let (uid, version) = (uid_of(&r[2])?, r[3].u32()?);
            let (Value::Int(key_id), Value::Blob(nonce), Value::Blob(ciphertext)) = (&r[4], &r[5], &r[6]) else {
                failed = Some(format!("secret {ns}/{key}: its current version {version} has no value"));
                return Ok(());
            };
            let place = Place { namespace: &ns, key: &key, version, uid };
            let sealed = Sealed { key_id: *key_id, nonce: nonce.to_vec(), ciphertext: ciphertext.to_vec() };
            match keyring.open_value(place, &sealed) {
                Ok(_) => opened += 1,
                Err(e) => {
                    failed = Some(format!("secret {ns}/{key} version {version} does not open ({e}): moved or changed"))
                }
            }
            Ok(())
        },
    )
    .map_err(q)?;
    if let Some(failed) = failed {
        return Err(failed);
    }
    let missing = db
        .query_opt(
            "SELECT n.path, s.key, s.version FROM secrets s JOIN namespaces n ON n.id = s.namespace_id
             WHERE NOT EXISTS (SELECT 1 FROM secret_versions v WHERE v.secret_id = s.id AND v.version = s.version)
             LIMIT 1",
            &[],
        )
        .map_err(q)?;
    if let Some(r) = missing {
        let (ns, key, version) = (r[0].text().map_err(q)?, r[1].text().map_err(q)?, r[2].int().map_err(q)?);
        return Err(format!("secret {ns}/{key}: its current version {version} is gone"));
    }
    Ok(opened)
}

/// Records a finished rewrap.
pub fn record_rewrap(
    conn: &mut impl Transact,
    chain: &AuditKey,
    total: Rewrapped,
    newest: i64,
    now: Timestamp,
) -> Result<()> {
    let outcome = format!(
        "ok: {} versions of {} secrets sealed under data key {newest} ({} given a random id)",
        total.versions, total.secrets, total.given_ids
    );
    conn.write(|tx| Ok(audit::append(tx, chain, entry(Action::KeyringRewrap, now, outcome))?).map(|_| ()))
}

/// `rekey`: the keyring, the key check and the base key wrapped by `new`
/// instead of `old`, in one transaction; afterwards only `new` opens the
/// database. The data keys and the base key themselves do not change, so
/// every value and the whole trail read as before.
pub fn rekey(conn: &mut impl Transact, old: &RootKey, new: &RootKey, now: Timestamp) -> Result<usize> {
    conn.write(|tx| {
        hold(tx, Lock::Keyring)?;
        let check = meta(tx, "key_check")?.ok_or(StoreError::MissingKeyCheck)?;
        old.verify_key_check(&check)?;
        let base_blob = meta(tx, "base_key")?.ok_or(StoreError::MissingKeyCheck)?;
        let base = old.unwrap_base(&base_blob)?;
        let stored = wrapped_keys(tx)?;
        for w in &stored {
            let rewrapped = new.wrap(&old.unwrap(w)?)?;
            tx.execute(
                "UPDATE data_keys SET nonce = ?2, wrapped = ?3 WHERE id = ?1",
                &[w.id.into(), rewrapped.nonce.as_slice().into(), rewrapped.wrapped.as_slice().into()],
            )?;
        }
        set_meta(tx, "key_check", &new.key_check()?)?;
        set_meta(tx, "base_key", &new.wrap_base(&base)?)?;
        // A new fingerprint key: the old root key must not test guesses against new fingerprints.
        super::fingerprints::replace(tx, new)?;
        let outcome = format!(
            "ok: {} data keys wrapped by a new root key, a new fingerprint key; the old one no longer opens this database",
            stored.len()
        );
        audit::append(tx, &AuditKey::derive(&base), entry(Action::KeyringRekey, now, outcome))?;
        Ok(stored.len())
    })
}

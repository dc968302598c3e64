//! Keyed fingerprints of stored values, so that "same value as" can be told
//! without showing a value: HMAC-SHA256 of each version's value under a random
//! fingerprint key of its own (`meta.fingerprint_key`: its generation, then
//! the key wrapped by the root key). Only whether two fingerprints are equal
//! ever leaves this module: a fingerprint is never shown, exported or sent.
//!
//! Not derived from the base key: the base key survives `rekey` (the trail
//! must verify across it), and whoever held the old root key could derive it
//! and test guesses against the stored fingerprints. `rekey` makes a new key
//! (the next generation); fingerprints of an older one match nothing until
//! recomputed, by `rewrap` or by the next start with the new root key. A
//! version's fingerprint goes when its ciphertext does (retention, purge).

use super::{Result, StoreError};
use crate::domain::{NamespacePath, SecretKey, Timestamp};
use crate::ssr::{
    crypto::{CryptoError, FingerprintKey, Keyring, Place, RootKey, Sealed, SecretUid},
    db::sql::{Sql, Value},
};

const META: &str = "fingerprint_key";

/// The fingerprint key in force, and its generation: made on first use.
pub fn unlock<S: Sql + ?Sized>(db: &S, root: &RootKey) -> Result<(i64, FingerprintKey)> {
    match stored(db)? {
        Some((generation, blob)) => Ok((generation, root.unwrap_fingerprint(generation, &blob)?)),
        None => replace(db, root),
    }
}

/// A new fingerprint key wrapped by `root`, one generation on (`rekey`).
pub fn replace<S: Sql + ?Sized>(db: &S, root: &RootKey) -> Result<(i64, FingerprintKey)> {
    let generation = stored(db)?.map_or(1, |(g, _)| g + 1);
    let key = FingerprintKey::generate()?;
    let blob = [&generation.to_be_bytes()[..], &root.wrap_fingerprint(generation, &key)?].concat();
    db.execute(
        "INSERT INTO meta (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        &[META.into(), blob.as_slice().into()],
    )?;
    Ok((generation, key))
}

fn stored<S: Sql + ?Sized>(db: &S) -> Result<Option<(i64, Vec<u8>)>> {
    let Some(row) = db.query_opt("SELECT value FROM meta WHERE name = ?1", &[META.into()])? else {
        return Ok(None);
    };
    let blob = row[0].blob()?;
    let (generation, wrapped) = blob.split_at_checked(8).ok_or(CryptoError::Tampered)?;
    let generation = i64::from_be_bytes(generation.try_into().map_err(|_| CryptoError::Tampered)?);
    Ok(Some((generation, wrapped.to_vec())))
}

/// Fingerprints every stored version that has none under the key in force
/// (made before fingerprints, or under an older key); returns how many. Each
/// value is opened and dropped at once.
pub fn recompute<S: Sql + ?Sized>(db: &S, keyring: &Keyring) -> Result<u64> {
    let Some(generation) = keyring.fingerprint_generation() else { return Ok(0) };
    let stale = db.query(
        "SELECT v.secret_id, v.version, v.key_id, v.nonce, v.ciphertext, n.path, s.key, s.uid
         FROM secret_versions v JOIN secrets s ON s.id = v.secret_id JOIN namespaces n ON n.id = s.namespace_id
         WHERE v.ciphertext IS NOT NULL AND (v.fingerprint_gen IS NULL OR v.fingerprint_gen <> ?1)",
        &[generation.into()],
    )?;
    let mut done = 0;
    for r in &stale {
        let (id, version) = (r[0].int()?, r[1].u32()?);
        let (ns, key): (NamespacePath, SecretKey) = (r[5].parse()?, r[6].parse()?);
        let uid = match &r[7] {
            Value::Null => None,
            other => SecretUid::from_slice(other.blob()?),
        };
        let sealed = Sealed { key_id: r[2].int()?, nonce: r[3].blob()?.to_vec(), ciphertext: r[4].blob()?.to_vec() };
        let place = Place { namespace: &ns, key: &key, version, uid };
        let value = super::keyring::open_value(db, keyring, place, &sealed)?;
        let Some((generation, fingerprint)) = keyring.fingerprint(&value) else { continue };
        done += db.execute(
            "UPDATE secret_versions SET fingerprint = ?3, fingerprint_gen = ?4 WHERE secret_id = ?1 AND version = ?2",
            &[id.into(), version.into(), fingerprint.as_slice().into(), generation.into()],
        )?;
    }
    Ok(done)
}

/// What a secret's current value has in common with others: names only.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shared {
    /// Other live secrets whose current value is the same, by namespace and key.
    pub same_as: Vec<(NamespacePath, SecretKey)>,
}

/// The live secrets whose current value equals that of `key` in `ns`
/// (callers keep those the viewer may see).
pub fn same_value<S: Sql + ?Sized>(db: &S, ns: &NamespacePath, key: &SecretKey) -> Result<Shared> {
    let rows = db.query(
        "SELECT n2.path, s2.key
         FROM secrets s JOIN namespaces n ON n.id = s.namespace_id
         JOIN secret_versions v ON v.secret_id = s.id AND v.version = s.version
         JOIN secret_versions v2 ON v2.fingerprint = v.fingerprint AND v2.fingerprint_gen = v.fingerprint_gen
         JOIN secrets s2 ON s2.id = v2.secret_id AND s2.version = v2.version
         JOIN namespaces n2 ON n2.id = s2.namespace_id
         WHERE n.path = ?1 AND s.key = ?2 AND s.deleted_at IS NULL AND v.fingerprint IS NOT NULL
           AND s2.id <> s.id AND s2.deleted_at IS NULL
         ORDER BY n2.path, s2.key",
        &[ns.as_str().into(), key.as_str().into()],
    )?;
    let same_as = rows.iter().map(|r| Ok((r[0].parse()?, r[1].parse()?))).collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Shared { same_as })
}

/// Whether `value` is the current value of the secret `secret_id` (a rotation
/// that would store it again). `false` when either has no fingerprint.
pub fn is_current<S: Sql + ?Sized>(
    db: &S,
    keyring: &Keyring,
    secret_id: i64,
    value: &crate::domain::SecretValue,
) -> Result<bool> {
    let Some((generation, fingerprint)) = keyring.fingerprint(value) else { return Ok(false) };
    let row = db.query_opt(
        "SELECT 1 FROM secrets s JOIN secret_versions v ON v.secret_id = s.id AND v.version = s.version
         WHERE s.id = ?1 AND v.fingerprint = ?2 AND v.fingerprint_gen = ?3",
        &[secret_id.into(), fingerprint.as_slice().into(), generation.into()],
    )?;
    Ok(row.is_some())
}

/// When the value of `version` of `key` in `ns` was first stored: the
/// earliest version of that secret holding the same value (itself, if none
/// before it). `None` when it has no fingerprint.
pub fn first_stored<S: Sql + ?Sized>(
    db: &S,
    ns: &NamespacePath,
    key: &SecretKey,
    version: u32,
) -> Result<Option<(u32, Timestamp)>> {
    let row = db.query_opt(
        "SELECT w.version, w.created_at FROM secrets s JOIN namespaces n ON n.id = s.namespace_id
         JOIN secret_versions v ON v.secret_id = s.id AND v.version = ?3
         JOIN secret_versions w ON w.secret_id = s.id AND w.fingerprint = v.fingerprint
                               AND w.fingerprint_gen = v.fingerprint_gen
         WHERE n.path = ?1 AND s.key = ?2 ORDER BY w.version LIMIT 1",
        &[ns.as_str().into(), key.as_str().into(), version.into()],
    )?;
    row.map(|r| Ok((r[0].u32()?, Timestamp(r[1].int()?)))).transpose()
}

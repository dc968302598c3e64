//! Secrets and their versions: add, rotate, restore, retention, delete and purge.

use super::*;
use crate::domain::{
    view::{Rotation, SecretDetail, SecretMeta, VersionMeta},
    Description, NamespacePath, SecretKey, SecretValue, Tags, Timestamp,
};
use crate::ssr::crypto::{Keyring, Place, Sealed, SecretUid};
use crate::ssr::db::sql::{savepoint, Sql, SqlError, Value};

/// Reads [`META_COLUMNS`].
pub(super) fn meta_from(row: &[Value<'_>]) -> Result<SecretMeta, SqlError> {
    meta_from_at(row, 0)
}

/// The row id and metadata of `(ns, key)`, deleted or not.
pub(super) fn find_secret<S: Sql + ?Sized>(
    db: &S,
    ns: &NamespacePath,
    key: &SecretKey,
) -> Result<(Handle, SecretMeta)> {
    let ns_id = namespace_id(db, ns)?;
    let row = db.query_opt(
        &format!(
            "SELECT s.id, s.uid, {META_COLUMNS} FROM secrets s JOIN namespaces n ON n.id = s.namespace_id
             WHERE s.namespace_id = ?1 AND s.key = ?2"
        ),
        &[ns_id.into(), key.as_str().into()],
    )?;
    let row = row.ok_or(StoreError::SecretNotFound)?;
    Ok((Handle { id: row[0].int()?, uid: uid_of(&row[1])? }, meta_from_at(&row, 2)?))
}

/// A secret's row id and the random id bound into its ciphertexts.
#[derive(Clone, Copy)]
pub(super) struct Handle {
    pub(super) id: i64,
    pub(super) uid: Option<SecretUid>,
}

impl Handle {
    pub(super) fn place<'a>(&self, namespace: &'a NamespacePath, key: &'a SecretKey, version: u32) -> Place<'a> {
        Place { namespace, key, version, uid: self.uid }
    }
}

/// Reads [`META_COLUMNS`] starting at column `offset`.
pub(super) fn meta_from_at(row: &[Value<'_>], offset: usize) -> Result<SecretMeta, SqlError> {
    let r = &row[offset..];
    Ok(SecretMeta {
        namespace: r[0].parse()?,
        key: r[1].parse()?,
        description: r[2].text()?.to_owned(),
        version: r[3].u32()?,
        created_at: Timestamp(r[4].int()?),
        created_by: r[5].text()?.to_owned(),
        updated_at: Timestamp(r[6].int()?),
        updated_by: r[7].text()?.to_owned(),
        deleted_at: r[8].opt_int()?.map(Timestamp),
        deleted_by: r[9].opt_text()?.map(str::to_owned),
        value_since: Timestamp(r[10].int()?),
        rotation: match (r[11].opt_int()?, r[12].opt_u32()?) {
            (Some(by), _) => Rotation::By(Timestamp(by)),
            (None, Some(days)) => Rotation::EveryDays(days),
            (None, None) => Rotation::None,
        },
        due: r[13].opt_int()?.map(Timestamp),
        overdue: r[14].bool()?,
        tags: r[15].parse()?,
        last_read: r[16].opt_int()?.map(Timestamp),
    })
}

/// Like [`find_secret`], but a deleted secret counts as absent for writes.
pub(super) fn find_live_secret<S: Sql + ?Sized>(
    db: &S,
    ns: &NamespacePath,
    key: &SecretKey,
) -> Result<(Handle, SecretMeta)> {
    let (handle, meta) = find_secret(db, ns, key)?;
    if meta.deleted_at.is_some() {
        return Err(StoreError::SecretDeleted);
    }
    Ok((handle, meta))
}

/// Seals `value` as version `place.version` of `secret_id`, then destroys the
/// ciphertexts that fall out of the retention window.
pub(super) fn insert_version<S: Sql + ?Sized>(
    tx: &S,
    keyring: &Keyring,
    secret_id: i64,
    place: Place<'_>,
    value: &SecretValue,
    stamp: Stamp<'_>,
    restored_from: Option<u32>,
) -> Result<()> {
    // Another process may have made a newer data key (`keyring rotate`).
    crate::ssr::store::keyring::refresh(tx, keyring)?;
    let sealed = keyring.seal_value(place, value)?;
    let (generation, fingerprint) = keyring.fingerprint(value).unzip();
    tx.execute(
        "INSERT INTO secret_versions (secret_id, version, key_id, nonce, ciphertext, created_at, created_by,
                                      restored_from, fingerprint, fingerprint_gen)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        &[
            secret_id.into(),
            place.version.into(),
            sealed.key_id.into(),
            sealed.nonce.as_slice().into(),
            sealed.ciphertext.as_slice().into(),
            stamp.at.0.into(),
            stamp.actor.into(),
            restored_from.into(),
            fingerprint.as_deref().into(),
            generation.into(),
        ],
    )?;
    tx.execute(
        "UPDATE secrets SET version = ?2, updated_at = ?3, updated_by = ?4 WHERE id = ?1",
        &[secret_id.into(), place.version.into(), stamp.at.0.into(), stamp.actor.into()],
    )?;
    destroy_past_retention(tx, Some(secret_id))?;
    Ok(())
}

/// The number of versions kept when a secret sets none: what
/// [`set_default_retention`] recorded, else [`RETAINED_VERSIONS`].
pub(super) fn default_keep<S: Sql + ?Sized>(db: &S) -> Result<u32> {
    let row = db.query_opt("SELECT value FROM meta WHERE name = 'keep_versions'", &[])?;
    let Some(row) = row else { return Ok(RETAINED_VERSIONS) };
    let text = std::str::from_utf8(row[0].blob()?).ok();
    Ok(text.and_then(|t| t.parse().ok()).ok_or_else(|| SqlError::Type("meta.keep_versions is not a number".into()))?)
}

/// Destroys (overwrites, with `secure_delete` on SQLite) the ciphertexts of
/// versions past each secret's retention: of one secret, or of all. Returns how many.
pub(super) fn destroy_past_retention<S: Sql + ?Sized>(tx: &S, secret_id: Option<i64>) -> Result<u64> {
    macro_rules! destroy {
        ($which:literal, $default:literal) => {
            concat!(
                "UPDATE secret_versions SET key_id = NULL, nonce = NULL, ciphertext = NULL,
                                            fingerprint = NULL, fingerprint_gen = NULL
                 WHERE ciphertext IS NOT NULL AND ",
                $which,
                " AND version <= (SELECT s.version - COALESCE(s.keep_versions, ",
                $default,
                ") FROM secrets s WHERE s.id = secret_versions.secret_id)"
            )
        };
    }
    let keep = i64::from(default_keep(tx)?);
    // Two statements: `?1 IS NULL OR secret_id = ?1` would scan every version on every write.
    Ok(match secret_id {
        Some(id) => tx.execute(destroy!("secret_id = ?1", "?2"), &[id.into(), keep.into()])?,
        None => tx.execute(destroy!("1 = 1", "?1"), &[keep.into()])?,
    })
}

/// Records the default number of versions kept (`STRONGROOM_KEEP_VERSIONS`)
/// when it changed, destroys what falls outside it now, and says so in the
/// trail. Returns the versions destroyed, or `None` when nothing changed
/// (then nothing is written: a server on a full disk still starts). Inside
/// the caller's write transaction.
pub fn set_default_retention<S: Sql + ?Sized>(
    tx: &S,
    chain: &crate::ssr::audit::AuditKey,
    keep: u32,
    now: Timestamp,
) -> Result<Option<u64>> {
    // Nodes starting together record it once (they should all say the same).
    crate::ssr::db::sql::hold(tx, crate::ssr::db::sql::Lock::Settings)?;
    let before = default_keep(tx)?;
    let recorded = tx.query_opt("SELECT 1 FROM meta WHERE name = 'keep_versions'", &[])?.is_some();
    if recorded && before == keep {
        return Ok(None);
    }
    tx.execute(
        "INSERT INTO meta (name, value) VALUES ('keep_versions', ?1) ON CONFLICT (name) DO UPDATE SET value = ?1",
        &[keep.to_string().into_bytes().into()],
    )?;
    let destroyed = destroy_past_retention(tx, None)?;
    let entry = crate::ssr::audit::NewEntry {
        at: now,
        actor: crate::ssr::audit::Actor::ServerStart,
        action: crate::domain::audit::Action::SecretRetention,
        namespace: String::new(),
        key: String::new(),
        version: None,
        client: crate::ssr::audit::Client::Local,
        outcome: format!("ok: by default {keep} versions kept (was {before}); {destroyed} older values destroyed"),
    };
    crate::ssr::audit::append(tx, chain, entry)?;
    Ok(Some(destroyed))
}

/// Sets how many versions one secret keeps (`None`: the default) and
/// destroys what falls outside it now.
pub fn set_retention<S: Sql + ?Sized>(
    db: &S,
    ns: &NamespacePath,
    key: &SecretKey,
    keep: Option<u32>,
) -> Result<SecretMeta> {
    savepoint(db, |tx| {
        let (Handle { id, .. }, _) = find_live_secret(tx, ns, key)?;
        tx.execute("UPDATE secrets SET keep_versions = ?2 WHERE id = ?1", &[id.into(), keep.into()])?;
        destroy_past_retention(tx, Some(id))?;
        meta_by_id(tx, id)
    })
}

pub(super) fn retention<S: Sql + ?Sized>(db: &S, secret_id: i64) -> Result<crate::domain::view::Retention> {
    let row = db.query_opt("SELECT keep_versions FROM secrets WHERE id = ?1", &[secret_id.into()])?;
    let own = row.ok_or(StoreError::SecretNotFound)?[0].opt_u32()?;
    Ok(crate::domain::view::Retention { own, default: default_keep(db)? })
}

pub(super) fn meta_by_id<S: Sql + ?Sized>(db: &S, secret_id: i64) -> Result<SecretMeta> {
    let row = db.query_opt(
        &format!("SELECT {META_COLUMNS} FROM secrets s JOIN namespaces n ON n.id = s.namespace_id WHERE s.id = ?1"),
        &[secret_id.into()],
    )?;
    Ok(meta_from(&row.ok_or(StoreError::SecretNotFound)?)?)
}

/// Adds a new secret as version 1. Refuses a key that already exists here
/// (live or deleted): the caller should rotate or restore instead.
pub fn add_secret<S: Sql + ?Sized>(
    db: &S,
    keyring: &Keyring,
    ns: &NamespacePath,
    key: &SecretKey,
    value: &SecretValue,
    description: &Description,
    stamp: Stamp<'_>,
) -> Result<SecretMeta> {
    savepoint(db, |tx| {
        let ns_id = namespace_id(tx, ns)?;
        match find_secret(tx, ns, key) {
            Ok((_, meta)) if meta.deleted_at.is_some() => return Err(StoreError::SecretDeleted),
            Ok(_) => return Err(StoreError::SecretExists),
            Err(StoreError::SecretNotFound) => {}
            Err(e) => return Err(e),
        }
        let uid = SecretUid::generate()?;
        // Two adds of one key at once (two nodes): the unique index refuses the second.
        let made = tx.query_opt(
            "INSERT INTO secrets (namespace_id, key, uid, description, version, created_at, created_by, updated_at, updated_by)
             VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?5, ?6) ON CONFLICT (namespace_id, key) DO NOTHING RETURNING id",
            &[
                ns_id.into(),
                key.as_str().into(),
                uid.0.as_slice().into(),
                description.as_str().into(),
                stamp.at.0.into(),
                stamp.actor.into(),
            ],
        )?;
        let handle = Handle { id: made.ok_or(StoreError::SecretExists)?[0].int()?, uid: Some(uid) };
        insert_version(tx, keyring, handle.id, handle.place(ns, key, 1), value, stamp, None)?;
        meta_by_id(tx, handle.id)
    })
}

/// Locks a secret's row until the transaction ends (PostgreSQL), so that two
/// writers of one secret take turns: the second reads the first's version.
fn lock_secret<S: Sql + ?Sized>(tx: &S, ns: &NamespacePath, key: &SecretKey) -> Result<()> {
    if tx.engine() == crate::ssr::db::sql::Engine::Postgres {
        tx.query(
            "SELECT s.id FROM secrets s JOIN namespaces n ON n.id = s.namespace_id
             WHERE n.path = ?1 AND s.key = ?2 FOR UPDATE OF s",
            &[ns.as_str().into(), key.as_str().into()],
        )?;
    }
    Ok(())
}

/// Stores `value` as the next version of a live secret. With `expected`
/// (the version the writer was shown), refuses if another was stored since:
/// nobody overwrites someone else's rotation unknowingly.
pub fn rotate_secret<S: Sql + ?Sized>(
    db: &S,
    keyring: &Keyring,
    ns: &NamespacePath,
    key: &SecretKey,
    value: &SecretValue,
    expected: Option<u32>,
    stamp: Stamp<'_>,
) -> Result<SecretMeta> {
    savepoint(db, |tx| {
        lock_secret(tx, ns, key)?;
        let (secret, meta) = find_live_secret(tx, ns, key)?;
        if let Some(expected) = expected.filter(|&e| e != meta.version) {
            let row = tx.query_opt(
                "SELECT created_by, created_at FROM secret_versions WHERE secret_id = ?1 AND version = ?2",
                &[secret.id.into(), meta.version.into()],
            )?;
            let row = row.ok_or(StoreError::VersionNotFound)?;
            let (by, at) = (row[0].text()?.to_owned(), Timestamp(row[1].int()?));
            return Err(StoreError::Stale { expected, version: meta.version, by, at });
        }
        if super::fingerprints::is_current(tx, keyring, secret.id, value)? {
            return Err(StoreError::SameValue);
        }
        insert_version(tx, keyring, secret.id, secret.place(ns, key, meta.version + 1), value, stamp, None)?;
        meta_by_id(tx, secret.id)
    })
}

/// Makes an older version the newest, by re-sealing its value for the new
/// version number. The value never leaves this function.
pub fn restore_version<S: Sql + ?Sized>(
    db: &S,
    keyring: &Keyring,
    ns: &NamespacePath,
    key: &SecretKey,
    version: u32,
    stamp: Stamp<'_>,
) -> Result<SecretMeta> {
    savepoint(db, |tx| {
        lock_secret(tx, ns, key)?;
        let (secret, meta) = find_live_secret(tx, ns, key)?;
        let sealed = sealed_version(tx, secret.id, version)?;
        let value = crate::ssr::store::keyring::open_value(tx, keyring, secret.place(ns, key, version), &sealed)?;
        let next = secret.place(ns, key, meta.version + 1);
        insert_version(tx, keyring, secret.id, next, &value, stamp, Some(version))?;
        meta_by_id(tx, secret.id)
    })
}

pub(super) fn sealed_version<S: Sql + ?Sized>(db: &S, secret_id: i64, version: u32) -> Result<Sealed> {
    let row = db.query_opt(
        "SELECT key_id, nonce, ciphertext FROM secret_versions WHERE secret_id = ?1 AND version = ?2",
        &[secret_id.into(), version.into()],
    )?;
    let row = row.ok_or(StoreError::VersionNotFound)?;
    // All three are NULL once the retention limit destroyed the version.
    match (&row[0], &row[1], &row[2]) {
        (Value::Int(key_id), Value::Blob(nonce), Value::Blob(ciphertext)) => {
            Ok(Sealed { key_id: *key_id, nonce: nonce.to_vec(), ciphertext: ciphertext.to_vec() })
        }
        _ => Err(StoreError::VersionDestroyed(version)),
    }
}

/// Sets (or with `Rotation::None` clears) when a live secret should be rotated.
/// Metadata only: the value and its versions are untouched.
pub fn set_rotation<S: Sql + ?Sized>(
    db: &S,
    ns: &NamespacePath,
    key: &SecretKey,
    rotation: Rotation,
) -> Result<SecretMeta> {
    let (Handle { id, .. }, _) = find_live_secret(db, ns, key)?;
    let (by, days) = match rotation {
        Rotation::None => (None, None),
        Rotation::By(t) => (Some(t.0), None),
        Rotation::EveryDays(n) => (None, Some(n)),
    };
    db.execute(
        "UPDATE secrets SET rotate_by = ?2, rotate_every_days = ?3 WHERE id = ?1",
        &[id.into(), by.into(), days.into()],
    )?;
    meta_by_id(db, id)
}

/// Replaces a live secret's tags.
pub fn set_tags<S: Sql + ?Sized>(db: &S, ns: &NamespacePath, key: &SecretKey, tags: &Tags) -> Result<SecretMeta> {
    let (Handle { id, .. }, _) = find_live_secret(db, ns, key)?;
    db.execute("UPDATE secrets SET tags = ?2 WHERE id = ?1", &[id.into(), tags.to_string().into()])?;
    meta_by_id(db, id)
}

/// Replaces a secret's description (live or deleted).
pub fn set_description<S: Sql + ?Sized>(
    db: &S,
    ns: &NamespacePath,
    key: &SecretKey,
    description: &Description,
) -> Result<SecretMeta> {
    let (Handle { id, .. }, _) = find_secret(db, ns, key)?;
    db.execute("UPDATE secrets SET description = ?2 WHERE id = ?1", &[id.into(), description.as_str().into()])?;
    meta_by_id(db, id)
}

/// Live secrets whose rotation is due within `days` days (0: overdue now),
/// soonest first, across all namespaces (callers keep the ones the user may see).
pub fn due_secrets<S: Sql + ?Sized>(db: &S, days: u32) -> Result<Vec<SecretMeta>> {
    let mut list = Vec::new();
    db.query_each(
        &format!(
            "SELECT {META_COLUMNS} FROM secrets s JOIN namespaces n ON n.id = s.namespace_id
             WHERE s.deleted_at IS NULL AND (s.rotate_by IS NOT NULL OR s.rotate_every_days IS NOT NULL)
               AND {} <= unixepoch() + ?1 * 86400
             ORDER BY {} , n.path, s.key",
            due!(),
            due!()
        ),
        &[days.into()],
        &mut |r| {
            list.push(meta_from(r)?);
            Ok(())
        },
    )?;
    Ok(list)
}

/// Live secrets that existed before `cutoff` and that no workload has read
/// since, by namespace and key, across all namespaces (callers keep the ones
/// the user may see). From the read summary: a few index lookups per secret,
/// however long the trail.
pub fn unused_secrets<S: Sql + ?Sized>(db: &S, cutoff: Timestamp) -> Result<Vec<SecretMeta>> {
    let mut list = Vec::new();
    db.query_each(
        &format!(
            "SELECT {META_COLUMNS} FROM secrets s JOIN namespaces n ON n.id = s.namespace_id
             WHERE s.deleted_at IS NULL AND s.created_at < ?1
               AND NOT EXISTS (SELECT 1 FROM secret_reads r
                               WHERE r.namespace = n.path AND r.key = s.key AND r.last_at >= ?1)
             ORDER BY n.path, s.key"
        ),
        &[cutoff.0.into()],
        &mut |r| {
            list.push(meta_from(r)?);
            Ok(())
        },
    )?;
    Ok(list)
}

/// Soft-deletes a live secret: it stops being visible (and stops shadowing)
/// but keeps every version until restored or purged.
pub fn delete_secret<S: Sql + ?Sized>(
    db: &S,
    ns: &NamespacePath,
    key: &SecretKey,
    stamp: Stamp<'_>,
) -> Result<SecretMeta> {
    savepoint(db, |tx| {
        let (Handle { id, .. }, _) = find_live_secret(tx, ns, key)?;
        // Only a live secret: of two deletes at once, the second finds none.
        let deleted = tx.execute(
            "UPDATE secrets SET deleted_at = ?2, deleted_by = ?3 WHERE id = ?1 AND deleted_at IS NULL",
            &[id.into(), stamp.at.0.into(), stamp.actor.into()],
        )?;
        if deleted == 0 {
            return Err(StoreError::SecretDeleted);
        }
        meta_by_id(tx, id)
    })
}

/// Undoes a soft delete.
pub fn restore_secret<S: Sql + ?Sized>(
    db: &S,
    ns: &NamespacePath,
    key: &SecretKey,
    stamp: Stamp<'_>,
) -> Result<SecretMeta> {
    savepoint(db, |tx| {
        let (Handle { id, .. }, _) = find_secret(tx, ns, key)?;
        let restored = tx.execute(
            "UPDATE secrets SET deleted_at = NULL, deleted_by = NULL, updated_at = ?2, updated_by = ?3
             WHERE id = ?1 AND deleted_at IS NOT NULL",
            &[id.into(), stamp.at.0.into(), stamp.actor.into()],
        )?;
        if restored == 0 {
            return Err(StoreError::SecretNotDeleted);
        }
        meta_by_id(tx, id)
    })
}

/// Removes a soft-deleted secret for good: every version's ciphertext and the
/// secret itself (on SQLite, `secure_delete` overwrites the freed pages).
/// Returns what it was, for the audit trail. Live secrets must be deleted first.
pub fn purge_secret<S: Sql + ?Sized>(db: &S, ns: &NamespacePath, key: &SecretKey) -> Result<SecretMeta> {
    savepoint(db, |tx| {
        lock_secret(tx, ns, key)?;
        let (Handle { id, .. }, meta) = find_secret(tx, ns, key)?;
        if meta.deleted_at.is_none() {
            return Err(StoreError::SecretNotDeleted);
        }
        tx.execute("DELETE FROM secret_versions WHERE secret_id = ?1", &[id.into()])?;
        tx.execute("DELETE FROM secrets WHERE id = ?1", &[id.into()])?;
        Ok(meta)
    })
}

/// Metadata and version history of a secret defined in `ns` (deleted or not).
pub fn secret_detail<S: Sql + ?Sized>(db: &S, ns: &NamespacePath, key: &SecretKey) -> Result<SecretDetail> {
    let (Handle { id, .. }, meta) = find_secret(db, ns, key)?;
    let mut versions = Vec::new();
    db.query_each(
        "SELECT version, created_at, created_by, ciphertext IS NULL, restored_from
         FROM secret_versions WHERE secret_id = ?1 ORDER BY version DESC",
        &[id.into()],
        &mut |r| {
            versions.push(VersionMeta {
                version: r[0].u32()?,
                created_at: Timestamp(r[1].int()?),
                created_by: r[2].text()?.to_owned(),
                destroyed: r[3].bool()?,
                restored_from: r[4].opt_u32()?,
            });
            Ok(())
        },
    )?;
    let shadows = inherited_from(db, ns, key)?;
    Ok(SecretDetail { meta, versions, shadows, retention: retention(db, id)? })
}

/// Where `ns` would inherit `key` from without a definition of its own: the
/// nearest live definition in an ancestor. A definition in `ns` shadows it.
pub fn inherited_from<S: Sql + ?Sized>(db: &S, ns: &NamespacePath, key: &SecretKey) -> Result<Option<NamespacePath>> {
    match ns.parent() {
        Some(parent) => Ok(visible_definitions(db, &parent)?.remove(key).map(|mut d| d.swap_remove(0).namespace)),
        None => Ok(None),
    }
}

/// The namespaces below `ns` that see `ns`'s `key` (none of them, nor a
/// namespace between, defines its own): what deleting it changes, with the
/// definition they would see instead, if any.
pub fn dependents<S: Sql + ?Sized>(
    db: &S,
    ns: &NamespacePath,
    key: &SecretKey,
) -> Result<(Vec<NamespacePath>, Option<NamespacePath>)> {
    let below = |sql: &str| -> Result<Vec<NamespacePath>> {
        let rows = db.query(sql, &[ns.as_str().into(), key.as_str().into()])?;
        Ok(rows.iter().map(|r| r[0].parse()).collect::<Result<Vec<_>, _>>()?)
    };
    // `substr`, not LIKE: `_` in a path is a LIKE wildcard.
    const UNDER: &str = "substr(n.path, 1, length(CAST(?1 AS TEXT)) + 1) = CAST(?1 AS TEXT) || '.'";
    let all = below(&format!(
        "SELECT n.path FROM namespaces n WHERE {UNDER} AND CAST(?2 AS TEXT) IS NOT NULL ORDER BY n.path"
    ))?;
    let own = below(&format!(
        "SELECT n.path FROM namespaces n JOIN secrets s ON s.namespace_id = n.id
         WHERE {UNDER} AND s.key = ?2 AND s.deleted_at IS NULL"
    ))?;
    let sees = all.into_iter().filter(|d| !own.iter().any(|o| d.is_within(o))).collect();
    Ok((sees, inherited_from(db, ns, key)?))
}

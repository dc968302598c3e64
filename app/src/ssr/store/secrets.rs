//! Secrets and their versions: add, rotate, restore, retention, delete and purge.

use super::*;
use crate::domain::{
    view::{Rotation, SecretDetail, SecretMeta, VersionMeta},
    Description, NamespacePath, SecretKey, SecretValue, Tags, Timestamp,
};
use crate::ssr::crypto::{Keyring, Place, Sealed, SecretUid};
use rusqlite::{named_params, params, Connection, OptionalExtension, Row};

pub(super) fn meta_from_row(row: &Row<'_>) -> rusqlite::Result<SecretMeta> {
    meta_from_row_at(row, 0)
}

/// The row id and metadata of `(ns, key)`, deleted or not.
pub(super) fn find_secret(conn: &Connection, ns: &NamespacePath, key: &SecretKey) -> Result<(Handle, SecretMeta)> {
    let ns_id = namespace_id(conn, ns)?;
    conn.query_row(
        &format!(
            "SELECT s.id, s.uid, {META_COLUMNS} FROM secrets s JOIN namespaces n ON n.id = s.namespace_id
             WHERE s.namespace_id = ?1 AND s.key = ?2"
        ),
        params![ns_id, key.as_str()],
        |r| Ok((Handle { id: r.get(0)?, uid: uid_at(r, 1)? }, meta_from_row_at(r, 2)?)),
    )
    .optional()?
    .ok_or(StoreError::SecretNotFound)
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
pub(super) fn meta_from_row_at(row: &Row<'_>, offset: usize) -> rusqlite::Result<SecretMeta> {
    Ok(SecretMeta {
        namespace: parsed(row, offset)?,
        key: parsed(row, offset + 1)?,
        description: row.get(offset + 2)?,
        version: row.get(offset + 3)?,
        created_at: Timestamp(row.get(offset + 4)?),
        created_by: row.get(offset + 5)?,
        updated_at: Timestamp(row.get(offset + 6)?),
        updated_by: row.get(offset + 7)?,
        deleted_at: row.get::<_, Option<i64>>(offset + 8)?.map(Timestamp),
        deleted_by: row.get(offset + 9)?,
        value_since: Timestamp(row.get(offset + 10)?),
        rotation: match (row.get::<_, Option<i64>>(offset + 11)?, row.get::<_, Option<u32>>(offset + 12)?) {
            (Some(by), _) => Rotation::By(Timestamp(by)),
            (None, Some(days)) => Rotation::EveryDays(days),
            (None, None) => Rotation::None,
        },
        due: row.get::<_, Option<i64>>(offset + 13)?.map(Timestamp),
        overdue: row.get::<_, Option<bool>>(offset + 14)?.unwrap_or(false),
        tags: parsed(row, offset + 15)?,
    })
}

/// Like [`find_secret`], but a deleted secret counts as absent for writes.
pub(super) fn find_live_secret(conn: &Connection, ns: &NamespacePath, key: &SecretKey) -> Result<(Handle, SecretMeta)> {
    let (handle, meta) = find_secret(conn, ns, key)?;
    if meta.deleted_at.is_some() {
        return Err(StoreError::SecretDeleted);
    }
    Ok((handle, meta))
}

/// Seals `value` as version `place.version` of `secret_id`, then destroys the
/// ciphertexts that fall out of the retention window.
pub(super) fn insert_version(
    tx: &Connection,
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
    tx.execute(
        "INSERT INTO secret_versions (secret_id, version, key_id, nonce, ciphertext, created_at, created_by, restored_from)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![secret_id, place.version, sealed.key_id, sealed.nonce, sealed.ciphertext, stamp.at.0, stamp.actor, restored_from],
    )?;
    tx.execute(
        "UPDATE secrets SET version = ?2, updated_at = ?3, updated_by = ?4 WHERE id = ?1",
        params![secret_id, place.version, stamp.at.0, stamp.actor],
    )?;
    destroy_past_retention(tx, Some(secret_id))?;
    Ok(())
}

/// Destroys (overwrites, with `secure_delete`) the ciphertexts of versions
/// past each secret's retention: of one secret, or of all. Returns how many.
pub(super) fn destroy_past_retention(tx: &Connection, secret_id: Option<i64>) -> Result<usize> {
    macro_rules! destroy {
        ($which:literal) => {
            concat!(
                "UPDATE secret_versions SET key_id = NULL, nonce = NULL, ciphertext = NULL
                 WHERE ciphertext IS NOT NULL AND ",
                $which,
                " AND version <= (SELECT s.version - COALESCE(s.keep_versions, ",
                default_keep!(),
                ") FROM secrets s WHERE s.id = secret_versions.secret_id)"
            )
        };
    }
    // Two statements: `?1 IS NULL OR secret_id = ?1` would scan every version on every write.
    Ok(match secret_id {
        Some(id) => tx.prepare_cached(destroy!("secret_id = ?1"))?.execute([id])?,
        None => tx.prepare_cached(destroy!("1"))?.execute([])?,
    })
}

/// Records the default number of versions kept (`STRONGROOM_KEEP_VERSIONS`)
/// when it changed, destroys what falls outside it now, and says so in the
/// trail. Returns the versions destroyed, or `None` when nothing changed
/// (then nothing is written: a server on a full disk still starts).
pub fn set_default_retention(
    conn: &mut Connection,
    chain: &crate::ssr::audit::AuditKey,
    keep: u32,
    now: Timestamp,
) -> Result<Option<usize>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let before: u32 = tx.query_row(concat!("SELECT ", default_keep!()), [], |r| r.get(0))?;
    let recorded: bool =
        tx.query_row("SELECT EXISTS (SELECT 1 FROM meta WHERE name = 'keep_versions')", [], |r| r.get(0))?;
    if recorded && before == keep {
        return Ok(None);
    }
    tx.execute(
        "INSERT INTO meta (name, value) VALUES ('keep_versions', ?1) ON CONFLICT (name) DO UPDATE SET value = ?1",
        [keep.to_string().into_bytes()],
    )?;
    let destroyed = destroy_past_retention(&tx, None)?;
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
    crate::ssr::audit::append(&tx, chain, entry)?;
    tx.commit()?;
    Ok(Some(destroyed))
}

/// Sets how many versions one secret keeps (`None`: the default) and
/// destroys what falls outside it now.
pub fn set_retention(
    conn: &mut Connection,
    ns: &NamespacePath,
    key: &SecretKey,
    keep: Option<u32>,
) -> Result<SecretMeta> {
    let tx = conn.savepoint()?;
    let (Handle { id, .. }, _) = find_live_secret(&tx, ns, key)?;
    tx.execute("UPDATE secrets SET keep_versions = ?2 WHERE id = ?1", params![id, keep])?;
    destroy_past_retention(&tx, Some(id))?;
    let meta = meta_by_id(&tx, id)?;
    tx.commit()?;
    Ok(meta)
}

pub(super) fn retention(conn: &Connection, secret_id: i64) -> Result<crate::domain::view::Retention> {
    Ok(conn.query_row(
        concat!("SELECT keep_versions, ", default_keep!(), " FROM secrets WHERE id = ?1"),
        [secret_id],
        |r| Ok(crate::domain::view::Retention { own: r.get(0)?, default: r.get(1)? }),
    )?)
}

pub(super) fn meta_by_id(conn: &Connection, secret_id: i64) -> Result<SecretMeta> {
    Ok(conn.query_row(
        &format!("SELECT {META_COLUMNS} FROM secrets s JOIN namespaces n ON n.id = s.namespace_id WHERE s.id = ?1"),
        [secret_id],
        meta_from_row,
    )?)
}

/// Adds a new secret as version 1. Refuses a key that already exists here
/// (live or deleted): the caller should rotate or restore instead.
pub fn add_secret(
    conn: &mut Connection,
    keyring: &Keyring,
    ns: &NamespacePath,
    key: &SecretKey,
    value: &SecretValue,
    description: &Description,
    stamp: Stamp<'_>,
) -> Result<SecretMeta> {
    let tx = conn.savepoint()?;
    let ns_id = namespace_id(&tx, ns)?;
    match find_secret(&tx, ns, key) {
        Ok((_, meta)) if meta.deleted_at.is_some() => return Err(StoreError::SecretDeleted),
        Ok(_) => return Err(StoreError::SecretExists),
        Err(StoreError::SecretNotFound) => {}
        Err(e) => return Err(e),
    }
    let uid = SecretUid::generate()?;
    tx.execute(
        "INSERT INTO secrets (namespace_id, key, uid, description, version, created_at, created_by, updated_at, updated_by)
         VALUES (:ns, :key, :uid, :description, 1, :at, :actor, :at, :actor)",
        named_params! {":ns": ns_id, ":key": key.as_str(), ":uid": uid.0, ":description": description.as_str(), ":at": stamp.at.0, ":actor": stamp.actor},
    )?;
    let handle = Handle { id: tx.last_insert_rowid(), uid: Some(uid) };
    insert_version(&tx, keyring, handle.id, handle.place(ns, key, 1), value, stamp, None)?;
    let meta = meta_by_id(&tx, handle.id)?;
    tx.commit()?;
    Ok(meta)
}

/// Stores `value` as the next version of a live secret. With `expected`
/// (the version the writer was shown), refuses if another was stored since:
/// nobody overwrites someone else's rotation unknowingly.
pub fn rotate_secret(
    conn: &mut Connection,
    keyring: &Keyring,
    ns: &NamespacePath,
    key: &SecretKey,
    value: &SecretValue,
    expected: Option<u32>,
    stamp: Stamp<'_>,
) -> Result<SecretMeta> {
    let tx = conn.savepoint()?;
    let (secret, meta) = find_live_secret(&tx, ns, key)?;
    if let Some(expected) = expected.filter(|&e| e != meta.version) {
        let (by, at) = tx.query_row(
            "SELECT created_by, created_at FROM secret_versions WHERE secret_id = ?1 AND version = ?2",
            params![secret.id, meta.version],
            |r| Ok((r.get(0)?, Timestamp(r.get(1)?))),
        )?;
        return Err(StoreError::Stale { expected, version: meta.version, by, at });
    }
    insert_version(&tx, keyring, secret.id, secret.place(ns, key, meta.version + 1), value, stamp, None)?;
    let meta = meta_by_id(&tx, secret.id)?;
    tx.commit()?;
    Ok(meta)
}

/// Makes an older version the newest, by re-sealing its value for the new
/// version number. The value never leaves this function.
pub fn restore_version(
    conn: &mut Connection,
    keyring: &Keyring,
    ns: &NamespacePath,
    key: &SecretKey,
    version: u32,
    stamp: Stamp<'_>,
) -> Result<SecretMeta> {
    let tx = conn.savepoint()?;
    let (secret, meta) = find_live_secret(&tx, ns, key)?;
    let sealed = sealed_version(&tx, secret.id, version)?;
    let value = crate::ssr::store::keyring::open_value(&tx, keyring, secret.place(ns, key, version), &sealed)?;
    insert_version(&tx, keyring, secret.id, secret.place(ns, key, meta.version + 1), &value, stamp, Some(version))?;
    let meta = meta_by_id(&tx, secret.id)?;
    tx.commit()?;
    Ok(meta)
}

pub(super) fn sealed_version(conn: &Connection, secret_id: i64, version: u32) -> Result<Sealed> {
    // All three are NULL once the retention limit destroyed the version.
    type SealedColumns = (Option<i64>, Option<Vec<u8>>, Option<Vec<u8>>);
    let row: Option<SealedColumns> = conn
        .query_row(
            "SELECT key_id, nonce, ciphertext FROM secret_versions WHERE secret_id = ?1 AND version = ?2",
            params![secret_id, version],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    match row {
        None => Err(StoreError::VersionNotFound),
        Some((Some(key_id), Some(nonce), Some(ciphertext))) => Ok(Sealed { key_id, nonce, ciphertext }),
        Some(_) => Err(StoreError::VersionDestroyed(version)),
    }
}

/// Sets (or with `Rotation::None` clears) when a live secret should be rotated.
/// Metadata only: the value and its versions are untouched.
pub fn set_rotation(conn: &Connection, ns: &NamespacePath, key: &SecretKey, rotation: Rotation) -> Result<SecretMeta> {
    let (Handle { id, .. }, _) = find_live_secret(conn, ns, key)?;
    let (by, days) = match rotation {
        Rotation::None => (None, None),
        Rotation::By(t) => (Some(t.0), None),
        Rotation::EveryDays(n) => (None, Some(n)),
    };
    conn.execute("UPDATE secrets SET rotate_by = ?2, rotate_every_days = ?3 WHERE id = ?1", params![id, by, days])?;
    meta_by_id(conn, id)
}

/// Replaces a live secret's tags.
pub fn set_tags(conn: &Connection, ns: &NamespacePath, key: &SecretKey, tags: &Tags) -> Result<SecretMeta> {
    let (Handle { id, .. }, _) = find_live_secret(conn, ns, key)?;
    conn.execute("UPDATE secrets SET tags = ?2 WHERE id = ?1", params![id, tags.to_string()])?;
    meta_by_id(conn, id)
}

/// Replaces a secret's description (live or deleted).
pub fn set_description(
    conn: &Connection,
    ns: &NamespacePath,
    key: &SecretKey,
    description: &Description,
) -> Result<SecretMeta> {
    let (Handle { id, .. }, _) = find_secret(conn, ns, key)?;
    conn.execute("UPDATE secrets SET description = ?2 WHERE id = ?1", params![id, description.as_str()])?;
    meta_by_id(conn, id)
}

/// Live secrets whose rotation is due within `days` days (0: overdue now),
/// soonest first, across all namespaces (callers keep the ones the user may see).
pub fn due_secrets(conn: &Connection, days: u32) -> Result<Vec<SecretMeta>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {META_COLUMNS} FROM secrets s JOIN namespaces n ON n.id = s.namespace_id
         WHERE s.deleted_at IS NULL AND (s.rotate_by IS NOT NULL OR s.rotate_every_days IS NOT NULL)
           AND {} <= unixepoch() + ?1 * 86400
         ORDER BY {} , n.path, s.key",
        due!(),
        due!()
    ))?;
    let list = stmt.query_map([days], meta_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(list)
}

/// Soft-deletes a live secret: it stops being visible (and stops shadowing)
/// but keeps every version until restored or purged.
pub fn delete_secret(
    conn: &mut Connection,
    ns: &NamespacePath,
    key: &SecretKey,
    stamp: Stamp<'_>,
) -> Result<SecretMeta> {
    let tx = conn.savepoint()?;
    let (Handle { id, .. }, _) = find_live_secret(&tx, ns, key)?;
    tx.execute(
        "UPDATE secrets SET deleted_at = ?2, deleted_by = ?3 WHERE id = ?1",
        params![id, stamp.at.0, stamp.actor],
    )?;
    let meta = meta_by_id(&tx, id)?;
    tx.commit()?;
    Ok(meta)
}

/// Undoes a soft delete.
pub fn restore_secret(
    conn: &mut Connection,
    ns: &NamespacePath,
    key: &SecretKey,
    stamp: Stamp<'_>,
) -> Result<SecretMeta> {
    let tx = conn.savepoint()?;
    let (Handle { id, .. }, meta) = find_secret(&tx, ns, key)?;
    if meta.deleted_at.is_none() {
        return Err(StoreError::SecretNotDeleted);
    }
    tx.execute(
        "UPDATE secrets SET deleted_at = NULL, deleted_by = NULL, updated_at = ?2, updated_by = ?3 WHERE id = ?1",
        params![id, stamp.at.0, stamp.actor],
    )?;
    let meta = meta_by_id(&tx, id)?;
    tx.commit()?;
    Ok(meta)
}

/// Removes a soft-deleted secret for good: every version's ciphertext and the
/// secret itself (`secure_delete` overwrites the freed pages). Returns what it
/// was, for the audit trail. Live secrets must be deleted first.
pub fn purge_secret(conn: &mut Connection, ns: &NamespacePath, key: &SecretKey) -> Result<SecretMeta> {
    let tx = conn.savepoint()?;
    let (Handle { id, .. }, meta) = find_secret(&tx, ns, key)?;
    if meta.deleted_at.is_none() {
        return Err(StoreError::SecretNotDeleted);
    }
    tx.execute("DELETE FROM secret_versions WHERE secret_id = ?1", [id])?;
    tx.execute("DELETE FROM secrets WHERE id = ?1", [id])?;
    tx.commit()?;
    Ok(meta)
}

/// Metadata and version history of a secret defined in `ns` (deleted or not).
pub fn secret_detail(conn: &Connection, ns: &NamespacePath, key: &SecretKey) -> Result<SecretDetail> {
    let (Handle { id, .. }, meta) = find_secret(conn, ns, key)?;
    let mut stmt = conn.prepare(
        "SELECT version, created_at, created_by, ciphertext IS NULL, restored_from
         FROM secret_versions WHERE secret_id = ?1 ORDER BY version DESC",
    )?;
    let versions = stmt
        .query_map([id], |r| {
            Ok(VersionMeta {
                version: r.get(0)?,
                created_at: Timestamp(r.get(1)?),
                created_by: r.get(2)?,
                destroyed: r.get(3)?,
                restored_from: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let shadows = inherited_from(conn, ns, key)?;
    Ok(SecretDetail { meta, versions, shadows, retention: retention(conn, id)? })
}

/// Where `ns` would inherit `key` from without a definition of its own: the
/// nearest live definition in an ancestor. A definition in `ns` shadows it.
pub fn inherited_from(conn: &Connection, ns: &NamespacePath, key: &SecretKey) -> Result<Option<NamespacePath>> {
    match ns.parent() {
        Some(parent) => Ok(visible_definitions(conn, &parent)?.remove(key).map(|mut d| d.swap_remove(0).namespace)),
        None => Ok(None),
    }
}

/// The namespaces below `ns` that see `ns`'s `key` (none of them, nor a
/// namespace between, defines its own): what deleting it changes, with the
/// definition they would see instead, if any.
pub fn dependents(
    conn: &Connection,
    ns: &NamespacePath,
    key: &SecretKey,
) -> Result<(Vec<NamespacePath>, Option<NamespacePath>)> {
    let below = |sql: &str| -> Result<Vec<NamespacePath>> {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt.query_map(params![ns.as_str(), key.as_str()], |r| parsed::<NamespacePath>(r, 0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    };
    // `substr`, not LIKE: `_` in a path is a LIKE wildcard.
    const UNDER: &str = "substr(n.path, 1, length(?1) + 1) = ?1 || '.'";
    let all = below(&format!("SELECT n.path FROM namespaces n WHERE {UNDER} AND ?2 = ?2 ORDER BY n.path"))?;
    let own = below(&format!(
        "SELECT n.path FROM namespaces n JOIN secrets s ON s.namespace_id = n.id
         WHERE {UNDER} AND s.key = ?2 AND s.deleted_at IS NULL"
    ))?;
    let sees = all.into_iter().filter(|d| !own.iter().any(|o| d.is_within(o))).collect();
    Ok((sees, inherited_from(conn, ns, key)?))
}

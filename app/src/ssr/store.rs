//! Namespaces and secrets in SQLite. Free of Leptos: each function takes a
//! connection and domain types and returns `Result<_, StoreError>`, so it is
//! tested directly on a real file. Every write runs in one transaction.
//!
//! Values enter as [`SecretValue`] and are sealed (see `crypto`) before they touch
//! a statement; reads for the UI return metadata types with no value field.

use super::crypto::{CryptoError, Keyring, Place, Sealed, SecretUid};
use crate::domain::{
    view::{
        EffectiveSecret, NamespaceSummary, NamespaceView, Rotation, SearchResults, SecretDetail, SecretMeta,
        VersionMeta, Window,
    },
    Description, NamespacePath, SecretKey, SecretValue, Tags, Timestamp,
};
use rusqlite::{named_params, params, params_from_iter, Connection, OptionalExtension, Row};
use std::collections::BTreeMap;

/// Versions whose ciphertext is kept unless configured otherwise; older ones
/// keep only their metadata.
pub const RETAINED_VERSIONS: u32 = 10;

/// The default retention as SQL: what `set_default_retention` recorded, else
/// [`RETAINED_VERSIONS`] (a literal here: `concat!` takes no constants).
macro_rules! default_keep {
    () => {
        "COALESCE((SELECT CAST(CAST(value AS TEXT) AS INTEGER) FROM meta WHERE name = 'keep_versions'), 10)"
    };
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("namespace not found")]
    NamespaceNotFound,
    #[error("namespace already exists")]
    NamespaceExists,
    #[error("namespace is not empty: {secrets} secrets, {children} child namespaces")]
    NamespaceNotEmpty { secrets: i64, children: i64 },
    #[error("secret not found")]
    SecretNotFound,
    #[error("secret already exists")]
    SecretExists,
    #[error("secret is deleted")]
    SecretDeleted,
    #[error("secret is not deleted")]
    SecretNotDeleted,
    #[error("version not found")]
    VersionNotFound,
    #[error("version {0} was destroyed by the retention limit")]
    VersionDestroyed(u32),
    /// Someone stored another version since the writer was shown `expected`.
    #[error("{by} rotated it to version {version} at {at}")]
    Stale { expected: u32, version: u32, by: String, at: Timestamp },
    #[error("the database has data keys but no key check; refusing to guess")]
    MissingKeyCheck,
    #[error("the database has a key check but no base key (meta.base_key); refusing to guess")]
    MissingBaseKey,
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Rows(#[from] super::rows::RowError),
}

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Who performs a write and when; recorded in the metadata.
#[derive(Clone, Copy, Debug)]
pub struct Stamp<'a> {
    pub actor: &'a str,
    pub at: Timestamp,
}

// ---------------------------------------------------------------- namespaces

fn namespace_id(conn: &Connection, ns: &NamespacePath) -> Result<i64> {
    conn.prepare_cached("SELECT id FROM namespaces WHERE path = ?1")?
        .query_row([ns.as_str()], |r| r.get(0))
        .optional()?
        .ok_or(StoreError::NamespaceNotFound)
}

/// Whether `ns` exists.
pub fn namespace_exists(conn: &Connection, ns: &NamespacePath) -> Result<bool> {
    match namespace_id(conn, ns) {
        Ok(_) => Ok(true),
        Err(StoreError::NamespaceNotFound) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Changes a namespace's description.
pub fn describe_namespace(
    conn: &mut Connection,
    ns: &NamespacePath,
    description: &Description,
) -> Result<NamespaceSummary> {
    let tx = conn.savepoint()?;
    let id = namespace_id(&tx, ns)?;
    tx.execute("UPDATE namespaces SET description = ?2 WHERE id = ?1", params![id, description.as_str()])?;
    let secret_count: u32 =
        tx.query_row("SELECT count(*) FROM secrets WHERE namespace_id = ?1 AND deleted_at IS NULL", [id], |r| {
            r.get(0)
        })?;
    tx.commit()?;
    Ok(NamespaceSummary { path: ns.clone(), description: description.to_string(), secret_count })
}

/// Deletes a namespace that holds no secret (deleted ones count until purged:
/// their history is kept) and has no child namespace.
pub fn delete_namespace(conn: &mut Connection, ns: &NamespacePath) -> Result<NamespaceSummary> {
    let tx = conn.savepoint()?;
    let id = namespace_id(&tx, ns)?;
    let count = |sql: &str| tx.query_row(sql, [id], |r| r.get::<_, i64>(0));
    let secrets = count("SELECT count(*) FROM secrets WHERE namespace_id = ?1")?;
    let children = count("SELECT count(*) FROM namespaces WHERE parent_id = ?1")?;
    if secrets > 0 || children > 0 {
        return Err(StoreError::NamespaceNotEmpty { secrets, children });
    }
    let description: String = tx.query_row("SELECT description FROM namespaces WHERE id = ?1", [id], |r| r.get(0))?;
    tx.execute("DELETE FROM namespaces WHERE id = ?1", [id])?;
    tx.commit()?;
    Ok(NamespaceSummary { path: ns.clone(), description, secret_count: 0 })
}

/// The ancestors of `ns` that do not exist yet, outermost first (creating
/// `ns` would create them too).
pub fn missing_ancestors(conn: &Connection, ns: &NamespacePath) -> Result<Vec<NamespacePath>> {
    let mut missing = Vec::new();
    for path in ns.self_and_ancestors().into_iter().rev().filter(|p| p != ns) {
        if namespace_id(conn, &path).is_err() {
            missing.push(path);
        }
    }
    Ok(missing)
}

/// Creates `ns` and any missing ancestors (with empty descriptions).
pub fn create_namespace(
    conn: &mut Connection,
    ns: &NamespacePath,
    description: &Description,
    stamp: Stamp<'_>,
) -> Result<NamespaceSummary> {
    let tx = conn.savepoint()?;
    if namespace_id(&tx, ns).is_ok() {
        return Err(StoreError::NamespaceExists);
    }
    let mut parent_id: Option<i64> = None;
    for path in ns.self_and_ancestors().iter().rev() {
        let existing = namespace_id(&tx, path).ok();
        parent_id = Some(match existing {
            Some(id) => id,
            None => {
                let text = if path == ns { description.as_str() } else { "" };
                tx.execute(
                    "INSERT INTO namespaces (path, parent_id, description, created_at, created_by)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![path.as_str(), parent_id, text, stamp.at.0, stamp.actor],
                )?;
                tx.last_insert_rowid()
            }
        });
    }
    tx.commit()?;
    Ok(NamespaceSummary { path: ns.clone(), description: description.to_string(), secret_count: 0 })
}

const SUMMARY_SQL: &str = "SELECT n.path, n.description,
    (SELECT count(*) FROM secrets s WHERE s.namespace_id = n.id AND s.deleted_at IS NULL)
    FROM namespaces n";

fn summary_from_row(row: &Row<'_>) -> rusqlite::Result<NamespaceSummary> {
    Ok(NamespaceSummary { path: parsed(row, 0)?, description: row.get(1)?, secret_count: row.get(2)? })
}

/// Orders a flat list as a tree: each namespace right after its parent.
fn tree_order(list: &mut [NamespaceSummary]) {
    list.sort_by(|a, b| a.path.tree_cmp(&b.path));
}

/// Every namespace in tree order, with its own live secret count.
pub fn list_namespaces(conn: &Connection) -> Result<Vec<NamespaceSummary>> {
    let mut stmt = conn.prepare(SUMMARY_SQL)?;
    let mut list = stmt.query_map([], summary_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    tree_order(&mut list);
    Ok(list)
}

/// Namespaces and live secrets whose name contains `text` (ignoring ASCII
/// case), in name order; callers keep what the user may see.
pub fn search(conn: &Connection, text: &str) -> Result<SearchResults> {
    let text = text.to_ascii_lowercase();
    let mut stmt = conn.prepare_cached("SELECT path FROM namespaces WHERE instr(lower(path), ?1) > 0 ORDER BY path")?;
    let namespaces = stmt.query_map([&text], |r| parsed(r, 0))?.collect::<rusqlite::Result<Vec<_>>>()?;
    let mut stmt = conn.prepare_cached(
        "SELECT n.path, s.key FROM secrets s JOIN namespaces n ON n.id = s.namespace_id
         WHERE s.deleted_at IS NULL AND instr(lower(s.key), ?1) > 0 ORDER BY s.key, n.path",
    )?;
    let secrets =
        stmt.query_map([&text], |r| Ok((parsed(r, 0)?, parsed(r, 1)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(SearchResults { namespaces, secrets, truncated: false })
}

fn listing_from_row(row: &Row<'_>) -> rusqlite::Result<SecretMeta> {
    Ok(SecretMeta {
        description: row.get(2)?,
        tags: parsed(row, 3)?,
        overdue: row.get::<_, Option<bool>>(4)?.unwrap_or(false),
        ..SecretMeta::named(parsed(row, 0)?, parsed(row, 1)?)
    })
}

/// The effective secrets of `ns` (own and inherited), its deleted ones and
/// children. The effective secrets carry only their namespace, key,
/// description, tags and whether they are overdue: [`fill_metas`] reads the
/// rest for the page shown.
pub fn namespace_listing(conn: &Connection, ns: &NamespacePath) -> Result<NamespaceView> {
    let id = namespace_id(conn, ns)?;
    let namespace = conn.query_row(&format!("{SUMMARY_SQL} WHERE n.id = ?1"), [id], summary_from_row)?;
    let mut stmt = conn.prepare(&format!("{SUMMARY_SQL} WHERE n.parent_id = ?1"))?;
    let mut children = stmt.query_map([id], summary_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    tree_order(&mut children);
    let mut stmt = conn.prepare(&format!(
        "SELECT {META_COLUMNS} FROM secrets s JOIN namespaces n ON n.id = s.namespace_id
         WHERE s.namespace_id = ?1 AND s.deleted_at IS NOT NULL ORDER BY s.key"
    ))?;
    let deleted = stmt.query_map([id], meta_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    let effective = effective_secrets(conn, ns, LISTING_COLUMNS, listing_from_row)?;
    Ok(NamespaceView { namespace, window: Window::whole(effective.len()), effective, deleted, children })
}

/// Reads the whole metadata of each of `secrets` (from [`namespace_listing`]).
pub fn fill_metas(conn: &Connection, secrets: &mut [EffectiveSecret]) -> Result<()> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {META_COLUMNS} FROM secrets s JOIN namespaces n ON n.id = s.namespace_id
         WHERE n.path = ?1 AND s.key = ?2"
    ))?;
    for secret in secrets {
        let params = params![secret.meta.namespace.as_str(), secret.meta.key.as_str()];
        secret.meta = stmt.query_row(params, meta_from_row)?;
    }
    Ok(())
}

type FromRow = fn(&Row<'_>) -> rusqlite::Result<SecretMeta>;

/// Live definitions visible from `ns`, nearest first per key.
fn visible_definitions(conn: &Connection, ns: &NamespacePath) -> Result<BTreeMap<SecretKey, Vec<SecretMeta>>> {
    visible_definitions_with(conn, ns, META_COLUMNS, meta_from_row)
}

fn visible_definitions_with(
    conn: &Connection,
    ns: &NamespacePath,
    columns: &str,
    from_row: FromRow,
) -> Result<BTreeMap<SecretKey, Vec<SecretMeta>>> {
    let paths: Vec<String> = ns.self_and_ancestors().into_iter().map(String::from).collect();
    let marks = vec!["?"; paths.len()].join(",");
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {columns} FROM secrets s JOIN namespaces n ON n.id = s.namespace_id
         WHERE s.deleted_at IS NULL AND n.path IN ({marks})"
    ))?;
    let mut by_key: BTreeMap<SecretKey, Vec<SecretMeta>> = BTreeMap::new();
    for meta in stmt.query_map(params_from_iter(paths.iter()), from_row)? {
        let meta = meta?;
        by_key.entry(meta.key.clone()).or_default().push(meta);
    }
    for defs in by_key.values_mut() {
        defs.sort_by_key(|m| std::cmp::Reverse(m.namespace.depth()));
    }
    Ok(by_key)
}

fn effective_secrets(
    conn: &Connection,
    ns: &NamespacePath,
    columns: &str,
    from_row: FromRow,
) -> Result<Vec<EffectiveSecret>> {
    Ok(visible_definitions_with(conn, ns, columns, from_row)?
        .into_values()
        .map(|mut defs| {
            let shadows = defs.get(1).map(|m| m.namespace.clone());
            let meta = defs.swap_remove(0);
            EffectiveSecret { own: &meta.namespace == ns, meta, shadows, can_open: true }
        })
        .collect())
}

// ---------------------------------------------------------------- secrets

/// The current value's creation time, and when the rotation policy wants the
/// next one.
macro_rules! value_since {
    () => {
        "(SELECT v.created_at FROM secret_versions v WHERE v.secret_id = s.id AND v.version = s.version)"
    };
}
// A CASE, not COALESCE: the version lookup runs only for secrets with an
// every-N-days policy (listing 1,000 secrets, it was two lookups each).
macro_rules! due {
    () => {
        concat!(
            "CASE WHEN s.rotate_by IS NOT NULL THEN s.rotate_by WHEN s.rotate_every_days IS NOT NULL THEN ",
            value_since!(),
            " + s.rotate_every_days * 86400 END"
        )
    };
}

const META_COLUMNS: &str = concat!(
    "n.path, s.key, s.description, s.version, s.created_at, s.created_by,
    s.updated_at, s.updated_by, s.deleted_at, s.deleted_by, ",
    value_since!(),
    ", s.rotate_by, s.rotate_every_days, ",
    due!(),
    ", ",
    due!(),
    " <= unixepoch(), s.tags"
);

/// What listing, filtering and paging a namespace's secrets needs; the rest of
/// the metadata is read for the page shown only ([`fill_metas`]): at 1,000
/// secrets, reading all of it for every row cost most of the page's time.
const LISTING_COLUMNS: &str = concat!("n.path, s.key, s.description, s.tags, ", due!(), " <= unixepoch()");

/// Reads a column that holds a domain type; a stored value that no longer
/// parses is reported as a conversion failure, not trusted.
pub(super) fn parsed<T>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T>
where
    T: std::str::FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text: String = row.get(idx)?;
    text.parse().map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e)))
}

fn meta_from_row(row: &Row<'_>) -> rusqlite::Result<SecretMeta> {
    meta_from_row_at(row, 0)
}

/// The row id and metadata of `(ns, key)`, deleted or not.
fn find_secret(conn: &Connection, ns: &NamespacePath, key: &SecretKey) -> Result<(Handle, SecretMeta)> {
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
struct Handle {
    id: i64,
    uid: Option<SecretUid>,
}

impl Handle {
    fn place<'a>(&self, namespace: &'a NamespacePath, key: &'a SecretKey, version: u32) -> Place<'a> {
        Place { namespace, key, version, uid: self.uid }
    }
}

/// A `secrets.uid` column: NULL for secrets made before format 2.
pub(super) fn uid_at(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<SecretUid>> {
    match row.get_ref(index)?.as_blob_or_null()? {
        None => Ok(None),
        Some(bytes) => SecretUid::from_slice(bytes)
            .map(Some)
            .ok_or_else(|| rusqlite::Error::InvalidColumnType(index, "uid".into(), rusqlite::types::Type::Blob)),
    }
}

/// Reads [`META_COLUMNS`] starting at column `offset`.
fn meta_from_row_at(row: &Row<'_>, offset: usize) -> rusqlite::Result<SecretMeta> {
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
fn find_live_secret(conn: &Connection, ns: &NamespacePath, key: &SecretKey) -> Result<(Handle, SecretMeta)> {
    let (handle, meta) = find_secret(conn, ns, key)?;
    if meta.deleted_at.is_some() {
        return Err(StoreError::SecretDeleted);
    }
    Ok((handle, meta))
}

/// Seals `value` as version `place.version` of `secret_id`, then destroys the
/// ciphertexts that fall out of the retention window.
fn insert_version(
    tx: &Connection,
    keyring: &Keyring,
    secret_id: i64,
    place: Place<'_>,
    value: &SecretValue,
    stamp: Stamp<'_>,
    restored_from: Option<u32>,
) -> Result<()> {
    // Another process may have made a newer data key (`keyring rotate`).
    super::keys::refresh(tx, keyring)?;
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
fn destroy_past_retention(tx: &Connection, secret_id: Option<i64>) -> Result<usize> {
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
    chain: &super::audit::AuditKey,
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
    let entry = super::audit::NewEntry {
        at: now,
        actor: "(server start)".into(),
        action: crate::domain::audit::Action::SecretRetention.as_str(),
        namespace: String::new(),
        key: String::new(),
        version: None,
        client: "local".into(),
        outcome: format!("ok: by default {keep} versions kept (was {before}); {destroyed} older values destroyed"),
    };
    super::audit::append(&tx, chain, entry)?;
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

fn retention(conn: &Connection, secret_id: i64) -> Result<crate::domain::view::Retention> {
    Ok(conn.query_row(
        concat!("SELECT keep_versions, ", default_keep!(), " FROM secrets WHERE id = ?1"),
        [secret_id],
        |r| Ok(crate::domain::view::Retention { own: r.get(0)?, default: r.get(1)? }),
    )?)
}

fn meta_by_id(conn: &Connection, secret_id: i64) -> Result<SecretMeta> {
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
    let value = super::keys::open_value(&tx, keyring, secret.place(ns, key, version), &sealed)?;
    insert_version(&tx, keyring, secret.id, secret.place(ns, key, meta.version + 1), &value, stamp, Some(version))?;
    let meta = meta_by_id(&tx, secret.id)?;
    tx.commit()?;
    Ok(meta)
}

fn sealed_version(conn: &Connection, secret_id: i64, version: u32) -> Result<Sealed> {
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

/// A value on its way to a workload: where it is defined, its version, and
/// the value. Holds no other metadata: workload reads take the short path.
pub struct Resolved {
    pub defined_in: NamespacePath,
    pub key: SecretKey,
    pub version: u32,
    /// When this version was stored.
    pub value_since: Timestamp,
    pub value: SecretValue,
}

/// The current version of each live secret defined along `ns`'s ancestry
/// (optionally one key), with its sealed value, in one query.
const CURRENT_SQL: &str = "SELECT n.path, s.key, s.version, v.created_at, v.key_id, v.nonce, v.ciphertext, s.uid
     FROM secrets s JOIN namespaces n ON n.id = s.namespace_id
     JOIN secret_versions v ON v.secret_id = s.id AND v.version = s.version
     WHERE s.deleted_at IS NULL AND n.path IN";

/// The nearest definition per key of what `ns` sees, decrypted, sorted by key.
fn resolve(conn: &Connection, keyring: &Keyring, ns: &NamespacePath, key: Option<&SecretKey>) -> Result<Vec<Resolved>> {
    namespace_id(conn, ns)?;
    let paths: Vec<String> = ns.self_and_ancestors().into_iter().map(String::from).collect();
    let marks = vec!["?"; paths.len()].join(",");
    let filter = if key.is_some() { format!(" AND s.key = ?{}", paths.len() + 1) } else { String::new() };
    let mut stmt = conn.prepare_cached(&format!("{CURRENT_SQL} ({marks}){filter}"))?;
    let mut args: Vec<&str> = paths.iter().map(String::as_str).collect();
    args.extend(key.map(SecretKey::as_str));
    type Current =
        (NamespacePath, SecretKey, u32, i64, Option<i64>, Option<Vec<u8>>, Option<Vec<u8>>, Option<SecretUid>);
    let mut nearest: BTreeMap<SecretKey, Current> = BTreeMap::new();
    let rows = stmt.query_map(params_from_iter(args), |r| {
        Ok((parsed(r, 0)?, parsed(r, 1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, uid_at(r, 7)?))
    })?;
    for row in rows {
        let row: Current = row?;
        match nearest.get(&row.1) {
            Some(have) if have.0.depth() >= row.0.depth() => {}
            _ => {
                nearest.insert(row.1.clone(), row);
            }
        }
    }
    nearest
        .into_values()
        .map(|(defined_in, key, version, since, key_id, nonce, ciphertext, uid)| {
            let (Some(key_id), Some(nonce), Some(ciphertext)) = (key_id, nonce, ciphertext) else {
                return Err(StoreError::VersionDestroyed(version));
            };
            let place = Place { namespace: &defined_in, key: &key, version, uid };
            let value = super::keys::open_value(conn, keyring, place, &Sealed { key_id, nonce, ciphertext })?;
            Ok(Resolved { defined_in, key, version, value_since: Timestamp(since), value })
        })
        .collect()
}

/// The value `ns` sees for `key` after inheritance (nearest definition wins).
/// For workloads only: never for a page or a server function.
pub fn resolve_value(conn: &Connection, keyring: &Keyring, ns: &NamespacePath, key: &SecretKey) -> Result<Resolved> {
    resolve(conn, keyring, ns, Some(key))?.pop().ok_or(StoreError::SecretNotFound)
}

/// Every value `ns` sees after inheritance, sorted by key. For workloads only.
pub fn resolve_all(conn: &Connection, keyring: &Keyring, ns: &NamespacePath) -> Result<Vec<Resolved>> {
    resolve(conn, keyring, ns, None)
}

/// The metadata of every secret `ns` sees after inheritance, sorted by key.
pub fn effective_meta(conn: &Connection, ns: &NamespacePath) -> Result<Vec<SecretMeta>> {
    namespace_id(conn, ns)?;
    Ok(visible_definitions(conn, ns)?.into_values().map(|mut defs| defs.swap_remove(0)).collect())
}

/// The current value of the secret defined in `ns` itself (not inherited):
/// `None` when `ns` defines no such key, `SecretDeleted` when it is deleted.
/// For comparing an import with what is stored; never for a page.
pub fn own_value(
    conn: &Connection,
    keyring: &Keyring,
    ns: &NamespacePath,
    key: &SecretKey,
) -> Result<Option<SecretValue>> {
    match find_live_secret(conn, ns, key) {
        Ok((secret, meta)) => {
            let sealed = sealed_version(conn, secret.id, meta.version)?;
            Ok(Some(super::keys::open_value(conn, keyring, secret.place(ns, key, meta.version), &sealed)?))
        }
        Err(StoreError::SecretNotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A number that grows whenever what `ns` sees may have changed (a secret
/// added, rotated, deleted, restored or purged here or in an ancestor), and
/// never otherwise goes back: the version of `ns`'s map on the Vault surface.
pub fn map_version(conn: &Connection, ns: &NamespacePath) -> Result<u64> {
    namespace_id(conn, ns)?;
    let paths: Vec<String> = ns.self_and_ancestors().into_iter().map(String::from).collect();
    let marks = vec!["?"; paths.len()].join(",");
    let version: i64 = conn
        .prepare_cached(&format!("SELECT sum(changed) FROM namespaces WHERE path IN ({marks})"))?
        .query_row(params_from_iter(paths.iter()), |r| r.get(0))?;
    Ok(version.max(0) as u64)
}

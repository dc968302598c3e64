//! Namespaces: create, describe, delete, list, search, and what each one sees.

use super::*;
use crate::domain::{
    view::{EffectiveSecret, NamespaceSummary, NamespaceView, SearchResults, SecretMeta, Window},
    Description, NamespacePath, SecretKey,
};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use std::collections::BTreeMap;

pub(super) fn namespace_id(conn: &Connection, ns: &NamespacePath) -> Result<i64> {
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

pub(super) const SUMMARY_SQL: &str = "SELECT n.path, n.description,
    (SELECT count(*) FROM secrets s WHERE s.namespace_id = n.id AND s.deleted_at IS NULL)
    FROM namespaces n";

pub(super) fn summary_from_row(row: &Row<'_>) -> rusqlite::Result<NamespaceSummary> {
    Ok(NamespaceSummary { path: parsed(row, 0)?, description: row.get(1)?, secret_count: row.get(2)? })
}

/// Orders a flat list as a tree: each namespace right after its parent.
pub(super) fn tree_order(list: &mut [NamespaceSummary]) {
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

pub(super) fn listing_from_row(row: &Row<'_>) -> rusqlite::Result<SecretMeta> {
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

pub(super) type FromRow = fn(&Row<'_>) -> rusqlite::Result<SecretMeta>;

/// Live definitions visible from `ns`, nearest first per key.
pub(super) fn visible_definitions(
    conn: &Connection,
    ns: &NamespacePath,
) -> Result<BTreeMap<SecretKey, Vec<SecretMeta>>> {
    visible_definitions_with(conn, ns, META_COLUMNS, meta_from_row)
}

pub(super) fn visible_definitions_with(
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

pub(super) fn effective_secrets(
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

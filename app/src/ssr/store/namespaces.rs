//! Namespaces: create, describe, delete, list, search, and what each one sees.

use super::*;
use crate::domain::{
    view::{EffectiveSecret, NamespaceSummary, NamespaceView, SearchResults, SecretMeta, Window},
    Description, NamespacePath, SecretKey,
};
use crate::ssr::db::sql::{savepoint, Engine, Sql, SqlError, Value};
use std::collections::BTreeMap;

pub(super) fn namespace_id<S: Sql + ?Sized>(db: &S, ns: &NamespacePath) -> Result<i64> {
    match db.query_opt("SELECT id FROM namespaces WHERE path = ?1", &[ns.as_str().into()])? {
        Some(row) => Ok(row[0].int()?),
        None => Err(StoreError::NamespaceNotFound),
    }
}

/// Whether `ns` exists.
pub fn namespace_exists<S: Sql + ?Sized>(db: &S, ns: &NamespacePath) -> Result<bool> {
    match namespace_id(db, ns) {
        Ok(_) => Ok(true),
        Err(StoreError::NamespaceNotFound) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The one integer a `count(*)`-like query answers.
fn count<S: Sql + ?Sized>(db: &S, sql: &str, id: i64) -> Result<i64> {
    let row = db.query_opt(sql, &[id.into()])?;
    Ok(row.map(|r| r[0].int()).transpose()?.unwrap_or(0))
}

/// Changes a namespace's description.
pub fn describe_namespace<S: Sql + ?Sized>(
    db: &S,
    ns: &NamespacePath,
    description: &Description,
) -> Result<NamespaceSummary> {
    savepoint(db, |tx| {
        let id = namespace_id(tx, ns)?;
        tx.execute("UPDATE namespaces SET description = ?2 WHERE id = ?1", &[id.into(), description.as_str().into()])?;
        let live = count(tx, "SELECT count(*) FROM secrets WHERE namespace_id = ?1 AND deleted_at IS NULL", id)?;
        let secret_count = u32::try_from(live).unwrap_or(u32::MAX);
        Ok(NamespaceSummary { path: ns.clone(), description: description.to_string(), secret_count })
    })
}

/// Deletes a namespace that holds no secret (deleted ones count until purged:
/// their history is kept) and has no child namespace.
pub fn delete_namespace<S: Sql + ?Sized>(db: &S, ns: &NamespacePath) -> Result<NamespaceSummary> {
    savepoint(db, |tx| {
        let id = namespace_id(tx, ns)?;
        let secrets = count(tx, "SELECT count(*) FROM secrets WHERE namespace_id = ?1", id)?;
        let children = count(tx, "SELECT count(*) FROM namespaces WHERE parent_id = ?1", id)?;
        if secrets > 0 || children > 0 {
            return Err(StoreError::NamespaceNotEmpty { secrets, children });
        }
        let row = tx.query_opt("SELECT description FROM namespaces WHERE id = ?1", &[id.into()])?;
        let description = row.map(|r| r[0].text().map(str::to_owned)).transpose()?.unwrap_or_default();
        tx.execute("DELETE FROM namespaces WHERE id = ?1", &[id.into()])?;
        Ok(NamespaceSummary { path: ns.clone(), description, secret_count: 0 })
    })
}

/// The ancestors of `ns` that do not exist yet, outermost first (creating
/// `ns` would create them too).
pub fn missing_ancestors<S: Sql + ?Sized>(db: &S, ns: &NamespacePath) -> Result<Vec<NamespacePath>> {
    let mut missing = Vec::new();
    for path in ns.self_and_ancestors().into_iter().rev().filter(|p| p != ns) {
        if !namespace_exists(db, &path)? {
            missing.push(path);
        }
    }
    Ok(missing)
}

/// Creates `ns` and any missing ancestors (with empty descriptions).
pub fn create_namespace<S: Sql + ?Sized>(
    db: &S,
    ns: &NamespacePath,
    description: &Description,
    stamp: Stamp<'_>,
) -> Result<NamespaceSummary> {
    savepoint(db, |tx| {
        if namespace_exists(tx, ns)? {
            return Err(StoreError::NamespaceExists);
        }
        let mut parent_id: Option<i64> = None;
        for path in ns.self_and_ancestors().iter().rev() {
            parent_id = Some(match namespace_id(tx, path) {
                Ok(id) => id,
                Err(StoreError::NamespaceNotFound) => {
                    let text = if path == ns { description.as_str() } else { "" };
                    // Made by another node meanwhile: an ancestor is used as it
                    // is; the namespace asked for exists already.
                    let row = tx.query_opt(
                        "INSERT INTO namespaces (path, parent_id, description, created_at, created_by)
                         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (path) DO NOTHING RETURNING id",
                        &[path.as_str().into(), parent_id.into(), text.into(), stamp.at.0.into(), stamp.actor.into()],
                    )?;
                    match row {
                        Some(r) => r[0].int()?,
                        None if path == ns => return Err(StoreError::NamespaceExists),
                        None => namespace_id(tx, path)?,
                    }
                }
                Err(e) => return Err(e),
            });
        }
        Ok(NamespaceSummary { path: ns.clone(), description: description.to_string(), secret_count: 0 })
    })
}

pub(super) const SUMMARY_SQL: &str = "SELECT n.path, n.description,
    (SELECT count(*) FROM secrets s WHERE s.namespace_id = n.id AND s.deleted_at IS NULL)
    FROM namespaces n";

fn summary_from_values(row: &[Value<'_>]) -> Result<NamespaceSummary> {
    Ok(NamespaceSummary {
        path: row[0].parse()?,
        description: row[1].text()?.to_owned(),
        secret_count: u32::try_from(row[2].int()?).unwrap_or(u32::MAX),
    })
}

/// Orders a flat list as a tree: each namespace right after its parent.
pub(super) fn tree_order(list: &mut [NamespaceSummary]) {
    list.sort_by(|a, b| a.path.tree_cmp(&b.path));
}

/// Every namespace in tree order, with its own live secret count.
pub fn list_namespaces<S: Sql + ?Sized>(db: &S) -> Result<Vec<NamespaceSummary>> {
    let mut list = db.query(SUMMARY_SQL, &[])?.iter().map(|r| summary_from_values(r)).collect::<Result<Vec<_>>>()?;
    tree_order(&mut list);
    Ok(list)
}

/// Namespaces and live secrets whose name contains `text` (ignoring ASCII
/// case), in name order; callers keep what the user may see.
pub fn search<S: Sql + ?Sized>(db: &S, text: &str) -> Result<SearchResults> {
    let text = text.to_ascii_lowercase();
    // `strpos` is PostgreSQL's `instr`.
    let found = match db.engine() {
        Engine::Sqlite => "instr",
        Engine::Postgres => "strpos",
    };
    let namespaces = db
        .query(
            &format!("SELECT path FROM namespaces WHERE {found}(lower(path), ?1) > 0 ORDER BY path"),
            &[text.as_str().into()],
        )?
        .iter()
        .map(|r| r[0].parse())
        .collect::<Result<Vec<_>, _>>()?;
    let secrets = db
        .query(
            &format!(
                "SELECT n.path, s.key FROM secrets s JOIN namespaces n ON n.id = s.namespace_id
                 WHERE s.deleted_at IS NULL AND {found}(lower(s.key), ?1) > 0 ORDER BY s.key, n.path"
            ),
            &[text.as_str().into()],
        )?
        .iter()
        .map(|r| Ok((r[0].parse()?, r[1].parse()?)))
        .collect::<Result<Vec<_>, SqlError>>()?;
    Ok(SearchResults { namespaces, secrets, truncated: false })
}

pub(super) fn listing_from(row: &[Value<'_>]) -> Result<SecretMeta, SqlError> {
    Ok(SecretMeta {
        description: row[2].text()?.to_owned(),
        tags: row[3].parse()?,
        overdue: row[4].bool()?,
        created_at: Timestamp(row[5].int()?),
        last_read: row[6].opt_int()?.map(Timestamp),
        ..SecretMeta::named(row[0].parse()?, row[1].parse()?)
    })
}

/// The effective secrets of `ns` (own and inherited), its deleted ones and
/// children. The effective secrets carry only their namespace, key,
/// description, tags and whether they are overdue: [`fill_metas`] reads the
/// rest for the page shown.
pub fn namespace_listing<S: Sql + ?Sized>(db: &S, ns: &NamespacePath) -> Result<NamespaceView> {
    let id = namespace_id(db, ns)?;
    let row = db.query_opt(&format!("{SUMMARY_SQL} WHERE n.id = ?1"), &[id.into()])?;
    let namespace = summary_from_values(&row.ok_or(StoreError::NamespaceNotFound)?)?;
    let children = db.query(&format!("{SUMMARY_SQL} WHERE n.parent_id = ?1"), &[id.into()])?;
    let mut children = children.iter().map(|r| summary_from_values(r)).collect::<Result<Vec<_>>>()?;
    tree_order(&mut children);
    let mut deleted = Vec::new();
    db.query_each(
        &format!(
            "SELECT {META_COLUMNS} FROM secrets s JOIN namespaces n ON n.id = s.namespace_id
             WHERE s.namespace_id = ?1 AND s.deleted_at IS NOT NULL ORDER BY s.key"
        ),
        &[id.into()],
        &mut |r| {
            deleted.push(meta_from(r)?);
            Ok(())
        },
    )?;
    let effective = effective_secrets(db, ns, LISTING_COLUMNS, listing_from)?;
    Ok(NamespaceView { namespace, window: Window::whole(effective.len()), effective, deleted, children })
}

/// Reads the whole metadata of each of `secrets` (from [`namespace_listing`]).
pub fn fill_metas<S: Sql + ?Sized>(db: &S, secrets: &mut [EffectiveSecret]) -> Result<()> {
    let sql = format!(
        "SELECT {META_COLUMNS} FROM secrets s JOIN namespaces n ON n.id = s.namespace_id
         WHERE n.path = ?1 AND s.key = ?2"
    );
    for secret in secrets {
        let args = [secret.meta.namespace.as_str().into(), secret.meta.key.as_str().into()];
        let row = db.query_opt(&sql, &args)?.ok_or(StoreError::SecretNotFound)?;
        secret.meta = meta_from(&row)?;
    }
    Ok(())
}

pub(super) type FromRow = fn(&[Value<'_>]) -> Result<SecretMeta, SqlError>;

/// Live definitions visible from `ns`, nearest first per key.
pub(super) fn visible_definitions<S: Sql + ?Sized>(
    db: &S,
    ns: &NamespacePath,
) -> Result<BTreeMap<SecretKey, Vec<SecretMeta>>> {
    visible_definitions_with(db, ns, META_COLUMNS, meta_from)
}

pub(super) fn visible_definitions_with<S: Sql + ?Sized>(
    db: &S,
    ns: &NamespacePath,
    columns: &str,
    from_row: FromRow,
) -> Result<BTreeMap<SecretKey, Vec<SecretMeta>>> {
    let paths: Vec<String> = ns.self_and_ancestors().into_iter().map(String::from).collect();
    let marks = (1..=paths.len()).map(|n| format!("?{n}")).collect::<Vec<_>>().join(",");
    let args: Vec<Value<'_>> = paths.iter().map(|p| p.as_str().into()).collect();
    let mut by_key: BTreeMap<SecretKey, Vec<SecretMeta>> = BTreeMap::new();
    db.query_each(
        &format!(
            "SELECT {columns} FROM secrets s JOIN namespaces n ON n.id = s.namespace_id
             WHERE s.deleted_at IS NULL AND n.path IN ({marks})"
        ),
        &args,
        &mut |r| {
            let meta = from_row(r)?;
            by_key.entry(meta.key.clone()).or_default().push(meta);
            Ok(())
        },
    )?;
    for defs in by_key.values_mut() {
        defs.sort_by_key(|m| std::cmp::Reverse(m.namespace.depth()));
    }
    Ok(by_key)
}

pub(super) fn effective_secrets<S: Sql + ?Sized>(
    db: &S,
    ns: &NamespacePath,
    columns: &str,
    from_row: FromRow,
) -> Result<Vec<EffectiveSecret>> {
    Ok(visible_definitions_with(db, ns, columns, from_row)?
        .into_values()
        .map(|mut defs| {
            let shadows = defs.get(1).map(|m| m.namespace.clone());
            let meta = defs.swap_remove(0);
            EffectiveSecret { own: &meta.namespace == ns, meta, shadows, can_open: true, reused: false }
        })
        .collect())
}

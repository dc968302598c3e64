//! Required keys: names a namespace declares its workloads need, inherited
//! by its children (`company` requiring `DB_PASSWORD` requires it of
//! `company.team` too). A check says which required names do not resolve for
//! a namespace — names only: checking is not a read of any value.
//!
//! `required_keys` rows are security rows (`store::rows`): a requirement
//! dropped by someone without the root key would hide a gap, so a row that
//! does not verify still counts (and is logged), never disappears silently.

use super::{namespaces::namespace_id, resolve::effective_meta, Result, Stamp};
use crate::domain::{NamespacePath, SecretKey};
use crate::ssr::{
    db::{sql::Sql, RowKey},
    store::rows::{self, REQUIRED_KEYS},
};

/// A required key and the namespace that declares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Required {
    pub key: SecretKey,
    pub declared_in: NamespacePath,
}

/// What a check finds for one namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub required: Vec<Required>,
    /// Required keys that no live secret defines for the namespace (here or above).
    pub missing: Vec<Required>,
}

/// Declares `keys` required in `ns` (those already required there are left as
/// they are); returns how many were added.
pub fn require<S: Sql + ?Sized>(
    db: &S,
    rows: &RowKey,
    ns: &NamespacePath,
    keys: &[SecretKey],
    stamp: Stamp<'_>,
) -> Result<usize> {
    let id = namespace_id(db, ns)?;
    let mut added = 0;
    for key in keys {
        added += db.execute(
            "INSERT INTO required_keys (namespace_id, key, created_at, created_by) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (namespace_id, key) DO NOTHING",
            &[id.into(), key.as_str().into(), stamp.at.0.into(), stamp.actor.into()],
        )? as usize;
        rows::reseal(db, rows, &REQUIRED_KEYS, "namespace_id = ?1 AND key = ?2", &[id.into(), key.as_str().into()])?;
    }
    Ok(added)
}

/// Drops `keys` from what `ns` itself requires; returns how many were dropped.
pub fn unrequire<S: Sql + ?Sized>(db: &S, ns: &NamespacePath, keys: &[SecretKey]) -> Result<usize> {
    let id = namespace_id(db, ns)?;
    let mut dropped = 0;
    for key in keys {
        dropped += db.execute(
            "DELETE FROM required_keys WHERE namespace_id = ?1 AND key = ?2",
            &[id.into(), key.as_str().into()],
        )? as usize;
    }
    Ok(dropped)
}

/// The keys `ns` requires: its own and its ancestors', by key.
pub fn required<S: Sql + ?Sized>(db: &S, rows: &RowKey, ns: &NamespacePath) -> Result<Vec<Required>> {
    namespace_id(db, ns)?;
    let sql = format!(
        "SELECT {}, n.path FROM required_keys r JOIN namespaces n ON n.id = r.namespace_id
         WHERE n.path = ?1 OR substr(?1, 1, length(n.path) + 1) = n.path || '.'
         ORDER BY r.key, length(n.path)",
        REQUIRED_KEYS.columns("r")
    );
    let mut out: Vec<Required> = Vec::new();
    for row in db.query(&sql, &[ns.as_str().into()])? {
        // Covered: namespace_id, key; then mac; then the path.
        let (key, path) = (row[1].text()?, row[3].text()?);
        if !REQUIRED_KEYS.intact(rows, &row[..REQUIRED_KEYS.width()]) {
            rows::refused("required_keys", &format!("{key} in {path}"));
        }
        let (Ok(key), Ok(declared_in)) = (SecretKey::parse(key), NamespacePath::parse(path)) else { continue };
        // Declared at several levels: the nearest names it.
        if !out.iter().any(|r| r.key == key) {
            out.push(Required { key, declared_in });
        }
    }
    Ok(out)
}

/// Which of the keys `ns` requires no live secret defines for it.
pub fn check<S: Sql + ?Sized>(db: &S, rows: &RowKey, ns: &NamespacePath) -> Result<Check> {
    let required = required(db, rows, ns)?;
    let defined = effective_meta(db, ns)?;
    let live = |key: &SecretKey| defined.iter().any(|m| &m.key == key && m.deleted_at.is_none());
    let missing = required.iter().filter(|r| !live(&r.key)).cloned().collect();
    Ok(Check { required, missing })
}

/// What `ns` requires, each with the namespace whose live secret it sees (a page's view).
pub fn status<S: Sql + ?Sized>(
    db: &S,
    rows: &RowKey,
    ns: &NamespacePath,
) -> Result<Vec<crate::domain::view::RequiredView>> {
    let required = required(db, rows, ns)?;
    let defined = effective_meta(db, ns)?;
    Ok(required
        .into_iter()
        .map(|r| {
            let defined_in =
                defined.iter().find(|m| m.key == r.key && m.deleted_at.is_none()).map(|m| m.namespace.clone());
            crate::domain::view::RequiredView { key: r.key, declared_in: r.declared_in, defined_in }
        })
        .collect())
}

/// Key names as typed in a form: separated by spaces, commas or new lines.
pub fn parse_keys(input: &str) -> std::result::Result<Vec<SecretKey>, String> {
    let keys: Vec<SecretKey> = input
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|k| !k.is_empty())
        .map(|k| SecretKey::parse(k).map_err(|e| format!("{k}: {e}")))
        .collect::<std::result::Result<_, _>>()?;
    if keys.is_empty() {
        return Err("Name at least one key.".into());
    }
    Ok(keys)
}

/// The completeness matrix of the subtree under `root` (see
/// [`CompletenessMatrix`]): one `required` and one `effective_meta` per
/// namespace, so a few milliseconds for the few hundred a team has.
pub fn matrix<S: Sql + ?Sized>(
    db: &S,
    rows: &RowKey,
    root: &NamespacePath,
) -> Result<crate::domain::view::CompletenessMatrix> {
    use crate::domain::view::{Completeness, CompletenessMatrix};
    namespace_id(db, root)?;
    let subtree: Vec<NamespacePath> =
        super::list_namespaces(db)?.into_iter().map(|n| n.path).filter(|p| p.is_within(root)).collect();
    let mut each = Vec::with_capacity(subtree.len());
    for ns in subtree {
        let (required, defined) = (required(db, rows, &ns)?, effective_meta(db, &ns)?);
        each.push((ns, required, defined));
    }
    let mut keys: Vec<SecretKey> = each.iter().flat_map(|(_, r, _)| r.iter().map(|r| r.key.clone())).collect();
    keys.sort();
    keys.dedup();
    let rows = each
        .into_iter()
        .map(|(ns, required, defined)| {
            let cells = keys
                .iter()
                .map(|key| {
                    if !required.iter().any(|r| &r.key == key) {
                        return Completeness::NotRequired;
                    }
                    match defined.iter().find(|m| &m.key == key && m.deleted_at.is_none()) {
                        None => Completeness::Missing,
                        Some(m) if m.namespace == ns => Completeness::Here { overdue: m.overdue },
                        Some(m) => Completeness::Inherited { from: m.namespace.clone(), overdue: m.overdue },
                    }
                })
                .collect();
            (ns, cells)
        })
        .collect();
    Ok(CompletenessMatrix { keys, rows })
}

//! What a namespace sees, decrypted for a workload: the nearest definition per key.

use super::*;
use crate::domain::{view::SecretMeta, NamespacePath, SecretKey, SecretValue, Timestamp};
use crate::ssr::crypto::{Keyring, Place, Sealed, SecretUid};
use rusqlite::{params_from_iter, Connection};
use std::collections::BTreeMap;

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
pub(super) const CURRENT_SQL: &str =
    "SELECT n.path, s.key, s.version, v.created_at, v.key_id, v.nonce, v.ciphertext, s.uid
     FROM secrets s JOIN namespaces n ON n.id = s.namespace_id
     JOIN secret_versions v ON v.secret_id = s.id AND v.version = s.version
     WHERE s.deleted_at IS NULL AND n.path IN";

/// The nearest definition per key of what `ns` sees, decrypted, sorted by key.
pub(super) fn resolve(
    conn: &Connection,
    keyring: &Keyring,
    ns: &NamespacePath,
    key: Option<&SecretKey>,
) -> Result<Vec<Resolved>> {
    namespace_id(conn, ns)?;
    let paths: Vec<String> = ns.self_and_ancestors().into_iter().map(String::from).collect();
    let marks = vec!["?"; paths.len()].join(",");
    // `COLLATE BINARY` (the column's own) is not decoration: without it this
    // SQLite build (STAT4) re-prepares the statement whenever the key bound
    // changes — 46 % of a workload read's time on the writer thread.
    let filter =
        if key.is_some() { format!(" AND s.key = ?{} COLLATE BINARY", paths.len() + 1) } else { String::new() };
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
            let value =
                crate::ssr::store::keyring::open_value(conn, keyring, place, &Sealed { key_id, nonce, ciphertext })?;
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
            Ok(Some(crate::ssr::store::keyring::open_value(
                conn,
                keyring,
                secret.place(ns, key, meta.version),
                &sealed,
            )?))
        }
        Err(StoreError::SecretNotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A number that grows whenever what `ns` sees may have changed (a secret
/// added, rotated, deleted, restored or purged here or in an ancestor), and
/// never otherwise goes back: the version of `ns`'s map on the Vault surface.
pub fn map_version(conn: &Connection, ns: &NamespacePath) -> Result<u64> {
    let mut paths: Vec<String> = ns.self_and_ancestors().into_iter().map(String::from).collect();
    let marks: Vec<String> = (1..=paths.len()).map(|n| format!("?{n}")).collect();
    let marks = marks.join(",");
    // One statement answers both: is `ns` there, and the sum along its ancestry.
    let sql = format!(
        "SELECT coalesce(sum(changed), 0), coalesce(max(path = ?{}), 0) FROM namespaces WHERE path IN ({marks})",
        paths.len() + 1
    );
    paths.push(ns.to_string());
    let (version, found): (i64, bool) =
        conn.prepare_cached(&sql)?.query_row(params_from_iter(paths.iter()), |r| Ok((r.get(0)?, r.get(1)?)))?;
    if !found {
        return Err(StoreError::NamespaceNotFound);
    }
    Ok(version.max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_version_grows_with_a_change_above_and_a_missing_namespace_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::ssr::db::open(&dir.path().join("t.db")).unwrap();
        let stamp = crate::ssr::store::Stamp { actor: "t", at: Timestamp(1) };
        let (parent, child): (NamespacePath, NamespacePath) = ("a".parse().unwrap(), "a.b".parse().unwrap());
        crate::ssr::store::create_namespace(&conn, &child, &Default::default(), stamp).unwrap();
        let before = map_version(&conn, &child).unwrap();
        conn.execute("UPDATE namespaces SET changed = changed + 1 WHERE path = ?1", [parent.as_str()]).unwrap();
        assert_eq!(map_version(&conn, &child).unwrap(), before + 1);
        let missing: NamespacePath = "a.c".parse().unwrap();
        assert!(matches!(map_version(&conn, &missing), Err(StoreError::NamespaceNotFound)));
    }

    #[test]
    fn reading_another_key_does_not_prepare_the_statement_again() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::ssr::db::open(&dir.path().join("t.db")).unwrap();
        let keyring = Keyring::default();
        let ns: NamespacePath = "a.b".parse().unwrap();
        let stamp = crate::ssr::store::Stamp { actor: "t", at: Timestamp(1) };
        crate::ssr::store::create_namespace(&conn, &ns, &Default::default(), stamp).unwrap();
        for key in ["A", "B", "C"] {
            let missing = resolve_value(&conn, &keyring, &ns, &key.parse().unwrap());
            assert!(matches!(missing, Err(StoreError::SecretNotFound)));
        }
        let sql = format!("{CURRENT_SQL} (?,?) AND s.key = ?3 COLLATE BINARY");
        let stmt = conn.prepare_cached(&sql).unwrap();
        assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0);
    }
}

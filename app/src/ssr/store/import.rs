//! Importing a `.env` file (or Kestra's, Prefect's, JSON) into a namespace:
//! the names-only plan ("adds N, rotates M, unchanged K"), worked out on the
//! server by comparing with the stored values, and applying it all or nothing
//! with one audit entry per key added or rotated. Shared by the import page
//! and `strongroom import`.

use crate::domain::{
    audit::{Action, OK},
    view::ImportPlan,
    Description, NamespacePath, SecretKey,
};
use crate::ssr::db::sql::{savepoint, Sql};
use crate::ssr::{
    audit::{self, Actor, AuditKey, Client, NewEntry},
    crypto::Keyring,
    formats::{Entry, Format},
    store::{self, Stamp, StoreError},
};
use std::collections::HashSet;

/// An import waiting to be applied (held in the stash between preview and
/// apply): the text as pasted, never its expanded values, read again at apply
/// in the format the preview found. Zeroized when dropped.
pub struct Pending {
    pub namespace: NamespacePath,
    pub format: Format,
    pub text: zeroize::Zeroizing<String>,
}

impl Pending {
    /// What it takes in the stash.
    pub fn bytes(&self) -> usize {
        self.text.len() + self.namespace.as_str().len()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A deleted secret has this key here: restore or purge it first.
    #[error("line {0}: a deleted secret with this key exists here; restore or purge it first")]
    Deleted(usize),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for ImportError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Store(e.into())
    }
}

enum Change {
    Add,
    Rotate,
    Same,
}

fn change_of<S: Sql + ?Sized>(
    conn: &S,
    keyring: &Keyring,
    ns: &NamespacePath,
    entry: &Entry,
) -> Result<Change, ImportError> {
    match store::own_value(conn, keyring, ns, &entry.key) {
        Ok(Some(current)) if current.expose() == entry.value.expose() => Ok(Change::Same),
        Ok(Some(_)) => Ok(Change::Rotate),
        Ok(None) => Ok(Change::Add),
        Err(StoreError::SecretDeleted) => Err(ImportError::Deleted(entry.line)),
        Err(e) => Err(e.into()),
    }
}

/// What applying `entries` to `ns` would do, by key name. Reads only.
pub fn plan<S: Sql + ?Sized>(
    conn: &S,
    keyring: &Keyring,
    ns: &NamespacePath,
    format: Format,
    entries: &[Entry],
) -> Result<ImportPlan, ImportError> {
    let mut plan = ImportPlan { format: format.as_str().to_owned(), ..Default::default() };
    for entry in entries {
        let list = match change_of(conn, keyring, ns, entry)? {
            Change::Add => {
                if let Some(from) = store::inherited_from(conn, ns, &entry.key)? {
                    plan.shadows.push((entry.key.clone(), from));
                }
                &mut plan.adds
            }
            Change::Rotate => &mut plan.rotates,
            Change::Same => &mut plan.unchanged,
        };
        list.push(entry.key.clone());
    }
    Ok(plan)
}

/// Applies `entries` to `ns` in one savepoint: every key is added or rotated
/// (unchanged ones are left alone), each with its own audit entry, or nothing
/// is. `by` (who and from where) is recorded in the entries. Returns what was done.
#[allow(clippy::too_many_arguments)] // each is a distinct input of one audited write
pub fn apply<S: Sql + ?Sized>(
    conn: &S,
    keyring: &Keyring,
    chain: &AuditKey,
    ns: &NamespacePath,
    format: Format,
    entries: &[Entry],
    stamp: Stamp<'_>,
    by: (&Actor, &Client),
) -> Result<ImportPlan, ImportError> {
    savepoint(conn, |conn| {
        let plan = plan(conn, keyring, ns, format, entries)?;
        let (adds, rotates): (HashSet<&SecretKey>, HashSet<&SecretKey>) =
            (plan.adds.iter().collect(), plan.rotates.iter().collect());
        for entry in entries {
            let (action, meta) = if adds.contains(&entry.key) {
                let none = Description::default();
                (Action::SecretAdd, store::add_secret(conn, keyring, ns, &entry.key, &entry.value, &none, stamp)?)
            } else if rotates.contains(&entry.key) {
                (Action::SecretRotate, store::rotate_secret(conn, keyring, ns, &entry.key, &entry.value, None, stamp)?)
            } else {
                continue;
            };
            let record = NewEntry {
                at: stamp.at,
                actor: by.0.clone(),
                action,
                namespace: ns.to_string(),
                key: entry.key.to_string(),
                version: Some(meta.version.into()),
                client: by.1.clone(),
                outcome: format!("{OK}: imported"),
            };
            audit::append(conn, chain, record).map_err(StoreError::from)?;
        }
        Ok(plan)
    })
}

/// The outcome the import's own entry records: counts and the format.
pub fn summary(plan: &ImportPlan) -> String {
    format!(
        "{OK}: adds {}, rotates {}, unchanged {} ({})",
        plan.adds.len(),
        plan.rotates.len(),
        plan.unchanged.len(),
        plan.format
    )
}

/// Keys of `plan` in one list, for messages.
pub fn names(keys: &[SecretKey]) -> String {
    keys.iter().map(SecretKey::as_str).collect::<Vec<_>>().join(", ")
}

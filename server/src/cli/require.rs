//! `strongroom require NS KEY… [--remove]`: the key names a namespace (and
//! every namespace under it) must define before a release, on the data
//! directory or database, audited as `(command line)`. `strongroom check NS`
//! (in `workload`) asks a running server whether they all resolve.

use super::{local, RunError};
use crate::config::KeyArgs;
use app::{
    domain::{
        audit::{Action, OK},
        NamespacePath, SecretKey,
    },
    ssr::{
        audit,
        store::{required, Stamp},
    },
};

pub async fn require(namespace: &str, keys: &[String], remove: bool, key: &KeyArgs) -> Result<(), RunError> {
    let user = |e: &dyn std::fmt::Display| RunError::User(e.to_string());
    let ns = NamespacePath::parse(namespace).map_err(|e| user(&e))?;
    let keys: Vec<SecretKey> =
        keys.iter().map(|k| SecretKey::parse(k).map_err(|e| user(&format!("{k:?}: {e}")))).collect::<Result<_, _>>()?;
    if keys.is_empty() {
        return Err(RunError::User("name at least one key".into()));
    }
    let names: Vec<&str> = keys.iter().map(SecretKey::as_str).collect();
    let done = if remove { format!("{OK}: no longer required") } else { format!("{OK}: required") };
    let entry = local::entry(Action::NamespaceRequire, ns.as_str(), names.join(","), done);
    let state = local::open(key, false).await?;
    let (chain, rows, path) = (state.audit.clone(), state.rows.clone(), ns.clone());
    let changed = state
        .db
        .call(move |c| {
            audit::with_entry(
                c,
                &chain,
                entry,
                |_| (None, None),
                |c| {
                    let stamp = Stamp { actor: "(command line)", at: app::ssr::clock::now() };
                    if remove {
                        required::unrequire(&*c, &path, &keys)
                    } else {
                        required::require(&*c, &rows, &path, &keys, stamp)
                    }
                },
            )
        })
        .await
        .map_err(|e| user(&e))?;
    let what = if remove { "no longer required" } else { "now required" };
    eprintln!("{changed} key(s) {what} in {ns} and below");
    Ok(())
}

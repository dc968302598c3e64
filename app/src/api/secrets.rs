//! Server functions for secrets. Values only ever travel inward (as
//! `WriteOnly`); every response is metadata.

#[cfg(feature = "ssr")]
use super::value_field;
use super::WriteOnly;
use crate::{
    domain::view::{DeleteEffects, ReaderView, SameValueView, SecretDetail, SecretMeta},
    error::AppError,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::{
    domain::{
        audit::Action,
        view::{Retention, Rotation},
        Description, Role, SecretKey, Tags,
    },
    error::every,
    ssr::{access::*, store},
};

/// Adds a new secret (version 1) to a namespace, with optional tags
/// (`name=value`, recorded in the trail's outcome).
#[server(prefix = "/api", endpoint = "secrets/add")]
pub async fn add_secret(
    namespace: String,
    key: String,
    value: WriteOnly,
    description: String,
    #[server(default)] tags: String,
) -> Result<SecretMeta, AppError> {
    let act = Act::new(Action::SecretAdd, &namespace, &key);
    act.run(async {
        let (who, ns) = act.require(Role::Editor, &namespace).await?;
        let (key, value, description, tags) = every((
            field("key", SecretKey::parse(&key)),
            value_field("value", value),
            field("description", Description::parse(&description)),
            field("tags", Tags::parse(&tags)),
        ))?;
        if !tags.is_empty() {
            act.set_outcome_on_success(format!("ok: tags {tags}"));
        }
        let (keyring, shape) = (state()?.keyring.clone(), value.shape());
        let (meta, shadows) = act
            .write(move |c| {
                let meta = store::add_secret(c, &keyring, &ns, &key, &value, &description, who.stamp())?;
                let meta = if tags.is_empty() { meta } else { store::set_tags(c, &ns, &key, &tags)? };
                let shadows = store::inherited_from(c, &ns, &key)?;
                Ok::<_, store::StoreError>(Saved((meta, shadows)))
            })
            .await
            .map_err(store_error)?
            .0;
        let over = shadows.map_or(String::new(), |from| {
            format!(" It overrides {from}/{} for {} and below.", meta.key, meta.namespace)
        });
        flash(format!("Added {} to {}: {shape}.{over}", meta.key, meta.namespace));
        Ok(meta)
    })
    .await
}

/// A change's result with something else the answer needs.
#[cfg(feature = "ssr")]
struct Saved<T>(T);
#[cfg(feature = "ssr")]
impl<T> Recorded for Saved<(SecretMeta, T)> {
    fn version(&self) -> Option<i64> {
        self.0 .0.version()
    }
}

/// Replaces a secret's description; empty removes it.
#[server(prefix = "/api", endpoint = "secrets/describe")]
pub async fn describe_secret(namespace: String, key: String, description: String) -> Result<SecretMeta, AppError> {
    let act = Act::new(Action::SecretDescribe, &namespace, &key);
    act.run(async {
        let (_who, ns) = act.require(Role::Editor, &namespace).await?;
        let (key, description) =
            every((field("key", SecretKey::parse(&key)), field("description", Description::parse(&description))))?;
        let meta = act.write(move |c| store::set_description(c, &ns, &key, &description)).await.map_err(store_error)?;
        flash(format!("Description of {} saved.", meta.key));
        Ok(meta)
    })
    .await
}

/// Replaces a secret's tags; empty removes them all.
#[server(prefix = "/api", endpoint = "secrets/tags")]
pub async fn set_tags(namespace: String, key: String, tags: String) -> Result<SecretMeta, AppError> {
    let act = Act::new(Action::SecretTags, &namespace, &key);
    act.run(async {
        let (_who, ns) = act.require(Role::Editor, &namespace).await?;
        let (key, tags) = every((field("key", SecretKey::parse(&key)), field("tags", Tags::parse(&tags))))?;
        act.set_outcome_on_success(if tags.is_empty() { "ok: no tags".to_owned() } else { format!("ok: tags {tags}") });
        let meta = act.write(move |c| store::set_tags(c, &ns, &key, &tags)).await.map_err(store_error)?;
        flash(format!("Tags of {} saved.", meta.key));
        Ok(meta)
    })
    .await
}

/// Stores a new value as the next version. `version` is the version the
/// form was shown: if another was stored since, nothing is saved and the
/// answer names who rotated and when.
#[server(prefix = "/api", endpoint = "secrets/rotate")]
pub async fn rotate_secret(
    namespace: String,
    key: String,
    value: WriteOnly,
    #[server(default)] version: Option<u32>,
) -> Result<SecretMeta, AppError> {
    let act = Act::new(Action::SecretRotate, &namespace, &key);
    act.run(async {
        let (who, ns) = act.require(Role::Editor, &namespace).await?;
        let (key, value) = every((field("key", SecretKey::parse(&key)), value_field("value", value)))?;
        let state = state()?;
        // "The new value equals the current one" tells an editor who may not
        // read whether a guess was right: such refusals count against the
        // import preview's per-user allowance, and while it is spent every
        // rotation waits (a refusal only then would tell the same).
        let (limit, now) = (who.id.to_string(), crate::ssr::clock::instant());
        if state.auth.previews.is_locked(&limit, now) {
            return Err(AppError::RateLimited);
        }
        let (keyring, shape) = (state.keyring.clone(), value.shape());
        let rotated =
            act.write(move |c| store::rotate_secret(c, &keyring, &ns, &key, &value, version, who.stamp())).await;
        if matches!(rotated, Err(store::StoreError::SameValue)) {
            state.auth.previews.attempt(&limit, now);
        }
        let meta = rotated.map_err(store_error)?;
        flash(format!("Rotated {} to version {}: {shape}.", meta.key, meta.version));
        Ok(meta)
    })
    .await
}

/// Sets how many versions this secret keeps with their value; empty: the
/// server's default. Versions past it are destroyed now, so, like purge,
/// only an admin of the namespace may.
#[server(prefix = "/api", endpoint = "secrets/retention")]
pub async fn set_retention(namespace: String, key: String, keep: String) -> Result<SecretMeta, AppError> {
    let act = Act::new(Action::SecretRetention, &namespace, &key);
    act.run(async {
        let (_who, ns) = act.require(Role::Admin, &namespace).await?;
        let key = field("key", SecretKey::parse(&key))?;
        let keep = field("keep", Retention::parse_own(&keep))?;
        act.set_outcome_on_success(match keep {
            Some(n) => format!("ok: keeps {n} versions"),
            None => "ok: keeps the default number of versions".into(),
        });
        let meta = act.write(move |c| store::set_retention(c, &ns, &key, keep)).await.map_err(store_error)?;
        flash(format!("Versions kept for {} saved.", meta.key));
        Ok(meta)
    })
    .await
}

/// Soft-deletes a secret (restorable).
#[server(prefix = "/api", endpoint = "secrets/delete")]
pub async fn delete_secret(namespace: String, key: String) -> Result<SecretMeta, AppError> {
    let act = Act::new(Action::SecretDelete, &namespace, &key);
    act.run(async {
        let (who, ns) = act.require(Role::Editor, &namespace).await?;
        let key = field("key", SecretKey::parse(&key))?;
        let meta = act.write(move |c| store::delete_secret(c, &ns, &key, who.stamp())).await.map_err(store_error)?;
        flash(format!(
            "Deleted {} from {}. Workloads no longer see it; restore it from its page.",
            meta.key, meta.namespace
        ));
        Ok(meta)
    })
    .await
}

/// What deleting `key` from `namespace` changes: the namespaces below that
/// stop seeing it, and the definition they would see instead.
#[server(prefix = "/api", endpoint = "secrets/delete_preview")]
pub async fn delete_preview(namespace: String, key: String) -> Result<DeleteEffects, AppError> {
    let act = Act::new(Action::Read, &namespace, &key);
    act.run(async {
        let (_who, ns) = act.require(Role::Editor, &namespace).await?;
        let key = field("key", SecretKey::parse(&key))?;
        let (below, instead) = state()?.db.read(move |c| store::dependents(c, &ns, &key)).await.map_err(store_error)?;
        Ok(DeleteEffects { below, instead })
    })
    .await
}

/// Undoes a soft delete.
#[server(prefix = "/api", endpoint = "secrets/restore")]
pub async fn restore_secret(namespace: String, key: String) -> Result<SecretMeta, AppError> {
    let act = Act::new(Action::SecretRestore, &namespace, &key);
    act.run(async {
        let (who, ns) = act.require(Role::Editor, &namespace).await?;
        let key = field("key", SecretKey::parse(&key))?;
        let meta = act.write(move |c| store::restore_secret(c, &ns, &key, who.stamp())).await.map_err(store_error)?;
        flash(format!("Restored {}: workloads see it again.", meta.key));
        Ok(meta)
    })
    .await
}

/// Removes a deleted secret and all its versions for good. Admins only: it
/// cannot be undone, so `confirm` must repeat the key.
#[server(prefix = "/api", endpoint = "secrets/purge")]
pub async fn purge_secret(namespace: String, key: String, confirm: String) -> Result<SecretMeta, AppError> {
    let act = Act::new(Action::SecretPurge, &namespace, &key);
    act.run(async {
        let (_who, ns) = act.require(Role::Admin, &namespace).await?;
        let key = field("key", SecretKey::parse(&key))?;
        if confirm.trim() != key.as_str() {
            return Err(AppError::validation("confirm", format!("Type {key} to confirm: purging cannot be undone.")));
        }
        let purged = act.write(move |c| store::purge_secret(c, &ns, &key)).await.map_err(store_error)?;
        // Its page is gone: a form post goes to the namespace (a refusal stays on the page).
        leptos_axum::redirect(&format!("/ns/{}", purged.namespace));
        flash(format!("Purged {} from {}: every version of its value is gone.", purged.key, purged.namespace));
        // `secure_delete` cleared the database's pages; the WAL still holds old images of them.
        match state()?.db.checkpoint_truncate().await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!("purge: a reader kept the WAL from being emptied; it empties at the next checkpoint")
            }
            Err(e) => tracing::error!(error = %e, "purge: WAL checkpoint failed"),
        }
        Ok(purged)
    })
    .await
}

/// Makes an older version the newest, without the value leaving the server.
#[server(prefix = "/api", endpoint = "secrets/restore_version")]
pub async fn restore_version(namespace: String, key: String, version: u32) -> Result<SecretMeta, AppError> {
    let act = Act::new(Action::SecretRestoreVersion, &namespace, &key);
    act.run(async {
        let (who, ns) = act.require(Role::Editor, &namespace).await?;
        let key = field("key", SecretKey::parse(&key))?;
        let keyring = state()?.keyring.clone();
        let meta = act
            .write(move |c| store::restore_version(c, &keyring, &ns, &key, version, who.stamp()))
            .await
            .map_err(store_error)?;
        // When that value was first stored: a restore brings back a known value.
        let (ns, key) = (meta.namespace.clone(), meta.key.clone());
        let first = state()?
            .db
            .read(move |c| store::fingerprints::first_stored(c, &ns, &key, version))
            .await
            .map_err(store_error)?;
        flash(match first {
            Some((first, at)) => format!(
                "Restored version {version} of {} as version {}: a value first stored as version {first}, {}.",
                meta.key,
                meta.version,
                at.date()
            ),
            None => format!("Restored version {version} of {} as version {}.", meta.key, meta.version),
        });
        Ok(meta)
    })
    .await
}

/// Sets when a secret should be rotated: by `rotate_by` (a date), or every
/// `every_days` days after each rotation; both empty clears the policy.
#[server(prefix = "/api", endpoint = "secrets/rotation")]
pub async fn set_rotation(
    namespace: String,
    key: String,
    rotate_by: String,
    every_days: String,
) -> Result<SecretMeta, AppError> {
    let act = Act::new(Action::SecretRotationPolicy, &namespace, &key);
    act.run(async {
        let (_who, ns) = act.require(Role::Editor, &namespace).await?;
        let key = field("key", SecretKey::parse(&key))?;
        let rotation = Rotation::parse(&rotate_by, &every_days).map_err(|(f, m)| AppError::validation(f, m))?;
        act.set_outcome_on_success(format!("ok: {rotation}"));
        let meta = act.write(move |c| store::set_rotation(c, &ns, &key, rotation)).await.map_err(store_error)?;
        flash(format!("Rotation policy of {} saved: {}.", meta.key, meta.rotation));
        Ok(meta)
    })
    .await
}

/// Live secrets due for rotation within `days` days (0: overdue) in the
/// namespaces the caller may see.
#[server(prefix = "/api", endpoint = "secrets/overdue")]
pub async fn overdue_secrets(#[server(default)] days: u32) -> Result<Vec<SecretMeta>, AppError> {
    let act = Act::new(Action::Read, "", "");
    act.run(async {
        let who = act.signed_in().await?;
        let days = days.min(366);
        let mut list = state()?.db.read(move |c| store::due_secrets(c, days)).await.map_err(store_error)?;
        list.retain(|m| who.can_see(&m.namespace));
        Ok(list)
    })
    .await
}

/// Other live secrets whose current value is the same as this one's, among
/// those the caller may see, and whether it is the parent's value it
/// overrides. Auditors and admins only (their grants on both sides):
/// equality is an oracle, and an editor, who may write but not read, could
/// store guesses and watch for a match. Never the fingerprints themselves.
#[server(prefix = "/api", endpoint = "secrets/same_value")]
pub async fn same_value(namespace: String, key: String) -> Result<SameValueView, AppError> {
    let act = Act::new(Action::Read, &namespace, &key);
    act.run(async {
        let (who, ns) = act.require(Role::Auditor, &namespace).await?;
        let key = field("key", SecretKey::parse(&key))?;
        let scopes = crate::api::audit::trail_scopes(&who.grants);
        let sees = move |n: &crate::domain::NamespacePath| scopes.iter().any(|s| s.covers(n));
        if !sees(&ns) {
            return Err(AppError::Forbidden);
        }
        let (at, named) = (ns.clone(), key.clone());
        let (shared, shadows) = state()?
            .db
            .read(move |c| {
                let shared = store::fingerprints::same_value(c, &at, &named)?;
                Ok((shared, store::inherited_from(c, &at, &named)?))
            })
            .await
            .map_err(store_error)?;
        let same_as: Vec<_> = shared.same_as.into_iter().filter(|(n, _)| sees(n)).collect();
        let same_as_parent = shadows.filter(|p| same_as.iter().any(|(n, k)| n == p && *k == key));
        Ok(SameValueView { same_as: same_as.into_iter().map(|(n, k)| format!("{n}/{k}")).collect(), same_as_parent })
    })
    .await
}

/// Live secrets no workload has read in the server's unused window
/// (`STRONGROOM_UNUSED_DAYS`), in namespaces the caller may see.
#[server(prefix = "/api", endpoint = "secrets/unused")]
pub async fn unused_secrets() -> Result<Vec<SecretMeta>, AppError> {
    let act = Act::new(Action::Read, "", "");
    act.run(async {
        let who = act.signed_in().await?;
        let state = state()?;
        let cutoff = state.unused_cutoff();
        let mut list = state.db.read(move |c| store::unused_secrets(c, cutoff)).await.map_err(store_error)?;
        list.retain(|m| who.can_see(&m.namespace));
        Ok(list)
    })
    .await
}

/// Every workload identity that read the value of the secret defined in
/// `namespace` (`token:NAME`, `approle:ROLE`, `jwt:ROLE`), with how often and
/// when last, last first. Names only: anyone who may see the namespace.
#[server(prefix = "/api", endpoint = "secrets/readers")]
pub async fn secret_readers(namespace: String, key: String) -> Result<Vec<ReaderView>, AppError> {
    let act = Act::new(Action::Read, &namespace, &key);
    act.run(async {
        let (_who, ns) = act.require(Role::Auditor, &namespace).await?;
        let key = field("key", SecretKey::parse(&key))?;
        state()?.db.read(move |c| Ok(crate::ssr::audit::reads::readers_of(c, &ns, &key)?)).await.map_err(store_error)
    })
    .await
}

/// Metadata and version history of a secret defined in `namespace`.
#[server(prefix = "/api", endpoint = "secrets/get")]
pub async fn get_secret(namespace: String, key: String) -> Result<SecretDetail, AppError> {
    let act = Act::new(Action::Read, &namespace, &key);
    act.run(async {
        let (_who, ns) = act.require(Role::Auditor, &namespace).await?;
        let key = field("key", SecretKey::parse(&key))?;
        state()?.db.read(move |c| store::secret_detail(c, &ns, &key)).await.map_err(store_error)
    })
    .await
}

//! Server functions for secrets. Values only ever travel inward (as
//! `WriteOnly`); every response is metadata.

use super::WriteOnly;
use crate::{
    domain::view::{SecretDetail, SecretMeta},
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
    ssr::{handler::*, store},
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
        let key = field("key", SecretKey::parse(&key))?;
        let value = value_field("value", value)?;
        let description = field("description", Description::parse(&description))?;
        let tags = field("tags", Tags::parse(&tags))?;
        if !tags.is_empty() {
            act.set_outcome_on_success(format!("ok: tags {tags}"));
        }
        let keyring = state()?.keyring.clone();
        act.write(move |c| {
            let meta = store::add_secret(c, &keyring, &ns, &key, &value, &description, who.stamp())?;
            if tags.is_empty() {
                return Ok(meta);
            }
            store::set_tags(c, &ns, &key, &tags)
        })
        .await
        .map_err(store_error)
    })
    .await
}

/// Replaces a secret's tags; empty removes them all.
#[server(prefix = "/api", endpoint = "secrets/tags")]
pub async fn set_tags(namespace: String, key: String, tags: String) -> Result<SecretMeta, AppError> {
    let act = Act::new(Action::SecretTags, &namespace, &key);
    act.run(async {
        let (_who, ns) = act.require(Role::Editor, &namespace).await?;
        let key = field("key", SecretKey::parse(&key))?;
        let tags = field("tags", Tags::parse(&tags))?;
        act.set_outcome_on_success(if tags.is_empty() { "ok: no tags".to_owned() } else { format!("ok: tags {tags}") });
        act.write(move |c| store::set_tags(c, &ns, &key, &tags)).await.map_err(store_error)
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
        let key = field("key", SecretKey::parse(&key))?;
        let value = value_field("value", value)?;
        let keyring = state()?.keyring.clone();
        act.write(move |c| store::rotate_secret(c, &keyring, &ns, &key, &value, version, who.stamp()))
            .await
            .map_err(store_error)
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
        act.write(move |c| store::set_retention(c, &ns, &key, keep)).await.map_err(store_error)
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
        act.write(move |c| store::delete_secret(c, &ns, &key, who.stamp())).await.map_err(store_error)
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
        act.write(move |c| store::restore_secret(c, &ns, &key, who.stamp())).await.map_err(store_error)
    })
    .await
}

/// Removes a deleted secret and all its versions for good. Admins only: it
/// cannot be undone.
#[server(prefix = "/api", endpoint = "secrets/purge")]
pub async fn purge_secret(namespace: String, key: String) -> Result<SecretMeta, AppError> {
    let act = Act::new(Action::SecretPurge, &namespace, &key);
    act.run(async {
        let (_who, ns) = act.require(Role::Admin, &namespace).await?;
        let key = field("key", SecretKey::parse(&key))?;
        let purged = act.write(move |c| store::purge_secret(c, &ns, &key)).await.map_err(store_error)?;
        // Its page is gone: a form post goes to the namespace (a refusal stays on the page).
        leptos_axum::redirect(&format!("/ns/{}", purged.namespace));
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
        act.write(move |c| store::restore_version(c, &keyring, &ns, &key, version, who.stamp()))
            .await
            .map_err(store_error)
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
        act.write(move |c| store::set_rotation(c, &ns, &key, rotation)).await.map_err(store_error)
    })
    .await
}

/// Live secrets overdue for rotation in the namespaces the caller may see.
#[server(prefix = "/api", endpoint = "secrets/overdue")]
pub async fn overdue_secrets() -> Result<Vec<SecretMeta>, AppError> {
    let act = Act::new(Action::Read, "", "");
    act.run(async {
        let who = act.signed_in().await?;
        let mut list = state()?.db.read(store::overdue_secrets).await.map_err(store_error)?;
        list.retain(|m| who.can_see(&m.namespace));
        Ok(list)
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

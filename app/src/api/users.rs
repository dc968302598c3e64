//! User management, for admins of every namespace.

use super::WriteOnly;
use crate::{domain::view::UserView, error::AppError};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::{
    domain::{audit::Action, Grant, Password, Role, Scope, Username},
    error,
    ssr::{access::*, store, store::accounts},
};

/// What the admin is told after granting: the grant, and a warning when its
/// namespace does not exist (a typo grants nothing anyone sees today).
#[cfg(feature = "ssr")]
async fn granted(lead: String, grant: &Grant) -> Result<String, AppError> {
    let mut message = format!("{lead} {} on {}.", grant.role, grant.scope);
    if let Scope::Subtree(ns) = grant.scope.clone() {
        let name = ns.to_string();
        let exists = state()?.db.read(move |c| store::namespace_exists(c, &ns)).await.map_err(store_error)?;
        if !exists {
            message.push_str(&format!(
                " Note: {name} does not exist yet. The grant takes effect if it is created; check the spelling."
            ));
        }
    }
    Ok(message)
}

/// Parses a new grant: a role must be chosen (there is no default), and every
/// namespace must be asked for by ticking `every` — an empty namespace alone is
/// a mistake, not "everything".
#[cfg(feature = "ssr")]
fn parse_new_grant(act: &Act, role: &str, namespace: &str, every: Option<&str>) -> Result<Grant, AppError> {
    if role.trim().is_empty() {
        return Err(AppError::validation("role", "Choose a role."));
    }
    let every = matches!(every.map(str::trim), Some("on" | "true"));
    match (namespace.trim().is_empty(), every) {
        (true, false) => {
            return Err(AppError::validation("scope", "Name a namespace, or tick Every namespace."));
        }
        (false, true) => {
            return Err(AppError::validation("scope", "Either name a namespace or tick Every namespace, not both."));
        }
        _ => {}
    }
    parse_grant(act, role, namespace)
}

/// Parses a grant; the entry then names its scope as parsed (` company` is `company`).
#[cfg(feature = "ssr")]
fn parse_grant(act: &Act, role: &str, namespace: &str) -> Result<Grant, AppError> {
    let grant = Grant { role: field("role", role.parse::<Role>())?, scope: field("scope", Scope::parse(namespace))? };
    act.set_namespace(grant.scope.as_str());
    Ok(grant)
}

/// Every user with their grants and session counts.
#[server(prefix = "/api", endpoint = "users/list")]
pub async fn list_users() -> Result<Vec<UserView>, AppError> {
    let act = Act::new(Action::Read, "", "");
    act.run(async {
        act.require_admin().await?;
        let state = state()?;
        let rows = state.rows.clone();
        state.db.read(move |c| accounts::list_users(c, &rows)).await.map_err(account_error)
    })
    .await
}

/// Adds a user with a first grant: `role` must be given; `scope` names a
/// subtree, or is empty with `every` ticked for every namespace.
#[server(prefix = "/api", endpoint = "users/add")]
pub async fn add_user(
    username: String,
    password: WriteOnly,
    role: String,
    scope: String,
    #[server(default)] every: Option<String>,
) -> Result<(), AppError> {
    let act = Act::new(Action::UserAdd, &scope, &format!("{username} as {role}"));
    act.run(async {
        let admin = act.require_admin().await?;
        let (username, password, grant) = error::every((
            field("username", Username::parse(&username)),
            field("password", Password::parse_new(password.into_inner())),
            parse_new_grant(&act, &role, &scope, every.as_deref()),
        ))?;
        let hash = state()?.auth.hasher.hash(password).await.map_err(|e| internal("hash", &e))?;
        let message = granted(format!("Added user {username} as"), &grant).await?;
        let rows = state()?.rows.clone();
        act.write(move |c| accounts::create_user(c, &rows, &username, &hash, &[grant], admin.stamp()))
            .await
            .map_err(account_error)?;
        flash(message);
        Ok(())
    })
    .await
}

/// Grants a role on a scope (as for `users/add`: `every` ticked for every namespace).
#[server(prefix = "/api", endpoint = "users/grant")]
pub async fn grant_role(
    username: String,
    role: String,
    scope: String,
    #[server(default)] every: Option<String>,
) -> Result<(), AppError> {
    let act = Act::new(Action::UserGrant, &scope, &format!("{username} as {role}"));
    act.run(async {
        let admin = act.require_admin().await?;
        let (username, grant) = error::every((
            field("username", Username::parse(&username)),
            parse_new_grant(&act, &role, &scope, every.as_deref()),
        ))?;
        let message = granted(format!("Granted {username}"), &grant).await?;
        let rows = state()?.rows.clone();
        act.write(move |c| accounts::add_grant(c, &rows, &username, &grant, admin.stamp()))
            .await
            .map_err(account_error)?;
        flash(message);
        Ok(())
    })
    .await
}

/// Revokes a role on a scope.
#[server(prefix = "/api", endpoint = "users/revoke")]
pub async fn revoke_role(username: String, role: String, scope: String) -> Result<(), AppError> {
    let act = Act::new(Action::UserRevoke, &scope, &format!("{username} as {role}"));
    act.run(async {
        act.require_admin().await?;
        let username = field("username", Username::parse(&username))?;
        let grant = parse_grant(&act, &role, &scope)?;
        let message = format!("Revoked {} on {} from {username}.", grant.role, grant.scope);
        act.write(move |c| accounts::revoke_grant(c, &username, &grant)).await.map_err(account_error)?;
        flash(message);
        Ok(())
    })
    .await
}

/// Disables (`disabled = true`, ending the user's sessions) or enables a user.
#[server(prefix = "/api", endpoint = "users/disable")]
pub async fn set_user_disabled(username: String, disabled: bool) -> Result<(), AppError> {
    let action = if disabled { Action::UserDisable } else { Action::UserEnable };
    let act = Act::new(action, "", &username);
    act.run(async {
        act.require_admin().await?;
        let username = field("username", Username::parse(&username))?;
        let message = match disabled {
            true => format!("Disabled {username}: their sessions ended."),
            false => format!("Enabled {username}."),
        };
        let rows = state()?.rows.clone();
        act.write(move |c| accounts::set_disabled(c, &rows, &username, disabled)).await.map_err(account_error)?;
        flash(message);
        Ok(())
    })
    .await
}

/// Sets a new password for a user and ends all their sessions.
#[server(prefix = "/api", endpoint = "users/reset_password")]
pub async fn reset_password(username: String, password: WriteOnly) -> Result<(), AppError> {
    let act = Act::new(Action::UserResetPassword, "", &username);
    act.run(async {
        act.require_admin().await?;
        let (username, password) = error::every((
            field("username", Username::parse(&username)),
            field("password", Password::parse_new(password.into_inner())),
        ))?;
        let hash = state()?.auth.hasher.hash(password).await.map_err(|e| internal("hash", &e))?;
        let rows = state()?.rows.clone();
        let message = format!("New password set for {username}; their sessions ended.");
        // Stamped inside the write, after its audit entry was: a restore compares the two.
        act.write(move |c| {
            let id = accounts::user_id_of(c, &username)?;
            accounts::set_password_hash(c, &rows, id, &hash, crate::ssr::clock::now(), None, true)
        })
        .await
        .map_err(account_error)?;
        flash(message);
        Ok(())
    })
    .await
}

/// Ends every session of a user.
#[server(prefix = "/api", endpoint = "users/end_sessions")]
pub async fn end_user_sessions(username: String) -> Result<(), AppError> {
    let act = Act::new(Action::UserEndSessions, "", &username);
    act.run(async {
        act.require_admin().await?;
        let username = field("username", Username::parse(&username))?;
        let message = format!("Ended every session of {username}.");
        act.write(move |c| accounts::end_sessions(c, &username).map(|_| ())).await.map_err(account_error)?;
        flash(message);
        Ok(())
    })
    .await
}

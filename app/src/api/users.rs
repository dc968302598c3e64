//! User management, for admins of every namespace.

use super::WriteOnly;
use crate::{domain::view::UserView, error::AppError};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::{
    domain::{Grant, Password, Role, Scope, Username},
    ssr::{accounts, handler::*},
};

#[cfg(feature = "ssr")]
fn parse_grant(role: &str, namespace: &str) -> Result<Grant, AppError> {
    Ok(Grant { role: field("role", role.parse::<Role>())?, scope: field("scope", Scope::parse(namespace))? })
}

/// Every user with their grants and session counts.
#[server(prefix = "/api", endpoint = "users/list")]
pub async fn list_users() -> Result<Vec<UserView>, AppError> {
    let _admin = require_admin().await?;
    state()?.db.read(accounts::list_users).await.map_err(account_error)
}

/// Adds a user with a first grant (`scope` empty: every namespace).
#[server(prefix = "/api", endpoint = "users/add")]
pub async fn add_user(username: String, password: WriteOnly, role: String, scope: String) -> Result<(), AppError> {
    let admin = require_admin().await?;
    let username = field("username", Username::parse(&username))?;
    let password = field("password", Password::parse_new(password.into_inner()))?;
    let grant = parse_grant(&role, &scope)?;
    let state = state()?;
    let hash = state.auth.hasher.hash(password).await.map_err(|e| internal("hash", &e))?;
    state
        .db
        .call(move |c| accounts::create_user(c, &username, &hash, &[grant], admin.stamp()))
        .await
        .map_err(account_error)
}

/// Grants a role on a scope.
#[server(prefix = "/api", endpoint = "users/grant")]
pub async fn grant_role(username: String, role: String, scope: String) -> Result<(), AppError> {
    let admin = require_admin().await?;
    let username = field("username", Username::parse(&username))?;
    let grant = parse_grant(&role, &scope)?;
    state()?.db.call(move |c| accounts::add_grant(c, &username, &grant, admin.stamp())).await.map_err(account_error)
}

/// Revokes a role on a scope.
#[server(prefix = "/api", endpoint = "users/revoke")]
pub async fn revoke_role(username: String, role: String, scope: String) -> Result<(), AppError> {
    let _admin = require_admin().await?;
    let username = field("username", Username::parse(&username))?;
    let grant = parse_grant(&role, &scope)?;
    state()?.db.call(move |c| accounts::revoke_grant(c, &username, &grant)).await.map_err(account_error)
}

/// Disables (`disabled = true`, ending the user's sessions) or enables a user.
#[server(prefix = "/api", endpoint = "users/disable")]
pub async fn set_user_disabled(username: String, disabled: bool) -> Result<(), AppError> {
    let _admin = require_admin().await?;
    let username = field("username", Username::parse(&username))?;
    state()?.db.call(move |c| accounts::set_disabled(c, &username, disabled)).await.map_err(account_error)
}

/// Sets a new password for a user and ends all their sessions.
#[server(prefix = "/api", endpoint = "users/reset_password")]
pub async fn reset_password(username: String, password: WriteOnly) -> Result<(), AppError> {
    let _admin = require_admin().await?;
    let username = field("username", Username::parse(&username))?;
    let password = field("password", Password::parse_new(password.into_inner()))?;
    let state = state()?;
    let hash = state.auth.hasher.hash(password).await.map_err(|e| internal("hash", &e))?;
    let now = crate::domain::Timestamp::now();
    state
        .db
        .call(move |c| {
            let id = accounts::user_id_of(c, &username)?;
            accounts::set_password_hash(c, id, &hash, now, None, true)
        })
        .await
        .map_err(account_error)
}

/// Ends every session of a user.
#[server(prefix = "/api", endpoint = "users/end_sessions")]
pub async fn end_user_sessions(username: String) -> Result<(), AppError> {
    let _admin = require_admin().await?;
    let username = field("username", Username::parse(&username))?;
    state()?.db.call(move |c| accounts::end_sessions(c, &username).map(|_| ())).await.map_err(account_error)
}

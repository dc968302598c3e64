//! AppRoles on `/admin/tokens`, for admins of every namespace (the browser's
//! side of `strongroom approle`). A secret id is shown once, as a new token
//! is: making one answers with a redirect to `/admin/tokens?issued=ID`, and the
//! page takes it from a one-time, same-user hand-over (`reveal_secret_id`).

use crate::{
    domain::token::{AppRoleView, NewSecretId},
    error::AppError,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::{
    domain::{audit::Action, token::Ttl, TokenName},
    ssr::{access::*, store::approles, store::jwt_roles, store::Stamp},
};

/// Where the forms come back to, the new secret id's hand-over named.
#[cfg(feature = "ssr")]
fn issued(id: &str) {
    leptos_axum::redirect(&format!("/admin/tokens?issued={id}"));
}

/// A secret id held for its showing: the hand-over's id, and the accessor the
/// audit entry names (restore checks the secret ids against these).
#[cfg(feature = "ssr")]
struct Held {
    id: String,
    accessor: String,
}

#[cfg(feature = "ssr")]
impl crate::ssr::access::Recorded for Held {
    fn outcome(&self) -> Option<String> {
        Some(format!("ok: accessor {}", self.accessor))
    }
}

/// Holds `next` (of role `view`) for `owner`'s one showing, in transaction `c`.
#[cfg(feature = "ssr")]
fn hold(
    c: &dyn crate::ssr::db::sql::Sql,
    handover: &crate::ssr::state::Handover<NewSecretId>,
    owner: crate::domain::UserId,
    view: &AppRoleView,
    next: approles::Issued,
) -> Result<Held, approles::AppRoleError> {
    let accessor = next.accessor.clone();
    let id = handover.put_with(c, owner, shown(view, next))?;
    Ok(Held { id: id.ok_or_else(|| approles::AppRoleError::Unshown("full".into()))?, accessor })
}

/// Every AppRole: name, role id, scope, TTLs, live secret ids and logins. Never a secret id.
#[server(prefix = "/api", endpoint = "approles/list")]
pub async fn list_approles() -> Result<Vec<AppRoleView>, AppError> {
    let act = Act::new(Action::Read, "", "");
    act.run(async {
        act.require_admin().await?;
        state()?.db.read(|c| approles::list(c, crate::ssr::clock::now())).await.map_err(approle_error)
    })
    .await
}

/// Creates AppRole `name` reading `namespace` and below (`*`: every
/// namespace), and its first secret id, shown once.
#[server(prefix = "/api", endpoint = "approles/create")]
pub async fn create_approle(
    name: String,
    namespace: String,
    token_ttl: String,
    secret_id_ttl: String,
) -> Result<(), AppError> {
    let act = Act::new(Action::AppRoleCreate, &namespace, &name);
    act.run(async {
        let admin = act.require_admin().await?;
        let or = |text: &str, default: &'static str| {
            if text.trim().is_empty() {
                default.to_owned()
            } else {
                text.to_owned()
            }
        };
        let (name, scope, token_ttl, secret_id_ttl) = crate::error::every((
            field("name", TokenName::parse_role(&name)),
            field("namespace", crate::domain::token::token_scope(&namespace)),
            field("token_ttl", Ttl::parse(&or(&token_ttl, "1h"), approles::MAX_TOKEN_TTL, false)),
            field("secret_id_ttl", Ttl::parse(&or(&secret_id_ttl, "30d"), approles::MAX_SECRET_ID_TTL, true)),
        ))?;
        let (owner, actor, rows, handover) =
            (admin.id, admin.username.to_string(), state()?.rows.clone(), state()?.new_secret_ids.clone());
        // The role, its secret id and that secret id's one showing commit together.
        let id = act
            .write(move |c| {
                let stamp = Stamp { actor: &actor, at: crate::ssr::clock::now() };
                let (view, first) = approles::create(&*c, &rows, &name, &scope, (token_ttl.0, secret_id_ttl.0), stamp)?;
                hold(&*c, &handover, owner, &view, first)
            })
            .await
            .map_err(approle_error)?;
        issued(&id.id);
        Ok(())
    })
    .await
}

#[cfg(feature = "ssr")]
fn shown(view: &AppRoleView, issued: approles::Issued) -> NewSecretId {
    NewSecretId {
        role: view.name.clone(),
        role_id: view.role_id.clone(),
        scope: view.scope.clone(),
        secret_id: issued.secret_id.to_string(),
        accessor: issued.accessor.clone(),
        expires_at: issued.expires_at,
    }
}

/// Issues another secret id for AppRole `name`, shown once.
#[server(prefix = "/api", endpoint = "approles/secret_id")]
pub async fn issue_secret_id(name: String) -> Result<(), AppError> {
    let act = Act::new(Action::AppRoleSecretId, "", &name);
    act.run(async {
        let admin = act.require_admin().await?;
        let name = field("name", TokenName::parse_role(&name))?;
        let (owner, actor, rows, handover) =
            (admin.id, admin.username.to_string(), state()?.rows.clone(), state()?.new_secret_ids.clone());
        let id = act
            .write(move |c| {
                let now = crate::ssr::clock::now();
                let next = approles::issue_secret_id(&*c, &rows, &name, Stamp { actor: &actor, at: now })?;
                let view = approles::get(&*c, &name, now)?;
                hold(&*c, &handover, owner, &view, next)
            })
            .await
            .map_err(approle_error)?;
        issued(&id.id);
        Ok(())
    })
    .await
}

/// The secret id just issued by this user, once: a second call finds nothing.
#[server(prefix = "/api", endpoint = "approles/reveal")]
pub async fn reveal_secret_id(issued: String) -> Result<Option<NewSecretId>, AppError> {
    let act = Act::new(Action::Read, "", "");
    act.run(async {
        let admin = act.require_admin().await?;
        Ok(shown_once(&state()?.new_secret_ids, admin.id, &issued).await)
    })
    .await
}

/// Revokes one secret id of AppRole `name`, named by its accessor.
#[server(prefix = "/api", endpoint = "approles/revoke_secret_id")]
pub async fn revoke_secret_id(name: String, accessor: String) -> Result<(), AppError> {
    let act = Act::new(Action::AppRoleSecretIdRevoke, "", &name);
    act.run(async {
        let admin = act.require_admin().await?;
        let name = field("name", TokenName::parse_role(&name))?;
        act.set_outcome_on_success(format!("ok: accessor {}", accessor.trim()));
        let rows = state()?.rows.clone();
        act.write(move |c| approles::revoke_secret_id(&*c, &rows, &name, &accessor, admin.stamp()))
            .await
            .map_err(approle_error)
    })
    .await
}

/// Revokes AppRole `name` at once: its secret ids and its logins' tokens too.
#[server(prefix = "/api", endpoint = "approles/revoke")]
pub async fn revoke_approle(name: String) -> Result<(), AppError> {
    let act = Act::new(Action::AppRoleRevoke, "", &name);
    act.run(async {
        let admin = act.require_admin().await?;
        let name = field("name", TokenName::parse_role(&name))?;
        let rows = state()?.rows.clone();
        act.write(move |c| approles::revoke(&*c, &rows, &name, admin.stamp()).map(|_| ())).await.map_err(approle_error)
    })
    .await
}

/// Every JWT role: issuer, audience, bound claims, scope, TTL, live logins
/// (made with `strongroom jwt-role create`). Never a token.
#[server(prefix = "/api", endpoint = "jwt_roles/list")]
pub async fn list_jwt_roles() -> Result<Vec<crate::domain::jwt::JwtRoleView>, AppError> {
    let act = Act::new(Action::Read, "", "");
    act.run(async {
        act.require_admin().await?;
        state()?.db.read(|c| jwt_roles::list(c, crate::ssr::clock::now())).await.map_err(approle_error)
    })
    .await
}

/// Revokes a JWT role at once, and the tokens of its live logins.
#[server(prefix = "/api", endpoint = "jwt_roles/revoke")]
pub async fn revoke_jwt_role(name: String) -> Result<(), AppError> {
    let act = Act::new(Action::JwtRoleRevoke, "", &name);
    act.run(async {
        let admin = act.require_admin().await?;
        let name = field("name", TokenName::parse_role(&name))?;
        let rows = state()?.rows.clone();
        act.write(move |c| jwt_roles::revoke(&*c, &rows, &name, admin.stamp()).map(|_| ())).await.map_err(approle_error)
    })
    .await
}

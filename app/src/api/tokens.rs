//! Workload tokens, for admins of every namespace. A new token is shown once:
//! creating one answers with a redirect to `/admin/tokens?created=ID`, and the
//! page takes the token from a one-time, same-user stash (`reveal_token`), so
//! it works alike with JavaScript on and off and never sits in a URL.

use crate::{
    domain::{token::NewToken, TokenView},
    error::AppError,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::{
    domain::{audit::Action, Expiry, TokenName},
    ssr::{access::*, store::tokens, store::Stamp},
};

/// Every token: name, scope, created, expires, last used, status. Never a token.
#[server(prefix = "/api", endpoint = "tokens/list")]
pub async fn list_tokens() -> Result<Vec<TokenView>, AppError> {
    let act = Act::new(Action::Read, "", "");
    act.run(async {
        act.require_admin().await?;
        state()?.db.read(|c| tokens::list(c, crate::ssr::clock::now())).await.map_err(token_error)
    })
    .await
}

/// Creates a read-only token for `namespace` and below (`*`: every
/// namespace), expiring per `expires` (`never`, `30d`, `12h`, a date).
#[server(prefix = "/api", endpoint = "tokens/create")]
pub async fn create_token(name: String, namespace: String, expires: String) -> Result<(), AppError> {
    let act = Act::new(Action::TokenCreate, &namespace, &name);
    act.run(async {
        let admin = act.require_admin().await?;
        let now = crate::ssr::clock::now();
        let (name, scope, expires_at) = crate::error::every((
            field("name", TokenName::parse_chosen(&name)),
            field("namespace", crate::domain::token::token_scope(&namespace)),
            field("expires", Expiry::parse(&expires).and_then(|e| e.at(now))),
        ))?;
        let (token, hash) = tokens::new_token().map_err(token_error)?;
        let (owner, actor, rows, handover) =
            (admin.id, admin.username.to_string(), state()?.rows.clone(), state()?.new_tokens.clone());
        // The token row and its one showing are written together: a token nobody
        // can ever see is never made.
        let id = act
            .write(move |c| {
                let view =
                    tokens::create(c, &rows, &name, &scope, expires_at, &hash, Stamp { actor: &actor, at: now })?;
                let shown = NewToken { token: token.to_string(), view };
                handover.put_with(&*c, owner, shown)?.ok_or_else(|| tokens::TokenError::Unshown("full".into()))
            })
            .await
            .map_err(token_error)?;
        leptos_axum::redirect(&format!("/admin/tokens?created={id}"));
        Ok(())
    })
    .await
}

/// The token just created by this user, once: a second call finds nothing.
#[server(prefix = "/api", endpoint = "tokens/reveal")]
pub async fn reveal_token(created: String) -> Result<Option<NewToken>, AppError> {
    let act = Act::new(Action::Read, "", "");
    act.run(async {
        let admin = act.require_admin().await?;
        Ok(shown_once(&state()?.new_tokens, admin.id, &created).await)
    })
    .await
}

/// Revokes a token at once.
#[server(prefix = "/api", endpoint = "tokens/revoke")]
pub async fn revoke_token(name: String) -> Result<TokenView, AppError> {
    let act = Act::new(Action::TokenRevoke, "", &name);
    act.run(async {
        let admin = act.require_admin().await?;
        let name = field("name", TokenName::parse(&name))?;
        let rows = state()?.rows.clone();
        act.write(move |c| tokens::revoke(c, &rows, &name, admin.stamp())).await.map_err(token_error)
    })
    .await
}

//! Webhooks, for admins of every namespace. A new signing secret is shown
//! once, like a new token: the change answers with a redirect to
//! `/admin/webhooks?created=ID`, and the page takes the secret from a
//! one-time, same-user hand-over (`reveal_webhook_secret`).

use crate::{
    domain::webhook::{DeliveryView, NewWebhook, WebhookView},
    error::AppError,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::{
    domain::{
        audit::Action,
        webhook::{refusal, Events, WebhookFormat, WebhookName, WebhookUrl},
    },
    ssr::{access::*, audit::archive::hex, store::webhooks, store::Stamp},
};

/// Every webhook: name, URL, events, format, pending and failed deliveries. Never a secret.
#[server(prefix = "/api", endpoint = "webhooks/list")]
pub async fn list_webhooks() -> Result<Vec<WebhookView>, AppError> {
    let act = Act::new(Action::Read, "", "");
    act.run(async {
        act.require_admin().await?;
        let rows = state()?.rows.clone();
        state()?.db.read(move |c| webhooks::list(c, &rows)).await.map_err(webhook_error)
    })
    .await
}

/// The newest 50 deliveries, every webhook's.
#[server(prefix = "/api", endpoint = "webhooks/log")]
pub async fn webhook_log() -> Result<Vec<DeliveryView>, AppError> {
    let act = Act::new(Action::Read, "", "");
    act.run(async {
        act.require_admin().await?;
        state()?.db.read(|c| webhooks::log(c, 50)).await.map_err(webhook_error)
    })
    .await
}

/// Adds a webhook told of `events` (blank or `*`: all) in `format` (`json`, `slack`).
#[server(prefix = "/api", endpoint = "webhooks/add")]
pub async fn add_webhook(name: String, url: String, events: String, format: String) -> Result<(), AppError> {
    let act = Act::new(Action::WebhookAdd, "", &name);
    act.run(async {
        let admin = act.require_admin().await?;
        let allow = state()?.webhook_allow.clone();
        let (name, url, events, format) = crate::error::every((
            field("name", WebhookName::parse(&name)),
            field("url", WebhookUrl::parse(&url).and_then(|u| literal_target(u, &allow))),
            field("events", Events::parse(&events)),
            field("format", WebhookFormat::parse(&format)),
        ))?;
        let (actor, now) = (admin.username.to_string(), crate::ssr::clock::now());
        with_new_secret(&act, admin.id, move |c, rows, key, secret| {
            webhooks::add(c, rows, key, (&name, &url, &events, format), secret, Stamp { actor: &actor, at: now })
        })
        .await
    })
    .await
}

/// Gives a webhook a new signing secret; the old one keeps signing beside it for a day.
#[server(prefix = "/api", endpoint = "webhooks/rotate_secret")]
pub async fn rotate_webhook_secret(name: String) -> Result<(), AppError> {
    let act = Act::new(Action::WebhookRotateSecret, "", &name);
    act.run(async {
        let admin = act.require_admin().await?;
        let name = field("name", WebhookName::parse(&name))?;
        let now = crate::ssr::clock::now();
        with_new_secret(&act, admin.id, move |c, rows, key, secret| {
            webhooks::rotate_secret(c, rows, key, &name, secret, now)
        })
        .await
    })
    .await
}

/// Makes a signing secret, runs `change` with it, and hands it to `owner`
/// once, in the same transaction (a secret nobody sees is never made); then
/// answers with the page that shows it.
#[cfg(feature = "ssr")]
async fn with_new_secret(
    act: &Act,
    owner: crate::domain::UserId,
    change: impl FnOnce(
            &crate::ssr::db::Conn,
            &crate::ssr::db::RowKey,
            &crate::ssr::crypto::SealKey,
            &[u8],
        ) -> Result<WebhookView, webhooks::WebhookError>
        + Send
        + 'static,
) -> Result<(), AppError> {
    let secret = webhooks::new_secret().map_err(webhook_error)?;
    let (rows, key, handover) = (state()?.rows.clone(), state()?.webhook_key.clone(), state()?.new_webhooks.clone());
    let id = act
        .write(move |c| {
            let view = change(c, &rows, &key, &secret)?;
            handover.put_with(&*c, owner, NewWebhook { view, secret: hex(&secret) })?.ok_or_else(full)
        })
        .await
        .map_err(webhook_error)?;
    leptos_axum::redirect(&format!("/admin/webhooks?created={id}"));
    Ok(())
}

/// The signing secret just made by this user, once: a second call finds nothing.
#[server(prefix = "/api", endpoint = "webhooks/reveal")]
pub async fn reveal_webhook_secret(created: String) -> Result<Option<NewWebhook>, AppError> {
    let act = Act::new(Action::Read, "", "");
    act.run(async {
        let admin = act.require_admin().await?;
        Ok(shown_once(&state()?.new_webhooks, admin.id, &created).await)
    })
    .await
}

/// Removes a webhook and its deliveries.
#[server(prefix = "/api", endpoint = "webhooks/remove")]
pub async fn remove_webhook(name: String) -> Result<(), AppError> {
    let act = Act::new(Action::WebhookRemove, "", &name);
    act.run(async {
        act.require_admin().await?;
        let name = field("name", WebhookName::parse(&name))?;
        act.write(move |c| webhooks::remove(c, &name)).await.map_err(webhook_error)
    })
    .await
}

/// A URL whose host is an address is judged at once; a name is judged each
/// time it is resolved, at delivery (the log says why one is refused).
#[cfg(feature = "ssr")]
fn literal_target(url: WebhookUrl, allow: &[crate::domain::webhook::Cidr]) -> Result<WebhookUrl, String> {
    match url.host().parse::<std::net::IpAddr>() {
        Ok(ip) => match refusal(ip, allow) {
            Some(why) => Err(format!("Webhooks are not delivered to {ip}: {why}.")),
            None => Ok(url),
        },
        Err(_) => Ok(url),
    }
}

#[cfg(feature = "ssr")]
fn full() -> webhooks::WebhookError {
    webhooks::WebhookError::Store(crate::ssr::store::StoreError::Database(crate::ssr::db::sql::SqlError::Type(
        "too many secrets are waiting to be shown; try again shortly".into(),
    )))
}

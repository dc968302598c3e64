//! `strongroom webhook add | list | remove | rotate-secret`: webhooks from
//! the command line, on the data directory (like `token`), audited as
//! `(command line)`. A new signing secret is printed once (hex).

use super::{local, RunError};
use crate::config::KeyArgs;
use app::{
    domain::{
        audit::{Action, OK},
        webhook::{Events, WebhookFormat, WebhookName, WebhookUrl},
    },
    ssr::{
        audit::archive::hex,
        store::{webhooks, Stamp},
    },
};
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum WebhookCommand {
    /// Add a webhook; prints its signing secret (only it) once.
    Add {
        /// Its name (2 to 64 of a-z 0-9 . _ -).
        name: String,
        /// Where to POST: https://… (http:// too; loopback and private addresses only
        /// when STRONGROOM_WEBHOOK_ALLOW_CIDRS lists them, on the server that delivers).
        url: String,
        /// Events, separated by commas (default: all): secret.added, secret.rotated,
        /// secret.deleted, secret.restored, secret.purged, token.created, token.revoked,
        /// secret.overdue, required.missing.
        #[arg(long, default_value = "*")]
        events: String,
        /// json (signed, names only) or slack (a message Slack and Mattermost accept).
        #[arg(long, default_value = "json")]
        format: String,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// List webhooks: name, URL, events, format, deliveries waiting and given up.
    List {
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Remove a webhook and its deliveries.
    Remove {
        name: String,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Give a webhook a new signing secret (printed once); the old one keeps signing
    /// beside it (a second v1=) for a day, while receivers switch.
    RotateSecret {
        name: String,
        #[command(flatten)]
        key: KeyArgs,
    },
}

const ACTOR: &str = "(command line)";

pub async fn run(command: WebhookCommand) -> Result<(), RunError> {
    let user = |e: &dyn std::fmt::Display| RunError::User(e.to_string());
    match command {
        WebhookCommand::Add { name, url, events, format, key } => {
            let name = WebhookName::parse(&name).map_err(|e| user(&e))?;
            let url = WebhookUrl::parse(&url).map_err(|e| user(&format!("URL: {e}")))?;
            let events = Events::parse(&events).map_err(|e| user(&format!("--events: {e}")))?;
            let format = WebhookFormat::parse(&format).map_err(|e| user(&format!("--format: {e}")))?;
            let state = local::open(&key, false).await?;
            let (secret, seal) = (webhooks::new_secret().map_err(|e| user(&e))?, state.webhook_key.clone());
            let shown = hex(&secret);
            let record = local::entry(Action::WebhookAdd, "", &name, OK.into());
            let view = local::audited(
                &state,
                record,
                |_| None,
                move |c, rows| {
                    let stamp = Stamp { actor: ACTOR, at: app::ssr::clock::now() };
                    webhooks::add(c, rows, &seal, (&name, &url, &events, format), &secret, stamp)
                },
            )
            .await?;
            eprintln!(
                "added webhook {} for {} ({}); its signing secret is shown only now:",
                view.name, view.url, view.events
            );
            println!("{shown}");
            Ok(())
        }
        WebhookCommand::List { key } => {
            let state = local::open(&key, false).await?;
            let rows = state.rows.clone();
            let list = state.db.read(move |c| webhooks::list(c, &rows)).await.map_err(|e| user(&e))?;
            println!(
                "{:<24} {:<48} {:<40} {:<6} {:>7} {:>8}",
                "NAME", "URL", "EVENTS", "FORMAT", "WAITING", "GIVEN UP"
            );
            for w in list {
                let (name, url, events) = (w.name.to_string(), w.url.to_string(), w.events.to_string());
                println!("{name:<24} {url:<48} {events:<40} {:<6} {:>7} {:>8}", w.format.as_str(), w.pending, w.failed);
            }
            Ok(())
        }
        WebhookCommand::Remove { name, key } => {
            let name = WebhookName::parse(&name).map_err(|e| user(&e))?;
            let state = local::open(&key, false).await?;
            let (record, gone) = (local::entry(Action::WebhookRemove, "", &name, OK.into()), name.clone());
            local::audited(&state, record, |_| None, move |c, _| webhooks::remove(c, &gone)).await?;
            eprintln!("removed webhook {name}");
            Ok(())
        }
        WebhookCommand::RotateSecret { name, key } => {
            let name = WebhookName::parse(&name).map_err(|e| user(&e))?;
            let state = local::open(&key, false).await?;
            let (secret, seal) = (webhooks::new_secret().map_err(|e| user(&e))?, state.webhook_key.clone());
            let shown = hex(&secret);
            let record = local::entry(Action::WebhookRotateSecret, "", &name, OK.into());
            let view = local::audited(
                &state,
                record,
                |_| None,
                move |c, rows| webhooks::rotate_secret(c, rows, &seal, &name, &secret, app::ssr::clock::now()),
            )
            .await?;
            eprintln!(
                "webhook {} has a new signing secret, shown only now; the old one signs too until {}:",
                view.name,
                view.previous_until.map_or_else(String::new, |t| t.to_string())
            );
            println!("{shown}");
            Ok(())
        }
    }
}

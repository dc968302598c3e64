//! Importing a `.env` file into a namespace from the browser, in two steps
//! that work alike with JavaScript on and off:
//! 1. `import/preview` parses the pasted file and holds it on the server (the
//!    stash, this user only, a few minutes), then redirects to
//!    `/ns/{ns}?import=ID`, where `import/plan` lists what would change by key
//!    name only — the comparison with stored values is made on the server;
//! 2. `import/apply` applies it, all or nothing, one audit entry per key.

use super::WriteOnly;
use crate::{domain::view::ImportPlan, error::AppError};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::{
    domain::{audit::Action, Role},
    ssr::{
        access::*,
        audit::Actor,
        db::{run_blocking, sql::SqlError},
        formats::{self, Format},
        store::import,
    },
};

#[cfg(feature = "ssr")]
const EXPIRED: &str = "This import preview has expired or was already applied. Paste the file again.";

/// Parses `content` (format `auto`, `dotenv`, `kestra`, `prefect` or `json`)
/// and redirects to its names-only preview.
#[server(prefix = "/api", endpoint = "import/preview")]
pub async fn preview_import(namespace: String, content: WriteOnly, format: String) -> Result<(), AppError> {
    let act = Act::new(Action::SecretImport, &namespace, "");
    act.run(async {
        let (who, ns) = act.require(Role::Editor, &namespace).await?;
        let format = match format.trim() {
            "" | "auto" => None,
            name => Some(field("format", name.parse::<Format>())?),
        };
        // A preview tells whether a pasted value equals the stored one: each is
        // audited and counted, so that it cannot serve to guess values.
        let state = state()?;
        let (limit, now) = (who.id.to_string(), crate::ssr::clock::instant());
        if !state.auth.previews.attempt(&limit, now) {
            return Err(AppError::RateLimited);
        }
        // Parsing a large file takes a while: off the runtime, so reads go on meanwhile.
        let text = zeroize::Zeroizing::new(content.into_inner());
        let (text, parsed) = run_blocking(move || {
            let parsed = formats::parse(&text, format);
            (text, parsed)
        })
        .await;
        let parsed = field("content", parsed)?;
        let target = ns.clone();
        let keyring = state.keyring.clone();
        let (format, entries) = (parsed.format, parsed.entries);
        let plan =
            state.db.read(move |c| import::plan(c, &keyring, &target, format, &entries)).await.map_err(import_error)?;
        act.set_outcome_on_success(format!(
            "ok: previewed, would add {}, rotate {}, leave {} unchanged: {}",
            plan.adds.len(),
            plan.rotates.len(),
            plan.unchanged.len(),
            import::names(&plan.unchanged)
        ));
        act.write(|_| Ok::<_, SqlError>(())).await.map_err(|e| database_error("import preview", &e))?;
        // Held as pasted (never as expanded values), counted in bytes.
        let pending = import::Pending { namespace: ns.clone(), format, text };
        let bytes = pending.bytes();
        let id = state.imports.put(who.id, (pending, plan), bytes).await.ok_or_else(|| {
            AppError::conflict(
                None,
                "Too many imports are waiting to be applied on this server. Try again in a few minutes.",
            )
        })?;
        leptos_axum::redirect(&format!("/ns/{ns}?import={id}"));
        Ok(())
    })
    .await
}

/// The preview of the caller's pending import `id` into `namespace`, if it is still held.
#[server(prefix = "/api", endpoint = "import/plan")]
pub async fn pending_import(namespace: String, id: String) -> Result<Option<ImportPlan>, AppError> {
    let act = Act::new(Action::Read, &namespace, "");
    act.run(async {
        let (who, ns) = act.require(Role::Editor, &namespace).await?;
        Ok(state()?
            .imports
            .peek(who.id, &id, |(pending, plan)| (pending.namespace == ns).then(|| plan.clone()))
            .await
            .flatten())
    })
    .await
}

/// Applies the caller's pending import `id`: every key added or rotated, or none.
#[server(prefix = "/api", endpoint = "import/apply")]
pub async fn apply_import(namespace: String, id: String) -> Result<ImportPlan, AppError> {
    let act = Act::new(Action::SecretImport, &namespace, "");
    act.run(async {
        let (who, ns) = act.require(Role::Editor, &namespace).await?;
        let state = state()?;
        let pending = match state.imports.take(who.id, &id).await {
            Some((pending, _)) if pending.namespace == ns => pending,
            _ => return Err(AppError::conflict(None, EXPIRED)),
        };
        // Read again exactly as the preview read it (same text, same format).
        let format = pending.format;
        let parsed = run_blocking(move || formats::parse(&pending.text, Some(format))).await;
        let entries = parsed.map_err(|e| internal("import apply: the previewed text no longer parses", &e))?.entries;
        let (keyring, chain, client) = (state.keyring.clone(), state.audit.clone(), client());
        let (actor, by) = (who.username.to_string(), Actor::User(who.username.clone()));
        let target = ns.clone();
        let plan = act
            .write(move |c| {
                let stamp = crate::ssr::store::Stamp { actor: &actor, at: crate::ssr::clock::now() };
                import::apply(c, &keyring, &chain, &target, format, &entries, stamp, (&by, &client))
            })
            .await
            .map_err(import_error)?;
        leptos_axum::redirect(&format!("/ns/{ns}"));
        Ok(plan)
    })
    .await
}

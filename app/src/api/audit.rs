//! The audit trail, for auditors and admins, limited to the namespaces their
//! auditor or admin grants cover. (The CSV and JSON Lines exports are plain
//! GET routes in `server/src/trail_export.rs`, since a download is a navigation.)
// `list_audit` takes the filter form's fields one by one, as the browser
// posts them (the client stub the macro makes for the browser build too).
#![allow(clippy::too_many_arguments)]

use crate::{
    domain::{audit::AuditPage, view::ReadSummary},
    error::AppError,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::{
    domain::{
        audit::{Action, AuditFilter},
        Scope,
    },
    ssr::{access::*, audit},
};

/// Entries shown per page.
pub const PAGE_SIZE: usize = 50;

/// The scopes in which `grants` may read the trail (see `Grant::reads_trail`).
/// Empty: forbidden.
#[cfg(feature = "ssr")]
pub fn trail_scopes(grants: &[crate::domain::Grant]) -> Vec<Scope> {
    grants.iter().filter(|g| g.reads_trail()).map(|g| g.scope.clone()).collect()
}

/// Parses the filter form, naming the field at fault.
#[cfg(feature = "ssr")]
pub fn parse_filter(
    namespace: &str,
    actor: &str,
    action: &str,
    from: &str,
    to: &str,
    key: &str,
    outcome: &str,
) -> Result<AuditFilter, AppError> {
    AuditFilter::parse(namespace, actor, action, from, to)
        .and_then(|filter| filter.with_key(key))
        .and_then(|filter| filter.with_outcome(outcome))
        .map_err(|(field, message)| AppError::validation(field, message))
}

/// One page of the filtered trail, newest first, older than entry `before`.
#[server(prefix = "/api", endpoint = "audit/list")]
pub async fn list_audit(
    namespace: String,
    actor: String,
    action: String,
    from: String,
    to: String,
    before: Option<i64>,
    /// Only entries about this secret key (or username).
    key: Option<String>,
    /// `ok`, `refused` or empty: any outcome.
    #[server(default)]
    outcome: Option<String>,
) -> Result<AuditPage, AppError> {
    let act = Act::new(Action::Read, &namespace, "");
    act.run(async {
        let who = act.signed_in().await?;
        let scopes = trail_scopes(&who.grants);
        if scopes.is_empty() {
            return Err(AppError::Forbidden);
        }
        let filter = parse_filter(
            &namespace,
            &actor,
            &action,
            &from,
            &to,
            key.as_deref().unwrap_or_default(),
            outcome.as_deref().unwrap_or_default(),
        )?;
        state()?
            .db
            .read(move |c| audit::page(c, &filter, &scopes, before, PAGE_SIZE))
            .await
            .map_err(|e| internal("audit page", &e))
    })
    .await
}

/// Every secret one workload identity (`token:NAME`, `approle:ROLE`,
/// `jwt:ROLE`) read, with how often and when last — limited, like the trail,
/// to the namespaces the caller's auditor or admin grants cover.
#[server(prefix = "/api", endpoint = "audit/reader")]
pub async fn reader_reads(reader: String) -> Result<Vec<ReadSummary>, AppError> {
    let act = Act::new(Action::Read, "", "");
    act.run(async {
        let who = act.signed_in().await?;
        let scopes = trail_scopes(&who.grants);
        if scopes.is_empty() {
            return Err(AppError::Forbidden);
        }
        let reader = reader.trim().to_owned();
        if reader.is_empty() || reader.chars().count() > 256 {
            return Err(AppError::validation("reader", "Name a token or role, e.g. token:kestra-prod."));
        }
        let mut list = state()?.db.read(move |c| Ok(audit::reads::read_by(c, &reader)?)).await.map_err(store_error)?;
        list.retain(|r| scopes.iter().any(|s| s.covers(&r.namespace)));
        Ok(list)
    })
    .await
}

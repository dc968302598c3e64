//! Server functions for namespaces.

use crate::{
    domain::view::{CompletenessMatrix, NamespaceList, NamespaceSummary, NamespaceView, RequiredView, SearchResults},
    error::AppError,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::{
    domain::{
        audit::Action,
        view::{EffectiveSecret, SecretFilter, SEARCH_LIMIT},
        Description, NamespacePath, Role,
    },
    ssr::{access::*, store},
};

/// Creates a namespace (and any missing ancestors).
#[server(prefix = "/api", endpoint = "namespaces/create")]
pub async fn create_namespace(namespace: String, description: String) -> Result<NamespaceSummary, AppError> {
    let act = Act::new(Action::NamespaceCreate, &namespace, "");
    act.run(async {
        let (who, ns) = act.require(Role::Editor, &namespace).await?;
        let description = field("description", Description::parse(&description))?;
        // Missing parents are created too: the caller's grants must cover them as well.
        let target = ns.clone();
        let missing = state()?.db.read(move |c| store::missing_ancestors(c, &target)).await.map_err(store_error)?;
        for parent in &missing {
            who.check(Role::Editor, parent).map_err(|_| AppError::Forbidden)?;
        }
        if !missing.is_empty() {
            let names: Vec<&str> = missing.iter().map(NamespacePath::as_str).collect();
            act.set_outcome_on_success(format!("ok: also created {}", names.join(", ")));
        }
        let made = act
            .write(move |c| store::create_namespace(c, &ns, &description, who.stamp()))
            .await
            .map_err(store_error)?;
        // A form post goes to the new namespace.
        leptos_axum::redirect(&format!("/ns/{}", made.path));
        flash(format!("Created {}.", made.path));
        Ok(made)
    })
    .await
}

/// Changes a namespace's description.
#[server(prefix = "/api", endpoint = "namespaces/describe")]
pub async fn describe_namespace(namespace: String, description: String) -> Result<NamespaceSummary, AppError> {
    let act = Act::new(Action::NamespaceDescribe, &namespace, "");
    act.run(async {
        let (_who, ns) = act.require(Role::Editor, &namespace).await?;
        let description = field("description", Description::parse(&description))?;
        let done = act.write(move |c| store::describe_namespace(c, &ns, &description)).await.map_err(store_error)?;
        flash(format!("Description of {} saved.", done.path));
        Ok(done)
    })
    .await
}

/// Deletes an empty namespace (no secrets, no children): an admin's call.
#[server(prefix = "/api", endpoint = "namespaces/delete")]
pub async fn delete_namespace(namespace: String) -> Result<NamespaceSummary, AppError> {
    let act = Act::new(Action::NamespaceDelete, &namespace, "");
    act.run(async {
        let (_who, ns) = act.require(Role::Admin, &namespace).await?;
        let deleted = act.write(move |c| store::delete_namespace(c, &ns)).await.map_err(store_error)?;
        // Its page is gone: a form post goes home (a refusal stays on the page, with its reason).
        leptos_axum::redirect("/");
        flash(format!("Deleted namespace {}.", deleted.path));
        Ok(deleted)
    })
    .await
}

/// Namespaces on one page of the tree: however many exist, a page stays small.
pub const TREE_PAGE: usize = 200;

/// The namespaces the caller's grants cover, in tree order, with secret counts:
/// a page of [`TREE_PAGE`] starting after `after` (from the start without it).
#[server(prefix = "/api", endpoint = "namespaces/list")]
pub async fn list_namespaces(after: Option<String>) -> Result<NamespaceList, AppError> {
    let act = Act::new(Action::Read, "", "");
    act.run(async {
        let who = act.signed_in().await?;
        let after = after.filter(|a| !a.is_empty()).map(|a| field("after", NamespacePath::parse(&a))).transpose()?;
        let mut list = state()?.db.read(store::list_namespaces).await.map_err(store_error)?;
        list.retain(|n| who.can_see(&n.path));
        let total = list.len() as u32;
        let start = after.map_or(0, |after| list.partition_point(|n| n.path.tree_cmp(&after).is_le()));
        let mut namespaces: Vec<_> = list.into_iter().skip(start).take(TREE_PAGE + 1).collect();
        let next = (namespaces.len() > TREE_PAGE).then(|| {
            namespaces.truncate(TREE_PAGE);
            namespaces[TREE_PAGE - 1].path.clone()
        });
        Ok(NamespaceList { namespaces, total, next })
    })
    .await
}

/// Namespaces and secret keys whose name contains `q`, among the namespaces
/// the caller may see ("where is STRIPE_KEY defined?"). Names only.
#[server(prefix = "/api", endpoint = "search")]
pub async fn search(q: String) -> Result<SearchResults, AppError> {
    let act = Act::new(Action::Read, "", "");
    act.run(async {
        let who = act.signed_in().await?;
        let text = q.trim().to_owned();
        if text.is_empty() {
            return Ok(SearchResults::default());
        }
        // Every live name is scanned (then kept if the caller may see it): one
        // character would match nearly all of them, for no use.
        match text.chars().count() {
            0..2 => return Err(AppError::validation("q", "Search for at least 2 characters.")),
            101.. => return Err(AppError::validation("q", "Search for at most 100 characters.")),
            _ => {}
        }
        let SearchResults { mut namespaces, mut secrets, .. } =
            state()?.db.read(move |c| store::search(c, &text)).await.map_err(store_error)?;
        namespaces.retain(|ns| who.can_see(ns));
        secrets.retain(|(ns, _)| who.can_see(ns));
        let truncated = namespaces.len() > SEARCH_LIMIT || secrets.len() > SEARCH_LIMIT;
        namespaces.truncate(SEARCH_LIMIT);
        secrets.truncate(SEARCH_LIMIT);
        Ok(SearchResults { namespaces, secrets, truncated })
    })
    .await
}

/// A namespace's effective secrets (metadata only; one page of those `q`
/// and `status` match, see [`SecretFilter`]), deleted secrets and children.
#[server(prefix = "/api", endpoint = "namespaces/get")]
pub async fn get_namespace(
    namespace: String,
    #[server(default)] q: String,
    #[server(default)] status: String,
    #[server(default)] page: u32,
) -> Result<NamespaceView, AppError> {
    let act = Act::new(Action::Read, &namespace, "");
    act.run(async {
        let (who, ns) = act.require(Role::Auditor, &namespace).await?;
        let filter = SecretFilter::parse(&q, &status).map_err(|(f, m)| AppError::validation(f, m))?;
        let filter = filter.unused_before(state()?.unused_cutoff());
        let scopes = crate::api::audit::trail_scopes(&who.grants);
        let audits = move |n: &NamespacePath| scopes.iter().any(|s| s.covers(n));
        // What the caller may not see is blanked before filtering (the filter must
        // not find by it) and again once the page's metadata is read in full.
        let blank = move |secrets: Vec<EffectiveSecret>| -> Vec<EffectiveSecret> {
            let visible = |s: &EffectiveSecret| who.can_see(&s.meta.namespace);
            secrets.into_iter().map(|s| if visible(&s) { s } else { s.outside_grants() }).collect()
        };
        let view = state()?
            .db
            .read(move |c| {
                let mut view = store::namespace_listing(c, &ns)?;
                view.effective = blank(view.effective);
                let mut view = view.window(&filter, page);
                store::fill_metas(c, &mut view.effective)?;
                view.effective = blank(view.effective);
                // "reused": only to those who may audit both sides (equality is an oracle).
                for s in view.effective.iter_mut().filter(|s| audits(&s.meta.namespace)) {
                    let shared = store::fingerprints::same_value(c, &s.meta.namespace, &s.meta.key)?;
                    s.reused = shared.same_as.iter().any(|(other, _)| audits(other));
                }
                Ok(view)
            })
            .await
            .map_err(store_error)?;
        Ok(view)
    })
    .await
}

/// The keys a namespace requires (its own and its parents'), each with where
/// it is defined, if anywhere. Names only: anyone who may see the namespace.
#[server(prefix = "/api", endpoint = "namespaces/required")]
pub async fn required_keys(namespace: String) -> Result<Vec<RequiredView>, AppError> {
    let act = Act::new(Action::Read, &namespace, "");
    act.run(async {
        let (_who, ns) = act.require(Role::Auditor, &namespace).await?;
        let state = state()?;
        let rows = state.rows.clone();
        state.db.read(move |c| store::required::status(c, &rows, &ns)).await.map_err(store_error)
    })
    .await
}

/// The completeness matrix of the subtree under a namespace: each namespace ×
/// each key required anywhere in it (defined here, inherited, missing,
/// overdue). Names only: anyone who may see the subtree's root.
#[server(prefix = "/api", endpoint = "namespaces/completeness")]
pub async fn completeness(namespace: String) -> Result<CompletenessMatrix, AppError> {
    let act = Act::new(Action::Read, &namespace, "");
    act.run(async {
        let (_who, ns) = act.require(Role::Auditor, &namespace).await?;
        let state = state()?;
        let rows = state.rows.clone();
        state.db.read(move |c| store::required::matrix(c, &rows, &ns)).await.map_err(store_error)
    })
    .await
}

/// Declares keys required in a namespace and every namespace under it.
#[server(prefix = "/api", endpoint = "namespaces/require")]
pub async fn require_keys(namespace: String, #[server(default)] keys: String) -> Result<(), AppError> {
    let act = Act::new(Action::NamespaceRequire, &namespace, keys.trim());
    act.run(async {
        let (who, ns) = act.require(Role::Editor, &namespace).await?;
        let keys = field("keys", store::required::parse_keys(&keys))?;
        let rows = state()?.rows.clone();
        act.write(move |c| store::required::require(c, &rows, &ns, &keys, who.stamp())).await.map_err(store_error)?;
        flash("Required keys saved.");
        Ok(())
    })
    .await
}

/// No longer requires `key` in the namespace (a parent's requirement stays).
#[server(prefix = "/api", endpoint = "namespaces/unrequire")]
pub async fn unrequire_key(namespace: String, key: String) -> Result<(), AppError> {
    let act = Act::new(Action::NamespaceRequire, &namespace, &key);
    act.run(async {
        let (_who, ns) = act.require(Role::Editor, &namespace).await?;
        let keys = field("key", store::required::parse_keys(&key))?;
        act.write(move |c| store::required::unrequire(c, &ns, &keys)).await.map_err(store_error)?;
        flash(format!("{key} is no longer required here."));
        Ok(())
    })
    .await
}

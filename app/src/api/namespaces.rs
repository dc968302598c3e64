//! Server functions for namespaces.

use crate::{
    domain::view::{NamespaceSummary, NamespaceView},
    error::AppError,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::{
    domain::{audit::Action, Description, NamespacePath, Role},
    ssr::{handler::*, store},
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
        act.write(move |c| store::create_namespace(c, &ns, &description, who.stamp())).await.map_err(store_error)
    })
    .await
}

/// The namespaces the caller's grants cover, in tree order, with secret counts.
#[server(prefix = "/api", endpoint = "namespaces/list")]
pub async fn list_namespaces() -> Result<Vec<NamespaceSummary>, AppError> {
    let act = Act::new(Action::Read, "", "");
    act.run(async {
        let who = act.signed_in().await?;
        let mut list = state()?.db.read(store::list_namespaces).await.map_err(store_error)?;
        list.retain(|n| who.can_see(&n.path));
        Ok(list)
    })
    .await
}

/// A namespace's effective secrets (metadata only), deleted secrets and children.
#[server(prefix = "/api", endpoint = "namespaces/get")]
pub async fn get_namespace(namespace: String) -> Result<NamespaceView, AppError> {
    let act = Act::new(Action::Read, &namespace, "");
    act.run(async {
        let (who, ns) = act.require(Role::Auditor, &namespace).await?;
        let mut view = state()?.db.read(move |c| store::namespace_view(c, &ns)).await.map_err(store_error)?;
        view.effective = view
            .effective
            .into_iter()
            .map(|secret| if who.can_see(&secret.meta.namespace) { secret } else { secret.outside_grants() })
            .collect();
        Ok(view)
    })
    .await
}

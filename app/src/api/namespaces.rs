//! Server functions for namespaces.

use crate::{
    domain::view::{NamespaceSummary, NamespaceView},
    error::AppError,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::{
    domain::{Description, NamespacePath},
    ssr::{handler::*, store},
};

/// Creates a namespace (and any missing ancestors).
#[server(prefix = "/api", endpoint = "namespaces/create")]
pub async fn create_namespace(namespace: String, description: String) -> Result<NamespaceSummary, AppError> {
    let who = caller()?;
    let ns = field("namespace", NamespacePath::parse(&namespace))?;
    let description = field("description", Description::parse(&description))?;
    state()?.db.call(move |c| store::create_namespace(c, &ns, &description, who.stamp())).await.map_err(store_error)
}

/// Every namespace, in tree order, with its secret count.
#[server(prefix = "/api", endpoint = "namespaces/list")]
pub async fn list_namespaces() -> Result<Vec<NamespaceSummary>, AppError> {
    let _who = caller()?;
    state()?.db.call(|c| store::list_namespaces(c)).await.map_err(store_error)
}

/// A namespace's effective secrets (metadata only), deleted secrets and children.
#[server(prefix = "/api", endpoint = "namespaces/get")]
pub async fn get_namespace(namespace: String) -> Result<NamespaceView, AppError> {
    let _who = caller()?;
    let ns = field("namespace", NamespacePath::parse(&namespace))?;
    state()?.db.call(move |c| store::namespace_view(c, &ns)).await.map_err(store_error)
}

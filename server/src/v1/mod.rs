//! The workload API under `/v1`: the native JSON API (`native`) and the read
//! surface of Vault / OpenBao KV v2 (`vault`). Both are thin: token checks,
//! scope rules and the audit of every value read live in
//! `app::ssr::access::workload::Request`, which both call. A session cookie opens
//! nothing here: values never reach a browser session.

pub mod approle;
pub mod check;
pub mod jwt;
mod login;
pub mod native;
pub mod vault;

use app::ssr::{access::workload, state::AppState};
use axum::{
    extract::ConnectInfo,
    http::{header, HeaderMap},
    routing::{any, get, post},
    Extension, Router,
};
use std::{net::SocketAddr, sync::Arc};

/// Every `/v1` route.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/v1/namespaces/{namespace}/secrets/{key}", get(native::secret))
        .route("/v1/namespaces/{namespace}/export", get(native::export))
        .route("/v1/namespaces/{namespace}/check", get(check::check))
        .route("/v1/sys/internal/ui/mounts", get(vault::mount))
        .route("/v1/sys/internal/ui/mounts/{*path}", get(vault::mount))
        .route("/v1/auth/token/lookup-self", get(vault::lookup_self))
        .route("/v1/auth/approle/login", post(approle::login).put(approle::login))
        .route("/v1/auth/jwt/login", post(jwt::login).put(jwt::login))
        .route("/v1/secret/data/{*path}", any(vault::data))
        .route("/v1/secret/metadata", any(vault::metadata_root))
        .route("/v1/secret/metadata/", any(vault::metadata_root))
        .route("/v1/secret/metadata/{*path}", any(vault::metadata))
        .route("/v1/{*rest}", any(vault::unknown))
        .layer(Extension(Arc::new(crate::jwks::Jwks::new())))
        .with_state(state)
}

/// The token a request presents: `Authorization: Bearer T`, or for Vault
/// clients `X-Vault-Token: T` first (as Vault does: a proxy in front may set
/// its own `Authorization`).
fn presented(headers: &HeaderMap, vault_header: bool) -> Option<String> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
    let vault = vault_header.then(|| headers.get("x-vault-token").and_then(|v| v.to_str().ok())).flatten();
    vault.or(bearer).map(str::to_owned)
}

/// A workload request on behalf of the client at `addr`.
fn request<'a>(
    state: &'a AppState,
    addr: &ConnectInfo<SocketAddr>,
    namespace: &str,
    key: &str,
) -> workload::Request<'a> {
    workload::Request { state, client: addr.0.ip().to_string(), namespace: namespace.to_owned(), key: key.to_owned() }
}

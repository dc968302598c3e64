//! The read surface of Vault / OpenBao's KV v2 engine at mount `secret`, so
//! that existing clients (the `bao`/`vault` CLI, hvac, Vault Agent, envconsul,
//! External Secrets Operator, Kestra's Vault secret manager in read-only mode)
//! read Strongroom unchanged. Shapes and gotchas: `docs/vault-kv2.md`.
//!
//! Namespace `a.b.c` is path `a/b/c`; reading a namespace's path returns its
//! effective secrets as one map. That map's `version` grows with every change
//! to a secret in the namespace or an ancestor (`store::map_version`), and
//! only the current map can be read. Writes answer 405.

use super::{presented, request};
use app::{
    domain::{view::NamespaceSummary, NamespacePath, Scope, Timestamp},
    ssr::{
        access::{
            read_store_error,
            workload::{ReadError, Request, Resolved, Work, Workload},
        },
        state::AppState,
        store,
    },
};
use axum::{
    extract::{ConnectInfo, Path, Query, State},
    http::{header, HeaderMap, Method, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::{
    collections::{BTreeSet, HashMap},
    net::SocketAddr,
};

const MOUNT: &str = "secret";

/// `Content-Type` exactly `application/json`: hvac parses error bodies only then.
pub(super) fn reply(status: StatusCode, body: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

pub(super) fn errors(status: StatusCode, messages: &[&str]) -> Response {
    reply(status, &json!({ "errors": messages }))
}

/// Vault's envelope around every successful answer (fields in the order
/// `json!` wrote them before: alphabetical).
#[derive(Serialize)]
struct Envelope<D: Serialize> {
    auth: Option<()>,
    data: D,
    lease_duration: u32,
    lease_id: &'static str,
    mount_type: &'static str,
    renewable: bool,
    request_id: String,
    warnings: Option<()>,
    wrap_info: Option<()>,
}

fn wrapped(data: impl Serialize) -> Response {
    let body = Envelope {
        auth: None,
        data,
        lease_duration: 0,
        lease_id: "",
        mount_type: "kv",
        renewable: false,
        request_id: request_id(),
        warnings: None,
        wrap_info: None,
    };
    match serde_json::to_vec(&body) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// A random (version 4) UUID, as Vault gives every answer.
pub(super) fn request_id() -> String {
    let mut b = [0u8; 16];
    let _ = getrandom::fill(&mut b);
    app::ssr::crypto::uuid_v4(b)
}

/// A secret map's data: its values (borrowed, never copied) and metadata.
#[derive(Serialize)]
struct SecretData<'a> {
    #[serde(serialize_with = "values")]
    data: &'a [Resolved],
    metadata: Metadata,
}

#[derive(Serialize)]
struct Metadata {
    created_time: String,
    custom_metadata: Option<()>,
    deletion_time: &'static str,
    destroyed: bool,
    version: u64,
}

/// `{"KEY":"value",…}` in key order (the values come sorted by key).
fn values<S: serde::Serializer>(all: &&[Resolved], out: S) -> Result<S::Ok, S::Error> {
    out.collect_map(all.iter().map(|d| (d.key.as_str(), d.value.expose())))
}

/// Vault's answer to a refusal: a bad, expired or revoked token, or a path
/// outside its scope, is 403 "permission denied" (hvac raises on 401); a
/// missing path is 404 with no message.
fn refused(e: &ReadError) -> Response {
    match e {
        ReadError::NamespaceNotFound | ReadError::SecretNotFound | ReadError::BadName { .. } => {
            errors(StatusCode::NOT_FOUND, &[])
        }
        ReadError::Internal => errors(StatusCode::INTERNAL_SERVER_ERROR, &["internal error"]),
        ReadError::Busy => errors(StatusCode::SERVICE_UNAVAILABLE, &["busy: try again shortly"]),
        ReadError::Unrecorded => {
            errors(StatusCode::SERVICE_UNAVAILABLE, &["the read could not be audited: try again later"])
        }
        ReadError::Unavailable => errors(StatusCode::SERVICE_UNAVAILABLE, &["the database is unavailable: try again"]),
        _ => errors(StatusCode::FORBIDDEN, &["permission denied"]),
    }
}

fn read_only() -> Response {
    errors(
        StatusCode::METHOD_NOT_ALLOWED,
        &["Strongroom serves the KV v2 API read-only: add and rotate secrets in Strongroom itself"],
    )
}

/// `a/b//c/` → `a.b.c` (doubled and trailing slashes allowed); empty → the mount root.
fn namespace_of(path: &str) -> String {
    path.split('/').filter(|s| !s.is_empty()).collect::<Vec<_>>().join(".")
}

fn time(t: Timestamp) -> String {
    t.rfc3339()
}

async fn authenticated<'a>(req: &Request<'a>, headers: &HeaderMap) -> Result<Workload, Response> {
    req.authenticate(presented(headers, true).as_deref()).await.map_err(|e| refused(&e))
}

/// `GET /v1/sys/internal/ui/mounts/{path}`: which mount serves `path`.
pub async fn mount(
    State(state): State<AppState>,
    addr: ConnectInfo<SocketAddr>,
    path: Option<Path<String>>,
    headers: HeaderMap,
) -> Response {
    let path = path.map(|p| p.0).unwrap_or_default();
    let req = request(&state, &addr, &namespace_of(&path), "");
    if let Err(refusal) = authenticated(&req, &headers).await {
        return refusal;
    }
    match path.trim_start_matches('/').split('/').next() {
        Some(MOUNT) => wrapped(json!({
            "type": "kv", "path": format!("{MOUNT}/"), "description": "Strongroom namespaces",
            "options": { "version": "2" }, "accessor": "kv_strongroom", "config": {}, "local": false,
            "seal_wrap": false, "external_entropy_access": false, "uuid": "",
        })),
        _ => errors(StatusCode::FORBIDDEN, &["permission denied"]),
    }
}

/// `GET /v1/auth/token/lookup-self`: what the token is. As in Vault, `id` is
/// the token presented, handed back to its own bearer only (OpenBao/Vault
/// Agent's `token_file` auto-auth takes the token from there); the answer is
/// `no-store` like every `/v1` answer, and the token is never logged or
/// recorded. The accessor is random: it names nothing that could be looked up.
pub async fn lookup_self(State(state): State<AppState>, addr: ConnectInfo<SocketAddr>, headers: HeaderMap) -> Response {
    let req = request(&state, &addr, "", "");
    let who = match authenticated(&req, &headers).await {
        Ok(who) => who,
        Err(refusal) => return refusal,
    };
    let token = zeroize::Zeroizing::new(presented(&headers, true).unwrap_or_default().trim().to_owned());
    let now = app::ssr::clock::now().0;
    let ttl = who.expires_at.map_or(0, |at| (at.0 - now).max(1));
    let scope = match &who.scope {
        Scope::All => String::new(),
        Scope::Subtree(ns) => ns.to_string(),
    };
    wrapped(json!({
        "accessor": request_id(), "creation_ttl": 0, "display_name": format!("token-{}", who.name),
        "entity_id": "", "expire_time": who.expires_at.map(time), "explicit_max_ttl": 0, "id": token.as_str(),
        "meta": { "strongroom_scope": scope }, "num_uses": 0, "orphan": true, "path": "auth/token/create",
        "policies": ["default"], "renewable": false, "ttl": ttl, "type": "service",
    }))
}

/// `GET /v1/secret/data/{path}[?version=N]`: the namespace's effective secrets as one map.
pub async fn data(
    State(state): State<AppState>,
    addr: ConnectInfo<SocketAddr>,
    method: Method,
    Path(path): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let namespace = namespace_of(&path);
    let req = request(&state, &addr, &namespace, "");
    if method != Method::GET {
        return match authenticated(&req, &headers).await {
            Ok(_) => read_only(),
            Err(refusal) => refusal,
        };
    }
    // Token, scope, the map's version and its values in one job; nothing is
    // disclosed (or recorded) unless the version asked for is the current one.
    let wanted = query.get("version").map(|v| v.parse::<u64>());
    let work: Box<Work<u64>> = Box::new(move |c, keyring, ns| {
        let version = store::map_version(c, ns).map_err(read_store_error)?;
        if !matches!(wanted, None | Some(Ok(0))) && wanted != Some(Ok(version)) {
            return Ok((version, Vec::new()));
        }
        Ok((version, store::resolve_all(c, keyring, ns).map_err(read_store_error)?))
    });
    let (version, all) = match req.read_with(presented(&headers, true).as_deref(), &namespace, work).await {
        Ok((_, _, version, all)) if !all.is_empty() => (version, all),
        Ok(_) => return errors(StatusCode::NOT_FOUND, &[]),
        Err(e) => return refused(&e),
    };
    let updated = all.iter().map(|d| d.value_since).max().unwrap_or(Timestamp(0));
    let metadata =
        Metadata { created_time: time(updated), custom_metadata: None, deletion_time: "", destroyed: false, version };
    wrapped(SecretData { data: &all, metadata })
}

/// `LIST /v1/secret/metadata/` (or `GET …?list=true`): the top-level namespaces.
pub async fn metadata_root(
    state: State<AppState>,
    addr: ConnectInfo<SocketAddr>,
    method: Method,
    query: Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    metadata(state, addr, method, Path(String::new()), query, headers).await
}

/// `GET /v1/secret/metadata/{path}`: versions of the namespace's map (no
/// values); with `LIST` or `?list=true`: its child namespaces.
pub async fn metadata(
    State(state): State<AppState>,
    addr: ConnectInfo<SocketAddr>,
    method: Method,
    Path(path): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let namespace = namespace_of(&path);
    let req = request(&state, &addr, &namespace, "");
    let who = match authenticated(&req, &headers).await {
        Ok(who) => who,
        Err(refusal) => return refusal,
    };
    let list = method.as_str() == "LIST" || (method == Method::GET && query.get("list").is_some_and(|v| v == "true"));
    if list {
        return list_keys(&req, &who, &namespace).await;
    }
    if method != Method::GET {
        return read_only();
    }
    let ns = match req.namespace(&who, &namespace).await {
        Ok(ns) => ns,
        Err(e) => return refused(&e),
    };
    let version = match req.map_version(&who, ns.clone()).await {
        Ok(version) => version,
        Err(e) => return refused(&e),
    };
    let metas = match req.metadata(&who, ns).await {
        Ok(metas) if !metas.is_empty() => metas,
        Ok(_) => return errors(StatusCode::NOT_FOUND, &[]),
        Err(e) => return refused(&e),
    };
    let created = metas.iter().map(|m| m.created_at).min().unwrap_or(Timestamp(0));
    let updated = metas.iter().map(|m| m.value_since).max().unwrap_or(Timestamp(0));
    let mut versions = Map::new();
    versions
        .insert(version.to_string(), json!({ "created_time": time(updated), "deletion_time": "", "destroyed": false }));
    wrapped(json!({
        "cas_required": false, "created_time": time(created), "current_version": version,
        "delete_version_after": "0s", "max_versions": 0, "oldest_version": version,
        "updated_time": time(updated), "custom_metadata": null, "versions": versions,
    }))
}

async fn list_keys(req: &Request<'_>, who: &Workload, namespace: &str) -> Response {
    let under = if namespace.is_empty() {
        None
    } else {
        match NamespacePath::parse(namespace) {
            Ok(ns) => Some(ns),
            Err(_) => return errors(StatusCode::NOT_FOUND, &[]),
        }
    };
    match req.namespaces(who, under.as_ref()).await {
        Ok(reachable) => match listing(&reachable, &who.scope, under.as_ref()) {
            keys if keys.is_empty() => errors(StatusCode::NOT_FOUND, &[]),
            keys => wrapped(json!({ "keys": keys })),
        },
        Err(e) => refused(&e),
    }
}

/// The keys of a LIST under `under` (the mount root for `None`): each child
/// namespace with children of its own as a folder (`etl/`), and each child the
/// token may read that has effective secrets as an entry (`etl`).
pub fn listing(reachable: &[NamespaceSummary], scope: &Scope, under: Option<&NamespacePath>) -> Vec<String> {
    // Effective secrets: its own or an ancestor's (ancestors are reachable too).
    let has_secrets = |ns: &NamespacePath| reachable.iter().any(|n| n.secret_count > 0 && ns.is_within(&n.path));
    let mut keys = BTreeSet::new();
    for child in reachable.iter().filter(|n| n.path.parent().as_ref() == under) {
        let leaf = child.path.leaf();
        if reachable.iter().any(|n| n.path.parent().as_ref() == Some(&child.path)) {
            keys.insert(format!("{leaf}/"));
        }
        if scope.covers(&child.path) && has_secrets(&child.path) {
            keys.insert(leaf.to_owned());
        }
    }
    keys.into_iter().collect()
}

/// Any other path under `/v1`.
pub async fn unknown() -> Response {
    errors(StatusCode::NOT_FOUND, &["no handler for route"])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(path: &str, secret_count: u32) -> NamespaceSummary {
        NamespaceSummary { path: NamespacePath::parse(path).unwrap(), description: String::new(), secret_count }
    }

    #[test]
    fn paths_map_to_namespaces_whatever_the_slashes() {
        assert_eq!(namespace_of("company/team/etl"), "company.team.etl");
        assert_eq!(namespace_of("company//team/"), "company.team");
        assert_eq!(namespace_of(""), "");
    }

    #[test]
    fn a_listing_shows_folders_and_readable_maps() {
        let all = [ns("company", 1), ns("company.team", 0), ns("company.team.etl", 0), ns("empty", 0)];
        let every = Scope::All;
        assert_eq!(listing(&all, &every, None), ["company", "company/"]);
        let company = NamespacePath::parse("company").unwrap();
        assert_eq!(listing(&all, &every, Some(&company)), ["team", "team/"]);
        // A token scoped to company.team sees the way down, but company itself is no entry.
        let team = Scope::parse("company.team").unwrap();
        let reachable: Vec<_> = all.iter().filter(|n| n.path.as_str().starts_with("company")).cloned().collect();
        assert_eq!(listing(&reachable, &team, None), ["company/"]);
        assert_eq!(listing(&reachable, &team, Some(&company)), ["team", "team/"]);
    }
}

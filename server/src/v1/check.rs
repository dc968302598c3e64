//! `GET /v1/namespaces/{ns}/check`: whether every key the namespace requires
//! (its own requirements and its ancestors', `store::required`) resolves for
//! it — what `strongroom check` and a CI step ask before a release. Names only:
//! not a read of any value, and not recorded as one.
//!
//! `{"namespace","complete","required":[{"key","declared_in"}],"missing":[…]}`
//! (the same shape for both lists); errors as the native API's.

use super::{native::error, presented, request};
use app::ssr::{access::read_store_error, state::AppState, store::required};
use axum::{
    extract::{ConnectInfo, Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::json;
use std::net::SocketAddr;

fn listed(list: &[required::Required]) -> Vec<serde_json::Value> {
    list.iter().map(|r| json!({ "key": r.key.as_str(), "declared_in": r.declared_in.as_str() })).collect()
}

pub async fn check(
    State(state): State<AppState>,
    addr: ConnectInfo<SocketAddr>,
    Path(namespace): Path<String>,
    headers: HeaderMap,
) -> Response {
    let req = request(&state, &addr, &namespace, "");
    let who = match req.authenticate(presented(&headers, false).as_deref()).await {
        Ok(who) => who,
        Err(e) => return error(&e),
    };
    let ns = match req.namespace(&who, &namespace).await {
        Ok(ns) => ns,
        Err(e) => return error(&e),
    };
    let (rows, path) = (state.rows.clone(), ns.clone());
    match state.db.read(move |c| required::check(c, &rows, &path)).await {
        Ok(found) => {
            let body = json!({
                "namespace": ns.as_str(),
                "complete": found.missing.is_empty(),
                "required": listed(&found.required),
                "missing": listed(&found.missing),
            });
            (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
        }
        Err(e) => error(&read_store_error(e)),
    }
}

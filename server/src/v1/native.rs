//! The native read API:
//! - `GET /v1/namespaces/{ns}/secrets/{KEY}` → `{"namespace","key","version","value","defined_in"}`
//! - `GET /v1/namespaces/{ns}/export?format=kestra|dotenv|prefect|json` → every effective secret
//!
//! Errors are one shape: `{"error":{"code","message"}}` with 400 / 401 / 403 /
//! 404 / 500, and 503 when the read could not be recorded or too many wait
//! (`ReadError::status`). `Cache-Control: no-store` comes from the security
//! headers layer.

use super::{presented, request};
use app::domain::env_name::steers_programs;
use app::ssr::{
    access::{
        read_store_error,
        workload::{ReadError, Resolved, Work},
    },
    formats::{self, Format, FormatError},
    state::AppState,
    store,
};
use axum::{
    extract::{ConnectInfo, Path, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use std::{collections::HashMap, net::SocketAddr};

fn json(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The one error shape of the native API.
pub fn error(e: &ReadError) -> Response {
    error_body(StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), e.code(), &e.to_string())
}

fn error_body(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error": { "code": code, "message": message } });
    json(status, body.to_string().into_bytes())
}

#[derive(Serialize)]
struct Secret<'a> {
    namespace: &'a str,
    key: &'a str,
    version: u32,
    value: &'a str,
    defined_in: &'a str,
}

pub async fn secret(
    State(state): State<AppState>,
    addr: ConnectInfo<SocketAddr>,
    Path((namespace, key)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let req = request(&state, &addr, &namespace, &key);
    match req.read_one(presented(&headers, false).as_deref(), &namespace, &key).await {
        Ok((ns, d)) => {
            let body = Secret {
                namespace: ns.as_str(),
                key: d.key.as_str(),
                version: d.version,
                value: d.value.expose(),
                defined_in: d.defined_in.as_str(),
            };
            json(StatusCode::OK, serde_json::to_vec(&body).unwrap_or_default())
        }
        Err(e) => error(&e),
    }
}

pub async fn export(
    State(state): State<AppState>,
    addr: ConnectInfo<SocketAddr>,
    Path(namespace): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let req = request(&state, &addr, &namespace, "");
    let token = presented(&headers, false);
    // An export holds every value of a namespace in memory while it is built:
    // a bounded number at once, per token and in all (see `AppState::workload_exports`).
    let who = match req.authenticate(token.as_deref()).await {
        Ok(who) => who,
        Err(e) => return error(&e),
    };
    let Some(_slot) = state.workload_exports.take(who.id) else {
        return error(&req.refused_as(&who, ReadError::Busy).await);
    };
    // Checked after the token (an unauthenticated caller learns nothing) and
    // before any value is read.
    let format = query.get("format").map(String::as_str).unwrap_or_default().to_owned();
    let allowed: Vec<String> =
        query.get("allow_env").map(|list| list.split(',').map(|k| k.trim().to_owned()).collect()).unwrap_or_default();
    // Every check below runs before anything is disclosed (or recorded as
    // read), in the same job as the read itself.
    let work: Box<Work<Format>> = Box::new(move |c, keyring, ns| {
        let refuse = |message: String| ReadError::BadName { field: "format", message };
        let format = format.parse::<Format>().map_err(|e: FormatError| refuse(e.to_string()))?;
        let all = store::resolve_all(c, keyring, ns).map_err(read_store_error)?;
        if let Some(key) = formats::unrepresentable(format, all.iter().map(|d| (&d.key, &d.value))) {
            return Err(refuse(format!("{key} holds a NUL byte, which the {format} format cannot carry")));
        }
        // A shell that sources the file takes every name as given: one that steers programs
        // (PATH, BASH_ENV, PROMPT_COMMAND, …) is refused unless the reader allowed it by name.
        let steers = |d: &&Resolved| steers_programs(d.key.as_str()) && !allowed.iter().any(|k| k == d.key.as_str());
        if let Some(d) = all.iter().find(steers).filter(|_| format == Format::Shell) {
            return Err(refuse(format!(
                "{} can make programs run other code once a shell sources it: pass allow_env={} \
                 (strongroom export --allow-env {}) if that is intended",
                d.key, d.key, d.key
            )));
        }
        Ok((format, all))
    });
    let read = async {
        let (_, _, format, all) = req.read_with(token.as_deref(), &namespace, work).await?;
        Ok::<_, ReadError>((format, all.into_iter().map(|d| (d.key, d.value)).collect::<Vec<_>>()))
    };
    match read.await {
        Ok((format, pairs)) => {
            let mut text = formats::export(format, &pairs);
            drop(pairs);
            // Moved, not copied, into the body.
            let body = std::mem::take(&mut *text);
            (StatusCode::OK, [(header::CONTENT_TYPE, format.content_type())], body).into_response()
        }
        Err(e) => error(&e),
    }
}

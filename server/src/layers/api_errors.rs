//! Server-function errors answer with their own HTTP status.
//!
//! Leptos answers every failed server function with 500, including when the
//! arguments did not decode, before the function ran. The body is the encoded
//! `AppError`, which knows its status (422, 409, 404 …): this layer applies it,
//! so API clients see real status codes whatever failed.

use crate::layers::refused::Refused;
use app::{error::AppError, ssr::state::AppState};
use axum::{
    body::{to_bytes, Body},
    extract::{Request, State},
    http::{header, StatusCode},
    middleware::Next,
    response::Response,
};
use leptos::server_fn::error::SERVER_FN_ERROR_HEADER;

/// Error bodies are a few hundred bytes; anything larger is not ours.
const MAX_ERROR_BODY: usize = 64 * 1024;

pub async fn error_status(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let refused = Refused::of(&req);
    let res = next.run(req).await;
    // Redirects (plain form posts) are handled by the `forms` layer.
    if !res.headers().contains_key(SERVER_FN_ERROR_HEADER) || res.headers().contains_key(header::LOCATION) {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_ERROR_BODY).await else {
        parts.status = StatusCode::INTERNAL_SERVER_ERROR;
        return Response::from_parts(parts, Body::empty());
    };
    let error = serde_json::from_slice::<AppError>(&bytes).ok();
    if let Some(status) = error.as_ref().and_then(|e| StatusCode::from_u16(e.status()).ok()) {
        parts.status = status;
    }
    // Undecodable arguments are refused before the function (and its audit
    // entry) runs; every other error was recorded by the function itself.
    if error == Some(AppError::BadRequest) {
        refused.record(&state, "refused: malformed request".into()).await;
    }
    Response::from_parts(parts, Body::from(bytes))
}

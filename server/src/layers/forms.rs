//! Form posts from the pages.
//!
//! Pages are server-rendered (islands mode): every form, with JavaScript on or
//! off, is posted by the browser itself (`Accept: text/html`), and Leptos
//! answers with a redirect to the Referer, any
//! error encoded in its query (`__path`, `__err`). This layer makes that path
//! behave like a classic web form:
//! - the return address is the form's `back` query parameter (set by
//!   `SubmitButton`), a same-site path, not the Referer;
//! - on success the answer is `303 See Other` to that page;
//! - on failure the answer is that page re-rendered with the error next to its
//!   field, with the error's own status (422, 409, 404 …), not a redirect.

use app::error::AppError;
use axum::{
    body::Body,
    extract::{Query, Request, State},
    http::{header, HeaderValue, Method, StatusCode, Uri},
    middleware::Next,
    response::{IntoResponse, Response},
    Router,
};
use base64::{engine::general_purpose::URL_SAFE, Engine as _};
use std::collections::HashMap;
use tower::ServiceExt;

/// Placeholder origin: Leptos needs an absolute Referer to build its redirect;
/// it is stripped again so that every Location we send is a relative path.
const ORIGIN: &str = "http://strongroom.invalid";

fn is_plain_form_post(req: &Request) -> bool {
    req.method() == Method::POST
        && req.uri().path().starts_with("/api/")
        && req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"))
}

/// The `back` parameter if it is a page of this server (see `local_path`).
fn back_param(uri: &Uri) -> Option<String> {
    let Query(params) = Query::<HashMap<String, String>>::try_from_uri(uri).ok()?;
    app::domain::local_path::local_path(params.get("back")?).map(str::to_owned)
}

/// The status of the error Leptos encoded in a redirect, if there is one.
fn encoded_error_status(location: &str) -> Option<StatusCode> {
    let uri: Uri = location.parse().ok()?;
    let Query(params) = Query::<HashMap<String, String>>::try_from_uri(&uri).ok()?;
    let encoded = params.get("__err")?;
    let status = URL_SAFE
        .decode(encoded)
        .ok()
        .and_then(|json| serde_json::from_slice::<AppError>(&json).ok())
        .map_or(400, |e| e.status());
    Some(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST))
}

pub async fn plain_form_posts(State(pages): State<Router>, mut req: Request, next: Next) -> Response {
    if !is_plain_form_post(&req) {
        return next.run(req).await;
    }
    let back = back_param(req.uri()).unwrap_or_else(|| "/".to_owned());
    let referer = HeaderValue::from_str(&format!("{ORIGIN}{back}")).unwrap_or(HeaderValue::from_static(ORIGIN));
    req.headers_mut().insert(header::REFERER, referer);
    let cookies = req.headers().get(header::COOKIE).cloned();
    // The typed fields, for a refused post's page (see `Submitted`: never a secret).
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, crate::MAX_BODY).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.\n").into_response();
    };
    let submitted = app::domain::submitted::Submitted::from_form(parts.uri.path(), &bytes);
    let req = Request::from_parts(parts, Body::from(bytes));

    let mut res = next.run(req).await;
    let Some(location) = res.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()) else {
        return res;
    };
    // Leptos leaves a bare `?` behind when it strips an old error from the URL.
    let location = location.strip_prefix(ORIGIN).unwrap_or(location).trim_end_matches('?').to_owned();
    match encoded_error_status(&location) {
        None => {
            *res.status_mut() = StatusCode::SEE_OTHER;
            if let Ok(value) = HeaderValue::from_str(&location) {
                res.headers_mut().insert(header::LOCATION, value);
            }
            res
        }
        Some(status) => {
            let mut page = Request::builder().method(Method::GET).uri(&location).header(header::ACCEPT, "text/html");
            if let Some(cookies) = cookies {
                page = page.header(header::COOKIE, cookies);
            }
            let Ok(mut page) = page.body(Body::empty()) else {
                return res;
            };
            page.extensions_mut().insert(submitted);
            let mut rendered = match pages.oneshot(page).await {
                Ok(rendered) => rendered,
                Err(never) => match never {},
            };
            *rendered.status_mut() = status;
            rendered
        }
    }
}

/// Form posts whose fields are not UTF-8 are refused with 422: decoding them
/// would turn the bytes into U+FFFD and store something nobody typed.
pub async fn utf8_forms(State(state): State<app::ssr::state::AppState>, req: Request, next: Next) -> Response {
    let is_form = req.method() == Method::POST
        && req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return next.run(req).await;
    }
    let refused = crate::layers::refused::Refused::of(&req);
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, crate::MAX_BODY).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.\n").into_response();
    };
    if std::str::from_utf8(&app::domain::submitted::percent_decoded(&bytes)).is_err() {
        refused.record(&state, "refused: form fields are not UTF-8 text".into()).await;
        let error = AppError::validation("form", "The form must be sent as UTF-8 text.");
        let body = serde_json::to_vec(&error).unwrap_or_default();
        return (StatusCode::UNPROCESSABLE_ENTITY, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_must_be_a_same_site_page_path() {
        let get = |q: &str| back_param(&format!("/api/x?{q}").parse().unwrap());
        assert_eq!(get("back=/ns/company").as_deref(), Some("/ns/company"));
        for bad in [
            "back=//evil.example",
            "back=https://evil.example",
            "back=/%5Cevil",
            "back=/api/secrets/add",
            "back=/%09/evil.example",
            "x=1",
        ] {
            assert_eq!(get(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_status_comes_from_the_encoded_error() {
        let err = URL_SAFE.encode(serde_json::to_vec(&AppError::validation("key", "bad")).unwrap());
        let loc = format!("/ns/a?__path=%2Fapi%2Fsecrets%2Fadd&__err={}", err.replace('=', "%3D"));
        assert_eq!(encoded_error_status(&loc), Some(StatusCode::UNPROCESSABLE_ENTITY));
        assert_eq!(encoded_error_status("/ns/a"), None);
        assert_eq!(encoded_error_status("/ns/a?__err=garbage"), Some(StatusCode::BAD_REQUEST));
    }
}

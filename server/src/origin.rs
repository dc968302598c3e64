//! Mutating requests must come from this server's own pages: a browser's
//! `Sec-Fetch-Site` must say same-origin, and an `Origin` must be ours.
//! (Requests without either header are not from a browser, and carry no
//! ambient cookie authority worth forging.)

use app::ssr::state::AppState;
use axum::{
    extract::{Request, State},
    http::{header, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// `Some("https://host")` when the public URL is configured; else the request's
/// own `Host` is the origin to match.
#[derive(Clone, Default)]
pub struct OwnOrigin(pub Option<String>);

fn is_mutating(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Why a request is refused, if it is.
pub fn cross_origin(req: &Request, own: &OwnOrigin) -> Option<&'static str> {
    if !is_mutating(req.method()) {
        return None;
    }
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site != "same-origin" && site != "none" {
            return Some("Sec-Fetch-Site is not same-origin");
        }
    }
    let origin = headers.get(header::ORIGIN)?;
    let Ok(origin) = origin.to_str().map(str::to_ascii_lowercase) else { return Some("unreadable Origin") };
    let matches = match &own.0 {
        Some(public) => origin == *public,
        None => {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_ascii_lowercase);
            let authority = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"));
            host.is_some() && authority == host.as_deref()
        }
    };
    (!matches).then_some("Origin is not this server")
}

/// What the cross-origin check needs: the origin to match, and the state to
/// record refusals in the audit trail.
#[derive(Clone)]
pub struct OriginGuard {
    pub own: OwnOrigin,
    pub state: AppState,
}

pub async fn same_origin_only(State(guard): State<OriginGuard>, req: Request, next: Next) -> Response {
    let Some(reason) = cross_origin(&req, &guard.own) else { return next.run(req).await };
    tracing::warn!(path = %req.uri().path(), reason, "cross-origin request refused");
    crate::refused::Refused::of(&req).record(&guard.state, format!("refused: cross-origin ({reason})")).await;
    (StatusCode::FORBIDDEN, "Cross-origin requests are refused.\n").into_response()
}

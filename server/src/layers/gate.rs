//! Pages need a session: without one, a page request (GET or HEAD) is sent to
//! `/login` (and `/login` with one is sent on). This is for people; access
//! control proper is in every server function.

use app::{components::encode_query_value, ssr::state::AppState};
use axum::{
    extract::{Request, State},
    http::{header, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

fn is_page(req: &Request) -> bool {
    let path = req.uri().path();
    (req.method() == Method::GET || req.method() == Method::HEAD)
        && !path.starts_with("/api/")
        && !path.starts_with("/v1/")
        && !path.starts_with("/pkg/")
        && !path.starts_with("/auth/")
        && path != "/favicon.svg"
        && path != "/healthz"
        && path != "/readyz"
}

fn see_other(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location.to_owned())]).into_response()
}

/// The page's query without Leptos's no-JS error parameters (`__path`,
/// `__err`), if it had any. This server never sends a browser to a URL with
/// them (a failed no-JS post is answered by rendering the form page in place,
/// see `forms`), so a link that carries them was made by someone else, to show
/// their text as an error of ours.
fn without_foreign_error(req: &Request) -> Option<String> {
    let query = req.uri().query()?;
    let foreign = |pair: &&str| pair.starts_with("__err=") || pair.starts_with("__path=");
    if !query.split('&').any(|pair| foreign(&pair)) {
        return None;
    }
    let kept: Vec<&str> = query.split('&').filter(|pair| !pair.is_empty() && !foreign(pair)).collect();
    let path = req.uri().path();
    Some(if kept.is_empty() { path.to_owned() } else { format!("{path}?{}", kept.join("&")) })
}

fn has_cookie(req: &Request, name: &str) -> bool {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|pair| pair.trim().strip_prefix(name).is_some_and(|rest| rest.starts_with('=') && rest.len() > 1))
}

pub async fn require_session(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !is_page(&req) {
        return next.run(req).await;
    }
    if let Some(clean) = without_foreign_error(&req) {
        return see_other(&clean);
    }
    let cookies = req.headers().get(header::COOKIE).and_then(|v| v.to_str().ok());
    let signed_in = match state.session(cookies).await {
        Ok(session) => session.is_some(),
        Err(err) => {
            tracing::error!(error = %err, "session lookup failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let path = req.uri().path();
    if path == "/login" {
        if signed_in {
            let next = axum::extract::Query::<std::collections::HashMap<String, String>>::try_from_uri(req.uri())
                .ok()
                .and_then(|q| q.0.get("next").cloned());
            return see_other(&app::pages::login::safe_next(next));
        }
        return next.run(req).await;
    }
    // The one-time setup page is for someone with no account yet.
    if path.starts_with("/setup/") && !signed_in {
        return next.run(req).await;
    }
    if !signed_in {
        // Not recorded: anyone can ask for pages, and each entry costs an fsync.
        // Nothing is shown or done; refused sign-ins and mutations are recorded.
        let here = encode_query_value(req.uri().path_and_query().map_or("/", |pq| pq.as_str()));
        // Someone who signed in through the IdP goes back through it: silently,
        // while the IdP's session lasts (and their roles are re-computed).
        if state.auth.sso.is_some() && has_cookie(&req, app::ssr::auth::SSO_HINT) {
            return see_other(&format!("/auth/oidc/login?next={here}"));
        }
        return see_other(&format!("/login?next={here}"));
    }
    next.run(req).await
}

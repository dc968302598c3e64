//! Pages need a session: without one, a page request is sent to `/login`
//! (and `/login` with one is sent on). This is for people; access control
//! proper is in every server function.

use app::{components::encode_query_value, ssr::state::AppState};
use axum::{
    extract::{Request, State},
    http::{header, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

fn is_page(req: &Request) -> bool {
    let path = req.uri().path();
    req.method() == Method::GET
        && !path.starts_with("/api/")
        && !path.starts_with("/v1/")
        && !path.starts_with("/pkg/")
        && path != "/favicon.svg"
        && path != "/healthz"
}

fn see_other(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location.to_owned())]).into_response()
}

pub async fn require_session(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !is_page(&req) {
        return next.run(req).await;
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
    if !signed_in {
        let here = encode_query_value(req.uri().path_and_query().map_or("/", |pq| pq.as_str()));
        crate::refused::Refused::of(&req).anonymous().record(&state, "refused: not signed in".into()).await;
        return see_other(&format!("/login?next={here}"));
    }
    next.run(req).await
}

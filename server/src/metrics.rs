//! `/metrics` (Prometheus text format) on an address of its own, and the
//! layer that counts and times every request by route pattern.

use app::ssr::{metrics::metrics, state::AppState};
use axum::{
    extract::{MatchedPath, Request, State},
    http::{header, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};

/// Counts the request and times it under its route pattern (`/v1/namespaces/{namespace}/export`),
/// never its path: paths carry names and would make a label per request.
pub async fn track(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or("(no route)", |m| m.as_str()).to_owned();
    // Methods are any token a client sends: only the standard ones get a label each.
    const KNOWN: [&str; 8] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "LIST"];
    let method = KNOWN.into_iter().find(|m| *m == req.method().as_str()).unwrap_or("OTHER");
    let started = app::ssr::clock::instant();
    let res = next.run(req).await;
    let m = metrics();
    m.latency.with_label_values(&[route.as_str()]).observe(started.elapsed().as_secs_f64());
    m.requests.with_label_values(&[route.as_str(), method, res.status().as_str()]).inc();
    res
}

/// The router served on `STRONGROOM_METRICS_ADDR`: `/metrics` only.
pub fn router(state: AppState) -> Router {
    Router::new().route("/metrics", get(scrape)).with_state(state)
}

async fn scrape(State(state): State<AppState>) -> Response {
    match state.db.read(app::ssr::store::stored_counts::<app::ssr::db::Conn>).await {
        Ok(counts) => {
            for (kind, n) in counts {
                metrics().stored.with_label_values(&[kind]).set(n);
            }
        }
        Err(e) => tracing::error!(error = %e, "could not count what is stored for /metrics"),
    }
    let body = metrics().render();
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}

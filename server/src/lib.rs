//! The `strongroom` server: HTTP routing, configuration and the command line.
//! The pages, server functions and store live in the `app` crate.

pub mod assets;
pub mod audit_stream;
pub mod cli;
pub mod config;
pub mod env_file;
pub mod jwks;
pub mod layers;
pub mod listen;
pub mod metrics;
pub mod sso;
pub mod telemetry;
pub mod trail_export;
pub mod v1;
pub mod webhooks;

use app::{ssr::state::AppState, App};
use axum::{
    extract::State,
    http::StatusCode,
    middleware::{from_fn, from_fn_with_state},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use layers::{api_errors, client, forms, gate, headers, origin};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};

/// Set once the server is stopping: the background loops (webhooks, audit
/// streams) take no lease from then on, so the leases given back stay free.
static STOPPING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn stop_background() {
    STOPPING.store(true, std::sync::atomic::Ordering::SeqCst);
}

pub fn stopping() -> bool {
    STOPPING.load(std::sync::atomic::Ordering::SeqCst)
}

/// Every route: pages, server functions under `/api`, the workload API under
/// `/v1`, static files, `/healthz`.
/// How the server is reached: the public origin and the proxies in front.
#[derive(Clone)]
pub struct Front {
    pub own_origin: origin::OwnOrigin,
    pub proxies: client::TrustedProxies,
    /// The browser assets: embedded, or a directory.
    pub assets: assets::Assets,
    /// How long a request body may take to arrive (`STRONGROOM_REQUEST_TIMEOUT_SECS`).
    pub request_timeout: std::time::Duration,
    /// Single sign-on, when configured (`/auth/oidc/*`).
    pub sso: Option<std::sync::Arc<sso::Sso>>,
}

impl Default for Front {
    fn default() -> Self {
        Self {
            own_origin: Default::default(),
            proxies: Default::default(),
            assets: Default::default(),
            request_timeout: std::time::Duration::from_secs(60),
            sso: None,
        }
    }
}

pub fn router(state: AppState, options: LeptosOptions, front: Front) -> Router {
    let Front { own_origin, proxies, assets, request_timeout, sso } = front;
    let sso = sso.map_or_else(Router::new, |sso| sso.routes(state.clone()));
    let routes = route_list();
    let context = {
        let state = state.clone();
        move || provide_context(state.clone())
    };
    let pages = Router::new()
        .leptos_routes_with_context(&options, routes, context.clone(), {
            let options = options.clone();
            move || app::shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context(context, app::shell))
        .with_state(options);
    // Layers run bottom-up: the log sees everything, cross-origin posts stop first.
    // The browser's side: pages, server functions, trail exports.
    let browser = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz).with_state(state.clone()))
        .route("/audit/{file}", get(trail_export::export).with_state(state.clone()))
        .merge(sso)
        .merge(pages.clone())
        .layer(from_fn_with_state(state.clone(), api_errors::error_status))
        .layer(from_fn_with_state(state.clone(), forms::utf8_forms))
        .layer(from_fn_with_state(pages, forms::plain_form_posts))
        .layer(from_fn_with_state(state.clone(), gate::require_session))
        .layer(from_fn_with_state(
            origin::OriginGuard { own: own_origin.clone(), state: state.clone() },
            origin::same_origin_only,
        ))
        // Pages compressed as they go out; assets come precompressed, and API
        // answers (values among them) are never compressed.
        .layer(tower_http::compression::CompressionLayer::new().br(true).gzip(true).compress_when(is_html));
    let files = Router::new()
        .route("/pkg/{*file}", get(assets::serve))
        .route("/favicon.svg", get(assets::serve))
        .with_state(assets);
    // The workload API needs none of that: no cookies, no forms, a token on every request.
    Router::new()
        .merge(v1::routes(state))
        .merge(files)
        .merge(browser)
        .layer(from_fn_with_state(own_origin, origin::known_host_only))
        .layer(from_fn(headers::security_headers))
        // The whole body within the deadline, then handed on whole.
        .layer(from_fn_with_state(request_timeout, listen::request_deadline))
        // Forms and imports are small; nothing may make the server buffer more.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(MAX_BODY))
        .layer(from_fn(telemetry::log_requests))
        .layer(from_fn(metrics::track))
        .layer(from_fn_with_state(proxies, client::real_client))
}

fn is_html(_: StatusCode, _: axum::http::Version, headers: &axum::http::HeaderMap, _: &axum::http::Extensions) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"))
}

/// The largest request body accepted (an import file is at most 1 MiB).
pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// The app's routes, generated once per process. Generating them renders the
/// app with resource loading suppressed through a process-wide flag (leptos_server
/// 0.8): a page rendering on another thread at that moment would wait forever
/// (leptos issue #4773). Once, before any server runs, nothing can overlap it.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// Liveness: the process answers.
async fn healthz() -> Response {
    json_status(StatusCode::OK, serde_json::json!({ "status": "ok" }))
}

/// Readiness: the database takes writes (a write lock is taken and given
/// back, and the disk has room and is not read-only) and the root key held is
/// the database's (the trail's head verifies).
async fn readyz(State(state): State<AppState>) -> Response {
    let (key, db) = (state.audit.clone(), state.db.clone());
    let checked = state
        .db
        .call(move |c| {
            // The write lock, then room on the disk for an append (a full or
            // read-only disk refuses every audited read).
            use app::ssr::db::sql::{Engine, Sql};
            let writable = c.begin().and_then(|()| c.rollback()).map_err(|e| e.to_string());
            let writable = writable.and_then(|()| db.room_to_write());
            // On PostgreSQL a standby takes a BEGIN too: ask whether it is one.
            let standby = || -> Result<(), String> {
                let row = c.query("SELECT pg_is_in_recovery()", &[]).map_err(|e| e.to_string())?;
                match row.first().map(|r| r[0].bool()) {
                    Some(Ok(true)) => Err("the database is a read-only standby (a failover under way?)".into()),
                    _ => Ok(()),
                }
            };
            let writable = writable.and_then(|()| if c.engine() == Engine::Postgres { standby() } else { Ok(()) });
            let keys = app::ssr::audit::head_matches(c, &key).map_err(|e| e.to_string());
            (writable, keys)
        })
        .await;
    let word = |r: &Result<bool, String>| match r {
        Ok(true) => "ok".to_owned(),
        Ok(false) => "the root key does not match the audit trail's head".to_owned(),
        Err(e) => e.clone(),
    };
    let (writable, keys) = (checked.0.map(|()| true), checked.1);
    let ready = matches!((&writable, &keys), (Ok(true), Ok(true)));
    if !ready {
        tracing::error!(database = %word(&writable), keys = %word(&keys), "not ready");
    }
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = serde_json::json!({
        "status": if ready { "ready" } else { "not ready" },
        "checks": { "database": word(&writable), "keys": word(&keys) },
    });
    json_status(status, body)
}

fn json_status(status: StatusCode, body: serde_json::Value) -> Response {
    (status, [(axum::http::header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
}

//! What the machine logins (`approle`, `jwt`) share: Vault's answer around a
//! login's token, the throttle on refusals, and the answers to failures.

use super::vault::{errors, reply, request_id};
use app::ssr::{state::AppState, store::logins::RoleError};
use axum::{http::StatusCode, response::Response};
use serde_json::{json, Value};

/// Counts a login against its client before it is checked, so that logins
/// sent at once cannot all be checked past the limit; `false`: the client is
/// over its limit. Such a login is still checked — a right one is never held
/// back (a CI fleet behind one NAT must not be locked out by someone else's
/// failures) — but a wrong one is answered 429 and writes no entry.
pub(super) fn count(state: &AppState, client: &str) -> bool {
    state.auth.machine_logins.attempt(client, app::ssr::clock::instant())
}

/// A login that succeeded: its counted attempt is taken back.
pub(super) fn succeeded(state: &AppState, client: &str, counted: bool) {
    if counted {
        state.auth.machine_logins.forgive(client);
    }
}

/// A refused login: told nothing of which part was wrong (or, over the limit, to wait).
pub(super) fn refused(client: &str, kind: &str, counted: bool, message: &str) -> Response {
    if !counted {
        return errors(StatusCode::TOO_MANY_REQUESTS, &["too many failed logins from this client: try again later"]);
    }
    tracing::info!(client = %client, "a {kind} login was refused");
    errors(StatusCode::BAD_REQUEST, &[message])
}

/// Vault's answer to a login: its `auth` block around the token.
pub(super) fn answer(token: &str, accessor: &str, metadata: Value, ttl: i64) -> Response {
    reply(
        StatusCode::OK,
        &json!({
            "request_id": request_id(), "lease_id": "", "renewable": false, "lease_duration": 0,
            "data": null, "wrap_info": null, "warnings": null, "mount_type": "",
            "auth": {
                "client_token": token, "accessor": accessor,
                "policies": ["default"], "token_policies": ["default"], "identity_policies": null,
                "metadata": metadata,
                "lease_duration": ttl.max(1), "renewable": false, "entity_id": "", "token_type": "service",
                "orphan": true, "mfa_requirement": null, "num_uses": 0,
            },
        }),
    )
}

/// A login that failed for want of the database, or for a fault.
pub(super) fn failure(kind: &str, e: &RoleError) -> Response {
    match e {
        RoleError::Database(e) if e.unavailable() => {
            errors(StatusCode::SERVICE_UNAVAILABLE, &["the database is unavailable: try again later"])
        }
        e => {
            tracing::error!(error = %e, "a {kind} login failed");
            errors(StatusCode::INTERNAL_SERVER_ERROR, &["internal error"])
        }
    }
}

//! `POST|PUT /v1/auth/approle/login`: Vault's AppRole login (hvac's
//! `auth.approle.login`, `bao write auth/approle/login`, OpenBao Agent's
//! `approle` auto-auth, Prefect's `VaultAppRole`). The answer is Vault's
//! `auth` block around a short-lived Strongroom token scoped like the role
//! (`store::approles`). A refused login says nothing of which part was wrong;
//! failed logins are throttled per client (address block), successes are not
//! (a CI fleet behind one NAT logs in often, and rightly). Every login and
//! every refusal the throttle lets through is one audit entry, never a secret.

use super::{
    login::{answer, count, failure, refused, succeeded},
    vault::errors,
};
use app::ssr::auth::address_key;
use app::{
    domain::audit::{Action, OK},
    ssr::{
        audit::{self, Actor, Client, NewEntry},
        db::{
            sql::{hold, Lock},
            Transact,
        },
        state::AppState,
        store::approles::{self, AppRoleError},
    },
};
use axum::{
    body::Bytes,
    extract::{ConnectInfo, State},
    http::StatusCode,
    response::Response,
};
use serde::Deserialize;
use serde_json::json;
use std::net::SocketAddr;
use zeroize::Zeroizing;

/// What a login sends. Longer fields than any real id are refused unread.
#[derive(Deserialize)]
struct Credentials {
    role_id: Option<String>,
    secret_id: Option<Zeroizing<String>>,
}

const REFUSED: &str = "invalid role or secret ID";

pub async fn login(State(state): State<AppState>, addr: ConnectInfo<SocketAddr>, body: Bytes) -> Response {
    let client = address_key(addr.0.ip());
    let Ok(Credentials { role_id: Some(role_id), secret_id: Some(secret_id) }) = serde_json::from_slice(&body) else {
        return errors(StatusCode::BAD_REQUEST, &["role_id and secret_id are required"]);
    };
    if role_id.len() > 128 || secret_id.len() > 256 {
        return errors(StatusCode::BAD_REQUEST, &[REFUSED]);
    }
    let counted = count(&state, &client);
    let (rows, chain, now, from) = (state.rows.clone(), state.audit.clone(), app::ssr::clock::now(), client.clone());
    let result = state
        .db
        .call(move |c| {
            c.write(|tx| {
                // The chain first, as every audited change (see `audit::with_entry`).
                hold(tx, Lock::Audit)?;
                let (answer, actor, outcome) = match approles::login(tx, &rows, &role_id, &secret_id, now) {
                    Ok(login) => {
                        let actor = Actor::AppRole(login.role.clone());
                        let outcome = format!("{OK}: secret id {}", login.secret_accessor);
                        (Ok(login), actor, outcome)
                    }
                    Err(AppRoleError::Refused(why)) => {
                        let role = approles::name_of_role_id(tx, &role_id)?;
                        (
                            Err(AppRoleError::Refused(why)),
                            role.map_or(Actor::UnknownToken, Actor::AppRole),
                            format!("refused: {why}"),
                        )
                    }
                    Err(other) => return Err(other),
                };
                let entry = NewEntry {
                    at: now,
                    actor,
                    action: Action::AppRoleLogin,
                    namespace: answer.as_ref().map_or_else(|_| String::new(), |l| l.scope.as_str().to_owned()),
                    // The token's name (`approle.ROLE.ID`): `token revoke` of this one login names it too.
                    key: answer.as_ref().map_or_else(|_| String::new(), |l| l.token_name.to_string()),
                    version: None,
                    client: Client::Address(from),
                    outcome,
                };
                // Over the limit, a refusal writes nothing (a flood costs no fsyncs).
                if counted || answer.is_ok() {
                    audit::append(tx, &chain, entry)?;
                }
                Ok(answer)
            })
        })
        .await;
    match result {
        Ok(Ok(login)) => {
            succeeded(&state, &client, counted);
            answer(
                &login.token,
                &login.accessor,
                json!({ "role_name": login.role.as_str(), "strongroom_scope": login.scope.as_str() }),
                login.expires_at.0 - now.0,
            )
        }
        Ok(Err(_)) => refused(&client, "AppRole", counted, REFUSED),
        Err(e) => failure("AppRole", &e),
    }
}

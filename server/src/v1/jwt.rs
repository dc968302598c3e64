//! `POST|PUT /v1/auth/jwt/login`: Vault's JWT login (hvac's
//! `auth.jwt.jwt_login`, OpenBao Agent's `jwt` auto-auth, `strongroom run`
//! with `STRONGROOM_JWT_FILE`) for workloads holding a signed identity token:
//! GitHub Actions' and GitLab CI's ID tokens, Kubernetes service account
//! tokens. The answer is Vault's `auth` block around a short-lived Strongroom
//! token scoped like the role (`store::jwt_roles`).
//!
//! What a token must be: signed with an asymmetric algorithm (RS*, PS*, ES*,
//! EdDSA; never `none` or HS*, whatever its header says) by a key of the
//! role's issuer, found by its `kid` in the issuer's published keys (never a
//! key the token carries: `jwk`, `jku` and `x5u` are ignored); `iss` the
//! role's issuer exactly, `aud` containing the role's audience, `exp` present
//! and at most a day ahead (and a day after `iat`), `nbf` passed, and every
//! bound claim one of its allowed values, exactly. A refusal says nothing of
//! which part was wrong; the trail and the log say.

use super::{
    login::{answer, count, failure, refused, succeeded},
    vault::errors,
};
use crate::jwks::Jwks;
use app::{
    domain::{
        audit::{Action, OK},
        TokenName,
    },
    ssr::{
        audit::{self, Actor, Client, NewEntry},
        auth::address_key,
        db::{
            sql::{hold, Lock},
            Transact,
        },
        state::AppState,
        store::{
            jwt_roles::{self, Role},
            logins::RoleError,
        },
    },
};
use axum::{
    body::Bytes,
    extract::{ConnectInfo, State},
    http::StatusCode,
    response::Response,
    Extension,
};
use jsonwebtoken::{decode, decode_header, errors::ErrorKind, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::{borrow::Cow, net::SocketAddr, str::FromStr, sync::Arc};
use zeroize::Zeroizing;

#[derive(Deserialize)]
struct Credentials {
    role: Option<String>,
    jwt: Option<Zeroizing<String>>,
}

const REFUSED: &str = "invalid role or JWT";

/// The algorithms accepted: public-key signatures only.
const ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The longest a token may be good for: workload tokens live minutes (GitHub
/// 5, GitLab 5 by default), Kubernetes' projected ones an hour; a token good
/// for weeks is one nobody should accept.
pub const MAX_JWT_LIFETIME: i64 = 24 * 3600;
/// Clock skew forgiven on `exp` and `nbf`.
const LEEWAY: u64 = 60;

type Why = Cow<'static, str>;

pub async fn login(
    State(state): State<AppState>,
    Extension(jwks): Extension<Arc<Jwks>>,
    addr: ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    let client = address_key(addr.0.ip());
    let Ok(Credentials { role: Some(role), jwt: Some(jwt) }) = serde_json::from_slice(&body) else {
        return errors(StatusCode::BAD_REQUEST, &["role and jwt are required"]);
    };
    let counted = count(&state, &client);
    let now = app::ssr::clock::now();
    // The role first: only a role's issuer is ever asked for keys.
    let verdict: Result<(Role, String), (Actor, Why)> = match TokenName::parse_role(&role) {
        Err(_) => Err((Actor::UnknownToken, "no role with that name".into())),
        Ok(name) if jwt.len() > 16 * 1024 => Err((jwt_actor(&name, None), "the token is over 16 KiB".into())),
        Ok(name) => {
            let rows = state.rows.clone();
            let lookup = name.clone();
            match state.db.read(move |c| jwt_roles::for_login(c, &rows, &lookup)).await {
                Ok((_, role)) => verify(&jwks, &role, &jwt, now.0)
                    .await
                    .map(|subject| (role, subject))
                    .map_err(|why| (jwt_actor(&name, None), why)),
                Err(RoleError::Refused("unknown role")) => Err((Actor::UnknownToken, "no role with that name".into())),
                Err(RoleError::Refused(why)) => Err((jwt_actor(&name, None), why.into())),
                Err(e) => return failure("JWT", &e),
            }
        }
    };
    let (rows, chain, from) = (state.rows.clone(), state.audit.clone(), client.clone());
    let result = state
        .db
        .call(move |c| {
            c.write(|tx| {
                // The chain first, as every audited change (see `audit::with_entry`).
                hold(tx, Lock::Audit)?;
                let (login, actor, outcome) = match verdict {
                    Ok((role, subject)) => {
                        let actor = jwt_actor(&role.name, Some(&subject));
                        match jwt_roles::login(tx, &rows, &role, &actor.to_string(), now) {
                            Ok(login) => (Some(login), actor, OK.to_owned()),
                            Err(RoleError::Refused(why)) => (None, actor, format!("refused: {why}")),
                            Err(e) => return Err(e),
                        }
                    }
                    Err((actor, why)) => (None, actor, format!("refused: {why}")),
                };
                let entry = NewEntry {
                    at: now,
                    actor,
                    action: Action::JwtLogin,
                    namespace: login.as_ref().map_or_else(String::new, |(r, _)| r.scope.as_str().to_owned()),
                    // The token's name (`jwt.ROLE.ID`): `token revoke` of this one login names it too.
                    key: login.as_ref().map_or_else(String::new, |(_, t)| t.token_name.to_string()),
                    version: None,
                    client: Client::Address(from),
                    outcome,
                };
                // Over the limit, a refusal writes nothing (a flood costs no fsyncs).
                if counted || login.is_some() {
                    audit::append(tx, &chain, entry)?;
                }
                Ok(login)
            })
        })
        .await;
    match result {
        Ok(Some((role, token))) => {
            succeeded(&state, &client, counted);
            answer(
                &token.token,
                &token.accessor,
                json!({ "role": role.name.as_str(), "strongroom_scope": role.scope.as_str() }),
                token.expires_at.0 - now.0,
            )
        }
        Ok(None) => refused(&client, "JWT", counted, REFUSED),
        Err(e) => failure("JWT", &e),
    }
}

fn jwt_actor(role: &TokenName, subject: Option<&str>) -> Actor {
    Actor::Jwt { role: role.clone(), subject: subject.map(str::to_owned) }
}

/// Checks `jwt` for `role` at `now`; its subject (`sub`, made printable and
/// at most 128 characters) when it holds, else why not.
async fn verify(jwks: &Jwks, role: &Role, jwt: &str, now: i64) -> Result<String, Why> {
    let header = decode_header(jwt).map_err(|_| "the token is not a JWT")?;
    if !ALGORITHMS.contains(&header.alg) {
        return Err(format!("the token's algorithm {:?} is not a public-key one", header.alg).into());
    }
    let key = match jwks.key(&role.issuer, header.kid.as_deref()).await {
        Ok(Some(key)) => key,
        Ok(None) => return Err("no key of the issuer has the token's kid".into()),
        Err(e) => {
            tracing::warn!(issuer = %role.issuer, error = %e, "a JWT login could not be checked");
            return Err("the issuer's keys could not be fetched".into());
        }
    };
    // A key that says which algorithm it is for is used for that one only.
    if let Some(alg) = key.common.key_algorithm {
        if Algorithm::from_str(&format!("{alg:?}")).ok() != Some(header.alg) {
            return Err("the token's algorithm is not its key's".into());
        }
    }
    let key = DecodingKey::from_jwk(&key).map_err(|_| "the issuer's key cannot be used")?;
    let mut validation = Validation::new(header.alg);
    validation.leeway = LEEWAY;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.set_issuer(&[role.issuer.as_str()]);
    validation.set_audience(&[role.audience.as_str()]);
    let claims = decode::<Map<String, Value>>(jwt, &key, &validation).map_err(|e| refusal(e.kind()))?.claims;
    // Types and times checked here too, not only by the library: `iss` one
    // string (RFC 7519), not a list holding it; `iat` not in the future.
    if claims.get("iss").and_then(Value::as_str) != Some(role.issuer.as_str()) {
        return Err("the token's iss is not the issuer, as one string".into());
    }
    let number = |name: &str| claims.get(name).map(|v| v.as_i64().ok_or(format!("{name} is not a whole number")));
    let exp = number("exp").transpose()?.ok_or("the token has no exp")?;
    let iat = number("iat").transpose()?;
    number("nbf").transpose()?;
    if iat.is_some_and(|iat| iat > now + LEEWAY as i64) {
        return Err("the token was issued in the future (iat)".into());
    }
    if exp - now > MAX_JWT_LIFETIME || iat.is_some_and(|iat| exp - iat > MAX_JWT_LIFETIME) {
        return Err("the token is good for more than a day".into());
    }
    // Exactly: a string equal to an allowed value (not a number or a boolean that prints like one).
    for (claim, allowed) in role.bound.pairs() {
        match claims.get(claim) {
            Some(Value::String(value)) if allowed.contains(value) => {}
            Some(Value::String(_)) => return Err(format!("bound claim {claim} does not match").into()),
            Some(_) => return Err(format!("bound claim {claim} is not a string").into()),
            None => return Err(format!("the token has no {claim} claim").into()),
        }
    }
    let sub = claims.get("sub").and_then(Value::as_str).unwrap_or("(none)");
    Ok(printable(sub, 128))
}

/// `text` for the trail: at most `max` characters, control and bidirectional
/// formatting characters (which could make an entry read as something else) as `?`.
fn printable(text: &str, max: usize) -> String {
    let hidden = |c: char| {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{061c}')
    };
    text.chars().take(max).map(|c| if hidden(c) { '?' } else { c }).collect()
}

fn refusal(kind: &ErrorKind) -> Why {
    match kind {
        ErrorKind::ExpiredSignature => "the token has expired".into(),
        ErrorKind::ImmatureSignature => "the token is not good yet (nbf)".into(),
        ErrorKind::InvalidAudience => "the token is for another audience".into(),
        ErrorKind::InvalidIssuer => "the token is from another issuer".into(),
        ErrorKind::InvalidSignature => "the token's signature does not hold".into(),
        ErrorKind::InvalidAlgorithm => "the token's algorithm is not its key's".into(),
        ErrorKind::MissingRequiredClaim(c) => format!("the token has no {c}").into(),
        ErrorKind::InvalidClaimFormat(c) => format!("the token's {c} is malformed").into(),
        _ => "the token does not parse".into(),
    }
}

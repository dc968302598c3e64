//! Single sign-on for people: OpenID Connect's authorization code flow with
//! PKCE (S256), `state` and `nonce`, through `openidconnect` (the ID token's
//! signature, issuer, audience, expiry and nonce are checked by it).
//!
//! - `GET /auth/oidc/login?next=/path` keeps the PKCE verifier, the nonce and
//!   `next` server-side under a random `state` (`AppState::oidc_flows`: in the
//!   database with several nodes), binds them to this browser with a short
//!   `SameSite=Lax` cookie, and sends the browser to the IdP.
//! - `GET /auth/oidc/callback?code&state` takes the flow once (a replayed
//!   callback finds nothing), checks the binding cookie, exchanges the code,
//!   checks the ID token, maps the groups to grants and signs the identity in
//!   (`store::sso`). The IdP's redirect is a cross-site navigation, and the
//!   session cookie is `SameSite=Strict`: set on that answer, it would not be
//!   sent on a redirect either, so the answer is a same-origin page that
//!   navigates on (its navigation is same-site; the cookie goes with it).
//! - `POST /auth/oidc/logout` ends the session and, where the IdP offers
//!   RP-initiated logout, the IdP's session too.
//!
//! Every sign-in and every refusal is one audit entry naming the IdP subject
//! (never a code or token). The IdP unreachable gives a plain page, not a 500.

pub mod config;

use app::{
    domain::{
        audit::{Action, OK},
        local_path::local_path,
        UserId,
    },
    ssr::{
        audit::{self, Actor, Client, NewEntry},
        auth::{address_key, new_session_token, token_hash, Throttle},
        db::{
            sql::{hold, Lock},
            Transact,
        },
        state::{AppState, OidcFlow},
        store::{
            accounts,
            sso::{self, SignIn},
        },
    },
};
use axum::{
    extract::{ConnectInfo, Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use config::SsoConfig;
use openidconnect::{
    core::{CoreAuthenticationFlow, CoreClient},
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, LogoutRequest, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl, Scope,
};
use std::{collections::HashMap, net::SocketAddr, sync::Arc, time::Duration};
use tokio::sync::Mutex;

/// The cookie binding a flow to the browser that began it; `__Host-` over
/// https, so a sibling subdomain cannot plant one (login CSRF).
fn flow_cookie(secure: bool) -> &'static str {
    if secure {
        "__Host-strongroom_sso_flow"
    } else {
        "strongroom_sso_flow"
    }
}
/// The shortest wait between two discoveries (an unknown `kid` asks for one).
const REDISCOVER_EVERY: Duration = Duration::from_secs(60);
/// After a failed discovery, how long logins fail at once.
const RETRY_DISCOVERY_AFTER: Duration = Duration::from_secs(10);

pub struct Sso {
    config: SsoConfig,
    http: reqwest::Client,
    /// The IdP's discovery document and keys, and when they were fetched.
    metadata: Mutex<Option<(Arc<ProviderMetadataWithLogout>, std::time::Instant)>>,
    /// When discovery last failed: for a few seconds after, logins fail at
    /// once instead of each asking the IdP again.
    failed: std::sync::Mutex<Option<std::time::Instant>>,
    /// Sign-ins begun per client: each holds a flow for ten minutes, and the
    /// flows are bounded, so one client cannot push out everyone's. 60 free,
    /// then 5 s doubling to a minute; a completed sign-in gives its start back.
    starts: Throttle,
}

type Params = Query<HashMap<String, String>>;

impl Sso {
    pub fn new(config: SsoConfig) -> Self {
        // Redirects are not followed: a token request must not be sent elsewhere.
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        let starts = Throttle::new(60, Duration::from_secs(5), Duration::from_secs(60))
            .forgetting_after(Duration::from_secs(120));
        Self { config, http, metadata: Mutex::new(None), failed: std::sync::Mutex::new(None), starts }
    }

    /// The routes under `/auth/oidc`.
    pub fn routes(self: Arc<Self>, state: AppState) -> Router {
        Router::new()
            .route("/auth/oidc/login", get(login))
            .route("/auth/oidc/callback", get(callback))
            .route("/auth/oidc/logout", post(logout))
            .with_state((state, self))
    }

    /// The IdP's metadata: cached; `fresh` fetches it again unless that was
    /// done within the last minute (an ID token signed with a new key).
    async fn metadata(&self, fresh: bool) -> Result<Arc<ProviderMetadataWithLogout>, String> {
        let now = app::ssr::clock::instant();
        let failed = *self.failed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut held = self.metadata.lock().await;
        if held.is_none() && failed.is_some_and(|at| now.duration_since(at) < RETRY_DISCOVERY_AFTER) {
            return Err("discovery failed moments ago".into());
        }
        if let Some((meta, at)) = held.as_ref() {
            if !fresh || now.duration_since(*at) < REDISCOVER_EVERY {
                return Ok(meta.clone());
            }
        }
        let issuer = IssuerUrl::new(self.config.issuer.as_str().to_owned()).map_err(|e| e.to_string())?;
        let meta = ProviderMetadataWithLogout::discover_async(issuer, &self.http).await.map_err(|e| {
            let why = std::error::Error::source(&e).map_or_else(|| e.to_string(), |s| format!("{e}: {s}"));
            tracing::warn!(error = %printable(&why, 300), "the identity provider's discovery failed");
            *self.failed.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(now);
            printable(&why, 300)
        })?;
        let meta = Arc::new(meta);
        *held = Some((meta.clone(), now));
        Ok(meta)
    }

    fn client(
        &self,
        meta: &ProviderMetadataWithLogout,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        String,
    > {
        let secret = self.config.client_secret.as_ref().map(|s| ClientSecret::new(s.to_string()));
        let redirect = RedirectUrl::new(self.config.redirect_uri()).map_err(|e| e.to_string())?;
        Ok(CoreClient::from_provider_metadata(meta.clone(), ClientId::new(self.config.client_id.clone()), secret)
            .set_redirect_uri(redirect))
    }
}

/// What the SSO routes share.
type Shared = (AppState, Arc<Sso>);

fn random_token() -> Option<String> {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).ok()?;
    Some(URL_SAFE_NO_PAD.encode(raw))
}

/// A plain page (no app shell): what went wrong and a way back.
fn page(status: StatusCode, title: &str, message: &str) -> Response {
    let esc = |t: &str| t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} · Strongroom</title>\
         <link rel=\"stylesheet\" href=\"/pkg/strongroom.css\"></head><body><main class=\"panel narrow\">\
         <h1>{}</h1><p id=\"sso-message\">{}</p><p><a href=\"/login\">Back to sign-in</a></p></main></body></html>",
        esc(title),
        esc(title),
        esc(message)
    );
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], body)
        .into_response()
}

fn unreachable_idp() -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "The identity provider cannot be reached",
        "Single sign-on is not possible right now. Try again later, or ask an admin.",
    )
}

async fn login(State((state, sso)): State<Shared>, addr: ConnectInfo<SocketAddr>, Query(query): Params) -> Response {
    if !sso.starts.attempt(&address_key(addr.0.ip()), app::ssr::clock::instant()) {
        return page(StatusCode::TOO_MANY_REQUESTS, "Try again later", "Too many sign-ins were begun from here.");
    }
    let next = query.get("next").and_then(|n| local_path(n)).unwrap_or("/").to_owned();
    let Ok(meta) = sso.metadata(false).await else { return unreachable_idp() };
    let Ok(client) = sso.client(&meta) else { return unreachable_idp() };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = Nonce::new_random();
    let Some(binding) = random_token() else { return StatusCode::INTERNAL_SERVER_ERROR.into_response() };
    let flow = OidcFlow {
        verifier: verifier.secret().clone(),
        nonce: nonce.secret().clone(),
        next,
        binding: token_hash(&binding),
    };
    let Some(id) = state.oidc_flows.put(UserId(0), flow, 0).await else {
        return page(StatusCode::SERVICE_UNAVAILABLE, "Try again", "Too many sign-ins are under way.");
    };
    let mut request = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, move || CsrfToken::new(id), move || nonce)
        .set_pkce_challenge(challenge);
    for scope in sso.config.scopes.iter().filter(|s| *s != "openid") {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    let (url, _, _) = request.url();
    let secure = if sso.config.secure() { "; Secure" } else { "" };
    let name = flow_cookie(sso.config.secure());
    let cookie = format!("{name}={binding}; Path=/; HttpOnly; SameSite=Lax; Max-Age=600{secure}");
    (StatusCode::SEE_OTHER, [(header::LOCATION, url.to_string()), (header::SET_COOKIE, cookie)]).into_response()
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(name)?.strip_prefix('='))
}

/// How a callback ended, for the trail and the page.
struct Refusal {
    subject: Option<String>,
    why: String,
    /// What the person is told.
    told: &'static str,
}

fn refuse(subject: Option<&str>, why: impl Into<String>, told: &'static str) -> Refusal {
    Refusal { subject: subject.map(str::to_owned), why: why.into(), told }
}

const FAILED: &str = "The sign-in could not be completed. Start again from the sign-in page.";

async fn callback(
    State((state, sso)): State<Shared>,
    addr: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(query): Params,
) -> Response {
    let client = address_key(addr.0.ip());
    let checked = check(&state, &sso, &headers, &query).await;
    let (rows, chain, now) = (state.rows.clone(), state.audit.clone(), app::ssr::clock::now());
    let Ok(verified) = checked else {
        let refusal = checked.err().unwrap_or_else(|| refuse(None, "", FAILED));
        let entry = NewEntry {
            at: now,
            actor: Actor::Sso(refusal.subject.clone()),
            action: Action::SignIn,
            namespace: String::new(),
            key: String::new(),
            version: None,
            client: Client::Address(client.clone()),
            outcome: format!("refused: sso: {}", refusal.why),
        };
        let from = client;
        // Before any ID token held, anyone can ask: such refusals get the
        // allowance of refused requests (ten entries a minute per client, the
        // rest counted), not an entry and an fsync each.
        if refusal.subject.is_some() || state.refusals.admit(&from, app::ssr::clock::instant()) {
            let recorded = state.db.call(move |c| c.write(|tx| audit::append(tx, &chain, entry))).await;
            if let Err(e) = recorded {
                tracing::error!(error = %e, "an SSO refusal could not be recorded");
            }
            tracing::info!(why = %refusal.why, "an SSO sign-in was refused");
        }
        if refusal.why.starts_with("the IdP cannot be reached") {
            return unreachable_idp();
        }
        return page(StatusCode::FORBIDDEN, "Sign-in refused", refusal.told);
    };
    let Ok((session, session_hash)) = new_session_token() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let max_age = sso.config.session_max.as_secs() as i64;
    let Verified { issuer, subject, name, grants, next } = verified;
    let granted: Vec<String> = grants
        .iter()
        .map(|g| format!("{}@{}", g.role, if g.scope.as_str().is_empty() { "*" } else { g.scope.as_str() }))
        .collect();
    let sub = subject.clone();
    let signed = state
        .db
        .call(move |c| {
            c.write(|tx| {
                hold(tx, Lock::Audit)?;
                let stamp = app::ssr::store::Stamp { actor: &format!("sso:{sub}"), at: now };
                let outcome = sso::sign_in(tx, &rows, (&issuer, &sub), name.as_ref(), &grants, stamp)?;
                let (actor, said) = match &outcome {
                    SignIn::Admitted { username, created, .. } => {
                        accounts::create_session(tx, &rows, &session_hash, signed_user(&outcome), now)?;
                        sso::limit_session(tx, &rows, &session_hash, max_age)?;
                        let made = if *created { "account made, " } else { "" };
                        (
                            Actor::User(username.clone()),
                            format!("{OK}: sso sub={sub}, {made}IdP grants [{}]", granted.join(" ")),
                        )
                    }
                    SignIn::NoRole => {
                        (Actor::Sso(Some(sub.clone())), "refused: sso: the groups give no role here".into())
                    }
                    SignIn::NameTaken(n) => (
                        Actor::Sso(Some(sub.clone())),
                        format!("refused: sso: the name {n} belongs to another account (an admin links accounts)"),
                    ),
                    SignIn::NoName => (Actor::Sso(Some(sub.clone())), "refused: sso: no usable username claim".into()),
                    SignIn::Disabled => (Actor::Sso(Some(sub.clone())), "refused: sso: account disabled".into()),
                    SignIn::Tampered => (
                        Actor::Sso(Some(sub.clone())),
                        "refused: sso: the identity's row was changed without the root key".into(),
                    ),
                };
                let entry = NewEntry {
                    at: now,
                    actor,
                    action: Action::SignIn,
                    namespace: String::new(),
                    key: String::new(),
                    version: None,
                    client: Client::Address(client),
                    outcome: said,
                };
                audit::append(tx, &chain, entry)?;
                Ok::<_, app::ssr::store::accounts::AccountError>(outcome)
            })
        })
        .await;
    let told = match signed {
        Ok(SignIn::Admitted { .. }) => None,
        Ok(SignIn::NoRole) => Some("Your groups give you no role here. Ask an admin if you need access."),
        Ok(SignIn::NameTaken(_)) => {
            Some("An account with your name already exists here. An admin has to link it to your single sign-on.")
        }
        Ok(SignIn::NoName) => Some("Your identity provider sent no username or email this server can use."),
        Ok(SignIn::Disabled) => Some("Your account is disabled."),
        Ok(SignIn::Tampered) => Some(FAILED),
        Err(e) => {
            tracing::error!(error = %e, "an SSO sign-in failed");
            return page(StatusCode::SERVICE_UNAVAILABLE, "Try again", "The server cannot sign you in right now.");
        }
    };
    if let Some(told) = told {
        return page(StatusCode::FORBIDDEN, "Sign-in refused", told);
    }
    sso.starts.forgive(&address_key(addr.0.ip()));
    // A same-origin page that navigates on: its navigation carries the Strict session cookie.
    let next_attr = next.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;");
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"0;url={next_attr}\"><title>Signed in · Strongroom</title></head>\
         <body><p>Signed in. <a href=\"{next_attr}\">Continue</a></p></body></html>"
    );
    let auth = &state.auth;
    let secure = if sso.config.secure() { "; Secure" } else { "" };
    let mut res = (StatusCode::OK, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    let set = [
        auth.cookies.set(&session, auth.limits.absolute.min(sso.config.session_max)),
        format!("{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}", flow_cookie(sso.config.secure())),
        auth.cookies.sso_hint(true),
    ];
    for value in set {
        if let Ok(v) = HeaderValue::from_str(&value) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn signed_user(outcome: &SignIn) -> UserId {
    match outcome {
        SignIn::Admitted { user, .. } => *user,
        _ => UserId(0),
    }
}

/// What a callback proved.
struct Verified {
    issuer: String,
    subject: String,
    name: Option<app::domain::Username>,
    grants: Vec<app::domain::Grant>,
    next: String,
}

/// The callback's checks, in order: the IdP's answer, the flow (once), the
/// browser, the code, the ID token, the groups.
async fn check(
    state: &AppState,
    sso: &Sso,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Result<Verified, Refusal> {
    if let Some(error) = query.get("error") {
        let error: String = error.chars().filter(|c| c.is_ascii_graphic()).take(64).collect();
        return Err(refuse(None, format!("the IdP answered error={error}"), FAILED));
        // (`error_description` is the IdP's prose: not recorded.)
    }
    let (Some(code), Some(flow_id)) = (query.get("code"), query.get("state")) else {
        return Err(refuse(None, "no code or state", FAILED));
    };
    if flow_id.len() > 64 || code.len() > 4096 {
        return Err(refuse(None, "an oversized code or state", FAILED));
    }
    let Some(flow) = state.oidc_flows.take(UserId(0), flow_id).await else {
        return Err(refuse(None, "unknown, expired or used state", FAILED));
    };
    if cookie(headers, flow_cookie(sso.config.secure())).map(token_hash).as_deref() != Some(flow.binding.as_slice()) {
        return Err(refuse(None, "the sign-in began in another browser", FAILED));
    }
    let unreachable = |e: String| refuse(None, format!("the IdP cannot be reached: {e}"), FAILED);
    let meta = sso.metadata(false).await.map_err(unreachable)?;
    let client = sso.client(&meta).map_err(unreachable)?;
    let exchange =
        client.exchange_code(AuthorizationCode::new(code.clone())).map_err(|e| unreachable(e.to_string()))?;
    let tokens = exchange
        .set_pkce_verifier(PkceCodeVerifier::new(flow.verifier.clone()))
        .request_async(&sso.http)
        .await
        .map_err(|e| match e {
            openidconnect::RequestTokenError::Request(e) => unreachable(e.to_string()),
            other => refuse(None, format!("the IdP refused the code: {}", printable(&other.to_string(), 200)), FAILED),
        })?;
    let Some(id_token) = openidconnect::TokenResponse::id_token(&tokens) else {
        return Err(refuse(None, "the IdP sent no ID token", FAILED));
    };
    let nonce = Nonce::new(flow.nonce.clone());
    let claims = match id_token.claims(&client.id_token_verifier(), &nonce) {
        Ok(claims) => claims.clone(),
        // Signed with a key not held, or one replaced under the same kid: the
        // IdP rotated its keys (fetched again at most once a minute).
        Err(openidconnect::ClaimsVerificationError::SignatureVerification(_)) => {
            let meta = sso.metadata(true).await.map_err(unreachable)?;
            let client = sso.client(&meta).map_err(unreachable)?;
            let verifier = client.id_token_verifier();
            let claims = id_token.claims(&verifier, &nonce).cloned();
            claims.map_err(|e| refuse(None, format!("the ID token: {}", printable(&e.to_string(), 200)), FAILED))?
        }
        Err(e) => return Err(refuse(None, format!("the ID token: {}", printable(&e.to_string(), 200)), FAILED)),
    };
    // OIDC Core: `sub` is at most 255 ASCII characters; anything else is refused, never cut short
    // (two subjects cut alike would be one account).
    let subject = claims.subject().as_str().to_owned();
    if subject.is_empty() || subject.len() > 255 || !subject.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(refuse(
            None,
            format!("the ID token's sub {:?} is not 1 to 255 visible ASCII characters", printable(&subject, 64)),
            FAILED,
        ));
    }
    if claims.issue_time().timestamp() > app::ssr::clock::now().0 + 60 {
        return Err(refuse(Some(&subject), "the ID token was issued in the future (iat)", FAILED));
    }
    // The signature held: the raw claims (groups may be any claim, nested) are read from the token itself.
    let raw = raw_claims(&id_token.to_string()).ok_or_else(|| refuse(Some(&subject), "unreadable claims", FAILED))?;
    let groups_claim = &sso.config.groups_claim;
    if raw.get("_claim_names").and_then(|n| n.get(groups_claim.as_str())).is_some() {
        return Err(refuse(
            Some(&subject),
            "the IdP sent a groups overage claim instead of the groups",
            "Your identity provider sent a reference to your groups instead of the groups (you are in too many): \
             ask an admin to send only the groups assigned to this application.",
        ));
    }
    let groups = match config::groups(&raw, groups_claim) {
        Ok(Some(groups)) => groups,
        Ok(None) => {
            return Err(refuse(
                Some(&subject),
                format!("the ID token has no {groups_claim} claim"),
                "Your identity provider sent no groups: ask an admin to add the groups claim to the ID token.",
            ))
        }
        Err(e) => return Err(refuse(Some(&subject), e, FAILED)),
    };
    Ok(Verified {
        issuer: claims.issuer().as_str().to_owned(),
        subject,
        name: config::username(&raw, &sso.config.username_claim),
        grants: sso.config.mapping.grants(&groups),
        next: flow.next.clone(),
    })
}

/// IdP text for the trail and the log: at most `max` characters, control and
/// bidirectional formatting characters as `?` (an entry must read as one line).
fn printable(text: &str, max: usize) -> String {
    let hidden = |c: char| {
        c.is_control() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    text.chars().take(max).map(|c| if hidden(c) { '?' } else { c }).collect()
}

/// The payload of a JWT whose signature was checked.
fn raw_claims(jwt: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
    let payload = jwt.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?).ok()
}

async fn logout(State((state, sso)): State<Shared>, addr: ConnectInfo<SocketAddr>, headers: HeaderMap) -> Response {
    let cookies = headers.get(header::COOKIE).and_then(|v| v.to_str().ok());
    let mut to = "/login".to_owned();
    if let Ok(Some((user, hash))) = state.session(cookies).await {
        let (chain, id, now) = (state.audit.clone(), user.id, app::ssr::clock::now());
        let entry = NewEntry {
            at: now,
            actor: Actor::User(user.username.clone()),
            action: Action::SignOut,
            namespace: String::new(),
            key: String::new(),
            version: None,
            client: Client::Address(address_key(addr.0.ip())),
            outcome: OK.into(),
        };
        let ended = state
            .db
            .call(move |c| {
                c.write(|tx| {
                    hold(tx, Lock::Audit)?;
                    accounts::end_session(tx, &hash)?;
                    audit::append(tx, &chain, entry)?;
                    sso::is_sso(tx, id)
                })
            })
            .await;
        // An SSO account's IdP session ends too, where the IdP offers it.
        if let (Ok(true), Ok(meta)) = (ended, sso.metadata(false).await) {
            if let Some(end) = meta.additional_metadata().end_session_endpoint.clone() {
                let mut request = LogoutRequest::from(end).set_client_id(ClientId::new(sso.config.client_id.clone()));
                if let Ok(back) = PostLogoutRedirectUrl::new(format!("{}/login", sso.config.public_origin)) {
                    request = request.set_post_logout_redirect_uri(back);
                }
                to = request.http_get_url().to_string();
            }
        }
    }
    // To the IdP by a page of ours, not a 303: the form's redirect to another
    // origin would be blocked by this server's CSP (`form-action 'self'`).
    let mut res = if to.starts_with('/') {
        (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
    } else {
        let to = to.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;");
        let body = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta http-equiv=\"refresh\" content=\"0;url={to}\"><title>Signing out · Strongroom</title></head>\
             <body><p>Signed out here. <a href=\"{to}\">Sign out at the identity provider too</a></p></body></html>"
        );
        (StatusCode::OK, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
    };
    for value in [state.auth.cookies.clear(), state.auth.cookies.sso_hint(false)] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

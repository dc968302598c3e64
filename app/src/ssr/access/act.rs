//! What every server function does the same way: find the caller and check
//! their role first ([`Act::require`]), parse arguments into domain types
//! ([`field`]), run store work off the runtime with its audit entry
//! ([`Act::write`]), and record a refusal or failure ([`Act::run`]). Failures
//! become an `AppError` in `errors.rs` (each function maps its own with
//! `.map_err(store_error)` and the like); the server gives each error
//! response the status of its `AppError` (`server/src/layers/api_errors.rs`).

use super::*;
use crate::ssr::db::{sql::SqlError, Conn};
use crate::ssr::{
    audit::{self, Actor, Client, NewEntry},
    state::AppState,
};
use crate::{
    domain::{
        audit::{Action, OK},
        view::SecretMeta,
        Grant, NamespacePath, Role, Scope, UserId, Username,
    },
    error::AppError,
};
use axum::http::{header, request::Parts};
use leptos::prelude::*;
use std::sync::Mutex;

/// One server-function call as the audit trail records it: exactly one entry,
/// written with the change itself ([`Act::write`]) or, when the call is
/// refused or fails, by [`Act::run`] after everything else was rolled back.
pub struct Act {
    action: Action,
    /// As submitted until parsed; then the parsed, normalized name.
    namespace: Mutex<String>,
    /// As given to `new`, or set once parsed ([`Act::set_key`]).
    key: Mutex<String>,
    client: Client,
    /// Who acted, once known; the outcome to record instead of the error's own.
    actor: Mutex<Actor>,
    outcome: Mutex<Option<String>>,
    success: Mutex<Option<String>>,
    recorded: std::sync::atomic::AtomicBool,
    /// Refused without any work done (a locked sign-in): recorded within the
    /// client's allowance, like refused reads, not one entry (and fsync) each.
    counted: std::sync::atomic::AtomicBool,
}

/// What a change's result contributes to its entry.
pub trait Recorded {
    fn version(&self) -> Option<i64> {
        None
    }

    /// An outcome that says more than `ok`.
    fn outcome(&self) -> Option<String> {
        None
    }
}
impl Recorded for () {}
impl Recorded for usize {}
/// A hand-over's id (see `state::Handover::put_with`).
impl Recorded for String {}
impl Recorded for crate::domain::view::NamespaceSummary {}
impl Recorded for crate::domain::TokenView {}
impl Recorded for crate::domain::view::ImportPlan {
    fn outcome(&self) -> Option<String> {
        Some(crate::ssr::store::import::summary(self))
    }
}
impl Recorded for SecretMeta {
    fn version(&self) -> Option<i64> {
        Some(self.version.into())
    }
}

impl Act {
    /// `namespace` and `key` as submitted (the key is the username for user
    /// actions): a refused call records what was attempted. Never a value.
    pub fn new(action: Action, namespace: &str, key: &str) -> Self {
        Self {
            action,
            namespace: Mutex::new(namespace.to_owned()),
            key: Mutex::new(key.to_owned()),
            client: client(),
            actor: Mutex::new(Actor::Anonymous),
            outcome: Mutex::new(None),
            success: Mutex::new(None),
            recorded: false.into(),
            counted: false.into(),
        }
    }

    /// Records this call's refusal within the client's allowance (see `counted`).
    pub fn count_refusal(&self) {
        self.counted.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Records `namespace` (parsed, normalized) instead of what was submitted.
    pub fn set_namespace(&self, namespace: &str) {
        *self.namespace.lock().unwrap_or_else(|p| p.into_inner()) = namespace.to_owned();
    }

    /// Records `key` (a parsed name) instead of what was submitted.
    pub fn set_key(&self, key: &str) {
        *self.key.lock().unwrap_or_else(|p| p.into_inner()) = key.to_owned();
    }

    pub fn set_actor(&self, actor: Actor) {
        *self.actor.lock().unwrap_or_else(|p| p.into_inner()) = actor;
    }

    /// Records `outcome` instead of the one the error would give.
    pub fn set_outcome(&self, outcome: impl Into<String>) {
        *self.outcome.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome.into());
    }

    /// Records `outcome` (rather than plain `ok`) when the change is made.
    pub fn set_outcome_on_success(&self, outcome: impl Into<String>) {
        *self.success.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome.into());
    }

    fn entry(&self, outcome: String, version: Option<i64>) -> NewEntry {
        NewEntry {
            at: crate::ssr::clock::now(),
            actor: self.actor.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            action: self.action,
            namespace: self.namespace.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            key: self.key.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            version,
            client: self.client.clone(),
            outcome,
        }
    }

    /// Signs the caller in check, parses `namespace` and checks `role` on it:
    /// the first line of every server function that touches a namespace.
    pub async fn require(&self, role: Role, namespace: &str) -> Result<(Caller, NamespacePath), AppError> {
        let who = self.signed_in().await?;
        let ns = field("namespace", NamespacePath::parse(namespace))?;
        self.set_namespace(ns.as_str());
        who.check(role, &ns)?;
        Ok((who, ns))
    }

    /// The first line of every server function that manages users.
    pub async fn require_admin(&self) -> Result<Caller, AppError> {
        let who = self.signed_in().await?;
        if !who.is_admin() {
            return Err(AppError::Forbidden);
        }
        Ok(who)
    }

    /// [`signed_in`], noting the caller as the actor.
    pub async fn signed_in(&self) -> Result<Caller, AppError> {
        let who = signed_in().await?;
        self.set_actor(Actor::User(who.username.clone()));
        Ok(who)
    }

    /// Runs `change` on the writer together with this call's entry: both are
    /// committed or neither (see [`audit::with_entry`]).
    pub async fn write<T, E, F>(&self, change: F) -> Result<T, E>
    where
        T: Recorded + Send + 'static,
        E: From<SqlError> + Send + 'static,
        F: FnOnce(&mut Conn) -> Result<T, E> + Send + 'static,
    {
        let state = state().map_err(|_| E::from(SqlError::Type("no server state".into())))?;
        let outcome = self.success.lock().unwrap_or_else(|p| p.into_inner()).take();
        let (key, entry) = (state.audit.clone(), self.entry(outcome.unwrap_or_else(|| OK.to_owned()), None));
        let result =
            state.db.call(move |c| audit::with_entry(c, &key, entry, |v: &T| (v.version(), v.outcome()), change)).await;
        if result.is_ok() {
            self.recorded.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        result
    }

    /// Runs the body of a server function; when it fails without having
    /// recorded anything, records the refusal or failure.
    pub async fn run<T>(&self, body: impl std::future::Future<Output = Result<T, AppError>>) -> Result<T, AppError> {
        let result = body.await;
        if let Err(error) = &result {
            if !self.recorded.load(std::sync::atomic::Ordering::SeqCst) {
                let outcome = self.outcome.lock().unwrap_or_else(|p| p.into_inner()).take();
                let entry = self.entry(outcome.unwrap_or_else(|| outcome_of(error)), None);
                let refused_read = (self.action == Action::Read
                    || self.counted.load(std::sync::atomic::Ordering::SeqCst))
                    && !matches!(error, AppError::Internal | AppError::Network);
                match refused_read {
                    true => state()?.record_refused_read(entry).await,
                    false => state()?.record_refusal(entry).await,
                }
            }
        }
        result
    }
}

/// How a refused or failed call is recorded. Never the submitted input.
pub fn outcome_of(error: &AppError) -> String {
    match error {
        AppError::Unauthorized => "refused: not signed in".into(),
        AppError::SignInFailed => "refused: wrong username or password".into(),
        AppError::Forbidden => "refused: forbidden".into(),
        AppError::NotFound(what) => format!("refused: {what}"),
        AppError::Conflict { message, .. } => format!("refused: {message}"),
        AppError::Validation { field, .. } => format!("refused: invalid {field}"),
        AppError::Invalid { problems } => {
            format!("refused: invalid {}", problems.iter().map(|p| p.field.as_str()).collect::<Vec<_>>().join(", "))
        }
        AppError::RateLimited => "refused: too many attempts".into(),
        AppError::BadRequest => "refused: malformed request".into(),
        AppError::Network | AppError::Internal => "failed: internal error".into(),
        AppError::Unavailable => "failed: the disk is full or read-only, or the database is unavailable".into(),
    }
}

/// The signed-in user a request acts for.
pub struct Caller {
    pub id: UserId,
    pub username: Username,
    pub grants: Vec<Grant>,
    /// Hash of this request's session token.
    pub session: Vec<u8>,
}

impl Caller {
    pub fn stamp(&self) -> crate::ssr::store::Stamp<'_> {
        crate::ssr::store::Stamp { actor: self.username.as_str(), at: crate::ssr::clock::now() }
    }

    /// Any grant covers `ns`: it may be listed and opened.
    pub fn can_see(&self, ns: &NamespacePath) -> bool {
        self.grants.iter().any(|g| g.scope.covers(ns))
    }

    /// `role` on `ns`: a namespace outside every grant is "not found" (its
    /// existence is not revealed); one seen with too weak a role is forbidden.
    pub fn check(&self, role: Role, ns: &NamespacePath) -> Result<(), AppError> {
        if self.grants.iter().any(|g| g.allows(role, ns)) {
            Ok(())
        } else if self.can_see(ns) {
            Err(AppError::Forbidden)
        } else {
            Err(AppError::NotFound("Namespace not found.".into()))
        }
    }

    /// Admin of every namespace: manages users and grants.
    pub fn is_admin(&self) -> bool {
        self.grants.iter().any(|g| g.role == Role::Admin && g.scope == Scope::All)
    }
}

pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the Leptos context");
        AppError::Internal
    })
}

fn request_parts() -> Option<Parts> {
    use_context::<Parts>()
}

/// The request's method (a server function called from a page's render sees the page's).
pub fn request_method() -> Option<axum::http::Method> {
    request_parts().map(|p| p.method)
}

/// What `stash` holds for `owner` under `id`, shown once: taken, except by
/// a HEAD request — it renders the page too but sends no body, so it must
/// not use up the showing.
pub async fn shown_once<T: crate::ssr::state::Handed + Clone>(
    stash: &crate::ssr::state::Handover<T>,
    owner: UserId,
    id: &str,
) -> Option<T> {
    if request_method() == Some(axum::http::Method::HEAD) {
        return stash.peek(owner, id, T::clone).await;
    }
    stash.take(owner, id).await
}

/// The request's `Cookie` header, if any.
pub fn request_cookies() -> Option<String> {
    request_parts().and_then(|p| p.headers.get(header::COOKIE).and_then(|v| v.to_str().ok()).map(String::from))
}

fn client_ip() -> Option<std::net::IpAddr> {
    request_parts()
        .and_then(|p| p.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip()))
}

/// The client's address (for throttling), or `unknown`.
pub fn client_addr() -> String {
    client().to_string()
}

/// The client, as the audit trail names it.
pub fn client() -> Client {
    Client::of(client_ip())
}

/// The caller, from the session cookie. Anonymous: `Unauthorized`.
pub async fn signed_in() -> Result<Caller, AppError> {
    let state = state()?;
    let cookies = request_cookies();
    match state.session(cookies.as_deref()).await.map_err(account_error)? {
        Some((user, session)) => Ok(Caller { id: user.id, username: user.username, grants: user.grants, session }),
        None => Err(AppError::Unauthorized),
    }
}

/// Parses one form field, naming the field in the error.
pub fn field<T, E: std::fmt::Display>(name: &str, parsed: Result<T, E>) -> Result<T, AppError> {
    parsed.map_err(|e| AppError::validation(name, e))
}

/// Adds a header to the response of the current request.
pub fn set_header(name: header::HeaderName, value: &str) {
    if let (Some(options), Ok(value)) = (use_context::<leptos_axum::ResponseOptions>(), value.parse()) {
        options.append_header(name, value);
    }
}

/// The answer a form post shows on the page it returns to ("Added DB_URL …").
/// Says what happened, never a value; it is not recorded anywhere.
/// Only a page's form post gets one: an API client reads the answer itself.
pub fn flash(message: impl AsRef<str>) {
    let from_page = request_parts()
        .and_then(|p| p.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).map(|v| v.contains("text/html")))
        .unwrap_or(false);
    if let (true, Ok(state)) = (from_page, state()) {
        set_header(header::SET_COOKIE, &state.auth.cookies.set_flash(message.as_ref()));
    }
}

/// The message a form post left for this page, taken (cleared) as it is shown.
pub fn take_flash() -> Option<String> {
    // No request, no flash (and no error): the route list is made at start by
    // rendering without a request or state.
    let cookies = request_cookies()?;
    let state = state().ok()?;
    if !state.auth.cookies.has_flash(&cookies) {
        return None;
    }
    // Cleared whether or not it is valid: a bad one is not sent again and again.
    set_header(header::SET_COOKIE, &state.auth.cookies.clear_flash());
    state.auth.cookies.read_flash(&cookies)
}

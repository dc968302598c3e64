//! Signing in and out, who is signed in, and changing one's own password.

use super::WriteOnly;
use crate::{
    domain::{view::FirstRunView, Me},
    error::AppError,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::{
    domain::{audit::Action, sso::PasswordSignIn, Password, Username},
    ssr::{
        access::*,
        audit::Actor,
        auth::{Attempt, Outcome, Stored, Verified},
        store::accounts,
    },
};

/// Signs in: on success the response sets a new session cookie. Unknown user,
/// wrong password, disabled or locked account all answer `SignInFailed` after
/// the same argon2 work.
#[server(prefix = "/api", endpoint = "session/login")]
pub async fn login(username: String, password: WriteOnly, code: Option<String>) -> Result<(), AppError> {
    // Open to anyone: this is how a session starts. Throttled per account and address.
    let act = Act::new(Action::SignIn, "", "");
    act.set_actor(Actor::UnknownUser);
    act.run(async {
        let state = state()?;
        let auth = state.auth.clone();
        let policy = auth.sso.as_ref().map(|s| s.password_sign_in);
        if policy == Some(PasswordSignIn::None) {
            act.set_outcome("refused: password sign-in is off");
            return Err(password_sign_in_off("Password sign-in is turned off"));
        }
        let password = field("password", Password::parse_attempt(password.into_inner()))?;
        let addr = client_addr();
        let address = addr.parse().map_or_else(|_| addr.clone(), crate::ssr::auth::address_key);
        let (account_key, now) = (username.trim().to_ascii_lowercase(), crate::ssr::clock::instant());

        let rows = state.rows.clone();
        let user = match Username::parse(&username) {
            Ok(name) => state.db.read(move |c| accounts::credentials(c, &rows, &name)).await.map_err(account_error)?,
            Err(_) => None,
        };
        if let Some(user) = &user {
            // Only names of real accounts are recorded (see UNKNOWN_USER).
            act.set_actor(Actor::User(user.username.clone()));
        }
        let cookies = request_cookies();
        let device_cookie = cookies.as_deref().and_then(|c| auth.cookies.read_device(c));
        let attempt = Attempt { account: &account_key, address: &address, device_cookie, now };
        let stored = user.as_ref().map(|u| Stored { password_hash: u.password_hash.clone(), disabled: u.disabled });
        let retry = Password::parse_attempt(password.expose().to_owned()).map_err(|_| AppError::Internal)?;
        let outcome =
            auth.sign_ins().attempt(attempt, stored, password).await.map_err(|e| internal("password check", &e))?;
        let (rehash, new_device, user) = match (outcome, user) {
            (Outcome::Admitted { rehash, new_device }, Some(user)) => (rehash, new_device, user),
            // Refused before any password check: counted within the client's
            // allowance (like refused reads), not one entry and fsync each.
            (Outcome::Locked, _) => {
                act.set_outcome("refused: locked after failed sign-ins");
                act.count_refusal();
                return Err(AppError::SignInFailed);
            }
            (Outcome::Busy, _) => {
                act.set_outcome("refused: too many sign-ins waiting");
                act.count_refusal();
                return Err(AppError::RateLimited);
            }
            // Nothing can be recorded either: the database is what is missing.
            (Outcome::Unavailable, _) => return Err(AppError::Unavailable),
            (refused, user) => {
                if refused == Outcome::Disabled {
                    act.set_outcome("refused: account disabled");
                } else if user.is_some() {
                    act.set_outcome("refused: wrong password");
                }
                tracing::info!(client = %addr, "sign-in refused");
                return Err(AppError::SignInFailed);
            }
        };
        if policy == Some(PasswordSignIn::Admins) {
            // Checked after the password: only its holder learns the account is not an admin.
            let (id, rows) = (user.id, state.rows.clone());
            let grants = state.db.read(move |c| accounts::grants_of(c, &rows, id)).await.map_err(account_error)?;
            // Break-glass: admins of every namespace, not of one subtree.
            if !grants.iter().any(|g| g.role == crate::domain::Role::Admin && g.scope == crate::domain::Scope::All) {
                act.set_outcome("refused: password sign-in is for admins");
                return Err(password_sign_in_off("Password sign-in is for admins only"));
            }
        }
        second_factor(&act, &state, &user, code.as_deref()).await?;
        if rehash {
            let hash = auth.hasher.hash(retry).await.map_err(|e| internal("rehash", &e))?;
            let (id, rows) = (user.id, state.rows.clone());
            state
                .db
                .call(move |c| accounts::set_password_hash(c, &rows, id, &hash, crate::ssr::clock::now(), None, false))
                .await
                .map_err(account_error)?;
        }
        let (token, hash) = crate::ssr::auth::new_session_token().map_err(|e| internal("session token", &e))?;
        let id = user.id;
        let rows = state.rows.clone();
        act.write(move |c| accounts::create_session(c, &rows, &hash, id, crate::ssr::clock::now()))
            .await
            .map_err(account_error)?;
        set_header(axum::http::header::SET_COOKIE, &auth.cookies.set(&token, auth.limits.absolute));
        if let Some(value) = new_device {
            set_header(axum::http::header::SET_COOKIE, &auth.cookies.set_device(&value));
        }
        tracing::info!(username = %user.username, client = %addr, "signed in");
        Ok(())
    })
    .await
}

/// After a right password: the account's one-time code, if it has a second
/// factor (each code once, wrong ones throttled per account); an admin
/// without one is refused while SSO is on (the break-glass account is the
/// one an attacker would aim at).
#[cfg(feature = "ssr")]
async fn second_factor(
    act: &Act,
    state: &crate::ssr::state::AppState,
    user: &accounts::Credentials,
    code: Option<&str>,
) -> Result<(), AppError> {
    use crate::ssr::{
        auth::totp,
        store::second_factors::{self, Factor},
    };
    let (id, rows, key) = (user.id, state.rows.clone(), state.factors.clone());
    let factor = state
        .db
        .read(move |c| second_factors::of(c, &rows, &key, id))
        .await
        .map_err(|e| internal("second factor", &e))?;
    let auth = &state.auth;
    let Some(factor) = factor else {
        if auth.sso.is_some() {
            let rows = state.rows.clone();
            let grants = state.db.read(move |c| accounts::grants_of(c, &rows, id)).await.map_err(account_error)?;
            if grants.iter().any(|g| g.role == crate::domain::Role::Admin) {
                act.set_outcome("refused: an admin without a second factor while SSO is on");
                return Err(AppError::Conflict {
                    field: None,
                    message: "This admin account needs a one-time code while single sign-on is on: an operator \
                              sets one up with `strongroom user totp NAME` on the server."
                        .into(),
                });
            }
        }
        return Ok(());
    };
    let account = user.username.as_str();
    if !auth.codes.attempt(account, crate::ssr::clock::instant()) {
        act.set_outcome("refused: locked after wrong one-time codes");
        return Err(AppError::SignInFailed);
    }
    let step = match (&factor, code) {
        (Factor::Totp { secret, last_step }, Some(code)) => {
            totp::verify(secret, code, crate::ssr::clock::now().0, *last_step)
        }
        _ => None,
    };
    let used = match step {
        Some(step) => state
            .db
            .call(move |c| second_factors::use_step(&*c, id, step))
            .await
            .map_err(|e| internal("second factor", &e))?,
        None => false,
    };
    if !used {
        act.set_outcome("refused: wrong or missing one-time code");
        return Err(AppError::SignInFailed);
    }
    auth.codes.succeed(account);
    Ok(())
}

/// The answer to a password sign-in the SSO policy does not allow.
#[cfg(feature = "ssr")]
fn password_sign_in_off(what: &str) -> AppError {
    AppError::Conflict { field: None, message: format!("{what}: sign in with single sign-on.") }
}

/// Ends the caller's session and clears the cookie.
#[server(prefix = "/api", endpoint = "session/logout")]
pub async fn logout() -> Result<(), AppError> {
    let act = Act::new(Action::SignOut, "", "");
    act.run(async {
        let who = act.signed_in().await?;
        let state = state()?;
        act.write(move |c| accounts::end_session(c, &who.session)).await.map_err(account_error)?;
        set_header(axum::http::header::SET_COOKIE, &state.auth.cookies.clear());
        if state.auth.sso.is_some() {
            // Signed out on purpose: the next page asks, rather than going back through the IdP.
            set_header(axum::http::header::SET_COOKIE, &state.auth.cookies.sso_hint(false));
        }
        Ok(())
    })
    .await
}

/// The signed-in user and their grants.
#[server(prefix = "/api", endpoint = "session/me")]
pub async fn current_user() -> Result<Me, AppError> {
    let act = Act::new(Action::Read, "", "");
    act.run(async {
        let who = act.signed_in().await?;
        let trial_key = state()?.setup.first_run().trial_key;
        Ok(Me { username: who.username, grants: who.grants, trial_key })
    })
    .await
}

/// Changes the caller's own password after checking the current one; ends the
/// caller's other sessions.
#[server(prefix = "/api", endpoint = "session/password")]
pub async fn change_password(current: WriteOnly, new_password: WriteOnly) -> Result<(), AppError> {
    let act = Act::new(Action::PasswordChange, "", "");
    act.run(async {
        let who = act.signed_in().await?;
        let current = field("current", Password::parse_attempt(current.into_inner()))?;
        let new_password = field("new_password", Password::parse_new(new_password.into_inner()))?;
        let state = state()?;
        // The same account throttle as sign-in: this is a password check too.
        let throttle = &state.auth.accounts;
        match throttle.attempt(who.username.as_str(), crate::ssr::clock::instant()).await {
            Ok(true) => {}
            Ok(false) => return Err(AppError::RateLimited),
            Err(_) => return Err(AppError::Unavailable),
        }
        let (name, rows) = (who.username.clone(), state.rows.clone());
        let stored = state.db.read(move |c| accounts::credentials(c, &rows, &name)).await.map_err(account_error)?;
        let hasher = &state.auth.hasher;
        let stored = stored.map(|u| u.password_hash);
        if hasher.verify(current, stored).await.map_err(|e| internal("password check", &e))? == Verified::No {
            return Err(AppError::validation("current", "The current password is not correct."));
        }
        throttle.succeed(who.username.as_str()).await;
        let hash = hasher.hash(new_password).await.map_err(|e| internal("hash", &e))?;
        let (id, rows) = (who.id, state.rows.clone());
        act.write(move |c| {
            accounts::set_password_hash(c, &rows, who.id, &hash, crate::ssr::clock::now(), Some(&who.session), true)
        })
        .await
        .map_err(account_error)?;
        // A form post comes back to the account page, which says so once.
        let notice = state.notices.put(id, (), 0).await.ok_or(AppError::Internal)?;
        leptos_axum::redirect(&format!("/account?changed={notice}"));
        Ok(())
    })
    .await
}

/// Whether `changed` is this user's one-time notice of a password change (see
/// `change_password`); a second call, or another user's, finds nothing.
#[server(prefix = "/api", endpoint = "session/changed")]
pub async fn password_changed(changed: String) -> Result<bool, AppError> {
    let act = Act::new(Action::Read, "", "");
    act.run(async {
        let who = act.signed_in().await?;
        Ok(state()?.notices.take(who.id, &changed).await.is_some())
    })
    .await
}

/// While no account exists: what `/login` tells a newcomer (the command that
/// makes the first admin, with this server's data dir, and where the setup
/// link is). `None` once anyone has an account.
#[server(prefix = "/api", endpoint = "session/first_run")]
pub async fn first_run() -> Result<Option<FirstRunView>, AppError> {
    let state = state()?;
    if state.db.read(accounts::user_count).await.map_err(account_error)? > 0 {
        return Ok(None);
    }
    let info = state.setup.first_run();
    let dir = info.data_dir.display().to_string();
    let plain = dir.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b));
    let quoted = if plain { dir } else { format!("'{}'", dir.replace('\'', "'\\''")) };
    Ok(Some(FirstRunView {
        command: format!("strongroom user add admin --role admin --data-dir {quoted}"),
        link_file: info.link_file.map(|p| p.display().to_string()),
    }))
}

/// Whether `token` is this server's valid setup link (see `ssr::auth::setup`).
#[server(prefix = "/api", endpoint = "setup/check")]
pub async fn setup_valid(token: String) -> Result<bool, AppError> {
    let state = state()?;
    if !state.setup.check(&token) {
        return Ok(false);
    }
    Ok(!state.db.read(accounts::admin_exists).await.map_err(account_error)?)
}

/// Creates the first admin (of every namespace) through the one-time setup
/// link, and signs them in: once, within the hour, and only while no admin exists.
#[server(prefix = "/api", endpoint = "setup/admin")]
pub async fn setup_admin(token: String, username: String, password: WriteOnly) -> Result<(), AppError> {
    // Nothing typed is recorded until it parses: people type passwords into name fields.
    let act = Act::new(Action::UserAdd, "", "");
    act.run(async {
        let state = state()?;
        if !state.setup.check(&token) {
            act.count_refusal();
            return Err(AppError::NotFound(
                "This setup link is not valid: it was used, it expired, or the server restarted. \
                 Sign in, or restart the server for a new link while no account exists."
                    .into(),
            ));
        }
        let (username, password) = crate::error::every((
            field("username", Username::parse(&username)),
            field("password", Password::parse_new(password.into_inner())),
        ))?;
        act.set_actor(Actor::User(username.clone()));
        act.set_key(&format!("{username} as admin"));
        let hash = state.auth.hasher.hash(password).await.map_err(|e| internal("hash", &e))?;
        let (token_value, session_hash) =
            crate::ssr::auth::new_session_token().map_err(|e| internal("session token", &e))?;
        let (name, rows) = (username.clone(), state.rows.clone());
        let admin = crate::domain::Grant { role: crate::domain::Role::Admin, scope: crate::domain::Scope::All };
        act.write(move |c| {
            if accounts::admin_exists(c)? {
                return Err(accounts::AccountError::AdminExists);
            }
            let stamp = crate::ssr::store::Stamp { actor: name.as_str(), at: crate::ssr::clock::now() };
            accounts::create_user(c, &rows, &name, &hash, &[admin], stamp)?;
            let id = accounts::user_id_of(c, &name)?;
            accounts::create_session(c, &rows, &session_hash, id, crate::ssr::clock::now())
        })
        .await
        .map_err(account_error)?;
        // Used up: a second post, or a copy of the link, finds nothing.
        state.setup.take(&token);
        state.setup.end();
        set_header(axum::http::header::SET_COOKIE, &state.auth.cookies.set(&token_value, state.auth.limits.absolute));
        leptos_axum::redirect("/");
        flash(format!("Welcome, {username}: you are the admin of every namespace. Create a namespace to begin."));
        Ok(())
    })
    .await
}

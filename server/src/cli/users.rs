//! `strongroom user add`: how the first admin is made; `user totp`: a
//! one-time code as an account's second factor; `user link-sso`: an existing
//! account linked to an SSO identity, explicitly.

use crate::config::KeyArgs;
use app::{
    domain::{
        audit::{Action, OK},
        Grant, Password, Role, Scope, Username,
    },
    ssr::{
        audit,
        store::accounts::{self, AccountError},
        store::Stamp,
    },
};
use std::io::{BufRead, IsTerminal};

/// Reads one line from standard input; on a terminal, without echo (no `stty`
/// child, which would inherit the root key from the environment).
fn read_secret_line(prompt: &str) -> Result<String, String> {
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password(prompt).map_err(|e| format!("cannot read the password: {e}"));
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| format!("cannot read the password: {e}"))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

pub async fn add(name: &str, role: &str, namespace: Option<&str>, init: bool, key: &KeyArgs) -> Result<(), String> {
    // Run from another directory, a relative default data dir would silently make a
    // second database (with its own trial key) that the server never reads.
    let source = key.source().map_err(|e| e.to_string())?;
    let present = super::local::exists(&source).await.map_err(|e| e.to_string())?;
    if !init && matches!(source, app::ssr::db::Source::Postgres(_)) && !present {
        return Err(format!("no database at {source}: pass --init to create one there"));
    }
    if !init && !present {
        let looked = std::path::absolute(key.db_path()).unwrap_or_else(|_| key.db_path());
        return Err(format!(
            "no database at {}: pass the server's data directory (--data-dir or STRONGROOM_DATA_DIR), \
             or --init to create a new one there",
            looked.display()
        ));
    }
    let username = Username::parse(name).map_err(|e| e.to_string())?;
    let role: Role = role.parse().map_err(|e: app::domain::account::RoleError| e.to_string())?;
    let scope = Scope::parse(namespace.unwrap_or("")).map_err(|e| format!("--namespace: {e}"))?;
    let first = read_secret_line("Password: ")?;
    if std::io::stdin().is_terminal() && read_secret_line("Password again: ")? != first {
        return Err("the passwords differ".into());
    }
    let password = Password::parse_new(first).map_err(|e| e.to_string())?;
    let state = super::local::open(key, true).await.map_err(|e| e.to_string())?;
    let hash = state.auth.hasher.hash(password).await.map_err(|e| e.to_string())?;
    let grant = Grant { role, scope };
    let entry = super::local::entry(Action::UserAdd, grant.scope.as_str(), format!("{username} as {role}"), OK.into());
    let shown = grant.clone();
    let (chain_key, rows) = (state.audit.clone(), state.rows.clone());
    state
        .db
        .call(move |c| {
            audit::with_entry(
                c,
                &chain_key,
                entry,
                |_| (None, None),
                |c| {
                    accounts::create_user(
                        c,
                        &rows,
                        &username,
                        &hash,
                        &[grant],
                        Stamp { actor: "cli", at: app::ssr::clock::now() },
                    )
                },
            )
        })
        .await
        .map_err(|e| match e {
            AccountError::UserExists => format!("user {name} already exists"),
            other => other.to_string(),
        })?;
    println!("added {} as {} on {}", name.to_ascii_lowercase(), shown.role, shown.scope);
    Ok(())
}

/// Links account `name` to the SSO identity `(issuer, subject)`.
pub async fn link_sso(name: &str, issuer: &str, subject: &str, key: &KeyArgs) -> Result<(), String> {
    let username = Username::parse(name).map_err(|e| e.to_string())?;
    let subject = subject.trim().to_owned();
    if subject.is_empty() || subject.len() > 255 || !subject.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("--subject: 1 to 255 visible ASCII characters (the ID token's sub)".into());
    }
    let issuer = app::domain::jwt::Issuer::parse(issuer).map_err(|e| format!("--issuer: {e}"))?;
    let state = super::local::open(key, false).await.map_err(|e| e.to_string())?;
    let entry = super::local::entry(Action::UserLinkSso, "", format!("{username} to sso:{subject}"), OK.into());
    let (chain_key, rows, shown) = (state.audit.clone(), state.rows.clone(), username.clone());
    state
        .db
        .call(move |c| {
            audit::with_entry(
                c,
                &chain_key,
                entry,
                |_| (None, None),
                |c| {
                    let stamp = Stamp { actor: "(command line)", at: app::ssr::clock::now() };
                    app::ssr::store::sso::link(c, &rows, &username, (issuer.as_str(), &subject), stamp)
                },
            )
        })
        .await
        .map_err(|e| match e {
            AccountError::UserExists => "that SSO identity is linked to an account already".to_owned(),
            e => e.to_string(),
        })?;
    eprintln!("linked {shown} to that SSO identity: it signs in as {shown} from now on");
    Ok(())
}

/// Sets up (or with `remove`, removes) the TOTP second factor of account `name`.
pub async fn totp(name: &str, remove: bool, key: &KeyArgs) -> Result<(), String> {
    use app::ssr::{auth::totp, store::second_factors};
    let username = Username::parse(name).map_err(|e| e.to_string())?;
    let mut secret = zeroize::Zeroizing::new([0u8; totp::SECRET_BYTES]);
    getrandom::fill(secret.as_mut()).map_err(|e| format!("the system random number generator failed: {e}"))?;
    let state = super::local::open(key, false).await.map_err(|e| e.to_string())?;
    let done = if remove { format!("{OK}: removed") } else { format!("{OK}: set up") };
    let entry = super::local::entry(Action::UserTotp, "", &username, done);
    let (chain_key, rows, factors, shown) =
        (state.audit.clone(), state.rows.clone(), state.factors.clone(), username.clone());
    let stored = *secret;
    state
        .db
        .call(move |c| {
            audit::with_entry(
                c,
                &chain_key,
                entry,
                |_| (None, None),
                |c| {
                    let user = accounts::user_id_of(&*c, &username)?;
                    if remove {
                        second_factors::remove(&*c, user)?;
                        return Ok::<_, second_factors::FactorError>(());
                    }
                    second_factors::enroll(&*c, &rows, &factors, user, &stored, app::ssr::clock::now())
                },
            )
        })
        .await
        .map_err(|e| e.to_string())?;
    if remove {
        eprintln!("removed the one-time code of {shown}");
    } else {
        eprintln!("a one-time code for {shown}: add it to an authenticator app (shown only now)");
        println!("secret {}", totp::base32(secret.as_ref()));
        println!("uri    {}", totp::uri(shown.as_str(), secret.as_ref()));
    }
    Ok(())
}

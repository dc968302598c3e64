//! `strongroom token create | list | revoke`: workload tokens from the
//! command line, on the data directory (like `user add`), audited as
//! `(command line)`.

use super::{local, RunError};
use crate::config::KeyArgs;
use app::{
    domain::{
        audit::{Action, OK},
        token::token_scope,
        Expiry, Timestamp, TokenName,
    },
    ssr::{
        audit,
        store::tokens::{self, TokenError},
        store::Stamp,
    },
};
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a read-only token for NAMESPACE and below; prints the token (only it) once.
    Create {
        /// The token's name (2 to 64 of a-z 0-9 . _ -), shown in the audit trail as token:NAME.
        name: String,
        /// The namespace subtree it reads, or '*' for every namespace.
        #[arg(long)]
        namespace: String,
        /// never (the default), a number of days or hours (30d, 12h), or a date (2027-01-31, UTC).
        #[arg(long, default_value = "never")]
        expires: String,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// List tokens: name, scope, created, expires, last used, status.
    List {
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Revoke a token at once.
    Revoke {
        name: String,
        #[command(flatten)]
        key: KeyArgs,
    },
}

const ACTOR: &str = "(command line)";

fn token_error(e: TokenError) -> RunError {
    RunError::User(match e {
        TokenError::NameTaken => "a token with that name exists".into(),
        TokenError::NotFound => "no token with that name".into(),
        TokenError::AlreadyRevoked => "that token is already revoked".into(),
        other => other.to_string(),
    })
}

pub async fn run(command: TokenCommand) -> Result<(), RunError> {
    let user = |e: &dyn std::fmt::Display| RunError::User(e.to_string());
    match command {
        TokenCommand::Create { name, namespace, expires, key } => {
            let name = TokenName::parse_chosen(&name).map_err(|e| user(&e))?;
            let scope = token_scope(&namespace).map_err(|e| user(&format!("--namespace: {e}")))?;
            let now = app::ssr::clock::now();
            let expires_at =
                Expiry::parse(&expires).and_then(|e| e.at(now)).map_err(|e| user(&format!("--expires: {e}")))?;
            let state = local::open(&key, false).await?;
            let (token, hash) = tokens::new_token().map_err(token_error)?;
            let (chain, rows, record) = (
                state.audit.clone(),
                state.rows.clone(),
                local::entry(Action::TokenCreate, scope.as_str(), &name, OK.into()),
            );
            let view = state
                .db
                .call(move |c| {
                    audit::with_entry(
                        c,
                        &chain,
                        record,
                        |_| (None, None),
                        |c| tokens::create(c, &rows, &name, &scope, expires_at, &hash, Stamp { actor: ACTOR, at: now }),
                    )
                })
                .await
                .map_err(token_error)?;
            eprintln!(
                "created token {} for {}, expires {}; it is shown only now:",
                view.name,
                view.scope,
                view.expires_at.map_or_else(|| "never".into(), |t| t.to_string())
            );
            println!("{}", token.as_str());
            Ok(())
        }
        TokenCommand::List { key } => {
            let state = local::open(&key, false).await?;
            let list = state.db.read(|c| tokens::list(c, app::ssr::clock::now())).await.map_err(token_error)?;
            println!("{:<24} {:<28} {:<24} {:<24} {:<24} STATUS", "NAME", "SCOPE", "CREATED", "EXPIRES", "LAST USED");
            let when = |t: Option<Timestamp>| t.map_or_else(|| "never".into(), |t| t.to_string());
            for t in list {
                println!(
                    "{:<24} {:<28} {:<24} {:<24} {:<24} {}",
                    t.name,
                    t.scope.to_string(),
                    t.created_at.to_string(),
                    when(t.expires_at),
                    when(t.last_used_at),
                    t.status()
                );
            }
            Ok(())
        }
        TokenCommand::Revoke { name, key } => {
            let name = TokenName::parse(&name).map_err(|e| user(&e))?;
            let state = local::open(&key, false).await?;
            let (chain, rows, record) =
                (state.audit.clone(), state.rows.clone(), local::entry(Action::TokenRevoke, "", &name, OK.into()));
            let revoked = name.clone();
            state
                .db
                .call(move |c| {
                    audit::with_entry(
                        c,
                        &chain,
                        record,
                        |_| (None, None),
                        |c| tokens::revoke(c, &rows, &revoked, Stamp { actor: ACTOR, at: app::ssr::clock::now() }),
                    )
                })
                .await
                .map_err(token_error)?;
            eprintln!("revoked token {name}");
            Ok(())
        }
    }
}

//! `strongroom approle create | secret-id | list | revoke`: AppRoles from the
//! command line, on the data directory or database (like `token`), audited
//! as `(command line)`. A workload logs in with the role id and a secret id
//! (`POST /v1/auth/approle/login`) and gets a short-lived token.

use super::{
    local::{self, entry},
    RunError,
};
use crate::config::KeyArgs;
use app::{
    domain::{
        audit::{Action, OK},
        token::{token_scope, Ttl},
        Timestamp, TokenName,
    },
    ssr::{
        audit::NewEntry,
        store::approles::{self, AppRoleError},
        store::Stamp,
    },
};
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum AppRoleCommand {
    /// Create an AppRole reading NAMESPACE and below; prints its role id, then
    /// its first secret id (shown only now) and that secret id's accessor.
    Create {
        /// The role's name (2 to 40 of a-z 0-9 _ -), shown in the audit trail as approle:NAME.
        name: String,
        /// The namespace subtree its logins read, or '*' for every namespace.
        #[arg(long)]
        namespace: String,
        /// How long a login's token lives: 15m, 1h (the default), up to 24h.
        #[arg(long, default_value = "1h")]
        token_ttl: String,
        /// How long a secret id stays good: 30d (the default), up to 366d, or never.
        #[arg(long, default_value = "30d")]
        secret_id_ttl: String,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Issue another secret id for an AppRole (shown only now), or revoke one:
    /// `approle secret-id NAME`, `approle secret-id revoke NAME ACCESSOR`.
    #[command(name = "secret-id", args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    SecretId {
        #[command(subcommand)]
        revoke: Option<SecretIdCommand>,
        #[arg(required = true)]
        name: Option<String>,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// List AppRoles: name, scope, TTLs, live secret ids and logins (never a secret id).
    List {
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Revoke an AppRole at once: its secret ids and the tokens of its logins too.
    Revoke {
        name: String,
        #[command(flatten)]
        key: KeyArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum SecretIdCommand {
    /// Revoke one secret id of an AppRole, named by its accessor.
    Revoke {
        name: String,
        accessor: String,
        #[command(flatten)]
        key: KeyArgs,
    },
}

const ACTOR: &str = "(command line)";

fn failed(e: AppRoleError) -> RunError {
    RunError::User(e.to_string())
}

fn user(e: &dyn std::fmt::Display) -> RunError {
    RunError::User(e.to_string())
}

/// [`local::audited`] on the data directory's store.
pub(super) async fn audited<T: Send + 'static>(
    key: &KeyArgs,
    record: NewEntry,
    outcome: impl FnOnce(&T) -> Option<String> + Send + 'static,
    change: impl FnOnce(&dyn app::ssr::db::sql::Sql, &app::ssr::db::RowKey) -> Result<T, AppRoleError> + Send + 'static,
) -> Result<T, RunError> {
    local::audited(&local::open(key, false).await?, record, outcome, change).await
}

/// The outcome that names a new secret id by its accessor (restore checks
/// the secret ids against these; see `cli::backup`).
fn issued(accessor: &str) -> Option<String> {
    Some(format!("{OK}: accessor {accessor}"))
}

fn when(t: Option<Timestamp>) -> String {
    t.map_or_else(|| "never".into(), |t| t.to_string())
}

pub async fn run(command: AppRoleCommand) -> Result<(), RunError> {
    match command {
        AppRoleCommand::Create { name, namespace, token_ttl, secret_id_ttl, key } => {
            let name = TokenName::parse_role(&name).map_err(|e| user(&e))?;
            let scope = token_scope(&namespace).map_err(|e| user(&format!("--namespace: {e}")))?;
            let token_ttl = Ttl::parse(&token_ttl, approles::MAX_TOKEN_TTL, false)
                .map_err(|e| user(&format!("--token-ttl: {e}")))?;
            let secret_id_ttl = Ttl::parse(&secret_id_ttl, approles::MAX_SECRET_ID_TTL, true)
                .map_err(|e| user(&format!("--secret-id-ttl: {e}")))?;
            let record = entry(Action::AppRoleCreate, scope.as_str(), &name, OK.into());
            let (view, secret) = audited(
                &key,
                record,
                |(_, s): &(_, approles::Issued)| issued(&s.accessor),
                move |c, rows| {
                    let stamp = Stamp { actor: ACTOR, at: app::ssr::clock::now() };
                    approles::create(c, rows, &name, &scope, (token_ttl.0, secret_id_ttl.0), stamp)
                },
            )
            .await?;
            eprintln!(
                "created AppRole {} for {}: tokens live {}, secret ids {}; the secret id is shown only now",
                view.name, view.scope, token_ttl, secret_id_ttl
            );
            println!("role_id            {}", view.role_id);
            println!("secret_id          {}", secret.secret_id.as_str());
            println!("secret_id_accessor {}", secret.accessor);
            Ok(())
        }
        AppRoleCommand::SecretId { revoke: Some(SecretIdCommand::Revoke { name, accessor, key }), .. } => {
            let name = TokenName::parse_role(&name).map_err(|e| user(&e))?;
            let record = entry(Action::AppRoleSecretIdRevoke, "", &name, issued(accessor.trim()).unwrap_or_default());
            let shown = name.clone();
            audited(
                &key,
                record,
                |_| None,
                move |c, rows| {
                    let stamp = Stamp { actor: ACTOR, at: app::ssr::clock::now() };
                    approles::revoke_secret_id(c, rows, &name, &accessor, stamp)
                },
            )
            .await?;
            eprintln!("revoked that secret id of AppRole {shown}");
            Ok(())
        }
        AppRoleCommand::SecretId { revoke: None, name, key } => {
            let name = TokenName::parse_role(name.as_deref().unwrap_or_default()).map_err(|e| user(&e))?;
            let record = entry(Action::AppRoleSecretId, "", &name, OK.into());
            let shown = name.clone();
            let secret = audited(
                &key,
                record,
                |s: &approles::Issued| issued(&s.accessor),
                move |c, rows| {
                    let stamp = Stamp { actor: ACTOR, at: app::ssr::clock::now() };
                    approles::issue_secret_id(c, rows, &name, stamp)
                },
            )
            .await?;
            eprintln!("a new secret id for AppRole {shown}, expires {}; shown only now:", when(secret.expires_at));
            println!("secret_id          {}", secret.secret_id.as_str());
            println!("secret_id_accessor {}", secret.accessor);
            Ok(())
        }
        AppRoleCommand::List { key } => {
            let state = local::open(&key, false).await?;
            let list = state.db.read(|c| approles::list(c, app::ssr::clock::now())).await.map_err(failed)?;
            println!(
                "{:<24} {:<36} {:<24} {:>9} {:>13} {:>10} {:>6} STATUS",
                "NAME", "ROLE ID", "SCOPE", "TOKEN TTL", "SECRET ID TTL", "SECRET IDS", "LOGINS"
            );
            for r in list {
                println!(
                    "{:<24} {:<36} {:<24} {:>9} {:>13} {:>10} {:>6} {}",
                    r.name,
                    r.role_id,
                    r.scope.to_string(),
                    Ttl(r.token_ttl).to_string(),
                    Ttl(r.secret_id_ttl).to_string(),
                    r.live_secret_ids,
                    r.live_logins,
                    if r.revoked_at.is_some() { "revoked" } else { "active" }
                );
            }
            Ok(())
        }
        AppRoleCommand::Revoke { name, key } => {
            let name = TokenName::parse_role(&name).map_err(|e| user(&e))?;
            let record = entry(Action::AppRoleRevoke, "", &name, OK.into());
            let shown = name.clone();
            let logins = audited(
                &key,
                record,
                |_| None,
                move |c, rows| approles::revoke(c, rows, &name, Stamp { actor: ACTOR, at: app::ssr::clock::now() }),
            )
            .await?;
            eprintln!("revoked AppRole {shown}, its secret ids and {logins} live login token(s)");
            Ok(())
        }
    }
}

//! The command line. Each family of commands has a file of its own:
//! `serve` (the default), `keygen`, `user add` (`users`), `token …` (`tokens`),
//! `import` (`import`), `audit verify|seed` (`audit`), `backup`, `restore`
//! (`backup`), `keyring …`, `rewrap`, `rekey` (`keyring`) — all local, on the
//! data directory with the root key — and `get | export | run` (`workload`), which
//! talk to a running server with a token.

mod approle;
mod audit;
mod backup;
mod import;
mod jwt_role;
mod keyring;
mod local;
mod require;
mod serve;
mod store;
mod tokens;
mod users;
mod webhook;
pub mod workload;

use crate::config::{ConfigError, KeyArgs, ServeArgs};
use app::ssr::{crypto::RootKey, state::OpenError};
use clap::{Parser, Subcommand};

pub use local::open_state;
pub use workload::Remote;

#[derive(Parser, Debug)]
#[command(name = "strongroom", version, about = "Self-hosted web admin for per-namespace secrets.")]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the web UI and API (the default command).
    Serve(Box<ServeArgs>),
    /// Print a new random 256-bit root key, base64-encoded.
    Keygen,
    /// Manage users (the first admin is made here).
    #[command(subcommand)]
    User(UserCommand),
    /// Manage workload tokens (local, like `user add`).
    #[command(subcommand)]
    Token(tokens::TokenCommand),
    /// Webhooks: events (secret rotated, token revoked, rotation overdue, …) posted, signed.
    #[command(subcommand)]
    Webhook(webhook::WebhookCommand),
    /// AppRoles: workloads log in with a role id and a secret id for a short-lived token.
    #[command(subcommand, name = "approle")]
    AppRole(approle::AppRoleCommand),
    /// JWT roles: workloads log in with a signed identity token (GitHub Actions, GitLab CI).
    #[command(subcommand, name = "jwt-role")]
    JwtRole(jwt_role::JwtRoleCommand),
    /// Declare KEYs required in NAMESPACE and every namespace under it (`check` then says
    /// whether they resolve); with --remove, no longer required. Local, like `token`.
    Require {
        namespace: String,
        #[arg(required = true)]
        keys: Vec<String>,
        #[arg(long)]
        remove: bool,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Whether every key NAMESPACE requires resolves for it (from a running server, with a
    /// token): exit 0 when complete, 1 when some are missing (their names printed, one a
    /// line), 2 on any error. Reads no value.
    Check {
        namespace: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Print one secret's value, as NAMESPACE sees it (from a running server, with a token).
    Get {
        namespace: String,
        key: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Print every secret NAMESPACE sees, in a format Kestra, Prefect or a dotenv parser reads.
    Export {
        namespace: String,
        /// kestra, dotenv, prefect, json or shell (`export KEY='…'`, safe to source).
        #[arg(long, default_value = "dotenv")]
        format: String,
        /// With --format shell: export this key even though its name can make programs run
        /// other code once sourced (PATH, BASH_ENV, …; see `run --help`); may be repeated.
        #[arg(long = "allow-env", value_name = "KEY")]
        allow_env: Vec<String>,
        #[command(flatten)]
        remote: Remote,
    },
    /// Run a command with the secrets NAMESPACE sees added to its environment.
    #[command(after_help = workload::code_loading_help())]
    Run {
        namespace: String,
        #[command(flatten)]
        remote: Remote,
        /// Set exactly these secrets (comma-separated; may be repeated).
        #[arg(long, value_name = "KEY,…", value_delimiter = ',')]
        only: Vec<String>,
        /// Set the secrets whose key starts with this (may be repeated).
        #[arg(long, value_name = "PREFIX")]
        prefix: Vec<String>,
        /// Set this secret even though its name can make programs run other code, or it is
        /// already set in this environment (see below); may be repeated.
        #[arg(long = "allow-env", value_name = "KEY")]
        allow_env: Vec<String>,
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true)]
        command: Vec<std::ffi::OsString>,
    },
    /// Import a .env file (or Kestra's SECRET_ file, Prefect's, JSON) into NAMESPACE (local).
    Import(import::ImportArgs),
    /// Check or seed the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Copy the database to PATH, consistently, while the server runs (still encrypted).
    Backup {
        path: std::path::PathBuf,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Put a backup into an empty data directory, after checking its integrity,
    /// its key check against the root key, and its audit trail.
    Restore {
        path: std::path::PathBuf,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// List, rotate or retire the data keys (while the server runs).
    #[command(subcommand)]
    Keyring(keyring::KeyringCommand),
    /// Move a store between SQLite and PostgreSQL (`store copy FROM TO`).
    #[command(subcommand)]
    Store(store::StoreCommand),
    /// Re-seal every stored version under the newest data key, in small batches while
    /// the server runs; run it again to resume after an interruption.
    Rewrap {
        /// Versions re-sealed per transaction.
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Wrap the keyring with a new root key (made with `strongroom keygen`); the old one
    /// stops opening the database.
    Rekey {
        #[arg(long)]
        new_key_file: std::path::PathBuf,
        #[command(flatten)]
        key: KeyArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the whole HMAC chain; names the first entry edited, removed,
    /// reordered or inserted, and exits non-zero then.
    Verify {
        /// Archives (from `audit archive`) to check too, oldest first: each on
        /// its own, then chained into the next and into the live trail.
        #[arg(long = "archive", value_name = "FILE")]
        archives: Vec<std::path::PathBuf>,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Write the entries older than DATE to FILE (JSON Lines that verify on
    /// their own with the root key), then remove them from the live trail,
    /// which verifies on from the checkpoint they end at.
    Archive {
        /// UTC date or time: `2026-01-01` or `2026-01-01T00:00`.
        #[arg(long)]
        before: String,
        /// A new file (never overwritten); written and synced before anything is removed.
        #[arg(long)]
        to: std::path::PathBuf,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Append COUNT synthetic entries (for benchmarks; never on real data).
    Seed {
        count: u64,
        #[command(flatten)]
        key: KeyArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a user; the password is read from standard input (asked twice on a terminal).
    Add {
        /// The username (2 to 64 of a-z 0-9 . _ @ -).
        name: String,
        /// admin, editor or auditor.
        #[arg(long)]
        role: String,
        /// The namespace subtree the role covers; omitted: every namespace.
        #[arg(long)]
        namespace: Option<String>,
        /// Create the database if the data directory has none (a new install, before the
        /// server first ran). Without it, a missing database is an error naming where it was looked for.
        #[arg(long)]
        init: bool,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Set up a one-time code (TOTP) as the account's second factor: prints the secret and
    /// an otpauth:// URI for an authenticator app (shown only now), replacing any before.
    /// Required of admins' password sign-ins while SSO is on.
    Totp {
        name: String,
        /// Remove the account's second factor instead.
        #[arg(long)]
        remove: bool,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Link an existing account to an SSO identity (the IdP's issuer and `sub`): that
    /// identity then signs in as this account. SSO never links accounts by name itself.
    #[command(name = "link-sso")]
    LinkSso {
        name: String,
        /// The IdP's issuer URL, exactly as in STRONGROOM_OIDC_ISSUER (the ID token's `iss`).
        #[arg(long)]
        issuer: String,
        /// The identity's `sub` at that IdP (the trail names refused sign-ins `sso:SUB`).
        #[arg(long)]
        subject: String,
        #[command(flatten)]
        key: KeyArgs,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error(
        "the root key does not match the database {0}. Start with the key this database was \
         created with (STRONGROOM_MASTER_KEY_FILE or STRONGROOM_MASTER_KEY)."
    )]
    WrongRootKey(String),
    #[error("cannot open the database {0}: {1}")]
    Database(String, OpenError),
    #[error("cannot listen on {0}: {1}")]
    Listen(String, std::io::Error),
    #[error("server error: {0}")]
    Serve(std::io::Error),
    #[error("cannot generate a key: {0}")]
    Keygen(app::ssr::crypto::CryptoError),
    #[error("{0}")]
    User(String),
    #[error("the audit trail is broken at entry {id}: {problem}")]
    AuditBroken { id: i64, problem: String },
}

pub async fn run(cli: Cli) -> Result<(), RunError> {
    match cli.command {
        Some(Command::Keygen) => {
            let key = RootKey::generate().map_err(RunError::Keygen)?;
            println!("{}", key.to_base64().as_str());
            Ok(())
        }
        Some(Command::Serve(args)) => serve::serve(*args).await,
        Some(Command::User(UserCommand::Add { name, role, namespace, init, key })) => {
            users::add(&name, &role, namespace.as_deref(), init, &key).await.map_err(RunError::User)
        }
        Some(Command::User(UserCommand::Totp { name, remove, key })) => {
            users::totp(&name, remove, &key).await.map_err(RunError::User)
        }
        Some(Command::User(UserCommand::LinkSso { name, issuer, subject, key })) => {
            users::link_sso(&name, &issuer, &subject, &key).await.map_err(RunError::User)
        }
        Some(Command::Token(command)) => tokens::run(command).await,
        Some(Command::Webhook(command)) => webhook::run(command).await,
        Some(Command::Require { namespace, keys, remove, key }) => {
            require::require(&namespace, &keys, remove, &key).await
        }
        Some(Command::Check { namespace, remote }) => workload::check(&remote, &namespace).await,
        Some(Command::AppRole(command)) => approle::run(command).await,
        Some(Command::JwtRole(command)) => jwt_role::run(command).await,
        Some(Command::Backup { path, key }) => backup::backup(path, &key).await,
        Some(Command::Restore { path, key }) => backup::restore(path, &key).await,
        Some(Command::Keyring(command)) => keyring::keyring(command).await,
        Some(Command::Store(command)) => store::run(command).await,
        Some(Command::Rewrap { batch, key }) => keyring::rewrap(key, batch).await,
        Some(Command::Rekey { new_key_file, key }) => keyring::rekey(key, new_key_file).await,
        Some(Command::Get { namespace, key, remote }) => workload::get(&remote, &namespace, &key).await,
        Some(Command::Export { namespace, format, allow_env, remote }) => {
            workload::export(&remote, &namespace, &format, &allow_env).await
        }
        Some(Command::Run { namespace, remote, only, prefix, allow_env, command }) => {
            let selection = workload::Selection { only, prefixes: prefix, allow: allow_env };
            workload::run(&remote, &namespace, &selection, command).await
        }
        Some(Command::Import(args)) => import::run(args).await,
        Some(Command::Audit(AuditCommand::Verify { archives, key })) => audit::verify(&key, &archives).await,
        Some(Command::Audit(AuditCommand::Archive { before, to, key })) => audit::archive(&key, &before, &to).await,
        Some(Command::Audit(AuditCommand::Seed { count, key })) => audit::seed(count, &key).await,
        None => serve::serve(cli.serve).await,
    }
}

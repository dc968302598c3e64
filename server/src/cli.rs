//! The command line: `serve` (the default), `keygen`, `user add`, `audit verify|seed`.

use crate::{
    config::{ConfigError, KeyArgs, KeyOrigin, ServeArgs},
    router,
};
use app::ssr::{
    crypto::RootKey,
    state::{AppState, OpenError},
    store::StoreError,
};
use clap::{Parser, Subcommand};
use leptos::prelude::LeptosOptions;

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
    Serve(ServeArgs),
    /// Print a new random 256-bit root key, base64-encoded.
    Keygen,
    /// Manage users (the first admin is made here).
    #[command(subcommand)]
    User(UserCommand),
    /// Check or seed the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the whole HMAC chain; names the first entry edited, removed,
    /// reordered or inserted, and exits non-zero then.
    Verify {
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
        Some(Command::Serve(args)) => serve(args).await,
        Some(Command::User(UserCommand::Add { name, role, namespace, key })) => {
            crate::users::add(&name, &role, namespace.as_deref(), &key).await.map_err(RunError::User)
        }
        Some(Command::Audit(AuditCommand::Verify { key })) => crate::audit_cli::verify(&key).await,
        Some(Command::Audit(AuditCommand::Seed { count, key })) => crate::audit_cli::seed(count, &key).await,
        None => serve(cli.serve).await,
    }
}

async fn serve(args: ServeArgs) -> Result<(), RunError> {
    let addr = args.socket_addr()?;
    args.ensure_data_dir()?;
    let (root, origin) = args.root_key(std::env::var("STRONGROOM_MASTER_KEY").ok())?;
    if let KeyOrigin::Trial { created } = origin {
        let path = args.data_dir.join("master.key");
        tracing::warn!(
            "{} TRIAL ROOT KEY {}: for trying Strongroom out only. Anyone who can read this file \
             and the database can decrypt every secret. For real use, generate a key with \
             `strongroom keygen`, keep it outside the data directory and set \
             STRONGROOM_MASTER_KEY_FILE.",
            if created { "CREATED" } else { "USING" },
            path.display()
        );
    }
    let settings = args.auth_settings()?;
    let own_origin = crate::origin::OwnOrigin(args.public_origin()?);
    let state = open_state(args.db_path(), root, settings).await?;

    if state.db.read(app::ssr::accounts::user_count).await.unwrap_or(1) == 0 {
        tracing::warn!(
            "No accounts yet, so nobody can sign in. Create the first admin with \
             `strongroom user add NAME --role admin --data-dir {}` (it asks for a password).",
            args.data_dir.display()
        );
    }

    let options = LeptosOptions::builder()
        .output_name("strongroom")
        .site_root(args.site_root.display().to_string())
        .site_addr(addr)
        .build();
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| RunError::Listen(addr.to_string(), e))?;
    let bound = listener.local_addr().map_err(RunError::Serve)?;
    tracing::info!(address = %bound, data_dir = %args.data_dir.display(), "listening on http://{bound}");
    axum::serve(
        listener,
        router(state, options, own_origin).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(RunError::Serve)
}

/// Opens (creating and migrating if needed) the database, checking the root key.
pub(crate) async fn open_state(
    db_path: std::path::PathBuf,
    root: RootKey,
    settings: app::ssr::state::AuthSettings,
) -> Result<AppState, RunError> {
    let shown = db_path.display().to_string();
    app::ssr::db::run_blocking(move || AppState::open(&db_path, &root, &settings)).await.map_err(|e| match e {
        OpenError::Store(StoreError::Crypto(app::ssr::crypto::CryptoError::WrongRootKey)) => {
            RunError::WrongRootKey(shown)
        }
        other => RunError::Database(shown, other),
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

//! `strongroom import NAMESPACE FILE [--dry-run]`: a `.env` file (or Kestra's
//! `SECRET_` file, Prefect's, JSON) into a namespace, on the data directory
//! like `user add`. All or nothing; each key added or rotated is audited.

use super::{local, RunError};
use crate::config::KeyArgs;
use app::{
    domain::{
        audit::{Action, OK},
        NamespacePath,
    },
    ssr::{
        audit::{self, Actor, Client, NewEntry},
        formats::{self, Format},
        store::import::{self, ImportError},
        store::{Stamp, StoreError},
    },
};
use clap::Args;
use std::path::PathBuf;
use zeroize::Zeroizing;

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The namespace to import into (it must exist).
    pub namespace: String,
    /// The file to read; `-` for standard input.
    pub file: PathBuf,
    /// auto (the default: JSON, Prefect's or Kestra's format when every line says so, else dotenv),
    /// dotenv, kestra, prefect or json.
    #[arg(long, default_value = "auto")]
    pub format: String,
    /// Show what would change, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub key: KeyArgs,
}

const ACTOR: &str = "(command line)";

fn fail(message: impl Into<String>) -> RunError {
    RunError::User(message.into())
}

fn import_error(e: ImportError) -> RunError {
    match e {
        ImportError::Store(StoreError::NamespaceNotFound) => fail("namespace not found (create it first)"),
        other => fail(other.to_string()),
    }
}

pub async fn run(args: ImportArgs) -> Result<(), RunError> {
    let ns = NamespacePath::parse(&args.namespace).map_err(|e| fail(format!("namespace: {e}")))?;
    let format = match args.format.as_str() {
        "auto" => None,
        other => Some(other.parse::<Format>().map_err(|e| fail(e.to_string()))?),
    };
    // Read at most one byte past the limit, so that `parse` says the file is too large.
    let limit = formats::MAX_FILE_BYTES as u64 + 1;
    let mut text = Zeroizing::new(String::new());
    let read = if args.file.as_os_str() == "-" {
        std::io::Read::read_to_string(&mut std::io::Read::take(std::io::stdin(), limit), &mut text)
    } else {
        std::fs::File::open(&args.file)
            .and_then(|f| std::io::Read::read_to_string(&mut std::io::Read::take(f, limit), &mut text))
    };
    read.map_err(|e| fail(format!("cannot read {}: {e}", args.file.display())))?;
    let parsed = app::ssr::db::run_blocking(move || formats::parse(&text, format))
        .await
        .map_err(|e| fail(format!("{}: {e}", args.file.display())))?;
    let state = local::open(&args.key, false).await?;
    let keyring = state.keyring.clone();
    let (format, entries) = (parsed.format, parsed.entries);
    let plan = if args.dry_run {
        let target = ns.clone();
        state.db.read(move |c| import::plan(c, &keyring, &target, format, &entries)).await.map_err(import_error)?
    } else {
        let (chain, target) = (state.audit.clone(), ns.clone());
        state
            .db
            .call(move |c| {
                let summary_entry = NewEntry {
                    at: app::ssr::clock::now(),
                    actor: Actor::CommandLine,
                    action: Action::SecretImport,
                    namespace: target.to_string(),
                    key: String::new(),
                    version: None,
                    client: Client::Local,
                    outcome: OK.into(),
                };
                let stamp = Stamp { actor: ACTOR, at: app::ssr::clock::now() };
                let plan = audit::with_entry(
                    c,
                    &chain,
                    summary_entry,
                    |plan| (None, Some(import::summary(plan))),
                    |c| {
                        import::apply(
                            c,
                            &keyring,
                            &chain,
                            &target,
                            format,
                            &entries,
                            stamp,
                            (&Actor::CommandLine, &Client::Local),
                        )
                    },
                )?;
                Ok::<_, ImportError>(plan)
            })
            .await
            .map_err(import_error)?
    };
    let verb = if args.dry_run { "would import" } else { "imported" };
    let decoded = if format == Format::Kestra { ", values base64-decoded" } else { "" };
    println!("{verb} into {ns} ({} format{decoded}):", plan.format);
    for (label, keys) in [("adds", &plan.adds), ("rotates", &plan.rotates), ("unchanged", &plan.unchanged)] {
        println!("  {label} {}: {}", keys.len(), import::names(keys));
    }
    Ok(())
}

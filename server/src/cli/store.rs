//! `strongroom store copy FROM TO`: moving between engines (see
//! `app::ssr::store::copy`). Each side is a data directory (its
//! `strongroom.db`) or a `postgres://` URL; the target must be empty.

use super::RunError;
use crate::config::{read_key_file, StoreArgs};
use app::ssr::{
    crypto::RootKey,
    db::{self, Source},
    store::copy,
};
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand, Debug)]
pub enum StoreCommand {
    /// Copy everything from one store into an empty one (a data directory or a
    /// postgres:// URL each), values still encrypted; then check the copy:
    /// the same rows, every value opens, the audit trail verifies. Sessions
    /// are not copied. Stop the servers on FROM first, or changes made during
    /// the copy stay behind.
    Copy {
        from: String,
        to: String,
        /// File holding the base64 root key (else STRONGROOM_MASTER_KEY, else FROM's trial key).
        #[arg(long, env = "STRONGROOM_MASTER_KEY_FILE")]
        master_key_file: Option<PathBuf>,
        /// File holding the database password of a postgres:// side whose URL has none.
        #[arg(long, env = "STRONGROOM_DATABASE_PASSWORD_FILE")]
        database_password_file: Option<PathBuf>,
    },
}

/// A side of the copy: a URL, or a data directory's file.
fn side(text: &str, password_file: Option<&Path>) -> Result<Source, RunError> {
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        let args =
            StoreArgs { database_url: Some(text.to_owned()), database_password_file: password_file.map(Into::into) };
        return Ok(args.source(Path::new("."))?);
    }
    Ok(Source::File(Path::new(text).join("strongroom.db")))
}

/// The root key: from the key file or the environment, else the trial key
/// beside FROM's database (what a trial install was started with).
fn root_key(key_file: Option<&Path>, from: &Source) -> Result<RootKey, RunError> {
    let env = std::env::var("STRONGROOM_MASTER_KEY").ok();
    match (env, key_file, from) {
        (Some(_), Some(_), _) => Err(crate::config::ConfigError::TwoKeys.into()),
        (Some(text), None, _) => Ok(RootKey::from_base64(&text).map_err(crate::config::ConfigError::BadKeyEnv)?),
        (None, Some(path), _) => Ok(read_key_file(path)?),
        (None, None, Source::File(db)) if db.with_file_name("master.key").is_file() => {
            Ok(read_key_file(&db.with_file_name("master.key"))?)
        }
        _ => Err(RunError::User("no root key: set STRONGROOM_MASTER_KEY_FILE or STRONGROOM_MASTER_KEY".into())),
    }
}

pub async fn run(command: StoreCommand) -> Result<(), RunError> {
    let StoreCommand::Copy { from, to, master_key_file, database_password_file } = command;
    let (from, to) = (side(&from, database_password_file.as_deref())?, side(&to, database_password_file.as_deref())?);
    if !super::local::exists(&from).await? {
        return Err(RunError::User(format!("no database at {from}")));
    }
    if let Source::File(path) = &to {
        if path.exists() {
            return Err(RunError::User(format!("{} exists: copy only into a new data directory", path.display())));
        }
        crate::config::ensure_dir(path.parent().unwrap_or(Path::new(".")))?;
    }
    let root = root_key(master_key_file.as_deref(), &from)?;
    let made = to.clone();
    let done = db::run_blocking(move || copy_between(&from, &to, &root)).await;
    // A new file that did not become a good copy is not left to be mistaken for one.
    if let (Err(_), Source::File(path)) = (&done, &made) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
    done
}

fn copy_between(from: &Source, to: &Source, root: &RootKey) -> Result<(), RunError> {
    let failed = |what: &str, e: &dyn std::fmt::Display| RunError::User(format!("{what}: {e}"));
    // Both opened (and migrated to this version) before anything is copied.
    let source = from.connect(false).map_err(|e| failed(&format!("cannot open {from}"), &e))?;
    let mut target = to.connect(false).map_err(|e| failed(&format!("cannot open {to}"), &e))?;
    let started = app::ssr::clock::instant();
    let mut shown = (String::new(), app::ssr::clock::instant());
    let progress = |table: &str, done: u64, total: u64| {
        let now = app::ssr::clock::instant();
        if done == total || table != shown.0 || now.duration_since(shown.1).as_secs() >= 1 {
            eprintln!("  {table}: {done} of {total} rows");
            shown = (table.to_owned(), now);
        }
    };
    eprintln!("copying {from} into {to}");
    let copied =
        db::in_snapshot(&source, |snapshot| copy::copy(snapshot, &mut target, root, app::ssr::clock::now(), progress))
            .map_err(|e| failed("cannot read the source in one snapshot", &e))?
            .map_err(|e| match e {
                copy::CopyError::Check(_) => failed(&format!("do not use {to}"), &e),
                other => failed(&format!("the copy failed; {to} holds nothing of it"), &other),
            })?;
    let rows: u64 = copied.rows.iter().map(|(_, n)| n).sum();
    println!(
        "copied {rows} rows into {to} in {:.1} s: {} values open with the root key, {} audit entries verify",
        started.elapsed().as_secs_f64(),
        copied.values_opened,
        copied.audit_entries
    );
    Ok(())
}

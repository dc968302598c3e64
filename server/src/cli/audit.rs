//! `strongroom audit verify [--archive FILE…]`, `strongroom audit archive
//! --before DATE --to FILE` and `strongroom audit seed COUNT`.

use super::RunError;
use crate::config::KeyArgs;
use app::{
    domain::{audit::Action, Timestamp},
    ssr::audit::{self, archive, Actor, Chain, Client, NewEntry, Verdict},
    ssr::db::sql::SqlError,
};

/// A failed query on the database `key` names, as the command reports it.
fn db_error(key: &KeyArgs) -> impl Fn(SqlError) -> RunError + '_ {
    |e| {
        let shown = key.source().map_or_else(|_| key.db_path().display().to_string(), |s| s.to_string());
        RunError::Database(shown, app::ssr::store::StoreError::from(e).into())
    }
}

pub async fn verify(key: &KeyArgs, archives: &[std::path::PathBuf]) -> Result<(), RunError> {
    // Checking a database that is not there would create an empty one, and call it intact.
    let state = super::local::open(key, false).await?;
    let chain_key = state.audit.clone();
    // Each archive on its own, then the chain through them into the live trail.
    let mut next: Option<(i64, Vec<u8>)> = None;
    for path in archives {
        let file = std::fs::File::open(path).map_err(|e| RunError::User(format!("{}: {e}", path.display())))?;
        let archived = archive::verify_file(&chain_key, &mut std::io::BufReader::new(file))
            .map_err(|e| RunError::User(format!("{}: {e}", path.display())))?;
        if let Some((id, mac)) = &next {
            if archived.first != id + 1 || archived.prev_mac != *mac {
                return Err(RunError::User(format!(
                    "{} does not follow the archive before it (it starts at entry {}, that one ended at {id})",
                    path.display(),
                    archived.first
                )));
            }
        }
        println!("{}: intact, entries {} to {} ({})", path.display(), archived.first, archived.last, archived.entries);
        next = Some((archived.last, archived.checkpoint));
    }
    if let Some((id, mac)) = next {
        let base = state
            .db
            .read(|c| archive::base(c, None))
            .await
            .map_err(|e: archive::ArchiveError| RunError::User(e.to_string()))?;
        if base != (id, mac) {
            return Err(RunError::User(format!(
                "the live trail does not go on from the last archive (it starts after entry {}, the archive ends at {id})",
                base.0
            )));
        }
    }
    let verdict = state.db.read(move |c| audit::verify(c, &chain_key)).await.map_err(db_error(key))?;
    match verdict {
        Verdict::Intact { entries } => {
            println!("audit trail intact: {entries} entries");
            Ok(())
        }
        Verdict::Broken { id, problem } => Err(RunError::AuditBroken { id, problem }),
    }
}

/// `audit archive`: the file is written from one snapshot and synced (with its
/// directory) before the entries are removed, in one transaction that checks
/// the trail is still where the file left it.
pub async fn archive(key: &KeyArgs, before: &str, to: &std::path::Path) -> Result<(), RunError> {
    let before = Timestamp::parse_utc(before.trim()).map_err(|e| RunError::User(format!("--before: {e}")))?;
    let state = super::local::open(key, false).await?;
    let (archived, removed) = write_and_prune(&state, before, to, Actor::CommandLine).await?;
    match archived {
        None => println!("no entry before {before}: nothing archived"),
        Some(a) => println!(
            "archived entries {} to {} ({} entries) to {}; {removed} removed from the live trail, which now begins at {}",
            a.first,
            a.last,
            a.entries,
            to.display(),
            a.last + 1
        ),
    }
    Ok(())
}

/// Writes the archive of entries older than `before` to `to` (a new file),
/// syncs it, then prunes them. Shared by `audit archive` and the server's
/// daily archive (`STRONGROOM_AUDIT_KEEP_DAYS`).
pub async fn write_and_prune(
    state: &app::ssr::state::AppState,
    before: Timestamp,
    to: &std::path::Path,
    actor: Actor,
) -> Result<(Option<archive::Archived>, u64), RunError> {
    let user = |e: archive::ArchiveError| RunError::User(e.to_string());
    let io = |e: std::io::Error| RunError::User(format!("{}: {e}", to.display()));
    // Written under a name of its own, renamed once complete and synced: a
    // file under the archive's name is always whole.
    if to.exists() {
        return Err(io(std::io::ErrorKind::AlreadyExists.into()));
    }
    let partial = to.with_extension("partial");
    let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&partial).map_err(io)?;
    let chain_key = state.audit.clone();
    let written = state
        .db
        .read(move |c| {
            let mut out = std::io::BufWriter::new(file);
            let archived = archive::write(c, &chain_key, before, &mut out)?;
            let file = out.into_inner().map_err(|e| archive::ArchiveError::Io(e.into_error()))?;
            file.sync_all()?;
            Ok::<_, archive::ArchiveError>(archived)
        })
        .await;
    let archived = match written {
        Ok(Some(archived)) => archived,
        Ok(None) => {
            let _ = std::fs::remove_file(&partial);
            return Ok((None, 0));
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(user(e));
        }
    };
    std::fs::rename(&partial, to).map_err(io)?;
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    }
    let (chain_key, held) = (state.audit.clone(), archived.clone());
    let outcome = format!(
        "ok: entries {} to {} ({}) archived to {} and removed from the live trail",
        archived.first,
        archived.last,
        archived.entries,
        to.display()
    );
    let entry = NewEntry {
        at: app::ssr::clock::now(),
        actor,
        action: Action::AuditArchive,
        namespace: String::new(),
        key: String::new(),
        version: None,
        client: Client::Local,
        outcome,
    };
    let removed = state
        .db
        .call(move |c| {
            app::ssr::db::Transact::write(c, |tx| {
                let removed = archive::prune(tx, &chain_key, &held)?;
                audit::append(tx, &chain_key, entry)?;
                Ok::<_, archive::ArchiveError>(removed)
            })
        })
        .await
        .map_err(user)?;
    Ok((Some(archived), removed))
}

/// `STRONGROOM_AUDIT_KEEP_DAYS`: once an hour (and at start), on the one node
/// holding the lease, entries older than `days` days are archived to
/// `DATA_DIR/audit-archive/` and removed — when the oldest is a day past the
/// window, so about one archive a day. A failure is logged and tried again
/// the next hour; serving never depends on it.
pub fn keep_days(state: app::ssr::state::AppState, data_dir: std::path::PathBuf, days: u32) {
    let holder = app::ssr::db::lease::holder();
    tokio::spawn(async move {
        let mut hourly = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            hourly.tick().await;
            if let Err(e) = archive_due(&state, &data_dir, days, &holder).await {
                tracing::error!(error = %e, "could not archive the audit trail; trying again in an hour");
            }
        }
    });
}

async fn archive_due(
    state: &app::ssr::state::AppState,
    data_dir: &std::path::Path,
    days: u32,
    holder: &str,
) -> Result<(), RunError> {
    let now = app::ssr::clock::now();
    let (name, now_ms) = (holder.to_owned(), app::ssr::clock::now_ms());
    let failed = |e: SqlError| RunError::User(e.to_string());
    let held = state
        .db
        .call(move |c| app::ssr::db::lease::acquire(c, "audit-archive", &name, now_ms, 2 * 3600 * 1000))
        .await
        .map_err(failed)?;
    if !held {
        return Ok(());
    }
    let before = Timestamp(now.0 - i64::from(days) * 86_400);
    let oldest = state
        .db
        .read(|c| {
            app::ssr::db::sql::Sql::query_opt(c, "SELECT min(at) FROM audit", &[])?.map(|r| r[0].opt_int()).transpose()
        })
        .await
        .map_err(failed)?
        .flatten();
    if oldest.is_none_or(|at| at >= before.0 - 86_400) {
        return Ok(());
    }
    let dir = data_dir.join("audit-archive");
    crate::config::ensure_dir(&dir).map_err(|e| RunError::User(e.to_string()))?;
    let file = dir.join(format!("trail-before-{}.jsonl", before.rfc3339().replace(':', "")));
    if let (Some(a), removed) = write_and_prune(state, before, &file, Actor::Schedule).await? {
        tracing::info!(first = a.first, last = a.last, removed, file = %file.display(), "audit entries archived");
    }
    Ok(())
}

/// Synthetic but plausible entries: 50 team namespaces, 20 actors, the
/// mutating actions and workload reads (by 20 tokens, counted in the read
/// summary as real reads are), one in twenty refused, spread over the last year.
pub async fn seed(count: u64, key: &KeyArgs) -> Result<(), RunError> {
    let state = super::local::open(key, true).await?;
    let chain_key = state.audit.clone();
    let actions = [
        Action::SecretAdd,
        Action::SecretRotate,
        Action::SecretRotate,
        Action::SecretDelete,
        Action::SecretRestore,
        Action::NamespaceCreate,
        Action::SignIn,
        Action::SignOut,
        Action::SecretRead,
        Action::SecretRead,
    ];
    let start = app::ssr::clock::now().0 - 365 * 86_400;
    let step = (365 * 86_400 / count.max(1) as i64).max(1);
    let mut done = 0u64;
    while done < count {
        let batch = (count - done).min(10_000);
        let chain_key = chain_key.clone();
        state
            .db
            .call(move |c| {
                app::ssr::db::Transact::write(c, |tx| {
                    let mut chain = Chain::load(tx)?;
                    for n in done..done + batch {
                        // A cheap deterministic mix (SplitMix64) instead of a random crate.
                        let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
                        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                        let action = actions[(z % actions.len() as u64) as usize];
                        let team = (z >> 8) % 50;
                        let names_ns = !matches!(action, Action::SignIn | Action::SignOut);
                        let refused = (z >> 56) % 20 == 0;
                        chain.push(
                            tx,
                            &chain_key,
                            NewEntry {
                                at: Timestamp(start + n as i64 * step),
                                actor: if action == Action::SecretRead {
                                    Actor::Token(
                                        app::domain::TokenName::parse(&format!("agent{:02}", (z >> 16) % 20))
                                            .map_err(|e| SqlError::Type(e.to_string()))?,
                                    )
                                } else {
                                    Actor::User(
                                        app::domain::Username::parse(&format!("user{:02}", (z >> 16) % 20))
                                            .map_err(|e| SqlError::Type(e.to_string()))?,
                                    )
                                },
                                action,
                                namespace: if names_ns { format!("company.team{team:02}") } else { String::new() },
                                key: if names_ns { format!("KEY_{}", (z >> 24) % 200) } else { String::new() },
                                // A refused read disclosed nothing: no version, as the workload door writes it.
                                version: (names_ns && !(refused && action == Action::SecretRead))
                                    .then_some(((z >> 32) % 9 + 1) as i64),
                                client: Client::Address(format!("10.0.{}.{}", (z >> 40) % 4, (z >> 48) % 250)),
                                outcome: if refused { "refused: forbidden".into() } else { "ok".into() },
                            },
                        )?;
                    }
                    chain.finish(tx, &chain_key)
                })
            })
            .await
            .map_err(db_error(key))?;
        done += batch;
    }
    println!("appended {count} audit entries");
    Ok(())
}

//! `strongroom audit verify` and `strongroom audit seed COUNT`.

use super::RunError;
use crate::config::KeyArgs;
use app::{
    domain::{audit::Action, Timestamp},
    ssr::audit::{self, Actor, Chain, Client, NewEntry, Verdict},
    ssr::db::sql::SqlError,
};

/// A failed query on the database `key` names, as the command reports it.
fn db_error(key: &KeyArgs) -> impl Fn(SqlError) -> RunError + '_ {
    |e| {
        let shown = key.source().map_or_else(|_| key.db_path().display().to_string(), |s| s.to_string());
        RunError::Database(shown, app::ssr::store::StoreError::from(e).into())
    }
}

pub async fn verify(key: &KeyArgs) -> Result<(), RunError> {
    // Checking a database that is not there would create an empty one, and call it intact.
    let state = super::local::open(key, false).await?;
    let chain_key = state.audit.clone();
    let verdict = state.db.read(move |c| audit::verify(c, &chain_key)).await.map_err(db_error(key))?;
    match verdict {
        Verdict::Intact { entries } => {
            println!("audit trail intact: {entries} entries");
            Ok(())
        }
        Verdict::Broken { id, problem } => Err(RunError::AuditBroken { id, problem }),
    }
}

/// Synthetic but plausible entries: 50 team namespaces, 20 actors, the
/// mutating actions, one in twenty refused, spread over the last year.
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
                        chain.push(
                            tx,
                            &chain_key,
                            NewEntry {
                                at: Timestamp(start + n as i64 * step),
                                actor: Actor::User(
                                    app::domain::Username::parse(&format!("user{:02}", (z >> 16) % 20))
                                        .map_err(|e| SqlError::Type(e.to_string()))?,
                                ),
                                action,
                                namespace: if names_ns { format!("company.team{team:02}") } else { String::new() },
                                key: if names_ns { format!("KEY_{}", (z >> 24) % 200) } else { String::new() },
                                version: names_ns.then_some(((z >> 32) % 9 + 1) as i64),
                                client: Client::Address(format!("10.0.{}.{}", (z >> 40) % 4, (z >> 48) % 250)),
                                outcome: if (z >> 56) % 20 == 0 { "refused: forbidden".into() } else { "ok".into() },
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

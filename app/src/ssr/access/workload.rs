//! The workload door: token checks, scope rules and audited value reads, in
//! one place for every surface that hands out values (the native `/v1` API,
//! the Vault KV v2 surface, and through them the CLI).
//!
//! Every value disclosed is recorded in the audit trail (one entry per key)
//! before it leaves: if the entry cannot be written, the read fails. A read is
//! **one hand-off**: its whole work — the token (its revocation and expiry as
//! the writer's transaction sees them: one indexed row, right on any number of
//! nodes), the scope, the values and their entries — is one job of the
//! writer's group commit (`db::group_commit`), answered after the commit. One
//! transaction and one `fsync` serve every read that arrived meanwhile.

use crate::domain::{
    audit::{Action, OK},
    view::{NamespaceSummary, SecretMeta},
    NamespacePath, Scope, SecretKey, Timestamp, TokenId, TokenName,
};
use crate::ssr::db::sql::{Sql, SqlError};
use crate::ssr::{
    access::errors::{internal_read, read_store_error, unavailable_read},
    audit::{Actor, Appender, Client, NewEntry},
    auth::token_hash,
    crypto::Keyring,
    db::{group_commit::NotTaken, RowKey},
    state::AppState,
    store::{self, tokens},
};
use std::sync::Arc;

pub use super::errors::ReadError;

/// A workload whose token checked out.
#[derive(Clone, Debug)]
pub struct Workload {
    pub id: TokenId,
    pub name: TokenName,
    pub scope: Scope,
    pub expires_at: Option<Timestamp>,
}

impl Workload {
    pub fn actor(&self) -> Actor {
        Actor::Token(self.name.clone())
    }
}

/// A value on its way out, with where it is defined (resolved by the store,
/// disclosed here with its entry).
pub use crate::ssr::store::Resolved;

/// One request to a workload surface: who asks (client address) and what
/// they asked for, so that a refusal is recorded once with what was attempted.
pub struct Request<'a> {
    pub state: &'a AppState,
    pub client: String,
    /// What the entry names if the request is refused: the namespace (and key) asked for.
    pub namespace: String,
    pub key: String,
}

/// A refusal, with the actor its entry names: the token's name once the token
/// is known, else `(unknown token)`.
struct Refusal {
    error: ReadError,
    actor: Actor,
}

impl From<ReadError> for Refusal {
    fn from(error: ReadError) -> Self {
        Self { error, actor: Actor::UnknownToken }
    }
}

/// Checks a presented token against the store: known, not revoked, not expired.
fn check_token(c: &dyn Sql, rows: &RowKey, presented: Option<&str>, now: Timestamp) -> Result<Workload, Refusal> {
    let token = presented.map(str::trim).filter(|t| !t.is_empty()).ok_or(ReadError::MissingToken)?;
    let record = tokens::lookup(c, rows, &token_hash(token))
        .map_err(|e| match e {
            tokens::TokenError::Database(e) if e.unavailable() => unavailable_read(&e),
            other => internal_read("token lookup", &other),
        })?
        .ok_or(ReadError::BadToken)?;
    let refuse = |error| Refusal { error, actor: Actor::Token(record.name.clone()) };
    if record.revoked {
        return Err(refuse(ReadError::Revoked));
    }
    if record.expires_at.is_some_and(|at| at <= now) {
        return Err(refuse(ReadError::Expired));
    }
    Ok(Workload { id: record.id, name: record.name, scope: record.scope, expires_at: record.expires_at })
}

/// Parses `namespace` and checks it is inside the token's scope.
fn in_scope(who: &Workload, namespace: &str) -> Result<NamespacePath, ReadError> {
    let ns = NamespacePath::parse(namespace)
        .map_err(|e| ReadError::BadName { field: "namespace", message: e.to_string() })?;
    if who.scope.covers(&ns) {
        Ok(ns)
    } else {
        Err(ReadError::OutOfScope)
    }
}

/// What [`Request::read_with`]'s work is given: the batch's transaction, the
/// keyring, and the namespace asked for, already checked against the token's
/// scope. It returns what to answer with and the values it discloses: each of
/// those gets its entry in the same transaction. A refusal it returns is
/// recorded instead, and nothing is disclosed.
pub type Work<T> = dyn FnOnce(&dyn Sql, &Keyring, &NamespacePath) -> Result<(T, Vec<Resolved>), ReadError> + Send;

/// What a read hands back: who read, the namespace, the work's answer and the
/// values, recorded.
pub type Read<T> = (Workload, NamespacePath, T, Vec<Resolved>);

/// What a job needs to write its entries, moved into it.
struct Recorder {
    client: Client,
    namespace: String,
    key: String,
    now: Timestamp,
    refusals: Arc<crate::ssr::auth::Refusals>,
}

impl Recorder {
    fn entry(&self, actor: Actor, namespace: String, key: String, version: Option<i64>, outcome: String) -> NewEntry {
        NewEntry {
            at: self.now,
            actor,
            action: Action::SecretRead,
            namespace,
            key,
            version,
            client: self.client.clone(),
            outcome,
        }
    }

    /// Appends the refusal's entry, unless the client has had its share this
    /// minute: then it is counted (see `auth::Refusals`).
    fn refuse(&self, tx: &dyn Sql, trail: &mut Appender, refusal: &Refusal) -> Result<(), SqlError> {
        let verb = refusal.error.verb();
        if verb == "refused" && !self.refusals.admit(&self.client.to_string(), crate::ssr::clock::instant()) {
            return Ok(());
        }
        let outcome = format!("{verb}: {}", refusal.error);
        trail.push(tx, self.entry(refusal.actor.clone(), self.namespace.clone(), self.key.clone(), None, outcome))?;
        Ok(())
    }

    /// One entry per value disclosed, and the token's last use.
    fn disclose(
        &self,
        tx: &dyn Sql,
        trail: &mut Appender,
        who: &Workload,
        asked: &NamespacePath,
        values: &[Resolved],
    ) -> Result<(), SqlError> {
        for d in values {
            let outcome = if d.defined_in == *asked { OK.to_owned() } else { format!("{OK}: read via {asked}") };
            let entry =
                self.entry(who.actor(), d.defined_in.to_string(), d.key.to_string(), Some(d.version.into()), outcome);
            trail.push(tx, entry)?;
        }
        tokens::touch(tx, who.id, self.now)
    }
}

impl Request<'_> {
    fn recorder(&self) -> Recorder {
        Recorder {
            client: Client::Address(self.client.clone()),
            namespace: self.namespace.clone(),
            key: self.key.clone(),
            now: crate::ssr::clock::now(),
            refusals: self.state.refusals.clone(),
        }
    }

    /// Runs `work` as one job of the writer's next batch and waits for the
    /// batch's commit. A refusal stands even if its entry could not be
    /// written (logged); an answer is given only once its entries are durable.
    async fn in_batch<T: Send + 'static>(
        &self,
        work: impl FnOnce(&dyn Sql, &mut Appender) -> Result<Result<T, ReadError>, SqlError> + Send + 'static,
    ) -> Result<T, ReadError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job = Box::new(move |tx: &dyn Sql, trail: &mut Appender| {
            let before = trail.pushed();
            let result = work(tx, trail)?;
            let recorded = trail.pushed() > before;
            let done: crate::ssr::db::group_commit::Done = Box::new(move |committed| {
                let _ = answer.send(match (committed, result) {
                    (Ok(()), result) => result,
                    (Err(e), Err(refusal)) => {
                        tracing::error!(error = %e, "could not record a refused workload request in the audit trail");
                        Err(refusal)
                    }
                    // Nothing to record (a token's last use is best effort): the answer stands.
                    (Err(_), Ok(answer)) if !recorded => Ok(answer),
                    (Err(e), Ok(_)) => {
                        tracing::error!(error = %e, "a workload read was refused: its audit entries could not be written");
                        Err(ReadError::Unrecorded)
                    }
                });
            });
            Ok(done)
        });
        match self.state.reads.submit(job) {
            Ok(()) => answered.await.unwrap_or(Err(ReadError::Unrecorded)),
            Err(NotTaken::Busy) => Err(ReadError::Busy),
            Err(NotTaken::Stopped) => {
                tracing::error!("a workload request was refused: the audit writer has stopped");
                Err(ReadError::Unrecorded)
            }
        }
    }

    /// Checks the presented token, on a reader (nothing is disclosed, so
    /// nothing waits for the writer). Refusals are recorded in the audit trail.
    pub async fn authenticate(&self, presented: Option<&str>) -> Result<Workload, ReadError> {
        let (presented, now, rows) = (presented.map(str::to_owned), crate::ssr::clock::now(), self.state.rows.clone());
        match self.state.db.read(move |c| check_token(c, &rows, presented.as_deref(), now)).await {
            Ok(who) => Ok(who),
            Err(refusal) => {
                self.refuse(refusal.actor, refusal.error.clone()).await;
                Err(refusal.error)
            }
        }
    }

    /// Checks the token, the namespace and its scope, runs `work`, and records
    /// what it discloses, all in one job of the writer's batch (one hand-off,
    /// one snapshot). Any refusal is recorded instead.
    pub async fn read_with<T: Send + 'static>(
        &self,
        presented: Option<&str>,
        namespace: &str,
        work: Box<Work<T>>,
    ) -> Result<Read<T>, ReadError> {
        let (presented, namespace, record) = (presented.map(str::to_owned), namespace.to_owned(), self.recorder());
        let (keyring, rows) = (self.state.keyring.clone(), self.state.rows.clone());
        self.in_batch(move |tx, trail| {
            let checked = check_token(tx, &rows, presented.as_deref(), record.now).and_then(|who| {
                let refuse = |error| Refusal { error, actor: who.actor() };
                let ns = in_scope(&who, &namespace).map_err(refuse)?;
                let (answer, values) = work(tx, &keyring, &ns).map_err(refuse)?;
                Ok((who, ns, answer, values))
            });
            match checked {
                Ok((who, ns, answer, values)) => {
                    record.disclose(tx, trail, &who, &ns, &values)?;
                    Ok(Ok((who, ns, answer, values)))
                }
                Err(refusal) => {
                    record.refuse(tx, trail, &refusal)?;
                    Ok(Err(refusal.error))
                }
            }
        })
        .await
    }

    /// Parses `namespace` and checks it is inside the token's scope. Refusals
    /// are recorded.
    pub async fn namespace(&self, who: &Workload, namespace: &str) -> Result<NamespacePath, ReadError> {
        let checked = in_scope(who, namespace);
        if let Err(error) = &checked {
            self.refuse(who.actor(), error.clone()).await;
        }
        checked
    }

    /// The value of `key` as `namespace` sees it, recorded before it is returned.
    pub async fn read_one(
        &self,
        presented: Option<&str>,
        namespace: &str,
        key: &str,
    ) -> Result<(NamespacePath, Resolved), ReadError> {
        let key = key.to_owned();
        let work: Box<Work<()>> = Box::new(move |c, keyring, ns| {
            let key =
                SecretKey::parse(&key).map_err(|e| ReadError::BadName { field: "key", message: e.to_string() })?;
            Ok(((), vec![store::resolve_value(c, keyring, ns, &key).map_err(read_store_error)?]))
        });
        let (_, ns, (), mut values) = self.read_with(presented, namespace, work).await?;
        Ok((ns, values.remove(0)))
    }

    /// Every value `namespace` sees, sorted by key, each recorded before any is returned.
    pub async fn read_all(&self, presented: Option<&str>, namespace: &str) -> Result<Vec<Resolved>, ReadError> {
        let work: Box<Work<()>> =
            Box::new(|c, keyring, ns| Ok(((), store::resolve_all(c, keyring, ns).map_err(read_store_error)?)));
        Ok(self.read_with(presented, namespace, work).await?.3)
    }

    /// The metadata of every secret `ns` sees (no values: not a disclosure).
    pub async fn metadata(&self, who: &Workload, ns: NamespacePath) -> Result<Vec<SecretMeta>, ReadError> {
        match self.state.db.read(move |c| store::effective_meta(c, &ns)).await {
            Ok(list) => {
                self.used(who).await;
                Ok(list)
            }
            Err(e) => Err(self.failed(who, read_store_error(e)).await),
        }
    }

    /// The version of `ns`'s map (see `store::map_version`); not a disclosure.
    pub async fn map_version(&self, who: &Workload, ns: NamespacePath) -> Result<u64, ReadError> {
        match self.state.db.read(move |c| store::map_version(c, &ns)).await {
            Ok(version) => Ok(version),
            Err(e) => Err(self.failed(who, read_store_error(e)).await),
        }
    }

    /// Every namespace the token may reach (inside its scope, or on the way
    /// down to it: listed as folders, never read), when `under` (the mount
    /// root for `None`) is itself reachable; refused otherwise.
    pub async fn namespaces(
        &self,
        who: &Workload,
        under: Option<&NamespacePath>,
    ) -> Result<Vec<NamespaceSummary>, ReadError> {
        let reachable = |ns: &NamespacePath| match &who.scope {
            Scope::All => true,
            Scope::Subtree(root) => ns.is_within(root) || root.is_within(ns),
        };
        if under.is_some_and(|ns| !reachable(ns)) {
            return Err(self.failed(who, ReadError::OutOfScope).await);
        }
        let all = match self.state.db.read(store::list_namespaces).await {
            Ok(all) => all,
            Err(e) => return Err(self.failed(who, read_store_error(e)).await),
        };
        self.used(who).await;
        Ok(all.into_iter().filter(|n| reachable(&n.path)).collect())
    }

    /// Records `error` for `who` and hands it back.
    pub async fn refused_as(&self, who: &Workload, error: ReadError) -> ReadError {
        self.failed(who, error).await
    }

    /// Records `error` for `who` and hands it back.
    async fn failed(&self, who: &Workload, error: ReadError) -> ReadError {
        self.refuse(who.actor(), error.clone()).await;
        error
    }

    async fn refuse(&self, actor: Actor, error: ReadError) {
        let record = self.recorder();
        let refusal = Refusal { error, actor };
        let _ = self
            .in_batch(move |tx, trail| {
                record.refuse(tx, trail, &refusal)?;
                Ok(Ok(()))
            })
            .await;
    }

    /// Notes the token's use (listings and metadata: no values, no entries).
    async fn used(&self, who: &Workload) {
        let (id, now) = (who.id, crate::ssr::clock::now());
        if let Err(e) = self.in_batch(move |tx, _| tokens::touch(tx, id, now).map(Ok)).await {
            tracing::warn!(error = %e, "could not note a token's use");
        }
    }
}

/// Appends `entries` in the writer's next batch and waits for its commit (the
/// held-back counts of refused requests; see `auth::Refusals`).
pub async fn record(state: &AppState, entries: Vec<NewEntry>) -> Result<(), ReadError> {
    let request = Request { state, client: String::new(), namespace: String::new(), key: String::new() };
    request
        .in_batch(move |tx, trail| {
            for entry in entries {
                trail.push(tx, entry)?;
            }
            Ok(Ok(()))
        })
        .await
}

/// Writes every held-back count of refused requests now, not when its minute is over.
pub async fn flush_refusals(state: &AppState) -> Result<(), ReadError> {
    let entries = crate::ssr::state::held_back(&state.refusals, true);
    if entries.is_empty() {
        return Ok(());
    }
    record(state, entries).await
}

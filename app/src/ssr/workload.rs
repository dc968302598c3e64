//! The workload door: token checks, scope rules and audited value reads, in
//! one place for every surface that hands out values (the native `/v1` API,
//! the Vault KV v2 surface, and through them the CLI).
//!
//! Every value disclosed is recorded in the audit trail (one entry per key)
//! before it leaves: if the entry cannot be written, the read fails. Entries
//! are written by [`ReadAudit`], which commits concurrent reads together (group
//! commit): one transaction and one `fsync` per batch. A read waits for the
//! batch it joined, never for the whole queue.

use super::{
    audit::{AuditKey, Chain, NewEntry},
    auth::token_hash,
    db::Db,
    refusals::Refusals,
    state::AppState,
    store::{self, StoreError},
    tokens::{self, TokenRecord},
};
use crate::domain::{
    audit::{Action, OK},
    view::{NamespaceSummary, SecretMeta},
    NamespacePath, Scope, SecretKey, Timestamp, TokenName,
};
use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        mpsc, Arc,
    },
    time::{Duration, Instant},
};

/// Why a workload request is refused or failed. Both API surfaces map this to
/// their own wire shapes; the text is safe to show (never a value or token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("missing token: send Authorization: Bearer TOKEN")]
    MissingToken,
    #[error("invalid token")]
    BadToken,
    #[error("token expired")]
    Expired,
    #[error("token revoked")]
    Revoked,
    #[error("outside the token's scope")]
    OutOfScope,
    #[error("namespace not found")]
    NamespaceNotFound,
    #[error("secret not found")]
    SecretNotFound,
    #[error("invalid {field}: {message}")]
    BadName { field: &'static str, message: String },
    #[error("too many reads are waiting; try again shortly")]
    Busy,
    /// The audit trail could not be written (a full or read-only disk): no value is disclosed unrecorded.
    #[error("the read could not be recorded in the audit trail; try again later")]
    Unrecorded,
    #[error("internal error")]
    Internal,
}

impl ReadError {
    /// The HTTP status of the native API (the Vault surface has its own rules).
    pub fn status(&self) -> u16 {
        match self {
            Self::MissingToken | Self::BadToken | Self::Expired | Self::Revoked => 401,
            Self::OutOfScope => 403,
            Self::NamespaceNotFound | Self::SecretNotFound => 404,
            Self::BadName { .. } => 400,
            Self::Busy | Self::Unrecorded => 503,
            Self::Internal => 500,
        }
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::BadToken => "bad_token",
            Self::Expired => "token_expired",
            Self::Revoked => "token_revoked",
            Self::OutOfScope => "out_of_scope",
            Self::NamespaceNotFound => "namespace_not_found",
            Self::SecretNotFound => "secret_not_found",
            Self::BadName { .. } => "bad_name",
            Self::Busy => "busy",
            Self::Unrecorded => "unrecorded",
            Self::Internal => "internal",
        }
    }

    /// The token itself was refused (not the request made with it).
    pub fn is_token_refusal(&self) -> bool {
        matches!(self, Self::MissingToken | Self::BadToken | Self::Expired | Self::Revoked)
    }
}

/// A workload whose token checked out.
#[derive(Clone, Debug)]
pub struct Workload {
    pub id: i64,
    pub name: TokenName,
    pub scope: Scope,
    pub expires_at: Option<Timestamp>,
}

impl Workload {
    pub fn actor(&self) -> String {
        self.name.actor()
    }
}

/// A value on its way out, with where it is defined.
pub use super::store::Resolved as Disclosed;

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
    actor: String,
}

impl From<ReadError> for Refusal {
    fn from(error: ReadError) -> Self {
        Self { error, actor: "(unknown token)".into() }
    }
}

/// Checks a presented token against the store: known, not revoked, not expired.
fn check_token(c: &rusqlite::Connection, presented: Option<&str>, now: Timestamp) -> Result<Workload, Refusal> {
    let token = presented.map(str::trim).filter(|t| !t.is_empty()).ok_or(ReadError::MissingToken)?;
    let record: TokenRecord =
        tokens::lookup(c, &token_hash(token)).map_err(|e| internal("token lookup", &e))?.ok_or(ReadError::BadToken)?;
    let refuse = |error| Refusal { error, actor: record.name.actor() };
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

/// What [`Request::read_with`]'s work is given: a read snapshot, the keyring,
/// and the namespace asked for, already checked against the token's scope.
pub type Work<T> =
    dyn FnOnce(&rusqlite::Connection, &super::crypto::Keyring, &NamespacePath) -> Result<T, ReadError> + Send;

impl Request<'_> {
    /// Checks the presented token. Refusals are recorded in the audit trail.
    pub async fn authenticate(&self, presented: Option<&str>) -> Result<Workload, ReadError> {
        let (presented, now) = (presented.map(str::to_owned), Timestamp::now());
        let checked = self.state.db.read(move |c| check_token(c, presented.as_deref(), now)).await;
        match checked {
            Ok(who) => Ok(who),
            Err(refusal) => {
                self.refuse(refusal.actor, &refusal.error).await;
                Err(refusal.error)
            }
        }
    }

    /// Checks the token, the namespace and its scope, and runs `work`, all in
    /// one read of the store (one trip off the runtime, one snapshot). Any
    /// refusal is recorded. Nothing is disclosed yet: see [`Request::disclose`].
    pub async fn read_with<T: Send + 'static>(
        &self,
        presented: Option<&str>,
        namespace: &str,
        work: Box<Work<T>>,
    ) -> Result<(Workload, NamespacePath, T), ReadError> {
        let (presented, namespace, now) = (presented.map(str::to_owned), namespace.to_owned(), Timestamp::now());
        let keyring = self.state.keyring.clone();
        let result: Result<_, Refusal> = self
            .state
            .db
            .read(move |c| {
                let who = check_token(c, presented.as_deref(), now)?;
                let refuse = |error| Refusal { error, actor: who.actor() };
                let ns = in_scope(&who, &namespace).map_err(refuse)?;
                let found = work(c, &keyring, &ns).map_err(refuse)?;
                Ok((who, ns, found))
            })
            .await;
        match result {
            Ok(found) => Ok(found),
            Err(refusal) => {
                self.refuse(refusal.actor, &refusal.error).await;
                Err(refusal.error)
            }
        }
    }

    /// Parses `namespace` and checks it is inside the token's scope. Refusals
    /// are recorded.
    pub async fn namespace(&self, who: &Workload, namespace: &str) -> Result<NamespacePath, ReadError> {
        let checked = in_scope(who, namespace);
        if let Err(error) = &checked {
            self.refuse(who.actor(), error).await;
        }
        checked
    }

    /// The value of `key` as `namespace` sees it, recorded before it is returned.
    pub async fn read_one(
        &self,
        presented: Option<&str>,
        namespace: &str,
        key: &str,
    ) -> Result<(NamespacePath, Disclosed), ReadError> {
        let key = key.to_owned();
        let work: Box<Work<Disclosed>> = Box::new(move |c, keyring, ns| {
            let key =
                SecretKey::parse(&key).map_err(|e| ReadError::BadName { field: "key", message: e.to_string() })?;
            store::resolve_value(c, keyring, ns, &key).map_err(store_error)
        });
        let (who, ns, one) = self.read_with(presented, namespace, work).await?;
        let mut disclosed = self.disclose(&who, &ns, vec![one]).await?;
        Ok((ns, disclosed.remove(0)))
    }

    /// Every value `namespace` sees, sorted by key, each recorded before any is returned.
    pub async fn read_all(&self, presented: Option<&str>, namespace: &str) -> Result<Vec<Disclosed>, ReadError> {
        let work: Box<Work<Vec<Disclosed>>> =
            Box::new(|c, keyring, ns| store::resolve_all(c, keyring, ns).map_err(store_error));
        let (who, ns, all) = self.read_with(presented, namespace, work).await?;
        self.disclose(&who, &ns, all).await
    }

    /// The metadata of every secret `ns` sees (no values: not a disclosure).
    pub async fn metadata(&self, who: &Workload, ns: NamespacePath) -> Result<Vec<SecretMeta>, ReadError> {
        match self.state.db.read(move |c| store::effective_meta(c, &ns)).await {
            Ok(list) => {
                self.used(who).await;
                Ok(list)
            }
            Err(e) => Err(self.failed(who, store_error(e)).await),
        }
    }

    /// The version of `ns`'s map (see `store::map_version`); not a disclosure.
    pub async fn map_version(&self, who: &Workload, ns: NamespacePath) -> Result<u64, ReadError> {
        match self.state.db.read(move |c| store::map_version(c, &ns)).await {
            Ok(version) => Ok(version),
            Err(e) => Err(self.failed(who, store_error(e)).await),
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
            Err(e) => return Err(self.failed(who, store_error(e)).await),
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
        self.refuse(who.actor(), &error).await;
        error
    }

    async fn refuse(&self, actor: String, error: &ReadError) {
        let verb = if matches!(error, ReadError::Internal | ReadError::Unrecorded) { "failed" } else { "refused" };
        if verb == "refused" && !self.state.reads.refusals.admit(&self.client, Instant::now()) {
            return; // counted; one entry for the lot when the minute is over
        }
        let entry = self.entry(actor, self.namespace.clone(), self.key.clone(), None, format!("{verb}: {error}"));
        if let Err(e) = self.state.reads.record(vec![entry], None).await {
            tracing::error!(error = %e, "could not record a refused workload request in the audit trail");
        }
    }

    async fn used(&self, who: &Workload) {
        if let Err(e) = self.state.reads.record(Vec::new(), Some(who.id)).await {
            tracing::warn!(error = %e, "could not note a token's use");
        }
    }

    /// Records one entry per value, then hands the values over; if the
    /// entries cannot be written, nothing is handed over.
    pub async fn disclose(
        &self,
        who: &Workload,
        asked: &NamespacePath,
        values: Vec<Disclosed>,
    ) -> Result<Vec<Disclosed>, ReadError> {
        let entries = values
            .iter()
            .map(|d| {
                let outcome = if d.defined_in == *asked { OK.to_owned() } else { format!("{OK}: read via {asked}") };
                let (ns, key) = (d.defined_in.to_string(), d.key.to_string());
                self.entry(who.actor(), ns, key, Some(d.version.into()), outcome)
            })
            .collect();
        match self.state.reads.record(entries, Some(who.id)).await {
            Ok(()) => Ok(values),
            Err(Unrecorded::Busy) => Err(ReadError::Busy),
            Err(e) => {
                tracing::error!(error = %e, "a workload read was refused: its audit entries could not be written");
                Err(ReadError::Unrecorded)
            }
        }
    }

    fn entry(&self, actor: String, namespace: String, key: String, version: Option<i64>, outcome: String) -> NewEntry {
        NewEntry {
            at: Timestamp::now(),
            actor,
            action: Action::SecretRead.as_str(),
            namespace,
            key,
            version,
            client: self.client.clone(),
            outcome,
        }
    }
}

/// What a store failure means to a workload.
pub fn store_error(e: StoreError) -> ReadError {
    match e {
        StoreError::NamespaceNotFound => ReadError::NamespaceNotFound,
        StoreError::SecretNotFound => ReadError::SecretNotFound,
        other => internal("workload read", &other),
    }
}

fn internal(what: &str, e: &dyn std::fmt::Display) -> ReadError {
    tracing::error!(error = %e, "{what} failed");
    ReadError::Internal
}

// ---------------------------------------------------------------- group commit

/// Most entries one batch commits; the rest wait for the next batch.
const MAX_BATCH: usize = 512;
/// Most requests waiting for a batch; beyond that, reads are refused as busy
/// (each waiting request holds its decrypted values).
const MAX_WAITING: usize = 4096;

struct Job {
    entries: Vec<NewEntry>,
    token: Option<i64>,
    done: tokio::sync::oneshot::Sender<Result<(), String>>,
}

/// Why entries were not recorded.
#[derive(Debug, thiserror::Error)]
pub enum Unrecorded {
    #[error("too many requests are waiting for the audit writer")]
    Busy,
    #[error("the audit writer has stopped")]
    Stopped,
    #[error("the audit entries could not be written: {0}")]
    Failed(String),
}

/// Batches and commit counts, for `make bench` ("entries per fsync").
#[derive(Default, Debug)]
pub struct BatchStats {
    pub commits: AtomicU64,
    pub entries: AtomicU64,
}

/// Writes workload-read entries with group commit, on a thread of its own
/// that takes the writer connection once per batch.
pub struct ReadAudit {
    jobs: mpsc::SyncSender<Job>,
    pub stats: Arc<BatchStats>,
    /// Refused reads held back per client; this thread writes their counts.
    pub refusals: Arc<Refusals>,
}

impl ReadAudit {
    pub fn start(db: Db, key: Arc<AuditKey>) -> std::io::Result<Self> {
        let (jobs, inbox) = mpsc::sync_channel::<Job>(MAX_WAITING);
        let stats = Arc::new(BatchStats::default());
        let counts = stats.clone();
        let refusals = Arc::new(Refusals::default());
        let held = refusals.clone();
        std::thread::Builder::new().name("audit-reads".into()).spawn(move || loop {
            // Counts of held-back refusals whose minute is over, then (when every
            // sender, the AppState, is gone) all of them, and the thread ends.
            let first = match inbox.recv_timeout(Duration::from_secs(1)) {
                Ok(job) => job,
                Err(stop) => {
                    let stopped = stop == mpsc::RecvTimeoutError::Disconnected;
                    let entries = held.summaries(Instant::now(), stopped);
                    if !entries.is_empty() {
                        let (done, _) = tokio::sync::oneshot::channel();
                        let job = Job { entries, token: None, done };
                        if let Err(e) = db.write_now(|c| commit(c, &key, &[job])) {
                            tracing::error!(error = %e, "could not record a count of refused requests");
                        }
                    }
                    if stopped {
                        break;
                    }
                    continue;
                }
            };
            let mut batch = vec![first];
            let mut size = batch[0].entries.len();
            while size < MAX_BATCH {
                match inbox.try_recv() {
                    Ok(job) => {
                        size += job.entries.len();
                        batch.push(job);
                    }
                    Err(_) => break,
                }
            }
            // A panic must not end the thread: every later read would fail.
            let committed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                db.write_now(|c| commit(c, &key, &batch)).map_err(|e| e.to_string())
            }));
            let result = committed.unwrap_or_else(|_| Err("the audit writer panicked".to_owned()));
            if result.is_ok() {
                counts.commits.fetch_add(1, Ordering::Relaxed);
                counts.entries.fetch_add(size as u64, Ordering::Relaxed);
                super::metrics::metrics().audit_batch.observe(size as f64);
            }
            for job in batch {
                let _ = job.done.send(result.clone());
            }
        })?;
        Ok(Self { jobs, stats, refusals })
    }

    /// Writes every held-back count now, not when its minute is over.
    pub async fn flush_refusals(&self) -> Result<(), Unrecorded> {
        let entries = self.refusals.summaries(Instant::now(), true);
        if entries.is_empty() {
            return Ok(());
        }
        self.record(entries, None).await
    }

    /// Appends `entries` (and notes the token's use) in the next batch; returns
    /// once that batch is committed.
    pub async fn record(&self, entries: Vec<NewEntry>, token: Option<i64>) -> Result<(), Unrecorded> {
        let (done, committed) = tokio::sync::oneshot::channel();
        self.jobs.try_send(Job { entries, token, done }).map_err(|e| match e {
            mpsc::TrySendError::Full(_) => Unrecorded::Busy,
            mpsc::TrySendError::Disconnected(_) => Unrecorded::Stopped,
        })?;
        committed.await.map_err(|_| Unrecorded::Stopped)?.map_err(Unrecorded::Failed)
    }
}

fn commit(conn: &mut rusqlite::Connection, key: &AuditKey, batch: &[Job]) -> rusqlite::Result<()> {
    // A panic elsewhere can leave the shared writer inside a transaction.
    if !conn.is_autocommit() {
        conn.execute_batch("ROLLBACK")?;
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let now = Timestamp::now();
    let mut chain = Chain::load(&tx)?;
    for job in batch {
        for entry in &job.entries {
            chain.push(&tx, key, entry.clone())?;
        }
        if let Some(id) = job.token {
            tokens::touch(&tx, id, now)?;
        }
    }
    if batch.iter().any(|j| !j.entries.is_empty()) {
        chain.finish(&tx, key)?;
    }
    tx.commit()
}

//! Group commit: work from many requests runs in one write transaction, on a
//! thread of its own, and is committed with one `fsync`. A request hands its
//! job over once and is answered once, after the commit: nothing it did is
//! told before it is durable.
//!
//! What a batch shares (the audit chain's head, read once and written once)
//! is `B`, made by `begin` and closed by `finish`. A job that fails with a
//! database error rolls the whole batch back: every job in it is told.

use super::Db;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        mpsc, Arc,
    },
    time::Duration,
};

/// What a job hands back from inside the transaction: told the batch's
/// outcome once it is committed (or rolled back).
pub type Done = Box<dyn FnOnce(Result<(), Arc<str>>) + Send>;

/// One request's work inside the batch's transaction.
pub type Job<B> = Box<dyn FnOnce(&Transaction<'_>, &mut <B as Batch>::Shared) -> rusqlite::Result<Done> + Send>;

/// Most jobs one batch runs; the rest wait for the next batch.
const MAX_BATCH: usize = 512;
/// How often the thread looks for idle work (held-back counts whose minute is over).
const IDLE_TICK: Duration = Duration::from_secs(1);

/// Why a job was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotTaken {
    #[error("too many requests are waiting for the writer")]
    Busy,
    #[error("the writer thread has stopped")]
    Stopped,
}

/// Batches and jobs committed, for `make bench` ("entries per fsync") and `/metrics`.
#[derive(Default, Debug)]
pub struct BatchStats {
    pub commits: AtomicU64,
    pub jobs: AtomicU64,
}

/// How a batch begins and ends, and what its jobs share in between.
pub trait Batch: Send + 'static {
    type Shared;
    fn begin(&self, tx: &Connection) -> rusqlite::Result<Self::Shared>;
    fn finish(&self, shared: Self::Shared, tx: &Connection) -> rusqlite::Result<()>;
}

pub struct GroupCommit<B: Batch> {
    jobs: mpsc::SyncSender<Job<B>>,
    pub stats: Arc<BatchStats>,
}

impl<B: Batch> GroupCommit<B> {
    /// Starts the writer thread. `opener` begins each batch; `idle` is asked,
    /// about once a second and once more (`true`) when the last sender is
    /// gone, for a job to run on its own. At most `max_waiting` jobs wait;
    /// beyond that [`NotTaken::Busy`].
    pub fn start(
        db: Db,
        name: &str,
        max_waiting: usize,
        opener: B,
        mut idle: impl FnMut(bool) -> Option<Job<B>> + Send + 'static,
    ) -> std::io::Result<Self> {
        let (jobs, inbox) = mpsc::sync_channel::<Job<B>>(max_waiting);
        let stats = Arc::new(BatchStats::default());
        let counts = stats.clone();
        std::thread::Builder::new().name(name.into()).spawn(move || loop {
            let first = match inbox.recv_timeout(IDLE_TICK) {
                Ok(job) => job,
                Err(stop) => {
                    let stopped = stop == mpsc::RecvTimeoutError::Disconnected;
                    if let Some(job) = idle(stopped) {
                        run(&db, &opener, vec![job], &counts);
                    }
                    if stopped {
                        break;
                    }
                    continue;
                }
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match inbox.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            run(&db, &opener, batch, &counts);
        })?;
        Ok(Self { jobs, stats })
    }

    /// Hands `job` to the next batch; it runs there, and its [`Done`] is told
    /// the outcome. If the batch fails before the job ran, the job is dropped
    /// unrun: whatever it holds to answer with must treat that as a failure.
    pub fn submit(&self, job: Job<B>) -> Result<(), NotTaken> {
        self.jobs.try_send(job).map_err(|e| match e {
            mpsc::TrySendError::Full(_) => NotTaken::Busy,
            mpsc::TrySendError::Disconnected(_) => NotTaken::Stopped,
        })
    }
}

fn run<B: Batch>(db: &Db, opener: &B, batch: Vec<Job<B>>, counts: &BatchStats) {
    let size = batch.len() as u64;
    let mut told = Vec::with_capacity(batch.len());
    // A panic must not end the thread: every later job would fail.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        db.write_now(|conn| {
            // A panic elsewhere can leave the shared writer inside a transaction.
            if !conn.is_autocommit() {
                conn.execute_batch("ROLLBACK")?;
            }
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut shared = opener.begin(&tx)?;
            for job in batch {
                told.push(job(&tx, &mut shared)?);
            }
            opener.finish(shared, &tx)?;
            tx.commit()
        })
    }));
    let outcome: Result<(), Arc<str>> = match result {
        Ok(Ok(())) => {
            counts.commits.fetch_add(1, Ordering::Relaxed);
            counts.jobs.fetch_add(size, Ordering::Relaxed);
            crate::ssr::metrics::metrics().audit_batch.observe(size as f64);
            Ok(())
        }
        Ok(Err(e)) => Err(e.to_string().into()),
        Err(_) => Err("the writer thread panicked".into()),
    };
    for done in told {
        done(outcome.clone());
    }
}

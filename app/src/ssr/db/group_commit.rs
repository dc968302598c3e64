//! Group commit: work from many requests runs in one write transaction, on a
//! thread of its own, and is committed with one `fsync`. A request hands its
//! job over once and is answered once, after the commit: nothing it did is
//! told before it is durable.
//!
//! What a batch shares (the audit chain's head, read once and written once)
//! is `B`, made by `begin` and closed by `finish`. A job that fails with a
//! database error rolls the whole batch back: every job in it is told.

use super::{
    sql::{Sql, SqlError},
    Conn, Db,
};
use std::{
    collections::VecDeque,
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
pub type Job<B> = Box<dyn FnOnce(&dyn Sql, &mut <B as Batch>::Shared) -> Result<Done, SqlError> + Send>;

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
    fn begin(&self, tx: &dyn Sql) -> Result<Self::Shared, SqlError>;
    fn finish(&self, shared: Self::Shared, tx: &dyn Sql) -> Result<(), SqlError>;
    /// Whether the batch holds as much as one transaction should: no more
    /// jobs join it (one job may take it past the mark).
    fn full(&self, _shared: &Self::Shared) -> bool {
        false
    }
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
        std::thread::Builder::new().name(name.into()).spawn(move || {
            let mut waiting: VecDeque<Job<B>> = VecDeque::new();
            let mut idled = crate::ssr::clock::instant();
            loop {
                // Idle work once a second, busy or not: a steady stream of jobs
                // must not put it off.
                if crate::ssr::clock::instant().duration_since(idled) >= IDLE_TICK {
                    idled = crate::ssr::clock::instant();
                    waiting.extend(idle(false));
                }
                if waiting.is_empty() {
                    match inbox.recv_timeout(IDLE_TICK) {
                        Ok(job) => waiting.push_back(job),
                        Err(mpsc::RecvTimeoutError::Timeout) => continue,
                        Err(mpsc::RecvTimeoutError::Disconnected) => {
                            waiting.extend(idle(true));
                            while !waiting.is_empty() {
                                run(&db, &opener, &mut waiting, &counts);
                            }
                            break;
                        }
                    }
                }
                while waiting.len() < MAX_BATCH {
                    match inbox.try_recv() {
                        Ok(job) => waiting.push_back(job),
                        Err(_) => break,
                    }
                }
                run(&db, &opener, &mut waiting, &counts);
            }
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

/// Runs waiting jobs in one transaction until the batch is full (see
/// [`Batch::full`]); what is left waits for the next. If the batch fails,
/// every job in it is told, and every job still waiting is dropped unrun
/// (its caller treats that as a failure): a broken disk must not leave
/// callers waiting for a retry that never succeeds.
fn run<B: Batch>(db: &Db, opener: &B, waiting: &mut VecDeque<Job<B>>, counts: &BatchStats) {
    let mut told = Vec::new();
    // A panic must not end the thread: every later job would fail.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        db.write_now(|conn: &mut Conn| {
            // A panic elsewhere can leave the shared writer inside a transaction.
            if conn.in_transaction() {
                conn.rollback()?;
            }
            conn.begin()?;
            let batch = (|| {
                let mut shared = opener.begin(conn)?;
                while let Some(job) = waiting.pop_front() {
                    told.push(job(conn, &mut shared)?);
                    // A failed statement can roll SQLite's whole transaction back (a
                    // full disk, an I/O error): what followed would commit entry by entry.
                    if !conn.in_transaction() {
                        return Err(SqlError::Type("the batch's transaction was rolled back".into()));
                    }
                    if opener.full(&shared) {
                        break;
                    }
                }
                opener.finish(shared, conn)
            })();
            match batch {
                Ok(()) => conn.commit(),
                Err(e) => {
                    let _ = conn.rollback();
                    Err(e)
                }
            }
        })
    }));
    let size = told.len() as u64;
    let outcome: Result<(), Arc<str>> = match result {
        Ok(Ok(())) => {
            counts.commits.fetch_add(1, Ordering::Relaxed);
            counts.jobs.fetch_add(size, Ordering::Relaxed);
            crate::ssr::metrics::metrics().audit_batch.observe(size as f64);
            Ok(())
        }
        Ok(Err(e)) => Err(e.to_string().into()),
        Err(_) => {
            // At once, not at the writer's next use: on PostgreSQL the open
            // transaction holds the audit chain's lock for every node.
            db.write_now(|c| {
                if c.in_transaction() {
                    let _ = c.rollback();
                }
            });
            Err("the writer thread panicked".into())
        }
    };
    if outcome.is_err() {
        waiting.clear();
    }
    for done in told {
        done(outcome.clone());
    }
}

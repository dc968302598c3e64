//! Password hashing (argon2id) on a bounded pool of its own.

use crate::domain::Password;
use argon2::{
    password_hash::{PasswordHash, SaltString},
    Algorithm, Argon2, Params, Version,
};
use std::{
    sync::{mpsc, Arc, Mutex},
    time::{Duration, Instant},
};

/// The floor SPEC §5 sets: m = 19456 KiB, t = 2, p = 1.
pub const MIN_M_KIB: u32 = 19_456;
pub const MIN_T: u32 = 2;
pub const MIN_P: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("argon2 parameters below the minimum (m >= {MIN_M_KIB} KiB, t >= {MIN_T}, p >= {MIN_P})")]
    WeakParams,
    #[error("argon2: {0}")]
    Argon2(String),
    #[error("too many sign-ins are waiting for a hash")]
    Busy,
    #[error("the system random number generator failed")]
    Random,
}

/// Result of checking a password.
#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    /// Right password; `rehash` when the stored hash is cheaper than configured.
    Yes {
        rehash: bool,
    },
    No,
}

/// Hashes and verifies passwords with argon2id on `concurrency` dedicated
/// threads (each hash takes `m` KiB and a core), with at most `queue` more
/// waiting; beyond that sign-ins are refused as busy. Dedicated threads, not the
/// blocking pool: each keeps reusing its own allocator arena, so memory stays at
/// about `concurrency × m` however many sign-ins arrive at once.
pub struct Hasher {
    params: Params,
    jobs: mpsc::SyncSender<Job>,
    /// Verified against when the user does not exist, so that costs the same.
    dummy: String,
    /// How long a verification takes lately (µs, moving average): a refusal
    /// that skips the hash waits as long, so that it looks the same.
    typical_micros: Arc<std::sync::atomic::AtomicU64>,
    /// Verifications run so far.
    verified: Arc<std::sync::atomic::AtomicU64>,
}

pub(super) type Job = Box<dyn FnOnce() + Send>;

/// How much the hashing threads yield to everything else (the most there is).
pub(super) const HASH_NICENESS: i32 = 19;
/// A hashing thread idle this long gives its block memory (m KiB) back.
pub(super) const IDLE_RELEASE: Duration = Duration::from_secs(10);

impl Hasher {
    pub fn new(m_kib: u32, t: u32, p: u32, concurrency: usize, queue: usize) -> Result<Self, AuthError> {
        if m_kib < MIN_M_KIB || t < MIN_T || p < MIN_P {
            return Err(AuthError::WeakParams);
        }
        let params = Params::new(m_kib, t, p, None).map_err(|e| AuthError::Argon2(e.to_string()))?;
        let started = crate::ssr::clock::instant();
        let dummy = hash_with(&params, "strongroom timing equalizer")?;
        release_argon2_memory();
        let typical_micros = Arc::new(std::sync::atomic::AtomicU64::new(started.elapsed().as_micros() as u64));
        let (jobs, inbox) = mpsc::sync_channel::<Job>(queue);
        let inbox = Arc::new(Mutex::new(inbox));
        for n in 0..concurrency.max(1) {
            let inbox = inbox.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    // Below pages and reads: a burst of sign-ins slows sign-ins, not the site.
                    // Linux's nice is per thread; failing to lower it changes nothing else.
                    let _ = rustix::process::nice(HASH_NICENESS);
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = inbox.lock().unwrap_or_else(|p| p.into_inner()).recv_timeout(IDLE_RELEASE);
                        match job {
                            Ok(job) => job(),
                            // Memory kept through a burst, given back once it is over.
                            Err(mpsc::RecvTimeoutError::Timeout) => release_argon2_memory(),
                            Err(mpsc::RecvTimeoutError::Disconnected) => return, // the Hasher was dropped
                        }
                    }
                })
                .map_err(|e| AuthError::Argon2(e.to_string()))?;
        }
        Ok(Self { params, jobs, dummy, typical_micros, verified: Arc::default() })
    }

    async fn limited<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, AuthError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let span = tracing::Span::current();
        let job: Job = Box::new(move || {
            let _ = done.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| span.in_scope(work))));
        });
        self.jobs.try_send(job).map_err(|_| AuthError::Busy)?;
        match result.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(_) => Err(AuthError::Busy),
        }
    }

    /// A PHC string for `password` with the configured parameters.
    pub async fn hash(&self, password: Password) -> Result<String, AuthError> {
        let params = self.params.clone();
        self.limited(move || hash_with(&params, password.expose())).await?
    }

    /// Checks `password` against `stored`, or against a dummy hash when there is
    /// no such user, so that both cost one argon2 verification.
    pub async fn verify(&self, password: Password, stored: Option<String>) -> Result<Verified, AuthError> {
        let (known, stored) = match stored {
            Some(s) => (true, s),
            None => (false, self.dummy.clone()),
        };
        let want = self.params.clone();
        let (typical, verified) = (self.typical_micros.clone(), self.verified.clone());
        self.limited(move || {
            let started = crate::ssr::clock::instant();
            let _measure = Measure(started, typical, verified);
            let Ok(parsed) = PasswordHash::new(&stored) else { return Verified::No };
            // Verification uses the parameters stored in the hash itself.
            let ok = verify_with(&parsed, password.expose());
            if !(ok && known) {
                return Verified::No;
            }
            let rehash = Params::try_from(&parsed)
                .map(|have| {
                    have.m_cost() < want.m_cost() || have.t_cost() < want.t_cost() || have.p_cost() < want.p_cost()
                })
                .unwrap_or(true);
            Verified::Yes { rehash }
        })
        .await
    }
}

impl Hasher {
    /// Waits as long as a verification takes, without one: how a refusal that
    /// needs no hash (a locked account) answers in the same time.
    pub async fn pause(&self) {
        let micros = self.typical_micros.load(std::sync::atomic::Ordering::Relaxed);
        tokio::time::sleep(Duration::from_micros(micros)).await;
    }

    /// Verifications run so far (for tests and figures).
    pub fn verified(&self) -> u64 {
        self.verified.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Notes a verification's duration when it ends (whatever its outcome).
pub(super) struct Measure(Instant, Arc<std::sync::atomic::AtomicU64>, Arc<std::sync::atomic::AtomicU64>);

impl Drop for Measure {
    fn drop(&mut self) {
        use std::sync::atomic::Ordering::Relaxed;
        let took = self.0.elapsed().as_micros() as u64;
        let old = self.1.load(Relaxed);
        self.1.store((old * 7 + took) / 8, Relaxed);
        self.2.fetch_add(1, Relaxed);
    }
}

thread_local! {
    static MEMORY: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Gives this thread's block memory back (an idle server needs none).
pub(super) fn release_argon2_memory() {
    MEMORY.with_borrow_mut(|memory| *memory = Vec::new());
}

/// argon2 into `out`, on this thread's own block memory, kept from hash to
/// hash: not 19 MiB allocated, faulted in and given back per sign-in, which
/// during a burst stalled the other threads (page renders) on the kernel's
/// memory-map lock and TLB flushes.
pub(super) fn argon2_into(
    algorithm: Algorithm,
    version: Version,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> bool {
    let blocks = params.block_count();
    MEMORY.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory.resize(blocks, argon2::Block::default());
        }
        Argon2::new(algorithm, version, params.clone())
            .hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
            .is_ok()
    })
}

pub(super) fn hash_with(params: &Params, password: &str) -> Result<String, AuthError> {
    let failed = |e: &dyn std::fmt::Display| AuthError::Argon2(e.to_string());
    let mut raw_salt = [0u8; 16];
    getrandom::fill(&mut raw_salt).map_err(|_| AuthError::Random)?;
    let salt = SaltString::encode_b64(&raw_salt).map_err(|e| failed(&e))?;
    let mut out = [0u8; argon2::Params::DEFAULT_OUTPUT_LEN];
    if !argon2_into(Algorithm::Argon2id, Version::V0x13, params, password.as_bytes(), &raw_salt, &mut out) {
        return Err(AuthError::Argon2("hashing failed".into()));
    }
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: params.try_into().map_err(|e| failed(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(argon2::password_hash::Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `parsed` (any argon2 variant and
/// parameters it names), compared in constant time.
pub(super) fn verify_with(parsed: &PasswordHash<'_>, password: &str) -> bool {
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return false };
    let (Ok(algorithm), Ok(params)) = (Algorithm::try_from(parsed.algorithm), Params::try_from(parsed)) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let mut raw = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut raw) else { return false };
    let mut out = vec![0u8; expected.len()];
    if !argon2_into(algorithm, version, &params, password.as_bytes(), salt, &mut out) {
        return false;
    }
    argon2::password_hash::Output::new(&out).is_ok_and(|got| got == expected)
}

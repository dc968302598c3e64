//! Sign-in machinery: password hashing, session tokens and cookies, and the
//! throttle on failed sign-ins. Free of Leptos.

use crate::domain::Password;
use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use sha2::{Digest, Sha256};
use std::{
    collections::HashMap,
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
}

type Job = Box<dyn FnOnce() + Send>;

impl Hasher {
    pub fn new(m_kib: u32, t: u32, p: u32, concurrency: usize, queue: usize) -> Result<Self, AuthError> {
        if m_kib < MIN_M_KIB || t < MIN_T || p < MIN_P {
            return Err(AuthError::WeakParams);
        }
        let params = Params::new(m_kib, t, p, None).map_err(|e| AuthError::Argon2(e.to_string()))?;
        let dummy = hash_with(&params, "strongroom timing equalizer")?;
        let (jobs, inbox) = mpsc::sync_channel::<Job>(queue);
        let inbox = Arc::new(Mutex::new(inbox));
        for n in 0..concurrency.max(1) {
            let inbox = inbox.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || loop {
                    // The lock is held only while waiting for the next job.
                    let job = inbox.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => return, // the Hasher was dropped
                    }
                })
                .map_err(|e| AuthError::Argon2(e.to_string()))?;
        }
        Ok(Self { params, jobs, dummy })
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
        self.limited(move || {
            let Ok(parsed) = PasswordHash::new(&stored) else { return Verified::No };
            // Verification uses the parameters stored in the hash itself.
            let ok = Argon2::default().verify_password(password.expose().as_bytes(), &parsed).is_ok();
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

fn hash_with(params: &Params, password: &str) -> Result<String, AuthError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|_| AuthError::Random)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| AuthError::Argon2(e.to_string()))?;
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Argon2(e.to_string()))
}

/// A new session token (256 random bits, base64url) and the hash to store.
pub fn new_session_token() -> Result<(zeroize::Zeroizing<String>, Vec<u8>), AuthError> {
    let mut raw = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(raw.as_mut()).map_err(|_| AuthError::Random)?;
    let token = zeroize::Zeroizing::new(URL_SAFE_NO_PAD.encode(raw.as_ref()));
    let hash = token_hash(&token);
    Ok((token, hash))
}

/// What is stored for a token. The token has full entropy, so one SHA-256 suffices.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// How the session cookie is named and flagged.
#[derive(Clone, Debug)]
pub struct CookiePolicy {
    /// Served over HTTPS (behind a TLS proxy): adds `Secure` and the `__Host-` prefix.
    pub secure: bool,
}

impl CookiePolicy {
    pub fn name(&self) -> &'static str {
        if self.secure {
            "__Host-strongroom_session"
        } else {
            "strongroom_session"
        }
    }

    pub fn set(&self, token: &str, max_age: Duration) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}", self.name(), max_age.as_secs())
    }

    pub fn clear(&self) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}", self.name())
    }

    /// The session token in a `Cookie` header, if any.
    pub fn read<'a>(&self, cookie_header: &'a str) -> Option<&'a str> {
        cookie_header
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == self.name())
            .map(|(_, value)| value)
            .filter(|v| !v.is_empty())
    }
}

/// Failed sign-ins per key (an account name or a client address). After
/// `free` failures, each further attempt must wait `base × 2^(n - free)`, at
/// most `max`; attempts during the wait are refused without being checked.
pub struct Throttle {
    free: u32,
    base: Duration,
    max: Duration,
    entries: Mutex<HashMap<String, Failures>>,
}

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: Instant,
}

/// Bounds the memory a flood of distinct names or addresses can take.
const MAX_TRACKED: usize = 100_000;

impl Throttle {
    pub fn new(free: u32, base: Duration, max: Duration) -> Self {
        Self { free, base, max, entries: Mutex::new(HashMap::new()) }
    }

    fn wait_for(&self, f: &Failures) -> Duration {
        if f.count < self.free {
            return Duration::ZERO;
        }
        let doublings = (f.count - self.free).min(20);
        (self.base * 2u32.pow(doublings)).min(self.max)
    }

    /// True while `key` must wait.
    pub fn is_locked(&self, key: &str, now: Instant) -> bool {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(key).is_some_and(|f| now < f.last + self.wait_for(f))
    }

    pub fn fail(&self, key: &str, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_TRACKED && !entries.contains_key(key) {
            // Forget whoever has been quiet longest beyond their wait.
            let max = self.max;
            entries.retain(|_, f| now.saturating_duration_since(f.last) < max);
            if entries.len() >= MAX_TRACKED {
                return;
            }
        }
        let entry = entries.entry(key.to_owned()).or_insert(Failures { count: 0, last: now });
        entry.count += 1;
        entry.last = now;
    }

    pub fn succeed(&self, key: &str) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_starts_after_the_free_failures_and_doubles() {
        let t = Throttle::new(5, Duration::from_secs(30), Duration::from_secs(3600));
        let start = Instant::now();
        for _ in 0..4 {
            t.fail("alice", start);
        }
        assert!(!t.is_locked("alice", start));
        t.fail("alice", start);
        assert!(t.is_locked("alice", start + Duration::from_secs(29)));
        assert!(!t.is_locked("alice", start + Duration::from_secs(31)));
        t.fail("alice", start);
        assert!(t.is_locked("alice", start + Duration::from_secs(59)));
        assert!(!t.is_locked("bob", start), "other keys are unaffected");
        t.succeed("alice");
        assert!(!t.is_locked("alice", start));
    }

    #[test]
    fn the_wait_is_capped() {
        let t = Throttle::new(1, Duration::from_secs(30), Duration::from_secs(3600));
        let now = Instant::now();
        for _ in 0..60 {
            t.fail("x", now);
        }
        assert!(!t.is_locked("x", now + Duration::from_secs(3601)));
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_over_https() {
        let plain = CookiePolicy { secure: false }.set("tok", Duration::from_secs(60));
        assert_eq!(plain, "strongroom_session=tok; Path=/; HttpOnly; SameSite=Strict; Max-Age=60");
        let https = CookiePolicy { secure: true }.set("tok", Duration::from_secs(60));
        assert!(https.starts_with("__Host-strongroom_session=tok;") && https.ends_with("; Secure"));
    }

    #[test]
    fn the_token_is_read_from_among_other_cookies() {
        let p = CookiePolicy { secure: false };
        assert_eq!(p.read("a=1; strongroom_session=abc; b=2"), Some("abc"));
        assert_eq!(p.read("xstrongroom_session=abc"), None);
        assert_eq!(p.read("strongroom_session="), None);
    }

    #[test]
    fn tokens_are_256_bit_and_only_their_hash_is_kept() {
        let (token, hash) = new_session_token().unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(token.as_bytes()).unwrap().len(), 32);
        assert_eq!(hash, token_hash(&token));
        assert_ne!(hash, token.as_bytes());
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only_and_reports_a_cheaper_hash() {
        let h = Hasher::new(MIN_M_KIB, MIN_T, MIN_P, 1, 4).unwrap();
        let pw = || Password::parse_new("correct horse battery staple".into()).unwrap();
        let stored = h.hash(pw()).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert_eq!(h.verify(pw(), Some(stored.clone())).await.unwrap(), Verified::Yes { rehash: false });
        let wrong = Password::parse_attempt("wrong".into()).unwrap();
        assert_eq!(h.verify(wrong, Some(stored.clone())).await.unwrap(), Verified::No);
        assert_eq!(h.verify(pw(), None).await.unwrap(), Verified::No);
        let costlier = Hasher::new(MIN_M_KIB, MIN_T + 1, MIN_P, 1, 4).unwrap();
        assert_eq!(costlier.verify(pw(), Some(stored)).await.unwrap(), Verified::Yes { rehash: true });
    }

    #[tokio::test]
    async fn sign_ins_beyond_the_queue_are_refused_as_busy() {
        let h = Hasher::new(MIN_M_KIB, MIN_T, MIN_P, 1, 1).unwrap();
        let pw = || Password::parse_new("correct horse battery staple".into()).unwrap();
        // All three are offered before the first hash (tens of ms) can finish.
        let (a, b, c) = tokio::join!(h.hash(pw()), h.hash(pw()), h.hash(pw()));
        let busy = [&a, &b, &c].iter().filter(|r| matches!(r, Err(AuthError::Busy))).count();
        assert!(a.is_ok(), "the first one runs");
        assert!(busy >= 1, "one waiting place for two more");
        assert!(h.hash(pw()).await.is_ok(), "free again afterwards");
    }

    #[test]
    fn parameters_below_the_floor_are_refused() {
        assert!(matches!(Hasher::new(MIN_M_KIB - 1, MIN_T, MIN_P, 1, 1), Err(AuthError::WeakParams)));
        assert!(matches!(Hasher::new(MIN_M_KIB, 1, MIN_P, 1, 1), Err(AuthError::WeakParams)));
    }
}

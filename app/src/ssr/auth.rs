//! Sign-in machinery: password hashing, session tokens and cookies, and the
//! throttle on failed sign-ins. Free of Leptos.

use crate::domain::Password;
use argon2::{
    password_hash::{PasswordHash, SaltString},
    Algorithm, Argon2, Params, Version,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use hmac::{Mac, SimpleHmac};
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
    /// How long a verification takes lately (µs, moving average): a refusal
    /// that skips the hash waits as long, so that it looks the same.
    typical_micros: Arc<std::sync::atomic::AtomicU64>,
    /// Verifications run so far.
    verified: Arc<std::sync::atomic::AtomicU64>,
}

type Job = Box<dyn FnOnce() + Send>;

/// How much the hashing threads yield to everything else (the most there is).
const HASH_NICENESS: i32 = 19;
/// A hashing thread idle this long gives its block memory (m KiB) back.
const IDLE_RELEASE: Duration = Duration::from_secs(10);

impl Hasher {
    pub fn new(m_kib: u32, t: u32, p: u32, concurrency: usize, queue: usize) -> Result<Self, AuthError> {
        if m_kib < MIN_M_KIB || t < MIN_T || p < MIN_P {
            return Err(AuthError::WeakParams);
        }
        let params = Params::new(m_kib, t, p, None).map_err(|e| AuthError::Argon2(e.to_string()))?;
        let started = Instant::now();
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
            let started = Instant::now();
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
struct Measure(Instant, Arc<std::sync::atomic::AtomicU64>, Arc<std::sync::atomic::AtomicU64>);

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
fn release_argon2_memory() {
    MEMORY.with_borrow_mut(|memory| *memory = Vec::new());
}

/// argon2 into `out`, on this thread's own block memory, kept from hash to
/// hash: not 19 MiB allocated, faulted in and given back per sign-in, which
/// during a burst stalled the other threads (page renders) on the kernel's
/// memory-map lock and TLB flushes.
fn argon2_into(
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

fn hash_with(params: &Params, password: &str) -> Result<String, AuthError> {
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
fn verify_with(parsed: &PasswordHash<'_>, password: &str) -> bool {
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
    /// Signs flash messages: a planted cookie cannot speak as the server.
    flash_key: FlashKey,
}

/// A random key made at start (a flash lives a minute, so a restart may drop one).
#[derive(Clone)]
struct FlashKey([u8; 32]);

impl std::fmt::Debug for FlashKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FlashKey(<redacted>)")
    }
}

impl CookiePolicy {
    pub fn new(secure: bool) -> Result<Self, AuthError> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|_| AuthError::Random)?;
        Ok(Self { secure, flash_key: FlashKey(key) })
    }

    /// The flash's MAC, checked with `verify_slice` as the device cookie's is (see `devices`).
    fn flash_mac(&self, message: &[u8]) -> SimpleHmac<Sha256> {
        let mut mac = <SimpleHmac<Sha256> as Mac>::new_from_slice(&self.flash_key.0).expect("any key length");
        mac.update(b"strongroom flash v1\0");
        mac.update(message);
        mac
    }

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
        cookie_value(cookie_header, self.name())
    }

    fn device_name(&self) -> &'static str {
        if self.secure {
            "__Host-strongroom_device"
        } else {
            "strongroom_device"
        }
    }

    /// The device cookie (see `devices`): kept a year, sent only to this server.
    pub fn set_device(&self, value: &str) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000{secure}", self.device_name())
    }

    fn flash_name(&self) -> &'static str {
        if self.secure {
            "__Host-strongroom_flash"
        } else {
            "strongroom_flash"
        }
    }

    /// A message for the next page (a form post's answer, see `handler::flash`):
    /// read once within a minute. Base64url, so any text fits a cookie.
    pub fn set_flash(&self, message: &str) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        let (text, mac) = (
            URL_SAFE_NO_PAD.encode(message.as_bytes()),
            URL_SAFE_NO_PAD.encode(self.flash_mac(message.as_bytes()).finalize().into_bytes()),
        );
        format!("{}={text}.{mac}; Path=/; HttpOnly; SameSite=Strict; Max-Age=60{secure}", self.flash_name())
    }

    /// Whether a `Cookie` header carries a flash cookie at all (to clear a bad one too).
    pub fn has_flash(&self, cookie_header: &str) -> bool {
        cookie_value(cookie_header, self.flash_name()).is_some()
    }

    pub fn clear_flash(&self) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}", self.flash_name())
    }

    /// The flash message in a `Cookie` header, if any, signed by this server (at most 1 KiB of text).
    pub fn read_flash(&self, cookie_header: &str) -> Option<String> {
        let value = cookie_value(cookie_header, self.flash_name()).filter(|v| v.len() <= 1400)?;
        let (text, mac) = value.split_once('.')?;
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        self.flash_mac(&bytes).verify_slice(&URL_SAFE_NO_PAD.decode(mac).ok()?).ok()?;
        String::from_utf8(bytes).ok()
    }

    /// The device cookie in a `Cookie` header, if any.
    pub fn read_device<'a>(&self, cookie_header: &'a str) -> Option<&'a str> {
        cookie_value(cookie_header, self.device_name())
    }
}

fn cookie_value<'a>(cookie_header: &'a str, wanted: &str) -> Option<&'a str> {
    cookie_header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty())
}

/// Failed sign-ins per key (an account name or a client address). After
/// `free` failures, each further attempt must wait `base × 2^(n - free)`, at
/// most `max`; attempts during the wait are refused without being checked.
///
/// An attempt is counted *before* its password is checked ([`Throttle::attempt`],
/// one atomic step) and forgiven after a success, so that attempts sent at
/// once cannot all be checked before any of them counts.
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

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Failures>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// True while `key` must wait.
    pub fn is_locked(&self, key: &str, now: Instant) -> bool {
        self.lock().get(key).is_some_and(|f| now < f.last + self.wait_for(f))
    }

    /// Counts an attempt for `key`, as a failure until [`Throttle::forgive`] or
    /// [`Throttle::succeed`] says otherwise; false (nothing counted) while `key`
    /// must wait. When the table is full of keys still waiting, new keys are
    /// refused rather than let through unchecked.
    pub fn attempt(&self, key: &str, now: Instant) -> bool {
        let mut entries = self.lock();
        if let Some(f) = entries.get(key) {
            if now < f.last + self.wait_for(f) {
                return false;
            }
        } else if entries.len() >= MAX_TRACKED {
            let max = self.max;
            entries.retain(|_, f| now.saturating_duration_since(f.last) < max);
            if entries.len() >= MAX_TRACKED {
                return false;
            }
        }
        let entry = entries.entry(key.to_owned()).or_insert(Failures { count: 0, last: now });
        entry.count += 1;
        entry.last = now;
        true
    }

    /// Takes back one counted attempt that turned out right (an address's).
    pub fn forgive(&self, key: &str) {
        let mut entries = self.lock();
        if let Some(f) = entries.get_mut(key) {
            f.count = f.count.saturating_sub(1);
            if f.count == 0 {
                entries.remove(key);
            }
        }
    }

    /// Forgets every failure of `key` (an account whose password was right).
    pub fn succeed(&self, key: &str) {
        self.lock().remove(key);
    }
}

/// The throttle's key for a client address: IPv6 clients by their /64 (one
/// host usually holds a whole /64), IPv4 clients by address.
pub fn address_key(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_on_reused_memory_are_standard_argon2id_both_ways() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let params = Params::new(MIN_M_KIB, MIN_T, MIN_P, None).unwrap();
        let ours = hash_with(&params, "pass phrase one").unwrap();
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{ours}");
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"pass phrase one", &parsed).is_ok());
        assert!(verify_with(&parsed, "pass phrase one"));
        assert!(!verify_with(&parsed, "pass phrase two"));
        // A hash made elsewhere, with other parameters, on the same thread's memory.
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8192, 3, 1, None).unwrap())
            .hash_password(b"older", &salt)
            .unwrap()
            .to_string();
        let parsed = PasswordHash::new(&theirs).unwrap();
        assert!(verify_with(&parsed, "older") && !verify_with(&parsed, "olden"));
        assert!(verify_with(&PasswordHash::new(&ours).unwrap(), "pass phrase one"), "after a smaller hash");
    }

    #[test]
    fn the_lock_starts_after_the_free_failures_and_doubles() {
        let t = Throttle::new(5, Duration::from_secs(30), Duration::from_secs(3600));
        let start = Instant::now();
        for _ in 0..4 {
            assert!(t.attempt("alice", start));
        }
        assert!(!t.is_locked("alice", start));
        assert!(t.attempt("alice", start));
        assert!(t.is_locked("alice", start + Duration::from_secs(29)));
        assert!(!t.attempt("alice", start + Duration::from_secs(29)), "refused while waiting");
        assert!(!t.is_locked("alice", start + Duration::from_secs(31)));
        let later = start + Duration::from_secs(31);
        assert!(t.attempt("alice", later));
        assert!(t.is_locked("alice", later + Duration::from_secs(59)));
        assert!(!t.is_locked("bob", start), "other keys are unaffected");
        t.succeed("alice");
        assert!(!t.is_locked("alice", start));
    }

    #[test]
    fn attempts_count_before_the_check_and_a_success_is_forgiven() {
        let t = Throttle::new(5, Duration::from_secs(30), Duration::from_secs(3600));
        let now = Instant::now();
        // Forty at once: five are let through to be checked, the rest wait.
        let through = (0..40).filter(|_| t.attempt("alice", now)).count();
        assert_eq!(through, 5);
        let a = Throttle::new(2, Duration::from_secs(30), Duration::from_secs(3600));
        for _ in 0..10 {
            assert!(a.attempt("10.0.0.1", now));
            a.forgive("10.0.0.1");
        }
        assert!(!a.is_locked("10.0.0.1", now), "right answers never lock an address");
    }

    #[test]
    fn a_full_table_refuses_new_keys_rather_than_letting_them_through() {
        let t = Throttle::new(0, Duration::from_secs(60), Duration::from_secs(3600));
        let now = Instant::now();
        for n in 0..MAX_TRACKED {
            t.attempt(&n.to_string(), now);
        }
        assert!(!t.attempt("newcomer", now));
        assert!(t.attempt("newcomer", now + Duration::from_secs(3601)), "room again once the old ones expire");
    }

    #[test]
    fn ipv6_clients_are_throttled_by_their_64() {
        let a: std::net::IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: std::net::IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_eq!(address_key(a), "2001:db8:1:2::/64");
        assert_eq!(address_key("::ffff:10.1.2.3".parse().unwrap()), "10.1.2.3");
        assert_eq!(address_key("10.1.2.3".parse().unwrap()), "10.1.2.3");
    }

    #[test]
    fn the_wait_is_capped() {
        let t = Throttle::new(1, Duration::from_secs(30), Duration::from_secs(3600));
        let now = Instant::now();
        let mut at = now;
        for _ in 0..60 {
            at += Duration::from_secs(3601);
            assert!(t.attempt("x", at));
        }
        assert!(t.is_locked("x", at + Duration::from_secs(3599)));
        assert!(!t.is_locked("x", at + Duration::from_secs(3601)));
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_over_https() {
        let plain = CookiePolicy::new(false).unwrap().set("tok", Duration::from_secs(60));
        assert_eq!(plain, "strongroom_session=tok; Path=/; HttpOnly; SameSite=Strict; Max-Age=60");
        let https = CookiePolicy::new(true).unwrap().set("tok", Duration::from_secs(60));
        assert!(https.starts_with("__Host-strongroom_session=tok;") && https.ends_with("; Secure"));
    }

    #[test]
    fn a_flash_message_survives_its_cookie() {
        let p = CookiePolicy::new(false).unwrap();
        let set = p.set_flash("Added DB_URL; 2 lines, 40 bytes.");
        assert!(set.contains("HttpOnly; SameSite=Strict; Max-Age=60"));
        let value = set.split(';').next().unwrap();
        assert_eq!(p.read_flash(&format!("a=b; {value}")).as_deref(), Some("Added DB_URL; 2 lines, 40 bytes."));
        assert_eq!(p.read_flash("strongroom_flash=%%%"), None);
        // A cookie planted by someone else (another key, or none) says nothing.
        let planted = CookiePolicy::new(false).unwrap().set_flash("Your account is locked: call +1 555");
        assert_eq!(p.read_flash(planted.split(';').next().unwrap()), None);
        let unsigned = format!("strongroom_flash={}", URL_SAFE_NO_PAD.encode("Hello"));
        assert_eq!(p.read_flash(&unsigned), None);
        assert!(p.has_flash(&unsigned));
    }

    #[test]
    fn the_token_is_read_from_among_other_cookies() {
        let p = CookiePolicy::new(false).unwrap();
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

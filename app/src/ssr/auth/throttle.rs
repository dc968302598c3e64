//! The throttle on failed sign-ins, per account, address and device.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

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
    /// Failures older than this (since the last) are forgotten; `None`: kept.
    quiet: Option<Duration>,
    entries: Mutex<HashMap<String, Failures>>,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Failures {
    count: u32,
    last: Instant,
}

/// A throttle's rule: `free` failures, then waits from `base` doubling up to `max`.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    pub free: u32,
    pub base: Duration,
    pub max: Duration,
}

/// A future as [`SharedCounts`] returns it.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// The failures could not be counted (the database is unavailable): the
/// attempt is refused, and said to be refused for that reason, not "locked".
#[derive(Debug, PartialEq, Eq)]
pub struct Uncounted;

/// Failure counts kept where every node sees them (the database: see
/// `state::DbCounts`), under the same rule as [`Throttle`].
pub trait SharedCounts: Send + Sync {
    fn attempt<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, Uncounted>>;
    fn succeed<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()>;
    fn forgive<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()>;
}

/// A throttle in this process (one node), or shared by every node.
pub enum Counter {
    Local(Throttle),
    Shared(Box<dyn SharedCounts>),
}

impl Counter {
    /// See [`Throttle::attempt`].
    pub async fn attempt(&self, key: &str, now: Instant) -> Result<bool, Uncounted> {
        match self {
            Counter::Local(t) => Ok(t.attempt(key, now)),
            Counter::Shared(s) => s.attempt(key).await,
        }
    }

    /// See [`Throttle::succeed`].
    pub async fn succeed(&self, key: &str) {
        match self {
            Counter::Local(t) => t.succeed(key),
            Counter::Shared(s) => s.succeed(key).await,
        }
    }

    /// See [`Throttle::forgive`].
    pub async fn forgive(&self, key: &str) {
        match self {
            Counter::Local(t) => t.forgive(key),
            Counter::Shared(s) => s.forgive(key).await,
        }
    }
}

/// Bounds the memory a flood of distinct names or addresses can take.
pub(super) const MAX_TRACKED: usize = 100_000;

impl Throttle {
    pub fn new(free: u32, base: Duration, max: Duration) -> Self {
        Self { free, base, max, quiet: None, entries: Mutex::new(HashMap::new()) }
    }

    /// Forgets a key's failures after `quiet` without one (machine logins: a
    /// fleet's old mistakes must not cap its logins for good). Accounts keep
    /// theirs: forgetting would hand a guesser a fresh allowance every hour.
    pub fn forgetting_after(self, quiet: Duration) -> Self {
        Self { quiet: Some(quiet), ..self }
    }

    fn forgotten(&self, f: &Failures, now: Instant) -> bool {
        self.quiet.is_some_and(|quiet| now.saturating_duration_since(f.last) > quiet)
    }

    pub fn rule(&self) -> Rule {
        Rule { free: self.free, base: self.base, max: self.max }
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
        self.lock().get(key).is_some_and(|f| !self.forgotten(f, now) && self.waits(f, now))
    }

    /// Whether an attempt at `now` must wait. Attempts arrive slightly out of
    /// order (each took its `now` before an await): one that started before the
    /// last counted is not "before the wait is over" while no wait is due.
    fn waits(&self, f: &Failures, now: Instant) -> bool {
        let wait = self.wait_for(f);
        !wait.is_zero() && now < f.last + wait
    }

    /// Counts an attempt for `key`, as a failure until [`Throttle::forgive`] or
    /// [`Throttle::succeed`] says otherwise; false (nothing counted) while `key`
    /// must wait. When the table is full of keys still waiting, new keys are
    /// refused rather than let through unchecked.
    pub fn attempt(&self, key: &str, now: Instant) -> bool {
        let mut entries = self.lock();
        if entries.get(key).is_some_and(|f| self.forgotten(f, now)) {
            entries.remove(key);
        }
        if let Some(f) = entries.get(key) {
            if self.waits(f, now) {
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
        entry.last = entry.last.max(now);
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

//! The one place that reads the clock. Clippy's `disallowed-methods`
//! (`clippy.toml`) bans `SystemTime::now` and `Instant::now` everywhere else:
//! the layers below the doors take the time as a parameter, so a test sets
//! it, and one batch or transaction sees one time.
#![allow(clippy::disallowed_methods)]

use crate::domain::Timestamp;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The wall-clock time, in whole seconds (what is stored and shown).
pub fn now() -> Timestamp {
    Timestamp(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64))
}

/// The wall-clock time in milliseconds (throttles several nodes share).
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// The monotonic clock, for waits and throttles (never stored).
pub fn instant() -> Instant {
    Instant::now()
}

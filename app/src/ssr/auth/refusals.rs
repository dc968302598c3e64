//! The allowance of refused requests per client: the first few a minute get an entry each, the
//! rest are counted and written as one entry when the minute is over, so a
//! flood of refused requests cannot flood the trail (and its fsyncs).
//! Refused writes and sign-ins never come here: each of those is recorded.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Entries per client per window before the rest are counted.
const FREE: u32 = 10;
const WINDOW: Duration = Duration::from_secs(60);
/// Bounds the memory a flood from many addresses can take: beyond it, all
/// new clients share one count.
const MAX_CLIENTS: usize = 100_000;
const MANY: &str = "(many clients)";

pub struct Refusals {
    windows: Mutex<HashMap<String, Window>>,
}

struct Window {
    started: Instant,
    recorded: u32,
    held: u32,
}

impl Default for Refusals {
    fn default() -> Self {
        Self { windows: Mutex::new(HashMap::new()) }
    }
}

impl Refusals {
    /// Whether this refusal from `client` gets an entry of its own; if not, it is counted.
    pub fn admit(&self, client: &str, now: Instant) -> bool {
        let client = client_key(client);
        let client = client.as_str();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let key = if windows.len() >= MAX_CLIENTS && !windows.contains_key(client) { MANY } else { client };
        let window = windows.entry(key.to_owned()).or_insert(Window { started: now, recorded: 0, held: 0 });
        if window.recorded < FREE && key != MANY {
            window.recorded += 1;
            true
        } else {
            window.held += 1;
            false
        }
    }

    /// Each client whose window is over (or every client, with `all`) and
    /// had refusals held back, with how many; those windows are forgotten.
    pub fn summaries(&self, now: Instant, all: bool) -> Vec<(String, u32)> {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        windows.retain(|client, w| {
            let over = all || now.saturating_duration_since(w.started) >= WINDOW;
            if over && w.held > 0 {
                out.push((client.clone(), w.held));
            }
            !over
        });
        out
    }
}

/// One client: an IPv4 address, or an IPv6 /64 (a host usually holds a whole
/// /64, and could otherwise take a new allowance with every address), keyed as
/// the sign-in throttle keys it.
fn client_key(client: &str) -> String {
    client.parse::<std::net::IpAddr>().map_or_else(|_| client.to_owned(), super::address_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_client_gets_ten_entries_a_minute_and_then_one_count() {
        let r = Refusals::default();
        let t0 = crate::ssr::clock::instant();
        let admitted = (0..25).filter(|_| r.admit("10.0.0.1", t0)).count();
        assert_eq!(admitted, 10);
        assert!(r.admit("10.0.0.2", t0), "another client has its own allowance");
        assert!(r.summaries(t0 + Duration::from_secs(30), false).is_empty(), "the minute is not over");
        let done = r.summaries(t0 + WINDOW, false);
        assert_eq!(done.len(), 1, "only the client with refusals held back");
        assert_eq!(done[0], ("10.0.0.1".to_owned(), 15));
        assert!(r.admit("10.0.0.1", t0 + WINDOW), "a new minute, a new allowance");
        assert!(r.summaries(t0 + WINDOW, true).is_empty());
    }

    #[test]
    fn an_ipv6_slash_64_is_one_client() {
        let r = Refusals::default();
        let t0 = crate::ssr::clock::instant();
        let admitted = (0..25).filter(|i| r.admit(&format!("2001:db8:0:1::{i:x}"), t0)).count();
        assert_eq!(admitted, 10, "every address of one /64 shares one allowance");
        assert!(r.admit("2001:db8:0:2::1", t0), "the next /64 is another client");
        let done = r.summaries(t0 + WINDOW, false);
        assert_eq!(done[0], ("2001:db8:0:1::/64".to_owned(), 15));
    }
}

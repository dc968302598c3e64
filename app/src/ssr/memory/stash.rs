//! A short-lived, in-memory hand-over between two requests of one user: a new
//! token waiting to be shown once, a parsed `.env` import waiting to be
//! applied. It lets a form post answer with a redirect to a page (which works
//! the same with JavaScript on and off) without putting anything secret in
//! the URL: the URL carries only a random id, usable by the same user only,
//! for a few minutes. Held items are dropped (and so zeroized, where their
//! types do that) when taken, replaced or expired.

use crate::domain::UserId;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

struct Held<T> {
    owner: UserId,
    until: Instant,
    /// What the item takes in memory, as its putter counted it.
    bytes: usize,
    item: T,
}

pub struct Stash<T> {
    held: Mutex<HashMap<String, Held<T>>>,
    ttl: Duration,
    capacity: usize,
    per_owner: usize,
    max_bytes: usize,
    /// Whether a full stash pushes out another owner's item, or refuses.
    evict_others: bool,
}

impl<T> Stash<T> {
    /// Holds at most `capacity` items, at most `per_owner` of them one user's
    /// (so that one user cannot push everyone else's out).
    pub fn new(ttl: Duration, capacity: usize, per_owner: usize) -> Self {
        Self {
            held: Mutex::new(HashMap::new()),
            ttl,
            capacity: capacity.max(1),
            per_owner: per_owner.max(1),
            max_bytes: usize::MAX,
            evict_others: true,
        }
    }

    /// When full, refuse a new item rather than push out another owner's: for
    /// items someone is working on (a pasted import), not one-time notices.
    pub fn keeping_others(mut self) -> Self {
        self.evict_others = false;
        self
    }

    /// Also holds at most `max_bytes` in all, as counted by [`Stash::put_sized`].
    pub fn with_max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held<T>>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Holds `item` for `owner` (a user id); returns its id. When full, the
    /// item closest to expiring makes room (the stash never refuses and never grows).
    pub fn put(&self, owner: UserId, item: T) -> Option<String> {
        self.put_sized(owner, item, 0)
    }

    /// [`Stash::put`] for an item of `bytes`; the oldest items make room for
    /// it. `None` when it alone is larger than the whole stash may hold.
    pub fn put_sized(&self, owner: UserId, item: T, bytes: usize) -> Option<String> {
        if bytes > self.max_bytes {
            return None;
        }
        let mut raw = [0u8; 16];
        getrandom::fill(&mut raw).ok()?;
        let id = URL_SAFE_NO_PAD.encode(raw);
        let now = crate::ssr::clock::instant();
        let mut held = self.lock();
        held.retain(|_, h| h.until > now);
        let oldest = |held: &HashMap<String, Held<T>>, mine: bool| {
            held.iter().filter(|(_, h)| !mine || h.owner == owner).min_by_key(|(_, h)| h.until).map(|(k, _)| k.clone())
        };
        loop {
            let total: usize = held.values().map(|h| h.bytes).sum();
            let full = held.len() >= self.capacity || total + bytes > self.max_bytes;
            let make_room = if held.values().filter(|h| h.owner == owner).count() >= self.per_owner {
                oldest(&held, true)
            } else if full {
                oldest(&held, !self.evict_others)
            } else {
                break;
            };
            match make_room {
                Some(id) => held.remove(&id),
                None if full => return None,
                None => break,
            };
        }
        held.insert(id.clone(), Held { owner, until: now + self.ttl, bytes, item });
        Some(id)
    }

    /// Removes and returns the item, if `owner` put it there and it has not expired.
    pub fn take(&self, owner: UserId, id: &str) -> Option<T> {
        let mut held = self.lock();
        let mine = held.get(id).is_some_and(|h| h.owner == owner);
        let item = if mine { held.remove(id) } else { None };
        item.filter(|h| h.until > crate::ssr::clock::instant()).map(|h| h.item)
    }

    /// Looks at the item without taking it.
    pub fn peek<R>(&self, owner: UserId, id: &str, f: impl FnOnce(&T) -> R) -> Option<R> {
        let held = self.lock();
        held.get(id).filter(|h| h.owner == owner && h.until > crate::ssr::clock::instant()).map(|h| f(&h.item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_is_for_its_owner_and_taken_once() {
        let stash = Stash::new(Duration::from_secs(60), 4, 4);
        let id = stash.put(UserId(1), "x").unwrap();
        assert_eq!(stash.take(UserId(2), &id), None, "another user");
        assert_eq!(stash.peek(UserId(1), &id, |s| s.len()), Some(1));
        assert_eq!(stash.take(UserId(1), &id), Some("x"));
        assert_eq!(stash.take(UserId(1), &id), None, "a second time");
    }

    #[test]
    fn expired_items_are_gone_and_a_full_stash_drops_the_oldest() {
        let stash = Stash::new(Duration::from_millis(0), 4, 4);
        let id = stash.put(UserId(1), 1).unwrap();
        assert_eq!(stash.take(UserId(1), &id), None);
        let stash = Stash::new(Duration::from_secs(60), 2, 2);
        let first = stash.put(UserId(1), 1).unwrap();
        let ids = [stash.put(UserId(1), 2).unwrap(), stash.put(UserId(1), 3).unwrap()];
        assert_eq!(stash.take(UserId(1), &first), None);
        assert_eq!(ids.map(|id| stash.take(UserId(1), &id)), [Some(2), Some(3)]);
    }

    #[test]
    fn the_stash_holds_a_bounded_number_of_bytes() {
        let stash = Stash::new(Duration::from_secs(60), 10, 10).with_max_bytes(100);
        assert_eq!(stash.put_sized(UserId(1), 0, 101), None, "larger than the whole stash");
        let first = stash.put_sized(UserId(1), 1, 60).unwrap();
        let second = stash.put_sized(UserId(2), 2, 60).unwrap();
        assert_eq!(stash.take(UserId(1), &first), None, "pushed out to make room");
        assert_eq!(stash.take(UserId(2), &second), Some(2));
        // Keeping others' items: a full stash makes room from the putter's own, or refuses.
        let stash = Stash::new(Duration::from_secs(60), 10, 10).with_max_bytes(100).keeping_others();
        let theirs = stash.put_sized(UserId(1), 1, 60).unwrap();
        assert_eq!(stash.put_sized(UserId(2), 2, 60), None, "refused rather than push out user 1's");
        let mine = stash.put_sized(UserId(1), 3, 60).unwrap();
        assert_eq!(
            (stash.take(UserId(1), &theirs), stash.take(UserId(1), &mine)),
            (None, Some(3)),
            "its own oldest made room"
        );
    }

    #[test]
    fn one_user_cannot_push_out_another_users_items() {
        let stash = Stash::new(Duration::from_secs(60), 4, 2);
        let theirs = stash.put(UserId(2), 0).unwrap();
        let mine: Vec<String> = (1..=5).map(|n| stash.put(UserId(1), n).unwrap()).collect();
        assert_eq!(stash.take(UserId(2), &theirs), Some(0));
        assert_eq!(
            mine.iter().map(|id| stash.take(UserId(1), id)).collect::<Vec<_>>(),
            [None, None, None, Some(4), Some(5)]
        );
    }
}

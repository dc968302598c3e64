//! A bound on long-running work (trail exports): at most `total` at once, and
//! at most `each` per user, so that one user cannot take them all. A slot is
//! held by a guard and given back when the guard is dropped, wherever that is.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Mutex},
};

/// Slots for holders `K` (a user, a token).
pub struct Slots<K> {
    total: usize,
    each: usize,
    held: Mutex<HashMap<K, usize>>,
}

/// One slot, held until dropped.
pub struct Slot<K: Copy + Eq + Hash> {
    slots: Arc<Slots<K>>,
    user: K,
}

impl<K: Copy + Eq + Hash> Slots<K> {
    pub fn new(total: usize, each: usize) -> Arc<Self> {
        Arc::new(Self { total, each, held: Mutex::new(HashMap::new()) })
    }

    /// A slot for `user`, or `None` when the user's or everyone's are all taken.
    pub fn take(self: &Arc<Self>, user: K) -> Option<Slot<K>> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let (mine, all) = (held.get(&user).copied().unwrap_or(0), held.values().sum::<usize>());
        if mine >= self.each || all >= self.total {
            return None;
        }
        *held.entry(user).or_default() += 1;
        Some(Slot { slots: self.clone(), user })
    }
}

impl<K: Copy + Eq + Hash> Drop for Slot<K> {
    fn drop(&mut self) {
        let mut held = self.slots.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = held.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                held.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_user_and_everyone_have_a_bound_and_slots_come_back() {
        let slots = Slots::<i64>::new(3, 2);
        let (a1, _a2) = (slots.take(1).unwrap(), slots.take(1).unwrap());
        assert!(slots.take(1).is_none(), "a third for one user");
        let _b = slots.take(2).unwrap();
        assert!(slots.take(3).is_none(), "a fourth in all");
        drop(a1);
        assert!(slots.take(3).is_some());
    }
}

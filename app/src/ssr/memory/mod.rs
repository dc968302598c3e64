//! Ground layer: in-process holding places, never persisted — one-time stashes
//! (a new token shown once, a parsed import awaiting its apply) and
//! concurrency slots (exports running at once).

mod slots;
mod stash;
pub use slots::Slots;
pub use stash::Stash;

//! The audit trail in SQLite: appending entries in the caller's transaction,
//! the HMAC chain that makes edits detectable, and filtered reads.
//!
//! Chain: `mac(n) = HMAC-SHA256(k, mac(n-1) ‖ fields(n))`, where `k` is derived
//! from the base key (see `crypto`) for this purpose only and `fields` length-prefixes every
//! column, `id` included. Ids are consecutive, so a removed entry shows as a gap,
//! and an inserted, edited or reordered one as a wrong MAC. The newest entry's id
//! and MAC are also kept, under their own MAC, as `meta.audit_head`, so cutting
//! entries off the end is detected too.
//!
//! Layer 3: uses `db` and `crypto`; never names a request, and never reads
//! the clock (an entry's time is given).

pub mod archive;
mod chain;
pub mod cursor;
mod entry;
mod query;
pub mod reads;
pub use chain::*;
pub use entry::{Actor, Client, NewEntry};
pub use query::*;

#[cfg(test)]
mod tests;

//! Sign-in machinery (layer 2): password hashing, bearer tokens and their
//! hashes, cookies, throttles, device cookies and the one-time setup link.
//! Free of Leptos, axum and the database: the doors (`access`) put these
//! together, and [`sign_in`] decides a sign-in's outcome.

mod bearer;
mod cookies;
pub mod devices;
mod passwords;
mod refusals;
pub mod setup;
mod sign_in;
mod throttle;
pub mod totp;
pub use bearer::*;
pub use cookies::*;
pub use passwords::*;
pub use refusals::Refusals;
pub use sign_in::{Attempt, Outcome, SignIns, Stored};
pub use throttle::*;

#[cfg(test)]
mod tests;

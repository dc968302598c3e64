//! The store, the keyring and the audit trail on a real SQLite file (and the
//! engine layer on a real PostgreSQL, `engines`), without a server: one test binary (see `server/tests/it/main.rs`), built only with
//! the `ssr` feature (`required-features` in `app/Cargo.toml`), so it can
//! never compile to nothing.
// Tests fail loudly: the no-unwrap policy (clippy.toml) is for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod engines;
mod keys;
mod store;

use app::domain::{NamespacePath, SecretKey, SecretValue};

// Parsing shorthands every module here uses (valid input only).
pub fn ns(s: &str) -> NamespacePath {
    NamespacePath::parse(s).unwrap()
}
pub fn key(s: &str) -> SecretKey {
    SecretKey::parse(s).unwrap()
}
pub fn value(s: &str) -> SecretValue {
    SecretValue::parse(s.into()).unwrap()
}

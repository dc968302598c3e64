//! The store, the keyring and the audit trail on a real SQLite file, without
//! a server: one test binary (see `server/tests/it/main.rs`), built only with
//! the `ssr` feature (`required-features` in `app/Cargo.toml`), so it can
//! never compile to nothing.

mod keys;
mod store;

//! The server's integration tests: one binary (one link, one process), a
//! module per subject. Add a test to the module of its subject, or a module
//! here — never another file under `server/tests/` (each would be a binary of
//! its own, linked again on every change: that is where `make unit` spent its
//! time).
// Tests fail loudly: the no-unwrap policy (clippy.toml) is for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod approle;
mod audit;
mod auth;
mod backup;
mod catalog;
mod cli;
mod clients;
mod copy;
mod crash;
mod faults;
mod fingerprints;
mod hardening;
mod http;
mod jwt;
mod keys;
mod litestream;
mod metrics;
mod namespaces;
mod nodes;
mod reads;
mod sso;
mod stream;
mod v1;
mod versions;
mod webhooks;

//! Server-only code: the SQLite store, encryption, and the glue that server
//! functions use. Compiled only with the `ssr` feature.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod crypto;
pub mod db;
pub mod devices;
pub mod formats;
pub mod handler;
pub mod import;
pub mod keys;
pub mod metrics;
pub mod refusals;
pub mod rows;
pub mod setup;
pub mod slots;
pub mod stash;
pub mod state;
pub mod store;
pub mod tokens;
pub mod workload;

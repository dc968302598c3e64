//! Server-only code (the `ssr` feature), in layers. Each layer uses only the
//! layers below it; `scripts/layers.py` (in `make lint`) fails when one names a
//! layer above it. From the bottom:
//!
//! 1. ground: `clock` (the one place that reads the time), `metrics`, `memory`
//!    (in-process holding places), `crypto` (encryption at rest), `formats`
//!    (export and import texts);
//! 2. `db` (the SQLite file and its connections) and `auth` (passwords,
//!    bearer tokens, cookies, throttles, the setup link);
//! 3. `audit`: the HMAC-chained trail, appended inside a transaction it is handed;
//! 4. `store`: namespaces, secrets, accounts, tokens, imports, the keyring and
//!    the workload read batch, each a function over a connection;
//! 5. `state`: what every request shares;
//! 6. `access`: the doors — server-function acts, the workload door, and the
//!    one error map from every failure below to what a caller is told.
//!
//! Layers 1–4 never name Leptos, axum or a request, and `audit` and `store`
//! never read the clock: time is a parameter there.

pub mod access;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod crypto;
pub mod db;
pub mod formats;
pub mod memory;
pub mod metrics;
pub mod state;
pub mod store;

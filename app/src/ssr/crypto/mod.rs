//! Ground layer: encryption at rest — the root, base and data keys, the
//! keyring, and sealing values (the format is in `keyring`). Pure: no
//! database, no request, no clock.

mod keyring;
pub use keyring::*;

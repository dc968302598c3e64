//! Ground layer: encryption at rest — the root, base and data keys, the
//! keyring, and sealing values (the format is in `keyring`). Pure: no
//! database, no request, no clock.

mod keyring;
pub use keyring::*;

/// HMAC-SHA256 under `key`. HMAC takes a key of any length (it hashes a longer
/// one and pads a shorter one), so making one cannot fail.
#[expect(clippy::expect_used, reason = "HMAC's new_from_slice accepts every key length")]
pub fn hmac_sha256(key: &[u8]) -> hmac::SimpleHmac<sha2::Sha256> {
    <hmac::SimpleHmac<sha2::Sha256> as hmac::Mac>::new_from_slice(key).expect("HMAC takes any key length")
}

//! Ground layer: encryption at rest — the root, base and data keys, the
//! keyring, and sealing values (the format is in `keyring`). Pure: no
//! database, no request, no clock.

mod keyring;
pub use keyring::*;

/// 16 random bytes as a version 4 UUID (what Vault's clients show and
/// expect for request ids, role ids and accessors).
pub fn uuid_v4(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut id = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            id.push('-');
        }
        id.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        id.push(char::from(b"0123456789abcdef"[usize::from(byte & 0x0f)]));
    }
    id
}

/// HMAC-SHA256 under `key`. HMAC takes a key of any length (it hashes a longer
/// one and pads a shorter one), so making one cannot fail.
#[expect(clippy::expect_used, reason = "HMAC's new_from_slice accepts every key length")]
pub fn hmac_sha256(key: &[u8]) -> hmac::SimpleHmac<sha2::Sha256> {
    <hmac::SimpleHmac<sha2::Sha256> as hmac::Mac>::new_from_slice(key).expect("HMAC takes any key length")
}

//! Random bearer tokens (sessions, the setup link) and the hash that is stored instead.

use super::*;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use sha2::{Digest, Sha256};

/// A new session token (256 random bits, base64url) and the hash to store.
pub fn new_session_token() -> Result<(zeroize::Zeroizing<String>, Vec<u8>), AuthError> {
    let mut raw = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(raw.as_mut()).map_err(|_| AuthError::Random)?;
    let token = zeroize::Zeroizing::new(URL_SAFE_NO_PAD.encode(raw.as_ref()));
    let hash = token_hash(&token);
    Ok((token, hash))
}

/// What is stored for a token. The token has full entropy, so one SHA-256 suffices.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

//! Device cookies (OWASP's answer to lockout as a weapon): a browser that has
//! signed in to an account is given a cookie naming that account, signed with a
//! key derived from the base key. Its later attempts for that account are
//! throttled by the cookie alone, not by the account or the address, so someone
//! failing sign-ins against the same name, or behind the same proxy, cannot lock
//! out the people who really use the account. A stolen cookie gives no more than
//! any other client: five guesses, then the same growing waits.

use crate::ssr::crypto::{BaseKey, KEY_LEN};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use hmac::{Mac, SimpleHmac};
use sha2::Sha256;
use zeroize::Zeroizing;

const NONCE_LEN: usize = 16;

pub struct DeviceCookies {
    key: Zeroizing<[u8; KEY_LEN]>,
}

impl DeviceCookies {
    pub fn new(base: &BaseKey) -> Self {
        Self { key: base.derive("strongroom device cookies v1") }
    }

    fn mac(&self, account: &str, nonce: &[u8]) -> SimpleHmac<Sha256> {
        let mut mac = crate::ssr::crypto::hmac_sha256(self.key.as_ref());
        mac.update(&(account.len() as u64).to_be_bytes());
        mac.update(account.as_bytes());
        mac.update(nonce);
        mac
    }

    /// A new cookie value for `account` (its lower-cased name): `nonce.mac`.
    pub fn issue(&self, account: &str) -> Option<String> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).ok()?;
        let tag = self.mac(account, &nonce).finalize().into_bytes();
        Some(format!("{}.{}", URL_SAFE_NO_PAD.encode(nonce), URL_SAFE_NO_PAD.encode(tag)))
    }

    /// The device's id (its nonce, as sent) when `value` was issued by this
    /// server for `account`.
    pub fn check<'a>(&self, account: &str, value: &'a str) -> Option<&'a str> {
        let (nonce_text, tag) = value.split_once('.')?;
        let nonce = URL_SAFE_NO_PAD.decode(nonce_text).ok().filter(|n| n.len() == NONCE_LEN)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.mac(account, &nonce).verify_slice(&tag).ok()?;
        Some(nonce_text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_opens_only_its_own_account_on_its_own_server() {
        let base = BaseKey::generate().unwrap();
        let devices = DeviceCookies::new(&base);
        let cookie = devices.issue("alice").unwrap();
        let id = devices.check("alice", &cookie).unwrap();
        assert!(cookie.starts_with(id));
        assert_eq!(devices.check("bob", &cookie), None);
        assert_eq!(DeviceCookies::new(&BaseKey::generate().unwrap()).check("alice", &cookie), None);
        let mut forged = cookie.clone().into_bytes();
        forged[0] = if forged[0] == b'A' { b'B' } else { b'A' };
        assert_eq!(devices.check("alice", std::str::from_utf8(&forged).unwrap()), None);
        for junk in ["", ".", "abc", "a.b", &format!("{cookie}x")] {
            assert_eq!(devices.check("alice", junk), None, "{junk}");
        }
        assert_ne!(devices.issue("alice").unwrap(), cookie, "each browser its own");
    }
}

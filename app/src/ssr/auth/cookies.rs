//! The session, device and flash cookies: names, flags, and reading them back.

use super::*;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use hmac::{Mac, SimpleHmac};
use sha2::Sha256;
use std::time::Duration;

/// Set after an SSO sign-in (not a credential): when the session ends, pages
/// go back through the IdP instead of to `/login`; cleared at sign-out.
pub const SSO_HINT: &str = "strongroom_sso";

/// How the session cookie is named and flagged.
#[derive(Clone, Debug)]
pub struct CookiePolicy {
    /// Served over HTTPS (behind a TLS proxy): adds `Secure` and the `__Host-` prefix.
    pub secure: bool,
    /// Signs flash messages: a planted cookie cannot speak as the server.
    flash_key: FlashKey,
}

/// A random key made at start (a flash lives a minute, so a restart may drop one).
#[derive(Clone)]
pub(super) struct FlashKey([u8; 32]);

impl std::fmt::Debug for FlashKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FlashKey(<redacted>)")
    }
}

impl CookiePolicy {
    pub fn new(secure: bool) -> Result<Self, AuthError> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|_| AuthError::Random)?;
        Ok(Self { secure, flash_key: FlashKey(key) })
    }

    /// The flash's MAC, checked with `verify_slice` as the device cookie's is (see `devices`).
    fn flash_mac(&self, message: &[u8]) -> SimpleHmac<Sha256> {
        let mut mac = crate::ssr::crypto::hmac_sha256(&self.flash_key.0);
        mac.update(b"strongroom flash v1\0");
        mac.update(message);
        mac
    }

    pub fn name(&self) -> &'static str {
        if self.secure {
            "__Host-strongroom_session"
        } else {
            "strongroom_session"
        }
    }

    pub fn set(&self, token: &str, max_age: Duration) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}", self.name(), max_age.as_secs())
    }

    /// The SSO hint cookie's header, set (`on`) or cleared.
    pub fn sso_hint(&self, on: bool) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        let (value, age) = if on { ("1", 30 * 86_400) } else { ("", 0) };
        format!("{SSO_HINT}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={age}{secure}")
    }

    pub fn clear(&self) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}", self.name())
    }

    /// The session token in a `Cookie` header, if any.
    pub fn read<'a>(&self, cookie_header: &'a str) -> Option<&'a str> {
        cookie_value(cookie_header, self.name())
    }

    fn device_name(&self) -> &'static str {
        if self.secure {
            "__Host-strongroom_device"
        } else {
            "strongroom_device"
        }
    }

    /// The device cookie (see `devices`): kept a year, sent only to this server.
    pub fn set_device(&self, value: &str) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000{secure}", self.device_name())
    }

    fn flash_name(&self) -> &'static str {
        if self.secure {
            "__Host-strongroom_flash"
        } else {
            "strongroom_flash"
        }
    }

    /// A message for the next page (a form post's answer, see `handler::flash`):
    /// read once within a minute. Base64url, so any text fits a cookie.
    pub fn set_flash(&self, message: &str) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        let (text, mac) = (
            URL_SAFE_NO_PAD.encode(message.as_bytes()),
            URL_SAFE_NO_PAD.encode(self.flash_mac(message.as_bytes()).finalize().into_bytes()),
        );
        format!("{}={text}.{mac}; Path=/; HttpOnly; SameSite=Strict; Max-Age=60{secure}", self.flash_name())
    }

    /// Whether a `Cookie` header carries a flash cookie at all (to clear a bad one too).
    pub fn has_flash(&self, cookie_header: &str) -> bool {
        cookie_value(cookie_header, self.flash_name()).is_some()
    }

    pub fn clear_flash(&self) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}", self.flash_name())
    }

    /// The flash message in a `Cookie` header, if any, signed by this server (at most 1 KiB of text).
    pub fn read_flash(&self, cookie_header: &str) -> Option<String> {
        let value = cookie_value(cookie_header, self.flash_name()).filter(|v| v.len() <= 1400)?;
        let (text, mac) = value.split_once('.')?;
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        self.flash_mac(&bytes).verify_slice(&URL_SAFE_NO_PAD.decode(mac).ok()?).ok()?;
        String::from_utf8(bytes).ok()
    }

    /// The device cookie in a `Cookie` header, if any.
    pub fn read_device<'a>(&self, cookie_header: &'a str) -> Option<&'a str> {
        cookie_value(cookie_header, self.device_name())
    }
}

pub(super) fn cookie_value<'a>(cookie_header: &'a str, wanted: &str) -> Option<&'a str> {
    cookie_header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty())
}

//! Time-based one-time passwords (RFC 6238 over RFC 4226): the second factor
//! of local accounts. HMAC-SHA1, 6 digits, 30-second steps — what every
//! authenticator app reads from an `otpauth://` URI. A code is good for its
//! step and the one before or after (clocks drift), and never twice: the
//! step a code was used at is kept, and codes of that step or earlier are
//! refused (someone who watched it typed cannot use it again).

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Seconds per step.
pub const STEP: i64 = 30;
/// Bytes of a new secret (160 bits, RFC 4226's recommendation).
pub const SECRET_BYTES: usize = 20;

/// The code of `secret` at `step`.
pub fn code(secret: &[u8], step: i64) -> u32 {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else { return 0 };
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let word = u32::from_be_bytes([digest[offset], digest[offset + 1], digest[offset + 2], digest[offset + 3]]);
    (word & 0x7fff_ffff) % 1_000_000
}

/// The step `typed` is the code of, at `now` (seconds), if it is one of the
/// steps around now and later than `last_used`. Spaces are ignored.
pub fn verify(secret: &[u8], typed: &str, now: i64, last_used: Option<i64>) -> Option<i64> {
    let digits: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let wanted: u32 = digits.parse().ok()?;
    let current = now.div_euclid(STEP);
    // Every candidate is computed: the time taken says nothing of which matched.
    let mut found = None;
    for step in [current - 1, current, current + 1] {
        let fresh = last_used.is_none_or(|last| step > last);
        if constant_eq(code(secret, step), wanted) && fresh && found.is_none() {
            found = Some(step);
        }
    }
    found
}

fn constant_eq(a: u32, b: u32) -> bool {
    (a ^ b) == 0
}

/// RFC 4648 base32 without padding: how authenticator apps take a secret.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    for chunk in bytes.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..chars {
            out.push(char::from(ALPHABET[((bits >> (35 - i * 5)) & 31) as usize]));
        }
    }
    out
}

/// The `otpauth://` URI an authenticator app scans or takes pasted.
pub fn uri(account: &str, secret: &[u8]) -> String {
    let label: String = account.chars().filter(|c| c.is_ascii_alphanumeric() || "._@-".contains(*c)).collect();
    format!(
        "otpauth://totp/Strongroom:{label}?secret={}&issuer=Strongroom&algorithm=SHA1&digits=6&period={STEP}",
        base32(secret)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_rfc_6238s_sha1_vectors() {
        let secret = b"12345678901234567890";
        // RFC 6238 appendix B (8 digits there; the last 6 here).
        for (time, eight) in
            [(59, 94_287_082_u32), (1_111_111_109, 7_081_804), (1_234_567_890, 89_005_924), (2_000_000_000, 69_279_037)]
        {
            assert_eq!(code(secret, time / STEP), eight % 1_000_000, "{time}");
        }
    }

    #[test]
    fn a_code_is_good_around_its_step_once_and_never_again() {
        let secret = b"12345678901234567890";
        let now = 1_234_567_890;
        let typed = format!("{:06}", code(secret, now / STEP));
        let step = verify(secret, &typed, now, None).unwrap();
        assert_eq!(step, now / STEP);
        assert_eq!(verify(secret, &typed, now, Some(step)), None, "used once");
        assert_eq!(verify(secret, &typed, now + STEP, None), Some(step), "a step late is forgiven");
        assert_eq!(verify(secret, &typed, now + 3 * STEP, None), None, "three steps late is not");
        let spaced = format!("{} {}", &typed[..3], &typed[3..]);
        assert_eq!(verify(secret, &spaced, now, None), Some(step));
        for bad in ["", "12345", "1234567", "12a456"] {
            assert_eq!(verify(secret, bad, now, None), None, "{bad}");
        }
    }

    #[test]
    fn secrets_are_written_as_authenticator_apps_read_them() {
        assert_eq!(base32(b"12345678901234567890"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        let uri = uri("alice", b"12345678901234567890");
        assert!(uri
            .starts_with("otpauth://totp/Strongroom:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Strongroom"));
    }
}

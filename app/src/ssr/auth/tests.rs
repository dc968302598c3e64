use super::*;
use crate::domain::Password;
use argon2::{
    password_hash::{PasswordHash, SaltString},
    Algorithm, Argon2, Params, Version,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use std::time::Duration;

#[test]
fn hashes_on_reused_memory_are_standard_argon2id_both_ways() {
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};
    let params = Params::new(MIN_M_KIB, MIN_T, MIN_P, None).unwrap();
    let ours = hash_with(&params, "pass phrase one").unwrap();
    assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{ours}");
    let parsed = PasswordHash::new(&ours).unwrap();
    assert!(Argon2::default().verify_password(b"pass phrase one", &parsed).is_ok());
    assert!(verify_with(&parsed, "pass phrase one"));
    assert!(!verify_with(&parsed, "pass phrase two"));
    // A hash made elsewhere, with other parameters, on the same thread's memory.
    let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
    let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8192, 3, 1, None).unwrap())
        .hash_password(b"older", &salt)
        .unwrap()
        .to_string();
    let parsed = PasswordHash::new(&theirs).unwrap();
    assert!(verify_with(&parsed, "older") && !verify_with(&parsed, "olden"));
    assert!(verify_with(&PasswordHash::new(&ours).unwrap(), "pass phrase one"), "after a smaller hash");
}

#[test]
fn the_lock_starts_after_the_free_failures_and_doubles() {
    let t = Throttle::new(5, Duration::from_secs(30), Duration::from_secs(3600));
    let start = crate::ssr::clock::instant();
    for _ in 0..4 {
        assert!(t.attempt("alice", start));
    }
    assert!(!t.is_locked("alice", start));
    assert!(t.attempt("alice", start));
    assert!(t.is_locked("alice", start + Duration::from_secs(29)));
    assert!(!t.attempt("alice", start + Duration::from_secs(29)), "refused while waiting");
    assert!(!t.is_locked("alice", start + Duration::from_secs(31)));
    let later = start + Duration::from_secs(31);
    assert!(t.attempt("alice", later));
    assert!(t.is_locked("alice", later + Duration::from_secs(59)));
    assert!(!t.is_locked("bob", start), "other keys are unaffected");
    t.succeed("alice");
    assert!(!t.is_locked("alice", start));
}

#[test]
fn attempts_count_before_the_check_and_a_success_is_forgiven() {
    let t = Throttle::new(5, Duration::from_secs(30), Duration::from_secs(3600));
    let now = crate::ssr::clock::instant();
    // Forty at once: five are let through to be checked, the rest wait.
    let through = (0..40).filter(|_| t.attempt("alice", now)).count();
    assert_eq!(through, 5);
    let a = Throttle::new(2, Duration::from_secs(30), Duration::from_secs(3600));
    for _ in 0..10 {
        assert!(a.attempt("10.0.0.1", now));
        a.forgive("10.0.0.1");
    }
    assert!(!a.is_locked("10.0.0.1", now), "right answers never lock an address");
}

#[test]
fn a_full_table_refuses_new_keys_rather_than_letting_them_through() {
    let t = Throttle::new(0, Duration::from_secs(60), Duration::from_secs(3600));
    let now = crate::ssr::clock::instant();
    for n in 0..MAX_TRACKED {
        t.attempt(&n.to_string(), now);
    }
    assert!(!t.attempt("newcomer", now));
    assert!(t.attempt("newcomer", now + Duration::from_secs(3601)), "room again once the old ones expire");
}

#[test]
fn ipv6_clients_are_throttled_by_their_64() {
    let a: std::net::IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
    let b: std::net::IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
    assert_eq!(address_key(a), address_key(b));
    assert_eq!(address_key(a), "2001:db8:1:2::/64");
    assert_eq!(address_key("::ffff:10.1.2.3".parse().unwrap()), "10.1.2.3");
    assert_eq!(address_key("10.1.2.3".parse().unwrap()), "10.1.2.3");
}

#[test]
fn a_forgetting_throttle_starts_afresh_after_a_quiet_spell() {
    let t =
        Throttle::new(2, Duration::from_secs(10), Duration::from_secs(300)).forgetting_after(Duration::from_secs(600));
    let now = crate::ssr::clock::instant();
    assert!(t.attempt("nat", now) && t.attempt("nat", now) && !t.attempt("nat", now));
    assert!(t.is_locked("nat", now + Duration::from_secs(9)));
    let later = now + Duration::from_secs(601);
    assert!(!t.is_locked("nat", later));
    // Its allowance whole again: one failure does not lock it.
    assert!(t.attempt("nat", later) && !t.is_locked("nat", later));
    // Without forgetting, the count stands (accounts): one more failure locks it.
    let kept = Throttle::new(2, Duration::from_secs(10), Duration::from_secs(300));
    assert!(kept.attempt("acct", now) && kept.attempt("acct", now));
    assert!(kept.attempt("acct", later) && kept.is_locked("acct", later));
}

#[test]
fn the_wait_is_capped() {
    let t = Throttle::new(1, Duration::from_secs(30), Duration::from_secs(3600));
    let now = crate::ssr::clock::instant();
    let mut at = now;
    for _ in 0..60 {
        at += Duration::from_secs(3601);
        assert!(t.attempt("x", at));
    }
    assert!(t.is_locked("x", at + Duration::from_secs(3599)));
    assert!(!t.is_locked("x", at + Duration::from_secs(3601)));
}

#[test]
fn cookies_are_http_only_strict_and_secure_over_https() {
    let plain = CookiePolicy::new(false).unwrap().set("tok", Duration::from_secs(60));
    assert_eq!(plain, "strongroom_session=tok; Path=/; HttpOnly; SameSite=Strict; Max-Age=60");
    let https = CookiePolicy::new(true).unwrap().set("tok", Duration::from_secs(60));
    assert!(https.starts_with("__Host-strongroom_session=tok;") && https.ends_with("; Secure"));
}

#[test]
fn a_flash_message_survives_its_cookie() {
    let p = CookiePolicy::new(false).unwrap();
    let set = p.set_flash("Added DB_URL; 2 lines, 40 bytes.");
    assert!(set.contains("HttpOnly; SameSite=Strict; Max-Age=60"));
    let value = set.split(';').next().unwrap();
    assert_eq!(p.read_flash(&format!("a=b; {value}")).as_deref(), Some("Added DB_URL; 2 lines, 40 bytes."));
    assert_eq!(p.read_flash("strongroom_flash=%%%"), None);
    // A cookie planted by someone else (another key, or none) says nothing.
    let planted = CookiePolicy::new(false).unwrap().set_flash("Your account is locked: call +1 555");
    assert_eq!(p.read_flash(planted.split(';').next().unwrap()), None);
    let unsigned = format!("strongroom_flash={}", URL_SAFE_NO_PAD.encode("Hello"));
    assert_eq!(p.read_flash(&unsigned), None);
    assert!(p.has_flash(&unsigned));
}

#[test]
fn the_token_is_read_from_among_other_cookies() {
    let p = CookiePolicy::new(false).unwrap();
    assert_eq!(p.read("a=1; strongroom_session=abc; b=2"), Some("abc"));
    assert_eq!(p.read("xstrongroom_session=abc"), None);
    assert_eq!(p.read("strongroom_session="), None);
}

#[test]
fn tokens_are_256_bit_and_only_their_hash_is_kept() {
    let (token, hash) = new_session_token().unwrap();
    assert_eq!(URL_SAFE_NO_PAD.decode(token.as_bytes()).unwrap().len(), 32);
    assert_eq!(hash, token_hash(&token));
    assert_ne!(hash, token.as_bytes());
}

#[tokio::test]
async fn a_hash_verifies_its_password_only_and_reports_a_cheaper_hash() {
    let h = Hasher::new(MIN_M_KIB, MIN_T, MIN_P, 1, 4).unwrap();
    let pw = || Password::parse_new("correct horse battery staple".into()).unwrap();
    let stored = h.hash(pw()).await.unwrap();
    assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
    assert_eq!(h.verify(pw(), Some(stored.clone())).await.unwrap(), Verified::Yes { rehash: false });
    let wrong = Password::parse_attempt("wrong".into()).unwrap();
    assert_eq!(h.verify(wrong, Some(stored.clone())).await.unwrap(), Verified::No);
    assert_eq!(h.verify(pw(), None).await.unwrap(), Verified::No);
    let costlier = Hasher::new(MIN_M_KIB, MIN_T + 1, MIN_P, 1, 4).unwrap();
    assert_eq!(costlier.verify(pw(), Some(stored)).await.unwrap(), Verified::Yes { rehash: true });
}

#[tokio::test]
async fn sign_ins_beyond_the_queue_are_refused_as_busy() {
    let h = Hasher::new(MIN_M_KIB, MIN_T, MIN_P, 1, 1).unwrap();
    let pw = || Password::parse_new("correct horse battery staple".into()).unwrap();
    // All three are offered before the first hash (tens of ms) can finish.
    let (a, b, c) = tokio::join!(h.hash(pw()), h.hash(pw()), h.hash(pw()));
    let busy = [&a, &b, &c].iter().filter(|r| matches!(r, Err(AuthError::Busy))).count();
    assert!(a.is_ok(), "the first one runs");
    assert!(busy >= 1, "one waiting place for two more");
    assert!(h.hash(pw()).await.is_ok(), "free again afterwards");
}

#[test]
fn parameters_below_the_floor_are_refused() {
    assert!(matches!(Hasher::new(MIN_M_KIB - 1, MIN_T, MIN_P, 1, 1), Err(AuthError::WeakParams)));
    assert!(matches!(Hasher::new(MIN_M_KIB, 1, MIN_P, 1, 1), Err(AuthError::WeakParams)));
}

#[test]
fn an_attempt_that_started_earlier_is_not_refused_while_free_attempts_remain() {
    // Each sign-in takes its `now` before it reads the account: under load they
    // reach the throttle out of order. The five free attempts stay five.
    let t = Throttle::new(5, Duration::from_secs(30), Duration::from_secs(3600));
    let t0 = crate::ssr::clock::instant();
    let late = t0 + Duration::from_millis(5);
    assert!(t.attempt("victim", late));
    for _ in 0..4 {
        assert!(t.attempt("victim", t0), "an earlier start is no reason to wait");
    }
    assert!(!t.attempt("victim", t0), "the sixth waits");
    assert!(!t.attempt("victim", late + Duration::from_secs(29)), "30 s after the latest counted");
    assert!(t.attempt("victim", late + Duration::from_secs(30)));
}

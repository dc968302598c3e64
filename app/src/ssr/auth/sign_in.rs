//! The sign-in policy: which throttle an attempt counts against, in what order,
//! and what the attempt comes to. No HTTP and no database: the door
//! (`api::session::login`) finds the account and the client, and records the
//! outcome.
//!
//! The order is the point. An attempt is counted *before* its password is
//! checked (so attempts sent at once cannot all be checked), a locked attempt
//! never queues for a hash (others are waiting for those) yet takes as long as
//! a check, and a browser that signed in to the account before counts against
//! its own allowance only: others' failures (same name, same address) cannot
//! lock it out.

use super::{devices::DeviceCookies, AuthError, Counter, Hasher, Throttle, Verified};
use crate::domain::Password;
use std::time::Instant;

/// The throttles and the hasher a sign-in goes through (see `state::Auth`).
pub struct SignIns<'a> {
    pub hasher: &'a Hasher,
    /// Shared by every node (several nodes on PostgreSQL): five wrong
    /// passwords lock an account wherever they were typed.
    pub accounts: &'a Counter,
    /// Per node: each node sees its clients' addresses.
    pub addresses: &'a Throttle,
    pub devices: &'a DeviceCookies,
    pub device_attempts: &'a Counter,
}

/// One attempt, as the door saw it.
pub struct Attempt<'a> {
    /// The name typed, trimmed and lowercased: what the account throttle counts.
    pub account: &'a str,
    /// The client address, keyed (`address_key`).
    pub address: &'a str,
    /// The device cookie the browser sent, if any.
    pub device_cookie: Option<&'a str>,
    pub now: Instant,
}

/// The stored account the name belongs to, if any.
pub struct Stored {
    pub password_hash: String,
    pub disabled: bool,
}

/// What a sign-in attempt comes to.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The password is right: start a session. `rehash` when the stored hash is
    /// cheaper than today's settings; `new_device`, a device cookie to set.
    Admitted { rehash: bool, new_device: Option<String> },
    /// Too many failures from this account, address or device: not checked.
    Locked,
    /// The account is disabled (the password was not checked against it).
    Disabled,
    /// A wrong password, or no such account.
    Wrong,
    /// Too many sign-ins are waiting for a hash: not checked.
    Busy,
    /// The shared failure counts could not be reached: not checked.
    Unavailable,
}

impl SignIns<'_> {
    /// Decides `attempt` with `password` against `stored`. Every outcome but
    /// `Busy`, `Locked` and `Unavailable` costs one password check, whether or not the
    /// account exists.
    pub async fn attempt(
        &self,
        attempt: Attempt<'_>,
        stored: Option<Stored>,
        password: Password,
    ) -> Result<Outcome, AuthError> {
        let device = attempt
            .device_cookie
            .and_then(|value| self.devices.check(attempt.account, value))
            .map(|id| format!("device {id}"));
        let counted = match &device {
            Some(device) => self.device_attempts.attempt(device, attempt.now).await,
            None if !self.addresses.attempt(attempt.address, attempt.now) => Ok(false),
            None => self.accounts.attempt(attempt.account, attempt.now).await,
        };
        let Ok(admitted) = counted else {
            // Not the client's failure: the address's count taken above is given back.
            if device.is_none() {
                self.addresses.forgive(attempt.address);
            }
            return Ok(Outcome::Unavailable);
        };
        if !admitted {
            self.hasher.pause().await;
            return Ok(Outcome::Locked);
        }
        let disabled = stored.as_ref().is_some_and(|s| s.disabled);
        let hash = stored.filter(|s| !s.disabled).map(|s| s.password_hash);
        let known = hash.is_some();
        let verdict = match self.hasher.verify(password, hash).await {
            Ok(verdict) => verdict,
            Err(AuthError::Busy) => return Ok(Outcome::Busy),
            Err(other) => return Err(other),
        };
        match verdict {
            Verified::Yes { rehash } if known => {
                match &device {
                    Some(device) => self.device_attempts.succeed(device).await,
                    None => {
                        self.addresses.forgive(attempt.address);
                        self.accounts.succeed(attempt.account).await;
                    }
                }
                let new_device = if device.is_none() { self.devices.issue(attempt.account) } else { None };
                Ok(Outcome::Admitted { rehash, new_device })
            }
            _ if disabled => Ok(Outcome::Disabled),
            _ => Ok(Outcome::Wrong),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::crypto::BaseKey;
    use std::time::Duration;

    struct Parts {
        hasher: Hasher,
        accounts: Counter,
        addresses: Throttle,
        devices: DeviceCookies,
        device_attempts: Counter,
    }

    fn parts() -> Parts {
        let (base, max) = (Duration::from_secs(30), Duration::from_secs(3600));
        Parts {
            hasher: Hasher::new(super::super::MIN_M_KIB, super::super::MIN_T, 1, 2, 8).unwrap(),
            accounts: Counter::Local(Throttle::new(5, base, max)),
            addresses: Throttle::new(20, base, Duration::from_secs(60)),
            devices: DeviceCookies::new(&BaseKey::generate().unwrap()),
            device_attempts: Counter::Local(Throttle::new(5, base, max)),
        }
    }

    impl Parts {
        fn sign_ins(&self) -> SignIns<'_> {
            SignIns {
                hasher: &self.hasher,
                accounts: &self.accounts,
                addresses: &self.addresses,
                devices: &self.devices,
                device_attempts: &self.device_attempts,
            }
        }
    }

    async fn stored(p: &Parts, password: &str) -> Stored {
        let hash = p.hasher.hash(Password::parse_attempt(password.to_owned()).unwrap()).await.unwrap();
        Stored { password_hash: hash, disabled: false }
    }

    fn pw(text: &str) -> Password {
        Password::parse_attempt(text.to_owned()).unwrap()
    }

    fn from<'a>(address: &'a str, device_cookie: Option<&'a str>, now: Instant) -> Attempt<'a> {
        Attempt { account: "alice", address, device_cookie, now }
    }

    #[tokio::test]
    async fn five_failures_lock_the_account_before_any_check_and_a_known_browser_still_gets_in() {
        let p = parts();
        let now = crate::ssr::clock::instant();
        let right = "correct horse battery";
        // A first success from this browser: it gets a device cookie.
        let Outcome::Admitted { new_device: Some(cookie), .. } =
            p.sign_ins().attempt(from("10.0.0.1", None, now), Some(stored(&p, right).await), pw(right)).await.unwrap()
        else {
            panic!("the right password is admitted and a device cookie issued")
        };
        // Someone else, elsewhere, fails five times: the sixth is locked even with the right password.
        for _ in 0..5 {
            let outcome =
                p.sign_ins().attempt(from("10.9.9.9", None, now), Some(stored(&p, right).await), pw("nope nope")).await;
            assert_eq!(outcome.unwrap(), Outcome::Wrong);
        }
        let locked = p.sign_ins().attempt(from("10.9.9.9", None, now), Some(stored(&p, right).await), pw(right)).await;
        assert_eq!(locked.unwrap(), Outcome::Locked, "counted before the check: the right password does not help");
        // The browser that signed in before counts against its own allowance only.
        let known =
            p.sign_ins().attempt(from("10.0.0.1", Some(&cookie), now), Some(stored(&p, right).await), pw(right)).await;
        assert!(
            matches!(known.unwrap(), Outcome::Admitted { new_device: None, .. }),
            "no new cookie for a known browser"
        );
        // Once the wait is over, the account may try again.
        let later = now + Duration::from_secs(31);
        let again = p.sign_ins().attempt(from("10.9.9.9", None, later), Some(stored(&p, right).await), pw(right)).await;
        assert!(matches!(again.unwrap(), Outcome::Admitted { .. }));
    }

    #[tokio::test]
    async fn a_disabled_account_and_an_unknown_name_are_refused_after_the_same_work() {
        let p = parts();
        let now = crate::ssr::clock::instant();
        let mut disabled = stored(&p, "correct horse battery").await;
        disabled.disabled = true;
        let outcome =
            p.sign_ins().attempt(from("10.0.0.2", None, now), Some(disabled), pw("correct horse battery")).await;
        assert_eq!(outcome.unwrap(), Outcome::Disabled, "even with the right password");
        let unknown = p.sign_ins().attempt(from("10.0.0.2", None, now), None, pw("anything at all")).await;
        assert_eq!(unknown.unwrap(), Outcome::Wrong);
    }

    #[tokio::test]
    async fn an_address_is_slowed_after_twenty_failures_across_accounts() {
        let p = parts();
        let now = crate::ssr::clock::instant();
        for i in 0..20 {
            let account = format!("user{i}");
            let attempt = Attempt { account: &account, address: "192.0.2.7", device_cookie: None, now };
            assert_eq!(p.sign_ins().attempt(attempt, None, pw("guess guess")).await.unwrap(), Outcome::Wrong);
        }
        let attempt = Attempt { account: "fresh", address: "192.0.2.7", device_cookie: None, now };
        assert_eq!(p.sign_ins().attempt(attempt, None, pw("guess guess")).await.unwrap(), Outcome::Locked);
    }
}

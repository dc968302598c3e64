//! `Timestamp`: seconds since the Unix epoch, always shown in UTC.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

impl Timestamp {
    #[cfg(feature = "ssr")]
    pub fn now() -> Self {
        let secs =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        Self(secs)
    }
}

/// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl fmt::Display for Timestamp {
    /// `2026-11-22 14:05:09 UTC`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (days, secs) = (self.0.div_euclid(86_400), self.0.rem_euclid(86_400));
        let (y, m, d) = civil_from_days(days);
        write!(f, "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", secs / 3600, secs / 60 % 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::Timestamp;

    #[test]
    fn the_epoch_is_1970_01_01() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01 00:00:00 UTC");
    }

    #[test]
    fn a_leap_day_and_a_known_instant_format_correctly() {
        assert_eq!(Timestamp(951_782_400).to_string(), "2000-02-29 00:00:00 UTC");
        assert_eq!(Timestamp(1_795_359_909).to_string(), "2026-11-22 15:05:09 UTC");
    }

    #[test]
    fn instants_before_the_epoch_format_correctly() {
        assert_eq!(Timestamp(-1).to_string(), "1969-12-31 23:59:59 UTC");
    }
}

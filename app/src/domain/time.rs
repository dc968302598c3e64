//! `Timestamp`: seconds since the Unix epoch, always shown in UTC.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Parses a UTC date as typed in a filter: `YYYY-MM-DD`, or with a time,
    /// `YYYY-MM-DDTHH:MM[:SS]` (what `<input type="datetime-local">` sends).
    pub fn parse_utc(text: &str) -> Result<Self, TimeError> {
        let text = text.trim().trim_end_matches('Z');
        let (date, time) = text.split_once(['T', ' ']).unwrap_or((text, "00:00"));
        let num = |s: &str, len: usize| {
            (s.len() == len && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse::<i64>().ok()).flatten()
        };
        let d: Vec<&str> = date.split('-').collect();
        let t: Vec<&str> = time.split(':').collect();
        let ([y, mo, da], [h, mi, rest @ ..]) = (d.as_slice(), t.as_slice()) else { return Err(TimeError) };
        let sec = match rest {
            [] => Some(0),
            [s] => num(s, 2),
            _ => None,
        };
        let (Some(y), Some(mo), Some(da), Some(h), Some(mi), Some(sec)) =
            (num(y, 4), num(mo, 2), num(da, 2), num(h, 2), num(mi, 2), sec)
        else {
            return Err(TimeError);
        };
        let days = days_from_civil(y, mo, da);
        if h > 23 || mi > 59 || sec > 59 || civil_from_days(days) != (y, mo as u32, da as u32) {
            return Err(TimeError);
        }
        Ok(Self(days * 86_400 + h * 3600 + mi * 60 + sec))
    }

    /// `2026-11-22` (UTC).
    pub fn date(&self) -> String {
        let (y, m, d) = civil_from_days(self.0.div_euclid(86_400));
        format!("{y:04}-{m:02}-{d:02}")
    }

    /// `2026-11-22 14:05` (UTC): one line in a table.
    pub fn minute(&self) -> String {
        let secs = self.0.rem_euclid(86_400);
        format!("{} {:02}:{:02}", self.date(), secs / 3600, secs / 60 % 60)
    }

    /// How long before or after `now`, roughly: `3 min ago`, `in 5 days`, `just now`.
    pub fn relative_to(&self, now: Timestamp) -> String {
        let delta = now.0 - self.0;
        let n = delta.unsigned_abs();
        let amount = match n {
            0..=59 => return "just now".into(),
            60..=3599 => format!("{} min", n / 60),
            3600..=86_399 => plural(n / 3600, "hour"),
            86_400..=5_183_999 => plural(n / 86_400, "day"),
            5_184_000..=63_071_999 => plural(n / 2_592_000, "month"),
            _ => plural(n / 31_536_000, "year"),
        };
        if delta > 0 {
            format!("{amount} ago")
        } else {
            format!("in {amount}")
        }
    }

    /// `2026-11-22T14:05:09Z` (RFC 3339), for exports.
    pub fn rfc3339(&self) -> String {
        let (days, secs) = (self.0.div_euclid(86_400), self.0.rem_euclid(86_400));
        let (y, m, d) = civil_from_days(days);
        format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
    }
}

fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Use a date like 2026-11-22 or 2026-11-22T14:05 (UTC).")]
pub struct TimeError;

/// Days since 1970-01-01 from a civil date (inverse of `civil_from_days`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
    use super::*;

    #[test]
    fn times_read_on_one_line_with_a_rough_distance() {
        let t = Timestamp::parse_utc("2026-12-06T03:33:20").unwrap();
        assert_eq!(t.minute(), "2026-12-06 03:33");
        assert_eq!(t.relative_to(Timestamp(t.0 + 30)), "just now");
        assert_eq!(t.relative_to(Timestamp(t.0 + 180)), "3 min ago");
        assert_eq!(t.relative_to(Timestamp(t.0 + 3600)), "1 hour ago");
        assert_eq!(t.relative_to(Timestamp(t.0 - 5 * 86_400)), "in 5 days");
        assert_eq!(t.relative_to(Timestamp(t.0 + 800 * 86_400)), "2 years ago");
    }

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
    fn filter_dates_parse_as_utc_and_nonsense_is_refused() {
        assert_eq!(Timestamp::parse_utc("2026-11-22T15:05:09"), Ok(Timestamp(1_795_359_909)));
        assert_eq!(Timestamp::parse_utc("2026-11-22T15:05"), Ok(Timestamp(1_795_359_900)));
        assert_eq!(Timestamp::parse_utc("2000-02-29"), Ok(Timestamp(951_782_400)));
        assert_eq!(Timestamp(1_795_359_909).rfc3339(), "2026-11-22T15:05:09Z");
        for bad in ["", "2026-02-30", "2026-1-2", "2026-11-22T24:00", "yesterday", "2026-11-22T10:00:00:00"] {
            assert!(Timestamp::parse_utc(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn instants_before_the_epoch_format_correctly() {
        assert_eq!(Timestamp(-1).to_string(), "1969-12-31 23:59:59 UTC");
    }
}

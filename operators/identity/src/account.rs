//! Account attributes in Active Directory's own encodings: `userAccountControl` bits,
//! `accountExpires` and the domain's functional level.

use k8s_openapi::jiff::{Timestamp, civil::Date, tz::TimeZone};

/// `userAccountControl`: the account is disabled.
pub const ACCOUNT_DISABLE: u32 = 0x2;
/// `userAccountControl`: a normal account.
pub const NORMAL_ACCOUNT: u32 = 0x200;
/// `userAccountControl`: the password never expires (service accounts).
pub const DONT_EXPIRE_PASSWORD: u32 = 0x1_0000;

/// `accountExpires` for "never".
pub const NEVER: &str = "9223372036854775807";

/// 100-nanosecond intervals between 1601-01-01 and 1970-01-01.
const EPOCH_DIFFERENCE: i64 = 116_444_736_000_000_000;

/// The `userAccountControl` value with the disabled bit as `enabled` says and every other
/// bit of `current` kept.
pub fn with_enabled(current: u32, enabled: bool) -> u32 {
    if enabled { current & !ACCOUNT_DISABLE } else { current | ACCOUNT_DISABLE }
}

/// Whether the account `userAccountControl` describes can sign in.
pub fn is_enabled(uac: u32) -> bool {
    uac & ACCOUNT_DISABLE == 0
}

/// `accountExpires` for the start (UTC) of `date` (`YYYY-MM-DD`), or [`NEVER`] for none.
/// `None` when the date cannot be read.
pub fn account_expires(date: Option<&str>) -> Option<String> {
    let Some(date) = date else { return Some(NEVER.to_string()) };
    let date: Date = date.parse().ok()?;
    let ts = date.to_zoned(TimeZone::UTC).ok()?.timestamp();
    Some((ts.as_second() * 10_000_000 + EPOCH_DIFFERENCE).to_string())
}

/// Whether two `accountExpires` values mean the same thing: 0 and the maximum both mean
/// "never".
pub fn same_expiry(a: &str, b: &str) -> bool {
    let never = |v: &str| v == "0" || v == NEVER;
    (never(a) && never(b)) || a == b
}

/// A timestamp from a Windows file time (100 ns since 1601), as `pwdLastSet` holds.
pub fn from_file_time(value: i64) -> Option<Timestamp> {
    Timestamp::from_second((value - EPOCH_DIFFERENCE) / 10_000_000).ok()
}

/// The name of a domain functional level (`domainFunctionality` in the root DSE).
pub fn functional_level(level: u32) -> String {
    match level {
        0 => "2000".into(),
        1 => "2003 interim".into(),
        2 => "2003".into(),
        3 => "2008".into(),
        4 => "2008 R2".into(),
        5 => "2012".into(),
        6 => "2012 R2".into(),
        7 => "2016".into(),
        other => format!("level {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_disabled_bit_is_the_only_one_changed() {
        assert_eq!(with_enabled(512, false), 514);
        assert_eq!(with_enabled(514, true), 512);
        assert_eq!(with_enabled(66050, true), 66048);
        assert!(is_enabled(512) && !is_enabled(546));
    }

    #[test]
    fn expiry_dates_are_file_times() {
        assert_eq!(account_expires(None).as_deref(), Some(NEVER));
        // 2027-01-01T00:00:00Z is 1798761600 s after 1970.
        assert_eq!(account_expires(Some("2027-01-01")).as_deref(), Some("134432352000000000"));
        let value: i64 = account_expires(Some("2027-01-01")).unwrap().parse().unwrap();
        assert_eq!(from_file_time(value).unwrap().to_string(), "2027-01-01T00:00:00Z");
        assert_eq!(account_expires(Some("2027-02-30")), None);
        assert!(same_expiry("0", NEVER) && !same_expiry("0", "133"));
    }

    #[test]
    fn levels_read_as_people_say_them() {
        assert_eq!(functional_level(4), "2008 R2");
        assert_eq!(functional_level(9), "level 9");
    }
}

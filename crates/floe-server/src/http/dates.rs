//! Dates as Icecast writes them in status pages, always in UTC. Pure functions of the time given.

use std::time::{SystemTime, UNIX_EPOCH};

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A broken-down UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    weekday: usize,
    hour: u32,
    minute: u32,
    second: u32,
}

fn civil(t: SystemTime) -> Civil {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX / 2),
    };
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        // 1970-01-01 was a Thursday.
        weekday: (days + 4).rem_euclid(7) as usize,
        hour: (rem / 3600) as u32,
        minute: (rem / 60 % 60) as u32,
        second: (rem % 60) as u32,
    }
}

/// `Tue, 24 Nov 2026 14:00:00 +0000` (Icecast's `server_start`, `stream_start`).
pub fn icecast(t: SystemTime) -> String {
    let c = civil(t);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} +0000",
        WEEKDAYS[c.weekday % 7],
        c.day,
        MONTHS[(c.month as usize).saturating_sub(1) % 12],
        c.year,
        c.hour,
        c.minute,
        c.second
    )
}

/// `2026-11-24T14:00:00+0000` (Icecast's `*_iso8601`).
pub fn icecast_iso8601(t: SystemTime) -> String {
    let c = civil(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+0000",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// `2026-11-24T14:00:00Z` (RFC 3339, what the JSON API and browsers' `Date` read).
pub fn rfc3339(t: SystemTime) -> String {
    let c = civil(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn formats_like_icecast() {
        // 2026-11-24 14:00:00 UTC.
        let t = at(1_795_528_800);
        assert_eq!(icecast(t), "Tue, 24 Nov 2026 14:00:00 +0000");
        assert_eq!(icecast_iso8601(t), "2026-11-24T14:00:00+0000");
        assert_eq!(rfc3339(t), "2026-11-24T14:00:00Z");
        assert_eq!(icecast(at(0)), "Thu, 01 Jan 1970 00:00:00 +0000");
        // A leap day.
        assert_eq!(rfc3339(at(951_782_400 + 3661)), "2000-02-29T01:01:01Z");
    }
}

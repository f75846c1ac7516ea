//! Icecast's access-log line: Apache combined format plus the session's duration in seconds.
//!
//! `127.0.0.1 - - [24/Nov/2026:13:24:41 +0000] "GET /sc.mp3 HTTP/1.1" 200 74509 "-" "curl/7.88.1" 2`

use std::fmt::Write as _;

/// One finished request or listener session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRecord<'a> {
    /// Client address as logged (after trusted-proxy resolution).
    pub client: &'a str,
    /// Authenticated user, if any (`-` otherwise).
    pub user: Option<&'a str>,
    /// Unix time (seconds, UTC) the request started.
    pub start_unix: i64,
    /// Request line: method, target, version.
    pub method: &'a str,
    pub target: &'a str,
    pub version: &'a str,
    /// Status code sent.
    pub status: u16,
    /// Bytes sent in the body.
    pub bytes: u64,
    /// `Referer` and `User-Agent`, if any.
    pub referer: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// Session length in whole seconds.
    pub duration_secs: u64,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// (year, month 1..=12, day 1..=31) of a count of days since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let y = if m <= 2 { y + 1 } else { y };
    (y, m as u32, d as u32)
}

/// `24/Nov/2026:13:24:41 +0000` for a Unix time.
pub fn format_time(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let month = MONTHS
        .get(m.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("Jan");
    format!(
        "{d:02}/{month}/{y:04}:{:02}:{:02}:{:02} +0000",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Appends `s` with `"` and `\` escaped, and control bytes as `\xHH` (as Apache does), so a
/// client cannot forge log lines.
fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() && (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// An unquoted field: escaped, spaces as `\x20`, `-` when empty.
fn push_bare(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) if !s.is_empty() => {
            for c in s.chars() {
                if c == ' ' {
                    out.push_str("\\x20");
                } else {
                    push_escaped(out, c.encode_utf8(&mut [0; 4]));
                }
            }
        }
        _ => out.push('-'),
    }
}

fn push_quoted(out: &mut String, s: Option<&str>) {
    out.push('"');
    match s {
        Some(s) if !s.is_empty() => push_escaped(out, s),
        _ => out.push('-'),
    }
    out.push('"');
}

/// Formats a record as one line, without the trailing newline. Quotes and backslashes inside
/// quoted fields are escaped as `\"` and `\\`; the time is written in UTC (`+0000`).
/// Control characters anywhere are written as `\xHH`; an empty referer or user agent is `-`.
pub fn format(record: &AccessRecord<'_>) -> String {
    let mut out = String::with_capacity(128);
    push_bare(&mut out, Some(record.client));
    out.push_str(" - ");
    push_bare(&mut out, record.user);
    out.push_str(" [");
    out.push_str(&format_time(record.start_unix));
    out.push_str("] \"");
    push_escaped(&mut out, record.method);
    out.push(' ');
    push_escaped(&mut out, record.target);
    out.push(' ');
    push_escaped(&mut out, record.version);
    let _ = write!(out, "\" {} {} ", record.status, record.bytes);
    push_quoted(&mut out, record.referer);
    out.push(' ');
    push_quoted(&mut out, record.user_agent);
    let _ = write!(out, " {}", record.duration_secs);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> AccessRecord<'static> {
        AccessRecord {
            client: "127.0.0.1",
            user: None,
            // 2026-11-24T13:24:41Z
            start_unix: 1_795_526_681,
            method: "GET",
            target: "/sc.mp3",
            version: "HTTP/1.1",
            status: 200,
            bytes: 74509,
            referer: None,
            user_agent: Some("curl/7.88.1"),
            duration_secs: 2,
        }
    }

    #[test]
    fn icecast_line() {
        assert_eq!(
            format(&record()),
            "127.0.0.1 - - [24/Nov/2026:13:24:41 +0000] \"GET /sc.mp3 HTTP/1.1\" 200 74509 \"-\" \"curl/7.88.1\" 2"
        );
    }

    #[test]
    fn escaping() {
        let r = AccessRecord {
            user: Some("so urce"),
            target: "/a\"b\\c\n",
            referer: Some("x\"y"),
            user_agent: Some(""),
            ..record()
        };
        assert_eq!(
            format(&r),
            "127.0.0.1 - so\\x20urce [24/Nov/2026:13:24:41 +0000] \"GET /a\\\"b\\\\c\\x0a HTTP/1.1\" 200 74509 \"x\\\"y\" \"-\" 2"
        );
    }

    #[test]
    fn dates() {
        assert_eq!(format_time(0), "01/Jan/1970:00:00:00 +0000");
        assert_eq!(format_time(-1), "31/Dec/1969:23:59:59 +0000");
        assert_eq!(format_time(951_782_400), "29/Feb/2000:00:00:00 +0000");
        assert_eq!(format_time(4_133_980_799), "31/Dec/2100:23:59:59 +0000");
        assert_eq!(format_time(1_709_164_800), "29/Feb/2024:00:00:00 +0000");
        assert_eq!(civil_from_days(-719_468), (0, 3, 1));
        // Every day from 1900 to 2200 is one after the other.
        let mut prev = civil_from_days(-25_567);
        assert_eq!(prev, (1900, 1, 1));
        for days in -25_566..84_000 {
            let cur = civil_from_days(days);
            let next_ok = (cur.0 == prev.0 && cur.1 == prev.1 && cur.2 == prev.2 + 1)
                || (cur.0 == prev.0 && cur.1 == prev.1 + 1 && cur.2 == 1)
                || (cur.0 == prev.0 + 1 && cur.1 == 1 && cur.2 == 1 && prev.1 == 12);
            assert!(next_ok, "{prev:?} -> {cur:?}");
            prev = cur;
        }
        // Extremes do not panic.
        let _ = format_time(i64::MIN / 2);
        let _ = format_time(i64::MAX / 2);
    }
}

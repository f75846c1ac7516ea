//! Icecast's access-log line: Apache combined format plus the session's duration in seconds.
//!
//! `127.0.0.1 - - [24/Nov/2026:13:24:41 +0000] "GET /sc.mp3 HTTP/1.1" 200 74509 "-" "curl/7.88.1" 2`

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

/// Formats a record as one line, without the trailing newline. Quotes and backslashes inside
/// quoted fields are escaped as `\"` and `\\`; the time is written in UTC (`+0000`).
pub fn format(record: &AccessRecord<'_>) -> String {
    let _ = record;
    todo!()
}

//! HTTP range requests and conditional requests (RFC 9110 §13, §14), as pure functions.
//!
//! A response for a representation of known length is decided in two steps:
//! 1. [`Preconditions::evaluate`] applies `If-Match`, `If-Unmodified-Since`, `If-None-Match`,
//!    `If-Modified-Since` in the order of RFC 9110 §13.2.2 and says whether to answer 412, 304,
//!    or go on, and whether `If-Range` lets the `Range` header count.
//! 2. [`parse_range`] reads the `Range` header (an invalid or unknown one is ignored, §14.2) and
//!    [`evaluate`] turns it into the byte ranges to send, or a 416.
//!
//! Helpers write `Content-Range` values, the strong entity tag Floe gives a file
//! ([`file_etag`]), and the part headers of a `multipart/byteranges` body ([`Multipart`]).

use std::fmt::Write as _;

/// The default for [`RangeLimits::max_ranges`].
pub const DEFAULT_MAX_RANGES: usize = 16;

/// Limits against abusive `Range` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeLimits {
    /// A header with more ranges than this is ignored (the whole representation is sent).
    pub max_ranges: usize,
}

impl Default for RangeLimits {
    fn default() -> Self {
        RangeLimits {
            max_ranges: DEFAULT_MAX_RANGES,
        }
    }
}

/// One range as the client wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeSpec {
    /// `first-last` (both inclusive).
    FromTo(u64, u64),
    /// `first-`: from `first` to the end.
    From(u64),
    /// `-n`: the last `n` bytes.
    Suffix(u64),
}

/// A satisfiable range resolved against a length: `start..=end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte offset.
    pub start: u64,
    /// Last byte offset (inclusive).
    pub end: u64,
}

impl ByteRange {
    /// The number of bytes in the range.
    pub fn len(&self) -> u64 {
        self.end - self.start + 1
    }

    /// Never true: a resolved range holds at least one byte (here for clippy's sake).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// `bytes start-end/total`, the `Content-Range` of a 206 or of a multipart part.
    pub fn content_range(&self, total: u64) -> String {
        format!("bytes {}-{}/{}", self.start, self.end, total)
    }
}

/// `bytes */total`, the `Content-Range` of a 416.
pub fn unsatisfied_content_range(total: u64) -> String {
    format!("bytes */{total}")
}

/// Parses a `Range` header value.
///
/// Returns `None` when the header must be ignored (RFC 9110 §14.2): a unit other than `bytes`,
/// a syntax error anywhere, a range whose last position is below its first, or more than
/// `limits.max_ranges` ranges.
pub fn parse_range(value: &str, limits: RangeLimits) -> Option<Vec<RangeSpec>> {
    let value = value.trim_matches(|c| c == ' ' || c == '\t');
    let (unit, set) = value.split_once('=')?;
    if !unit
        .trim_end_matches([' ', '\t'])
        .eq_ignore_ascii_case("bytes")
    {
        return None;
    }
    let mut specs = Vec::new();
    for item in set.split(',') {
        let item = item.trim_matches(|c| c == ' ' || c == '\t');
        if item.is_empty() {
            // `#` lists allow empty elements.
            continue;
        }
        if specs.len() == limits.max_ranges {
            return None;
        }
        let (first, last) = item.split_once('-')?;
        let spec = match (first.is_empty(), last.is_empty()) {
            (true, true) => return None,
            (true, false) => RangeSpec::Suffix(digits(last)?),
            (false, true) => RangeSpec::From(digits(first)?),
            (false, false) => {
                let (a, b) = (digits(first)?, digits(last)?);
                if b < a {
                    return None;
                }
                RangeSpec::FromTo(a, b)
            }
        };
        specs.push(spec);
    }
    if specs.is_empty() {
        return None;
    }
    Some(specs)
}

/// A non-empty run of ASCII digits as a `u64` (a value too big to hold is a syntax error).
fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// What to send for a parsed `Range` against a representation of `total` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeOutcome {
    /// 206 with these ranges: one (a plain 206) or several (`multipart/byteranges`), ascending
    /// and not overlapping.
    Partial(Vec<ByteRange>),
    /// 416 with `Content-Range: bytes */total`.
    NotSatisfiable,
}

/// Resolves ranges against a length.
///
/// Unsatisfiable ranges (starting at or past the end, `-0`) are dropped; if none is left the
/// answer is 416. Ranges that overlap or touch are coalesced and the set is sent in ascending
/// order (RFC 9110 §14.2 allows both), so a client cannot make the server send a byte twice.
pub fn evaluate(specs: &[RangeSpec], total: u64) -> RangeOutcome {
    let mut ranges: Vec<ByteRange> = specs
        .iter()
        .filter_map(|spec| match *spec {
            RangeSpec::FromTo(a, b) if a < total => Some(ByteRange {
                start: a,
                end: b.min(total - 1),
            }),
            RangeSpec::From(a) if a < total => Some(ByteRange {
                start: a,
                end: total - 1,
            }),
            RangeSpec::Suffix(n) if n > 0 && total > 0 => Some(ByteRange {
                start: total.saturating_sub(n),
                end: total - 1,
            }),
            _ => None,
        })
        .collect();
    if ranges.is_empty() {
        return RangeOutcome::NotSatisfiable;
    }
    ranges.sort_by_key(|r| r.start);
    let mut merged: Vec<ByteRange> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start <= last.end.saturating_add(1) => {
                last.end = last.end.max(r.end);
            }
            _ => merged.push(r),
        }
    }
    RangeOutcome::Partial(merged)
}

/// The strong entity tag Floe gives a file: size, modification time (nanoseconds since the
/// epoch) and, where known, the inode, in hexadecimal, quoted.
pub fn file_etag(size: u64, mtime_nanos: u128, inode: Option<u64>) -> String {
    match inode {
        Some(ino) => format!("\"{ino:x}-{size:x}-{mtime_nanos:x}\""),
        None => format!("\"{size:x}-{mtime_nanos:x}\""),
    }
}

/// An entity tag in a request header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct EntityTag<'a> {
    weak: bool,
    /// The quoted opaque tag, quotes included.
    opaque: &'a str,
}

fn parse_etag(s: &str) -> Option<EntityTag<'_>> {
    let (weak, rest) = match s.strip_prefix("W/") {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let valid = rest.len() >= 2
        && rest.starts_with('"')
        && rest.ends_with('"')
        && !rest[1..rest.len() - 1].contains('"');
    valid.then_some(EntityTag { weak, opaque: rest })
}

/// How two entity tags are compared (RFC 9110 §8.8.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    Strong,
    Weak,
}

/// Whether a list header (`If-Match`, `If-None-Match`) matches the current tag. `*` matches
/// any current representation; a malformed member never matches.
fn list_matches(header: &str, current: &str, how: Comparison) -> bool {
    let header = header.trim();
    if header == "*" {
        return true;
    }
    let Some(current) = parse_etag(current) else {
        return false;
    };
    header
        .split(',')
        .filter_map(|m| parse_etag(m.trim()))
        .any(|tag| match how {
            Comparison::Strong => !tag.weak && !current.weak && tag.opaque == current.opaque,
            Comparison::Weak => tag.opaque == current.opaque,
        })
}

/// An HTTP date (IMF-fixdate, RFC 850 or asctime) as seconds since the epoch.
pub fn parse_http_date(s: &str) -> Option<u64> {
    let t = httpdate::parse_http_date(s.trim()).ok()?;
    t.duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs())
}

/// Seconds since the epoch as an IMF-fixdate (`Last-Modified`).
pub fn format_http_date(unix_secs: u64) -> String {
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix_secs))
}

/// The conditional headers of a request, as received (absent ones `None`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Preconditions<'a> {
    /// `If-Match`.
    pub if_match: Option<&'a str>,
    /// `If-None-Match`.
    pub if_none_match: Option<&'a str>,
    /// `If-Modified-Since`.
    pub if_modified_since: Option<&'a str>,
    /// `If-Unmodified-Since`.
    pub if_unmodified_since: Option<&'a str>,
    /// `If-Range`.
    pub if_range: Option<&'a str>,
}

/// The validators of the current representation.
#[derive(Debug, Clone, Copy)]
pub struct Validators<'a> {
    /// Its strong entity tag, quoted.
    pub etag: &'a str,
    /// Its modification time, seconds since the epoch.
    pub last_modified: u64,
}

/// What the preconditions decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// 412 Precondition Failed.
    PreconditionFailed,
    /// 304 Not Modified (GET and HEAD only).
    NotModified,
    /// Go on; `use_range` says whether a `Range` header is to be honoured (false when `If-Range`
    /// does not match, which means: send the whole representation).
    Proceed {
        /// Honour `Range`.
        use_range: bool,
    },
}

impl Preconditions<'_> {
    /// Evaluates the preconditions for a GET or HEAD in the order of RFC 9110 §13.2.2.
    ///
    /// `If-Range` only counts with a `Range` header, which the caller knows about: `use_range`
    /// is true when there is no `If-Range`, or it holds a strong tag equal to the current one,
    /// or a date exactly equal to the modification time.
    pub fn evaluate(&self, current: Validators<'_>) -> Decision {
        if let Some(h) = self.if_match {
            if !list_matches(h, current.etag, Comparison::Strong) {
                return Decision::PreconditionFailed;
            }
        } else if let Some(date) = self.if_unmodified_since.and_then(parse_http_date) {
            if current.last_modified > date {
                return Decision::PreconditionFailed;
            }
        }
        if let Some(h) = self.if_none_match {
            if list_matches(h, current.etag, Comparison::Weak) {
                return Decision::NotModified;
            }
        } else if let Some(date) = self.if_modified_since.and_then(parse_http_date) {
            if current.last_modified <= date {
                return Decision::NotModified;
            }
        }
        let use_range = match self.if_range.map(str::trim) {
            None => true,
            Some(v) if v.starts_with('"') || v.starts_with("W/") => match parse_etag(v) {
                Some(tag) => !tag.weak && tag.opaque == current.etag,
                None => false,
            },
            Some(v) => parse_http_date(v) == Some(current.last_modified),
        };
        Decision::Proceed { use_range }
    }
}

/// The framing of a `multipart/byteranges` body (RFC 9110 §14.6).
#[derive(Debug, Clone)]
pub struct Multipart {
    boundary: String,
    content_type: String,
    total: u64,
}

impl Multipart {
    /// A body for parts of a representation of `total` bytes of `content_type`. The boundary is
    /// made from `seed` (e.g. a hash of the entity tag); it is 24 characters that cannot occur in
    /// a part header.
    pub fn new(seed: u64, content_type: &str, total: u64) -> Multipart {
        Multipart {
            boundary: format!("floe-{seed:016x}-br"),
            content_type: content_type.to_string(),
            total,
        }
    }

    /// The boundary string.
    pub fn boundary(&self) -> &str {
        &self.boundary
    }

    /// The response's `Content-Type`: `multipart/byteranges; boundary=…`.
    pub fn content_type(&self) -> String {
        format!("multipart/byteranges; boundary={}", self.boundary)
    }

    /// What goes before part `index`'s bytes: the delimiter (preceded by CRLF except for the
    /// first part) and the part's `Content-Type` and `Content-Range` headers.
    pub fn part_head(&self, index: usize, range: ByteRange) -> String {
        let mut s = String::with_capacity(96 + self.content_type.len());
        if index > 0 {
            s.push_str("\r\n");
        }
        let _ = write!(
            s,
            "--{}\r\nContent-Type: {}\r\nContent-Range: {}\r\n\r\n",
            self.boundary,
            self.content_type,
            range.content_range(self.total)
        );
        s
    }

    /// The closing delimiter after the last part.
    pub fn tail(&self) -> String {
        format!("\r\n--{}--\r\n", self.boundary)
    }

    /// The exact length of the whole body for these ranges (its `Content-Length`).
    pub fn body_len(&self, ranges: &[ByteRange]) -> u64 {
        let heads: u64 = ranges
            .iter()
            .enumerate()
            .map(|(i, r)| self.part_head(i, *r).len() as u64 + r.len())
            .sum();
        heads + self.tail().len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Option<Vec<RangeSpec>> {
        parse_range(s, RangeLimits::default())
    }

    fn r(start: u64, end: u64) -> ByteRange {
        ByteRange { start, end }
    }

    #[test]
    fn parses_every_form() {
        use RangeSpec::*;
        assert_eq!(parse("bytes=0-499"), Some(vec![FromTo(0, 499)]));
        assert_eq!(parse("bytes=500-"), Some(vec![From(500)]));
        assert_eq!(parse("bytes=-500"), Some(vec![Suffix(500)]));
        assert_eq!(
            parse("bytes=0-0, -1 ,\t5-9,"),
            Some(vec![FromTo(0, 0), Suffix(1), FromTo(5, 9)])
        );
        assert_eq!(parse("Bytes = 1-2"), Some(vec![FromTo(1, 2)]));
        assert_eq!(parse(" bytes=0-"), Some(vec![From(0)]));
    }

    #[test]
    fn invalid_headers_are_ignored() {
        for bad in [
            "",
            "bytes",
            "bytes=",
            "bytes=,",
            "bytes=-",
            "bytes=5-1",
            "bytes=a-b",
            "bytes=1-2-3",
            "bytes=+1-2",
            "bytes=0-1,x",
            "items=0-1",
            "bytes=99999999999999999999999-",
            "bytes= 1 - 2",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn too_many_ranges_are_ignored() {
        let limits = RangeLimits { max_ranges: 3 };
        assert!(parse_range("bytes=0-0,2-2,4-4", limits).is_some());
        assert_eq!(parse_range("bytes=0-0,2-2,4-4,6-6", limits), None);
    }

    #[test]
    fn evaluates_against_a_length() {
        use RangeSpec::*;
        assert_eq!(
            evaluate(&[FromTo(0, 499)], 1000),
            RangeOutcome::Partial(vec![r(0, 499)])
        );
        assert_eq!(
            evaluate(&[FromTo(900, 5000)], 1000),
            RangeOutcome::Partial(vec![r(900, 999)])
        );
        assert_eq!(
            evaluate(&[From(0)], 1000),
            RangeOutcome::Partial(vec![r(0, 999)])
        );
        assert_eq!(
            evaluate(&[Suffix(10)], 1000),
            RangeOutcome::Partial(vec![r(990, 999)])
        );
        assert_eq!(
            evaluate(&[Suffix(5000)], 1000),
            RangeOutcome::Partial(vec![r(0, 999)])
        );
        assert_eq!(evaluate(&[From(1000)], 1000), RangeOutcome::NotSatisfiable);
        assert_eq!(evaluate(&[Suffix(0)], 1000), RangeOutcome::NotSatisfiable);
        assert_eq!(evaluate(&[Suffix(1)], 0), RangeOutcome::NotSatisfiable);
        assert_eq!(evaluate(&[From(0)], 0), RangeOutcome::NotSatisfiable);
        // Unsatisfiable members are dropped, the rest is served.
        assert_eq!(
            evaluate(&[From(2000), FromTo(1, 1)], 1000),
            RangeOutcome::Partial(vec![r(1, 1)])
        );
    }

    #[test]
    fn overlapping_and_adjacent_ranges_are_coalesced_in_order() {
        use RangeSpec::*;
        assert_eq!(
            evaluate(&[FromTo(500, 600), FromTo(0, 10), FromTo(5, 20)], 1000),
            RangeOutcome::Partial(vec![r(0, 20), r(500, 600)])
        );
        assert_eq!(
            evaluate(&[FromTo(0, 9), FromTo(10, 19), Suffix(1)], 100),
            RangeOutcome::Partial(vec![r(0, 19), r(99, 99)])
        );
        // The abusive "same bytes many times" set becomes one range.
        let many = vec![From(0); 16];
        assert_eq!(evaluate(&many, 100), RangeOutcome::Partial(vec![r(0, 99)]));
    }

    #[test]
    fn content_range_values() {
        assert_eq!(r(0, 499).content_range(1234), "bytes 0-499/1234");
        assert_eq!(unsatisfied_content_range(1234), "bytes */1234");
        assert_eq!(r(3, 3).len(), 1);
    }

    #[test]
    fn etags_are_strong_and_quoted() {
        assert_eq!(file_etag(255, 16, Some(1)), "\"1-ff-10\"");
        assert_eq!(file_etag(255, 16, None), "\"ff-10\"");
    }

    const TAG: &str = "\"abc\"";
    const MTIME: u64 = 784_111_777; // Sun, 06 Nov 1994 08:49:37 GMT
    const AT: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
    const BEFORE: &str = "Sun, 06 Nov 1994 08:49:36 GMT";
    const AFTER: &str = "Sun, 06 Nov 1994 08:49:38 GMT";

    fn decide(p: Preconditions<'_>) -> Decision {
        p.evaluate(Validators {
            etag: TAG,
            last_modified: MTIME,
        })
    }

    const GO: Decision = Decision::Proceed { use_range: true };
    const WHOLE: Decision = Decision::Proceed { use_range: false };

    #[test]
    fn dates_round_trip() {
        assert_eq!(parse_http_date(AT), Some(MTIME));
        assert_eq!(format_http_date(MTIME), AT);
        assert_eq!(
            parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"),
            Some(MTIME)
        );
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), Some(MTIME));
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn if_match_and_if_unmodified_since() {
        let p = |m, u| Preconditions {
            if_match: m,
            if_unmodified_since: u,
            ..Default::default()
        };
        assert_eq!(decide(p(Some(TAG), None)), GO);
        assert_eq!(decide(p(Some("*"), None)), GO);
        assert_eq!(decide(p(Some("\"x\", \"abc\""), None)), GO);
        assert_eq!(
            decide(p(Some("W/\"abc\""), None)),
            Decision::PreconditionFailed
        );
        assert_eq!(decide(p(Some("\"x\""), None)), Decision::PreconditionFailed);
        assert_eq!(decide(p(None, Some(AT))), GO);
        assert_eq!(decide(p(None, Some(BEFORE))), Decision::PreconditionFailed);
        // If-Match present: If-Unmodified-Since is not evaluated.
        assert_eq!(decide(p(Some(TAG), Some(BEFORE))), GO);
        // An invalid date is ignored.
        assert_eq!(decide(p(None, Some("soon"))), GO);
    }

    #[test]
    fn if_none_match_and_if_modified_since() {
        let p = |n, m| Preconditions {
            if_none_match: n,
            if_modified_since: m,
            ..Default::default()
        };
        assert_eq!(decide(p(Some(TAG), None)), Decision::NotModified);
        assert_eq!(decide(p(Some("W/\"abc\""), None)), Decision::NotModified);
        assert_eq!(decide(p(Some("*"), None)), Decision::NotModified);
        assert_eq!(decide(p(Some("\"other\""), None)), GO);
        assert_eq!(decide(p(None, Some(AT))), Decision::NotModified);
        assert_eq!(decide(p(None, Some(AFTER))), Decision::NotModified);
        assert_eq!(decide(p(None, Some(BEFORE))), GO);
        // If-None-Match present: If-Modified-Since is not evaluated.
        assert_eq!(decide(p(Some("\"other\""), Some(AFTER))), GO);
    }

    #[test]
    fn failed_if_match_wins_over_if_none_match() {
        let p = Preconditions {
            if_match: Some("\"x\""),
            if_none_match: Some(TAG),
            ..Default::default()
        };
        assert_eq!(decide(p), Decision::PreconditionFailed);
    }

    #[test]
    fn if_range_with_tag_or_date() {
        let p = |v| Preconditions {
            if_range: Some(v),
            ..Default::default()
        };
        assert_eq!(decide(p(TAG)), GO);
        assert_eq!(decide(p("\"other\"")), WHOLE);
        assert_eq!(decide(p("W/\"abc\"")), WHOLE);
        assert_eq!(decide(p(AT)), GO);
        assert_eq!(decide(p(AFTER)), WHOLE);
        assert_eq!(decide(p("garbage")), WHOLE);
    }

    #[test]
    fn multipart_framing_is_byte_exact() {
        let m = Multipart::new(0xabc, "audio/mpeg", 1000);
        assert_eq!(m.boundary(), "floe-0000000000000abc-br");
        assert_eq!(
            m.content_type(),
            "multipart/byteranges; boundary=floe-0000000000000abc-br"
        );
        assert_eq!(
            m.part_head(0, r(0, 9)),
            "--floe-0000000000000abc-br\r\nContent-Type: audio/mpeg\r\nContent-Range: bytes 0-9/1000\r\n\r\n"
        );
        assert_eq!(
            m.part_head(1, r(990, 999)),
            "\r\n--floe-0000000000000abc-br\r\nContent-Type: audio/mpeg\r\nContent-Range: bytes 990-999/1000\r\n\r\n"
        );
        assert_eq!(m.tail(), "\r\n--floe-0000000000000abc-br--\r\n");
        let ranges = [r(0, 9), r(990, 999)];
        let body_len = m.part_head(0, ranges[0]).len()
            + 10
            + m.part_head(1, ranges[1]).len()
            + 10
            + m.tail().len();
        assert_eq!(m.body_len(&ranges), body_len as u64);
    }

    #[test]
    fn random_headers_never_panic() {
        let mut x: u64 = 0x1234_5678;
        let alphabet = b"bytes=0123456789-, \t*W/\"";
        for _ in 0..5000 {
            let len = (x % 40) as usize;
            let s: String = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    alphabet[(x % alphabet.len() as u64) as usize] as char
                })
                .collect();
            if let Some(specs) = parse_range(&s, RangeLimits::default()) {
                for total in [0, 1, 100] {
                    if let RangeOutcome::Partial(ranges) = evaluate(&specs, total) {
                        assert!(ranges.iter().all(|r| r.start <= r.end && r.end < total));
                    }
                }
            }
            let p = Preconditions {
                if_match: Some(&s),
                if_none_match: Some(&s),
                if_range: Some(&s),
                ..Default::default()
            };
            let _ = decide(p);
        }
    }
}

//! HTTP Basic credentials and constant-time comparison.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

/// Standard alphabet; padding optional (some encoders omit it).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes an `Authorization` header value of the `Basic` scheme into (user, password).
/// The scheme name is case-insensitive; returns `None` for any other scheme or bad base64.
///
/// The credentials are split at the first `:`, so the password may itself contain colons.
/// Credentials that are not valid UTF-8 are decoded as Latin-1.
pub fn parse_basic(value: &str) -> Option<(String, String)> {
    let value = value.trim();
    let (scheme, rest) = value.split_once([' ', '\t'])?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = LENIENT.decode(rest.trim()).ok()?;
    let text = match String::from_utf8(decoded) {
        Ok(s) => s,
        Err(e) => e.into_bytes().iter().map(|&b| char::from(b)).collect(),
    };
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_round_trip() {
        assert_eq!(
            parse_basic("Basic c291cmNlOmhhY2ttZQ=="),
            Some(("source".into(), "hackme".into()))
        );
        assert_eq!(
            parse_basic("  bAsIc   c291cmNlOmhhY2ttZQ==  "),
            Some(("source".into(), "hackme".into()))
        );
        // Padding omitted.
        assert_eq!(
            parse_basic("basic c291cmNlOmhhY2ttZQ"),
            Some(("source".into(), "hackme".into()))
        );
    }

    #[test]
    fn password_with_colons_and_empty_parts() {
        let v = format!("Basic {}", LENIENT.encode("admin:pa:ss:"));
        assert_eq!(parse_basic(&v), Some(("admin".into(), "pa:ss:".into())));
        let v = format!("Basic {}", LENIENT.encode(":"));
        assert_eq!(parse_basic(&v), Some((String::new(), String::new())));
    }

    #[test]
    fn latin1_credentials() {
        let v = format!("Basic {}", LENIENT.encode(b"u:caf\xe9"));
        assert_eq!(parse_basic(&v), Some(("u".into(), "café".into())));
    }

    #[test]
    fn rejects() {
        assert_eq!(parse_basic("Bearer abc"), None);
        assert_eq!(parse_basic("Basic"), None);
        assert_eq!(parse_basic("Basic !!!"), None);
        assert_eq!(
            parse_basic(&format!("Basic {}", LENIENT.encode("nocolon"))),
            None
        );
        assert_eq!(parse_basic(""), None);
    }

    #[test]
    fn ct_eq() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"hackme", b"hackme"));
        assert!(!constant_time_eq(b"hackme", b"hackmf"));
        assert!(!constant_time_eq(b"hackme", b"hackm"));
        assert!(!constant_time_eq(b"Xackme", b"hackme"));
    }
}

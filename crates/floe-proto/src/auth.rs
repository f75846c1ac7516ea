//! HTTP Basic credentials and constant-time comparison.

/// Decodes an `Authorization` header value of the `Basic` scheme into (user, password).
/// The scheme name is case-insensitive; returns `None` for any other scheme or bad base64.
pub fn parse_basic(value: &str) -> Option<(String, String)> {
    let _ = value;
    todo!()
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let _ = (a, b);
    todo!()
}

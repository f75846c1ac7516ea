//! Escaping for the XML the admin interface writes.

/// Escapes `& < > " '` for use in XML text and attribute values; drops characters XML 1.0
/// forbids (control characters other than tab, LF, CR, and the non-characters U+FFFE, U+FFFF).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_and_drops() {
        assert_eq!(escape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
        assert_eq!(escape("x\u{0}\u{1}\u{1f}y\tz\n\r"), "xy\tz\n\r");
        assert_eq!(escape("é\u{FFFF}ü"), "éü");
        assert_eq!(escape(""), "");
    }
}

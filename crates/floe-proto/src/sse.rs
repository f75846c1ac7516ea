//! Server-Sent Events framing (HTML Living Standard, "server-sent events").

/// Pushes `s` with CR and LF replaced by spaces (they would end the field).
fn push_single_line(out: &mut String, s: &str) {
    out.extend(
        s.chars()
            .map(|c| if c == '\r' || c == '\n' { ' ' } else { c }),
    );
}

/// Splits on CRLF, CR or LF, as an SSE parser does.
fn lines(data: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let s = rest?;
        match s.find(['\r', '\n']) {
            Some(i) => {
                let skip = if s[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = s.get(i + skip..);
                s.get(..i)
            }
            None => {
                rest = None;
                Some(s)
            }
        }
    })
}

/// One event: optional `id:` and `event:` lines, then one `data:` line per line of `data`
/// (so embedded newlines survive), then a blank line.
///
/// Line breaks inside `id` and `name` are replaced by spaces; `data` is split on CRLF, CR or LF.
pub fn event(id: Option<&str>, name: Option<&str>, data: &str) -> String {
    let mut out = String::with_capacity(data.len() + 32);
    if let Some(id) = id {
        out.push_str("id: ");
        push_single_line(&mut out, id);
        out.push('\n');
    }
    if let Some(name) = name {
        out.push_str("event: ");
        push_single_line(&mut out, name);
        out.push('\n');
    }
    for line in lines(data) {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    out
}

/// A `retry: ms` line telling the client how long to wait before reconnecting
/// (`"retry: 3000\n"`; it needs no blank line, it takes effect when parsed).
pub fn retry(ms: u64) -> String {
    format!("retry: {ms}\n")
}

/// A comment line (`: text`), used as a keep-alive. A multi-line text becomes several comment
/// lines.
pub fn comment(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 3);
    for line in lines(text) {
        out.push_str(": ");
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events() {
        assert_eq!(event(None, None, "hi"), "data: hi\n\n");
        assert_eq!(
            event(Some("7"), Some("title"), "a\nb\r\nc\rd"),
            "id: 7\nevent: title\ndata: a\ndata: b\ndata: c\ndata: d\n\n"
        );
        assert_eq!(event(None, None, ""), "data: \n\n");
        assert_eq!(event(None, None, "x\n"), "data: x\ndata: \n\n");
        assert_eq!(
            event(Some("1\n2"), Some("a\rb"), "z"),
            "id: 1 2\nevent: a b\ndata: z\n\n"
        );
    }

    #[test]
    fn retry_and_comment() {
        assert_eq!(retry(3000), "retry: 3000\n");
        assert_eq!(comment("keep-alive"), ": keep-alive\n");
        assert_eq!(comment("a\nb"), ": a\n: b\n");
    }
}

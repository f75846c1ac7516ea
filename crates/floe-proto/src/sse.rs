//! Server-Sent Events framing (HTML Living Standard, "server-sent events").

/// One event: optional `id:` and `event:` lines, then one `data:` line per line of `data`
/// (so embedded newlines survive), then a blank line.
pub fn event(id: Option<&str>, name: Option<&str>, data: &str) -> String {
    let _ = (id, name, data);
    todo!()
}

/// A `retry: ms` line telling the client how long to wait before reconnecting.
pub fn retry(ms: u64) -> String {
    let _ = ms;
    todo!()
}

/// A comment line (`: text`), used as a keep-alive.
pub fn comment(text: &str) -> String {
    let _ = text;
    todo!()
}

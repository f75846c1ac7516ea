//! Query strings as admin tools send them (`mode=updinfo&mount=%2flive%2emp3&song=A+-+B`).

/// The text encoding named by a `charset` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Charset {
    /// UTF-8 (Floe's default, unlike Icecast's Latin-1).
    #[default]
    Utf8,
    /// ISO-8859-1.
    Latin1,
}

impl Charset {
    /// Parses a charset label (`UTF-8`, `utf8`, `ISO-8859-1`, `latin1`, ...); `None` if unknown.
    pub fn from_label(label: &str) -> Option<Charset> {
        let _ = label;
        todo!()
    }
}

/// A parsed query string: raw (percent-decoded) bytes per parameter, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Parameters in order; names decoded as UTF-8 (lossy), values as raw bytes.
    pub pairs: Vec<(String, Vec<u8>)>,
}

impl Query {
    /// Parses `a=1&b=%20x+y`: `+` is a space, `%XX` an octet; a malformed escape is kept literally.
    pub fn parse(query: &str) -> Query {
        let _ = query;
        todo!()
    }

    /// The first value of `name`, decoded with the query's own `charset` parameter
    /// (UTF-8 when absent; bytes that are not valid UTF-8 fall back to Latin-1).
    pub fn get(&self, name: &str) -> Option<String> {
        let _ = name;
        todo!()
    }

    /// The first value of `name` decoded with the given charset.
    pub fn get_with(&self, name: &str, charset: Charset) -> Option<String> {
        let _ = (name, charset);
        todo!()
    }
}

/// Decodes bytes in the given charset (invalid UTF-8 falls back to Latin-1).
pub fn decode_text(bytes: &[u8], charset: Charset) -> String {
    let _ = (bytes, charset);
    todo!()
}

/// Percent-encodes a string for use in a URL path or query component (RFC 3986 unreserved kept).
pub fn percent_encode(s: &str) -> String {
    let _ = s;
    todo!()
}

//! What handlers read from a request, extracted once: the peer, the query, credentials, the
//! wanted body shape and the base URL that links and playlists are built on.

use super::error::Flavor;
use super::Peer;
use crate::settings::ServerSettings;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, Extensions, HeaderMap, Uri};
use floe_proto::query::Query;
use std::convert::Infallible;

/// A request as handlers see it. Extracting it never fails.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// Who asked (loopback when the edge did not say).
    pub peer: Peer,
    /// The query string, percent-decoded, honouring `charset`.
    pub query: Query,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The client asked for JSON (`format=json`, or an `Accept` that prefers it).
    pub wants_json: bool,
    /// `http://host:port` (or `https://` behind a trusted proxy that says so), no trailing slash.
    pub base_url: String,
}

impl RequestContext {
    /// Reads a request's head.
    pub fn new(
        uri: &Uri,
        headers: &HeaderMap,
        extensions: &Extensions,
        settings: &ServerSettings,
    ) -> RequestContext {
        let peer = Peer::of(extensions);
        let header = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
        let query = Query::parse(uri.query().unwrap_or(""));
        let wants_json = match query.get("format") {
            Some(f) => f.eq_ignore_ascii_case("json"),
            None => header(header::ACCEPT).is_some_and(prefers_json),
        };
        let forwarded_https = header(header::HeaderName::from_static("x-forwarded-proto"))
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
        let scheme = if forwarded_https && settings.trusted_proxies.contains(&peer.remote.ip()) {
            "https"
        } else {
            "http"
        };
        let host = header(header::HOST)
            .or_else(|| uri.authority().map(|a| a.as_str()))
            .filter(|h| valid_host(h))
            .map_or_else(
                || default_host(&settings.hostname, settings.listen.port()),
                str::to_string,
            );
        RequestContext {
            peer,
            query,
            authorization: header(header::AUTHORIZATION).map(str::to_string),
            wants_json,
            base_url: format!("{scheme}://{host}"),
        }
    }

    /// The shape admin replies and errors take.
    pub fn flavor(&self) -> Flavor {
        if self.wants_json {
            Flavor::Json
        } else {
            Flavor::Xml
        }
    }

    /// A query parameter, decoded with the query's `charset`; empty values count as absent.
    pub fn param(&self, name: &str) -> Option<String> {
        self.query.get(name).filter(|v| !v.is_empty())
    }

    /// The absolute URL of a path on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }
}

impl FromRequestParts<AppState> for RequestContext {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(RequestContext::new(
            &parts.uri,
            &parts.headers,
            &parts.extensions,
            &state.settings,
        ))
    }
}

/// A `Host` value safe to put into URLs and documents: a name or address and an optional port.
fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'[' | b']')
        })
}

fn default_host(hostname: &str, port: u16) -> String {
    let name = if valid_host(hostname) {
        hostname
    } else {
        "localhost"
    };
    if port == 80 {
        name.to_string()
    } else {
        format!("{name}:{port}")
    }
}

/// True when an `Accept` value ranks `application/json` above every XML type (ties go to the
/// one listed first). `*/*` alone does not count as asking for JSON.
pub fn prefers_json(accept: &str) -> bool {
    let mut json: Option<(f32, usize)> = None;
    let mut xml: Option<(f32, usize)> = None;
    for (i, item) in accept.split(',').enumerate() {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let slot = match media.as_str() {
            "application/json" => &mut json,
            "text/xml" | "application/xml" | "text/html" => &mut xml,
            _ => continue,
        };
        if slot.is_none_or(|(best, _)| q > best) {
            *slot = Some((q, i));
        }
    }
    match (json, xml) {
        (Some((q, _)), None) => q > 0.0,
        (Some((jq, ji)), Some((xq, xi))) => jq > xq || (jq == xq && jq > 0.0 && ji < xi),
        (None, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_negotiation() {
        assert!(prefers_json("application/json"));
        assert!(prefers_json("application/json, text/plain, */*"));
        assert!(prefers_json("text/xml;q=0.5, application/json"));
        assert!(!prefers_json(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ));
        assert!(!prefers_json("*/*"));
        assert!(!prefers_json("application/json;q=0"));
        assert!(!prefers_json("text/xml, application/json"));
    }

    #[test]
    fn hosts_are_checked_before_use() {
        assert!(valid_host("radio.example.org:8000"));
        assert!(valid_host("[::1]:8000"));
        assert!(!valid_host("evil\"><script>"));
        assert!(!valid_host("a/b"));
        assert_eq!(default_host("radio", 8000), "radio:8000");
        assert_eq!(default_host("radio", 80), "radio");
    }
}

//! The upstream proxy: `[proxy."/remote"] upstream = "http://host:port/base"`.
//!
//! A GET or HEAD whose path is under a configured prefix is forwarded to the upstream (the rest
//! of the path appended to the base, the query kept) with the client's `Range` and conditional
//! headers. An open-ended `bytes=N-` is bounded to `open_range_window` bytes, so a seek in a
//! long file does not pull the whole rest of it through. The answer's status and
//! `Content-Range`, `Content-Length`, `Content-Type`, `ETag`, `Last-Modified`, `Accept-Ranges`,
//! `Cache-Control` pass through, and its body is streamed as it arrives (hyper's body, frame by
//! frame: nothing is buffered, an endless live stream works). A connection that fails is a 502,
//! one that does not connect within `connect_timeout` or answer within `response_timeout` is a
//! 504, each with a JSON body and a log line. Only `http://` upstreams are supported.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use floe_proto::range::{parse_range, RangeLimits, RangeSpec};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::{millis, MediaError};

/// Default of [`ProxySettings::open_range_window`] (4 MiB).
pub const DEFAULT_OPEN_RANGE_WINDOW: u64 = 4 << 20;
/// Default of [`ProxySettings::connect_timeout`].
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default of [`ProxySettings::response_timeout`].
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(15);

/// Request headers forwarded to the upstream.
const FORWARDED_REQUEST: [HeaderName; 8] = [
    header::RANGE,
    header::IF_RANGE,
    header::IF_MATCH,
    header::IF_NONE_MATCH,
    header::IF_MODIFIED_SINCE,
    header::IF_UNMODIFIED_SINCE,
    header::ACCEPT,
    header::USER_AGENT,
];

/// Response headers passed back to the client.
const FORWARDED_RESPONSE: [HeaderName; 9] = [
    header::CONTENT_TYPE,
    header::CONTENT_LENGTH,
    header::CONTENT_RANGE,
    header::ACCEPT_RANGES,
    header::ETAG,
    header::LAST_MODIFIED,
    header::CACHE_CONTROL,
    header::EXPIRES,
    header::CONTENT_DISPOSITION,
];

/// One `[proxy."/prefix"]` table.
#[derive(Debug, Clone)]
pub struct ProxySettings {
    /// The path prefix served (no trailing `/`).
    pub prefix: String,
    /// The upstream base URL, `http://host[:port][/base]`.
    pub upstream: String,
    /// The most an open-ended range (`bytes=N-`) asks the upstream for, in bytes.
    pub open_range_window: u64,
    /// Time allowed to connect to the upstream.
    pub connect_timeout: Duration,
    /// Time allowed for the upstream's response head, counted from the end of the connect
    /// timeout (the head must arrive within `connect_timeout + response_timeout` of the
    /// request).
    pub response_timeout: Duration,
}

impl ProxySettings {
    /// A route with every limit at its default.
    pub fn new(prefix: &str, upstream: &str) -> ProxySettings {
        ProxySettings {
            prefix: prefix.trim_end_matches('/').to_string(),
            upstream: upstream.to_string(),
            open_range_window: DEFAULT_OPEN_RANGE_WINDOW,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            response_timeout: DEFAULT_RESPONSE_TIMEOUT,
        }
    }
}

/// Checks an upstream URL: `http://`, a host, no query. Returns the message for a config error.
pub fn validate_upstream(url: &str) -> Result<(), String> {
    let uri: Uri = url.parse().map_err(|e| format!("not a URL ({e})"))?;
    if uri.scheme_str() != Some("http") {
        return Err("only http:// upstreams are supported".into());
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    if uri.query().is_some() {
        return Err("the URL must not have a query".into());
    }
    Ok(())
}

#[derive(Debug)]
struct Route {
    settings: ProxySettings,
    client: Client<HttpConnector, Body>,
}

/// The configured routes and their clients.
#[derive(Debug)]
pub struct Proxy {
    routes: Vec<Route>,
}

impl Proxy {
    /// Builds a client per route (each with its own connect timeout). Routes whose upstream is
    /// not valid are dropped with a log line (the config loader refuses them first).
    pub fn new(settings: Vec<ProxySettings>) -> Proxy {
        let mut routes: Vec<Route> = settings
            .into_iter()
            .filter(|s| match validate_upstream(&s.upstream) {
                Ok(()) => true,
                Err(e) => {
                    tracing::error!("proxy {}: upstream {}: {e}", s.prefix, s.upstream);
                    false
                }
            })
            .map(|settings| {
                let mut connector = HttpConnector::new();
                connector.set_connect_timeout(Some(settings.connect_timeout));
                connector.set_nodelay(true);
                let client = Client::builder(TokioExecutor::new()).build(connector);
                Route { settings, client }
            })
            .collect();
        // Longest prefix first.
        routes.sort_by_key(|r| std::cmp::Reverse(r.settings.prefix.len()));
        Proxy { routes }
    }

    /// Whether any route is configured.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The route serving `path`, with the rest of the path after its prefix.
    fn route_for<'a>(&self, path: &'a str) -> Option<(&Route, &'a str)> {
        self.routes.iter().find_map(|r| {
            let rest = path.strip_prefix(r.settings.prefix.as_str())?;
            (rest.is_empty() || rest.starts_with('/')).then_some((r, rest))
        })
    }

    /// Whether `path` is under a proxy prefix.
    pub fn handles(&self, path: &str) -> bool {
        self.route_for(path).is_some()
    }

    /// Forwards a request under a proxy prefix; `None` when no route takes its path.
    pub async fn forward(&self, req: Request) -> Option<Response> {
        let path = req.uri().path().to_string();
        let (route, rest) = self.route_for(&path)?;
        Some(match self.forward_to(route, rest, req).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("proxy {path}: {e}");
                crate::http::HttpError::Media(e).into_response()
            }
        })
    }

    async fn forward_to(
        &self,
        route: &Route,
        rest: &str,
        req: Request,
    ) -> Result<Response, MediaError> {
        let s = &route.settings;
        if !matches!(*req.method(), Method::GET | Method::HEAD) {
            return Ok((
                StatusCode::METHOD_NOT_ALLOWED,
                [(header::ALLOW, "GET, HEAD")],
                "only GET and HEAD are proxied\n",
            )
                .into_response());
        }
        let target = upstream_target(&s.upstream, rest, req.uri().query());
        let uri: Uri = target.parse().map_err(|_| MediaError::Upstream {
            upstream: target.clone(),
            message: "not a valid URL".into(),
        })?;
        let mut builder = hyper::Request::builder().method(req.method()).uri(uri);
        for name in FORWARDED_REQUEST {
            for value in req.headers().get_all(&name) {
                let value = if name == header::RANGE {
                    bounded_range(value, s.open_range_window)
                } else {
                    value.clone()
                };
                builder = builder.header(&name, value);
            }
        }
        let upstream_req = builder
            .body(Body::empty())
            .map_err(|_| MediaError::Internal("upstream request"))?;
        let answer = tokio::time::timeout(
            s.connect_timeout + s.response_timeout,
            route.client.request(upstream_req),
        )
        .await;
        let upstream = match answer {
            Err(_) => {
                return Err(MediaError::UpstreamTimeout {
                    upstream: target,
                    what: "answer",
                    after_ms: millis(s.response_timeout),
                })
            }
            Ok(Err(e)) if is_timeout(&e) => {
                return Err(MediaError::UpstreamTimeout {
                    upstream: target,
                    what: "connect",
                    after_ms: millis(s.connect_timeout),
                })
            }
            Ok(Err(e)) => {
                return Err(MediaError::Upstream {
                    upstream: target,
                    message: error_chain(&e),
                })
            }
            Ok(Ok(r)) => r,
        };
        let (parts, body) = upstream.into_parts();
        let mut response = Response::builder().status(parts.status);
        for name in FORWARDED_RESPONSE {
            for value in parts.headers.get_all(&name) {
                response = response.header(&name, value);
            }
        }
        response
            .body(Body::new(body))
            .map_err(|_| MediaError::Internal("response head"))
    }
}

/// The upstream URL for a request: the base without its trailing `/`, the rest of the path,
/// the query.
fn upstream_target(base: &str, rest: &str, query: Option<&str>) -> String {
    let mut target = format!("{}{rest}", base.trim_end_matches('/'));
    if !target["http://".len()..].contains('/') {
        target.push('/');
    }
    if let Some(q) = query {
        target.push('?');
        target.push_str(q);
    }
    target
}

/// A `Range` value with an open-ended single range (`bytes=N-`) bounded to `window` bytes;
/// anything else unchanged.
fn bounded_range(value: &HeaderValue, window: u64) -> HeaderValue {
    let Some(text) = value.to_str().ok() else {
        return value.clone();
    };
    match parse_range(text, RangeLimits::default()).as_deref() {
        Some([RangeSpec::From(start)]) if window > 0 => {
            let end = start.saturating_add(window - 1);
            HeaderValue::from_str(&format!("bytes={start}-{end}")).unwrap_or_else(|_| value.clone())
        }
        _ => value.clone(),
    }
}

/// Whether a client error is a connect timeout (an `io::Error` of kind `TimedOut` in its chain).
fn is_timeout(e: &hyper_util::client::legacy::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return true;
            }
        }
        source = s.source();
    }
    false
}

/// An error and its causes as one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_join_base_and_rest() {
        assert_eq!(
            upstream_target("http://h:1/base", "/a/b.mp3", Some("x=1")),
            "http://h:1/base/a/b.mp3?x=1"
        );
        assert_eq!(
            upstream_target("http://h:1/base/", "", None),
            "http://h:1/base"
        );
        assert_eq!(upstream_target("http://h:1", "", None), "http://h:1/");
        assert_eq!(upstream_target("http://h:1/", "/x", None), "http://h:1/x");
    }

    #[test]
    fn open_ended_ranges_are_bounded() {
        let v = |s: &str| HeaderValue::from_str(s).expect("valid");
        assert_eq!(bounded_range(&v("bytes=100-"), 1000), v("bytes=100-1099"));
        assert_eq!(bounded_range(&v("bytes=0-"), 1), v("bytes=0-0"));
        assert_eq!(bounded_range(&v("bytes=5-9"), 1000), v("bytes=5-9"));
        assert_eq!(bounded_range(&v("bytes=-5"), 1000), v("bytes=-5"));
        assert_eq!(bounded_range(&v("bytes=0-,9-"), 10), v("bytes=0-,9-"));
    }

    #[test]
    fn routes_match_whole_segments_longest_first() {
        let proxy = Proxy::new(vec![
            ProxySettings::new("/remote", "http://127.0.0.1:1/a"),
            ProxySettings::new("/remote/deep/", "http://127.0.0.1:1/b"),
        ]);
        let rest = |p| {
            proxy
                .route_for(p)
                .map(|(r, rest)| (r.settings.upstream.clone(), rest))
        };
        assert_eq!(
            rest("/remote/x"),
            Some(("http://127.0.0.1:1/a".into(), "/x"))
        );
        assert_eq!(
            rest("/remote/deep/y"),
            Some(("http://127.0.0.1:1/b".into(), "/y"))
        );
        assert_eq!(rest("/remotex"), None);
        assert_eq!(rest("/remote"), Some(("http://127.0.0.1:1/a".into(), "")));
    }

    #[test]
    fn upstream_urls_are_checked() {
        assert!(validate_upstream("http://example.org:8000/music").is_ok());
        assert!(validate_upstream("https://example.org/").is_err());
        assert!(validate_upstream("http:///x").is_err());
        assert!(validate_upstream("http://h/x?y=1").is_err());
        assert!(validate_upstream("not a url").is_err());
    }
}

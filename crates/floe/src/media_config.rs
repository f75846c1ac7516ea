//! `[transcode]` and `[proxy."/prefix"]`: on-demand transcoding and the upstream proxy.

use floe_server::media::proxy::{self, ProxySettings};
use floe_server::media::transcode::{self as tc, TranscodeSettings};
use floe_server::media::OutputFormat;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// `[transcode]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TranscodeSection {
    /// Directory of the transcode cache; empty: no cache.
    pub cache_dir: String,
    /// Size bound of the cache, bytes.
    pub cache_max_bytes: u64,
    /// Transcodes running at once, at most (more: 503 with Retry-After).
    pub max_concurrent: usize,
    /// Bitrate when a request names a format without one, kbit/s.
    pub default_bitrate: u32,
    /// Cap on every transcode's bitrate, kbit/s.
    pub max_bitrate: u32,
    /// Format used when only `max_bitrate` asks for a transcode.
    pub default_format: String,
    /// `Retry-After` of the 503 over the limit, seconds.
    pub retry_after_seconds: u64,
}

impl Default for TranscodeSection {
    fn default() -> Self {
        TranscodeSection {
            cache_dir: String::new(),
            cache_max_bytes: tc::DEFAULT_CACHE_MAX_BYTES,
            max_concurrent: tc::DEFAULT_MAX_CONCURRENT,
            default_bitrate: tc::DEFAULT_BITRATE_KBPS,
            max_bitrate: tc::DEFAULT_MAX_BITRATE_KBPS,
            default_format: "mp3".into(),
            retry_after_seconds: tc::DEFAULT_RETRY_AFTER_SECS,
        }
    }
}

impl TranscodeSection {
    /// Semantic errors as (key, message).
    pub fn errors(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.max_concurrent == 0 {
            out.push(("max_concurrent", "must be at least 1".into()));
        }
        if self.cache_max_bytes == 0 {
            out.push(("cache_max_bytes", "must be at least 1".into()));
        }
        if !(8..=1000).contains(&self.default_bitrate) {
            out.push((
                "default_bitrate",
                "must be between 8 and 1000 kbit/s".into(),
            ));
        }
        if !(8..=1000).contains(&self.max_bitrate) {
            out.push(("max_bitrate", "must be between 8 and 1000 kbit/s".into()));
        }
        match OutputFormat::from_name(&self.default_format) {
            None => out.push((
                "default_format",
                format!(
                    "unknown format {:?} (mp3, opus, ogg, aac, flac, wav)",
                    self.default_format
                ),
            )),
            Some(f) if !f.available() => out.push((
                "default_format",
                format!("{} needs a build with the fdk-aac feature", f.name()),
            )),
            Some(_) => {}
        }
        out
    }

    /// As the server takes it.
    pub fn settings(&self) -> TranscodeSettings {
        TranscodeSettings {
            cache_dir: (!self.cache_dir.is_empty()).then(|| PathBuf::from(&self.cache_dir)),
            cache_max_bytes: self.cache_max_bytes,
            max_concurrent: self.max_concurrent.max(1),
            default_bitrate_kbps: self.default_bitrate,
            max_bitrate_kbps: self.max_bitrate,
            retry_after_secs: self.retry_after_seconds,
            default_format: OutputFormat::from_name(&self.default_format)
                .unwrap_or(OutputFormat::Mp3),
        }
    }
}

/// One `[proxy."/prefix"]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProxySection {
    /// Upstream base URL, `http://host:port/base`.
    pub upstream: String,
    /// Most bytes an open-ended range (`bytes=N-`) asks the upstream for.
    pub open_range_window: u64,
    /// Seconds allowed to connect to the upstream.
    pub connect_timeout: f64,
    /// Seconds allowed for the upstream's response head (beyond `connect_timeout`).
    pub response_timeout: f64,
}

impl Default for ProxySection {
    fn default() -> Self {
        ProxySection {
            upstream: String::new(),
            open_range_window: proxy::DEFAULT_OPEN_RANGE_WINDOW,
            connect_timeout: proxy::DEFAULT_CONNECT_TIMEOUT.as_secs_f64(),
            response_timeout: proxy::DEFAULT_RESPONSE_TIMEOUT.as_secs_f64(),
        }
    }
}

/// Semantic errors of all proxy tables as (table, key, message).
pub fn proxy_errors(
    proxies: &BTreeMap<String, ProxySection>,
) -> Vec<(String, &'static str, String)> {
    let mut out = Vec::new();
    for (prefix, p) in proxies {
        let table = format!("proxy.\"{prefix}\"");
        if !prefix.starts_with('/') || prefix.trim_end_matches('/').is_empty() {
            out.push((
                table.clone(),
                "upstream",
                format!("the prefix {prefix:?} must start with / and not be / alone"),
            ));
        }
        if let Err(e) = proxy::validate_upstream(&p.upstream) {
            out.push((table.clone(), "upstream", format!("{:?}: {e}", p.upstream)));
        }
        if p.open_range_window == 0 {
            out.push((
                table.clone(),
                "open_range_window",
                "must be at least 1".into(),
            ));
        }
        for (key, v) in [
            ("connect_timeout", p.connect_timeout),
            ("response_timeout", p.response_timeout),
        ] {
            if !(v.is_finite() && v > 0.0 && v <= 3600.0) {
                out.push((
                    table.clone(),
                    key,
                    "must be between 0 and 3600 seconds".into(),
                ));
            }
        }
    }
    out
}

/// The proxy routes as the server takes them.
pub fn proxy_settings(proxies: &BTreeMap<String, ProxySection>) -> Vec<ProxySettings> {
    proxies
        .iter()
        .map(|(prefix, p)| ProxySettings {
            open_range_window: p.open_range_window,
            connect_timeout: Duration::from_secs_f64(p.connect_timeout.clamp(0.001, 3600.0)),
            response_timeout: Duration::from_secs_f64(p.response_timeout.clamp(0.001, 3600.0)),
            ..ProxySettings::new(prefix, &p.upstream)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::config::parse;

    #[test]
    fn media_keys_are_checked_with_key_and_line() {
        let src = "[limits]\nmax_ranges = 0\n\n[transcode]\nmax_concurrent = 0\ndefault_format = \"mp4\"\n\n[proxy.\"/remote\"]\nupstream = \"https://x/\"\nresponse_timeout = 0\n";
        let errors = parse(src).expect_err("invalid");
        let got: Vec<(String, Option<usize>)> =
            errors.iter().map(|e| (e.key.clone(), e.line)).collect();
        for expected in [
            ("limits.max_ranges", 2),
            ("transcode.max_concurrent", 5),
            ("transcode.default_format", 6),
            ("proxy.\"/remote\".upstream", 9),
            ("proxy.\"/remote\".response_timeout", 10),
        ] {
            assert!(
                got.contains(&(expected.0.to_string(), Some(expected.1))),
                "{expected:?} not in {got:?}"
            );
        }
    }

    #[test]
    fn media_settings_come_from_the_file() {
        let src = "[limits]\nmax_ranges = 3\n\n[transcode]\ncache_dir = \"/tmp/x\"\nmax_concurrent = 2\ndefault_format = \"opus\"\n\n[proxy.\"/remote/\"]\nupstream = \"http://127.0.0.1:9/base\"\nopen_range_window = 100\nconnect_timeout = 0.25\n";
        let cfg = parse(src).expect("valid");
        let m = cfg.media_settings();
        assert_eq!(m.limits.max_ranges, 3);
        assert_eq!(m.transcode.max_concurrent, 2);
        assert_eq!(
            m.transcode.cache_dir.as_deref(),
            Some(std::path::Path::new("/tmp/x"))
        );
        assert_eq!(
            m.transcode.default_format,
            floe_server::media::OutputFormat::Opus
        );
        assert_eq!(m.proxies.len(), 1);
        assert_eq!(m.proxies[0].prefix, "/remote");
        assert_eq!(m.proxies[0].open_range_window, 100);
        assert_eq!(
            m.proxies[0].connect_timeout,
            std::time::Duration::from_millis(250)
        );
        // Defaults: no cache, no proxy.
        let m = parse("").expect("empty").media_settings();
        assert!(m.transcode.cache_dir.is_none() && m.proxies.is_empty());
        assert_eq!(m.limits.max_ranges, floe_proto::range::DEFAULT_MAX_RANGES);
    }
}

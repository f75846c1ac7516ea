//! The configuration file: one TOML document, every key optional with a working default.
//!
//! Errors name the key and the line: parse errors come from the TOML parser (which points at the
//! line), semantic errors are collected in one pass so `floe check-config` reports them all.

use floe_engine::{EngineSettings, MountSettings};
use floe_station::StationConfig;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerSection,
    pub auth: AuthSection,
    pub limits: LimitsSection,
    pub shoutcast: ShoutcastSection,
    pub network: NetworkSection,
    pub logging: LoggingSection,
    /// Settings every mount starts from.
    pub mount_defaults: MountSettings,
    /// Declared mounts, by path: `[mounts."/live.mp3"]`.
    pub mounts: BTreeMap<String, MountSettings>,
    /// Auto-DJ stations, by name: `[stations."name"]`.
    pub stations: BTreeMap<String, StationConfig>,
    pub demo: DemoSection,
    pub pcm: PcmSection,
    pub hls: HlsSection,
    /// The on-demand music library (`[library]`).
    pub library: crate::library::LibrarySection,
    /// On-demand transcoding (`[transcode]`).
    pub transcode: crate::media_config::TranscodeSection,
    /// Upstream proxy routes, by path prefix: `[proxy."/remote"]`.
    pub proxy: BTreeMap<String, crate::media_config::ProxySection>,
    /// The Subsonic API (`[subsonic]`).
    pub subsonic: crate::subsonic_config::SubsonicSection,
}

/// HLS, LL-HLS and DASH (`[hls]`); each mount can also set `hls = false`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HlsSection {
    /// Segment mounts for HLS and DASH.
    pub enabled: bool,
    /// Target segment duration, seconds.
    pub segment_duration: f64,
    /// LL-HLS part target, seconds.
    pub part_duration: f64,
    /// Time-shift window kept in memory, minutes.
    pub dvr_window_minutes: f64,
    /// Most bytes of segments kept per mount (the window is shortened to fit).
    pub max_window_bytes: usize,
    /// Also cut MPEG-TS segments (AAC and MP3 mounts) for older clients.
    pub ts: bool,
    /// Milliseconds between a segmenter's reads of its mount.
    pub poll_interval_ms: u64,
    /// Segment durations without a request after which an HLS/DASH session stops counting as
    /// a listener.
    pub session_timeout_segments: u32,
    /// Segment duration of on-demand HLS for library tracks, seconds.
    pub vod_segment_duration: f64,
    /// Largest library file offered as on-demand HLS, bytes.
    pub vod_max_file_bytes: u64,
}

impl Default for HlsSection {
    fn default() -> Self {
        let d = floe_hls::HlsSettings::default();
        HlsSection {
            enabled: d.enabled,
            segment_duration: d.segmenter.segment_duration,
            part_duration: d.segmenter.part_duration,
            dvr_window_minutes: d.segmenter.window / 60.0,
            max_window_bytes: d.segmenter.max_window_bytes,
            ts: d.segmenter.ts,
            poll_interval_ms: d.poll_interval.as_millis() as u64,
            session_timeout_segments: d.session_timeout_segments,
            vod_segment_duration: d.vod_segment_duration,
            vod_max_file_bytes: d.vod_max_file_bytes,
        }
    }
}

impl HlsSection {
    /// The segmenters' settings.
    pub fn settings(&self) -> floe_hls::HlsSettings {
        floe_hls::HlsSettings {
            enabled: self.enabled,
            segmenter: floe_hls::SegmenterSettings {
                segment_duration: self.segment_duration,
                part_duration: self.part_duration,
                window: self.dvr_window_minutes * 60.0,
                max_window_bytes: self.max_window_bytes,
                ts: self.ts,
            },
            poll_interval: std::time::Duration::from_millis(self.poll_interval_ms),
            session_timeout_segments: self.session_timeout_segments,
            vod_segment_duration: self.vod_segment_duration,
            vod_max_file_bytes: self.vod_max_file_bytes,
        }
    }
}

/// PCM delivery: endless WAV, raw L16, SSE and WebSocket audio (`[pcm]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PcmSection {
    /// Seconds of decoded audio each decoded mount keeps for bursts and resumes.
    pub window_seconds: u64,
    /// Milliseconds of audio a new WAV/L16/SSE/WebSocket client gets at once.
    pub burst_ms: u64,
    /// Seconds a client may fall behind before it is dropped.
    pub max_lag_seconds: u64,
    /// Seconds a new client waits for the first decoded audio.
    pub start_timeout_seconds: u64,
    /// Mounts decoded at once.
    pub max_decoders: usize,
    /// SSE/WebSocket sessions open at once.
    pub max_sessions: usize,
    /// Seconds a session with no stream connected stays open.
    pub session_idle_seconds: u64,
    /// Seconds a decoded mount keeps decoding after its last client left.
    pub linger_seconds: u64,
    /// kbit/s of the Opus packets SSE/WebSocket clients may ask for (6 to 510).
    pub opus_kbps: u32,
}

impl Default for PcmSection {
    fn default() -> Self {
        let d = floe_server::pcm::PcmSettings::default();
        PcmSection {
            window_seconds: d.window.as_secs(),
            burst_ms: d.burst.as_millis() as u64,
            max_lag_seconds: d.max_lag.as_secs(),
            start_timeout_seconds: d.start_timeout.as_secs(),
            max_decoders: d.max_taps,
            max_sessions: d.max_sessions,
            session_idle_seconds: d.session_idle.as_secs(),
            linger_seconds: d.linger.as_secs(),
            opus_kbps: d.opus_kbps,
        }
    }
}

impl PcmSection {
    /// The server's settings.
    pub fn settings(&self) -> floe_server::pcm::PcmSettings {
        use std::time::Duration;
        floe_server::pcm::PcmSettings {
            window: Duration::from_secs(self.window_seconds),
            burst: Duration::from_millis(self.burst_ms),
            max_lag: Duration::from_secs(self.max_lag_seconds),
            start_timeout: Duration::from_secs(self.start_timeout_seconds),
            max_taps: self.max_decoders,
            max_sessions: self.max_sessions,
            session_idle: Duration::from_secs(self.session_idle_seconds),
            linger: Duration::from_secs(self.linger_seconds),
            opus_kbps: self.opus_kbps,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemoSection {
    /// Run the demo station (synthesised music on /demo.mp3 and /demo.opus). Unset: on when
    /// Floe starts without a config file and no station is configured.
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// Address and port for HTTP, listeners and Icecast sources.
    pub listen: String,
    /// Host name used in status pages when a request has no `Host` header.
    pub hostname: String,
    /// `location` shown in status pages.
    pub location: String,
    /// Contact shown as `admin` in status pages.
    pub admin_contact: String,
    /// Let a source create a mount the config does not declare.
    pub auto_mounts: bool,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            listen: "127.0.0.1:8000".into(),
            hostname: "localhost".into(),
            location: "Earth".into(),
            admin_contact: "admin@localhost".into(),
            auto_mounts: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSection {
    pub source_user: String,
    /// Empty: generated at start-up and printed once.
    pub source_password: String,
    pub admin_user: String,
    /// Empty: generated at start-up and printed once.
    pub admin_password: String,
}

impl Default for AuthSection {
    fn default() -> Self {
        AuthSection {
            source_user: "source".into(),
            source_password: String::new(),
            admin_user: "admin".into(),
            admin_password: String::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSection {
    pub max_sources: usize,
    pub max_listeners: usize,
    pub max_header_size: usize,
    /// Seconds.
    pub header_timeout: u64,
    /// Seconds.
    pub source_timeout: u64,
    /// Milliseconds between writes to a listener.
    pub write_interval_ms: u64,
    /// Seconds.
    pub shutdown_grace: u64,
    /// More ranges than this in one `Range` header: the header is ignored (whole file sent).
    pub max_ranges: usize,
    /// Library tracks remembered by the stream route (0: none).
    pub track_cache_entries: usize,
    /// Seconds a remembered track is used before the catalog is asked again.
    pub track_cache_seconds: f64,
    /// Library file bodies (200 or one range) of at least this many bytes go out with
    /// `sendfile(2)` from the edge; 0: never.
    pub sendfile_min_bytes: u64,
}

impl Default for LimitsSection {
    fn default() -> Self {
        LimitsSection {
            max_sources: 16,
            max_listeners: 20_000,
            max_header_size: 8192,
            header_timeout: 10,
            source_timeout: 10,
            write_interval_ms: 1000,
            shutdown_grace: 2,
            max_ranges: floe_proto::range::DEFAULT_MAX_RANGES,
            track_cache_entries: floe_server::media::tracks::DEFAULT_TRACK_CACHE_ENTRIES,
            track_cache_seconds: floe_server::media::tracks::DEFAULT_TRACK_CACHE_TTL.as_secs_f64(),
            sendfile_min_bytes: floe_server::media::sendfile::DEFAULT_SENDFILE_MIN_BYTES,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShoutcastSection {
    /// Accept SHOUTcast v1 sources on the listen port + 1.
    pub enabled: bool,
    /// The mount they feed.
    pub mount: String,
}

impl Default for ShoutcastSection {
    fn default() -> Self {
        ShoutcastSection {
            enabled: false,
            mount: "/stream".into(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSection {
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingSection {
    /// `error`, `warn`, `info`, `debug` or `trace` (or a tracing filter such as `floe=debug`).
    pub level: String,
    /// Access log path; `-` for standard output; empty for none.
    pub access_log: String,
}

impl Default for LoggingSection {
    fn default() -> Self {
        LoggingSection {
            level: "info".into(),
            access_log: String::new(),
        }
    }
}

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted key (`limits.max_listeners`, `mounts."/a".fallback`), empty for syntax errors.
    pub key: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.key.is_empty()) {
            (Some(l), false) => write!(f, "line {l}: {}: {}", self.key, self.message),
            (Some(l), true) => write!(f, "line {l}: {}", self.message),
            (None, false) => write!(f, "{}: {}", self.key, self.message),
            (None, true) => write!(f, "{}", self.message),
        }
    }
}

/// Parses and validates a config document. Returns every problem found.
pub fn parse(source: &str) -> Result<Config, Vec<ConfigError>> {
    let config: Config = match toml::from_str(source) {
        Ok(c) => c,
        Err(e) => {
            let line = e
                .span()
                .map(|s| source[..s.start.min(source.len())].matches('\n').count() + 1);
            let key = key_of_span(source, e.span());
            return Err(vec![ConfigError {
                key,
                line,
                message: e.message().to_string(),
            }]);
        }
    };
    let errors = config.validate(source);
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(errors)
    }
}

/// Reads and parses a file.
pub fn load(path: &Path) -> Result<Config, Vec<ConfigError>> {
    let source = std::fs::read_to_string(path).map_err(|e| {
        vec![ConfigError {
            key: String::new(),
            line: None,
            message: format!("cannot read {}: {e}", path.display()),
        }]
    })?;
    parse(&source)
}

/// The key at the start of the line a span points into (`name = …`), qualified by its table.
fn key_of_span(source: &str, span: Option<std::ops::Range<usize>>) -> String {
    let Some(span) = span else {
        return String::new();
    };
    let upto = &source[..span.start.min(source.len())];
    let mut table = String::new();
    for line in upto.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            table = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
        }
    }
    let line = source[upto.rfind('\n').map_or(0, |i| i + 1)..]
        .lines()
        .next()
        .unwrap_or("");
    match line.split_once('=') {
        Some((k, _)) if !line.trim_start().starts_with('[') => {
            let k = k.trim();
            if table.is_empty() {
                k.to_string()
            } else {
                format!("{table}.{k}")
            }
        }
        _ => table,
    }
}

/// The 1-based line where `key` is set inside `[table]` (or the table header itself).
fn line_of(source: &str, table: &str, key: Option<&str>) -> Option<usize> {
    let mut in_table = table.is_empty();
    let mut header_line = None;
    for (i, line) in source.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            let name = t.trim_matches(|c| c == '[' || c == ']').trim();
            in_table = normalize(name) == normalize(table);
            if in_table {
                header_line = Some(i + 1);
            }
            continue;
        }
        if in_table {
            if let (Some(key), Some((k, _))) = (key, t.split_once('=')) {
                if normalize(k.trim()) == normalize(key) {
                    return Some(i + 1);
                }
            }
        }
    }
    header_line
}

/// The 1-based line where `key` is set in the `n`-th (0-based) `[[table]]` entry, or that
/// entry's header; falls back to [`line_of`] for the table (inline arrays of tables).
fn line_of_nth(source: &str, table: &str, n: usize, key: &str) -> Option<usize> {
    let mut seen = 0;
    let mut inside = false;
    let mut header_line = None;
    for (i, line) in source.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            inside = false;
            if t.starts_with("[[") {
                let name = t.trim_matches(|c| c == '[' || c == ']').trim();
                if normalize(name) == normalize(table) {
                    if seen == n {
                        inside = true;
                        header_line = Some(i + 1);
                    }
                    seen += 1;
                }
            }
            continue;
        }
        if inside {
            if let Some((k, _)) = t.split_once('=') {
                if normalize(k.trim()) == normalize(key) {
                    return Some(i + 1);
                }
            }
        }
    }
    header_line.or_else(|| {
        let (parent, last) = table.rsplit_once('.')?;
        line_of(source, parent, Some(last))
    })
}

fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '"' && *c != '\'')
        .collect()
}

impl Config {
    fn validate(&self, source: &str) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        let mut err = |table: &str, key: &str, message: String| {
            let full = if table.is_empty() {
                key.to_string()
            } else {
                format!("{table}.{key}")
            };
            errors.push(ConfigError {
                key: full,
                line: line_of(source, table, Some(key)),
                message,
            });
        };
        if self.pcm.window_seconds == 0 {
            err("pcm", "window_seconds", "must be at least 1".into());
        }
        if self.pcm.max_lag_seconds == 0 || self.pcm.max_lag_seconds > self.pcm.window_seconds {
            err(
                "pcm",
                "max_lag_seconds",
                format!(
                    "must be between 1 and window_seconds ({})",
                    self.pcm.window_seconds
                ),
            );
        }
        if self.limits.max_ranges == 0 {
            err("limits", "max_ranges", "must be at least 1".into());
        }
        if !(self.limits.track_cache_seconds.is_finite()
            && (0.0..=3600.0).contains(&self.limits.track_cache_seconds))
        {
            err(
                "limits",
                "track_cache_seconds",
                "must be between 0 and 3600".into(),
            );
        }
        for (key, message) in self.library.errors() {
            err("library", key, message);
        }
        for (key, message) in self.transcode.errors() {
            err("transcode", key, message);
        }
        for (table, key, message) in crate::media_config::proxy_errors(&self.proxy) {
            err(&table, key, message);
        }
        for (key, message) in self.subsonic.errors() {
            err("subsonic", key, message);
        }
        if self.pcm.max_decoders == 0 {
            err("pcm", "max_decoders", "must be at least 1".into());
        }
        if !(6..=510).contains(&self.pcm.opus_kbps) {
            err("pcm", "opus_kbps", "must be between 6 and 510".into());
        }
        let h = &self.hls;
        if !(0.1..=10.0).contains(&h.part_duration) {
            err(
                "hls",
                "part_duration",
                "must be between 0.1 and 10 seconds".into(),
            );
        }
        if !(h.segment_duration >= 2.0 * h.part_duration && h.segment_duration <= 60.0) {
            err(
                "hls",
                "segment_duration",
                format!(
                    "must be between twice part_duration ({}) and 60 seconds",
                    2.0 * h.part_duration
                ),
            );
        }
        if !(h.dvr_window_minutes * 60.0 >= 3.0 * h.segment_duration
            && h.dvr_window_minutes <= 24.0 * 60.0)
        {
            err(
                "hls",
                "dvr_window_minutes",
                "must hold at least three segments and at most 1440 minutes".into(),
            );
        }
        if h.max_window_bytes < 1024 * 1024 {
            err("hls", "max_window_bytes", "must be at least 1 MiB".into());
        }
        if !(1..=1000).contains(&h.poll_interval_ms) {
            err(
                "hls",
                "poll_interval_ms",
                "must be between 1 and 1000".into(),
            );
        }
        if h.session_timeout_segments == 0 {
            err(
                "hls",
                "session_timeout_segments",
                "must be at least 1".into(),
            );
        }
        if !(1.0..=60.0).contains(&h.vod_segment_duration) {
            err(
                "hls",
                "vod_segment_duration",
                "must be between 1 and 60 seconds".into(),
            );
        }
        if self.server.listen.parse::<SocketAddr>().is_err() {
            err(
                "server",
                "listen",
                format!(
                    "`{}` is not an address:port such as 127.0.0.1:8000",
                    self.server.listen
                ),
            );
        }
        for (name, value) in [
            ("source_user", &self.auth.source_user),
            ("admin_user", &self.auth.admin_user),
        ] {
            if value.is_empty() || value.contains(':') {
                err("auth", name, "must be non-empty and contain no ':'".into());
            }
        }
        let l = &self.limits;
        for (name, value) in [
            ("max_sources", l.max_sources as u64),
            ("max_listeners", l.max_listeners as u64),
            ("header_timeout", l.header_timeout),
            ("source_timeout", l.source_timeout),
            ("write_interval_ms", l.write_interval_ms),
        ] {
            if value == 0 {
                err("limits", name, "must be greater than 0".into());
            }
        }
        if l.max_header_size < 1024 {
            err(
                "limits",
                "max_header_size",
                "must be at least 1024 bytes".into(),
            );
        }
        if l.write_interval_ms > 5000 {
            err("limits", "write_interval_ms", "must be at most 5000".into());
        }
        if !valid_mount(&self.shoutcast.mount) {
            err(
                "shoutcast",
                "mount",
                "must be a path such as /stream".into(),
            );
        }
        for (i, p) in self.network.trusted_proxies.iter().enumerate() {
            if p.parse::<IpAddr>().is_err() {
                err(
                    "network",
                    "trusted_proxies",
                    format!("entry {} (`{p}`) is not an IP address", i + 1),
                );
            }
        }
        let mut check_mount = |table: String, m: &MountSettings| {
            if m.metaint == Some(0) {
                err(&table, "metaint", "must be greater than 0".into());
            }
            if m.burst_seconds.is_some_and(|s| !(0.0..=60.0).contains(&s)) {
                err(&table, "burst_seconds", "must be between 0 and 60".into());
            }
            if m.queue_size.is_some_and(|q| q < 16 * 1024) {
                err(&table, "queue_size", "must be at least 16384 bytes".into());
            }
            if let Some(f) = &m.fallback {
                if !valid_mount(f) {
                    err(&table, "fallback", format!("`{f}` is not a mount path"));
                }
            }
            if let Some(intro) = &m.intro {
                if !intro.is_file() {
                    err(
                        &table,
                        "intro",
                        format!("no such file: {}", intro.display()),
                    );
                }
            }
        };
        check_mount("mount_defaults".into(), &self.mount_defaults);
        for (path, m) in &self.mounts {
            check_mount(format!("mounts.\"{path}\""), m);
        }
        for path in self.mounts.keys().filter(|p| !valid_mount(p)) {
            let table = format!("mounts.\"{path}\"");
            errors.push(ConfigError {
                line: line_of(source, &table, None),
                key: table,
                message: "a mount path starts with / and has no spaces, `..` or `?`".into(),
            });
        }
        let mut station_mounts: BTreeMap<String, String> = BTreeMap::new();
        for (name, st) in &self.stations {
            let table = format!("stations.\"{name}\"");
            for p in st.problems(name) {
                // `renditions.N.key` and `inputs.N.key` name an entry of an array of tables.
                let nth = ["renditions", "inputs"].iter().find_map(|array| {
                    let rest = p.key.strip_prefix(array)?.strip_prefix('.')?;
                    Some((array, rest))
                });
                let (key, line) = match nth {
                    Some((array, rest)) => {
                        let (n, k) = rest.split_once('.').unwrap_or((rest, ""));
                        let n: usize = n.parse().unwrap_or(1);
                        let line = line_of_nth(source, &format!("{table}.{array}"), n - 1, k);
                        (format!("{table}.{array}[{n}].{k}"), line)
                    }
                    None => (
                        format!("{table}.{}", p.key),
                        line_of(source, &table, Some(&p.key)),
                    ),
                };
                errors.push(ConfigError {
                    key,
                    line,
                    message: p.message,
                });
            }
            for (i, r) in st.renditions_or_default(name).iter().enumerate() {
                let clash = station_mounts
                    .insert(r.mount.clone(), name.clone())
                    .map(|other| format!("`{}` is also a mount of station `{other}`", r.mount))
                    .or_else(|| {
                        (r.mount == self.shoutcast.mount && self.shoutcast.enabled)
                            .then(|| format!("`{}` is the SHOUTcast mount", r.mount))
                    });
                if let Some(message) = clash {
                    errors.push(ConfigError {
                        key: format!("{table}.renditions[{}].mount", i + 1),
                        line: line_of_nth(source, &format!("{table}.renditions"), i, "mount"),
                        message,
                    });
                }
            }
        }
        // A FIFO (or standard input) read by two inputs would split its audio between them.
        let mut pcm_inputs: BTreeMap<&std::path::Path, String> = BTreeMap::new();
        for (name, st) in &self.stations {
            let table = format!("stations.\"{name}\"");
            for (i, input) in st.inputs.iter().enumerate() {
                let Some(path) = input.pcm.as_deref() else {
                    continue;
                };
                if let Some(other) = pcm_inputs.insert(path, name.clone()) {
                    if &other != name {
                        errors.push(ConfigError {
                            key: format!("{table}.inputs[{}].pcm", i + 1),
                            line: line_of_nth(source, &format!("{table}.inputs"), i, "pcm"),
                            message: format!(
                                "`{}` is also an input of station `{other}`",
                                path.display()
                            ),
                        });
                    }
                }
            }
        }
        if station_mounts.len() > self.limits.max_sources {
            errors.push(ConfigError {
                key: "limits.max_sources".into(),
                line: line_of(source, "limits", Some("max_sources")),
                message: format!(
                    "the stations' renditions take {} sources (one each): set at least {} plus room for live sources",
                    station_mounts.len(),
                    station_mounts.len()
                ),
            });
        }
        if self.mount_defaults.fallback.is_some() {
            errors.push(ConfigError {
                key: "mount_defaults.fallback".into(),
                line: line_of(source, "mount_defaults", Some("fallback")),
                message: "a fallback is set per mount, not for all".into(),
            });
        }
        errors
    }

    /// The engine's part. `station_mounts` (the renditions of the stations that will run)
    /// are declared mounts, so they exist even with `auto_mounts = false`.
    pub fn engine_settings(&self, station_mounts: &[String]) -> EngineSettings {
        let mut mounts = self.mounts.clone();
        for m in station_mounts {
            mounts.entry(m.clone()).or_default();
        }
        EngineSettings {
            max_sources: self.limits.max_sources,
            max_listeners: self.limits.max_listeners,
            auto_mounts: self.server.auto_mounts,
            defaults: self.mount_defaults.clone(),
            mounts,
        }
    }

    /// On-demand media: `[limits] max_ranges`, `[transcode]`, `[proxy.*]`.
    pub fn media_settings(&self) -> floe_server::media::MediaSettings {
        floe_server::media::MediaSettings {
            limits: floe_server::media::RangeLimitsSetting {
                max_ranges: self.limits.max_ranges,
            },
            transcode: self.transcode.settings(),
            proxies: crate::media_config::proxy_settings(&self.proxy),
            track_cache: floe_server::media::tracks::TrackCacheSettings {
                entries: self.limits.track_cache_entries,
                ttl: std::time::Duration::from_secs_f64(
                    self.limits.track_cache_seconds.clamp(0.0, 3600.0),
                ),
            },
            sendfile_min_bytes: self.limits.sendfile_min_bytes,
        }
    }

    /// The access log path, if any.
    pub fn access_log(&self) -> Option<PathBuf> {
        (!self.logging.access_log.is_empty()).then(|| PathBuf::from(&self.logging.access_log))
    }
}

fn valid_mount(path: &str) -> bool {
    floe_engine::registry::valid_mount_path(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each error of a config that must fail, as (key, line).
    fn keys_and_lines(src: &str) -> Vec<(String, Option<usize>)> {
        let errs = parse(src).unwrap_err();
        errs.iter().map(|e| (e.key.clone(), e.line)).collect()
    }

    #[test]
    fn empty_config_is_a_working_one() {
        let c = parse("").unwrap();
        assert_eq!(c.server.listen, "127.0.0.1:8000");
        assert_eq!(c.auth.source_user, "source");
        assert_eq!(c.auth.admin_user, "admin");
        assert!(c.server.auto_mounts);
    }

    #[test]
    fn the_example_file_parses() {
        let src = include_str!("../../../floe.example.toml");
        let c = parse(src).unwrap();
        assert!(c.mounts.contains_key("/live.mp3"));
    }

    #[test]
    fn unknown_keys_are_named_with_their_line() {
        let errs = parse("[server]\nlisten = \"127.0.0.1:9000\"\nlisen = 3\n").unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].line, Some(3));
        assert_eq!(errs[0].key, "server.lisen");
        assert!(
            errs[0].message.contains("unknown field"),
            "{}",
            errs[0].message
        );
    }

    #[test]
    fn every_semantic_error_is_reported_with_key_and_line() {
        let src = "[server]\nlisten = \"nowhere\"\n\n[limits]\nmax_listeners = 0\n\n[mounts.\"/a\"]\nmetaint = 0\nfallback = \"bad path\"\n";
        let got = keys_and_lines(src);
        assert_eq!(
            got,
            vec![
                ("server.listen".to_string(), Some(2)),
                ("limits.max_listeners".to_string(), Some(5)),
                ("mounts.\"/a\".metaint".to_string(), Some(8)),
                ("mounts.\"/a\".fallback".to_string(), Some(9)),
            ]
        );
    }

    #[test]
    fn library_limits_are_checked_with_key_and_line() {
        let src = "[library]\nmax_page_size = 10\ndefault_page_size = 20\nmax_body_bytes = 10\nwatch_debounce_ms = 0\n";
        assert_eq!(
            keys_and_lines(src),
            vec![
                ("library.default_page_size".to_string(), Some(3)),
                ("library.max_body_bytes".to_string(), Some(4)),
                ("library.watch_debounce_ms".to_string(), Some(5)),
            ]
        );
        let ok = parse("[library]\npath = \"/music\"\nmax_page_size = 100\n").expect("valid");
        assert_eq!(ok.library.limits().max_page_size, 100);
        assert_eq!(ok.library.limits().default_page_size, 50);
        assert!(ok.library.watch);
        let unknown = parse("[library]\npage_size = 1\n").expect_err("unknown key");
        assert_eq!(unknown[0].line, Some(2));
    }

    #[test]
    fn hls_limits_are_checked_with_key_and_line() {
        let src = "[hls]\nsegment_duration = 0.5\npart_duration = 0.4\ndvr_window_minutes = 0\nsession_timeout_segments = 0\n";
        assert_eq!(
            keys_and_lines(src),
            vec![
                ("hls.segment_duration".to_string(), Some(2)),
                ("hls.dvr_window_minutes".to_string(), Some(4)),
                ("hls.session_timeout_segments".to_string(), Some(5)),
            ]
        );
        let ok = parse(
            "[hls]\nsegment_duration = 4.0\npart_duration = 0.5\n\n[mounts.\"/a\"]\nhls = false\n",
        )
        .expect("valid");
        let hls = ok.hls.settings();
        assert_eq!(hls.segmenter.segment_duration, 4.0);
        assert_eq!(hls.segmenter.window, 300.0);
        assert_eq!(ok.mounts["/a"].hls, Some(false));
    }

    #[test]
    fn pcm_limits_and_subsonic_keys_are_checked_with_key_and_line() {
        let src = "[limits]\ntrack_cache_seconds = -1.0\n\n[pcm]\nwindow_seconds = 4\nmax_lag_seconds = 5\nmax_decoders = 0\nopus_kbps = 5\n\n[subsonic]\nmax_list_size = 0\n";
        assert_eq!(
            keys_and_lines(src),
            vec![
                ("pcm.max_lag_seconds".to_string(), Some(6)),
                ("limits.track_cache_seconds".to_string(), Some(2)),
                ("subsonic.max_list_size".to_string(), Some(11)),
                ("pcm.max_decoders".to_string(), Some(7)),
                ("pcm.opus_kbps".to_string(), Some(8)),
            ]
        );
    }

    #[test]
    fn station_errors_name_key_and_line() {
        let dir = std::env::temp_dir();
        let src = format!(
            "[stations.radio]\nmusic = \"{}\"\ncrossfade_seconds = -1\n\n[[stations.radio.renditions]]\nmount = \"/r.mp3\"\ncodec = \"mp3\"\n\n[[stations.radio.renditions]]\nmount = \"/r.ogg\"\ncodec = \"wma\"\n\n[stations.other]\nmusic = \"/no/such/floe/dir\"\n\n[[stations.other.renditions]]\nmount = \"/r.mp3\"\ncodec = \"opus\"\nbitrate = 1000\n",
            dir.display()
        );
        let got = keys_and_lines(&src);
        assert_eq!(
            got,
            vec![
                ("stations.\"other\".music".to_string(), Some(14)),
                (
                    "stations.\"other\".renditions[1].bitrate".to_string(),
                    Some(19)
                ),
                ("stations.\"radio\".crossfade_seconds".to_string(), Some(3)),
                (
                    "stations.\"radio\".renditions[2].codec".to_string(),
                    Some(11)
                ),
                (
                    "stations.\"radio\".renditions[1].mount".to_string(),
                    Some(6)
                ),
            ]
        );
        let few = format!(
            "[limits]\nmax_sources = 1\n\n[stations.radio]\nmusic = \"{}\"\n",
            dir.display()
        );
        let errs = parse(&few).unwrap_err();
        assert_eq!(
            (errs[0].key.as_str(), errs[0].line),
            ("limits.max_sources", Some(2))
        );
        let ok = format!("[stations.radio]\nmusic = \"{}\"\n", dir.display());
        let c = parse(&ok).unwrap();
        let st = &c.stations["radio"];
        assert_eq!(st.loudness_target, -16.0);
        assert_eq!(st.renditions_or_default("radio").len(), 2);
        assert!(c
            .engine_settings(&["/radio.mp3".to_string()])
            .mounts
            .contains_key("/radio.mp3"));
    }

    #[test]
    fn live_takeover_keys_are_checked_with_key_and_line() {
        let dir = std::env::temp_dir();
        let src = format!(
            "[stations.radio]\nmusic = \"{}\"\nlive = [\"/studio.mp3\", \"bad path\"]\ntakeover_crossfade_seconds = 11\ndead_air_seconds = -1\n",
            dir.display()
        );
        let got = keys_and_lines(&src);
        assert_eq!(
            got,
            vec![
                ("stations.\"radio\".live".to_string(), Some(3)),
                (
                    "stations.\"radio\".takeover_crossfade_seconds".to_string(),
                    Some(4)
                ),
                ("stations.\"radio\".dead_air_seconds".to_string(), Some(5)),
            ]
        );
        // A live mount may not be one of the station's own renditions.
        let own = format!(
            "[stations.radio]\nmusic = \"{}\"\nlive = \"/radio.mp3\"\n",
            dir.display()
        );
        let errs = parse(&own).unwrap_err();
        assert_eq!(
            (errs[0].key.as_str(), errs[0].line),
            ("stations.\"radio\".live", Some(3))
        );
        // Music and a live mount: a takeover chain; one string or a list; defaults.
        let ok = format!(
            "[stations.radio]\nmusic = \"{}\"\nlive = \"/studio.mp3\"\n\n[stations.two]\nlive = [\"/a.mp3\", \"/b.mp3\"]\ndead_air_seconds = 8\ntakeover_crossfade_seconds = 0\n",
            dir.display()
        );
        let c = parse(&ok).unwrap();
        let radio = &c.stations["radio"];
        assert_eq!(radio.live, ["/studio.mp3"]);
        assert_eq!(radio.takeover_crossfade_seconds, 1.0);
        assert_eq!(radio.dead_air_seconds, 0.0);
        let two = &c.stations["two"];
        assert_eq!(two.live, ["/a.mp3", "/b.mp3"]);
        assert_eq!(
            (two.takeover_crossfade_seconds, two.dead_air_seconds),
            (0.0, 8.0)
        );
    }

    #[test]
    fn type_errors_point_at_the_value() {
        let errs = parse("[limits]\n\nmax_sources = \"many\"\n").unwrap_err();
        assert_eq!(errs[0].line, Some(3));
        assert_eq!(errs[0].key, "limits.max_sources");
    }

    #[test]
    fn local_inputs_are_checked_with_key_and_line() {
        let dir = std::env::temp_dir().join(format!("floe-config-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("in.fifo");
        let _ = std::fs::remove_file(&fifo);
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let plain = dir.join("plain.raw");
        std::fs::write(&plain, b"").unwrap();
        let src = format!(
            "[stations.radio]\nmusic = \"{dir}\"\n\n[[stations.radio.inputs]]\npcm = \"{dir}/missing.fifo\"\n\n[[stations.radio.inputs]]\npcm = \"{plain}\"\nsample_rate = 1000\nchannels = 0\n\n[[stations.radio.inputs]]\nformat = \"s16le\"\n\n[[stations.radio.inputs]]\npcm = \"{fifo}\"\n\n[stations.two]\n\n[[stations.two.inputs]]\npcm = \"{fifo}\"\n\n[[stations.two.renditions]]\nmount = \"/two.mp3\"\ncodec = \"mp3\"\n",
            dir = dir.display(),
            plain = plain.display(),
            fifo = fifo.display(),
        );
        let got = keys_and_lines(&src);
        assert_eq!(
            got,
            vec![
                ("stations.\"radio\".inputs[1].pcm".to_string(), Some(5)),
                ("stations.\"radio\".inputs[2].pcm".to_string(), Some(8)),
                (
                    "stations.\"radio\".inputs[2].sample_rate".to_string(),
                    Some(9)
                ),
                (
                    "stations.\"radio\".inputs[2].channels".to_string(),
                    Some(10)
                ),
                // Neither pcm nor capture: the entry's header.
                ("stations.\"radio\".inputs[3].pcm".to_string(), Some(12)),
                ("stations.\"two\".inputs[1].pcm".to_string(), Some(21)),
            ]
        );
        let errs = parse(&src).unwrap_err();
        assert!(errs[0].message.contains("no such FIFO"), "{}", errs[0]);
        assert!(errs[1].message.contains("is not a FIFO"), "{}", errs[1]);
        assert!(
            errs[5].message.contains("also an input of station `radio`"),
            "{}",
            errs[5]
        );
        // A sound card: in a build without the `alsa` feature, an error that says so.
        let capture = "[stations.mic]\n\n[[stations.mic.inputs]]\ncapture = \"default\"\n";
        if cfg!(feature = "alsa") {
            assert!(parse(capture).is_ok());
        } else {
            let errs = parse(capture).unwrap_err();
            assert_eq!(
                (errs[0].key.as_str(), errs[0].line),
                ("stations.\"mic\".inputs[1].capture", Some(4))
            );
            assert!(errs[0].message.contains("--features alsa"), "{}", errs[0]);
        }
        // Standard input and a FIFO, with their defaults.
        let ok = format!(
            "[stations.radio]\n\n[[stations.radio.inputs]]\npcm = \"-\"\n\n[[stations.radio.inputs]]\npcm = \"{}\"\nformat = \"f32le\"\nsample_rate = 44100\nchannels = 1\ntitle = \"Line in\"\n",
            fifo.display()
        );
        let c = parse(&ok).unwrap();
        let inputs = &c.stations["radio"].inputs;
        assert_eq!(inputs[0].pcm.as_deref(), Some(std::path::Path::new("-")));
        assert_eq!(
            (
                inputs[0].sample_rate,
                inputs[0].channels,
                inputs[0].title.as_str()
            ),
            (48_000, 2, "Live")
        );
        assert_eq!(inputs[1].format, floe_station::local::SampleFormat::F32le);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

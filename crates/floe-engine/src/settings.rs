//! Limits and per-mount settings. The binary's config loader fills these; every field has a
//! default, so an empty config is a working one.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Icecast's default `icy-metaint`.
pub const DEFAULT_METAINT: usize = 16_000;
/// Icecast's default `queue-size`: a listener further behind than this is dropped.
pub const DEFAULT_QUEUE_SIZE: usize = 512 * 1024;
/// Icecast's default `burst-size`.
pub const DEFAULT_BURST_BYTES: usize = 65_536;

/// Settings of one mount as written in the config: every field optional, so a declared mount
/// only names what differs from the template (`[mount_defaults]`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MountSettings {
    /// Listeners allowed on this mount (the global limit still applies).
    pub max_listeners: Option<usize>,
    /// Audio bytes between ICY metadata blocks.
    pub metaint: Option<usize>,
    /// Burst sent on connect, in bytes (ignored when `burst_seconds` is set).
    pub burst_bytes: Option<usize>,
    /// Burst sent on connect, in seconds of audio.
    pub burst_seconds: Option<f64>,
    /// A listener further behind than this many bytes is dropped as too slow.
    pub queue_size: Option<usize>,
    /// Disconnect listeners after this many seconds (0 = never).
    pub max_listener_duration: Option<u64>,
    /// Mount whose stream listeners move to when this mount's source leaves.
    pub fallback: Option<String>,
    /// Move listeners back from the fallback when this mount's source returns.
    pub fallback_override: Option<bool>,
    /// A file sent to each new listener before the live stream.
    pub intro: Option<PathBuf>,
    /// Source user name for this mount (instead of the global one).
    pub source_user: Option<String>,
    /// Source password for this mount (instead of the global one).
    pub source_password: Option<String>,
    /// Stream name shown to listeners, overriding the source's `ice-name`.
    pub name: Option<String>,
    /// Stream description, overriding `ice-description`.
    pub description: Option<String>,
    /// Genre, overriding `ice-genre`.
    pub genre: Option<String>,
    /// Stream URL, overriding `ice-url`.
    pub url: Option<String>,
    /// Leave the mount out of public listings (`/status-json.xsl`, `/api/v1/mounts`, 7.html).
    pub hidden: Option<bool>,
    /// Offer the mount over HLS and DASH (segmented by Floe; see the `[hls]` section).
    pub hls: Option<bool>,
}

impl MountSettings {
    /// `self` with every unset field taken from `base`.
    pub fn or(&self, base: &MountSettings) -> MountSettings {
        macro_rules! pick {
            ($($f:ident),*) => { MountSettings { $($f: self.$f.clone().or_else(|| base.$f.clone())),* } };
        }
        pick!(
            max_listeners,
            metaint,
            burst_bytes,
            burst_seconds,
            queue_size,
            max_listener_duration,
            fallback,
            fallback_override,
            intro,
            source_user,
            source_password,
            name,
            description,
            genre,
            url,
            hidden,
            hls
        )
    }

    /// The concrete policy, with Floe's defaults for whatever is still unset.
    pub fn resolve(&self) -> MountPolicy {
        MountPolicy {
            max_listeners: self.max_listeners,
            metaint: self.metaint.unwrap_or(DEFAULT_METAINT).clamp(1, 1 << 20),
            burst: match (self.burst_seconds, self.burst_bytes) {
                (Some(s), _) => Burst::Seconds(s.max(0.0)),
                (None, Some(b)) => Burst::Bytes(b),
                (None, None) => Burst::Bytes(DEFAULT_BURST_BYTES),
            },
            queue_size: self.queue_size.unwrap_or(DEFAULT_QUEUE_SIZE).max(16 * 1024),
            max_listener_duration: self.max_listener_duration.filter(|d| *d > 0),
            fallback: self.fallback.clone(),
            fallback_override: self.fallback_override.unwrap_or(true),
            intro: self.intro.clone(),
            source_user: self.source_user.clone(),
            source_password: self.source_password.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            genre: self.genre.clone(),
            url: self.url.clone(),
            hidden: self.hidden.unwrap_or(false),
            hls: self.hls.unwrap_or(true),
        }
    }
}

/// How much audio a new listener gets at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Burst {
    /// At least this many bytes (then rounded back to a frame boundary).
    Bytes(usize),
    /// At least this many seconds of audio.
    Seconds(f64),
}

/// A mount's settings with every default applied.
#[derive(Debug, Clone, PartialEq)]
pub struct MountPolicy {
    pub max_listeners: Option<usize>,
    pub metaint: usize,
    pub burst: Burst,
    pub queue_size: usize,
    pub max_listener_duration: Option<u64>,
    pub fallback: Option<String>,
    pub fallback_override: bool,
    pub intro: Option<PathBuf>,
    pub source_user: Option<String>,
    pub source_password: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub genre: Option<String>,
    pub url: Option<String>,
    pub hidden: bool,
    /// Offered over HLS and DASH.
    pub hls: bool,
}

/// Engine-wide limits and the mount table.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Sources connected at once, over all mounts.
    pub max_sources: usize,
    /// Listeners connected at once, over all mounts.
    pub max_listeners: usize,
    /// Whether a source may create a mount that the config does not declare.
    pub auto_mounts: bool,
    /// The template for every mount.
    pub defaults: MountSettings,
    /// Declared mounts by path.
    pub mounts: BTreeMap<String, MountSettings>,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            max_sources: 16,
            max_listeners: 20_000,
            auto_mounts: true,
            defaults: MountSettings::default(),
            mounts: BTreeMap::new(),
        }
    }
}

impl EngineSettings {
    /// The policy of the mount at `path`: its declared settings over the template.
    pub fn policy(&self, path: &str) -> MountPolicy {
        match self.mounts.get(path) {
            Some(m) => m.or(&self.defaults).resolve(),
            None => self.defaults.resolve(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_settings_override_the_template() {
        let mut s = EngineSettings::default();
        s.defaults.metaint = Some(8192);
        s.defaults.burst_seconds = Some(2.0);
        s.mounts.insert(
            "/a".into(),
            MountSettings {
                metaint: Some(4000),
                ..Default::default()
            },
        );
        let a = s.policy("/a");
        assert_eq!(a.metaint, 4000);
        assert_eq!(a.burst, Burst::Seconds(2.0));
        let b = s.policy("/b");
        assert_eq!(b.metaint, 8192);
        assert!(b.fallback_override);
        assert_eq!(
            MountSettings::default().resolve().queue_size,
            DEFAULT_QUEUE_SIZE
        );
    }
}

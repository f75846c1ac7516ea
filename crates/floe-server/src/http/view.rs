//! A mount as status pages describe it: the config's overrides over what the source sent,
//! read from one consistent snapshot.

use floe_engine::{Engine, Mount, MountSnapshot};
use std::sync::Arc;
use std::time::SystemTime;

/// One mount and a snapshot of its state.
#[derive(Debug, Clone)]
pub struct MountView {
    /// The mount.
    pub mount: Arc<Mount>,
    /// Its state when the view was taken.
    pub snap: MountSnapshot,
}

impl MountView {
    /// A view of `mount` now.
    pub fn of(mount: Arc<Mount>) -> MountView {
        let snap = mount.snapshot();
        MountView { mount, snap }
    }

    /// Every mount, by path.
    pub fn all(engine: &Engine) -> Vec<MountView> {
        engine.mounts().into_iter().map(MountView::of).collect()
    }

    /// Mounts a public listing shows: not hidden, and (when `live_only`) with a source.
    pub fn listed(engine: &Engine, live_only: bool) -> Vec<MountView> {
        MountView::all(engine)
            .into_iter()
            .filter(|v| !v.snap.hidden && (!live_only || v.live()))
            .collect()
    }

    /// Its path.
    pub fn path(&self) -> &str {
        &self.snap.path
    }

    /// A source is connected.
    pub fn live(&self) -> bool {
        self.snap.source.is_some()
    }

    fn pick(
        &self,
        own: &Option<String>,
        theirs: impl Fn(&floe_engine::SourceInfo) -> &Option<String>,
    ) -> Option<String> {
        own.clone()
            .or_else(|| self.snap.source.as_deref().and_then(|s| theirs(s).clone()))
            .filter(|v| !v.is_empty())
    }

    /// Stream name (config, else `ice-name`).
    pub fn name(&self) -> Option<String> {
        self.pick(&self.mount.policy.name, |s| &s.name)
    }

    /// Stream description.
    pub fn description(&self) -> Option<String> {
        self.pick(&self.mount.policy.description, |s| &s.description)
    }

    /// Genre.
    pub fn genre(&self) -> Option<String> {
        self.pick(&self.mount.policy.genre, |s| &s.genre)
    }

    /// The station's web site.
    pub fn url(&self) -> Option<String> {
        self.pick(&self.mount.policy.url, |s| &s.url)
    }

    /// Content type of the stream, when live.
    pub fn content_type(&self) -> Option<String> {
        self.snap.content_type.clone().filter(|c| !c.is_empty())
    }

    /// Bitrate in kbit/s: the source's declared one, else what the frames say.
    pub fn bitrate(&self) -> Option<u32> {
        self.snap
            .source
            .as_deref()
            .and_then(|s| s.bitrate)
            .or_else(|| Some(self.snap.audio.bitrate_kbps).filter(|b| *b > 0))
    }

    /// `ice-audio-info` as sent, else one built from what the frames say.
    pub fn audio_info(&self) -> Option<String> {
        if let Some(info) = self
            .snap
            .source
            .as_deref()
            .and_then(|s| s.audio_info.clone())
        {
            return Some(info);
        }
        let a = self.snap.audio;
        let mut parts = Vec::new();
        if a.channels > 0 {
            parts.push(format!("channels={}", a.channels));
        }
        if a.sample_rate > 0 {
            parts.push(format!("samplerate={}", a.sample_rate));
        }
        if let Some(b) = self.bitrate() {
            parts.push(format!("bitrate={b}"));
        }
        (!parts.is_empty()).then(|| parts.join(";"))
    }

    /// Listed in directories (`ice-public`), never for a hidden mount.
    pub fn public(&self) -> bool {
        !self.snap.hidden && self.snap.source.as_deref().and_then(|s| s.public) == Some(true)
    }

    /// The whole "Artist - Title" string now playing.
    pub fn song(&self) -> Option<&str> {
        self.snap
            .meta
            .as_deref()
            .map(|m| m.song.as_str())
            .filter(|s| !s.is_empty())
    }

    /// The artist, when it came separately.
    pub fn artist(&self) -> Option<&str> {
        self.snap
            .meta
            .as_deref()
            .and_then(|m| m.artist.as_deref())
            .filter(|s| !s.is_empty())
    }

    /// The title alone when it came separately, else the whole song string.
    pub fn title(&self) -> Option<&str> {
        self.snap
            .meta
            .as_deref()
            .and_then(|m| m.title.as_deref())
            .filter(|s| !s.is_empty())
            .or_else(|| self.song())
    }

    /// When the current source connected.
    pub fn stream_start(&self) -> Option<SystemTime> {
        self.snap.stream_start.filter(|_| self.live())
    }

    /// Distinct client addresses among the listeners now.
    pub fn unique_listeners(&self) -> usize {
        let mut ips: Vec<String> = self
            .mount
            .listeners()
            .iter()
            .map(|l| l.ip.clone())
            .collect();
        ips.sort_unstable();
        ips.dedup();
        ips.len()
    }
}

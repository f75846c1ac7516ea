//! A station as the config file declares it (`[stations."name"]`), with defaults for every key
//! and a validation pass that names the offending key.

use crate::local::SampleFormat;
use floe_media::Codec;
use serde::Deserialize;
use std::path::PathBuf;

/// Default loudness target (LUFS): what most streaming services aim at.
pub const DEFAULT_LOUDNESS_TARGET: f64 = -16.0;
/// Longest crossfade accepted, in seconds.
pub const MAX_CROSSFADE_SECONDS: f64 = 30.0;
/// Longest takeover crossfade accepted, in seconds.
pub const MAX_TAKEOVER_CROSSFADE_SECONDS: f64 = 10.0;
/// Longest dead-air time accepted, in seconds.
pub const MAX_DEAD_AIR_SECONDS: f64 = 3600.0;
/// A live input quieter than this (peak, dBFS) is silent for dead-air detection.
pub const DEAD_AIR_DBFS: f32 = -50.0;
/// Sample rates a local input may send (Hz).
pub const INPUT_RATES: std::ops::RangeInclusive<u32> = 8_000..=192_000;
/// Most channels a local input may send (they are mixed to the station's).
pub const MAX_INPUT_CHANNELS: u16 = 8;
/// Sample rates a station may run at.
pub const STATION_RATES: [u32; 6] = [22_050, 24_000, 32_000, 44_100, 48_000, 96_000];

/// The order tracks are played in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// File name order (folders) or list order (playlists), then from the top again.
    Sequential,
    /// A random order in which no track repeats until every track has played.
    #[default]
    Shuffle,
    /// Any track each time (never the same one twice in a row when there are two or more).
    Random,
}

/// One station.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StationConfig {
    /// Stream name shown to listeners (empty: the station's key).
    pub name: String,
    /// Stream description.
    pub description: String,
    /// Genre.
    pub genre: String,
    /// A folder (scanned recursively) or an `.m3u`/`.m3u8`/`.pls` playlist.
    pub music: PathBuf,
    /// Live mounts whose streams are decoded and re-encoded into this station's renditions
    /// (`"/live.mp3"` or a list, first has priority). With `music` too, a live source takes
    /// over the station while it is connected and hands back to the auto-DJ when it leaves.
    #[serde(deserialize_with = "one_or_many")]
    pub live: Vec<String>,
    /// Local inputs (raw PCM on standard input or a FIFO, a sound card), after the live
    /// mounts in the chain and before the auto-DJ, first first.
    pub inputs: Vec<InputConfig>,
    /// Seconds of equal-power crossfade when a live input takes over or hands back
    /// (0: a hard cut).
    pub takeover_crossfade_seconds: f64,
    /// Seconds of silence (below [`DEAD_AIR_DBFS`]) on a live input after which it falls
    /// through to the next input of the chain (0: never).
    pub dead_air_seconds: f64,
    /// `sequential`, `shuffle` or `random`.
    pub order: Order,
    /// Seconds of equal-power crossfade between tracks; 0 plays them gapless, end to end.
    pub crossfade_seconds: f64,
    /// Bring every track to `loudness_target` (ReplayGain tags when present, else measured).
    pub normalise: bool,
    /// Integrated loudness target in LUFS (EBU R128).
    pub loudness_target: f64,
    /// A folder (or playlist) of jingles, played every `jingle_every` tracks.
    pub jingles: Option<PathBuf>,
    /// Music tracks between two jingles (0: no jingles).
    pub jingle_every: u32,
    /// Append one line per track played to this file (the log gets one line per track anyway).
    pub play_log: Option<PathBuf>,
    /// The station's sample rate: tracks are resampled to it once, renditions at other rates
    /// (Opus: 48 kHz) once more per rate.
    pub sample_rate: u32,
    /// 1 or 2.
    pub channels: u16,
    /// The encodings listeners get, each on its own mount. Empty: MP3 128k on `/{key}.mp3`
    /// and Opus 96k on `/{key}.opus`.
    pub renditions: Vec<RenditionConfig>,
    /// Seed for shuffle/random (tests); unset: from the clock.
    pub seed: Option<u64>,
}

impl Default for StationConfig {
    fn default() -> Self {
        StationConfig {
            name: String::new(),
            description: String::new(),
            genre: String::new(),
            music: PathBuf::new(),
            live: Vec::new(),
            inputs: Vec::new(),
            takeover_crossfade_seconds: 1.0,
            dead_air_seconds: 0.0,
            order: Order::default(),
            crossfade_seconds: 0.0,
            normalise: true,
            loudness_target: DEFAULT_LOUDNESS_TARGET,
            jingles: None,
            jingle_every: 0,
            play_log: None,
            sample_rate: 44_100,
            channels: 2,
            renditions: Vec::new(),
            seed: None,
        }
    }
}

/// One rendition: a codec and bitrate on a mount.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenditionConfig {
    /// The mount path, e.g. `/radio.mp3`.
    pub mount: String,
    /// `mp3`, `opus`, `vorbis`, `flac`, `wav`, and with the `fdk-aac` feature `aac`, `he-aac`.
    pub codec: String,
    /// kbit/s (ignored for FLAC and WAV); unset: the codec's default (see [`default_bitrate`]).
    pub bitrate: Option<u32>,
}

/// A local input: raw PCM from standard input or a FIFO (`pcm`), or a sound card (`capture`,
/// in a build with the `alsa` feature). Exactly one of the two.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InputConfig {
    /// `-` for standard input, or the path of a FIFO (made with `mkfifo`).
    pub pcm: Option<PathBuf>,
    /// An ALSA capture device by name, as `arecord -L` lists them (e.g. `default`,
    /// `plughw:CARD=Device,DEV=0`).
    pub capture: Option<String>,
    /// The samples: `s16le`, `s32le` or `f32le`.
    pub format: SampleFormat,
    /// The writer's (or the device's) sample rate; resampled to the station's.
    pub sample_rate: u32,
    /// The writer's (or the device's) channels; mixed to the station's.
    pub channels: u16,
    /// The title while it plays.
    pub title: String,
}

impl Default for InputConfig {
    fn default() -> Self {
        InputConfig {
            pcm: None,
            capture: None,
            format: SampleFormat::S16le,
            sample_rate: 48_000,
            channels: 2,
            title: "Live".into(),
        }
    }
}

/// True when this build can capture from a sound card (the `alsa` feature).
pub const CAPTURE_AVAILABLE: bool = cfg!(feature = "alsa");

/// `live = "/a"` or `live = ["/a", "/b"]`.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) if s.is_empty() => Vec::new(),
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// The bitrate a rendition gets when the config names none (kbit/s).
pub fn default_bitrate(codec: Codec) -> u32 {
    match codec {
        Codec::Mp3 | Codec::Vorbis | Codec::AacLc => 128,
        Codec::Opus => 96,
        Codec::HeAac => 48,
        Codec::Flac | Codec::PcmS16Le => 0,
    }
}

/// A problem with a station's settings: the key (relative to the station's table, e.g.
/// `crossfade_seconds` or `renditions.2.codec`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key inside `[stations."name"]`; `renditions.N.key` for the N-th (1-based)
    /// rendition, `inputs.N.key` for the N-th local input.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl StationConfig {
    /// The stream name: `name`, or the station's key.
    pub fn display_name(&self, key: &str) -> String {
        if self.name.is_empty() {
            key.to_string()
        } else {
            self.name.clone()
        }
    }

    /// The renditions, with the defaults filled in when none are declared.
    pub fn renditions_or_default(&self, key: &str) -> Vec<RenditionConfig> {
        if !self.renditions.is_empty() {
            return self.renditions.clone();
        }
        vec![
            RenditionConfig {
                mount: format!("/{key}.mp3"),
                codec: "mp3".into(),
                bitrate: Some(128),
            },
            RenditionConfig {
                mount: format!("/{key}.opus"),
                codec: "opus".into(),
                bitrate: Some(96),
            },
        ]
    }

    /// Every problem with the settings (empty when they are usable). `key` is the station's
    /// name in `[stations."key"]`. Paths are checked for existence.
    pub fn problems(&self, key: &str) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut p = |key: &str, message: String| {
            out.push(Problem {
                key: key.to_string(),
                message,
            })
        };
        let renditions = self.renditions_or_default(key);
        for (i, live) in self.live.iter().enumerate() {
            if !floe_engine::registry::valid_mount_path(live) {
                p("live", format!("`{live}` is not a mount path"));
            } else if renditions.iter().any(|r| &r.mount == live) {
                p(
                    "live",
                    format!("`{live}` is one of the station's renditions: it cannot be live"),
                );
            } else if self.live[..i].contains(live) {
                p("live", format!("`{live}` is listed twice"));
            }
        }
        for (i, input) in self.inputs.iter().enumerate() {
            input_problems(
                input,
                &self.inputs[..i],
                &format!("inputs.{}", i + 1),
                &mut p,
            );
        }
        if self.live.is_empty() && self.inputs.is_empty() && self.music.as_os_str().is_empty() {
            p(
                "music",
                "a folder or an .m3u/.pls playlist is required (or `live`, a mount, or `inputs`)"
                    .into(),
            );
        } else if !self.music.as_os_str().is_empty() && !self.music.exists() {
            p(
                "music",
                format!("no such file or folder: {}", self.music.display()),
            );
        }
        if !(0.0..=MAX_TAKEOVER_CROSSFADE_SECONDS).contains(&self.takeover_crossfade_seconds) {
            p(
                "takeover_crossfade_seconds",
                format!("must be between 0 and {MAX_TAKEOVER_CROSSFADE_SECONDS}"),
            );
        }
        if !(0.0..=MAX_DEAD_AIR_SECONDS).contains(&self.dead_air_seconds) {
            p(
                "dead_air_seconds",
                format!("must be between 0 and {MAX_DEAD_AIR_SECONDS}"),
            );
        } else if self.dead_air_seconds > 0.0 && self.live.is_empty() && self.inputs.is_empty() {
            p(
                "dead_air_seconds",
                "needs `live` (a live mount) or `inputs`".into(),
            );
        }
        if !(0.0..=MAX_CROSSFADE_SECONDS).contains(&self.crossfade_seconds) {
            p(
                "crossfade_seconds",
                format!("must be between 0 and {MAX_CROSSFADE_SECONDS}"),
            );
        }
        if !(-70.0..=0.0).contains(&self.loudness_target) {
            p("loudness_target", "must be between -70 and 0 LUFS".into());
        }
        if let Some(j) = &self.jingles {
            if !j.exists() {
                p(
                    "jingles",
                    format!("no such file or folder: {}", j.display()),
                );
            }
        }
        if self.jingle_every > 0 && self.jingles.is_none() {
            p(
                "jingle_every",
                "needs `jingles` (a folder of jingles)".into(),
            );
        }
        if !STATION_RATES.contains(&self.sample_rate) {
            p("sample_rate", format!("must be one of {STATION_RATES:?}"));
        }
        if !(1..=2).contains(&self.channels) {
            p("channels", "must be 1 or 2".into());
        }
        for (i, r) in renditions.iter().enumerate() {
            let k = |f: &str| format!("renditions.{}.{f}", i + 1);
            if !floe_engine::registry::valid_mount_path(&r.mount) {
                p(&k("mount"), format!("`{}` is not a mount path", r.mount));
            }
            if renditions[..i].iter().any(|o| o.mount == r.mount) {
                p(&k("mount"), format!("`{}` is used twice", r.mount));
            }
            match Codec::from_name(&r.codec) {
                None => p(
                    &k("codec"),
                    format!(
                        "`{}` is not one of mp3, opus, vorbis, flac, wav, aac, he-aac",
                        r.codec
                    ),
                ),
                Some(c) if !c.available() => p(
                    &k("codec"),
                    format!("`{}` needs a build with the `fdk-aac` feature", r.codec),
                ),
                Some(c) => {
                    if let Some(b) = r.bitrate {
                        let (lo, hi) = bitrate_range(c);
                        if hi > 0 && !(lo..=hi).contains(&b) {
                            p(
                                &k("bitrate"),
                                format!("{} takes {lo} to {hi} kbit/s", c.name()),
                            );
                        }
                    }
                }
            }
        }
        out
    }
}

/// The problems of one local input (`key`: `inputs.N`); `before`: the station's inputs
/// listed before it.
fn input_problems(
    input: &InputConfig,
    before: &[InputConfig],
    key: &str,
    p: &mut impl FnMut(&str, String),
) {
    let k = |f: &str| format!("{key}.{f}");
    match (&input.pcm, &input.capture) {
        (Some(_), Some(_)) | (None, None) => p(
            &k("pcm"),
            "set either `pcm` (\"-\" or a FIFO) or `capture` (a sound card)".into(),
        ),
        (Some(path), None) => {
            if before.iter().any(|o| o.pcm.as_ref() == Some(path)) {
                p(&k("pcm"), format!("`{}` is listed twice", path.display()));
            } else if path.as_os_str() != "-" {
                use std::os::unix::fs::FileTypeExt;
                match std::fs::metadata(path) {
                    Err(_) => p(
                        &k("pcm"),
                        format!(
                            "no such FIFO: {} (make it with `mkfifo`, or use \"-\" for standard input)",
                            path.display()
                        ),
                    ),
                    Ok(m) if !m.file_type().is_fifo() => p(
                        &k("pcm"),
                        format!(
                            "{} is not a FIFO (make one with `mkfifo`, or use \"-\" for standard input)",
                            path.display()
                        ),
                    ),
                    Ok(_) => {}
                }
            }
        }
        (None, Some(device)) => {
            if !CAPTURE_AVAILABLE {
                p(
                    &k("capture"),
                    "capturing from a sound card needs a build with the `alsa` feature \
                     (cargo build --release -p floe --features alsa)"
                        .into(),
                );
            } else if device.trim().is_empty() {
                p(
                    &k("capture"),
                    "a device name is required (see `arecord -L`)".into(),
                );
            } else if before.iter().any(|o| o.capture.as_ref() == Some(device)) {
                p(&k("capture"), format!("`{device}` is listed twice"));
            }
        }
    }
    if !INPUT_RATES.contains(&input.sample_rate) {
        p(
            &k("sample_rate"),
            format!(
                "must be between {} and {} Hz",
                INPUT_RATES.start(),
                INPUT_RATES.end()
            ),
        );
    }
    if !(1..=MAX_INPUT_CHANNELS).contains(&input.channels) {
        p(
            &k("channels"),
            format!("must be between 1 and {MAX_INPUT_CHANNELS}"),
        );
    }
}

/// The bitrates (kbit/s) a codec accepts here; `(0, 0)` when it takes none.
pub fn bitrate_range(codec: Codec) -> (u32, u32) {
    match codec {
        Codec::Mp3 => (8, 320),
        Codec::Opus => (6, 510),
        Codec::Vorbis => (32, 500),
        Codec::AacLc => (16, 320),
        Codec::HeAac => (16, 96),
        Codec::Flac | Codec::PcmS16Le => (0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_problems() {
        let dir = std::env::temp_dir();
        let mut c = StationConfig {
            music: dir.clone(),
            ..StationConfig::default()
        };
        assert!(c.problems("radio").is_empty(), "{:?}", c.problems("radio"));
        let r = c.renditions_or_default("radio");
        assert_eq!(r[0].mount, "/radio.mp3");
        assert_eq!(r[1].mount, "/radio.opus");
        c.crossfade_seconds = 99.0;
        c.channels = 3;
        c.renditions = vec![
            RenditionConfig {
                mount: "/a.mp3".into(),
                codec: "mp4".into(),
                bitrate: None,
            },
            RenditionConfig {
                mount: "/a.mp3".into(),
                codec: "mp3".into(),
                bitrate: Some(999),
            },
        ];
        let keys: Vec<String> = c.problems("radio").into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "crossfade_seconds",
                "channels",
                "renditions.1.codec",
                "renditions.2.mount",
                "renditions.2.bitrate"
            ]
        );
        c.music = dir.join("no-such-folder-floe");
        assert_eq!(c.problems("radio")[0].key, "music");
        let live = |live: &str, music: &str| StationConfig {
            live: if live.is_empty() {
                Vec::new()
            } else {
                vec![live.into()]
            },
            music: music.into(),
            ..StationConfig::default()
        };
        assert!(live("/live.mp3", "").problems("l").is_empty());
        // Live with an auto-DJ behind it: a takeover chain.
        assert!(live("/live.mp3", "/tmp").problems("l").is_empty());
        let mut chain = live("/a.mp3", "/tmp");
        chain.live.push("/a.mp3".into());
        chain.takeover_crossfade_seconds = -1.0;
        chain.dead_air_seconds = 5.0;
        let keys: Vec<String> = chain.problems("l").into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["live", "takeover_crossfade_seconds"]);
        let mut no_live = live("", "/tmp");
        no_live.dead_air_seconds = 5.0;
        assert_eq!(no_live.problems("l")[0].key, "dead_air_seconds");
        assert_eq!(live("live", "").problems("l")[0].key, "live");
        assert_eq!(live("/l.mp3", "").problems("l")[0].key, "live");
        assert_eq!(live("", "").problems("l")[0].key, "music");
    }
}

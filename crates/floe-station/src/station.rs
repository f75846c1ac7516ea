//! A running station: a thread that pulls PCM from its chain (live inputs, auto-DJ, silence:
//! see [`crate::chain`]), resamples it once per rate its
//! renditions need, encodes it once per rendition and pushes the units to each rendition's
//! mount through an engine [`SourceSession`], paced to real time.
//!
//! Pacing: audio is produced up to [`LEAD`] ahead of the wall clock (so a listener's burst has
//! something to send), then the thread sleeps. When it falls more than [`MAX_BEHIND`] behind
//! (an overloaded machine), it stops trying to catch up and continues from now.
//!
//! Titles: the auto-DJ marks the sample where a track starts; every rendition sets the mount's
//! title right before pushing the unit that carries that sample (see [`crate::rendition`]), so
//! the title changes at the same audio position in every rendition.
//!
//! Shutdown: [`StationHandle::stop`] wakes the thread and joins it; dropping the sessions lets
//! listeners drain what the mounts hold.

use crate::autodj::{AutoDj, AutoDjSettings, Music, Output};
use crate::capture::{CaptureError, CaptureSource, OpenCapture};
use crate::chain::{Chain, Input, LiveInput, LiveSettings, Silence};
use crate::config::{default_bitrate, InputConfig, Order, StationConfig};
use crate::local::PcmSource;
use crate::playlist::Playlist;
use crate::rendition::{Fanout, RenditionSpec, Step};
use floe_engine::{Engine, SourceInfo, SourceSession};
use floe_media::Codec;
use floe_proto::frame::AudioInfo;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How far ahead of the wall clock audio is produced.
pub const LEAD: Duration = Duration::from_millis(1500);
/// How far behind the wall clock the station may fall before it gives up catching up.
pub const MAX_BEHIND: Duration = Duration::from_secs(5);
/// Frames pulled from the auto-DJ per step.
pub const STEP_FRAMES: usize = 2048;
/// Longest a start-up may take to open every rendition's encoder.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a station did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StationError {
    /// A rendition's codec name is unknown or not built in.
    #[error("{mount}: codec `{codec}` is not available")]
    Codec {
        /// The rendition's mount.
        mount: String,
        /// The codec name.
        codec: String,
    },
    /// The engine refused the mount.
    #[error("{mount}: {error}")]
    Mount {
        /// The mount.
        mount: String,
        /// The engine's reason.
        error: floe_engine::SourceError,
    },
    /// An encoder or resampler could not be built.
    #[error("{mount}: {message}")]
    Encoder {
        /// The mount.
        mount: String,
        /// What failed.
        message: String,
    },
    /// A local input's sound card could not be opened.
    #[error("stations.\"{station}\".inputs[{index}].capture: {error}")]
    Capture {
        /// The station's key in the config.
        station: String,
        /// The input's place in `inputs` (1-based).
        index: usize,
        /// What failed.
        error: CaptureError,
    },
    /// The station's thread could not start or died during start-up.
    #[error("station thread: {0}")]
    Thread(String),
}

/// Where a station's music comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum MusicSource {
    /// A folder or playlist.
    Path {
        /// Folder or playlist file.
        origin: PathBuf,
        /// Play order.
        order: Order,
        /// RNG seed (tests).
        seed: Option<u64>,
    },
    /// Floe's synthesised demo pieces.
    Demo,
    /// No auto-DJ: the live inputs, then silence.
    None,
}

/// A local input of a station (see [`crate::local`] and [`crate::capture`]).
#[derive(Debug, Clone, PartialEq)]
pub enum LocalInput {
    /// Raw PCM from standard input or a FIFO.
    Pcm(PcmSource),
    /// A sound card.
    Capture(CaptureSource),
}

impl LocalInput {
    /// The input for `[[stations."key".inputs]]` (validated: exactly one of `pcm`/`capture`).
    pub fn from_config(c: &InputConfig) -> Self {
        match (&c.pcm, &c.capture) {
            (_, Some(device)) if c.pcm.is_none() => LocalInput::Capture(CaptureSource {
                device: device.clone(),
                sample: c.format,
                rate: c.sample_rate,
                channels: c.channels,
                title: c.title.clone(),
            }),
            (pcm, _) => LocalInput::Pcm(PcmSource {
                path: pcm.as_ref().filter(|p| p.as_os_str() != "-").cloned(),
                sample: c.format,
                rate: c.sample_rate,
                channels: c.channels,
                title: c.title.clone(),
            }),
        }
    }

    /// For logs and the chain's labels.
    pub fn label(&self) -> String {
        match self {
            LocalInput::Pcm(p) => p.label(),
            LocalInput::Capture(c) => c.label(),
        }
    }
}

/// Everything a station needs to run.
#[derive(Debug, Clone, PartialEq)]
pub struct StationSpec {
    /// The station's key in the config (`[stations."key"]`), for error messages.
    pub key: String,
    /// Stream name.
    pub name: String,
    /// Stream description.
    pub description: String,
    /// Genre.
    pub genre: String,
    /// The music.
    pub music: MusicSource,
    /// Live mounts that take over the station while a source feeds them, first first.
    pub live: Vec<String>,
    /// Local inputs, after the live mounts in the chain, first first.
    pub inputs: Vec<LocalInput>,
    /// Frames of the equal-power crossfade at a switch between inputs (0: a hard cut).
    pub takeover_crossfade_frames: usize,
    /// Seconds of silence on a live input after which it falls through (0: never).
    pub dead_air_seconds: f64,
    /// Jingles folder or playlist.
    pub jingles: Option<PathBuf>,
    /// The auto-DJ's settings.
    pub autodj: AutoDjSettings,
    /// The renditions.
    pub renditions: Vec<RenditionSpec>,
}

impl StationSpec {
    /// The spec for `[stations."key"]`. Fails on an unknown or unavailable codec.
    pub fn from_config(key: &str, c: &StationConfig) -> Result<Self, StationError> {
        let renditions = c
            .renditions_or_default(key)
            .into_iter()
            .map(|r| {
                let codec = Codec::from_name(&r.codec).filter(|c| c.available()).ok_or(
                    StationError::Codec {
                        mount: r.mount.clone(),
                        codec: r.codec.clone(),
                    },
                )?;
                Ok(RenditionSpec {
                    mount: r.mount,
                    codec,
                    bitrate_kbps: r.bitrate.unwrap_or_else(|| default_bitrate(codec)),
                })
            })
            .collect::<Result<Vec<_>, StationError>>()?;
        if !crate::config::CAPTURE_AVAILABLE {
            if let Some(i) = c.inputs.iter().position(|i| i.capture.is_some()) {
                return Err(StationError::Capture {
                    station: key.to_string(),
                    index: i + 1,
                    error: CaptureError::NotBuilt,
                });
            }
        }
        Ok(StationSpec {
            key: key.to_string(),
            name: c.display_name(key),
            description: c.description.clone(),
            genre: c.genre.clone(),
            music: if c.music.as_os_str().is_empty() {
                MusicSource::None
            } else {
                MusicSource::Path {
                    origin: c.music.clone(),
                    order: c.order,
                    seed: c.seed,
                }
            },
            live: c.live.clone(),
            inputs: c.inputs.iter().map(LocalInput::from_config).collect(),
            takeover_crossfade_frames: (c.takeover_crossfade_seconds.max(0.0)
                * f64::from(c.sample_rate))
            .round() as usize,
            dead_air_seconds: c.dead_air_seconds,
            jingles: c.jingles.clone(),
            autodj: AutoDjSettings::from_config(&c.display_name(key), c),
            renditions,
        })
    }

    /// The demo station: "Floe Demo", synthesised music, MP3 128k on `/demo.mp3` and Ogg Opus
    /// 96k on `/demo.opus`, crossfaded over 3 s.
    pub fn demo() -> Self {
        let c = StationConfig {
            crossfade_seconds: 3.0,
            ..StationConfig::default()
        };
        let mut autodj = AutoDjSettings::from_config("demo", &c);
        autodj.station = "Floe Demo".into();
        StationSpec {
            key: "demo".into(),
            name: "Floe Demo".into(),
            description: "Music Floe synthesises itself".into(),
            genre: "Ambient".into(),
            music: MusicSource::Demo,
            live: Vec::new(),
            inputs: Vec::new(),
            takeover_crossfade_frames: 0,
            dead_air_seconds: 0.0,
            jingles: None,
            autodj,
            renditions: vec![
                RenditionSpec {
                    mount: "/demo.mp3".into(),
                    codec: Codec::Mp3,
                    bitrate_kbps: 128,
                },
                RenditionSpec {
                    mount: "/demo.opus".into(),
                    codec: Codec::Opus,
                    bitrate_kbps: 96,
                },
            ],
        }
    }

    /// The auto-DJ, unless the station has no music.
    pub fn autodj(&self) -> Option<AutoDj> {
        let music = match &self.music {
            MusicSource::Path {
                origin,
                order,
                seed,
            } => Music::Playlist(Box::new(Playlist::new(origin, *order, *seed))),
            MusicSource::Demo => Music::demo(),
            MusicSource::None => return None,
        };
        let jingles = self.jingles.as_ref().map(|j| {
            let seed = match &self.music {
                MusicSource::Path { seed, .. } => seed.map(|s| s ^ 0x6a09_e667),
                MusicSource::Demo | MusicSource::None => None,
            };
            Music::Playlist(Box::new(Playlist::new(j, Order::Shuffle, seed)))
        });
        Some(AutoDj::new(self.autodj.clone(), music, jingles))
    }

    /// The live inputs, the live mounts' then the local inputs' (feeds empty until their
    /// threads run).
    pub fn live_inputs(&self) -> Vec<LiveInput> {
        let settings = LiveSettings::new(
            self.autodj.format,
            self.dead_air_seconds,
            self.takeover_crossfade_frames,
        );
        self.live
            .iter()
            .cloned()
            .chain(self.inputs.iter().map(LocalInput::label))
            .map(|name| LiveInput::new(name, settings))
            .collect()
    }

    /// The chain: `live` inputs (mounts, then local inputs), the auto-DJ, silence titled with
    /// the station's name.
    pub fn chain(&self, live: &[LiveInput]) -> Chain {
        let mut inputs: Vec<Box<dyn Input>> = Vec::new();
        for l in live {
            inputs.push(Box::new(l.clone()));
        }
        if let Some(dj) = self.autodj() {
            inputs.push(Box::new(dj));
        }
        inputs.push(Box::new(Silence::new(
            self.autodj.format,
            Some(self.name.clone()),
        )));
        Chain::new(self.autodj.format, inputs, self.takeover_crossfade_frames)
    }
}

/// Decides how long to sleep so that production stays at most `lead` ahead of real time.
#[derive(Debug, Clone)]
pub struct Pacer {
    rate: u32,
    lead: Duration,
    max_behind: Duration,
    start: Instant,
    /// Frames produced since `start`.
    frames: u64,
}

impl Pacer {
    /// A pacer for audio at `rate`, starting at `now`.
    pub fn new(rate: u32, lead: Duration, max_behind: Duration, now: Instant) -> Self {
        Pacer {
            rate: rate.max(1),
            lead,
            max_behind,
            start: now,
            frames: 0,
        }
    }

    /// Records `frames` more produced.
    pub fn produced(&mut self, frames: usize) {
        self.frames += frames as u64;
    }

    /// How long to sleep at `now` before producing more (`None`: produce now). Falling more
    /// than `max_behind` behind restarts the clock at `now` (the backlog is not made up).
    pub fn wait(&mut self, now: Instant) -> Option<Duration> {
        let media = Duration::from_secs_f64(self.frames as f64 / f64::from(self.rate));
        let due = self.start + media;
        if due + self.max_behind < now {
            tracing::warn!(
                behind_ms = (now - due).as_millis() as u64,
                "station fell behind real time; continuing from now"
            );
            self.start = now;
            self.frames = 0;
            return None;
        }
        let ahead = due.checked_duration_since(now)?;
        ahead.checked_sub(self.lead).filter(|d| !d.is_zero())
    }
}

/// A stop flag a thread can sleep on.
#[derive(Debug, Default)]
pub(crate) struct Stop {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl Stop {
    /// True once stopped.
    pub(crate) fn is_set(&self) -> bool {
        *self.stopped.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sleeps up to `d`; true when stopped.
    pub(crate) fn sleep(&self, d: Duration) -> bool {
        let guard = self.stopped.lock().unwrap_or_else(|e| e.into_inner());
        let (guard, _) = self
            .wake
            .wait_timeout_while(guard, d, |stopped| !*stopped)
            .unwrap_or_else(|e| e.into_inner());
        *guard
    }

    /// Stops: wakes every sleeper.
    pub(crate) fn set(&self) {
        *self.stopped.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.wake.notify_all();
    }
}

/// A running station. Stop it with [`StationHandle::stop`]; dropping it stops it too.
#[derive(Debug)]
pub struct StationHandle {
    name: String,
    mounts: Vec<String>,
    stop: Arc<Stop>,
    thread: Option<JoinHandle<()>>,
}

impl StationHandle {
    /// The station's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The mounts it feeds.
    pub fn mounts(&self) -> &[String] {
        &self.mounts
    }

    /// Stops the thread and waits for it (it finishes its current step first).
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.set();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for StationHandle {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Starts `spec` on its own thread, feeding `engine`. Returns once every rendition's mount is
/// taken and its encoder built (or with the first error).
pub fn start(engine: Arc<Engine>, spec: StationSpec) -> Result<StationHandle, StationError> {
    let stop = Arc::new(Stop::default());
    let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel::<Result<(), StationError>>(1);
    let name = spec.name.clone();
    let mounts = spec.renditions.iter().map(|r| r.mount.clone()).collect();
    let thread = std::thread::Builder::new()
        .name(format!("floe-station {}", spec.name))
        .spawn({
            let stop = stop.clone();
            move || match open(&engine, &spec) {
                Ok((fanout, sessions, captures)) => {
                    let _ = ready_tx.send(Ok(()));
                    run(&engine, &spec, fanout, sessions, captures, &stop);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            }
        })
        .map_err(|e| StationError::Thread(e.to_string()))?;
    let handle = StationHandle {
        name,
        mounts,
        stop,
        thread: Some(thread),
    };
    match ready_rx.recv_timeout(START_TIMEOUT) {
        Ok(Ok(())) => Ok(handle),
        Ok(Err(e)) => Err(e),
        Err(e) => Err(StationError::Thread(e.to_string())),
    }
}

/// The sound cards of a station, opened, by their place in `spec.inputs`.
type Captures = Vec<(usize, OpenCapture)>;

/// Opens the sound cards, builds the encoders (on the station's thread: Vorbis encoders must
/// stay on theirs) and takes the mounts.
fn open(
    engine: &Arc<Engine>,
    spec: &StationSpec,
) -> Result<(Fanout, Vec<SourceSession>, Captures), StationError> {
    let mut captures = Vec::new();
    for (i, input) in spec.inputs.iter().enumerate() {
        if let LocalInput::Capture(c) = input {
            let open = crate::capture::open(c).map_err(|error| StationError::Capture {
                station: spec.key.clone(),
                index: i + 1,
                error,
            })?;
            captures.push((i, open));
        }
    }
    let fmt = spec.autodj.format;
    let fanout = Fanout::new(&spec.renditions, fmt.rate, fmt.channels)
        .map_err(|(mount, message)| StationError::Encoder { mount, message })?;
    let mut sessions = Vec::new();
    for rendition in fanout.renditions() {
        let mount = &rendition.spec().mount;
        let info = rendition.info().clone();
        let kbps = info.bitrate.map(|b| b / 1000);
        let audio_info = format!(
            "samplerate={};channels={}{}",
            info.rate,
            info.channels,
            kbps.map(|k| format!(";bitrate={k}")).unwrap_or_default()
        );
        let mut session = engine
            .open_source(
                mount,
                SourceInfo {
                    content_type: rendition.content_type().to_string(),
                    name: Some(spec.name.clone()),
                    description: (!spec.description.is_empty()).then(|| spec.description.clone()),
                    genre: (!spec.genre.is_empty()).then(|| spec.genre.clone()),
                    url: None,
                    public: Some(false),
                    bitrate: kbps,
                    audio_info: Some(audio_info),
                    user_agent: Some(format!("Floe station ({})", info.codec.name())),
                    ip: "127.0.0.1".into(),
                },
            )
            .map_err(|error| StationError::Mount {
                mount: mount.clone(),
                error,
            })?;
        session.set_audio_info(AudioInfo {
            sample_rate: info.rate,
            channels: info.channels as u8,
            bitrate_kbps: kbps.unwrap_or(0),
        });
        let headers = rendition.header_units();
        if !headers.is_empty() {
            session.push_units(headers);
        }
        sessions.push(session);
    }
    tracing::info!(
        station = %spec.name,
        mounts = ?spec.renditions.iter().map(|r| format!("{} ({} {}k)", r.mount, r.codec.name(), r.bitrate_kbps)).collect::<Vec<_>>(),
        "station started"
    );
    Ok((fanout, sessions, captures))
}

fn run(
    engine: &Arc<Engine>,
    spec: &StationSpec,
    mut fanout: Fanout,
    mut sessions: Vec<SourceSession>,
    captures: Captures,
    stop: &Arc<Stop>,
) {
    let fmt = spec.autodj.format;
    let live = spec.live_inputs();
    let (mounts, locals) = live.split_at(spec.live.len());
    let mut threads = Vec::new();
    for input in mounts {
        match crate::live::spawn(engine.clone(), input.clone(), fmt, stop.clone()) {
            Ok(t) => threads.push(t),
            Err(e) => {
                tracing::error!(mount = %input.name, error = %e, "cannot start a live input")
            }
        }
    }
    let mut captures = captures.into_iter();
    for (local, input) in spec.inputs.iter().zip(locals) {
        let started = match local {
            LocalInput::Pcm(source) => {
                crate::local::spawn_pcm(input.clone(), source.clone(), fmt, stop.clone())
            }
            LocalInput::Capture(_) => match captures.next() {
                Some((_, open)) => {
                    crate::capture::spawn(open, input.clone(), fmt, stop.clone()).map(Some)
                }
                None => Ok(None),
            },
        };
        match started {
            Ok(Some(t)) => threads.push(t),
            Ok(None) => {}
            Err(e) => {
                tracing::error!(input = %input.name, error = %e, "cannot start a local input")
            }
        }
    }
    let mut chain = spec.chain(&live);
    tracing::info!(station = %spec.name, chain = ?chain.labels(), "station chain");
    let mut pacer = Pacer::new(fmt.rate, LEAD, MAX_BEHIND, Instant::now());
    while !stop.is_set() {
        // A live-only station is off the air until its first source.
        if !chain.any_available() {
            if stop.sleep(crate::live::POLL) {
                break;
            }
            // On the air without a lead: a new source has only its prebuffer to give.
            pacer = Pacer::new(fmt.rate, LEAD, MAX_BEHIND, Instant::now() + LEAD);
            continue;
        }
        if let Some(d) = pacer.wait(Instant::now()) {
            if stop.sleep(d) {
                break;
            }
            continue;
        }
        let out = chain.next(STEP_FRAMES);
        pacer.produced(out.block.frames());
        deliver(engine, &mut fanout, &mut sessions, &out);
        if sessions.is_empty() {
            tracing::error!(station = %spec.name, "no rendition left; station stopped");
            break;
        }
    }
    stop.set();
    for t in threads {
        let _ = t.join();
    }
    tracing::info!(station = %spec.name, "station stopped");
}

/// Encodes `out` for every rendition and pushes the result to its mount; a rendition whose
/// encoder fails is stopped (removed from `fanout` and `sessions`).
fn deliver(engine: &Engine, fanout: &mut Fanout, sessions: &mut Vec<SourceSession>, out: &Output) {
    let results = fanout.push(out);
    // Back to front, so that removing a failed rendition keeps the indices valid.
    for (i, r) in results.into_iter().enumerate().rev() {
        match r {
            Ok(steps) => push_steps(engine, &mut sessions[i], steps),
            Err(e) => {
                tracing::error!(mount = %sessions[i].mount().path, error = %e, "encoder failed; rendition stopped");
                fanout.remove(i);
                sessions.remove(i);
            }
        }
    }
}

fn push_steps(engine: &Engine, session: &mut SourceSession, steps: Vec<Step>) {
    for s in steps {
        match s {
            Step::Units(u) => session.push_units(u),
            Step::Title(m) => {
                let path = session.mount().path.clone();
                tracing::debug!(mount = %path, song = %m.song, "title");
                let _ = engine.set_metadata(&path, Some(m.song), m.artist, m.title, None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacer_keeps_the_lead_and_gives_up_when_far_behind() {
        let t0 = Instant::now();
        let mut p = Pacer::new(1000, Duration::from_secs(1), Duration::from_secs(5), t0);
        assert_eq!(p.wait(t0), None);
        p.produced(1500); // 1.5 s of audio at t0: 0.5 s beyond the lead
        assert_eq!(p.wait(t0), Some(Duration::from_millis(500)));
        assert_eq!(p.wait(t0 + Duration::from_millis(500)), None);
        assert_eq!(p.wait(t0 + Duration::from_secs(3)), None);
        // 10 s later with 1.5 s produced: far behind; the clock restarts.
        assert_eq!(p.wait(t0 + Duration::from_secs(10)), None);
        p.produced(2000);
        assert_eq!(
            p.wait(t0 + Duration::from_secs(10)),
            Some(Duration::from_secs(1))
        );
    }
}

//! The auto-DJ: an endless PCM stream at the station's format, made of tracks from a
//! [`Playlist`] (or the demo's synthesised pieces), with title marks at the sample where each
//! track starts.
//!
//! - **Gapless** (`crossfade_seconds = 0`): tracks are joined end to end, sample-exact. Nothing
//!   is trimmed but what the decoder already removes (encoder delay and padding when the file
//!   declares them: LAME/iTunes gapless info, Opus pre-skip; WAV and FLAC carry none).
//! - **Crossfade**: the last `crossfade_seconds` of a track are mixed with the start of the next
//!   with equal-power gains (`cos`/`sin`, whose squares sum to 1). A track shorter than the fade
//!   shortens it. The next track's title takes effect **at the start of the fade**, where it
//!   begins to be heard.
//! - **Loudness**: every track is brought to the target (see [`crate::track`]).
//! - **Jingles**: with `jingle_every = N`, one jingle after every N music tracks.
//! - **Bad files** are logged and skipped ([`MAX_SKIPS_PER_PICK`] in a row at most); when no
//!   track can be played (empty folder, every file bad) the auto-DJ plays [`RETRY_SECONDS`] of
//!   silence and tries again, so it never spins.
//!
//! The next track is opened (decoded far enough to know it plays, loudness measured, demo
//! piece synthesised) on a helper thread as soon as the current one starts, so the station's
//! thread does not stall at a track change. The output depends only on the tracks, never on
//! timing: the station thread waits for the helper when it needs the track.
//!
//! Nothing here reads a clock: the position is the number of frames produced.

use crate::config::StationConfig;
use crate::playlist::Playlist;
use crate::queue::PcmQueue;
use crate::track::{OpenTrack, PcmFormat, TrackError, TrackRef};
use floe_media::mix::Crossfade;
use floe_media::synth::Piece;
use floe_media::AudioBlock;
use std::io::Write;
use std::path::PathBuf;
use std::thread::JoinHandle;

/// Unplayable tracks skipped in a row before the auto-DJ gives up for [`RETRY_SECONDS`].
pub const MAX_SKIPS_PER_PICK: usize = 16;
/// Seconds of silence played when no track can be played, before trying again.
pub const RETRY_SECONDS: u32 = 2;

/// Where the auto-DJ's tracks come from.
#[derive(Debug)]
pub enum Music {
    /// A folder or playlist.
    Playlist(Box<Playlist>),
    /// Generated pieces, in a loop.
    Demo {
        /// The pieces.
        pieces: Vec<Piece>,
        /// The next one to play.
        next: usize,
    },
}

impl Music {
    /// The demo's pieces ([`floe_media::synth::pieces`]).
    pub fn demo() -> Music {
        Music::Demo {
            pieces: floe_media::synth::pieces(),
            next: 0,
        }
    }

    fn next_track(&mut self) -> Option<TrackRef> {
        match self {
            Music::Playlist(p) => p.next_track().map(TrackRef::File),
            Music::Demo { pieces, next } => {
                let piece = pieces.get(*next % pieces.len().max(1))?.clone();
                *next = (*next + 1) % pieces.len().max(1);
                Some(TrackRef::Synth(piece))
            }
        }
    }
}

/// What the auto-DJ does, beyond where its tracks come from.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoDjSettings {
    /// The station's name (logs).
    pub station: String,
    /// Output format.
    pub format: PcmFormat,
    /// Crossfade length in frames (0: gapless).
    pub crossfade_frames: usize,
    /// Loudness target (LUFS), `None` to play tracks as they are.
    pub loudness_target: Option<f64>,
    /// One jingle after every this many music tracks (0: none).
    pub jingle_every: u32,
    /// A file to append one line per track to.
    pub play_log: Option<PathBuf>,
    /// Until the first track is ready, output silence instead of waiting for it (a station
    /// goes live at once; a demo piece takes a moment to synthesise). Later track changes
    /// always wait: the next track has had the whole current one to get ready.
    pub silence_until_ready: bool,
}

impl AutoDjSettings {
    /// The settings a station's config asks for.
    pub fn from_config(station: &str, c: &StationConfig) -> Self {
        AutoDjSettings {
            station: station.to_string(),
            format: PcmFormat {
                rate: c.sample_rate,
                channels: c.channels,
            },
            crossfade_frames: (c.crossfade_seconds.max(0.0) * f64::from(c.sample_rate)).round()
                as usize,
            loudness_target: c.normalise.then_some(c.loudness_target),
            jingle_every: if c.jingles.is_some() {
                c.jingle_every
            } else {
                0
            },
            play_log: c.play_log.clone(),
            silence_until_ready: true,
        }
    }
}

/// A title change at a position of the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TitleMark {
    /// The output frame (since the auto-DJ started) from which the title applies.
    pub frame: u64,
    /// "Artist - Title".
    pub song: String,
    /// Artist tag.
    pub artist: Option<String>,
    /// Title tag.
    pub title: Option<String>,
}

/// One piece of output.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// The audio (exactly the frames asked for).
    pub block: AudioBlock,
    /// Title changes inside it, in order.
    pub marks: Vec<TitleMark>,
}

type Prepared = Result<OpenTrack, Box<(TrackRef, TrackError)>>;

/// The next track, being opened on a helper thread (or already opened, when no thread could
/// be started).
enum Pending {
    Thread(JoinHandle<Prepared>),
    Ready(Box<Prepared>),
}

struct Fade {
    tail: PcmQueue,
    xf: Crossfade,
}

/// The auto-DJ. See the module documentation.
pub struct AutoDj {
    settings: AutoDjSettings,
    music: Music,
    jingles: Option<Music>,
    since_jingle: u32,
    current: Option<OpenTrack>,
    /// The current track's audio decoded but not yet output.
    buf: PcmQueue,
    /// The current track has no more audio beyond `buf`.
    ended: bool,
    fade: Option<Fade>,
    /// The end of a track with nothing to fade into, output before anything else.
    tail_out: PcmQueue,
    pending: Option<Pending>,
    /// Frames output so far.
    position: u64,
    silence_until: u64,
    tracks_started: u64,
    /// The title of the track playing (from the start of its fade in).
    title: Option<TitleMark>,
}

impl std::fmt::Debug for AutoDj {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutoDj")
            .field("settings", &self.settings)
            .field("current", &self.current)
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}

impl AutoDj {
    /// An auto-DJ playing `music` (and `jingles`, if any).
    pub fn new(settings: AutoDjSettings, music: Music, jingles: Option<Music>) -> Self {
        let f = settings.format;
        AutoDj {
            settings,
            music,
            jingles,
            since_jingle: 0,
            current: None,
            buf: PcmQueue::new(f.rate, f.channels),
            ended: false,
            fade: None,
            tail_out: PcmQueue::new(f.rate, f.channels),
            pending: None,
            position: 0,
            silence_until: 0,
            tracks_started: 0,
            title: None,
        }
    }

    /// The output format.
    pub fn format(&self) -> PcmFormat {
        self.settings.format
    }

    /// Frames output so far.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The title of the track playing (the one fading in during a crossfade).
    pub fn current_title(&self) -> Option<&TitleMark> {
        self.title.as_ref()
    }

    /// Tracks started so far (jingles included).
    pub fn tracks_started(&self) -> u64 {
        self.tracks_started
    }

    /// The next `frames` frames of the stream, with the title marks that fall inside them.
    /// Blocking: decodes (and, at a track change, may wait for the next track to be ready).
    pub fn next(&mut self, frames: usize) -> Output {
        let PcmFormat { rate, channels } = self.settings.format;
        let xfade = self.settings.crossfade_frames;
        let mut out = AudioBlock::empty(rate, channels);
        let mut marks = Vec::new();
        while out.frames() < frames {
            let need = frames - out.frames();
            let pos = self.position + out.frames() as u64;
            if !self.tail_out.is_empty() {
                self.tail_out.move_front_to(&mut out, need);
                continue;
            }
            if pos < self.silence_until {
                let n = need.min((self.silence_until - pos) as usize);
                out.append(&AudioBlock::silence(rate, channels, n));
                continue;
            }
            if let Some(fade) = &mut self.fade {
                let want = need.min(fade.xf.remaining());
                fill(
                    &mut self.current,
                    &mut self.buf,
                    &mut self.ended,
                    want + xfade,
                );
                let k = want.min(self.buf.frames()).min(fade.tail.frames());
                if k == 0 {
                    self.fade = None;
                    continue;
                }
                let a = fade.tail.take_front(k);
                let b = self.buf.take_front(k);
                out.append(&fade.xf.mix(&a, &b));
                if fade.xf.is_done() {
                    self.fade = None;
                }
                continue;
            }
            if self.current.is_none() {
                if self.tracks_started == 0 && self.settings.silence_until_ready {
                    if self.pending.is_none() {
                        self.prepare_next();
                    }
                    if matches!(&self.pending, Some(Pending::Thread(h)) if !h.is_finished()) {
                        out.append(&AudioBlock::silence(rate, channels, need));
                        continue;
                    }
                }
                match self.start_next(pos) {
                    Some(mark) => marks.push(mark),
                    None => {
                        self.silence_until = pos + self.retry_frames();
                    }
                }
                continue;
            }
            fill(
                &mut self.current,
                &mut self.buf,
                &mut self.ended,
                need + xfade,
            );
            let keep = if self.ended {
                xfade.min(self.buf.frames())
            } else {
                0
            };
            let plain = need.min(self.buf.frames() - keep);
            if plain > 0 {
                self.buf.move_front_to(&mut out, plain);
                continue;
            }
            // The track has ended and at most the fade's length is left of it.
            self.current = None;
            if keep == 0 {
                continue; // gapless: the next track starts right here
            }
            let tail = PcmQueue::from_block(self.buf.take_front(keep));
            match self.start_next(pos) {
                Some(mark) => {
                    marks.push(mark);
                    fill(
                        &mut self.current,
                        &mut self.buf,
                        &mut self.ended,
                        tail.frames() + xfade,
                    );
                    let len = tail.frames().min(self.buf.frames());
                    self.fade = Some(Fade {
                        tail,
                        xf: Crossfade::new(len),
                    });
                }
                None => {
                    // Nothing to fade into: the tail plays out, then silence.
                    self.silence_until = pos + tail.frames() as u64 + self.retry_frames();
                    self.tail_out = tail;
                }
            }
        }
        self.position += out.frames() as u64;
        Output { block: out, marks }
    }

    fn retry_frames(&self) -> u64 {
        u64::from(RETRY_SECONDS) * u64::from(self.settings.format.rate)
    }

    /// Starts the next playable track at output frame `pos`; its title mark, or `None` when
    /// no track can be played now.
    fn start_next(&mut self, pos: u64) -> Option<TitleMark> {
        let track = self.take_prepared()?;
        self.tracks_started += 1;
        tracing::info!(
            station = %self.settings.station,
            song = %track.song,
            track = %track.track.label(),
            gain_db = format_args!("{:+.1}", track.gain_db),
            gain = ?track.gain_source,
            "playing"
        );
        if let Some(path) = &self.settings.play_log {
            write_play_log(path, &self.settings.station, &track);
        }
        let mark = TitleMark {
            frame: pos,
            song: track.song.clone(),
            artist: track.artist.clone(),
            title: track.title.clone(),
        };
        self.current = Some(track);
        self.ended = false;
        self.prepare_next();
        self.title = Some(mark.clone());
        Some(mark)
    }

    /// The prepared next track, or (when none is prepared) one opened here; skips unplayable
    /// ones, at most [`MAX_SKIPS_PER_PICK`].
    fn take_prepared(&mut self) -> Option<OpenTrack> {
        for _ in 0..MAX_SKIPS_PER_PICK {
            let prepared = match self.pending.take() {
                Some(Pending::Thread(h)) => h.join().unwrap_or_else(|_| {
                    // The helper panicked: count it as an unplayable track.
                    Err(Box::new((
                        TrackRef::File(PathBuf::from("?")),
                        TrackError::Empty,
                    )))
                }),
                Some(Pending::Ready(p)) => *p,
                None => {
                    let r = self.pick()?;
                    open(r, self.settings.format, self.settings.loudness_target)
                }
            };
            match prepared {
                Ok(t) => return Some(t),
                Err(failed) => tracing::warn!(
                    station = %self.settings.station,
                    track = %failed.0.label(),
                    error = %failed.1,
                    "skipping unplayable track"
                ),
            }
        }
        None
    }

    /// Picks the next track and opens it on a helper thread.
    fn prepare_next(&mut self) {
        let Some(r) = self.pick() else { return };
        let (format, target) = (self.settings.format, self.settings.loudness_target);
        let spawned = std::thread::Builder::new()
            .name("floe-track-prep".into())
            .spawn({
                let r = r.clone();
                move || open(r, format, target)
            });
        self.pending = Some(match spawned {
            Ok(h) => Pending::Thread(h),
            Err(e) => {
                tracing::warn!(error = %e, "cannot start a helper thread; opening the track here");
                Pending::Ready(Box::new(open(r, format, target)))
            }
        });
    }

    fn pick(&mut self) -> Option<TrackRef> {
        let every = self.settings.jingle_every;
        if every > 0 && self.since_jingle >= every {
            if let Some(j) = self.jingles.as_mut().and_then(Music::next_track) {
                self.since_jingle = 0;
                return Some(j);
            }
        }
        let t = self.music.next_track()?;
        self.since_jingle += 1;
        Some(t)
    }
}

fn open(r: TrackRef, format: PcmFormat, target: Option<f64>) -> Prepared {
    OpenTrack::open(r.clone(), format, target).map_err(|e| Box::new((r, e)))
}

/// Decodes the current track until `buf` holds `want` frames or the track has ended.
fn fill(current: &mut Option<OpenTrack>, buf: &mut PcmQueue, ended: &mut bool, want: usize) {
    let Some(track) = current.as_mut() else {
        *ended = true;
        return;
    };
    while !*ended && buf.frames() < want {
        match track.next_block() {
            Ok(Some(b)) => {
                buf.push(&b);
            }
            Ok(None) => *ended = true,
            Err(e) => {
                tracing::warn!(track = %track.track.label(), error = %e, "track ends early: decode error");
                *ended = true;
            }
        }
    }
}

fn write_play_log(path: &std::path::Path, station: &str, track: &OpenTrack) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let line = format!(
        "{}\t{}\t{}\t{}\t{:+.1} dB\n",
        utc_timestamp(now),
        station,
        track.song.replace(['\t', '\n'], " "),
        track.track.label(),
        track.gain_db
    );
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        tracing::warn!(path = %path.display(), error = %e, "cannot write the play log");
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the Unix epoch.
pub fn utc_timestamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(utc_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_timestamp(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_timestamp(1_795_534_353), "2026-11-24T15:32:33Z");
    }
}

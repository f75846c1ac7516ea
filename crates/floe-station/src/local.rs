//! Local inputs: raw PCM from standard input or a FIFO (so `arecord … | floe serve` works),
//! played by the station's chain like a live mount (see [`crate::chain::LiveInput`]).
//!
//! [`PcmDecoder`] turns raw interleaved bytes into [`AudioBlock`]s (pure: partial frames are
//! kept for the next read, an incomplete trailing frame at end of stream is dropped and
//! counted). [`Conform`] brings a block to the station's channels and rate. The reader thread
//! ([`spawn_pcm`]) feeds the input's [`crate::chain::LiveFeed`]:
//!
//! - the input is connected from the first byte a writer sends, and disconnected at end of
//!   stream (the writer closed: `arecord` stopped, the pipe broke); what is buffered plays out
//!   and the chain falls through to its next input;
//! - a FIFO is opened without blocking and reopened after each writer, so the next writer
//!   (a new `arecord > fifo`) takes over again; standard input ends for good at its end;
//! - while more than [`BACKPRESSURE_SECONDS`] of audio is buffered the thread stops reading,
//!   so a writer faster than real time (a file `cat` into the FIFO) is slowed by the pipe
//!   instead of losing audio;
//! - a writer that keeps the pipe open but sends nothing is padded with silence, which counts
//!   towards `dead_air_seconds` like silence it sends.

use crate::chain::LiveInput;
use crate::track::PcmFormat;
use floe_media::resample::ResampleError;
use floe_media::{AudioBlock, Resampler};
use serde::Deserialize;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How often the FIFO is read again when it had nothing (or no writer).
pub const READ_POLL: Duration = Duration::from_millis(10);
/// The reader stops reading while the input holds more than this much audio (seconds).
pub const BACKPRESSURE_SECONDS: f64 = 3.0;
/// Bytes read at most per system call.
const READ_BUFFER: usize = 64 * 1024;

/// The sample format of raw PCM.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SampleFormat {
    /// Signed 16-bit little-endian (`arecord -f S16_LE`, `ffmpeg -f s16le`).
    #[default]
    S16le,
    /// Signed 32-bit little-endian (`S32_LE`).
    S32le,
    /// 32-bit float little-endian (`FLOAT_LE`, `ffmpeg -f f32le`), nominally in [-1, 1].
    F32le,
}

impl SampleFormat {
    /// Bytes per sample.
    pub fn bytes(self) -> usize {
        match self {
            SampleFormat::S16le => 2,
            SampleFormat::S32le | SampleFormat::F32le => 4,
        }
    }

    /// The name in the config (`s16le`, …).
    pub fn name(self) -> &'static str {
        match self {
            SampleFormat::S16le => "s16le",
            SampleFormat::S32le => "s32le",
            SampleFormat::F32le => "f32le",
        }
    }

    fn sample(self, b: &[u8]) -> f32 {
        match self {
            SampleFormat::S16le => f32::from(i16::from_le_bytes([b[0], b[1]])) / 32_768.0,
            SampleFormat::S32le => {
                i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 / 2_147_483_648.0
            }
            SampleFormat::F32le => {
                let s = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                // NaN or infinity would poison every encoder downstream.
                if s.is_finite() {
                    s
                } else {
                    0.0
                }
            }
        }
    }
}

/// Raw interleaved PCM bytes to [`AudioBlock`]s, whatever sizes the reads come in.
#[derive(Debug, Clone)]
pub struct PcmDecoder {
    sample: SampleFormat,
    rate: u32,
    channels: u16,
    /// The bytes of an incomplete frame from the last push (fewer than a frame).
    pending: Vec<u8>,
}

impl PcmDecoder {
    /// A decoder for `channels` channels of `sample` at `rate` Hz.
    pub fn new(sample: SampleFormat, rate: u32, channels: u16) -> Self {
        PcmDecoder {
            sample,
            rate,
            channels: channels.max(1),
            pending: Vec::new(),
        }
    }

    /// Bytes per frame (all channels).
    pub fn frame_bytes(&self) -> usize {
        self.sample.bytes() * usize::from(self.channels)
    }

    /// Bytes held back: the start of a frame whose rest has not come yet.
    pub fn pending_bytes(&self) -> usize {
        self.pending.len()
    }

    /// Every whole frame in what came before plus `bytes`; the rest is kept for the next push.
    pub fn push(&mut self, bytes: &[u8]) -> AudioBlock {
        let fb = self.frame_bytes();
        let sb = self.sample.bytes();
        let mut samples = Vec::with_capacity((self.pending.len() + bytes.len()) / sb);
        let mut rest = bytes;
        if !self.pending.is_empty() {
            let need = fb - self.pending.len();
            if rest.len() < need {
                self.pending.extend_from_slice(rest);
                return AudioBlock::empty(self.rate, self.channels);
            }
            self.pending.extend_from_slice(&rest[..need]);
            rest = &rest[need..];
            samples.extend(self.pending.chunks_exact(sb).map(|b| self.sample.sample(b)));
            self.pending.clear();
        }
        let whole = rest.len() / fb * fb;
        samples.extend(
            rest[..whole]
                .chunks_exact(sb)
                .map(|b| self.sample.sample(b)),
        );
        self.pending.extend_from_slice(&rest[whole..]);
        AudioBlock::new(self.rate, self.channels, samples)
    }

    /// End of stream: drops an incomplete trailing frame and returns how many bytes it had.
    pub fn finish(&mut self) -> usize {
        let n = self.pending.len();
        self.pending.clear();
        n
    }
}

/// Brings blocks to the station's channel count and rate (one resampler, rebuilt when the
/// input's rate changes).
#[derive(Debug)]
pub struct Conform {
    to: PcmFormat,
    resampler: Option<Resampler>,
}

impl Conform {
    /// Blocks will come out at `to`.
    pub fn new(to: PcmFormat) -> Self {
        Conform {
            to,
            resampler: None,
        }
    }

    /// `block` at the station's format (possibly shorter or longer: the resampler buffers).
    pub fn process(&mut self, block: AudioBlock) -> Result<AudioBlock, ResampleError> {
        let block = if block.channels == self.to.channels {
            block
        } else {
            block.remixed(self.to.channels)
        };
        if block.rate == self.to.rate {
            return Ok(block);
        }
        let r = match &mut self.resampler {
            Some(r) if r.from_rate() == block.rate => r,
            slot => slot.insert(Resampler::new(block.rate, self.to.rate, self.to.channels)?),
        };
        r.process(&block)
    }

    /// The end of a stream: what the resampler still holds; it starts afresh afterwards.
    pub fn flush(&mut self) -> AudioBlock {
        let out = self.resampler.as_mut().and_then(|r| r.flush().ok());
        out.unwrap_or_else(|| AudioBlock::empty(self.to.rate, self.to.channels))
    }
}

/// Where raw PCM comes from, and its format.
#[derive(Debug, Clone, PartialEq)]
pub struct PcmSource {
    /// A FIFO, or `None` for standard input.
    pub path: Option<PathBuf>,
    /// Sample format.
    pub sample: SampleFormat,
    /// Sample rate of the writer (Hz).
    pub rate: u32,
    /// Channels of the writer.
    pub channels: u16,
    /// The title while it plays.
    pub title: String,
}

impl PcmSource {
    /// For logs and the chain's labels: `pcm /path` or `pcm stdin`.
    pub fn label(&self) -> String {
        match &self.path {
            Some(p) => format!("pcm {}", p.display()),
            None => "pcm stdin".into(),
        }
    }
}

/// One writer's stream into a feed: connect at its first frame, disconnect at its end.
pub(crate) struct Pump<'a> {
    input: &'a LiveInput,
    source: &'a PcmSource,
    decoder: PcmDecoder,
    conform: Conform,
    connected: bool,
}

impl<'a> Pump<'a> {
    pub(crate) fn new(input: &'a LiveInput, source: &'a PcmSource, station: PcmFormat) -> Self {
        Pump {
            input,
            source,
            decoder: PcmDecoder::new(source.sample, source.rate, source.channels),
            conform: Conform::new(station),
            connected: false,
        }
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        let block = self.decoder.push(bytes);
        if !self.connected {
            self.connected = true;
            tracing::info!(input = %self.source.label(), "local input: a writer is sending");
            self.input.feed().connect(self.source.title.clone());
        }
        if block.is_empty() {
            return;
        }
        match self.conform.process(block) {
            Ok(b) if !b.is_empty() => self.input.feed().push(&b),
            Ok(_) => {}
            Err(e) => tracing::warn!(input = %self.source.label(), error = %e, "cannot resample"),
        }
    }

    pub(crate) fn end(&mut self) {
        if !self.connected {
            return;
        }
        let dropped = self.decoder.finish();
        if dropped > 0 {
            tracing::warn!(
                input = %self.source.label(),
                bytes = dropped,
                "local input ended inside a frame; its last bytes were dropped"
            );
        }
        let rest = self.conform.flush();
        let mut feed = self.input.feed();
        if !rest.is_empty() {
            feed.push(&rest);
        }
        feed.disconnect();
        drop(feed);
        self.connected = false;
        tracing::info!(input = %self.source.label(), "local input: the writer is gone");
    }

    /// True while the feed holds more than [`BACKPRESSURE_SECONDS`].
    pub(crate) fn full(&self, station: PcmFormat) -> bool {
        self.input.feed().buffered() as f64 > BACKPRESSURE_SECONDS * f64::from(station.rate)
    }
}

/// Starts the thread that reads `source` into `input`'s feed until `stop`. A FIFO's thread
/// can be joined (it never blocks for long); standard input's blocks in `read` and is not
/// joined (`None`): it ends with its stream or the process.
pub(crate) fn spawn_pcm(
    input: LiveInput,
    source: PcmSource,
    station: PcmFormat,
    stop: Arc<crate::station::Stop>,
) -> std::io::Result<Option<std::thread::JoinHandle<()>>> {
    let fifo = source.path.is_some();
    let handle = std::thread::Builder::new()
        .name(format!("floe-{}", source.label()))
        .spawn(move || match &source.path {
            Some(path) => run_fifo(path, &input, &source, station, &stop),
            None => run_stdin(&input, &source, station, &stop),
        })?;
    Ok(fifo.then_some(handle))
}

fn run_fifo(
    path: &std::path::Path,
    input: &LiveInput,
    source: &PcmSource,
    station: PcmFormat,
    stop: &crate::station::Stop,
) {
    use std::os::unix::fs::OpenOptionsExt;
    let mut buf = vec![0u8; READ_BUFFER];
    let mut warned = false;
    while !stop.is_set() {
        // Non-blocking: opening a FIFO for reading otherwise waits for a writer, and reads
        // would wait for data, so the thread could not notice `stop`.
        let mut file = match std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
        {
            Ok(f) => f,
            Err(e) => {
                if !warned {
                    tracing::warn!(input = %source.label(), error = %e, "cannot open the FIFO; retrying");
                    warned = true;
                }
                if stop.sleep(Duration::from_secs(1)) {
                    break;
                }
                continue;
            }
        };
        warned = false;
        let mut pump = Pump::new(input, source, station);
        loop {
            if stop.is_set() {
                pump.end();
                return;
            }
            if pump.full(station) {
                stop.sleep(READ_POLL);
                continue;
            }
            match file.read(&mut buf) {
                Ok(0) if pump.connected => {
                    // The writer closed its end: reopen for the next one.
                    pump.end();
                    break;
                }
                Ok(0) => {
                    // No writer yet.
                    stop.sleep(READ_POLL);
                }
                Ok(n) => pump.bytes(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    stop.sleep(READ_POLL);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    tracing::warn!(input = %source.label(), error = %e, "reading the FIFO failed; reopening");
                    pump.end();
                    stop.sleep(Duration::from_secs(1));
                    break;
                }
            }
        }
    }
}

fn run_stdin(
    input: &LiveInput,
    source: &PcmSource,
    station: PcmFormat,
    stop: &crate::station::Stop,
) {
    let stdin = std::io::stdin();
    let mut stdin = stdin.lock();
    let mut buf = vec![0u8; READ_BUFFER];
    let mut pump = Pump::new(input, source, station);
    while !stop.is_set() {
        if pump.full(station) {
            stop.sleep(READ_POLL);
            continue;
        }
        match stdin.read(&mut buf) {
            Ok(0) => {
                pump.end();
                tracing::info!("standard input closed: the station's pcm input stays off");
                return;
            }
            Ok(n) => pump.bytes(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                tracing::warn!(error = %e, "reading standard input failed: the station's pcm input stays off");
                pump.end();
                return;
            }
        }
    }
    pump.end();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s16le_frames_split_anywhere_come_out_whole() {
        // Stereo s16le: frames of 4 bytes. Samples -32768, 32767, 1, -1, 16384, -16384.
        let bytes = [
            0x00, 0x80, 0xff, 0x7f, 0x01, 0x00, 0xff, 0xff, 0x00, 0x40, 0x00, 0xc0,
        ];
        let want = [
            -1.0,
            32_767.0 / 32_768.0,
            1.0 / 32_768.0,
            -1.0 / 32_768.0,
            0.5,
            -0.5,
        ];
        // Every way of cutting the stream in two gives the same samples.
        for cut in 0..=bytes.len() {
            let mut d = PcmDecoder::new(SampleFormat::S16le, 48_000, 2);
            let mut got = d.push(&bytes[..cut]).samples;
            assert_eq!(got.len(), cut / 4 * 2, "cut {cut}");
            assert_eq!(d.pending_bytes(), cut % 4, "cut {cut}");
            got.extend(d.push(&bytes[cut..]).samples);
            assert_eq!(got, want, "cut {cut}");
            assert_eq!(d.pending_bytes(), 0);
        }
        // One byte at a time (odd counts throughout).
        let mut d = PcmDecoder::new(SampleFormat::S16le, 48_000, 2);
        let mut got = Vec::new();
        for b in bytes {
            let block = d.push(&[b]);
            assert_eq!((block.rate, block.channels), (48_000, 2));
            got.extend(block.samples);
        }
        assert_eq!(got, want);
    }

    #[test]
    fn end_of_stream_inside_a_frame_drops_and_counts_the_partial_frame() {
        let mut d = PcmDecoder::new(SampleFormat::S16le, 8_000, 2);
        // One whole frame and 3 bytes of the next.
        let block = d.push(&[0x00, 0x40, 0x00, 0x40, 0x00, 0x20, 0x00]);
        assert_eq!(block.samples, [0.5, 0.5]);
        assert_eq!(d.finish(), 3);
        assert_eq!(d.pending_bytes(), 0);
        // A new stream starts clean: its first bytes are not glued to the dropped ones.
        assert_eq!(d.push(&[0x00, 0xc0, 0x00, 0xc0]).samples, [-0.5, -0.5]);
        assert_eq!(d.finish(), 0);
        // Nothing at all, then end of stream.
        let mut d = PcmDecoder::new(SampleFormat::F32le, 8_000, 1);
        assert!(d.push(&[]).is_empty());
        assert_eq!(d.finish(), 0);
    }

    #[test]
    fn s32le_and_f32le_samples() {
        let mut d = PcmDecoder::new(SampleFormat::S32le, 44_100, 1);
        let mut bytes = Vec::new();
        for s in [i32::MIN, 0x4000_0000, -1] {
            bytes.extend_from_slice(&s.to_le_bytes());
        }
        assert_eq!(d.push(&bytes).samples, [-1.0, 0.5, -1.0 / 2_147_483_648.0]);
        let mut d = PcmDecoder::new(SampleFormat::F32le, 44_100, 1);
        let mut bytes = Vec::new();
        for s in [0.25f32, -0.75, f32::NAN, f32::INFINITY, 1.5] {
            bytes.extend_from_slice(&s.to_le_bytes());
        }
        // Odd split inside the third sample.
        let mut got = d.push(&bytes[..9]).samples;
        got.extend(d.push(&bytes[9..]).samples);
        // Not-a-number and infinity become silence; loud but finite samples pass.
        assert_eq!(got, [0.25, -0.75, 0.0, 0.0, 1.5]);
    }

    #[test]
    fn conform_remixes_and_resamples_to_the_station() {
        let to = PcmFormat {
            rate: 44_100,
            channels: 2,
        };
        let mut c = Conform::new(to);
        // Mono at the station's rate: only remixed (both channels carry the sample).
        let out = c
            .process(AudioBlock::new(44_100, 1, vec![0.5, -0.25]))
            .expect("remix");
        assert_eq!(out.samples, [0.5, 0.5, -0.25, -0.25]);
        // 48 kHz stereo: 4800 frames in total become 4410 at 44.1 kHz after the flush.
        let mut frames = 0;
        for _ in 0..4 {
            let b = c
                .process(AudioBlock::new(48_000, 2, vec![0.1; 1200 * 2]))
                .expect("resample");
            assert_eq!((b.rate, b.channels), (44_100, 2));
            frames += b.frames();
        }
        frames += c.flush().frames();
        assert_eq!(frames, 4410);
    }

    /// Polls `f` every 10 ms for up to 10 s.
    fn eventually(mut f: impl FnMut() -> bool) -> bool {
        for _ in 0..1000 {
            if f() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    #[test]
    fn a_fifo_connects_at_its_writer_disconnects_at_its_end_and_reopens_for_the_next() {
        use crate::chain::LiveSettings;
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("floe-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("in.fifo");
        let _ = std::fs::remove_file(&path);
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("mkfifo");
        assert!(made.success());
        let station = PcmFormat {
            rate: 48_000,
            channels: 2,
        };
        let input = LiveInput::new("pcm".into(), LiveSettings::new(station, 0.0, 0));
        let source = PcmSource {
            path: Some(path.clone()),
            sample: SampleFormat::S16le,
            rate: 48_000,
            channels: 1,
            title: "Line in".into(),
        };
        let stop = Arc::new(crate::station::Stop::default());
        let thread = spawn_pcm(input.clone(), source, station, stop.clone())
            .expect("spawn")
            .expect("a FIFO's thread is joinable");
        // No writer yet: not connected.
        std::thread::sleep(Duration::from_millis(50));
        assert!(!input.feed().connected());
        for round in 0..2 {
            // Opening for writing waits for the reader, which keeps the FIFO open.
            let mut writer = std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .expect("open the FIFO for writing");
            // 0.1 s of mono 0.5 (0x4000), and half a frame more.
            let mut bytes: Vec<u8> = [0x00u8, 0x40].repeat(4800);
            bytes.push(0x00);
            writer.write_all(&bytes).expect("write");
            assert!(
                eventually(|| input.feed().connected() && input.feed().buffered() >= 4800),
                "round {round}: the writer's audio did not arrive"
            );
            drop(writer);
            assert!(
                eventually(|| !input.feed().connected()),
                "round {round}: still connected after the writer left"
            );
            // Mono to stereo: both channels carry the samples.
            let mut chain = crate::chain::Chain::new(station, vec![Box::new(input.clone())], 0);
            let out = chain.next(4800);
            assert!(out.block.samples.iter().all(|&s| s == 0.5), "round {round}");
        }
        stop.set();
        thread.join().expect("join");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

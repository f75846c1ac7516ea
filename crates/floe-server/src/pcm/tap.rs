//! The decoding thread of one tap: an ordinary listener of the mount (its own cursor, so it
//! costs the source nothing), a decoder, and conversion to the tap's fixed format.
//!
//! The format is the first decoded block's; a source that comes back with another rate or
//! channel count is remixed and resampled to it, so consumers' WAV headers stay true. A new
//! listener session joins with the mount's burst: those chunks are held back until the reader
//! first catches up with the source, then published with server times dated back by their
//! distance from the live edge, so `server_time` always says when the audio reached Floe.

use super::frame::{f32_to_s16le, ChunkStamp, PcmFormat};
use super::{unix_ms, PcmChunk, TapShared, OPUS_RATE};
use floe_engine::{Engine, ListenerInfo, MountReader};
use floe_media::encode::OpusEncoder;
use floe_media::{extension_for_content_type, AudioBlock, Decoder, Encoder, Resampler};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often the reader looks for new data on the mount while it has none.
const POLL: Duration = Duration::from_millis(20);

/// Sleeps up to `d`, waking early when the tap is stopped. True if stopped.
fn sleep(shared: &TapShared, d: Duration) -> bool {
    let step = Duration::from_millis(20);
    let mut left = d;
    while !left.is_zero() {
        if shared.stop.load(Ordering::Acquire) {
            return true;
        }
        let s = left.min(step);
        std::thread::sleep(s);
        left -= s;
    }
    shared.stop.load(Ordering::Acquire)
}

/// Starts the thread decoding `shared.mount` until `shared.stop`.
pub(super) fn spawn(
    engine: Arc<Engine>,
    shared: Arc<TapShared>,
    seq_base: u64,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name(format!("floe-pcm {}", shared.mount))
        .spawn(move || Decoding::new(shared, seq_base).run(&engine))
        .map(|_| ())
}

/// The running state of the decoding thread.
struct Decoding {
    shared: Arc<TapShared>,
    format: Option<PcmFormat>,
    next_seq: u64,
    /// Frames published so far (the media clock).
    frames: u64,
    resampler: Option<Resampler>,
    title: Option<Arc<str>>,
    title_version: Option<u64>,
    /// The Opus encoder, once a consumer asked for Opus.
    opus: Option<OpusStage>,
    next_opus_seq: u64,
}

/// PCM to Opus: to at most two channels, to 48 kHz, then libopus.
struct OpusStage {
    channels: u16,
    resampler: Option<Resampler>,
    encoder: OpusEncoder,
    /// 48 kHz frames encoded so far (the Opus media clock).
    frames: u64,
}

impl OpusStage {
    fn new(format: PcmFormat, kbps: u32) -> Option<OpusStage> {
        let channels = format.channels.min(2);
        let resampler = if format.rate == OPUS_RATE {
            None
        } else {
            Some(Resampler::new(format.rate, OPUS_RATE, channels).ok()?)
        };
        Some(OpusStage {
            channels,
            resampler,
            encoder: OpusEncoder::new(channels, kbps).ok()?,
            frames: 0,
        })
    }

    /// The packets `block` completes, stamped with sequence numbers from `next_seq`.
    fn encode(
        &mut self,
        block: &AudioBlock,
        next_seq: &mut u64,
        title: &Option<Arc<str>>,
    ) -> Vec<PcmChunk> {
        let block = block.remixed(self.channels);
        let block = match &mut self.resampler {
            Some(r) => match r.process(&block) {
                Ok(b) => b,
                Err(_) => return Vec::new(),
            },
            None => block,
        };
        let packets = match self.encoder.encode(&block) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "PCM tap cannot encode Opus");
                return Vec::new();
            }
        };
        packets
            .into_iter()
            .map(|p| {
                let chunk = PcmChunk {
                    stamp: ChunkStamp {
                        seq: *next_seq,
                        ts_ms: self.frames * 1000 / u64::from(OPUS_RATE),
                        server_time_ms: 0,
                    },
                    frames: u64::from(p.frames),
                    samples: p.data,
                    title: title.clone(),
                };
                *next_seq += 1;
                self.frames += u64::from(p.frames);
                chunk
            })
            .collect()
    }
}

/// Dates every chunk back from `now` by the audio that follows it in `chunks` (at `rate`).
fn date_back(chunks: &mut [PcmChunk], rate: u32, now: u64) {
    let mut after: u64 = chunks.iter().map(|c| c.frames).sum();
    for c in chunks {
        c.stamp.server_time_ms = now.saturating_sub(after * 1000 / u64::from(rate.max(1)));
        after -= c.frames;
    }
}

impl Decoding {
    fn new(shared: Arc<TapShared>, seq_base: u64) -> Decoding {
        Decoding {
            shared,
            format: None,
            next_seq: seq_base,
            frames: 0,
            resampler: None,
            title: None,
            title_version: None,
            opus: None,
            next_opus_seq: seq_base + (1 << 31),
        }
    }

    fn stopped(&self) -> bool {
        self.shared.stop.load(Ordering::Acquire)
    }

    fn run(mut self, engine: &Arc<Engine>) {
        let path = self.shared.mount.clone();
        while !self.stopped() {
            let Some(mount) = engine.mount(&path) else {
                self.shared.fail(format!("mount {path} is gone"));
                if sleep(&self.shared, Duration::from_secs(1)) {
                    break;
                }
                continue;
            };
            if !mount.is_ready() && engine.live_fallback(&mount).is_none() {
                if sleep(&self.shared, POLL * 5) {
                    break;
                }
                continue;
            }
            let session = match engine.add_internal_listener(
                &path,
                ListenerInfo {
                    ip: "127.0.0.1".into(),
                    user_agent: Some("Floe PCM tap".into()),
                    icy: false,
                },
            ) {
                Ok(s) => s,
                Err(e) => {
                    self.shared.fail(e.to_string());
                    if sleep(&self.shared, Duration::from_secs(1)) {
                        break;
                    }
                    continue;
                }
            };
            let content_type = session.mount().content_type().unwrap_or_default();
            let caught_up = Arc::new(AtomicBool::new(false));
            let (shared, at_edge) = (self.shared.clone(), caught_up.clone());
            let reader = MountReader::new(session, move || {
                // Nothing new: the reader is at the live edge.
                at_edge.store(true, Ordering::Release);
                sleep(&shared, POLL)
            });
            match Decoder::open_reader(reader, extension_for_content_type(&content_type)) {
                Ok(decoder) => {
                    tracing::info!(mount = %path, codec = decoder.codec_name(), "PCM tap decoding");
                    self.decode(engine, decoder, &caught_up);
                }
                Err(e) => {
                    if !self.stopped() {
                        tracing::warn!(mount = %path, error = %e, "PCM tap cannot decode the mount");
                        self.shared
                            .fail(format!("cannot decode {content_type}: {e}"));
                    }
                }
            }
            if sleep(&self.shared, POLL) {
                break;
            }
        }
        tracing::debug!(mount = %path, "PCM tap stopped");
    }

    /// Decodes until the stream ends or the tap stops.
    fn decode(&mut self, engine: &Engine, mut decoder: Decoder, caught_up: &AtomicBool) {
        let mut held: Vec<PcmChunk> = Vec::new();
        let mut held_opus: Vec<PcmChunk> = Vec::new();
        let mut held_frames = 0u64;
        let window_ms = self.shared.settings.window.as_millis() as u64;
        let window_frames = |format: PcmFormat| window_ms * u64::from(format.rate) / 1000;
        loop {
            let block = match decoder.next_block() {
                Ok(Some(b)) => b,
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(mount = %self.shared.mount, error = %e, "PCM tap decoding stopped");
                    break;
                }
            };
            if self.stopped() {
                return;
            }
            let Some((format, block)) = self.convert(block) else {
                continue;
            };
            self.update_title(engine);
            let samples = f32_to_s16le(&block.samples);
            let frames = block.frames() as u64;
            held.push(PcmChunk {
                stamp: ChunkStamp {
                    seq: self.next_seq,
                    ts_ms: format.frames_to_ms(self.frames),
                    server_time_ms: 0,
                },
                frames,
                samples,
                title: self.title.clone(),
            });
            self.next_seq += 1;
            self.frames += frames;
            held_frames += frames;
            if self.opus.is_none() && self.shared.opus_wanted.load(Ordering::Acquire) {
                self.opus = OpusStage::new(format, self.shared.settings.opus_kbps);
                if self.opus.is_none() {
                    tracing::warn!(mount = %self.shared.mount, "PCM tap cannot start an Opus encoder");
                }
            }
            if let Some(opus) = &mut self.opus {
                held_opus.extend(opus.encode(&block, &mut self.next_opus_seq, &self.title));
            }
            if caught_up.load(Ordering::Acquire) || held_frames > window_frames(format) {
                let now = unix_ms();
                date_back(&mut held, format.rate, now);
                date_back(&mut held_opus, OPUS_RATE, now);
                self.shared.publish(
                    format,
                    std::mem::take(&mut held),
                    std::mem::take(&mut held_opus),
                );
                held_frames = 0;
            }
        }
        if let Some(format) = self.format {
            let now = unix_ms();
            for c in held.iter_mut().chain(held_opus.iter_mut()) {
                c.stamp.server_time_ms = now;
            }
            self.shared.publish(format, held, held_opus);
        }
    }

    /// A decoded block in the tap's format; `None` for an empty block or one that cannot be
    /// resampled.
    fn convert(&mut self, block: AudioBlock) -> Option<(PcmFormat, AudioBlock)> {
        let format = *self.format.get_or_insert(PcmFormat {
            rate: block.rate,
            channels: block.channels,
        });
        let block = block.remixed(format.channels);
        let block = if block.rate == format.rate {
            block
        } else {
            let r = match &mut self.resampler {
                Some(r) if r.from_rate() == block.rate => r,
                slot => match Resampler::new(block.rate, format.rate, format.channels) {
                    Ok(r) => slot.insert(r),
                    Err(e) => {
                        tracing::warn!(mount = %self.shared.mount, error = %e, "PCM tap cannot resample");
                        return None;
                    }
                },
            };
            r.process(&block).ok()?
        };
        if block.is_empty() {
            return None;
        }
        Some((format, block))
    }

    fn update_title(&mut self, engine: &Engine) {
        let meta = engine
            .mount(&self.shared.mount)
            .and_then(|m| m.current_meta());
        if let Some(meta) = meta {
            if self.title_version != Some(meta.version) {
                self.title_version = Some(meta.version);
                self.title = Some(Arc::from(meta.song.as_str()));
            }
        }
    }
}

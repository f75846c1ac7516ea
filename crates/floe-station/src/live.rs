//! A live input of a station: the stream an encoder sends to a mount, decoded once inside Floe
//! into the station's chain (see [`crate::chain`]) and encoded once per rendition (e.g. a 320k
//! MP3 source also offered as MP3 64k and Opus 96k, or taking over an auto-DJ station).
//!
//! The transcoder is an internal listener of the live mount (user agent `Floe transcoder`; not
//! listed or counted by status pages, outside the listener limits) on a
//! thread of its own: it reads the mount's chunks with its own cursor, so it costs the source
//! nothing, and starts over with a new decoder when the source comes back after leaving. It
//! pushes PCM into the input's [`crate::chain::LiveFeed`]; the station thread takes from there
//! at its own (wall-clock) pace, so the renditions' encoders never stop.
//!
//! Titles: the source starts with the mount's title, else its `ice-name`, else "Live"; when the
//! mount's title changes (e.g. `/admin/metadata`), the change is marked at the next decoded
//! sample, and each rendition sets it on the unit that carries that sample.

use crate::chain::LiveInput;
use crate::track::PcmFormat;
use floe_engine::{Engine, ListenerInfo, MountReader};
use floe_media::{extension_for_content_type, Decoder, Resampler};
use std::sync::Arc;
use std::time::Duration;

/// How often the transcoder looks for new data on the live mount.
pub const POLL: Duration = Duration::from_millis(50);

/// Starts the thread that decodes `input`'s mount into its feed until `stop`.
pub(crate) fn spawn(
    engine: Arc<Engine>,
    input: LiveInput,
    format: PcmFormat,
    stop: Arc<crate::station::Stop>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("floe-live {}", input.name))
        .spawn(move || run(&engine, &input, format, &stop))
}

/// The title a live source starts with: the mount's, its `ice-name`, or "Live".
fn first_title(engine: &Engine, input: &str) -> (String, Option<u64>) {
    let Some(mount) = engine.mount(input) else {
        return ("Live".into(), None);
    };
    if let Some(meta) = mount.current_meta() {
        return (meta.song.clone(), Some(meta.version));
    }
    let name = mount
        .source()
        .and_then(|s| s.name.clone())
        .filter(|n| !n.trim().is_empty());
    (name.unwrap_or_else(|| "Live".into()), None)
}

/// Decodes the live mount into `input`'s feed until `stop`.
fn run(
    engine: &Arc<Engine>,
    input: &LiveInput,
    format: PcmFormat,
    stop: &Arc<crate::station::Stop>,
) {
    let path = input.name.as_str();
    while !stop.is_set() {
        let ready = engine.mount(path).is_some_and(|m| m.is_ready());
        if !ready {
            if stop.sleep(POLL * 4) {
                break;
            }
            continue;
        }
        let session = match engine.add_internal_listener(
            path,
            ListenerInfo {
                ip: "127.0.0.1".into(),
                user_agent: Some("Floe transcoder".into()),
                icy: false,
            },
        ) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(mount = %path, error = %e, "transcoder cannot listen; retrying");
                if stop.sleep(Duration::from_secs(1)) {
                    break;
                }
                continue;
            }
        };
        let mount = session.mount().clone();
        let ext = extension_for_content_type(mount.content_type().as_deref().unwrap_or(""));
        let waiting = stop.clone();
        let reader = MountReader::new(session, move || waiting.sleep(POLL));
        let mut decoder = match Decoder::open_reader(reader, ext) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(mount = %path, error = %e, "cannot decode the live stream; retrying");
                if stop.sleep(Duration::from_secs(1)) {
                    break;
                }
                continue;
            }
        };
        tracing::info!(mount = %path, codec = decoder.codec_name(), "live source decoded");
        let (title, mut last_title) = first_title(engine, path);
        input.feed().connect(title);
        let mut resampler: Option<Resampler> = None;
        loop {
            let block = match decoder.next_block() {
                Ok(Some(b)) => b,
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(mount = %path, error = %e, "live stream decoding stopped");
                    break;
                }
            };
            let block = block.remixed(format.channels);
            let block = if block.rate == format.rate {
                block
            } else {
                let r = match &mut resampler {
                    Some(r) if r.from_rate() == block.rate => r,
                    slot => match Resampler::new(block.rate, format.rate, format.channels) {
                        Ok(r) => slot.insert(r),
                        Err(e) => {
                            tracing::warn!(mount = %path, error = %e, "cannot resample the live stream");
                            break;
                        }
                    },
                };
                match r.process(&block) {
                    Ok(b) => b,
                    Err(_) => continue,
                }
            };
            if block.is_empty() {
                continue;
            }
            let meta = engine.mount(path).and_then(|m| m.current_meta());
            let mut feed = input.feed();
            if let Some(meta) = meta {
                if last_title != Some(meta.version) {
                    last_title = Some(meta.version);
                    feed.set_title(meta.song.clone(), meta.artist.clone(), meta.title.clone());
                }
            }
            feed.push(&block);
            drop(feed);
            if stop.is_set() {
                break;
            }
        }
        input.feed().disconnect();
        tracing::info!(mount = %path, "live source left");
        // The source left (or the stream broke): start over with the next one.
        if stop.sleep(POLL) {
            break;
        }
    }
}

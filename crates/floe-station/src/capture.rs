//! Sound-card capture inputs (ALSA, through the `alsa` crate), in a build with the `alsa`
//! feature; without it, [`open`] fails with [`CaptureError::NotBuilt`].
//!
//! The device is opened when the station starts, so a missing device is a start-up error that
//! lists the capture devices ALSA knows ([`capture_devices`]). It is asked for the configured
//! sample format, channels and (nearest) rate, read interleaved in periods of about
//! [`PERIOD_MICROS`], and its bytes go through the same [`crate::local::PcmDecoder`] and
//! [`crate::local::Conform`] as a FIFO's into the input's feed. An overrun is recovered and
//! logged; a device that fails for good (unplugged) disconnects the input, which is reopened
//! every [`REOPEN`] until it returns.

use crate::local::SampleFormat;
use std::time::Duration;

/// The period asked of the device (µs): the longest a read blocks, so the thread notices a
/// stop within about this time.
pub const PERIOD_MICROS: u32 = 50_000;
/// How often a device that failed is opened again.
pub const REOPEN: Duration = Duration::from_secs(2);

/// A sound card to capture.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureSource {
    /// The ALSA device name (`arecord -L`).
    pub device: String,
    /// Sample format asked of the device.
    pub sample: SampleFormat,
    /// Rate asked of the device (the nearest it offers is taken).
    pub rate: u32,
    /// Channels asked of the device.
    pub channels: u16,
    /// The title while it plays.
    pub title: String,
}

impl CaptureSource {
    /// For logs and the chain's labels.
    pub fn label(&self) -> String {
        format!("capture {}", self.device)
    }
}

/// Why a capture device could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// This build has no ALSA support.
    #[error(
        "capturing from a sound card needs a build with the `alsa` feature \
         (cargo build --release -p floe --features alsa)"
    )]
    NotBuilt,
    /// ALSA could not open the device.
    #[error("no ALSA capture device `{device}` ({reason}); available capture devices: {}", list(.available))]
    NoDevice {
        /// The configured name.
        device: String,
        /// ALSA's reason.
        reason: String,
        /// The capture devices ALSA lists.
        available: Vec<String>,
    },
    /// The device does not take the configured format.
    #[error("ALSA device `{device}` does not capture {format}, {channels} channel(s) at {rate} Hz: {reason}")]
    Format {
        /// The configured name.
        device: String,
        /// Sample format.
        format: &'static str,
        /// Channels.
        channels: u16,
        /// Rate.
        rate: u32,
        /// ALSA's reason.
        reason: String,
    },
}

fn list(devices: &[String]) -> String {
    if devices.is_empty() {
        "none".into()
    } else {
        devices.join(", ")
    }
}

/// The capture devices ALSA's configuration names (empty without the `alsa` feature).
pub fn capture_devices() -> Vec<String> {
    #[cfg(feature = "alsa")]
    {
        alsa_impl::capture_devices()
    }
    #[cfg(not(feature = "alsa"))]
    {
        Vec::new()
    }
}

/// An opened capture device, ready for [`spawn`].
#[derive(Debug)]
pub struct OpenCapture {
    source: CaptureSource,
    #[cfg(feature = "alsa")]
    device: alsa_impl::Device,
}

impl OpenCapture {
    /// What was opened.
    pub fn source(&self) -> &CaptureSource {
        &self.source
    }

    /// The rate the device gives (the nearest to the one asked).
    pub fn rate(&self) -> u32 {
        #[cfg(feature = "alsa")]
        {
            self.device.rate
        }
        #[cfg(not(feature = "alsa"))]
        {
            self.source.rate
        }
    }
}

/// Opens `source`'s device with its format.
pub fn open(source: &CaptureSource) -> Result<OpenCapture, CaptureError> {
    #[cfg(feature = "alsa")]
    {
        Ok(OpenCapture {
            source: source.clone(),
            device: alsa_impl::Device::open(source)?,
        })
    }
    #[cfg(not(feature = "alsa"))]
    {
        let _ = source;
        Err(CaptureError::NotBuilt)
    }
}

/// Starts the thread that reads the device into `input`'s feed until `stop`.
pub(crate) fn spawn(
    capture: OpenCapture,
    input: crate::chain::LiveInput,
    station: crate::track::PcmFormat,
    stop: std::sync::Arc<crate::station::Stop>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("floe-{}", capture.source.label()))
        .spawn(move || {
            #[cfg(feature = "alsa")]
            alsa_impl::run(capture, &input, station, &stop);
            #[cfg(not(feature = "alsa"))]
            {
                let _ = (capture, input, station, stop);
            }
        })
}

#[cfg(feature = "alsa")]
mod alsa_impl {
    use super::{CaptureError, CaptureSource, PERIOD_MICROS, REOPEN};
    use crate::chain::LiveInput;
    use crate::local::{PcmSource, Pump, SampleFormat};
    use crate::track::PcmFormat;
    use alsa::pcm::{Access, Format, HwParams, PCM};
    use alsa::{Direction, ValueOr};

    /// The PCM source a capture's bytes are decoded as (its format at the device's rate).
    fn as_pcm(source: &CaptureSource, rate: u32) -> PcmSource {
        PcmSource {
            path: None,
            sample: source.sample,
            rate,
            channels: source.channels,
            title: source.title.clone(),
        }
    }

    pub(super) fn capture_devices() -> Vec<String> {
        let Ok(hints) = alsa::device_name::HintIter::new_str(None, "pcm") else {
            return Vec::new();
        };
        hints
            .filter(|h| h.direction != Some(Direction::Playback))
            .filter_map(|h| h.name)
            .collect()
    }

    pub(super) struct Device {
        pcm: PCM,
        pub(super) rate: u32,
    }

    impl std::fmt::Debug for Device {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Device").field("rate", &self.rate).finish()
        }
    }

    impl Device {
        pub(super) fn open(source: &CaptureSource) -> Result<Device, CaptureError> {
            let pcm = PCM::new(&source.device, Direction::Capture, false).map_err(|e| {
                CaptureError::NoDevice {
                    device: source.device.clone(),
                    reason: e.to_string(),
                    available: capture_devices(),
                }
            })?;
            let format_error = |e: alsa::Error| CaptureError::Format {
                device: source.device.clone(),
                format: source.sample.name(),
                channels: source.channels,
                rate: source.rate,
                reason: e.to_string(),
            };
            let rate = {
                let hw = HwParams::any(&pcm).map_err(format_error)?;
                hw.set_access(Access::RWInterleaved).map_err(format_error)?;
                hw.set_format(match source.sample {
                    SampleFormat::S16le => Format::S16LE,
                    SampleFormat::S32le => Format::S32LE,
                    SampleFormat::F32le => Format::FloatLE,
                })
                .map_err(format_error)?;
                hw.set_channels(u32::from(source.channels))
                    .map_err(format_error)?;
                hw.set_rate(source.rate, ValueOr::Nearest)
                    .map_err(format_error)?;
                // A device that cannot do this period keeps its own: not an error.
                let _ = hw.set_period_time_near(PERIOD_MICROS, ValueOr::Nearest);
                pcm.hw_params(&hw).map_err(format_error)?;
                hw.get_rate().map_err(format_error)?
            };
            if rate != source.rate {
                tracing::info!(device = %source.device, asked = source.rate, got = rate, "capture rate (resampled to the station's)");
            }
            Ok(Device { pcm, rate })
        }
    }

    pub(super) fn run(
        capture: super::OpenCapture,
        input: &LiveInput,
        station: PcmFormat,
        stop: &crate::station::Stop,
    ) {
        let super::OpenCapture { source, device } = capture;
        let mut device = Some(device);
        let mut warned = false;
        while !stop.is_set() {
            let dev = match device.take() {
                Some(d) => d,
                None => match Device::open(&source) {
                    Ok(d) => {
                        tracing::info!(device = %source.device, "capture device back");
                        warned = false;
                        d
                    }
                    Err(e) => {
                        if !warned {
                            tracing::warn!(error = %e, "capture device unavailable; retrying");
                            warned = true;
                        }
                        if stop.sleep(REOPEN) {
                            break;
                        }
                        continue;
                    }
                },
            };
            let pcm_source = as_pcm(&source, dev.rate);
            let mut pump = Pump::new(input, &pcm_source, station);
            let frame_bytes = source.sample.bytes() * usize::from(source.channels);
            // About a period's worth of frames per read.
            let frames = (dev.rate as usize / 20).max(64);
            let mut buf = vec![0u8; frames * frame_bytes];
            let io = dev.pcm.io_bytes();
            while !stop.is_set() {
                if pump.full(station) {
                    // Reading nothing lets the device overrun; that is recovered below.
                    stop.sleep(crate::local::READ_POLL);
                    continue;
                }
                match io.readi(&mut buf) {
                    Ok(n) => pump.bytes(&buf[..n * frame_bytes]),
                    Err(e) => {
                        if dev.pcm.try_recover(e, true).is_ok() {
                            tracing::debug!(device = %source.device, "capture overrun recovered");
                            continue;
                        }
                        tracing::warn!(device = %source.device, error = %e, "capture failed; reopening");
                        break;
                    }
                }
            }
            pump.end();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(device: &str) -> CaptureSource {
        CaptureSource {
            device: device.into(),
            sample: SampleFormat::S16le,
            rate: 48_000,
            channels: 2,
            title: "Line in".into(),
        }
    }

    #[cfg(not(feature = "alsa"))]
    #[test]
    fn without_the_feature_capture_says_how_to_get_it() {
        let e = open(&source("default")).expect_err("no ALSA in this build");
        assert!(e.to_string().contains("--features alsa"), "{e}");
    }

    #[cfg(feature = "alsa")]
    #[test]
    fn a_missing_device_is_an_error_listing_the_devices() {
        let e = open(&source("floe-no-such-device")).expect_err("no such device");
        let msg = e.to_string();
        assert!(
            msg.starts_with("no ALSA capture device `floe-no-such-device`"),
            "{msg}"
        );
        // alsa-lib always defines the `null` device.
        let CaptureError::NoDevice { available, .. } = e else {
            panic!("{msg}")
        };
        assert!(available.iter().any(|d| d == "null"), "{msg}");
        assert!(msg.contains("available capture devices: "), "{msg}");
    }

    #[cfg(feature = "alsa")]
    #[test]
    fn the_null_device_feeds_the_input_silence() {
        use crate::chain::{LiveInput, LiveSettings};
        use crate::track::PcmFormat;
        let station = PcmFormat {
            rate: 44_100,
            channels: 2,
        };
        let input = LiveInput::new("capture null".into(), LiveSettings::new(station, 0.0, 0));
        let capture = open(&source("null")).expect("the null device opens");
        let stop = std::sync::Arc::new(crate::station::Stop::default());
        let thread = spawn(capture, input.clone(), station, stop.clone()).expect("thread");
        let mut fed = false;
        for _ in 0..500 {
            let f = input.feed();
            if f.connected() && f.buffered() >= 4410 {
                fed = true;
                break;
            }
            drop(f);
            std::thread::sleep(Duration::from_millis(10));
        }
        stop.set();
        thread.join().expect("join");
        assert!(fed, "no audio from the null device");
        assert!(!input.feed().connected(), "disconnected at stop");
    }
}

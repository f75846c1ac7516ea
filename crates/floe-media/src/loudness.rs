//! Loudness: EBU R128 integrated loudness (the `ebur128` crate) and the gain that brings a track
//! to a target, from a measurement or, when present, from ReplayGain tags.

use ebur128::{EbuR128, Mode};

use crate::decode::Tags;
use crate::pcm::AudioBlock;

/// ReplayGain 2.0's reference loudness: a track gain of 0 dB means -18 LUFS.
pub const REPLAYGAIN_REFERENCE_LUFS: f64 = -18.0;
/// The gain never goes above this (quiet tracks are not blown up into noise).
pub const MAX_GAIN_DB: f64 = 12.0;

/// Loudness errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoudnessError {
    /// The meter rejected the format or input.
    #[error("loudness meter: {0}")]
    Meter(String),
    /// The block format changed between calls.
    #[error("format changed while measuring")]
    FormatChanged,
}

/// A streaming EBU R128 meter (integrated loudness and sample peak).
pub struct LoudnessMeter {
    inner: EbuR128,
    rate: u32,
    channels: u16,
}

impl std::fmt::Debug for LoudnessMeter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoudnessMeter")
            .field("rate", &self.rate)
            .field("channels", &self.channels)
            .finish()
    }
}

impl LoudnessMeter {
    /// A meter for this format.
    pub fn new(rate: u32, channels: u16) -> Result<Self, LoudnessError> {
        let inner = EbuR128::new(u32::from(channels), rate, Mode::I | Mode::SAMPLE_PEAK)
            .map_err(|e| LoudnessError::Meter(e.to_string()))?;
        Ok(Self {
            inner,
            rate,
            channels,
        })
    }

    /// Feeds a block.
    pub fn add(&mut self, block: &AudioBlock) -> Result<(), LoudnessError> {
        if block.rate != self.rate || block.channels != self.channels {
            return Err(LoudnessError::FormatChanged);
        }
        self.inner
            .add_frames_f32(&block.samples)
            .map_err(|e| LoudnessError::Meter(e.to_string()))
    }

    /// Integrated loudness in LUFS (`-inf`-like very low values for silence are returned as `None`).
    pub fn integrated_lufs(&self) -> Option<f64> {
        self.inner
            .loudness_global()
            .ok()
            .filter(|l| l.is_finite() && *l > -70.0)
    }

    /// The largest sample magnitude seen (linear).
    pub fn sample_peak(&self) -> f32 {
        (0..u32::from(self.channels))
            .filter_map(|c| self.inner.sample_peak(c).ok())
            .fold(0.0f64, f64::max) as f32
    }
}

/// Integrated loudness of a whole block in LUFS (`None` for silence or too-short input).
pub fn integrated_lufs(block: &AudioBlock) -> Result<Option<f64>, LoudnessError> {
    let mut m = LoudnessMeter::new(block.rate, block.channels)?;
    m.add(block)?;
    Ok(m.integrated_lufs())
}

/// Linear gain from dB.
pub fn db_to_linear(db: f64) -> f32 {
    10f64.powf(db / 20.0) as f32
}

/// The gain (dB) to move `measured_lufs` to `target_lufs`, capped at [`MAX_GAIN_DB`] and, when
/// a peak is known, lowered so the peak stays at or below full scale.
pub fn gain_db_for(measured_lufs: f64, target_lufs: f64, peak: Option<f32>) -> f64 {
    let mut gain = (target_lufs - measured_lufs).min(MAX_GAIN_DB);
    if let Some(p) = peak.filter(|p| *p > 0.0) {
        let headroom = -20.0 * f64::from(p).log10();
        gain = gain.min(headroom);
    }
    gain
}

/// The gain (dB) that ReplayGain tags ask for, rebased to `target_lufs` (track gain first, album
/// gain otherwise), peak-limited with the tagged peak; `None` without ReplayGain tags.
pub fn replaygain_db(tags: &Tags, target_lufs: f64) -> Option<f64> {
    let (gain, peak) = match (tags.track_gain_db, tags.album_gain_db) {
        (Some(g), _) => (g, tags.track_peak),
        (None, Some(g)) => (g, tags.album_peak),
        (None, None) => return None,
    };
    let measured = REPLAYGAIN_REFERENCE_LUFS - f64::from(gain);
    Some(gain_db_for(measured, target_lufs, peak))
}

/// Normalisation gain for a track: ReplayGain tags when present, otherwise `measure` (called
/// only then; returns integrated LUFS and peak). `None` when neither gives an answer.
pub fn normalisation_gain_db(
    tags: &Tags,
    target_lufs: f64,
    measure: impl FnOnce() -> Option<(f64, f32)>,
) -> Option<f64> {
    replaygain_db(tags, target_lufs)
        .or_else(|| measure().map(|(l, p)| gain_db_for(l, target_lufs, Some(p))))
}

/// Measures `block` and scales it to `target_lufs` in place; returns the gain applied (dB).
pub fn normalise(block: &mut AudioBlock, target_lufs: f64) -> Result<f64, LoudnessError> {
    let mut m = LoudnessMeter::new(block.rate, block.channels)?;
    m.add(block)?;
    let Some(lufs) = m.integrated_lufs() else {
        return Ok(0.0);
    };
    let gain = gain_db_for(lufs, target_lufs, Some(m.sample_peak()));
    block.apply_gain(db_to_linear(gain));
    Ok(gain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaygain_rebases_to_target() {
        let tags = Tags {
            track_gain_db: Some(-4.0),
            track_peak: Some(0.5),
            ..Tags::default()
        };
        // -4 dB at RG reference means the track measures -14 LUFS; to reach -16 apply -2 dB.
        let g = replaygain_db(&tags, -16.0).expect("gain");
        assert!((g + 2.0).abs() < 1e-9);
        assert_eq!(replaygain_db(&Tags::default(), -16.0), None);
    }

    #[test]
    fn peak_limits_gain() {
        // +10 dB wanted but the peak is at -3 dBFS.
        let g = gain_db_for(-26.0, -16.0, Some(db_to_linear(-3.0)));
        assert!((g - 3.0).abs() < 1e-3, "{g}");
    }
}

//! CMAF / fragmented MP4 (ISO/IEC 14496-12, ISO/IEC 23000-19) for one audio track: the init
//! segment (`ftyp` + `moov` with `mvex`), media segments and LL-HLS parts (`styp` + `moof` +
//! `mdat`), the RFC 6381 `CODECS` string, and `emsg` boxes carrying ID3 timed metadata.
//!
//! | codec | sample entry | configuration box | `CODECS` |
//! |---|---|---|---|
//! | AAC-LC | `mp4a` | `esds`, object type 0x40, the AudioSpecificConfig | `mp4a.40.2` |
//! | HE-AAC v1 / v2 | `mp4a` | `esds` with an explicit (hierarchical) AOT 5 / 29 ASC | `mp4a.40.5` / `mp4a.40.29` |
//! | MP3 | `mp4a` | `esds`, object type 0x6B (0x69 below 32 kHz), no ASC | `mp4a.6B` / `mp4a.69` |
//! | Opus | `Opus` | `dOps` (Opus in ISOBMFF 0.8.1) | `opus` |
//! | FLAC | `fLaC` | `dfLa` (FLAC in ISOBMFF 0.0.4) | `fLaC` ([`codecs_string`]) |
//!
//! The track is always track 1; every audio sample is a sync sample (`trex`/`tfhd` default
//! sample flags say "depends on no other"), so any part can start a playback
//! (`INDEPENDENT=YES`). Media segments use `default-base-is-moof` and a `trun` data offset, as
//! CMAF requires, and carry a version-1 `tfdt` (64-bit decode time).
//!
//! Everything here is a pure function over bytes; times are in the track's timescale and are
//! passed in by the caller.

use crate::encode::{Codec, CodecInfo};

use super::packed::{id3_tag, id3_text_frame};
use super::MuxError;

/// Most samples one media segment may hold (a 10 s segment of 2.5 ms Opus frames is 4000).
pub const MAX_SAMPLES_PER_SEGMENT: usize = 65_536;

/// The codec of the track and its out-of-band configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioCodec {
    /// AAC (LC, HE-AAC v1 or v2). `audio_specific_config` is the ISO 14496-3 AudioSpecificConfig
    /// as the encoder gives it (fdk-aac's `confBuf`) or as [`aac_config_from_adts`] builds it.
    /// HE-AAC is signalled explicitly (AOT 5 or 29 first), which Chromium, hls.js, dash.js and
    /// ffmpeg all accept; the `CODECS` string is derived from the first object type.
    Aac {
        /// AudioSpecificConfig bytes (at least 2).
        audio_specific_config: Vec<u8>,
    },
    /// Opus; samples are raw Opus packets; the timescale should be 48000.
    Opus {
        /// Samples (at 48 kHz) to discard at the start (OpusHead pre-skip).
        pre_skip: u16,
        /// The original input rate, informational (OpusHead input sample rate).
        input_sample_rate: u32,
        /// Output gain, Q7.8 dB (0 for none).
        output_gain: i16,
        /// Channel mapping family (0: mono/stereo, 1: Vorbis order up to 8 channels).
        channel_mapping_family: u8,
        /// For a family other than 0: stream count, coupled count and the mapping table
        /// (one entry per output channel).
        channel_mapping: Option<OpusChannelMapping>,
    },
    /// FLAC; samples are FLAC frames.
    Flac {
        /// The 34-byte STREAMINFO block body.
        streaminfo: [u8; 34],
    },
    /// MPEG-1/2 Layer III; samples are MP3 frames.
    Mp3,
}

/// The Opus channel mapping table of family 1 and above (RFC 7845 section 5.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpusChannelMapping {
    /// Number of Opus streams.
    pub stream_count: u8,
    /// How many of them are coupled (stereo).
    pub coupled_count: u8,
    /// One entry per output channel.
    pub mapping: Vec<u8>,
}

/// One audio track's configuration: what the init segment declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackConfig {
    /// Codec and its configuration.
    pub codec: AudioCodec,
    /// Output sample rate in Hz (HE-AAC: the full rate, twice the core's).
    pub sample_rate: u32,
    /// Output channels (1..=8).
    pub channels: u16,
    /// Ticks per second of every time in this track (`mdhd`, `tfdt`, sample durations).
    /// Use the sample rate (48000 for Opus), so a sample's duration is its frame count.
    pub timescale: u32,
}

/// One sample (codec packet) of a media segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample<'a> {
    /// The packet: a raw AAC access unit (no ADTS header), an MP3 frame, an Opus packet or a
    /// FLAC frame.
    pub data: &'a [u8],
    /// Duration in the track's timescale (e.g. 1024 for AAC-LC at timescale = rate).
    pub duration: u32,
}

const AAC_RATES: [u32; 13] = [
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

/// Builds the AudioSpecificConfig for an ADTS stream from one ADTS frame header.
///
/// ADTS can only declare an AAC-LC core; with `he_aac` the config signals HE-AAC v1 explicitly
/// (AOT 5, core rate, extension rate twice the core, then AOT 2), so a decoder that would
/// otherwise play only the half-rate core knows to apply SBR. Returns the config and the output
/// sample rate.
pub fn aac_config_from_adts(header: &[u8], he_aac: bool) -> Result<(Vec<u8>, u32), MuxError> {
    if header.len() < 7 || header[0] != 0xFF || header[1] & 0xF6 != 0xF0 {
        return Err(MuxError::Config("not an ADTS header"));
    }
    let object_type = ((header[2] >> 6) & 3) + 1;
    let rate_index = (header[2] >> 2) & 0x0F;
    let channel_config = ((header[2] & 1) << 2) | (header[3] >> 6);
    let core_rate = *AAC_RATES
        .get(usize::from(rate_index))
        .ok_or(MuxError::Config(
            "ADTS sampling frequency index out of range",
        ))?;
    if channel_config == 0 {
        return Err(MuxError::Config(
            "ADTS channel configuration 0 (in-band PCE) unsupported",
        ));
    }
    if !he_aac {
        let mut w = BitWriter::default();
        w.put(u32::from(object_type), 5);
        w.put(u32::from(rate_index), 4);
        w.put(u32::from(channel_config), 4);
        w.put(0, 3); // GASpecificConfig: frame length 1024, no core coder, no extension
        return Ok((w.finish(), core_rate));
    }
    let out_rate = core_rate * 2;
    let ext_index = AAC_RATES
        .iter()
        .position(|&r| r == out_rate)
        .ok_or(MuxError::Config(
            "HE-AAC output rate has no sampling frequency index",
        ))?;
    let mut w = BitWriter::default();
    w.put(5, 5); // SBR
    w.put(u32::from(rate_index), 4);
    w.put(u32::from(channel_config), 4);
    w.put(ext_index as u32, 4);
    w.put(u32::from(object_type), 5);
    w.put(0, 3);
    Ok((w.finish(), out_rate))
}

impl TrackConfig {
    /// The track for an encoder's output ([`CodecInfo`]): AAC takes the encoder's
    /// AudioSpecificConfig, Opus its pre-skip, FLAC its STREAMINFO; the timescale is the rate.
    /// Vorbis and PCM have no CMAF form here.
    pub fn from_codec_info(info: &CodecInfo) -> Result<TrackConfig, MuxError> {
        let codec = match info.codec {
            Codec::AacLc | Codec::HeAac => AudioCodec::Aac {
                audio_specific_config: info.extradata.to_vec(),
            },
            Codec::Mp3 => AudioCodec::Mp3,
            Codec::Opus => AudioCodec::Opus {
                pre_skip: u16::try_from(info.delay)
                    .map_err(|_| MuxError::Config("Opus pre-skip over 65535"))?,
                input_sample_rate: info.rate,
                output_gain: 0,
                channel_mapping_family: if info.channels <= 2 { 0 } else { 1 },
                channel_mapping: None,
            },
            Codec::Flac => AudioCodec::Flac {
                streaminfo: info
                    .extradata
                    .as_ref()
                    .try_into()
                    .map_err(|_| MuxError::Config("FLAC STREAMINFO is not 34 bytes"))?,
            },
            Codec::Vorbis | Codec::PcmS16Le => {
                return Err(MuxError::Config("codec has no fMP4 mapping here"))
            }
        };
        let config = TrackConfig {
            codec,
            sample_rate: info.rate,
            channels: info.channels,
            timescale: info.rate,
        };
        config.validate()?;
        Ok(config)
    }

    /// The track for an Ogg Opus stream, from its `OpusHead` packet (RFC 7845 section 5.1);
    /// timescale 48000.
    pub fn from_opus_head(head: &[u8]) -> Result<TrackConfig, MuxError> {
        if head.len() < 19 || &head[..8] != b"OpusHead" {
            return Err(MuxError::Config("not an OpusHead packet"));
        }
        let channels = head[9];
        let pre_skip = u16::from_le_bytes([head[10], head[11]]);
        let input_sample_rate = u32::from_le_bytes([head[12], head[13], head[14], head[15]]);
        let output_gain = i16::from_le_bytes([head[16], head[17]]);
        let family = head[18];
        let channel_mapping = if family == 0 {
            None
        } else {
            let table = head
                .get(19..21 + usize::from(channels))
                .ok_or(MuxError::Config("OpusHead channel mapping table truncated"))?;
            Some(OpusChannelMapping {
                stream_count: table[0],
                coupled_count: table[1],
                mapping: table[2..].to_vec(),
            })
        };
        let config = TrackConfig {
            codec: AudioCodec::Opus {
                pre_skip,
                input_sample_rate,
                output_gain,
                channel_mapping_family: family,
                channel_mapping,
            },
            sample_rate: 48_000,
            channels: u16::from(channels),
            timescale: 48_000,
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks what the writers rely on: a timescale and rate above 0, 1..=8 channels, an AAC
    /// config of at least 2 bytes, an Opus mapping table that matches the channel count.
    pub fn validate(&self) -> Result<(), MuxError> {
        if self.timescale == 0 {
            return Err(MuxError::Config("timescale is 0"));
        }
        if self.sample_rate == 0 {
            return Err(MuxError::Config("sample rate is 0"));
        }
        if !(1..=8).contains(&self.channels) {
            return Err(MuxError::Config("channel count outside 1..=8"));
        }
        match &self.codec {
            AudioCodec::Aac {
                audio_specific_config,
            } => {
                if audio_specific_config.len() < 2 {
                    return Err(MuxError::Config("AudioSpecificConfig shorter than 2 bytes"));
                }
                if audio_specific_config.len() > 127 {
                    return Err(MuxError::Config(
                        "AudioSpecificConfig longer than 127 bytes",
                    ));
                }
            }
            AudioCodec::Opus {
                channel_mapping_family,
                channel_mapping,
                ..
            } => match (channel_mapping_family, channel_mapping) {
                (0, _) if self.channels > 2 => {
                    return Err(MuxError::Config(
                        "Opus mapping family 0 with over 2 channels",
                    ))
                }
                (0, _) => {}
                (_, Some(m)) if m.mapping.len() == usize::from(self.channels) => {}
                (_, Some(_)) => {
                    return Err(MuxError::Config(
                        "Opus channel mapping table length differs from the channel count",
                    ))
                }
                // Family 1 without a table: the Vorbis-order table for the channel count.
                (_, None) => {}
            },
            AudioCodec::Flac { .. } | AudioCodec::Mp3 => {}
        }
        Ok(())
    }
}

/// The RFC 6381 codecs parameter for the track, as HLS `CODECS`, DASH `@codecs` and
/// `MediaSource.isTypeSupported` take it: `mp4a.40.2` (AAC-LC), `mp4a.40.5` (HE-AAC),
/// `mp4a.40.29` (HE-AAC v2), `mp4a.6B`/`mp4a.69` (MP3), `opus`, `fLaC`.
///
/// For FLAC this is the spelling of the FLAC-in-ISOBMFF specification; Chromium's
/// `isTypeSupported` accepts `flac` as well.
pub fn codecs_string(config: &TrackConfig) -> String {
    match &config.codec {
        AudioCodec::Aac {
            audio_specific_config,
        } => format!("mp4a.40.{}", aac_object_type(audio_specific_config)),
        AudioCodec::Mp3 => format!("mp4a.{:02X}", mp3_object_type(config.sample_rate)),
        AudioCodec::Opus { .. } => "opus".to_string(),
        AudioCodec::Flac { .. } => "fLaC".to_string(),
    }
}

/// The audio object type of an AudioSpecificConfig (5-bit field, 31 escapes to 32 + 6 bits).
fn aac_object_type(asc: &[u8]) -> u8 {
    let first = asc.first().copied().unwrap_or(0x10) >> 3;
    if first == 31 {
        let b1 = asc.get(1).copied().unwrap_or(0);
        32 + (((asc[0] & 7) << 3) | (b1 >> 5))
    } else {
        first
    }
}

/// MPEG-1 audio (0x6B) at 32 kHz and above, MPEG-2 audio (0x69) for its half rates.
fn mp3_object_type(rate: u32) -> u8 {
    if rate >= 32_000 {
        0x6B
    } else {
        0x69
    }
}

/// The init segment: `ftyp` (`iso6`, compatible `iso6 cmfc dash mp41`) and `moov` (`mvhd`,
/// one `trak` with track id 1 and the codec's sample entry, `mvex`/`trex` with sync-sample
/// default flags). Durations are 0 (a live, fragmented track).
pub fn init_segment(config: &TrackConfig) -> Result<Vec<u8>, MuxError> {
    config.validate()?;
    let mut out = Vec::with_capacity(700);
    write_box(&mut out, b"ftyp", |b| {
        b.extend_from_slice(b"iso6");
        put_u32(b, 0);
        for brand in [b"iso6", b"cmfc", b"dash", b"mp41"] {
            b.extend_from_slice(brand);
        }
    });
    write_box(&mut out, b"moov", |moov| {
        write_full_box(moov, b"mvhd", 0, 0, |b| {
            put_u32(b, 0); // creation time
            put_u32(b, 0); // modification time
            put_u32(b, config.timescale);
            put_u32(b, 0); // duration
            put_u32(b, 0x0001_0000); // rate 1.0
            put_u16(b, 0x0100); // volume 1.0
            b.extend_from_slice(&[0; 10]);
            put_matrix(b);
            b.extend_from_slice(&[0; 24]); // pre_defined
            put_u32(b, 2); // next track id
        });
        write_box(moov, b"trak", |trak| {
            write_full_box(trak, b"tkhd", 0, 3, |b| {
                put_u32(b, 0);
                put_u32(b, 0);
                put_u32(b, 1); // track id
                put_u32(b, 0);
                put_u32(b, 0); // duration
                b.extend_from_slice(&[0; 8]);
                put_u16(b, 0); // layer
                put_u16(b, 1); // alternate group
                put_u16(b, 0x0100); // volume
                put_u16(b, 0);
                put_matrix(b);
                put_u32(b, 0); // width
                put_u32(b, 0); // height
            });
            write_box(trak, b"mdia", |mdia| {
                write_full_box(mdia, b"mdhd", 0, 0, |b| {
                    put_u32(b, 0);
                    put_u32(b, 0);
                    put_u32(b, config.timescale);
                    put_u32(b, 0);
                    put_u16(b, 0x55C4); // "und"
                    put_u16(b, 0);
                });
                write_full_box(mdia, b"hdlr", 0, 0, |b| {
                    put_u32(b, 0);
                    b.extend_from_slice(b"soun");
                    b.extend_from_slice(&[0; 12]);
                    b.extend_from_slice(b"SoundHandler\0");
                });
                write_box(mdia, b"minf", |minf| {
                    write_full_box(minf, b"smhd", 0, 0, |b| put_u32(b, 0));
                    write_box(minf, b"dinf", |dinf| {
                        write_full_box(dinf, b"dref", 0, 0, |b| {
                            put_u32(b, 1);
                            write_full_box(b, b"url ", 0, 1, |_| {});
                        });
                    });
                    write_box(minf, b"stbl", |stbl| {
                        write_full_box(stbl, b"stsd", 0, 0, |b| {
                            put_u32(b, 1);
                            sample_entry(b, config);
                        });
                        write_full_box(stbl, b"stts", 0, 0, |b| put_u32(b, 0));
                        write_full_box(stbl, b"stsc", 0, 0, |b| put_u32(b, 0));
                        write_full_box(stbl, b"stsz", 0, 0, |b| {
                            put_u32(b, 0);
                            put_u32(b, 0);
                        });
                        write_full_box(stbl, b"stco", 0, 0, |b| put_u32(b, 0));
                    });
                });
            });
        });
        write_box(moov, b"mvex", |mvex| {
            write_full_box(mvex, b"trex", 0, 0, |b| {
                put_u32(b, 1); // track id
                put_u32(b, 1); // sample description index
                put_u32(b, 0); // default duration
                put_u32(b, 0); // default size
                put_u32(b, SYNC_SAMPLE_FLAGS);
            });
        });
    });
    Ok(out)
}

/// `sample_depends_on = 2` (depends on no other sample): every audio sample is a sync sample.
const SYNC_SAMPLE_FLAGS: u32 = 0x0200_0000;

fn sample_entry(b: &mut Vec<u8>, config: &TrackConfig) {
    let (fourcc, sample_size, rate) = match &config.codec {
        AudioCodec::Aac { .. } | AudioCodec::Mp3 => (b"mp4a", 16, config.sample_rate),
        AudioCodec::Opus { .. } => (b"Opus", 16, 48_000),
        AudioCodec::Flac { streaminfo } => {
            // bits per sample: 5 bits across STREAMINFO bytes 12..13, stored minus one
            let bps = (((streaminfo[12] & 1) << 4) | (streaminfo[13] >> 4)) + 1;
            (b"fLaC", u16::from(bps), config.sample_rate)
        }
    };
    write_box(b, fourcc, |e| {
        e.extend_from_slice(&[0; 6]);
        put_u16(e, 1); // data reference index
        e.extend_from_slice(&[0; 8]);
        put_u16(e, config.channels);
        put_u16(e, sample_size);
        put_u16(e, 0);
        put_u16(e, 0);
        put_u32(e, if rate <= 0xFFFF { rate << 16 } else { 0 });
        match &config.codec {
            AudioCodec::Aac {
                audio_specific_config,
            } => esds(e, 0x40, Some(audio_specific_config)),
            AudioCodec::Mp3 => esds(e, mp3_object_type(config.sample_rate), None),
            AudioCodec::Opus {
                pre_skip,
                input_sample_rate,
                output_gain,
                channel_mapping_family,
                channel_mapping,
            } => write_box(e, b"dOps", |d| {
                d.push(0); // version
                d.push(config.channels as u8);
                put_u16(d, *pre_skip);
                put_u32(d, *input_sample_rate);
                d.extend_from_slice(&output_gain.to_be_bytes());
                d.push(*channel_mapping_family);
                if *channel_mapping_family != 0 {
                    match channel_mapping {
                        Some(m) => {
                            d.push(m.stream_count);
                            d.push(m.coupled_count);
                            d.extend_from_slice(&m.mapping);
                        }
                        None => {
                            // Vorbis order, as libopus' multistream encoder lays it out.
                            let (streams, coupled, map) = vorbis_mapping(config.channels);
                            d.push(streams);
                            d.push(coupled);
                            d.extend_from_slice(map);
                        }
                    }
                }
            }),
            AudioCodec::Flac { streaminfo } => write_full_box(e, b"dfLa", 0, 0, |d| {
                d.push(0x80); // last metadata block, type 0 (STREAMINFO)
                d.extend_from_slice(&[0, 0, 34]);
                d.extend_from_slice(streaminfo);
            }),
        }
    });
}

/// RFC 7845 section 5.1.1.2: streams, coupled streams and the mapping for family 1.
fn vorbis_mapping(channels: u16) -> (u8, u8, &'static [u8]) {
    match channels {
        1 => (1, 0, &[0]),
        2 => (1, 1, &[0, 1]),
        3 => (2, 1, &[0, 2, 1]),
        4 => (2, 2, &[0, 1, 2, 3]),
        5 => (3, 2, &[0, 4, 1, 2, 3]),
        6 => (4, 2, &[0, 4, 1, 2, 3, 5]),
        7 => (4, 3, &[0, 4, 1, 2, 3, 5, 6]),
        _ => (5, 3, &[0, 6, 1, 2, 3, 4, 5, 7]),
    }
}

/// `esds` (ISO 14496-14): ES_Descriptor { DecoderConfigDescriptor { DecoderSpecificInfo },
/// SLConfigDescriptor }, lengths in the single-byte form (every part here is under 128 bytes).
fn esds(b: &mut Vec<u8>, object_type: u8, asc: Option<&[u8]>) {
    write_full_box(b, b"esds", 0, 0, |d| {
        let dsi_len = asc.map_or(0, |a| 2 + a.len());
        let dcd_len = 13 + dsi_len;
        let es_len = 3 + 2 + dcd_len + 3;
        d.extend_from_slice(&[0x03, es_len as u8]);
        put_u16(d, 1); // ES_ID
        d.push(0); // no dependence, URL or OCR stream
        d.extend_from_slice(&[0x04, dcd_len as u8, object_type, 0x15]); // audio stream
        d.extend_from_slice(&[0, 0, 0]); // buffer size
        put_u32(d, 0); // max bitrate
        put_u32(d, 0); // average bitrate
        if let Some(asc) = asc {
            d.extend_from_slice(&[0x05, asc.len() as u8]);
            d.extend_from_slice(asc);
        }
        d.extend_from_slice(&[0x06, 0x01, 0x02]);
    });
}

/// A media segment, or an LL-HLS part (a part is just a smaller one): `styp` (`msdh`,
/// compatible `msdh msix`), `moof` (`mfhd` with `sequence_number`; `traf` with `tfhd`
/// default-base-is-moof, `tfdt` v1 with `base_media_decode_time`, `trun` with the data offset
/// and each sample's duration and size) and `mdat`.
///
/// `sequence_number` must grow by one per segment/part across the stream (fragment order);
/// `base_media_decode_time` is the sum of all earlier samples' durations plus the stream's
/// start. Errors: no samples, more than [`MAX_SAMPLES_PER_SEGMENT`], or over 4 GiB of data.
pub fn media_segment(
    config: &TrackConfig,
    sequence_number: u32,
    base_media_decode_time: u64,
    samples: &[Sample<'_>],
) -> Result<Vec<u8>, MuxError> {
    media_segment_with_events(
        config,
        sequence_number,
        base_media_decode_time,
        samples,
        &[],
    )
}

/// Like [`media_segment`], with `emsg` boxes (e.g. from [`id3_emsg`]) placed after `styp`
/// and before `moof`, where CMAF puts in-band events.
pub fn media_segment_with_events(
    config: &TrackConfig,
    sequence_number: u32,
    base_media_decode_time: u64,
    samples: &[Sample<'_>],
    events: &[&[u8]],
) -> Result<Vec<u8>, MuxError> {
    config.validate()?;
    if samples.is_empty() {
        return Err(MuxError::NoSamples);
    }
    if samples.len() > MAX_SAMPLES_PER_SEGMENT {
        return Err(MuxError::TooManySamples {
            count: samples.len(),
            limit: MAX_SAMPLES_PER_SEGMENT,
        });
    }
    let data_len: usize = samples.iter().map(|s| s.data.len()).sum();
    let mdat_len = u32::try_from(data_len + 8).map_err(|_| MuxError::TooLarge)?;
    let sample_len = |s: &Sample<'_>| u32::try_from(s.data.len()).map_err(|_| MuxError::TooLarge);

    // moof = 8 + mfhd 16 + traf (8 + tfhd 20 + tfdt 20 + trun (20 + 8 per sample))
    let moof_len = 8 + 16 + 8 + 20 + 20 + 20 + 8 * samples.len();
    let events_len: usize = events.iter().map(|e| e.len()).sum();
    let mut out = Vec::with_capacity(24 + events_len + moof_len + 8 + data_len);
    write_box(&mut out, b"styp", |b| {
        b.extend_from_slice(b"msdh");
        put_u32(b, 0);
        b.extend_from_slice(b"msdh");
        b.extend_from_slice(b"msix");
    });
    for event in events {
        out.extend_from_slice(event);
    }
    let moof_start = out.len();
    let mut sizes = Vec::with_capacity(samples.len());
    for s in samples {
        sizes.push(sample_len(s)?);
    }
    write_box(&mut out, b"moof", |moof| {
        write_full_box(moof, b"mfhd", 0, 0, |b| put_u32(b, sequence_number));
        write_box(moof, b"traf", |traf| {
            // default-base-is-moof (0x020000) | default-sample-flags-present (0x000020)
            write_full_box(traf, b"tfhd", 0, 0x02_0020, |b| {
                put_u32(b, 1);
                put_u32(b, SYNC_SAMPLE_FLAGS);
            });
            write_full_box(traf, b"tfdt", 1, 0, |b| {
                b.extend_from_slice(&base_media_decode_time.to_be_bytes())
            });
            // data-offset (0x001) | sample-duration (0x100) | sample-size (0x200)
            write_full_box(traf, b"trun", 0, 0x00_0301, |b| {
                put_u32(b, samples.len() as u32);
                put_u32(b, (moof_len + 8) as u32);
                for (s, size) in samples.iter().zip(&sizes) {
                    put_u32(b, s.duration);
                    put_u32(b, *size);
                }
            });
        });
    });
    debug_assert_eq!(out.len() - moof_start, moof_len);
    put_u32(&mut out, mdat_len);
    out.extend_from_slice(b"mdat");
    for s in samples {
        out.extend_from_slice(s.data);
    }
    Ok(out)
}

/// The scheme hls.js and dash.js read ID3 timed metadata from in `emsg`.
pub const ID3_EMSG_SCHEME: &str = "https://aomedia.org/emsg/ID3";

/// A version-1 `emsg` box carrying an ID3v2.4 tag with a `TIT2` (title) frame: a now-playing
/// title as timed metadata at `presentation_time` (in `timescale` ticks, on the same timeline
/// as the track's decode times), duration unknown (`0xFFFFFFFF`), event `id` chosen by the
/// caller (distinct per title change; players drop repeats of an id).
pub fn id3_emsg(presentation_time: u64, timescale: u32, id: u32, title: &str) -> Vec<u8> {
    let tag = id3_tag(&[id3_text_frame(b"TIT2", title)]);
    let mut out = Vec::with_capacity(64 + tag.len());
    write_full_box(&mut out, b"emsg", 1, 0, |b| {
        put_u32(b, timescale);
        b.extend_from_slice(&presentation_time.to_be_bytes());
        put_u32(b, 0xFFFF_FFFF);
        put_u32(b, id);
        b.extend_from_slice(ID3_EMSG_SCHEME.as_bytes());
        b.push(0);
        b.push(0); // value ""
        b.extend_from_slice(&tag);
    });
    out
}

fn put_u16(b: &mut Vec<u8>, v: u16) {
    b.extend_from_slice(&v.to_be_bytes());
}

fn put_u32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_be_bytes());
}

fn put_matrix(b: &mut Vec<u8>) {
    for v in [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
        put_u32(b, v);
    }
}

/// Appends a box: 32-bit size, type, then what `body` writes (the size is patched after).
/// Boxes here are small (a `moof`, a `moov`); an `mdat` is written by hand.
fn write_box(out: &mut Vec<u8>, fourcc: &[u8; 4], body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(fourcc);
    body(out);
    let size = (out.len() - start) as u32;
    out[start..start + 4].copy_from_slice(&size.to_be_bytes());
}

/// A full box: a box whose body starts with a version byte and 24 bits of flags.
fn write_full_box(
    out: &mut Vec<u8>,
    fourcc: &[u8; 4],
    version: u8,
    flags: u32,
    body: impl FnOnce(&mut Vec<u8>),
) {
    write_box(out, fourcc, |b| {
        put_u32(b, (u32::from(version) << 24) | (flags & 0x00FF_FFFF));
        body(b);
    });
}

/// MSB-first bit packing for AudioSpecificConfig.
#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    bits: u32,
}

impl BitWriter {
    fn put(&mut self, value: u32, n: u32) {
        for i in (0..n).rev() {
            if self.bits % 8 == 0 {
                self.bytes.push(0);
            }
            let bit = ((value >> i) & 1) as u8;
            if let Some(last) = self.bytes.last_mut() {
                *last |= bit << (7 - self.bits % 8);
            }
            self.bits += 1;
        }
    }

    fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

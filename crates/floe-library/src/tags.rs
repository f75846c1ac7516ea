//! Reading one audio file: tags, audio properties and its embedded picture (lofty).

use std::path::Path;

use lofty::config::{ParseOptions, ParsingMode};
use lofty::file::{AudioFile, TaggedFileExt};
use lofty::picture::PictureType;
use lofty::prelude::{Accessor, ItemKey};
use lofty::probe::Probe;

/// Extensions the scanner picks up, lower case, with the MIME type each is served with.
pub const AUDIO_TYPES: &[(&str, &str)] = &[
    ("mp3", "audio/mpeg"),
    ("m4a", "audio/mp4"),
    ("m4b", "audio/mp4"),
    ("mp4", "audio/mp4"),
    ("aac", "audio/aac"),
    ("flac", "audio/flac"),
    ("ogg", "audio/ogg"),
    ("oga", "audio/ogg"),
    ("opus", "audio/ogg"),
    ("wav", "audio/wav"),
    ("aif", "audio/aiff"),
    ("aiff", "audio/aiff"),
    ("wv", "audio/x-wavpack"),
];

/// The MIME type for an audio file extension (any case), if the scanner reads such files.
pub fn audio_content_type(suffix: &str) -> Option<&'static str> {
    AUDIO_TYPES
        .iter()
        .find(|(ext, _)| ext.eq_ignore_ascii_case(suffix))
        .map(|(_, mime)| *mime)
}

/// Picture file names taken as an album's folder art, best first (any case).
pub const FOLDER_ART_NAMES: &[&str] = &["cover", "folder", "front", "album", "albumart"];

/// Picture file extensions taken as folder art, with their MIME types.
pub const IMAGE_TYPES: &[(&str, &str)] = &[
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("png", "image/png"),
    ("webp", "image/webp"),
    ("gif", "image/gif"),
];

/// The rank of `file_name` as folder art (lower is better), or `None` if it is not folder art.
pub fn folder_art_rank(file_name: &str) -> Option<usize> {
    let (stem, ext) = file_name.rsplit_once('.')?;
    IMAGE_TYPES
        .iter()
        .find(|(e, _)| e.eq_ignore_ascii_case(ext))?;
    FOLDER_ART_NAMES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(stem))
}

/// The MIME type of an image file name, by extension.
pub fn image_content_type(file_name: &str) -> Option<&'static str> {
    let (_, ext) = file_name.rsplit_once('.')?;
    IMAGE_TYPES
        .iter()
        .find(|(e, _)| e.eq_ignore_ascii_case(ext))
        .map(|(_, m)| *m)
}

/// What the scanner keeps of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileInfo {
    /// Title tag, else the file name without extension.
    pub title: String,
    /// Artist tag, else "Unknown Artist".
    pub artist: String,
    /// Album tag, else "Unknown Album".
    pub album: String,
    /// Album artist tag, else the artist.
    pub album_artist: String,
    /// Track number.
    pub track_no: Option<u32>,
    /// Disc number.
    pub disc_no: Option<u32>,
    /// Year (from the date tag).
    pub year: Option<u32>,
    /// Genre.
    pub genre: Option<String>,
    /// Duration of the audio.
    pub duration_ms: u64,
    /// Average audio bitrate.
    pub bitrate_kbps: Option<u32>,
    /// Sample rate.
    pub sample_rate: Option<u32>,
    /// Channels.
    pub channels: Option<u32>,
    /// Extension, lower case.
    pub suffix: String,
    /// MIME type for serving.
    pub content_type: String,
    /// The embedded front cover (or the first picture when none is marked front).
    pub picture: Option<EmbeddedPicture>,
}

/// A picture found inside an audio file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmbeddedPicture {
    /// MIME type ("image/jpeg" when the file does not say).
    pub mime: String,
    /// The image.
    pub data: Vec<u8>,
}

/// Name used for a track without an artist tag.
pub const UNKNOWN_ARTIST: &str = "Unknown Artist";
/// Name used for a track without an album tag.
pub const UNKNOWN_ALBUM: &str = "Unknown Album";

/// Reads tags, properties and the embedded picture of `path`. The error is a reason for the
/// scan summary ("not an audio file we can read: ...", "no audio stream found").
pub fn read_file(path: &Path) -> Result<FileInfo, String> {
    let suffix = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_default();
    let content_type = audio_content_type(&suffix)
        .ok_or_else(|| format!("unsupported file extension {suffix:?}"))?;
    let probe = Probe::open(path)
        .map_err(|e| format!("cannot open: {e}"))?
        .options(ParseOptions::new().parsing_mode(ParsingMode::BestAttempt))
        .guess_file_type()
        .map_err(|e| format!("cannot read: {e}"))?;
    if probe.file_type().is_none() {
        return Err("not a recognised audio file".to_string());
    }
    let file = probe
        .read()
        .map_err(|e| format!("unreadable audio file: {e}"))?;
    let props = file.properties();
    let duration_ms = props.duration().as_millis().min(u64::MAX as u128) as u64;
    if duration_ms == 0 && props.sample_rate().is_none() {
        return Err("no audio stream found".to_string());
    }
    let tag = file.primary_tag().or_else(|| file.first_tag());
    let text = |s: Option<std::borrow::Cow<'_, str>>| {
        s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
    };
    let title = tag.and_then(|t| text(t.title())).unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let artist = tag
        .and_then(|t| text(t.artist()))
        .unwrap_or_else(|| UNKNOWN_ARTIST.into());
    let album = tag
        .and_then(|t| text(t.album()))
        .unwrap_or_else(|| UNKNOWN_ALBUM.into());
    let album_artist = tag
        .and_then(|t| t.get_string(&ItemKey::AlbumArtist))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| artist.clone());
    let picture = tag.and_then(|t| {
        let pics = t.pictures();
        pics.iter()
            .find(|p| p.pic_type() == PictureType::CoverFront)
            .or_else(|| pics.first())
            .filter(|p| !p.data().is_empty())
            .map(|p| EmbeddedPicture {
                mime: p
                    .mime_type()
                    .map(|m| m.as_str().to_string())
                    .filter(|m| m.starts_with("image/"))
                    .unwrap_or_else(|| sniff_image_mime(p.data()).to_string()),
                data: p.data().to_vec(),
            })
    });
    Ok(FileInfo {
        title,
        artist,
        album,
        album_artist,
        track_no: tag.and_then(|t| t.track()),
        disc_no: tag.and_then(|t| t.disk()),
        year: tag.and_then(|t| t.year()).filter(|y| *y > 0),
        genre: tag.and_then(|t| text(t.genre())),
        duration_ms,
        bitrate_kbps: props
            .audio_bitrate()
            .or(props.overall_bitrate())
            .filter(|b| *b > 0),
        sample_rate: props.sample_rate(),
        channels: props.channels().map(u32::from),
        suffix,
        content_type: content_type.to_string(),
        picture,
    })
}

/// The MIME type of an image from its first bytes (JPEG when unknown).
pub fn sniff_image_mime(data: &[u8]) -> &'static str {
    if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if data.starts_with(b"GIF8") {
        "image/gif"
    } else if data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        "image/webp"
    } else {
        "image/jpeg"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_art_names_rank_in_order_and_ignore_other_images() {
        assert_eq!(folder_art_rank("cover.jpg"), Some(0));
        assert_eq!(folder_art_rank("Folder.JPEG"), Some(1));
        assert_eq!(folder_art_rank("front.png"), Some(2));
        assert_eq!(folder_art_rank("scan.jpg"), None);
        assert_eq!(folder_art_rank("cover.txt"), None);
        assert_eq!(folder_art_rank("cover"), None);
    }

    #[test]
    fn content_types_by_extension() {
        assert_eq!(audio_content_type("MP3"), Some("audio/mpeg"));
        assert_eq!(audio_content_type("opus"), Some("audio/ogg"));
        assert_eq!(audio_content_type("txt"), None);
        assert_eq!(image_content_type("a.PNG"), Some("image/png"));
    }

    #[test]
    fn image_sniffing() {
        assert_eq!(sniff_image_mime(b"\x89PNG\r\n\x1a\nxxxx"), "image/png");
        assert_eq!(sniff_image_mime(b"RIFF\0\0\0\0WEBPVP8 "), "image/webp");
        assert_eq!(sniff_image_mime(b"\xff\xd8\xff\xe0"), "image/jpeg");
    }

    #[test]
    fn garbage_is_a_failure_with_a_reason_not_a_panic() {
        let dir = std::env::temp_dir().join(format!("floe-tags-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("broken.mp3");
        std::fs::write(&path, vec![0x5a; 4096]).expect("write");
        let reason = read_file(&path).expect_err("garbage must not parse");
        assert!(!reason.is_empty());
        let txt = dir.join("notes.txt");
        std::fs::write(&txt, b"hello").expect("write");
        assert_eq!(
            read_file(&txt).expect_err("txt"),
            "unsupported file extension \"txt\""
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}

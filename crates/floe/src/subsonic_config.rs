//! `[subsonic]`: the Subsonic / OpenSubsonic API under `/rest/` (served when a library is
//! configured).

use floe_library::users::PasswordKey;
use floe_library::Library;
use floe_server::subsonic::{self as ss, Subsonic, SubsonicSettings};
use serde::Deserialize;
use std::sync::Arc;

/// `[subsonic]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SubsonicSection {
    /// Serve `/rest/` when a library is configured.
    pub enabled: bool,
    /// The largest form body of a POST, bytes.
    pub max_form_body: usize,
    /// Bytes of resized cover images kept in memory.
    pub cover_cache_bytes: usize,
    /// The largest `size` getCoverArt scales to, pixels.
    pub max_cover_size: u32,
    /// The most items one list or search call returns.
    pub max_list_size: u32,
    /// The most entries a playlist may hold.
    pub max_playlist_entries: usize,
    /// Cover images scaled at once, at most.
    pub max_concurrent_resizes: usize,
}

impl Default for SubsonicSection {
    fn default() -> Self {
        SubsonicSection {
            enabled: true,
            max_form_body: ss::DEFAULT_MAX_FORM_BODY,
            cover_cache_bytes: ss::DEFAULT_COVER_CACHE_BYTES,
            max_cover_size: ss::DEFAULT_MAX_COVER_SIZE,
            max_list_size: ss::DEFAULT_MAX_LIST_SIZE,
            max_playlist_entries: ss::DEFAULT_MAX_PLAYLIST_ENTRIES,
            max_concurrent_resizes: ss::DEFAULT_MAX_CONCURRENT_RESIZES,
        }
    }
}

impl SubsonicSection {
    /// Semantic errors as (key, message).
    pub fn errors(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.max_form_body < 1024 {
            out.push(("max_form_body", "must be at least 1024 bytes".into()));
        }
        if !(16..=4096).contains(&self.max_cover_size) {
            out.push((
                "max_cover_size",
                "must be between 16 and 4096 pixels".into(),
            ));
        }
        if self.max_list_size == 0 {
            out.push(("max_list_size", "must be at least 1".into()));
        }
        if self.max_playlist_entries == 0 {
            out.push(("max_playlist_entries", "must be at least 1".into()));
        }
        if self.max_concurrent_resizes == 0 {
            out.push(("max_concurrent_resizes", "must be at least 1".into()));
        }
        out
    }

    /// As the server takes them.
    pub fn settings(&self) -> SubsonicSettings {
        SubsonicSettings {
            max_form_body: self.max_form_body,
            cover_cache_bytes: self.cover_cache_bytes,
            max_cover_size: self.max_cover_size,
            max_list_size: self.max_list_size,
            max_playlist_entries: self.max_playlist_entries,
            max_concurrent_resizes: self.max_concurrent_resizes,
        }
    }
}

/// The API over `library` when `[subsonic] enabled` (the default); its password key file is
/// read, or created, beside the database.
pub fn service(
    section: &SubsonicSection,
    library: &Library,
) -> Result<Option<Arc<Subsonic>>, String> {
    if !section.enabled {
        return Ok(None);
    }
    let key_path = PasswordKey::path_beside(library.db_path());
    let key = PasswordKey::load_or_create(&key_path).map_err(|e| format!("subsonic: {e}"))?;
    Ok(Some(Arc::new(Subsonic::new(
        library.clone(),
        key,
        section.settings(),
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_named() {
        assert!(SubsonicSection::default().errors().is_empty());
        let bad = SubsonicSection {
            max_form_body: 10,
            max_cover_size: 5,
            max_list_size: 0,
            max_playlist_entries: 0,
            max_concurrent_resizes: 0,
            ..SubsonicSection::default()
        };
        let keys: Vec<&str> = bad.errors().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "max_form_body",
                "max_cover_size",
                "max_list_size",
                "max_playlist_entries",
                "max_concurrent_resizes"
            ]
        );
    }
}

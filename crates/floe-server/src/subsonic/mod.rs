//! The Subsonic / OpenSubsonic API under `/rest/` (also with `.view` suffixes), GET or form
//! POST, answered in XML, JSON or JSONP, errors included, always with HTTP 200 as Subsonic
//! clients expect (binary methods answer their bytes, or an envelope on error).
//!
//! Layout:
//! - [`params`]: query-string and form-body parameters.
//! - [`auth`]: password, `enc:`, token+salt and API-key credentials; the version check.
//! - [`response`]: the `subsonic-response` envelope in XML, JSON and JSONP.
//! - [`error`]: Subsonic's error codes.
//! - [`ids`]: `ar-`, `al-`, `tr-`, `pl-`, `co-` ids.
//! - [`browse`]: folders, indexes and directories, artists, albums, songs, search, album lists,
//!   random songs, stars (and the `starred` time on every item).
//! - [`playlists`]: playlists and their ownership rules.
//! - [`media`]: stream, download and cover art (resized, cached).
//!
//! Catalog work runs on the blocking pool; each method is a plain function of the call and the
//! library. `scrobble` and `getNowPlaying` also use the in-memory now-playing list here.

pub mod auth;
pub mod browse;
pub mod error;
pub mod ids;
pub mod media;
pub mod params;
pub mod playlists;
pub mod response;

use crate::AppState;
use auth::Credentials;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use error::SubsonicError;
use floe_library::users::{self, PasswordKey, User};
use floe_library::{Library, LibraryError};
use params::Params;
use response::{Element, Format, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The Subsonic API's limits and caches.
#[derive(Debug, Clone)]
pub struct SubsonicSettings {
    /// The largest form body accepted on a POST, in bytes.
    pub max_form_body: usize,
    /// Bytes of resized cover images kept in memory (least recently used dropped first).
    pub cover_cache_bytes: usize,
    /// The largest `size` getCoverArt resizes to, in pixels (larger requests get this size).
    pub max_cover_size: u32,
    /// The most items one list or search call returns (larger `size`/`count` are capped).
    pub max_list_size: u32,
    /// The most entries a playlist may hold (more: error 0).
    pub max_playlist_entries: usize,
    /// Cover images decoded and scaled at once, at most (more requests wait their turn).
    pub max_concurrent_resizes: usize,
}

/// Default of [`SubsonicSettings::max_form_body`].
pub const DEFAULT_MAX_FORM_BODY: usize = 256 * 1024;
/// Default of [`SubsonicSettings::cover_cache_bytes`].
pub const DEFAULT_COVER_CACHE_BYTES: usize = 32 * 1024 * 1024;
/// Default of [`SubsonicSettings::max_cover_size`].
pub const DEFAULT_MAX_COVER_SIZE: u32 = 1024;
/// Default of [`SubsonicSettings::max_list_size`].
pub const DEFAULT_MAX_LIST_SIZE: u32 = 500;
/// Default of [`SubsonicSettings::max_playlist_entries`].
pub const DEFAULT_MAX_PLAYLIST_ENTRIES: usize = 10_000;
/// Default of [`SubsonicSettings::max_concurrent_resizes`].
pub const DEFAULT_MAX_CONCURRENT_RESIZES: usize = 2;

impl Default for SubsonicSettings {
    fn default() -> SubsonicSettings {
        SubsonicSettings {
            max_form_body: DEFAULT_MAX_FORM_BODY,
            cover_cache_bytes: DEFAULT_COVER_CACHE_BYTES,
            max_cover_size: DEFAULT_MAX_COVER_SIZE,
            max_list_size: DEFAULT_MAX_LIST_SIZE,
            max_playlist_entries: DEFAULT_MAX_PLAYLIST_ENTRIES,
            max_concurrent_resizes: DEFAULT_MAX_CONCURRENT_RESIZES,
        }
    }
}

/// The API's state: the catalog, the key that opens stored passwords, the cover cache, and
/// who is playing what now.
#[derive(Debug)]
pub struct Subsonic {
    library: Library,
    key: PasswordKey,
    settings: SubsonicSettings,
    covers: media::CoverCache,
    /// Cover resizes running at once, at most `max_concurrent_resizes` (others wait).
    resizes: tokio::sync::Semaphore,
    /// user id → (user name, track id, when it was reported).
    now_playing: Mutex<HashMap<i64, (String, i64, i64)>>,
}

impl Subsonic {
    /// The API over `library`, opening passwords with `key`.
    pub fn new(library: Library, key: PasswordKey, settings: SubsonicSettings) -> Subsonic {
        Subsonic {
            library,
            key,
            covers: media::CoverCache::new(settings.cover_cache_bytes),
            resizes: tokio::sync::Semaphore::new(settings.max_concurrent_resizes.max(1)),
            settings,
            now_playing: Mutex::new(HashMap::new()),
        }
    }

    /// The catalog.
    pub fn library(&self) -> &Library {
        &self.library
    }

    /// What users reported as playing now (`scrobble` with `submission=false`): (user name,
    /// track id, when), by user name.
    pub fn now_playing(&self) -> Vec<(String, i64, i64)> {
        let mut list: Vec<_> = self
            .now_playing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        list.sort();
        list
    }

    /// Runs `f` on the blocking pool (every catalog call blocks).
    async fn blocking<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Subsonic) -> Result<T, SubsonicError> + Send + 'static,
    ) -> Result<T, SubsonicError> {
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || f(&this))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "subsonic: catalog task failed");
                SubsonicError::Internal
            })?
    }
}

/// One authenticated call: its parameters, its user, its format and the time it arrived.
#[derive(Debug, Clone)]
pub struct Call {
    /// Query and form parameters.
    pub params: Params,
    /// The authenticated user.
    pub user: User,
    /// The answer's shape.
    pub format: Format,
    /// Seconds since the Unix epoch when the call arrived.
    pub now: i64,
    /// The API's limits.
    pub limits: SubsonicSettings,
}

/// The OpenSubsonic extensions Floe implements, with their versions.
/// `transcodeOffset`: `stream` honours `timeOffset` for songs, by transcoding from there (also
/// when the file itself would otherwise be served).
pub const EXTENSIONS: &[(&str, &[i64])] = &[
    ("apiKeyAuthentication", &[1]),
    ("formPost", &[1]),
    ("transcodeOffset", &[1]),
];

fn answer(body: Result<Element, SubsonicError>, format: &Format) -> Response {
    let text = match body {
        Ok(content) => response::ok(content, format),
        Err(e) => response::failed(&e, format),
    };
    ([(header::CONTENT_TYPE, format.content_type())], text).into_response()
}

/// Every request to `/rest/{method}` (`.view` suffix optional), GET, HEAD or POST:
/// parameters, format, version, authentication, then the method.
pub async fn entry(
    State(state): State<AppState>,
    Path(method): Path<String>,
    req: Request,
) -> Response {
    let method = method.strip_suffix(".view").unwrap_or(&method).to_string();
    let mut params = Params::from_query(req.uri().query().unwrap_or(""));
    let Some(api) = state.subsonic.clone() else {
        let format = format_of(&params).unwrap_or_else(|(f, _)| f);
        return answer(
            Err(SubsonicError::Generic(
                "no music library is configured on this server".into(),
            )),
            &format,
        );
    };
    let (parts, body) = req.into_parts();
    if parts.method == Method::POST && is_form(&parts.headers) {
        let limit = api.settings.max_form_body;
        match axum::body::to_bytes(body, limit).await {
            Ok(body) => params.extend_from_urlencoded(&body),
            Err(_) => {
                let format = format_of(&params).unwrap_or_else(|(f, _)| f);
                return answer(
                    Err(SubsonicError::Generic(format!(
                        "form body larger than {limit} bytes"
                    ))),
                    &format,
                );
            }
        }
    }
    let format = match format_of(&params) {
        Ok(f) => f,
        Err((f, e)) => return answer(Err(e), &f),
    };
    if method == "getOpenSubsonicExtensions" {
        // OpenSubsonic: answered without authentication, so clients can probe first.
        return answer(Ok(extensions()), &format);
    }
    let call = match authenticate(&api, params, format.clone()).await {
        Ok(call) => call,
        Err(e) => return answer(Err(e), &format),
    };
    match method.as_str() {
        "stream" => media::stream(&state, &api, &parts, call, false).await,
        "download" => media::stream(&state, &api, &parts, call, true).await,
        "getCoverArt" => media::cover_art(&api, call).await,
        "scrobble" => {
            let result = api.blocking(move |api| scrobble(api, &call)).await;
            answer(result, &format)
        }
        "getNowPlaying" => {
            let result = api.blocking(move |api| get_now_playing(api, &call)).await;
            answer(result, &format)
        }
        _ => {
            let Some(f) = method_fn(&method) else {
                return answer(
                    Err(SubsonicError::NotFound(format!("method {method}"))),
                    &format,
                );
            };
            let result = api.blocking(move |api| f(&call, &api.library)).await;
            answer(result, &format)
        }
    }
}

type MethodFn = fn(&Call, &Library) -> Result<Element, SubsonicError>;

fn method_fn(name: &str) -> Option<MethodFn> {
    Some(match name {
        "ping" => |_, _| Ok(Element::fragment()),
        "getLicense" => {
            |_, _| Ok(Element::fragment().child(Element::new("license").attr("valid", true)))
        }
        "getUser" => get_user,
        "getMusicFolders" => browse::get_music_folders,
        "getIndexes" => browse::get_indexes,
        "getMusicDirectory" => browse::get_music_directory,
        "getArtists" => browse::get_artists,
        "getArtist" => browse::get_artist,
        "getAlbum" => browse::get_album,
        "getSong" => browse::get_song,
        "search2" => browse::search2,
        "search3" => browse::search3,
        "getAlbumList" => browse::get_album_list,
        "getAlbumList2" => browse::get_album_list2,
        "getRandomSongs" => browse::get_random_songs,
        "getGenres" => browse::get_genres,
        "getTopSongs" => browse::get_top_songs,
        "getSongsByGenre" => browse::get_songs_by_genre,
        "star" => browse::star,
        "unstar" => browse::unstar,
        "getStarred2" => browse::get_starred2,
        "getPlaylists" => playlists::get_playlists,
        "getPlaylist" => playlists::get_playlist,
        "createPlaylist" => playlists::create_playlist,
        "updatePlaylist" => playlists::update_playlist,
        "deletePlaylist" => playlists::delete_playlist,
        _ => return None,
    })
}

/// `getOpenSubsonicExtensions`: the list sits directly in the envelope.
fn extensions() -> Element {
    Element::fragment().list(
        "openSubsonicExtensions",
        EXTENSIONS
            .iter()
            .map(|(name, versions)| {
                Element::new("e").attr("name", *name).texts(
                    "versions",
                    versions.iter().map(|v| Value::Int(*v)).collect(),
                )
            })
            .collect(),
    )
}

/// `getUser`: the caller's own account (an admin may ask for anyone's), with the roles Floe
/// grants: every user streams, downloads, scrobbles and keeps playlists; only admins
/// administer; nobody uploads, shares or uses podcasts, jukebox or video here.
fn get_user(call: &Call, lib: &Library) -> Result<Element, SubsonicError> {
    let name = call.params.require("username")?;
    if name != call.user.name && !call.user.is_admin {
        return Err(SubsonicError::NotAuthorized(
            "only an admin reads another user",
        ));
    }
    let user = lib
        .read(|conn| Ok(users::find_user(conn, name)))??
        .ok_or_else(|| SubsonicError::NotFound(format!("user {name}")))?;
    let admin = user.is_admin;
    Ok(Element::fragment().child(
        Element::new("user")
            .attr("username", &user.name)
            .attr("scrobblingEnabled", true)
            .attr("adminRole", admin)
            .attr("settingsRole", admin)
            .attr("downloadRole", true)
            .attr("uploadRole", false)
            .attr("playlistRole", true)
            .attr("coverArtRole", true)
            .attr("commentRole", false)
            .attr("podcastRole", false)
            .attr("streamRole", true)
            .attr("jukeboxRole", false)
            .attr("shareRole", false)
            .attr("videoConversionRole", false)
            .texts("folder", vec![Value::Int(browse::MUSIC_FOLDER_ID)]),
    ))
}

/// How long past a track's end a now-playing report stays listed, seconds.
pub const NOW_PLAYING_GRACE_SECS: i64 = 60;

/// `getNowPlaying`: each user's latest now-playing report while its track could still be
/// playing (its duration plus [`NOW_PLAYING_GRACE_SECS`] since the report).
fn get_now_playing(api: &Subsonic, call: &Call) -> Result<Element, SubsonicError> {
    let mut entries = Vec::new();
    let stars = browse::Stars::of(&api.library, call.user.id)?;
    for (user, track, at) in api.now_playing() {
        let Some(t) = api.library.track(track)? else {
            continue;
        };
        let elapsed = call.now.saturating_sub(at).max(0);
        if elapsed > (t.duration_ms / 1000) as i64 + NOW_PLAYING_GRACE_SECS {
            continue;
        }
        entries.push(
            browse::song_element(&t, &stars)
                .attr("username", user)
                .attr("minutesAgo", elapsed / 60)
                .attr("playerId", 0),
        );
    }
    Ok(Element::fragment().child(Element::new("nowPlaying").list("entry", entries)))
}

/// `scrobble`: `submission=true` (the default) records a play of each `id` (at its `time`, in
/// milliseconds, or now); `false` marks it as playing now.
fn scrobble(api: &Subsonic, call: &Call) -> Result<Element, SubsonicError> {
    let ids = call.params.all("id");
    if ids.is_empty() {
        return Err(SubsonicError::MissingParameter("id"));
    }
    let submission = call.params.flag("submission")?.unwrap_or(true);
    let times = call.params.all("time");
    for (i, text) in ids.iter().enumerate() {
        let track = ids::track(text)?;
        if api.library.track(track)?.is_none() {
            return Err(SubsonicError::NotFound(format!("song {text}")));
        }
        let at = match times.get(i) {
            Some(ms) => ms.parse::<i64>().map(|ms| ms / 1000).map_err(|_| {
                SubsonicError::InvalidParameter {
                    name: "time",
                    value: (*ms).to_string(),
                }
            })?,
            None => call.now,
        };
        if submission {
            floe_library::subsonic_queries::record_play(&api.library, call.user.id, track, at)?;
        } else {
            api.now_playing
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(call.user.id, (call.user.name.clone(), track, at));
        }
    }
    Ok(Element::fragment())
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|t| {
                t.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        })
}

fn format_of(params: &Params) -> Result<Format, (Format, SubsonicError)> {
    Format::from_params(params.get("f"), params.get("callback"))
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Checks `v`, `c` and the credentials; the call with its user, or the Subsonic error.
async fn authenticate(
    api: &Arc<Subsonic>,
    params: Params,
    format: Format,
) -> Result<Call, SubsonicError> {
    let credentials = Credentials::from_params(&params)?;
    auth::check_version(params.require("v")?)?;
    params.require("c")?;
    let user = api
        .blocking(move |api| match &credentials {
            Credentials::ApiKey(key) => {
                let found = api
                    .library
                    .read(|conn| Ok(users::user_by_api_key(conn, key)))??;
                found.ok_or(SubsonicError::InvalidApiKey)
            }
            _ => {
                let name = credentials.user().unwrap_or_default();
                let found = api
                    .library
                    .read(|conn| Ok(users::user_with_password(conn, &api.key, name)))?
                    .map_err(|e| {
                    tracing::warn!(error = %e, user = name, "subsonic: cannot read a stored password");
                    SubsonicError::WrongCredentials
                })?;
                match found {
                    Some((user, Some(password))) if credentials.matches_password(&password) => {
                        Ok(user)
                    }
                    Some((_, Some(_))) => Err(SubsonicError::WrongCredentials),
                    Some((_, None)) => Err(SubsonicError::MechanismNotSupported(
                        "this user has no password; use an API key",
                    )),
                    None => {
                        // The same work as for a real user before refusing.
                        credentials.matches_password("");
                        Err(SubsonicError::WrongCredentials)
                    }
                }
            }
        })
        .await?;
    Ok(Call {
        params,
        user,
        format,
        now: unix_now(),
        limits: api.settings.clone(),
    })
}

impl From<LibraryError> for SubsonicError {
    fn from(e: LibraryError) -> SubsonicError {
        match e {
            LibraryError::NotFound { kind, id } => SubsonicError::NotFound(format!("{kind} {id}")),
            LibraryError::Invalid { field, reason } => {
                SubsonicError::Generic(format!("{field}: {reason}"))
            }
            e => {
                tracing::error!(error = %e, "subsonic: library error");
                SubsonicError::Internal
            }
        }
    }
}

impl From<users::UserError> for SubsonicError {
    fn from(e: users::UserError) -> SubsonicError {
        tracing::error!(error = %e, "subsonic: user store error");
        SubsonicError::Internal
    }
}

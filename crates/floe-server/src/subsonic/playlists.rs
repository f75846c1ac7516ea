//! Playlists: getPlaylists, getPlaylist, createPlaylist, updatePlaylist, deletePlaylist.
//!
//! Ownership: a user sees their own playlists, everyone's public ones and the server's (made
//! through the REST API, without an owner); only the owner changes or deletes a playlist (an
//! admin for the server's); an admin may do everything (and list another user's playlists
//! with `username`). Anything else is error 50.

use super::browse::{each, iso, seconds, song_element, Stars};
use super::error::SubsonicError;
use super::ids::{self, Id};
use super::response::Element;
use super::Call;
use floe_library::subsonic_queries::{self as q, PlaylistChange, PlaylistEntry};
use floe_library::{Library, Track};

fn playlist_element(entry: &PlaylistEntry) -> Element {
    let p = &entry.playlist;
    Element::new("playlist")
        .attr("id", Id::Playlist(p.id).text())
        .attr("name", &p.name)
        .attr_opt(
            "comment",
            (!p.comment.is_empty()).then_some(p.comment.as_str()),
        )
        .attr("owner", &entry.owner)
        .attr("public", p.public)
        .attr("songCount", p.track_count)
        .attr("duration", seconds(p.duration_ms))
        .attr("created", iso(p.created))
        .attr("changed", iso(p.changed))
}

fn visible(call: &Call, entry: &PlaylistEntry) -> bool {
    let owner = entry.playlist.owner_user_id;
    entry.playlist.public || owner.is_none() || owner == Some(call.user.id) || call.user.is_admin
}

fn may_change(call: &Call, entry: &PlaylistEntry) -> bool {
    entry.playlist.owner_user_id == Some(call.user.id) || call.user.is_admin
}

/// Error 0 when a playlist would hold more than `max_playlist_entries`.
fn too_long(call: &Call, entries: usize) -> Result<(), SubsonicError> {
    let max = call.limits.max_playlist_entries;
    if entries > max {
        return Err(SubsonicError::Generic(format!(
            "a playlist holds at most {max} entries (subsonic.max_playlist_entries)"
        )));
    }
    Ok(())
}

fn track_ids(call: &Call, name: &'static str) -> Result<Vec<i64>, SubsonicError> {
    let ids = call
        .params
        .all(name)
        .into_iter()
        .map(ids::track)
        .collect::<Result<Vec<_>, _>>()?;
    too_long(call, ids.len())?;
    Ok(ids)
}

fn load(lib: &Library, id: i64) -> Result<(PlaylistEntry, Vec<Track>), SubsonicError> {
    q::playlist(lib, id)?.ok_or_else(|| SubsonicError::NotFound(format!("playlist pl-{id}")))
}

fn full(call: &Call, lib: &Library, id: i64) -> Result<Element, SubsonicError> {
    let (p, songs) = load(lib, id)?;
    let stars = Stars::of(lib, call.user.id)?;
    Ok(Element::fragment()
        .child(playlist_element(&p).list("entry", each(&songs, &stars, song_element))))
}

/// `getPlaylists`.
pub fn get_playlists(call: &Call, lib: &Library) -> Result<Element, SubsonicError> {
    let lists = match call.params.get("username") {
        Some(name) if name != call.user.name => {
            if !call.user.is_admin {
                return Err(SubsonicError::NotAuthorized(
                    "only an admin lists another user's playlists",
                ));
            }
            q::playlists_owned_by(lib, name)?
        }
        _ => q::playlists_visible_to(lib, call.user.id)?,
    };
    Ok(Element::fragment().child(
        Element::new("playlists").list("playlist", lists.iter().map(playlist_element).collect()),
    ))
}

/// `getPlaylist`.
pub fn get_playlist(call: &Call, lib: &Library) -> Result<Element, SubsonicError> {
    let id = ids::playlist(call.params.require("id")?)?;
    let (p, _) = load(lib, id)?;
    if !visible(call, &p) {
        return Err(SubsonicError::NotAuthorized(
            "this playlist is private to its owner",
        ));
    }
    full(call, lib, id)
}

/// `createPlaylist`: a new playlist (`name`), or the songs of an existing one replaced
/// (`playlistId`); answers the playlist (API 1.14+).
pub fn create_playlist(call: &Call, lib: &Library) -> Result<Element, SubsonicError> {
    let songs = track_ids(call, "songId")?;
    let id = match call.params.get("playlistId") {
        Some(text) => {
            let id = ids::playlist(text)?;
            let (p, _) = load(lib, id)?;
            if !may_change(call, &p) {
                return Err(SubsonicError::NotAuthorized(
                    "only the owner changes a playlist",
                ));
            }
            let change = PlaylistChange {
                name: call.params.get("name").map(str::to_string),
                replace_with: Some(songs),
                ..PlaylistChange::default()
            };
            q::update_playlist(lib, id, &change, call.now)?;
            id
        }
        None => {
            let name = call
                .params
                .get("name")
                .ok_or(SubsonicError::MissingParameter("name"))?;
            q::create_playlist(lib, call.user.id, name, &songs, call.now)?
        }
    };
    full(call, lib, id)
}

/// `updatePlaylist`: name, comment, public; removals by index (in the playlist as it was),
/// then additions at the end.
pub fn update_playlist(call: &Call, lib: &Library) -> Result<Element, SubsonicError> {
    let id = ids::playlist(call.params.require("playlistId")?)?;
    let (p, _) = load(lib, id)?;
    if !may_change(call, &p) {
        return Err(SubsonicError::NotAuthorized(
            "only the owner changes a playlist",
        ));
    }
    let remove = call
        .params
        .all("songIndexToRemove")
        .into_iter()
        .map(|v| {
            v.parse::<usize>()
                .map_err(|_| SubsonicError::InvalidParameter {
                    name: "songIndexToRemove",
                    value: v.to_string(),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let add = track_ids(call, "songIdToAdd")?;
    too_long(call, p.playlist.track_count as usize + add.len())?;
    let change = PlaylistChange {
        name: call.params.get("name").map(str::to_string),
        comment: call
            .params
            .has("comment")
            .then(|| call.params.get("comment").unwrap_or("").to_string()),
        public: call.params.flag("public")?,
        remove_indexes: remove,
        add,
        replace_with: None,
    };
    q::update_playlist(lib, id, &change, call.now)?;
    Ok(Element::fragment())
}

/// `deletePlaylist`.
pub fn delete_playlist(call: &Call, lib: &Library) -> Result<Element, SubsonicError> {
    let id = ids::playlist(call.params.require("id")?)?;
    let (p, _) = load(lib, id)?;
    if !may_change(call, &p) {
        return Err(SubsonicError::NotAuthorized(
            "only the owner deletes a playlist",
        ));
    }
    q::delete_playlist(lib, id)?;
    Ok(Element::fragment())
}

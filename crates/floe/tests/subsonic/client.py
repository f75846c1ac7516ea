"""Drives Floe's Subsonic API with a real client library, py-sonic (`import libsonic`).

Usage: client.py HOST PORT USER PASSWORD SEARCH_TERM OUT_DIR

py-sonic authenticates with token + salt and sends every call as a form POST (f=json).
Browses artists -> artist -> album -> song, searches, runs a playlist through create, read,
update and delete, scrobbles, lists albums and random songs, downloads cover art, streams and
downloads a song. Writes the bytes it received to OUT_DIR (stream.bin, download.bin,
cover.bin) for the Rust test to check with ffprobe, and prints one JSON summary line.
Any failed expectation raises (non-zero exit, traceback on stderr).
"""

import json
import os
import sys

import libsonic


def main():
    host, port, user, password, term, out = sys.argv[1:7]
    conn = libsonic.Connection("http://" + host, user, password, port=int(port), appName="floe-test")
    summary = {}

    assert conn.ping() is True

    lic = conn.getLicense()
    assert lic["status"] == "ok" and lic["license"]["valid"] is True, lic

    artists = conn.getArtists()["artists"]
    names = [a["name"] for idx in artists["index"] for a in idx["artist"]]
    summary["artists"] = names
    assert names, artists

    first = artists["index"][0]["artist"][0]
    artist = conn.getArtist(first["id"])["artist"]
    assert artist["id"] == first["id"], artist
    albums = artist["album"]
    assert albums, artist
    album = conn.getAlbum(albums[0]["id"])["album"]
    songs = album["song"]
    assert songs and len(songs) == album["songCount"], album
    summary["album"] = album["name"]
    summary["album_songs"] = [s["title"] for s in songs]
    song = conn.getSong(songs[0]["id"])["song"]
    assert song["id"] == songs[0]["id"] and song["albumId"] == album["id"], song
    for key in ("title", "album", "artist", "duration", "suffix", "contentType", "size", "type"):
        assert key in song, (key, song)

    found = conn.search3(term)["searchResult3"]
    summary["search"] = {
        "artists": [a["name"] for a in found.get("artist", [])],
        "albums": [a["name"] for a in found.get("album", [])],
        "songs": [s["title"] for s in found.get("song", [])],
    }

    newest = conn.getAlbumList2("newest", size=10)["albumList2"]["album"]
    assert newest, newest
    summary["album_list_alpha"] = [
        a["name"] for a in conn.getAlbumList2("alphabeticalByName", size=10)["albumList2"]["album"]
    ]
    randoms = conn.getRandomSongs(size=3)["randomSongs"]["song"]
    assert 1 <= len(randoms) <= 3, randoms

    # Playlists: create with two songs, rename and edit, read back, delete.
    all_songs = [s["id"] for s in songs]
    created = conn.createPlaylist(name="Road trip", songIds=all_songs[:2])
    pl = created["playlist"]
    assert pl["name"] == "Road trip" and pl["songCount"] == 2, created
    pid = pl["id"]
    lists = conn.getPlaylists()["playlists"]["playlist"]
    assert [p["id"] for p in lists] == [pid], lists
    conn.updatePlaylist(pid, name="Road trip 2", songIdsToAdd=[all_songs[0]], songIndexesToRemove=[0])
    got = conn.getPlaylist(pid)["playlist"]
    assert got["name"] == "Road trip 2", got
    summary["playlist_after_update"] = [e["id"] for e in got["entry"]]
    expected = all_songs[1:2] + all_songs[0:1]
    assert summary["playlist_after_update"] == expected, (got, expected)
    conn.deletePlaylist(pid)
    assert conn.getPlaylists()["playlists"].get("playlist", []) == []

    assert conn.scrobble(song["id"], submission=True)["status"] == "ok"

    cover = conn.getCoverArt(album["coverArt"], size=64)
    with open(os.path.join(out, "cover.bin"), "wb") as f:
        f.write(cover.read())
    summary["cover_type"] = cover.info().get("Content-Type")

    stream = conn.stream(song["id"])
    with open(os.path.join(out, "stream.bin"), "wb") as f:
        f.write(stream.read())
    summary["stream_type"] = stream.info().get("Content-Type")

    download = conn.download(song["id"])
    with open(os.path.join(out, "download.bin"), "wb") as f:
        f.write(download.read())
    summary["song_size"] = song["size"]

    # An error travels as a Subsonic error with its code, raised by the library.
    try:
        conn.getSong("tr-999999")
        raise AssertionError("getSong of a missing id succeeded")
    except libsonic.errors.DataNotFoundError:
        summary["missing_song_error"] = 70

    print(json.dumps(summary))


if __name__ == "__main__":
    main()

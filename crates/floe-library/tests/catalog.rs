//! The catalog without audio files: entries added with `insert_files`, then search,
//! suggestions, browsing, playlists and import matching checked against them.

use std::path::PathBuf;
use std::time::SystemTime;

use floe_library::tags::FileInfo;
use floe_library::{Library, LibraryError, PageRequest, PlaylistEdit, PlaylistEntryMatch};

fn info(title: &str, artist: &str, album: &str, track: u32) -> FileInfo {
    FileInfo {
        title: title.into(),
        artist: artist.into(),
        album: album.into(),
        album_artist: artist.into(),
        track_no: Some(track),
        disc_no: None,
        year: Some(1990 + track),
        genre: Some("Pop".into()),
        duration_ms: 60_000 * u64::from(track),
        bitrate_kbps: Some(320),
        sample_rate: Some(44100),
        channels: Some(2),
        suffix: "mp3".into(),
        content_type: "audio/mpeg".into(),
        picture: None,
    }
}

fn library(name: &str) -> (Library, Vec<i64>) {
    let dir = std::env::temp_dir().join(format!("floe-catalog-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let library = Library::open(&dir.join("db/library.db")).expect("open creates folders");
    let now = SystemTime::now();
    let rows = [
        (
            "/m/Björk/Post/01 Army of Me.mp3",
            info("Army of Me", "Björk", "Post", 1),
        ),
        (
            "/m/Björk/Post/02 Hyperballad.mp3",
            info("Hyperballad", "Björk", "Post", 2),
        ),
        (
            "/m/The Beatles/Revolver/01 Taxman.mp3",
            info("Taxman", "The Beatles", "Revolver", 1),
        ),
        (
            "/m/The Beatles/Revolver/02 Eleanor Rigby.mp3",
            info("Eleanor Rigby", "The Beatles", "Revolver", 2),
        ),
        (
            "/m/Beach House/Bloom/01 Myth.mp3",
            info("Myth", "Beach House", "Bloom", 1),
        ),
    ];
    let files: Vec<_> = rows
        .into_iter()
        .map(|(p, i)| (PathBuf::from(p), 1000, now, i))
        .collect();
    let ids = library.insert_files(&files).expect("insert");
    (library, ids)
}

const ALL: PageRequest = PageRequest {
    offset: 0,
    limit: 100,
};

#[test]
fn search_matches_word_prefixes_across_fields_and_folds_diacritics() {
    let (library, ids) = library("search");
    let found = library.search("bjork", ALL).expect("search");
    assert_eq!(found.artists.total, 1);
    assert_eq!(found.artists.items[0].name, "Björk");
    assert_eq!(found.tracks.total, 2);
    // "be" is a prefix of Beatles and Beach: two artists, their three tracks.
    let be = library.search("be", ALL).expect("search");
    assert_eq!(be.artists.total, 2);
    assert_eq!(be.tracks.total, 3);
    // All words must match, in any field: artist + title.
    let two = library.search("beat tax", ALL).expect("search");
    assert_eq!(two.tracks.total, 1);
    assert_eq!(two.tracks.items[0].id, ids[2]);
    // Inside a word is not a match (word prefixes only).
    assert_eq!(
        library.search("ballad", ALL).expect("search").tracks.total,
        0
    );
    // Paging: totals stay, items move.
    let second = library
        .search(
            "be",
            PageRequest {
                offset: 2,
                limit: 2,
            },
        )
        .expect("search");
    assert_eq!((second.tracks.total, second.tracks.items.len()), (3, 1));
    // Nothing to search for is no result, not an error.
    assert_eq!(library.search(" *\"", ALL).expect("search").tracks.total, 0);
}

#[test]
fn suggestions_list_artists_then_albums_then_tracks() {
    let (library, _) = library("suggest");
    let s = library.suggest("re", 10).expect("suggest");
    let kinds: Vec<(&str, &str)> = s.iter().map(|s| (s.kind, s.text.as_str())).collect();
    // The album first; then its tracks (they match by album name).
    assert_eq!(kinds[0], ("album", "Revolver"));
    let mut tracks: Vec<&str> = kinds[1..]
        .iter()
        .map(|(k, t)| {
            assert_eq!(*k, "track");
            *t
        })
        .collect();
    tracks.sort();
    assert_eq!(tracks, ["Eleanor Rigby", "Taxman"]);
    let s = library.suggest("b", 3).expect("suggest");
    assert_eq!(s.len(), 3);
    assert!(s.iter().all(|s| s.kind == "artist"), "{s:?}");
    let s = library.suggest("my", 10).expect("suggest");
    assert_eq!(
        (s[0].kind, s[0].text.as_str(), s[0].artist.as_deref()),
        ("track", "Myth", Some("Beach House"))
    );
}

#[test]
fn browsing_orders_and_counts() {
    let (library, ids) = library("browse");
    let artists = library.artists(ALL).expect("artists");
    let names: Vec<&str> = artists.items.iter().map(|a| a.name.as_str()).collect();
    // Sorted without a leading "The".
    assert_eq!(names, ["Beach House", "The Beatles", "Björk"]);
    let beatles = &artists.items[1];
    assert_eq!((beatles.album_count, beatles.track_count), (1, 2));
    let albums = library.albums(Some(beatles.id), ALL).expect("albums");
    assert_eq!(albums.total, 1);
    let revolver = &albums.items[0];
    assert_eq!(
        (revolver.track_count, revolver.duration_ms, revolver.year),
        (2, 180_000, Some(1991))
    );
    let tracks = library.album_tracks(revolver.id).expect("tracks");
    assert_eq!(
        tracks.iter().map(|t| t.id).collect::<Vec<_>>(),
        [ids[2], ids[3]]
    );
    let page = library
        .tracks(PageRequest {
            offset: 1,
            limit: 2,
        })
        .expect("page");
    assert_eq!(page.total, 5);
    assert_eq!(page.items.len(), 2);
    assert_eq!(
        library
            .tracks_by_ids(&[ids[4], 999, ids[0]])
            .expect("ids")
            .len(),
        2
    );
    assert_eq!(library.track(999).expect("track"), None);
}

#[test]
fn playlists_conflicts_edits_and_import_matching() {
    let (library, ids) = library("playlists");
    let p = library
        .create_playlist("Mix", None, "", false, &[ids[0], ids[1]])
        .expect("create");
    assert_eq!((p.track_count, p.duration_ms), (2, 180_000));
    match library.create_playlist("Mix", None, "", false, &[]) {
        Err(LibraryError::Conflict {
            kind: "playlist",
            name,
        }) => assert_eq!(name, "Mix"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    // Another owner may use the name.
    let users_row = library
        .write(|tx| {
            tx.execute(
                "INSERT INTO users (name, is_admin, created) VALUES ('u', 0, 0)",
                [],
            )?;
            Ok(tx.last_insert_rowid())
        })
        .expect("user");
    library
        .create_playlist("Mix", Some(users_row), "", false, &[])
        .expect("other owner");
    assert_eq!(library.playlists(None, ALL).expect("list").total, 2);
    // An edit that fails changes nothing.
    let bad = PlaylistEdit {
        remove: vec![0],
        add: vec![12345],
        ..Default::default()
    };
    assert!(matches!(
        library.edit_playlist(p.id, &bad),
        Err(LibraryError::Invalid { field: "add", .. })
    ));
    assert_eq!(
        library
            .playlist(p.id)
            .expect("get")
            .expect("row")
            .track_count,
        2
    );
    let edit = PlaylistEdit {
        name: Some("Mix 2".into()),
        add: vec![ids[4]],
        moves: vec![(2, 0)],
        ..Default::default()
    };
    let edited = library.edit_playlist(p.id, &edit).expect("edit");
    assert_eq!(edited.name, "Mix 2");
    let order: Vec<i64> = library
        .playlist_tracks(p.id)
        .expect("tracks")
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(order, [ids[4], ids[0], ids[1]]);
    assert!(matches!(
        library.edit_playlist(4242, &PlaylistEdit::default()),
        Err(LibraryError::NotFound {
            kind: "playlist",
            id: 4242
        })
    ));

    let m = |location: &str, title: Option<&str>, artist: Option<&str>| PlaylistEntryMatch {
        location: location.into(),
        title: title.map(Into::into),
        artist: artist.map(Into::into),
    };
    let find = |e: PlaylistEntryMatch| library.match_entry(&e).expect("match");
    assert_eq!(
        find(m("http://x/api/v1/tracks/{}/stream", None, None)),
        None
    );
    assert_eq!(
        find(m(
            &format!("http://x/api/v1/tracks/{}/stream", ids[3]),
            None,
            None
        )),
        Some(ids[3])
    );
    assert_eq!(
        find(m("/m/Björk/Post/02 Hyperballad.mp3", None, None)),
        Some(ids[1])
    );
    assert_eq!(
        find(m(
            "file:///m/Bj%C3%B6rk/Post/02%20Hyperballad.mp3",
            None,
            None
        )),
        Some(ids[1])
    );
    assert_eq!(
        find(m("..\\Revolver\\01 Taxman.mp3", None, None)),
        Some(ids[2])
    );
    assert_eq!(
        find(m(
            "C:\\old\\x.mp3",
            Some("the beatles - eleanor rigby"),
            None
        )),
        Some(ids[3])
    );
    assert_eq!(
        find(m("x.mp3", Some("Myth"), Some("Beach House"))),
        Some(ids[4])
    );
    // A bare file name matches when one track has it, not when several do.
    assert_eq!(find(m("Myth.mp3", None, None)), None);
    assert_eq!(find(m("01 Myth.mp3", None, None)), Some(ids[4]));
    let other = library
        .insert_files(&[(
            PathBuf::from("/m/Covers/Revolver/01 Taxman.mp3"),
            1000,
            SystemTime::now(),
            info("Taxman", "Cover Band", "Revolver", 1),
        )])
        .expect("insert")[0];
    assert_eq!(find(m("01 Taxman.mp3", None, None)), None);
    assert_eq!(
        find(m("Covers/Revolver/01 Taxman.mp3", None, None)),
        Some(other)
    );
    assert_eq!(
        find(m("The Beatles/Revolver/01 Taxman.mp3", None, None)),
        Some(ids[2])
    );
    let (imported, unmatched) = library
        .import_playlist(
            "In",
            None,
            vec![
                m("Post/01 Army of Me.mp3", None, None),
                m("nope.mp3", None, None),
            ],
        )
        .expect("import");
    assert_eq!(imported.track_count, 1);
    assert_eq!(unmatched, ["nope.mp3"]);
    assert!(library.delete_playlist(imported.id).expect("delete"));
    assert!(!library.delete_playlist(imported.id).expect("delete again"));
}

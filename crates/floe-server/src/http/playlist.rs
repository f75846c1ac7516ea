//! Generated playlists for every mount: `/live.mp3.m3u`, `.pls`, `.xspf`, `.vclt`.
//!
//! The suffix is stripped to find the mount (`/live.mp3.m3u` is `/live.mp3`); URLs are built on
//! the request's `Host` and scheme.

use super::request::RequestContext;
use super::view::MountView;
use crate::AppState;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use floe_proto::playlist::{self, Entry};

/// A playlist format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    M3u,
    Pls,
    Xspf,
    Vclt,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 4] = [Kind::M3u, Kind::Pls, Kind::Xspf, Kind::Vclt];

    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Kind::M3u => "m3u",
            Kind::Pls => "pls",
            Kind::Xspf => "xspf",
            Kind::Vclt => "vclt",
        }
    }

    /// The content type it is served with.
    pub fn content_type(self) -> &'static str {
        match self {
            Kind::M3u => "audio/x-mpegurl",
            Kind::Pls => "audio/x-scpls",
            Kind::Xspf => "application/xspf+xml",
            Kind::Vclt => "audio/x-vclt",
        }
    }

    fn render(self, entries: &[Entry<'_>]) -> String {
        match self {
            Kind::M3u => playlist::m3u(entries),
            Kind::Pls => playlist::pls(entries),
            Kind::Xspf => playlist::xspf(entries),
            Kind::Vclt => playlist::vclt(entries),
        }
    }
}

/// Splits `/live.mp3.m3u` into (`/live.mp3`, M3u). `None` when there is no playlist suffix.
pub fn split(path: &str) -> Option<(&str, Kind)> {
    Kind::ALL.iter().find_map(|k| {
        let mount = path.strip_suffix(k.extension())?.strip_suffix('.')?;
        (!mount.is_empty() && mount != "/").then_some((mount, *k))
    })
}

/// The playlist at `path`, or `None` when `path` is not a mount plus a playlist suffix.
pub fn serve(state: &AppState, ctx: &RequestContext, path: &str) -> Option<Response> {
    let (mount_path, kind) = split(path)?;
    let mount = state.engine.mount(mount_path)?;
    let view = MountView::of(mount);
    let url = ctx.url(view.path());
    let name = view.name();
    let entry = Entry {
        url: &url,
        title: Some(name.as_deref().unwrap_or(view.path())),
    };
    let body = kind.render(&[entry]);
    Some(
        (
            [
                (header::CONTENT_TYPE, kind.content_type()),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            body,
        )
            .into_response(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_are_stripped_to_find_the_mount() {
        assert_eq!(split("/live.mp3.m3u"), Some(("/live.mp3", Kind::M3u)));
        assert_eq!(split("/live.pls"), Some(("/live", Kind::Pls)));
        assert_eq!(split("/a/b.ogg.xspf"), Some(("/a/b.ogg", Kind::Xspf)));
        assert_eq!(split("/x.vclt"), Some(("/x", Kind::Vclt)));
        assert_eq!(split("/.m3u"), None);
        assert_eq!(split("/live.mp3"), None);
        assert_eq!(split("/livem3u"), None);
    }
}

//! The one place that maps errors to HTTP: status code, message and body shape.
//!
//! Admin endpoints answer errors as Icecast does, in an `<iceresponse>` document (or its JSON
//! twin); the API answers `{"error": {"status": …, "message": …}}`; plain pages answer text.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use thiserror::Error;

/// The realm Icecast names in `WWW-Authenticate` (encoders look for the 401, some for the realm).
pub const REALM_HEADER: &str = "Basic realm=\"Icecast2 Server\"";

/// Everything a handler may fail with.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum HttpError {
    /// No credentials, or the wrong ones.
    #[error("Authentication Required")]
    Unauthorized,
    /// A required query parameter is absent (its name, for logs).
    #[error("Missing parameter")]
    MissingParameter(&'static str),
    /// A query parameter has a value that cannot be used (its name).
    #[error("Invalid parameter")]
    InvalidParameter(&'static str),
    /// An `/admin/` command Floe does not have (libshout's `!POKE` among them).
    #[error("Unknown admin command")]
    UnknownCommand,
    /// No such mount (or, where a live one is needed, none with a source).
    #[error("Source does not exist")]
    MountNotFound,
    /// No listener with that id on the mount.
    #[error("Client not found")]
    ClientNotFound,
    /// `moveclients` to a mount that does not exist or has nothing to listen to.
    #[error("Destination does not exist")]
    DestinationNotFound,
    /// Nothing at this path.
    #[error("Not found")]
    NotFound,
    /// A bug on our side (logged where it happened).
    #[error("Internal server error")]
    Internal,
    /// On-demand media (files, transcodes, the proxy) failed.
    #[error("{0}")]
    Media(crate::media::MediaError),
    /// PCM delivery (WAV, L16, SSE/WebSocket audio and sessions) failed.
    #[error("{0}")]
    Pcm(crate::pcm::PcmError),
    /// The library API (catalog, search, playlists) failed.
    #[error("{0}")]
    Library(super::library::LibraryApiError),
}

/// The body shape an error is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Icecast's `<iceresponse>` document.
    Xml,
    /// `{"error": {"status": …, "message": …}}`.
    Json,
    /// The message and a newline.
    Text,
}

impl HttpError {
    /// The status code for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            HttpError::Unauthorized => StatusCode::UNAUTHORIZED,
            HttpError::MissingParameter(_)
            | HttpError::InvalidParameter(_)
            | HttpError::UnknownCommand => StatusCode::BAD_REQUEST,
            HttpError::MountNotFound
            | HttpError::ClientNotFound
            | HttpError::DestinationNotFound
            | HttpError::NotFound => StatusCode::NOT_FOUND,
            HttpError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            HttpError::Media(e) => e.status(),
            HttpError::Library(e) => e.status(),
            HttpError::Pcm(e) => {
                use crate::pcm::PcmError as P;
                match e {
                    P::NoMount(_) | P::NoSession(_) => StatusCode::NOT_FOUND,
                    P::UnsupportedCodec(_) | P::BadBody(_) => StatusCode::BAD_REQUEST,
                    P::TooManyTaps(_) | P::TooManySessions(_) | P::NoAudio { .. } => {
                        StatusCode::SERVICE_UNAVAILABLE
                    }
                    P::TooSlow(_) => StatusCode::GONE,
                }
            }
        }
    }

    /// The error as a response in the given shape.
    pub fn respond(&self, flavor: Flavor) -> Response {
        let message = self.to_string();
        let (content_type, body) = match flavor {
            Flavor::Xml => (
                "text/xml",
                super::document::ice_response(&message, false).to_xml(),
            ),
            Flavor::Json => (
                "application/json",
                serde_json::json!({
                    "error": { "status": self.status().as_u16(), "message": message }
                })
                .to_string(),
            ),
            Flavor::Text => ("text/plain; charset=utf-8", format!("{message}\n")),
        };
        let mut response =
            (self.status(), [(header::CONTENT_TYPE, content_type)], body).into_response();
        if let HttpError::Media(e) = self {
            if let Some(secs) = e.retry_after_secs() {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
            }
        }
        if *self == HttpError::Unauthorized {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static(REALM_HEADER),
            );
        }
        response
    }

    /// As Icecast's XML.
    pub fn xml(&self) -> Response {
        self.respond(Flavor::Xml)
    }

    /// As plain text.
    pub fn text(&self) -> Response {
        self.respond(Flavor::Text)
    }
}

/// Errors returned with `?` from API handlers are JSON.
impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        self.respond(Flavor::Json)
    }
}

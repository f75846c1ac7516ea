//! The Subsonic / OpenSubsonic API under `/rest/` (protocol layer).

pub mod auth;
pub mod error;
pub mod ids;
pub mod params;
pub mod response;

//! Source clients.

//! Live listeners.

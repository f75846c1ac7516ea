//! Subsonic's error codes, and the one place that names them.
//!
//! Subsonic clients expect HTTP 200 for every answer, errors included: the outcome is in the
//! envelope's `status="failed"` and its `<error code=… message=…/>`.

use thiserror::Error;

/// Everything a Subsonic method may fail with, each variant carrying its Subsonic code.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SubsonicError {
    /// Code 0: a failure that fits no other code (the message says what).
    #[error("{0}")]
    Generic(String),
    /// Code 10: a required parameter is absent.
    #[error("Required parameter is missing: {0}")]
    MissingParameter(&'static str),
    /// Code 0: a parameter has a value that cannot be used.
    #[error("Invalid value for parameter {name}: {value}")]
    InvalidParameter {
        /// The parameter's name.
        name: &'static str,
        /// What the client sent.
        value: String,
    },
    /// Code 20: the client speaks an older major version of the API.
    #[error("Incompatible Subsonic REST protocol version. Client must upgrade.")]
    ClientMustUpgrade,
    /// Code 30: the client speaks a newer major version of the API.
    #[error("Incompatible Subsonic REST protocol version. Server must upgrade.")]
    ServerMustUpgrade,
    /// Code 40: no such user, or the wrong password or token.
    #[error("Wrong username or password")]
    WrongCredentials,
    /// Code 42: the client's mechanism cannot work here (password or token for a user stored
    /// without a password).
    #[error("Provided authentication mechanism not supported: {0}")]
    MechanismNotSupported(&'static str),
    /// Code 43: an API key together with `u`/`p`/`t`/`s`.
    #[error("Multiple conflicting authentication mechanisms provided")]
    ConflictingAuth,
    /// Code 44: an API key that belongs to no user.
    #[error("Invalid API key")]
    InvalidApiKey,
    /// Code 50: the user may not do this (an admin-only action, someone else's playlist).
    #[error("User is not authorized for the given operation: {0}")]
    NotAuthorized(&'static str),
    /// Code 70: the requested item does not exist.
    #[error("The requested data was not found: {0}")]
    NotFound(String),
    /// Code 0: the server failed (details are logged where it happened).
    #[error("Internal server error")]
    Internal,
}

impl SubsonicError {
    /// The Subsonic error code.
    pub fn code(&self) -> u32 {
        match self {
            SubsonicError::Generic(_)
            | SubsonicError::InvalidParameter { .. }
            | SubsonicError::Internal => 0,
            SubsonicError::MissingParameter(_) => 10,
            SubsonicError::ClientMustUpgrade => 20,
            SubsonicError::ServerMustUpgrade => 30,
            SubsonicError::WrongCredentials => 40,
            SubsonicError::MechanismNotSupported(_) => 42,
            SubsonicError::ConflictingAuth => 43,
            SubsonicError::InvalidApiKey => 44,
            SubsonicError::NotAuthorized(_) => 50,
            SubsonicError::NotFound(_) => 70,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_subsonics() {
        assert_eq!(SubsonicError::MissingParameter("u").code(), 10);
        assert_eq!(SubsonicError::ClientMustUpgrade.code(), 20);
        assert_eq!(SubsonicError::ServerMustUpgrade.code(), 30);
        assert_eq!(SubsonicError::WrongCredentials.code(), 40);
        assert_eq!(SubsonicError::MechanismNotSupported("x").code(), 42);
        assert_eq!(SubsonicError::ConflictingAuth.code(), 43);
        assert_eq!(SubsonicError::InvalidApiKey.code(), 44);
        assert_eq!(SubsonicError::NotAuthorized("x").code(), 50);
        assert_eq!(SubsonicError::NotFound("Song".into()).code(), 70);
        assert_eq!(
            SubsonicError::MissingParameter("id").to_string(),
            "Required parameter is missing: id"
        );
    }
}

//! Subsonic authentication, as pure functions over the request's parameters.
//!
//! Three mechanisms:
//! - `u` + `p`: the password in clear or hex-encoded after `enc:`;
//! - `u` + `t` + `s`: the token `t = md5(password + salt)` in lower-case hex, so the server
//!   needs each user's password itself (which is why Floe stores passwords encrypted, not
//!   hashed);
//! - `apiKey` (OpenSubsonic's `apiKeyAuthentication`): on its own; together with any of
//!   `u`, `p`, `t`, `s` it is error 43.
//!
//! Every comparison of a secret is constant-time.

use super::error::SubsonicError;
use super::params::Params;
use floe_proto::auth::constant_time_eq;
use md5::{Digest, Md5};

/// The API version Floe implements.
pub const API_VERSION: &str = "1.16.1";

/// What the client presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// An OpenSubsonic API key.
    ApiKey(String),
    /// A user name and the password (already decoded from `enc:`).
    Password {
        /// `u`.
        user: String,
        /// `p`, decoded.
        password: String,
    },
    /// A user name, the token and its salt.
    Token {
        /// `u`.
        user: String,
        /// `t`, lower-cased.
        token: String,
        /// `s`.
        salt: String,
    },
}

impl Credentials {
    /// Reads the credentials from the parameters: error 43 for an API key with any other
    /// mechanism's parameter, error 10 for what is missing, error 40 for an `enc:` password
    /// that is not hex.
    pub fn from_params(params: &Params) -> Result<Credentials, SubsonicError> {
        if let Some(key) = params.get("apiKey") {
            if ["u", "p", "t", "s"].iter().any(|n| params.get(n).is_some()) {
                return Err(SubsonicError::ConflictingAuth);
            }
            return Ok(Credentials::ApiKey(key.to_string()));
        }
        let user = params.require("u")?.to_string();
        if let Some(token) = params.get("t") {
            let salt = params.require("s")?.to_string();
            return Ok(Credentials::Token {
                user,
                token: token.to_ascii_lowercase(),
                salt,
            });
        }
        let raw = params.require("p")?;
        let password = match raw.strip_prefix("enc:") {
            Some(hex) => decode_hex_password(hex).ok_or(SubsonicError::WrongCredentials)?,
            None => raw.to_string(),
        };
        Ok(Credentials::Password { user, password })
    }

    /// The user name the client claims (none for an API key).
    pub fn user(&self) -> Option<&str> {
        match self {
            Credentials::ApiKey(_) => None,
            Credentials::Password { user, .. } | Credentials::Token { user, .. } => Some(user),
        }
    }

    /// Whether these credentials prove knowledge of `stored` (the user's password).
    /// Always false for an API key (checked against its hash elsewhere).
    pub fn matches_password(&self, stored: &str) -> bool {
        match self {
            Credentials::ApiKey(_) => false,
            Credentials::Password { password, .. } => {
                constant_time_eq(password.as_bytes(), stored.as_bytes())
            }
            Credentials::Token { token, salt, .. } => {
                constant_time_eq(token.as_bytes(), token_for(stored, salt).as_bytes())
            }
        }
    }
}

/// `md5(password + salt)` as lower-case hex: the token a client sends.
pub fn token_for(password: &str, salt: &str) -> String {
    let mut md5 = Md5::new();
    md5.update(password.as_bytes());
    md5.update(salt.as_bytes());
    hex(&md5.finalize())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

/// Decodes the hex after `enc:` into UTF-8 text; `None` if it is not hex or not UTF-8.
fn decode_hex_password(hex: &str) -> Option<String> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    let bytes = hex
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            let s = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(s, 16).ok()
        })
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

/// Checks the client's `v` against [`API_VERSION`]: a different major version is error 20
/// (older client) or 30 (newer client); a value that is not a version is error 0.
pub fn check_version(v: &str) -> Result<(), SubsonicError> {
    let major: u32 = v
        .split('.')
        .next()
        .and_then(|m| m.trim().parse().ok())
        .ok_or_else(|| SubsonicError::InvalidParameter {
            name: "v",
            value: v.to_string(),
        })?;
    match major {
        0 => Err(SubsonicError::ClientMustUpgrade),
        1 => Ok(()),
        _ => Err(SubsonicError::ServerMustUpgrade),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_md5_of_password_and_salt() {
        // The example from the Subsonic API documentation.
        assert_eq!(
            token_for("sesame", "c19b2d"),
            "26719a1196d2a940705a59634eb18eab"
        );
    }

    #[test]
    fn plain_enc_and_token_passwords() {
        let c = Credentials::from_params(&Params::from_query("u=joe&p=sesame")).unwrap();
        assert!(c.matches_password("sesame"));
        assert!(!c.matches_password("sesamE"));
        let c = Credentials::from_params(&Params::from_query("u=joe&p=enc:736573616d65")).unwrap();
        assert_eq!(
            c,
            Credentials::Password {
                user: "joe".into(),
                password: "sesame".into()
            }
        );
        let c = Credentials::from_params(&Params::from_query(
            "u=joe&t=26719A1196D2A940705A59634EB18EAB&s=c19b2d",
        ))
        .unwrap();
        assert!(c.matches_password("sesame"));
        assert!(!c.matches_password("sesame2"));
        assert_eq!(c.user(), Some("joe"));
    }

    #[test]
    fn missing_and_conflicting() {
        let err = |q: &str| Credentials::from_params(&Params::from_query(q)).unwrap_err();
        assert_eq!(err("p=x"), SubsonicError::MissingParameter("u"));
        assert_eq!(err("u=joe"), SubsonicError::MissingParameter("p"));
        assert_eq!(err("u=joe&t=abc"), SubsonicError::MissingParameter("s"));
        assert_eq!(err("u=joe&p=enc:7"), SubsonicError::WrongCredentials);
        assert_eq!(err("u=joe&p=enc:zz"), SubsonicError::WrongCredentials);
        assert_eq!(err("apiKey=k&u=joe"), SubsonicError::ConflictingAuth);
        assert_eq!(err("apiKey=k&t=a&s=b"), SubsonicError::ConflictingAuth);
        let c = Credentials::from_params(&Params::from_query("apiKey=k")).unwrap();
        assert_eq!(c, Credentials::ApiKey("k".into()));
        assert!(!c.matches_password("k"));
    }

    /// Hostile input: arbitrary bytes as a query or form body never panic the parameter
    /// parser, the credential reader, the version check or the format choice, and whatever
    /// they yield writes as an envelope.
    #[test]
    fn arbitrary_input_never_panics() {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        const ALPHABET: &[u8] =
            b"upts=&%+vcfapiKeyenc:0123456789abcdefABCDEF\x00\xff\xc3\xa9 .callbackjsonp";
        for _ in 0..20_000 {
            let len = (next() % 64) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if r % 4 == 0 {
                        (r >> 8) as u8
                    } else {
                        ALPHABET[(r >> 8) as usize % ALPHABET.len()]
                    }
                })
                .collect();
            let mut params = Params::default();
            params.extend_from_urlencoded(&bytes);
            let _ = Credentials::from_params(&params).map(|c| c.matches_password("pw"));
            if let Some(v) = params.get("v") {
                let _ = check_version(v);
            }
            let format = super::super::response::Format::from_params(
                params.get("f"),
                params.get("callback"),
            )
            .unwrap_or_else(|(f, _)| f);
            let e = SubsonicError::Generic(params.get("u").unwrap_or_default().to_string());
            let out = super::super::response::failed(&e, &format);
            assert!(out.contains("\"failed\"") || out.contains("status=\"failed\""));
        }
    }

    #[test]
    fn versions() {
        assert_eq!(check_version("1.16.1"), Ok(()));
        assert_eq!(check_version("1.2.0"), Ok(()));
        assert_eq!(check_version("0.9"), Err(SubsonicError::ClientMustUpgrade));
        assert_eq!(
            check_version("2.0.0"),
            Err(SubsonicError::ServerMustUpgrade)
        );
        assert!(matches!(
            check_version("x"),
            Err(SubsonicError::InvalidParameter { name: "v", .. })
        ));
    }
}

//! Users of the on-demand library (the Subsonic API's accounts).
//!
//! Passwords are stored encrypted, not hashed: Subsonic's token authentication sends
//! `md5(password + salt)`, which the server can only check by knowing the password. Each
//! password is sealed with AES-256-GCM under a key kept in a file of its own beside the
//! database ([`PasswordKey`], created on first use with mode 0600), with a random 96-bit nonce
//! and the user's name as associated data (a ciphertext copied onto another row does not open).
//! A stolen database without the key file reveals no password.
//!
//! API keys (OpenSubsonic's `apiKey`) are random, shown once when created, and stored as
//! their SHA-256 hash; a user has at most one (a new one replaces the old).

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use rand::RngCore;
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The longest user name accepted.
pub const MAX_NAME_LEN: usize = 64;
/// The longest password accepted.
pub const MAX_PASSWORD_LEN: usize = 1024;
/// The key file's name, beside the database.
pub const KEY_FILE_NAME: &str = "floe-secret.key";
const NONCE_LEN: usize = 12;

/// What managing users can fail with.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum UserError {
    /// `add` with a name that is taken.
    #[error("user `{0}` already exists")]
    Exists(String),
    /// No user by that name.
    #[error("no user `{0}`")]
    NotFound(String),
    /// A name that is empty, too long, or holds control characters or surrounding spaces.
    #[error("invalid user name `{0}`: 1 to 64 characters, no control characters, no leading or trailing spaces")]
    InvalidName(String),
    /// An empty or over-long password.
    #[error("invalid password: 1 to 1024 characters")]
    InvalidPassword,
    /// The key file cannot be read or created.
    #[error("password key file {path}: {source}")]
    KeyFile {
        /// The key file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The key file does not hold a 32-byte key.
    #[error("password key file {0}: not a 32-byte key")]
    KeyFileCorrupt(PathBuf),
    /// A stored password that the key does not open (another key file, or a damaged row).
    #[error("the stored password of `{0}` cannot be decrypted with this key file")]
    Undecryptable(String),
    /// The database failed.
    #[error("user database: {0}")]
    Db(#[from] rusqlite::Error),
}

/// The AES-256 key that seals stored passwords.
#[derive(Clone)]
pub struct PasswordKey {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for PasswordKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordKey(..)")
    }
}

impl PasswordKey {
    /// The key file for a database at `database`: [`KEY_FILE_NAME`] in the same folder.
    pub fn path_beside(database: &Path) -> PathBuf {
        database
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join(KEY_FILE_NAME)
    }

    /// Reads the key at `path`, or creates it (32 random bytes, mode 0600, never overwriting
    /// a file another process created first).
    pub fn load_or_create(path: &Path) -> Result<PasswordKey, UserError> {
        let key_err = |source| UserError::KeyFile {
            path: path.to_path_buf(),
            source,
        };
        match std::fs::read(path) {
            Ok(bytes) => return PasswordKey::from_bytes(&bytes, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(key_err(e)),
        }
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(path) {
            Ok(mut file) => {
                file.write_all(&key).map_err(key_err)?;
                file.sync_all().map_err(key_err)?;
                Ok(PasswordKey::from_key(&key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let bytes = std::fs::read(path).map_err(key_err)?;
                PasswordKey::from_bytes(&bytes, path)
            }
            Err(e) => Err(key_err(e)),
        }
    }

    fn from_bytes(bytes: &[u8], path: &Path) -> Result<PasswordKey, UserError> {
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| UserError::KeyFileCorrupt(path.to_path_buf()))?;
        Ok(PasswordKey::from_key(&key))
    }

    /// A key from its 32 bytes.
    pub fn from_key(key: &[u8; 32]) -> PasswordKey {
        PasswordKey {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)),
        }
    }

    fn seal(&self, user: &str, password: &str) -> Result<Vec<u8>, UserError> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: password.as_bytes(),
                    aad: user.as_bytes(),
                },
            )
            .map_err(|_| UserError::InvalidPassword)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn open(&self, user: &str, sealed: &[u8]) -> Result<String, UserError> {
        let undecryptable = || UserError::Undecryptable(user.to_string());
        if sealed.len() < NONCE_LEN {
            return Err(undecryptable());
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: user.as_bytes(),
                },
            )
            .map_err(|_| undecryptable())?;
        String::from_utf8(plain).map_err(|_| undecryptable())
    }
}

/// A user as listed (no secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Whether the user may administer (see everyone's playlists, manage the library).
    pub is_admin: bool,
    /// Whether an API key is set.
    pub has_api_key: bool,
    /// Creation time, seconds since the Unix epoch.
    pub created: i64,
}

fn check_name(name: &str) -> Result<(), UserError> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_NAME_LEN
        && !name.chars().any(char::is_control)
        && name.trim() == name;
    ok.then_some(())
        .ok_or_else(|| UserError::InvalidName(name.to_string()))
}

fn check_password(password: &str) -> Result<(), UserError> {
    (!password.is_empty() && password.len() <= MAX_PASSWORD_LEN)
        .then_some(())
        .ok_or(UserError::InvalidPassword)
}

fn user_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(0)?,
        name: row.get(1)?,
        is_admin: row.get(2)?,
        has_api_key: row.get::<_, Option<String>>(3)?.is_some(),
        created: row.get(4)?,
    })
}

const USER_COLUMNS: &str = "id, name, is_admin, api_key_hash, created";

/// Adds a user; `now` is the creation time (seconds since the Unix epoch).
pub fn add_user(
    conn: &Connection,
    key: &PasswordKey,
    name: &str,
    password: &str,
    is_admin: bool,
    now: i64,
) -> Result<User, UserError> {
    check_name(name)?;
    check_password(password)?;
    if find_user(conn, name)?.is_some() {
        return Err(UserError::Exists(name.to_string()));
    }
    let sealed = key.seal(name, password)?;
    conn.execute(
        "INSERT INTO users (name, password_enc, api_key_hash, is_admin, created) VALUES (?1, ?2, NULL, ?3, ?4)",
        params![name, sealed, is_admin, now],
    )?;
    find_user(conn, name)?.ok_or_else(|| UserError::NotFound(name.to_string()))
}

/// Replaces a user's password.
pub fn set_password(
    conn: &Connection,
    key: &PasswordKey,
    name: &str,
    password: &str,
) -> Result<(), UserError> {
    check_password(password)?;
    let sealed = key.seal(name, password)?;
    let n = conn.execute(
        "UPDATE users SET password_enc = ?1 WHERE name = ?2",
        params![sealed, name],
    )?;
    (n == 1)
        .then_some(())
        .ok_or_else(|| UserError::NotFound(name.to_string()))
}

/// Every user, by name.
pub fn list_users(conn: &Connection) -> Result<Vec<User>, UserError> {
    let mut stmt = conn.prepare(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY name"))?;
    let users = stmt
        .query_map([], user_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(users)
}

/// The user with this name, if any.
pub fn find_user(conn: &Connection, name: &str) -> Result<Option<User>, UserError> {
    Ok(conn
        .query_row(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?1"),
            [name],
            user_from_row,
        )
        .optional()?)
}

/// Removes a user (their playlists, plays and stars go with them where the schema cascades).
pub fn remove_user(conn: &Connection, name: &str) -> Result<(), UserError> {
    let n = conn.execute("DELETE FROM users WHERE name = ?1", [name])?;
    (n == 1)
        .then_some(())
        .ok_or_else(|| UserError::NotFound(name.to_string()))
}

/// The user and their password in clear (for checking a token), if the user exists; the
/// password is `None` for a user stored without one (who can only use an API key).
pub fn user_with_password(
    conn: &Connection,
    key: &PasswordKey,
    name: &str,
) -> Result<Option<(User, Option<String>)>, UserError> {
    let row = conn
        .query_row(
            &format!("SELECT {USER_COLUMNS}, password_enc FROM users WHERE name = ?1"),
            [name],
            |row| Ok((user_from_row(row)?, row.get::<_, Option<Vec<u8>>>(5)?)),
        )
        .optional()?;
    match row {
        None => Ok(None),
        Some((user, None)) => Ok(Some((user, None))),
        Some((user, Some(sealed))) => {
            let password = key.open(&user.name, &sealed)?;
            Ok(Some((user, Some(password))))
        }
    }
}

/// SHA-256 of an API key, in lower-case hex (what is stored).
pub fn api_key_hash(api_key: &str) -> String {
    let digest = Sha256::digest(api_key.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Makes a new API key for `name` (replacing any previous one) and returns it: the only
/// time it exists in clear.
pub fn new_api_key(conn: &Connection, name: &str) -> Result<String, UserError> {
    let mut raw = [0u8; 24];
    OsRng.fill_bytes(&mut raw);
    let key: String = format!(
        "floe_{}",
        raw.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let n = conn.execute(
        "UPDATE users SET api_key_hash = ?1 WHERE name = ?2",
        params![api_key_hash(&key), name],
    )?;
    if n != 1 {
        return Err(UserError::NotFound(name.to_string()));
    }
    Ok(key)
}

/// The user an API key belongs to, if any. The lookup is by hash, so the time taken does not
/// depend on how much of a guessed key is right.
pub fn user_by_api_key(conn: &Connection, api_key: &str) -> Result<Option<User>, UserError> {
    let hash = api_key_hash(api_key);
    let user = conn
        .query_row(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE api_key_hash = ?1"),
            [&hash],
            user_from_row,
        )
        .optional()?;
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database with the catalog's real schema.
    fn db() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        conn
    }

    #[test]
    fn passwords_are_sealed_and_bound_to_the_name() {
        let conn = db();
        let key = PasswordKey::from_key(&[7; 32]);
        add_user(&conn, &key, "alice", "sesame", true, 1000).unwrap();
        add_user(&conn, &key, "bob", "hunter2", false, 1001).unwrap();
        let stored: Vec<u8> = conn
            .query_row(
                "SELECT password_enc FROM users WHERE name='alice'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(!stored.windows(6).any(|w| w == b"sesame"));
        assert_eq!(stored.len(), NONCE_LEN + 6 + 16);
        let (user, pw) = user_with_password(&conn, &key, "alice").unwrap().unwrap();
        assert_eq!(pw.as_deref(), Some("sesame"));
        assert!(user.is_admin);
        // Alice's ciphertext copied onto Bob's row does not open as Bob's.
        conn.execute(
            "UPDATE users SET password_enc = ?1 WHERE name='bob'",
            [&stored],
        )
        .unwrap();
        assert!(matches!(
            user_with_password(&conn, &key, "bob"),
            Err(UserError::Undecryptable(_))
        ));
        // Another key opens nothing.
        let other = PasswordKey::from_key(&[8; 32]);
        assert!(user_with_password(&conn, &other, "alice").is_err());
        assert!(user_with_password(&conn, &key, "carol").unwrap().is_none());
    }

    #[test]
    fn names_passwords_duplicates_removal() {
        let conn = db();
        let key = PasswordKey::from_key(&[1; 32]);
        assert!(matches!(
            add_user(&conn, &key, "", "x", false, 0),
            Err(UserError::InvalidName(_))
        ));
        assert!(matches!(
            add_user(&conn, &key, " a", "x", false, 0),
            Err(UserError::InvalidName(_))
        ));
        assert!(matches!(
            add_user(&conn, &key, "a\nb", "x", false, 0),
            Err(UserError::InvalidName(_))
        ));
        assert!(matches!(
            add_user(&conn, &key, "a", "", false, 0),
            Err(UserError::InvalidPassword)
        ));
        add_user(&conn, &key, "zed", "pw", false, 5).unwrap();
        add_user(&conn, &key, "amy", "pw", false, 6).unwrap();
        assert!(matches!(
            add_user(&conn, &key, "zed", "pw", false, 0),
            Err(UserError::Exists(_))
        ));
        let names: Vec<String> = list_users(&conn)
            .unwrap()
            .into_iter()
            .map(|u| u.name)
            .collect();
        assert_eq!(names, ["amy", "zed"]);
        set_password(&conn, &key, "amy", "new").unwrap();
        assert_eq!(
            user_with_password(&conn, &key, "amy")
                .unwrap()
                .unwrap()
                .1
                .as_deref(),
            Some("new")
        );
        conn.execute(
            "UPDATE users SET password_enc = NULL WHERE name = 'amy'",
            [],
        )
        .unwrap();
        assert_eq!(
            user_with_password(&conn, &key, "amy").unwrap().unwrap().1,
            None
        );
        remove_user(&conn, "zed").unwrap();
        assert!(matches!(
            remove_user(&conn, "zed"),
            Err(UserError::NotFound(_))
        ));
        assert_eq!(list_users(&conn).unwrap().len(), 1);
    }

    #[test]
    fn api_keys_are_stored_hashed_and_replaced() {
        let conn = db();
        let key = PasswordKey::from_key(&[2; 32]);
        add_user(&conn, &key, "alice", "pw", false, 0).unwrap();
        let first = new_api_key(&conn, "alice").unwrap();
        assert!(first.starts_with("floe_") && first.len() == 53, "{first}");
        let stored: String = conn
            .query_row("SELECT api_key_hash FROM users", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, api_key_hash(&first));
        assert_ne!(stored, first);
        assert_eq!(
            user_by_api_key(&conn, &first).unwrap().unwrap().name,
            "alice"
        );
        let second = new_api_key(&conn, "alice").unwrap();
        assert!(user_by_api_key(&conn, &first).unwrap().is_none());
        assert!(user_by_api_key(&conn, &second).unwrap().is_some());
        assert!(list_users(&conn).unwrap()[0].has_api_key);
        assert!(matches!(
            new_api_key(&conn, "bob"),
            Err(UserError::NotFound(_))
        ));
        assert_eq!(
            api_key_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn key_file_is_created_once_with_mode_0600() {
        let dir = std::env::temp_dir().join(format!("floe-users-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = PasswordKey::path_beside(&dir.join("library.db"));
        let _ = std::fs::remove_file(&path);
        let conn = db();
        let k1 = PasswordKey::load_or_create(&path).unwrap();
        add_user(&conn, &k1, "alice", "pw", false, 0).unwrap();
        let k2 = PasswordKey::load_or_create(&path).unwrap();
        assert_eq!(
            user_with_password(&conn, &k2, "alice")
                .unwrap()
                .unwrap()
                .1
                .as_deref(),
            Some("pw")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, b"short").unwrap();
        assert!(matches!(
            PasswordKey::load_or_create(&path),
            Err(UserError::KeyFileCorrupt(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

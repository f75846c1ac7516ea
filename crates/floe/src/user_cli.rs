//! `floe user …`: the library's users (the accounts of the Subsonic API).

use clap::Subcommand;
use floe_library::users::{self, PasswordKey, UserError};
use floe_library::Library;
use rand::distributions::{Alphanumeric, DistString};
use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;

/// What `floe user` does.
#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a user. Without --password-stdin a random password is generated and printed once.
    Add {
        /// The user's name (1 to 64 characters).
        name: String,
        /// May administer: see and change every playlist.
        #[arg(long)]
        admin: bool,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password. Without --password-stdin a random one is generated and printed
    /// once.
    Password {
        /// The user's name.
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users: name, role, whether an API key is set.
    List,
    /// Remove a user (their playlists go with them).
    Remove {
        /// The user's name.
        name: String,
    },
    /// Make a new API key for a user (replacing the old one) and print it once.
    Apikey {
        /// The user's name.
        name: String,
    },
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Runs a `user` command against the library database at `database` (created and migrated if
/// new); the password key file is [`PasswordKey::path_beside`] it.
pub fn run(database: &Path, command: UserCommand) -> ExitCode {
    match execute(database, command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("floe user: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `f` in one write transaction; either error as text.
fn write<T>(
    library: &Library,
    f: impl FnOnce(&rusqlite::Connection) -> Result<T, UserError>,
) -> Result<T, String> {
    library
        .write(|tx| Ok(f(tx)))
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

fn password_key(database: &Path) -> Result<PasswordKey, String> {
    PasswordKey::load_or_create(&PasswordKey::path_beside(database)).map_err(|e| e.to_string())
}

/// The password from standard input's first line, or a generated one; (password, generated).
fn new_password(from_stdin: bool) -> Result<(String, bool), String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
        Ok((line.trim_end_matches(['\r', '\n']).to_string(), false))
    } else {
        Ok((
            Alphanumeric.sample_string(&mut rand::thread_rng(), 20),
            true,
        ))
    }
}

fn execute(database: &Path, command: UserCommand) -> Result<(), String> {
    let library = Library::open(database).map_err(|e| e.to_string())?;
    match command {
        UserCommand::Add {
            name,
            admin,
            password_stdin,
        } => {
            let key = password_key(database)?;
            let (password, generated) = new_password(password_stdin)?;
            let user = write(&library, |conn| {
                users::add_user(conn, &key, &name, &password, admin, unix_now())
            })?;
            println!(
                "added user {}{}",
                user.name,
                if user.is_admin { " (admin)" } else { "" }
            );
            if generated {
                println!("password (shown once): {password}");
            }
        }
        UserCommand::Password {
            name,
            password_stdin,
        } => {
            let key = password_key(database)?;
            let (password, generated) = new_password(password_stdin)?;
            write(&library, |conn| {
                users::set_password(conn, &key, &name, &password)
            })?;
            println!("password of {name} changed");
            if generated {
                println!("password (shown once): {password}");
            }
        }
        UserCommand::List => {
            let list = library
                .read(|conn| Ok(users::list_users(conn)))
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            if list.is_empty() {
                println!("no users (add one with `floe user add NAME`)");
            }
            for u in list {
                println!(
                    "{}\t{}\t{}",
                    u.name,
                    if u.is_admin { "admin" } else { "user" },
                    if u.has_api_key { "api key" } else { "-" }
                );
            }
        }
        UserCommand::Remove { name } => {
            write(&library, |conn| users::remove_user(conn, &name))?;
            println!("removed user {name}");
        }
        UserCommand::Apikey { name } => {
            let key = write(&library, |conn| users::new_api_key(conn, &name))?;
            println!("API key for {name} (shown once; it replaces any previous key):");
            println!("{key}");
        }
    }
    Ok(())
}

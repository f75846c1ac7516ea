//! The `floe` binary: command line, config loading, logging; then the server library runs.

mod config;
mod library;
mod media_config;
mod subsonic_config;
mod user_cli;

/// mimalloc: less memory per listener than the system allocator under many small, long-lived
/// allocations spread over worker threads (measured with floe-load; see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Args, Parser, Subcommand};
use config::Config;
use floe_engine::Engine;
use floe_server::settings::{Credentials, ShoutcastSettings};
use floe_server::{AppState, ServerSettings};
use floe_station::{StationConfig, StationHandle, StationSpec};
use rand::distributions::{Alphanumeric, DistString};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Floe: an audio streaming server. Icecast-compatible live radio, one binary.
#[derive(Parser, Debug)]
#[command(name = "floe", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server (the default when no command is given).
    Serve(ServeArgs),
    /// Check a config file and report every error with its key and line.
    CheckConfig {
        /// The TOML file to check.
        file: PathBuf,
    },
    /// Scan a music folder into the library database (incremental: unchanged files are not read).
    Scan(library::ScanArgs),
    /// Manage the library's users (the Subsonic API's accounts).
    User {
        /// The library database (default: `[library] database` of --config, else the default
        /// `floe scan` uses).
        #[arg(long, global = true, value_name = "PATH")]
        database: Option<PathBuf>,
        /// Config file whose `[library] database` names the database.
        #[arg(long, short, global = true, env = "FLOE_CONFIG")]
        config: Option<PathBuf>,
        #[command(subcommand)]
        command: user_cli::UserCommand,
    },
}

#[derive(Args, Debug, Default)]
struct ServeArgs {
    /// Config file (TOML; see floe.example.toml). Without one, every default applies.
    #[arg(long, short, env = "FLOE_CONFIG")]
    config: Option<PathBuf>,
    /// Address and port to listen on, e.g. 0.0.0.0:8000 (overrides server.listen).
    #[arg(long, env = "FLOE_LISTEN", value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
    /// Password for sources (overrides auth.source_password).
    #[arg(long, env = "FLOE_SOURCE_PASSWORD", hide_env_values = true)]
    source_password: Option<String>,
    /// Password for the admin (overrides auth.admin_password).
    #[arg(long, env = "FLOE_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: Option<String>,
    /// Play this folder (or .m3u/.pls playlist) as a station on /radio.mp3 and /radio.opus,
    /// instead of the demo; a folder is also the on-demand library (unless [library] path is set).
    #[arg(long, env = "FLOE_MUSIC", value_name = "DIR")]
    music: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::CheckConfig { file } => check_config(&file),
        Command::Serve(args) => serve(args),
        Command::Scan(args) => library::scan_command(args),
        Command::User {
            database,
            config,
            command,
        } => {
            let database = match (database, config) {
                (Some(db), _) => db,
                (None, Some(path)) => match config::load(&path) {
                    Ok(c) => c.library.database(),
                    Err(errors) => {
                        for e in &errors {
                            eprintln!("{}: {e}", path.display());
                        }
                        return ExitCode::from(2);
                    }
                },
                (None, None) => library::default_database(),
            };
            user_cli::run(&database, command)
        }
    }
}

fn check_config(file: &std::path::Path) -> ExitCode {
    match config::load(file) {
        Ok(_) => {
            println!("{}: OK", file.display());
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("{}: {e}", file.display());
            }
            eprintln!(
                "{}: {} error{}",
                file.display(),
                errors.len(),
                if errors.len() == 1 { "" } else { "s" }
            );
            ExitCode::from(2)
        }
    }
}

fn password(configured: &str) -> (String, bool) {
    if configured.is_empty() {
        (
            Alphanumeric.sample_string(&mut rand::thread_rng(), 16),
            true,
        )
    } else {
        (configured.to_string(), false)
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    let mut cfg = match &args.config {
        Some(path) => match config::load(path) {
            Ok(c) => c,
            Err(errors) => {
                for e in &errors {
                    eprintln!("{}: {e}", path.display());
                }
                return ExitCode::from(2);
            }
        },
        None => Config::default(),
    };
    if let Some(listen) = args.listen {
        cfg.server.listen = listen.to_string();
    }
    if let Some(p) = args.source_password {
        cfg.auth.source_password = p;
    }
    if let Some(p) = args.admin_password {
        cfg.auth.admin_password = p;
    }
    if let Some(dir) = &args.music {
        let station = StationConfig {
            music: dir.clone(),
            name: "Floe Radio".into(),
            ..StationConfig::default()
        };
        if let Some(p) = station.problems("radio").first() {
            eprintln!("--music: {}", p.message);
            return ExitCode::from(2);
        }
        cfg.stations.insert("radio".into(), station);
    }
    init_logging(&cfg.logging.level);
    let demo = cfg
        .demo
        .enabled
        .unwrap_or(args.config.is_none() && cfg.stations.is_empty());
    let mut stations = Vec::new();
    for (name, st) in &cfg.stations {
        match StationSpec::from_config(name, st) {
            Ok(spec) => stations.push(spec),
            Err(e) => {
                eprintln!("stations.\"{name}\": {e}");
                return ExitCode::from(2);
            }
        }
    }
    if demo && cfg.stations.is_empty() {
        stations.push(StationSpec::demo());
    }
    let station_renditions: std::collections::BTreeMap<String, Vec<String>> = stations
        .iter()
        .map(|s| {
            (
                s.key.clone(),
                s.renditions.iter().map(|r| r.mount.clone()).collect(),
            )
        })
        .collect();
    let station_mounts: Vec<String> = stations
        .iter()
        .flat_map(|s| s.renditions.iter().map(|r| r.mount.clone()))
        .collect();
    let Ok(listen) = cfg.server.listen.parse::<SocketAddr>() else {
        eprintln!(
            "server.listen: `{}` is not an address:port",
            cfg.server.listen
        );
        return ExitCode::from(2);
    };
    let (source_password, source_generated) = password(&cfg.auth.source_password);
    let (admin_password, admin_generated) = password(&cfg.auth.admin_password);
    let credentials = Credentials {
        source_user: cfg.auth.source_user.clone(),
        source_password,
        admin_user: cfg.auth.admin_user.clone(),
        admin_password,
    };
    let settings = ServerSettings {
        listen,
        shoutcast: cfg.shoutcast.enabled.then(|| ShoutcastSettings {
            mount: cfg.shoutcast.mount.clone(),
        }),
        credentials: credentials.clone(),
        hostname: cfg.server.hostname.clone(),
        location: cfg.server.location.clone(),
        admin_contact: cfg.server.admin_contact.clone(),
        max_header_size: cfg.limits.max_header_size,
        header_timeout: Duration::from_secs(cfg.limits.header_timeout),
        source_timeout: Duration::from_secs(cfg.limits.source_timeout),
        write_interval: Duration::from_millis(cfg.limits.write_interval_ms),
        trusted_proxies: cfg
            .network
            .trusted_proxies
            .iter()
            .filter_map(|p| p.parse().ok())
            .collect(),
        access_log: cfg.access_log(),
        shutdown_grace: Duration::from_secs(cfg.limits.shutdown_grace),
        pcm: cfg.pcm.settings(),
        media: cfg.media_settings(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let access_log = match &settings.access_log {
            Some(path) => floe_server::access::AccessLog::open(path)
                .await
                .map_err(|e| format!("logging.access_log: cannot open {}: {e}", path.display()))?,
            None => floe_server::access::AccessLog::disabled(),
        };
        let engine = Engine::new(cfg.engine_settings(&station_mounts));
        let mut running = Vec::new();
        for spec in stations {
            let name = spec.name.clone();
            let handle = floe_station::start(engine.clone(), spec)
                .map_err(|e| format!("station {name}: {e}"))?;
            running.push(handle);
        }
        let mut state = AppState::new(engine, settings, access_log);
        let running_library = library::start(&cfg.library, args.music.as_deref())?;
        state.library = running_library.as_ref().map(|r| r.library.clone());
        state.library_limits = std::sync::Arc::new(cfg.library.limits());
        if let Some(library) = &state.library {
            state.subsonic = subsonic_config::service(&cfg.subsonic, library)?;
        }
        state.hls =
            floe_hls::HlsService::new(state.engine.clone(), cfg.hls.settings(), station_renditions);
        state.hls.spawn();
        let listener = floe_server::edge::bind(listen)
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let shoutcast = match &state.settings.shoutcast {
            Some(sc) => {
                let mut addr = listen;
                addr.set_port(listen.port().wrapping_add(1));
                let l = floe_server::edge::bind(addr)
                    .map_err(|e| format!("cannot listen on {addr} for SHOUTcast sources: {e}"))?;
                tracing::info!(%addr, mount = %sc.mount, "SHOUTcast v1 sources accepted");
                Some(l)
            }
            None => None,
        };
        banner(
            listen,
            &credentials,
            source_generated,
            admin_generated,
            &running,
        );
        let served = floe_server::edge::serve(state, listener, shoutcast, shutdown_signal())
            .await
            .map_err(|e| e.to_string());
        for station in running {
            station.stop();
        }
        served
    });
    match result {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("floe: {e}");
            ExitCode::FAILURE
        }
    }
}

fn banner(
    listen: SocketAddr,
    creds: &Credentials,
    source_generated: bool,
    admin_generated: bool,
    stations: &[StationHandle],
) {
    let host = if listen.ip().is_unspecified() {
        format!("127.0.0.1:{}", listen.port())
    } else {
        listen.to_string()
    };
    tracing::info!(
        "Floe {} listening on http://{host}/",
        env!("CARGO_PKG_VERSION")
    );
    if source_generated || admin_generated {
        eprintln!();
        eprintln!("  No passwords configured; generated for this run (shown once):");
        if source_generated {
            eprintln!(
                "    source: {} / {}",
                creds.source_user, creds.source_password
            );
        }
        if admin_generated {
            eprintln!(
                "    admin:  {} / {}",
                creds.admin_user, creds.admin_password
            );
        }
    }
    eprintln!();
    for st in stations {
        for (i, m) in st.mounts().iter().enumerate() {
            let label = if i == 0 {
                "Now playing:"
            } else {
                "         or:"
            };
            eprintln!("  {label} http://{host}{m}   ({})", st.name());
        }
    }
    eprintln!("  Web page:  http://{host}/");
    eprintln!(
        "  Go live:   ffmpeg -re -i music.mp3 -c:a libmp3lame -b:a 128k -content_type audio/mpeg -f mp3 icecast://{}:{}@{host}/live.mp3",
        creds.source_user,
        if source_generated { creds.source_password.as_str() } else { "PASSWORD" }
    );
    eprintln!("  Listen:    mpv http://{host}/live.mp3");
    eprintln!();
}

fn init_logging(level: &str) {
    let filter = std::env::var("FLOE_LOG").unwrap_or_else(|_| level.to_string());
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("signal received");
}

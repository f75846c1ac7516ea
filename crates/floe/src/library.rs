//! The music library in the binary: the `[library]` config section, `floe scan`, and the
//! start-up scan and folder watcher of `floe serve`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use floe_library::{Library, LibraryWatcher, ScanOptions, ScanProgress, WatchOptions};
use floe_server::http::library::LibraryLimits;
use serde::Deserialize;

/// `[library]`: the on-demand music library.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LibrarySection {
    /// Music folder; empty: no library (the library API answers 503).
    pub path: String,
    /// Catalog database file; empty: [`default_database`].
    pub database: String,
    /// Rescan when files in the folder change.
    pub watch: bool,
    /// Quiet time after the last change before a rescan, milliseconds.
    pub watch_debounce_ms: u64,
    /// Threads reading tags during a scan; 0: one per core.
    pub scan_threads: usize,
    /// Page size of API lists when a request gives no `limit`.
    pub default_page_size: u64,
    /// Largest `limit` the API accepts (more: 400).
    pub max_page_size: u64,
    /// Most search-as-you-type suggestions per request.
    pub max_suggestions: u64,
    /// Largest request body of the playlist API (JSON or an imported playlist file), bytes
    /// (more: 413).
    pub max_body_bytes: usize,
}

impl Default for LibrarySection {
    fn default() -> Self {
        let limits = LibraryLimits::default();
        LibrarySection {
            path: String::new(),
            database: String::new(),
            watch: true,
            watch_debounce_ms: floe_library::WatchOptions::default().debounce.as_millis() as u64,
            scan_threads: 0,
            default_page_size: limits.default_page_size,
            max_page_size: limits.max_page_size,
            max_suggestions: limits.max_suggestions,
            max_body_bytes: limits.max_body_bytes,
        }
    }
}

impl LibrarySection {
    /// Semantic errors as (key, message).
    pub fn errors(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.max_page_size == 0 {
            out.push(("max_page_size", "must be at least 1".into()));
        }
        if self.default_page_size == 0 || self.default_page_size > self.max_page_size {
            out.push((
                "default_page_size",
                format!(
                    "must be between 1 and max_page_size ({})",
                    self.max_page_size
                ),
            ));
        }
        if self.max_suggestions == 0 {
            out.push(("max_suggestions", "must be at least 1".into()));
        }
        if self.max_body_bytes < 1024 {
            out.push(("max_body_bytes", "must be at least 1024".into()));
        }
        if !(50..=600_000).contains(&self.watch_debounce_ms) {
            out.push(("watch_debounce_ms", "must be between 50 and 600000".into()));
        }
        if self.scan_threads > 64 {
            out.push((
                "scan_threads",
                "must be at most 64 (0: one per core)".into(),
            ));
        }
        out
    }

    /// The API's limits.
    pub fn limits(&self) -> LibraryLimits {
        LibraryLimits {
            default_page_size: self.default_page_size,
            max_page_size: self.max_page_size,
            max_suggestions: self.max_suggestions,
            max_body_bytes: self.max_body_bytes,
        }
    }

    /// The database file.
    pub fn database(&self) -> PathBuf {
        if self.database.is_empty() {
            default_database()
        } else {
            PathBuf::from(&self.database)
        }
    }

    fn scan_options(&self) -> ScanOptions {
        let mut options = ScanOptions::default();
        if self.scan_threads > 0 {
            options.threads = self.scan_threads;
        }
        options
    }
}

/// `$XDG_DATA_HOME/floe/library.db`, else `~/.local/share/floe/library.db`, else
/// `floe-library.db` in the working folder.
pub fn default_database() -> PathBuf {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local/share"))
        });
    match data {
        Some(dir) => dir.join("floe").join("library.db"),
        None => PathBuf::from("floe-library.db"),
    }
}

/// `floe scan`.
#[derive(Args, Debug)]
pub struct ScanArgs {
    /// The music folder.
    pub dir: PathBuf,
    /// Catalog database (default: `[library] database` of --config, else
    /// $XDG_DATA_HOME/floe/library.db or ~/.local/share/floe/library.db).
    #[arg(long, value_name = "PATH")]
    pub database: Option<PathBuf>,
    /// Config file whose `[library]` section gives the database and scan threads.
    #[arg(long, short, env = "FLOE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Threads reading tags (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bar, even on a terminal.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `floe scan`: prints the summary (every failure with its path and reason) on stdout.
/// Unreadable files do not fail the command; a missing folder or database error does.
pub fn scan_command(args: ScanArgs) -> ExitCode {
    let section = match &args.config {
        Some(path) => match crate::config::load(path) {
            Ok(c) => c.library,
            Err(errors) => {
                for e in &errors {
                    eprintln!("{}: {e}", path.display());
                }
                return ExitCode::from(2);
            }
        },
        None => LibrarySection::default(),
    };
    let database = args.database.clone().unwrap_or_else(|| section.database());
    let library = match Library::open(&database) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("floe scan: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut options = section.scan_options();
    if let Some(t) = args.threads.filter(|t| *t > 0) {
        options.threads = t;
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        None,
        if args.quiet {
            indicatif::ProgressDrawTarget::hidden()
        } else {
            indicatif::ProgressDrawTarget::stderr()
        },
    );
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {msg} [{bar:30}] {pos}/{len} files ({per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let progress_bar = bar.clone();
    options.progress = Some(std::sync::Arc::new(move |p: ScanProgress| match p {
        ScanProgress::Walking { found } => {
            progress_bar.set_message(format!("looking: {found} files found"));
        }
        ScanProgress::Reading { done, total } => {
            progress_bar.set_message("reading");
            progress_bar.set_length(total);
            progress_bar.set_position(done);
        }
    }));
    let result = library.scan(&args.dir, &options);
    bar.finish_and_clear();
    match result {
        Ok(summary) => {
            println!("{summary}");
            println!("database: {}", database.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("floe scan: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The library of a running server and the watcher that keeps it current.
#[derive(Debug)]
pub struct RunningLibrary {
    /// The catalog.
    pub library: Library,
    /// Rescans on changes (dropping it stops them).
    _watcher: LibraryWatcher,
}

/// Opens the library of `floe serve` and starts its first scan in the background (then
/// watching, unless `watch = false`). `music` is `--music`, used when it is a folder and
/// `[library] path` is not set. `None` when no music folder is configured.
pub fn start(
    section: &LibrarySection,
    music: Option<&Path>,
) -> Result<Option<RunningLibrary>, String> {
    let root = if !section.path.is_empty() {
        PathBuf::from(&section.path)
    } else {
        match music.filter(|m| m.is_dir()) {
            Some(dir) => dir.to_path_buf(),
            None => return Ok(None),
        }
    };
    if !root.is_dir() {
        return Err(format!("library.path: {} is not a folder", root.display()));
    }
    let database = section.database();
    let library = Library::open(&database).map_err(|e| format!("library.database: {e}"))?;
    let options = WatchOptions {
        watch: section.watch,
        debounce: Duration::from_millis(section.watch_debounce_ms),
        scan: section.scan_options(),
    };
    let watcher = LibraryWatcher::start(library.clone(), &root, options, |result| match result {
        Ok(summary) => {
            tracing::info!(
                added = summary.added,
                changed = summary.changed,
                removed = summary.removed,
                moved = summary.moved,
                unchanged = summary.unchanged,
                failed = summary.failed.len(),
                "library scan: {}",
                summary
                    .to_string()
                    .lines()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join("; ")
            );
            for failure in &summary.failed {
                tracing::warn!(path = %failure.path.display(), "library scan: {}", failure.reason);
            }
        }
        Err(e) => tracing::error!("library scan: {e}"),
    })
    .map_err(|e| format!("library: {e}"))?;
    tracing::info!(folder = %root.display(), database = %database.display(), "music library");
    Ok(Some(RunningLibrary {
        library,
        _watcher: watcher,
    }))
}

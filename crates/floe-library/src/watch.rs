//! Keeping the catalog in step with the music folder while serving: a first scan, then an
//! incremental rescan after file-system changes settle (notify, debounced).

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use notify::event::{EventKind, MetadataKind, ModifyKind};
use notify::{RecursiveMode, Watcher};

use crate::error::{LibraryError, Result};
use crate::scan::{ScanOptions, ScanSummary};
use crate::Library;

/// Default quiet time after the last change before a rescan.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_secs(2);

/// How to follow a folder.
#[derive(Clone, Debug)]
pub struct WatchOptions {
    /// Watch for changes after the first scan (else scan once).
    pub watch: bool,
    /// Quiet time after the last change before rescanning.
    pub debounce: Duration,
    /// Options of every scan.
    pub scan: ScanOptions,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            watch: true,
            debounce: DEFAULT_DEBOUNCE,
            scan: ScanOptions::default(),
        }
    }
}

/// Scans a folder on a thread of its own, then rescans it after changes until dropped.
pub struct LibraryWatcher {
    // Dropping the watcher drops the event sender, which ends the scanning thread once its
    // current scan (if any) is done.
    _watcher: Option<notify::RecommendedWatcher>,
    root: PathBuf,
}

impl std::fmt::Debug for LibraryWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LibraryWatcher")
            .field("root", &self.root)
            .field("watching", &self._watcher.is_some())
            .finish()
    }
}

/// Whether an event can change what a scan finds (reads and access-time updates cannot;
/// without this filter the scan's own reads would trigger the next scan).
fn relevant(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(_) => false,
        EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)) => false,
        EventKind::Any
        | EventKind::Create(_)
        | EventKind::Modify(_)
        | EventKind::Remove(_)
        | EventKind::Other => true,
    }
}

impl LibraryWatcher {
    /// Starts the first scan of `root` at once and, with `options.watch`, rescans after
    /// changes (each burst of changes is one rescan, `debounce` after its last event).
    /// `on_scan` gets every scan's outcome on the scanning thread. Fails if the folder cannot
    /// be watched.
    pub fn start(
        library: Library,
        root: &Path,
        options: WatchOptions,
        on_scan: impl Fn(Result<ScanSummary>) + Send + 'static,
    ) -> Result<LibraryWatcher> {
        let root = root.to_path_buf();
        let (tx, rx) = mpsc::channel::<()>();
        let watcher = if options.watch {
            let db = library.db_path().to_string_lossy().into_owned();
            let mut watcher =
                notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                    let Ok(event) = event else { return };
                    if !relevant(&event.kind) {
                        return;
                    }
                    // Changes to the database itself (when it lives in the music folder) are ours.
                    if !event.paths.is_empty()
                        && event
                            .paths
                            .iter()
                            .all(|p| p.to_string_lossy().starts_with(&db))
                    {
                        return;
                    }
                    tx.send(()).ok();
                })
                .map_err(|e| LibraryError::Watch {
                    path: root.clone(),
                    reason: e.to_string(),
                })?;
            watcher
                .watch(&root, RecursiveMode::Recursive)
                .map_err(|e| LibraryError::Watch {
                    path: root.clone(),
                    reason: e.to_string(),
                })?;
            Some(watcher)
        } else {
            drop(tx);
            None
        };
        let thread_root = root.clone();
        std::thread::Builder::new()
            .name("floe-library-scan".into())
            .spawn(move || {
                on_scan(library.scan(&thread_root, &options.scan));
                // Each change: wait until the folder is quiet, then one rescan.
                while rx.recv().is_ok() {
                    loop {
                        match rx.recv_timeout(options.debounce) {
                            Ok(()) => continue,
                            Err(mpsc::RecvTimeoutError::Timeout) => break,
                            Err(mpsc::RecvTimeoutError::Disconnected) => return,
                        }
                    }
                    on_scan(library.scan(&thread_root, &options.scan));
                }
            })
            .map_err(|e| LibraryError::Watch {
                path: root.clone(),
                reason: e.to_string(),
            })?;
        Ok(LibraryWatcher {
            _watcher: watcher,
            root,
        })
    }
}

//! Watches the site for changes and hands the dev server debounced batches.
//!
//! Editors and `git` touch many files, often several times each, within a few
//! milliseconds; rebuilding per event would rebuild dozens of times. A quiet
//! period of a few milliseconds ([`DEBOUNCE`]) gathers the events of one
//! save (an editor's write, rename and chmod) into one [`Batch`], and the
//! rebuild starts then; what arrives during it is drained into one follow-up
//! batch by the rebuild loop, so a `git checkout` stays one or two rebuilds
//! without the wait of Zola's 1 s or Hugo's 500 ms. [`MAX_BATCH_DELAY`]
//! bounds the wait when events never stop.
//!
//! A batch of writes to files that existed, the last of them closed (an
//! editor saving in place), is a whole save: it is sent at once, without the
//! quiet period. Anything else (a file made, renamed or removed, as a save
//! through a temporary file does) waits for quiet.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{ErrorKind, Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::error::Error;

/// What a pending batch is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Writes to files that existed; `closed` once the last was closed.
    Writes { closed: bool },
    /// A file made, renamed or removed, or anything else: wait for quiet.
    Other,
}

/// Quiet time after the last event before a batch is sent: the events of
/// one save come within microseconds of each other.
pub const DEBOUNCE: Duration = Duration::from_millis(5);
/// The site's input folders, watched recursively; the root itself is watched
/// for its own files (`bengal.toml`) only.
const INPUT_DIRS: [&str; 5] = crate::paths::SOURCE_DIRS;

/// A batch is sent at the latest this long after its first event, so a never-ending stream of events still rebuilds.
pub const MAX_BATCH_DELAY: Duration = Duration::from_millis(500);

/// Changed paths, absolute, deduplicated and sorted.
///
/// Deleted paths are included: the consumer checks existence. When the kernel
/// dropped events (inotify queue overflow), the batch holds the site root
/// itself, because anything may have changed and only a full rebuild is safe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// The changed paths.
    pub paths: BTreeSet<PathBuf>,
}

impl Batch {
    /// Whether there is nothing to rebuild.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }
}

/// Whether a change to `path` is ignored: under `output` or under `root/.bengal`, `root/.git`, or any directory named `.git`, or an editor temporary file name.
///
/// The output and `.bengal/` are written by the build itself, so watching
/// them would rebuild forever; editors' temporary files never hold content,
/// and the real file they are renamed to is reported on its own.
pub fn is_ignored(root: &Path, output: &Path, path: &Path) -> bool {
    if path.starts_with(output) || path.starts_with(root.join(".bengal")) {
        return true;
    }
    // Only components inside the site count, so a site that itself lives
    // under some `.git` directory still works.
    let inside = path.strip_prefix(root).unwrap_or(path);
    if inside.components().any(|part| part.as_os_str() == ".git") {
        return true;
    }
    let Some(name) = path.file_name() else { return false };
    let name = name.to_string_lossy();
    [".swp", ".swx", ".swo", "~", ".tmp", "___jb_tmp___", "___jb_old___"].iter().any(|end| name.ends_with(end))
        // vim probes whether it may write a directory by creating `4913`.
        || name == "4913"
        || name == ".DS_Store"
        // Emacs: `.#name` is a lock symlink, `#name#` an auto-save file.
        || name.starts_with(".#")
        || (name.len() >= 2 && name.starts_with('#') && name.ends_with('#'))
}

/// A running watcher; dropping it stops notify.
pub struct Watcher {
    /// Canonical, so it compares equal to the paths inotify reports.
    root: PathBuf,
    /// Canonical as far as it exists; it may not exist before the first build.
    output: PathBuf,
    /// Events forwarded from notify's own thread.
    events: mpsc::UnboundedReceiver<notify::Result<Event>>,
    /// Collected but not yet sent; kept here rather than in `next_batch` so
    /// that dropping `next_batch` inside `select!` loses nothing.
    pending: Batch,
    /// When `pending` got its first and its latest path.
    first: Option<Instant>,
    last: Instant,
    /// What `pending` is: only writes to existing files, the last closed.
    shape: Shape,
    /// Folders watched for a few files the build read outside the input folders.
    extra_dirs: HashSet<PathBuf>,
    /// Owns the inotify fd and thread; dropped with `self`.
    notify: RecommendedWatcher,
}

impl Watcher {
    /// Starts watching `root` recursively. Errors (e.g. inotify limit) become a crate Error with a hint.
    pub fn start(root: &Path, output: &Path) -> Result<Watcher, Error> {
        let root = root.canonicalize().map_err(|err| Error::io(root, "watch the site", err))?;
        let output = crate::paths::resolve_path(output);
        let (sender, events) = mpsc::unbounded_channel();
        // Sending fails only once the receiver is dropped, i.e. while this
        // watcher is shutting down, when the event is of no use anyway.
        let mut notify = notify::recommended_watcher(move |event| {
            let _ = sender.send(event);
        })
        .map_err(|err| watch_error(&root, err))?;
        // The root alone (for bengal.toml and new input folders), then each
        // input folder deeply; never the output, whose thousands of new
        // directories would each cost an inotify watch during every build.
        notify.watch(&root, RecursiveMode::NonRecursive).map_err(|err| watch_error(&root, err))?;
        let mut watcher = Watcher {
            root,
            output,
            events,
            pending: Batch::default(),
            first: None,
            last: Instant::now(),
            shape: Shape::Writes { closed: false },
            extra_dirs: HashSet::new(),
            notify,
        };
        for dir in INPUT_DIRS {
            watcher.watch_input(&watcher.root.join(dir))?;
        }
        Ok(watcher)
    }

    /// Watches an input folder recursively, if it exists.
    fn watch_input(&mut self, dir: &Path) -> Result<(), Error> {
        if !dir.is_dir() {
            return Ok(());
        }
        self.notify.watch(dir, RecursiveMode::Recursive).map_err(|err| watch_error(dir, err))
    }

    /// Also watches `paths` (canonical), read by the build from folders
    /// not watched as a whole, e.g. `data/` read by `load_data`: a file's
    /// folder alone, or a folder the build reads whole (a grammar folder)
    /// with everything in it, each once. A folder that does not exist yet
    /// is not watched (until a later build reads from it).
    pub fn watch_paths(&mut self, paths: &[PathBuf]) {
        for path in paths {
            let (dir, mode) = if path.is_dir() {
                (Some(path.as_path()), RecursiveMode::Recursive)
            } else {
                (path.parent(), RecursiveMode::NonRecursive)
            };
            let Some(dir) = dir else { continue };
            let inside_input = INPUT_DIRS.iter().any(|input| dir.starts_with(self.root.join(input)));
            if dir == self.root || inside_input || !dir.starts_with(&self.root) || self.extra_dirs.contains(dir) {
                continue;
            }
            if dir.is_dir() && self.notify.watch(dir, mode).is_ok() {
                self.extra_dirs.insert(dir.to_path_buf());
            }
        }
    }

    /// Waits for the next debounced batch of non-ignored paths; returns None when `cancel` is cancelled or the watcher died.
    ///
    /// Cancel-safe: paths collected before the future is dropped stay pending
    /// for the next call.
    pub async fn next_batch(&mut self, cancel: &CancellationToken) -> Option<Batch> {
        loop {
            let Some(first) = self.first else {
                let event = tokio::select! {
                    biased;
                    () = cancel.cancelled() => return None,
                    event = self.events.recv() => event?,
                };
                self.absorb(event);
                continue;
            };
            if self.shape == (Shape::Writes { closed: true }) {
                // What the queue already holds belongs to the same save.
                while let Ok(event) = self.events.try_recv() {
                    self.absorb(event);
                }
                if self.shape == (Shape::Writes { closed: true }) {
                    return Some(self.take());
                }
            }
            let deadline = (self.last + DEBOUNCE).min(first + MAX_BATCH_DELAY);
            tokio::select! {
                biased;
                () = cancel.cancelled() => return None,
                event = tokio::time::timeout_at(deadline, self.events.recv()) => match event {
                    Ok(Some(event)) => self.absorb(event),
                    // Quiet long enough, or notify died: send what we have;
                    // a dead channel then yields `None` on the next call.
                    Ok(None) | Err(_) => return Some(self.take()),
                },
            }
        }
    }

    /// Takes, without waiting, everything already queued (debounce not applied).
    pub fn drain_pending(&mut self) -> Batch {
        while let Ok(event) = self.events.try_recv() {
            self.absorb(event);
        }
        self.take()
    }

    fn take(&mut self) -> Batch {
        self.first = None;
        self.shape = Shape::Writes { closed: false };
        std::mem::take(&mut self.pending)
    }

    /// Adds an event's non-ignored paths to `pending`. Only those restart the
    /// debounce, so the build's own writes to the output never delay a batch.
    fn absorb(&mut self, event: notify::Result<Event>) {
        // Errors during the stream (a subdirectory that vanished before it
        // could be watched) name no change the next rebuild could act on.
        let Ok(event) = event else { return };
        // Reads change nothing; closing a file after writing it finishes a write.
        let closed_after_write = matches!(event.kind, EventKind::Access(AccessKind::Close(AccessMode::Write)));
        if matches!(event.kind, EventKind::Access(_)) && !closed_after_write {
            return;
        }
        let mut relevant = false;
        if event.need_rescan() {
            self.pending.paths.insert(self.root.clone());
            relevant = true;
        }
        // Renames carry both the old and the new name, so a save-by-rename
        // still reports the real file.
        for path in event.paths {
            // An input folder created after the start (a first template).
            if path.parent() == Some(self.root.as_path())
                && INPUT_DIRS.iter().any(|dir| path.file_name() == Some(std::ffi::OsStr::new(dir)))
            {
                let _ = self.watch_input(&path);
            }
            if !is_ignored(&self.root, &self.output, &path) {
                self.pending.paths.insert(path);
                relevant = true;
            }
        }
        if relevant {
            let now = Instant::now();
            self.first.get_or_insert(now);
            self.last = now;
            self.shape = match (self.shape, event.kind) {
                (Shape::Writes { .. }, _) if closed_after_write => Shape::Writes { closed: true },
                (Shape::Writes { .. }, EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Any)) => {
                    Shape::Writes { closed: false }
                }
                _ => Shape::Other,
            };
        }
    }
}

/// Turns a notify error into one that says which limit to raise.
fn watch_error(root: &Path, err: notify::Error) -> Error {
    let error = Error::new(format!("could not watch {} for changes: {err}", root.display()));
    match &err.kind {
        ErrorKind::MaxFilesWatch => error.with_hint(
            "raise fs.inotify.max_user_watches (e.g. `sudo sysctl fs.inotify.max_user_watches=524288`), \
             or move large directories such as node_modules out of the site",
        ),
        // EMFILE from inotify_init: too many inotify instances for this user.
        ErrorKind::Io(io) if io.raw_os_error() == Some(24) => {
            error.with_hint("raise fs.inotify.max_user_instances, or close other programs that watch files")
        }
        _ => error.with_hint("`bengal build` works without watching; check the site directory is readable"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use tokio::time::timeout;

    const DEADLINE: Duration = Duration::from_secs(5);

    fn site() -> (tempfile::TempDir, PathBuf, Watcher) {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().canonicalize().expect("canonical temp dir");
        for sub in ["content", "public", ".git"] {
            fs::create_dir(root.join(sub)).expect("create dir");
        }
        let watcher = Watcher::start(&root, &root.join("public")).expect("start watcher");
        (dir, root, watcher)
    }

    /// Collects batches until `done` holds for everything seen, or fails after [`DEADLINE`].
    async fn collect(watcher: &mut Watcher, done: impl Fn(&Batch) -> bool) -> Vec<Batch> {
        let cancel = CancellationToken::new();
        let (mut all, mut batches) = (Batch::default(), Vec::new());
        timeout(DEADLINE, async {
            while !done(&all) {
                let batch = watcher.next_batch(&cancel).await.expect("watcher died");
                all.paths.extend(batch.paths.iter().cloned());
                batches.push(batch);
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no complete batch within {DEADLINE:?}; got {batches:?}"));
        batches
    }

    #[test]
    fn ignores_output_internal_dirs_and_editor_files() {
        let (root, output) = (Path::new("/site"), Path::new("/site/public"));
        let ignored = [
            "public/index.html",
            ".bengal/cache",
            ".git/index",
            "themes/x/.git/HEAD",
            "content/a.md.swp",
            "content/.a.md.swx",
            "content/a.md~",
            "content/4913",
            "content/.#a.md",
            "content/#a.md#",
            "content/a.tmp",
            "content/a.md___jb_tmp___",
            "content/.DS_Store",
        ];
        for path in ignored {
            assert!(is_ignored(root, output, &root.join(path)), "{path} should be ignored");
        }
        for path in ["content/a.md", "templates/base.html", "static/x.css", "content/#", "publication.md"] {
            assert!(!is_ignored(root, output, &root.join(path)), "{path} should not be ignored");
        }
    }

    #[tokio::test]
    async fn reports_a_written_file() {
        let (_dir, root, mut watcher) = site();
        let path = root.join("content/a.md");
        fs::write(&path, "# A").expect("write");
        collect(&mut watcher, |all| all.paths.contains(&path)).await;
    }

    #[tokio::test]
    async fn coalesces_a_burst() {
        let (_dir, root, mut watcher) = site();
        let paths: Vec<PathBuf> = (0..200).map(|i| root.join(format!("content/p{i}.md"))).collect();
        let written = paths.clone();
        // A blocking thread, so that the watcher receives events while they happen.
        let writer = tokio::task::spawn_blocking(move || written.iter().try_for_each(|path| fs::write(path, "x")));
        let batches = collect(&mut watcher, |all| paths.iter().all(|path| all.paths.contains(path))).await;
        writer.await.expect("writer").expect("write");
        assert!(batches.len() <= 3, "{} batches for one burst", batches.len());
    }

    #[tokio::test]
    async fn a_save_in_place_of_an_existing_file_is_one_batch_of_that_file() {
        let (_dir, root, mut watcher) = site();
        let path = root.join("content/a.md");
        fs::write(&path, "# A").expect("write");
        collect(&mut watcher, |all| all.paths.contains(&path)).await;
        fs::write(&path, "# A, again").expect("write");
        let batches = collect(&mut watcher, |all| all.paths.contains(&path)).await;
        assert_eq!(batches, [Batch { paths: [path].into() }]);
    }

    #[tokio::test]
    async fn reports_the_real_name_of_a_save_by_rename() {
        let (_dir, root, mut watcher) = site();
        let (temp, real) = (root.join("content/b.md___jb_tmp___"), root.join("content/b.md"));
        fs::write(&temp, "b").expect("write");
        fs::rename(&temp, &real).expect("rename");
        let batches = collect(&mut watcher, |all| all.paths.contains(&real)).await;
        assert!(batches.iter().all(|batch| !batch.paths.contains(&temp)), "{batches:?}");
    }

    #[tokio::test]
    async fn ignored_writes_send_no_batch() {
        let (_dir, root, mut watcher) = site();
        fs::write(root.join("public/index.html"), "x").expect("write");
        fs::write(root.join(".git/index"), "x").expect("write");
        fs::write(root.join("content/.a.md.swp"), "x").expect("write");
        let cancel = CancellationToken::new();
        let quiet = timeout(Duration::from_millis(300), watcher.next_batch(&cancel)).await;
        assert!(quiet.is_err(), "unexpected batch: {quiet:?}");
        let path = root.join("content/c.md");
        fs::write(&path, "c").expect("write");
        collect(&mut watcher, |all| all.paths.contains(&path)).await;
    }

    #[tokio::test]
    async fn drain_pending_takes_queued_changes() {
        let (_dir, root, mut watcher) = site();
        let path = root.join("content/d.md");
        fs::write(&path, "d").expect("write");
        let mut drained = Batch::default();
        timeout(DEADLINE, async {
            while !drained.paths.contains(&path) {
                // Polling, not synchronisation: the deadline above is the oracle.
                tokio::time::sleep(Duration::from_millis(5)).await;
                drained.paths.extend(watcher.drain_pending().paths);
            }
        })
        .await
        .expect("change never queued");
    }

    #[tokio::test]
    async fn cancellation_ends_next_batch_promptly() {
        let (_dir, root, mut watcher) = site();
        let cancel = CancellationToken::new();
        let token = cancel.clone();
        let task = tokio::spawn(async move { watcher.next_batch(&token).await });
        tokio::task::yield_now().await;
        // A pending change must not delay the shutdown either.
        fs::write(root.join("content/e.md"), "e").expect("write");
        cancel.cancel();
        let result = timeout(Duration::from_millis(100), task).await.expect("not cancelled within 100 ms");
        assert_eq!(result.expect("task"), None);
    }
}

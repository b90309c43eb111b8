//! A restart that costs nothing: after each full build that succeeds, the
//! server records in `.bengal/` what the output in `.bengal/serve/` was built
//! from. A server started on that output serves it at once and builds behind
//! it: a build that finds nothing to write when the site's files are all as
//! recorded; otherwise one that renders first each page asked for meanwhile
//! ([`crate::build::rush`]), so that no changed page is served as it was.
//!
//! The record is trusted only when it is whole and names this very binary
//! (its version, size and time), the same URL and the same drafts setting,
//! and the output is whole; anything else (another Bengal, a torn or foreign
//! file) is ignored and the site is built before it is served, as on a first
//! start.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::build::BuildOptions;
use crate::build::site::Site;
use crate::serve::watch::is_ignored;

/// The record, in the site's `.bengal/`.
pub const RECORD: &str = ".bengal/serve-record.json";

/// The most a record may hold; a larger one is not Bengal's.
const MAX_RECORD: u64 = 1 << 20;

/// What an output was built from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stamp {
    /// This binary: its version, size and modification time.
    bengal: String,
    /// The URL the pages were built for.
    url: Option<String>,
    drafts: bool,
    /// A hash of every input file's path, size and modification time.
    inputs: String,
    /// The files hashed, kept by the dev server to bring the stamp up to
    /// date after each rebuild: a restart after a day of edits is then a
    /// restart on an unchanged site.
    #[serde(skip)]
    files: Option<Files>,
}

impl Stamp {
    /// The stamp of the site's files as they are now; taken before a build,
    /// so that a file saved while it runs makes the stamp stale, not wrong.
    /// `None` when the site cannot be read.
    pub fn take(options: &BuildOptions) -> Option<Stamp> {
        let output_dir = Site::load_config(options).ok()?.output_dir;
        let files = Files::read(&options.root, &output_dir)?;
        Some(Stamp {
            bengal: this_binary()?,
            url: options.base_url.clone(),
            drafts: options.drafts,
            inputs: files.hash(),
            files: Some(files),
        })
    }

    /// The state now of `paths` (changed files, as the watcher reports
    /// them), read before the rebuild that reads them.
    pub fn look(&self, paths: &BTreeSet<PathBuf>) -> Option<Looked> {
        self.files.as_ref()?.look(paths)
    }

    /// Takes in what [`Stamp::look`] saw, once the rebuild built from it
    /// succeeded.
    pub fn update(&mut self, looked: Looked) {
        if let Some(files) = &mut self.files {
            files.update(looked);
            self.inputs = files.hash();
        }
    }

    /// Records that the output was built from this stamp's files. A record
    /// that cannot be written only costs the next start its head start.
    pub fn save(&self, root: &Path) {
        if let Ok(text) = serde_json::to_vec(self) {
            let temp = root.join(format!("{RECORD}.{}.tmp", std::process::id()));
            let _ = crate::build::output::write_by_rename(&temp, &root.join(RECORD), &text);
        }
    }

    /// What the record says of `output` against this stamp.
    pub fn recorded(&self, root: &Path, output: &Path) -> Record {
        let Ok(Some(bytes)) = crate::paths::read_regular_file(&root.join(RECORD), MAX_RECORD) else {
            return Record::Unusable;
        };
        let whole = output.join(crate::build::output::RECORD_FILE).is_file();
        match serde_json::from_slice::<Stamp>(&bytes) {
            Ok(recorded)
                if whole
                    && recorded.bengal == self.bengal
                    && recorded.url == self.url
                    && recorded.drafts == self.drafts =>
            {
                if recorded.inputs == self.inputs {
                    Record::Current
                } else {
                    Record::Stale
                }
            }
            _ => Record::Unusable,
        }
    }
}

/// Every input of a site, by path relative to its root: whether a folder,
/// and a file's size and modification time. Folders count by their path
/// alone: their times change with every editor's swap file.
#[derive(Debug, Clone)]
struct Files {
    /// Canonical, as the watcher reports paths.
    root: PathBuf,
    output: PathBuf,
    entries: BTreeMap<PathBuf, Entry>,
}

type Entry = (bool, u64, u128);

/// What [`Stamp::look`] saw of some paths: each one's entries now (none for
/// a removed path); `None` as a whole where a symlink appeared.
pub struct Looked(Vec<(PathBuf, Vec<(PathBuf, Entry)>)>);

impl Files {
    /// Every input under `root` but hidden ones (`.git`, `.bengal`), the
    /// build's output and what the watcher ignores (editors' files); `None`
    /// for a site holding a symlink, whose target may change unseen.
    fn read(root: &Path, output_dir: &Path) -> Option<Files> {
        let root = std::fs::canonicalize(root).ok()?;
        let output = if output_dir.is_absolute() { output_dir.to_path_buf() } else { root.join(output_dir) };
        let mut files = Files { root, output, entries: BTreeMap::new() };
        let entries = files.walk(&files.root)?;
        files.entries.extend(entries);
        Some(files)
    }

    fn walk(&self, from: &Path) -> Option<Vec<(PathBuf, Entry)>> {
        let entries = walkdir::WalkDir::new(from).into_iter().filter_entry(|entry| self.counts(entry.path()));
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.ok()?;
            if entry.path_is_symlink() {
                return None;
            }
            let relative = entry.path().strip_prefix(&self.root).ok()?.to_path_buf();
            found.push((relative, entry_of(&entry.metadata().ok()?)?));
        }
        Some(found)
    }

    /// Whether `path` is an input: inside the root, in no hidden folder,
    /// neither the output nor a file the watcher ignores.
    fn counts(&self, path: &Path) -> bool {
        let Ok(relative) = path.strip_prefix(&self.root) else { return false };
        let hidden = relative.components().any(|part| part.as_os_str().to_string_lossy().starts_with('.'));
        !hidden && !is_ignored(&self.root, &self.output, path)
    }

    fn look(&self, paths: &BTreeSet<PathBuf>) -> Option<Looked> {
        let mut looked = Vec::new();
        for path in paths.iter().filter(|path| self.counts(path)) {
            let relative = path.strip_prefix(&self.root).unwrap_or(path);
            let now = match std::fs::symlink_metadata(path) {
                Err(_) => Vec::new(),
                Ok(meta) if meta.file_type().is_symlink() => return None,
                // A folder moved in brings its files along, unreported.
                Ok(meta) if meta.is_dir() => self.walk(path)?,
                Ok(meta) => vec![(relative.to_path_buf(), entry_of(&meta)?)],
            };
            looked.push((relative.to_path_buf(), now));
        }
        Some(Looked(looked))
    }

    fn update(&mut self, Looked(looked): Looked) {
        for (path, now) in looked {
            // A path's own entry and its folder's, which follow it in order.
            let under = self.entries.range(path.clone()..).map(|(p, _)| p).take_while(|p| p.starts_with(&path));
            for gone in under.cloned().collect::<Vec<_>>() {
                self.entries.remove(&gone);
            }
            self.entries.extend(now);
        }
    }

    /// In path order, the order of a walk sorted by name.
    fn hash(&self) -> String {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        for (path, entry) in &self.entries {
            // Its bytes: `Path`'s own hash splits it into components.
            path.as_os_str().as_encoded_bytes().hash(&mut hasher);
            entry.hash(&mut hasher);
        }
        format!("{:016x}", hasher.finish())
    }
}

fn entry_of(meta: &std::fs::Metadata) -> Option<Entry> {
    if meta.is_dir() {
        return Some((true, 0, 0));
    }
    let modified = meta.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some((false, meta.len(), modified.as_nanos()))
}

/// What a record says of the output of the last server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// Made from the site's files as they are: served as it is.
    Current,
    /// Made by this binary for this URL, from files changed since: served
    /// while the build behind it renders first the pages asked for.
    Stale,
    /// Missing, torn, or not this binary's for this URL: built first.
    Unusable,
}

fn this_binary() -> Option<String> {
    let meta = std::fs::metadata(std::env::current_exe().ok()?).ok()?;
    let modified = meta.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(format!("{} {} {}", env!("CARGO_PKG_VERSION"), meta.len(), modified.as_nanos()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(root: &Path, paths: &[&str]) -> BTreeSet<PathBuf> {
        paths.iter().map(|path| root.join(path)).collect()
    }

    /// A stamp brought up to date with the paths the watcher reported is
    /// the stamp of a fresh walk, whatever the change: an edit, a new
    /// folder of files, a removal.
    #[test]
    fn a_stamp_kept_up_to_date_equals_a_fresh_one() {
        let site = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(site.path()).unwrap();
        std::fs::create_dir_all(root.join("content/blog")).unwrap();
        std::fs::write(root.join("content/blog/a.md"), "a").unwrap();
        std::fs::write(root.join("content/b.md"), "b").unwrap();
        let read = || Files::read(&root, Path::new("public")).unwrap();
        let mut kept = read();

        std::fs::write(root.join("content/blog/a.md"), "a, longer").unwrap();
        std::fs::create_dir_all(root.join("moved/deep")).unwrap();
        std::fs::write(root.join("moved/deep/c.md"), "c").unwrap();
        std::fs::remove_file(root.join("content/b.md")).unwrap();
        // Neither an editor's file nor a hidden one is an input.
        std::fs::write(root.join("content/blog/a.md.swp"), "swap").unwrap();
        std::fs::write(root.join("content/.hidden"), "x").unwrap();
        assert_ne!(kept.hash(), read().hash());

        let changed = ["content/blog/a.md", "moved", "content/b.md", "content/blog/a.md.swp", "content/.hidden"];
        let looked = kept.look(&batch(&root, &changed)).unwrap();
        kept.update(looked);
        assert_eq!(kept.entries, read().entries);
        assert_eq!(kept.hash(), read().hash());

        std::os::unix::fs::symlink("/etc", root.join("content/link")).unwrap();
        assert!(kept.look(&batch(&root, &["content/link"])).is_none());
        assert!(Files::read(&root, Path::new("public")).is_none());
    }
}

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
use crate::paths::{STATIC_DIR, THEMES_DIR};
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
    /// A hash of every input's path, and of a file's size and modification
    /// time.
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
    /// succeeded; hashed again when saved, off the rebuild's path.
    pub fn update(&mut self, looked: Looked) {
        if let Some(files) = &mut self.files {
            files.update(looked);
        }
    }

    /// Records that the output was built from this stamp's files. A record
    /// that cannot be written only costs the next start its head start.
    pub fn save(&mut self, root: &Path) {
        if let Some(files) = &self.files {
            self.inputs = files.hash();
        }
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

/// What [`Stamp::look`] saw of some paths: each one's entry now, `None`
/// for one removed.
pub struct Looked(Vec<(PathBuf, Option<Entry>)>);

impl Files {
    /// Every input under `root`: what the watcher watches but hidden
    /// files, and every file copied as it is (`static/`); `None` for a site
    /// holding a symlink, whose target may change unseen.
    fn read(root: &Path, output_dir: &Path) -> Option<Files> {
        let root = std::fs::canonicalize(root).ok()?;
        let output = if output_dir.is_absolute() { output_dir.to_path_buf() } else { root.join(output_dir) };
        let mut files = Files { root, output, entries: BTreeMap::new() };
        let entries = walkdir::WalkDir::new(&files.root).into_iter().filter_entry(|entry| files.counts(entry.path()));
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.ok()?;
            if entry.path_is_symlink() {
                return None;
            }
            let relative = entry.path().strip_prefix(&files.root).ok()?.to_path_buf();
            found.push((relative, entry_of(&entry.metadata().ok()?)?));
        }
        files.entries.extend(found);
        Some(files)
    }

    /// Whether `path` is an input: inside the root, neither the output nor
    /// `.git` or `.bengal`; outside `static/`, not hidden and not a file
    /// the watcher ignores (editors' files).
    fn counts(&self, path: &Path) -> bool {
        let Ok(relative) = path.strip_prefix(&self.root) else { return false };
        let names = || relative.components().map(|part| part.as_os_str().to_string_lossy());
        let copied_as_is = relative.starts_with(STATIC_DIR)
            || (relative.starts_with(THEMES_DIR) && names().nth(2).is_some_and(|name| name == STATIC_DIR));
        if copied_as_is {
            return !path.starts_with(&self.output) && !names().any(|name| name == ".git");
        }
        !names().any(|name| name.starts_with('.')) && !is_ignored(&self.root, &self.output, path)
    }

    fn look(&self, paths: &BTreeSet<PathBuf>) -> Option<Looked> {
        let mut looked = Vec::new();
        for path in paths.iter().filter(|path| self.counts(path)) {
            let relative = path.strip_prefix(&self.root).unwrap_or(path).to_path_buf();
            let entry = match std::fs::symlink_metadata(path) {
                Err(_) => None,
                Ok(meta) if meta.file_type().is_symlink() => return None,
                Ok(meta) => Some(entry_of(&meta)?),
            };
            looked.push((relative, entry));
        }
        Some(Looked(looked))
    }

    fn update(&mut self, Looked(looked): Looked) {
        for (path, entry) in looked {
            // A folder seen is only itself: its files count once seen on
            // their own (a folder moved in makes the stamp stale, not
            // wrong). A file or nothing where a folder was: it is gone.
            if !matches!(entry, Some((true, ..))) {
                let under = self.entries.range(path.clone()..).map(|(p, _)| p).take_while(|p| p.starts_with(&path));
                for gone in under.cloned().collect::<Vec<_>>() {
                    self.entries.remove(&gone);
                }
            }
            if let Some(entry) = entry {
                self.entries.insert(path, entry);
            }
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
    /// the stamp of a fresh walk, whatever the change: an edit, a removal,
    /// a new folder and its files; a folder moved in whose files were not
    /// reported leaves it stale, never wrong.
    #[test]
    fn a_stamp_kept_up_to_date_equals_a_fresh_one() {
        let site = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(site.path()).unwrap();
        std::fs::create_dir_all(root.join("content/blog")).unwrap();
        std::fs::write(root.join("content/blog/a.md"), "a").unwrap();
        std::fs::write(root.join("content/b.md"), "b").unwrap();
        let read = || Files::read(&root, Path::new("public")).unwrap();
        let mut kept = read();
        let saw = |kept: &mut Files, paths: &[&str]| {
            let looked = kept.look(&batch(&root, paths)).unwrap();
            kept.update(looked);
        };

        std::fs::write(root.join("content/blog/a.md"), "a, longer").unwrap();
        std::fs::create_dir_all(root.join("content/new")).unwrap();
        std::fs::write(root.join("content/new/c.md"), "c").unwrap();
        std::fs::remove_file(root.join("content/b.md")).unwrap();
        // Neither an editor's file nor a hidden one is an input; in static/
        // every file is, as every file there is published.
        std::fs::write(root.join("content/blog/a.md.swp"), "swap").unwrap();
        std::fs::write(root.join("content/.hidden"), "x").unwrap();
        std::fs::create_dir_all(root.join("static/.well-known")).unwrap();
        std::fs::write(root.join("static/.well-known/security.txt"), "x").unwrap();
        assert_ne!(kept.hash(), read().hash());
        let changed = [
            "content/blog/a.md",
            "content/new",
            "content/new/c.md",
            "content/b.md",
            "content/blog/a.md.swp",
            "content/.hidden",
            "static",
            "static/.well-known",
            "static/.well-known/security.txt",
        ];
        saw(&mut kept, &changed);
        assert_eq!(kept.entries, read().entries);
        assert_eq!(kept.hash(), read().hash());

        let outside = tempfile::tempdir_in(root.parent().unwrap()).unwrap();
        std::fs::create_dir_all(outside.path().join("trip")).unwrap();
        std::fs::write(outside.path().join("trip/d.md"), "d").unwrap();
        let fresh = read();
        std::fs::rename(outside.path().join("trip"), root.join("content/trip")).unwrap();
        saw(&mut kept, &["content/trip"]);
        assert_ne!(kept.hash(), read().hash(), "its files unseen, the stamp is stale");
        assert_ne!(kept.hash(), fresh.hash());
        saw(&mut kept, &["content/trip/d.md"]);
        assert_eq!(kept.hash(), read().hash());

        std::os::unix::fs::symlink("/etc", root.join("content/link")).unwrap();
        assert!(kept.look(&batch(&root, &["content/link"])).is_none());
        assert!(Files::read(&root, Path::new("public")).is_none());
    }
}

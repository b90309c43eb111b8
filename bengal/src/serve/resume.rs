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

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::build::BuildOptions;
use crate::build::site::Site;

/// The record, in the site's `.bengal/`.
pub const RECORD: &str = ".bengal/serve-record.json";

/// The most a record may hold; a larger one is not Bengal's.
const MAX_RECORD: u64 = 1 << 20;

/// What an output was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// This binary: its version, size and modification time.
    bengal: String,
    /// The URL the pages were built for.
    url: Option<String>,
    drafts: bool,
    /// A hash of every input file's path, size and modification time.
    inputs: String,
}

impl Stamp {
    /// The stamp of the site's files as they are now; taken before a build,
    /// so that a file saved while it runs makes the stamp stale, not wrong.
    /// `None` when the site cannot be read.
    pub fn take(options: &BuildOptions) -> Option<Stamp> {
        let output_dir = Site::load_config(options).ok()?.output_dir;
        Some(Stamp {
            bengal: this_binary()?,
            url: options.base_url.clone(),
            drafts: options.drafts,
            inputs: format!("{:016x}", inputs_hash(&options.root, &output_dir)?),
        })
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

/// A hash of the path, size and modification time of every file of the
/// site but hidden ones (`.git`, `.bengal`) and the build's output; `None`
/// for a site holding a symlink, whose target may change unseen.
fn inputs_hash(root: &Path, output_dir: &Path) -> Option<u64> {
    let output = if output_dir.is_absolute() { output_dir.to_path_buf() } else { root.join(output_dir) };
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let entries = walkdir::WalkDir::new(root).sort_by_file_name().into_iter().filter_entry(|entry| {
        let hidden = entry.depth() > 0 && entry.file_name().to_string_lossy().starts_with('.');
        !hidden && entry.path() != output
    });
    for entry in entries {
        let entry = entry.ok()?;
        if entry.path_is_symlink() {
            return None;
        }
        let meta = entry.metadata().ok()?;
        let modified = meta.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
        let relative: PathBuf = entry.path().strip_prefix(root).ok()?.to_path_buf();
        (relative, meta.is_dir(), meta.len(), modified.as_nanos()).hash(&mut hasher);
    }
    Some(hasher.finish())
}

//! Writing output in two steps, so that a failed build never touches the last
//! good site and a reader (the dev server, a browser) never sees a torn file.
//!
//! 1. Everything is rendered into [`Artifact`]s in memory first; an error
//!    there leaves the output as it was.
//! 2. [`write_output`] then writes each artifact whose bytes changed through a
//!    temporary file renamed over the old one (atomic per file), leaves
//!    unchanged files alone (their mtimes and ETags stay), and removes files the
//!    site no longer produces.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::{Error, Result};

/// One output file, relative to the output root (e.g. `blog/hello/index.html`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Artifact {
    /// Rendered bytes.
    Bytes {
        /// Output path.
        path: String,
        /// Contents.
        bytes: Vec<u8>,
    },
    /// A file copied as it is.
    Copy {
        /// Output path.
        path: String,
        /// Source file.
        source: PathBuf,
    },
}

impl Artifact {
    /// The output path, relative to the output root.
    pub fn path(&self) -> &str {
        match self {
            Artifact::Bytes { path, .. } | Artifact::Copy { path, .. } => path,
        }
    }
}

/// What [`write_output`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Paths written because they are new or their bytes changed, sorted.
    pub changed: Vec<String>,
    /// Files left as they were.
    pub unchanged: usize,
    /// Paths removed because the site no longer produces them, sorted.
    pub removed: Vec<String>,
}

/// Refuses an output directory that would overwrite the site itself; returns
/// it made absolute.
pub fn check_output_dir(root: &Path, output: &Path) -> Result<PathBuf> {
    let root_abs = std::fs::canonicalize(root).map_err(|err| Error::io(root, "open the site", err))?;
    let output_abs = resolve_path(output);
    if root_abs.starts_with(&output_abs)
        || output_abs.join(crate::config::CONFIG_FILE).exists()
        || ["content", "templates", "static"].iter().any(|dir| output_abs.starts_with(root_abs.join(dir)))
    {
        return Err(Error::new(format!("output directory {} would overwrite the site itself", output.display()))
            .with_hint("choose another `output_dir` in bengal.toml or another --output"));
    }
    Ok(output_abs)
}

/// Makes `output` hold exactly `artifacts`.
pub fn write_output(output: &Path, artifacts: &[Artifact]) -> Result<WriteReport> {
    let mut report = write_changed(output, artifacts)?;
    let wanted: HashSet<&str> = artifacts.iter().map(Artifact::path).collect();
    report.removed = remove_stale(output, &wanted)?;
    Ok(report)
}

/// Writes the `artifacts` whose bytes changed and leaves every other file of
/// `output` alone (the dev server's partial rebuild).
pub fn write_changed(output: &Path, artifacts: &[Artifact]) -> Result<WriteReport> {
    std::fs::create_dir_all(output).map_err(|err| Error::io(output, "create the output directory", err))?;
    let mut wanted = HashSet::with_capacity(artifacts.len());
    for artifact in artifacts {
        let path = artifact.path();
        if path.is_empty() || path.split('/').any(|part| part == ".." || part == ".") || path.starts_with('/') {
            return Err(Error::new(format!("refusing to write outside the output directory: {path}")));
        }
        if !wanted.insert(path) {
            return Err(Error::new(format!("two outputs would be written to {path}"))
                .with_hint("a file in static/ or an alias has the same path as a page; rename one of them"));
        }
    }
    let written: Vec<Option<String>> =
        artifacts.par_iter().map(|artifact| write_if_changed(output, artifact)).collect::<Result<_>>()?;
    let mut changed: Vec<String> = written.into_iter().flatten().collect();
    changed.sort();
    Ok(WriteReport { unchanged: artifacts.len() - changed.len(), changed, removed: Vec::new() })
}

/// Writes one artifact unless the file already holds the same bytes; returns
/// its path when written.
fn write_if_changed(output: &Path, artifact: &Artifact) -> Result<Option<String>> {
    let target = output.join(artifact.path());
    let bytes = match artifact {
        Artifact::Bytes { bytes, .. } => std::borrow::Cow::Borrowed(bytes.as_slice()),
        Artifact::Copy { source, .. } => {
            std::borrow::Cow::Owned(std::fs::read(source).map_err(|err| Error::io(source, "read it", err))?)
        }
    };
    if let Ok(meta) = std::fs::symlink_metadata(&target) {
        if meta.is_file() && meta.len() == bytes.len() as u64 && std::fs::read(&target).is_ok_and(|old| old == *bytes) {
            return Ok(None);
        }
        if meta.is_dir() {
            std::fs::remove_dir_all(&target)
                .map_err(|err| Error::io(&target, "replace a directory with a file", err))?;
        }
    }
    let parent = target.parent().unwrap_or(output);
    std::fs::create_dir_all(parent).map_err(|err| Error::io(parent, "create the directory", err))?;
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = parent.join(format!(".{name}.bengal-tmp"));
    std::fs::write(&temp, &bytes).map_err(|err| {
        let _ = std::fs::remove_file(&temp);
        Error::io(&temp, "write it", err)
    })?;
    std::fs::rename(&temp, &target).map_err(|err| {
        let _ = std::fs::remove_file(&temp);
        Error::io(&target, "move it in place", err)
    })?;
    Ok(Some(artifact.path().to_owned()))
}

/// Removes files under `output` that are not `wanted`, then empty directories.
fn remove_stale(output: &Path, wanted: &HashSet<&str>) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    let mut dirs = Vec::new();
    for entry in walkdir::WalkDir::new(output).min_depth(1).sort_by_file_name() {
        let entry = entry.map_err(|err| Error::in_file(output, format!("could not read the output: {err}")))?;
        let relative = slash_path(entry.path().strip_prefix(output).unwrap_or(entry.path()));
        if entry.file_type().is_dir() {
            dirs.push(entry.into_path());
        } else if !wanted.contains(relative.as_str()) {
            std::fs::remove_file(entry.path()).map_err(|err| Error::io(entry.path(), "remove a stale file", err))?;
            removed.push(relative);
        }
    }
    // Deepest first, so a directory is empty once its children are gone.
    for dir in dirs.iter().rev() {
        if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none()) {
            std::fs::remove_dir(dir).map_err(|err| Error::io(dir, "remove an empty directory", err))?;
        }
    }
    Ok(removed)
}

/// A relative path with `/` separators, as URLs and output paths spell it.
pub fn slash_path(path: &Path) -> String {
    path.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// `path` made absolute with every symlink of its existing part resolved and
/// `.` and `..` folded, without needing the rest to exist yet (an output
/// directory before the first build).
pub fn resolve_path(path: &Path) -> PathBuf {
    let joined = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut lexical = PathBuf::new();
    for component in joined.components() {
        match component {
            std::path::Component::ParentDir => {
                lexical.pop();
            }
            std::path::Component::CurDir => {}
            other => lexical.push(other),
        }
    }
    let mut existing = lexical.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(canonical) = existing.canonicalize() {
            return rest.iter().rev().fold(canonical, |acc, name| acc.join(name));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return lexical,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(path: &str, text: &str) -> Artifact {
        Artifact::Bytes { path: path.to_owned(), bytes: text.as_bytes().to_vec() }
    }

    #[test]
    fn writes_changed_keeps_unchanged_removes_stale() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("public");
        let first = write_output(&out, &[bytes("a/index.html", "A"), bytes("b/index.html", "B")]).unwrap();
        assert_eq!(first.changed, ["a/index.html", "b/index.html"]);

        let second = write_output(&out, &[bytes("a/index.html", "A"), bytes("c.html", "C")]).unwrap();
        assert_eq!(second.changed, ["c.html"]);
        assert_eq!(second.unchanged, 1);
        assert_eq!(second.removed, ["b/index.html"]);
        assert!(!out.join("b").exists(), "empty directory left behind");
        let names: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn refuses_paths_outside_and_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        assert!(write_output(dir.path(), &[bytes("../x", "")]).is_err());
        assert!(write_output(dir.path(), &[bytes("a", "1"), bytes("a", "2")]).is_err());
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    }

    #[test]
    fn refuses_to_overwrite_the_site() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_output_dir(dir.path(), dir.path()).is_err());
        assert!(check_output_dir(dir.path(), &dir.path().join("content/x")).is_err());
        assert!(check_output_dir(dir.path(), &dir.path().join("..")).is_err());
        assert!(check_output_dir(dir.path(), &dir.path().join("public/..")).is_err());
        assert!(check_output_dir(dir.path(), &dir.path().join("public")).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn refuses_the_site_through_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site");
        std::fs::create_dir_all(site.join("content")).unwrap();
        std::fs::write(site.join("bengal.toml"), "").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&site, &link).unwrap();
        assert!(check_output_dir(&link, &link).is_err());
        assert!(check_output_dir(&link, &link.join("content")).is_err());
        assert!(check_output_dir(&site, &link).is_err());
    }
}

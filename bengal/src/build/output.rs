//! Writing output in two steps, so that a failed build never touches the last
//! good site and a reader (the dev server, a browser) never sees a torn file.
//!
//! 1. Everything is rendered into [`Artifact`]s in memory first; an error
//!    there leaves the output as it was.
//! 2. [`OutputDir::write_all`] then writes each artifact whose bytes changed
//!    through a temporary file renamed over the old one (atomic per file),
//!    leaves unchanged files alone (their mtimes and ETags stay), and removes
//!    files the site no longer produces, but only those it wrote itself
//!    ([`RECORD_FILE`]), and never through a symlink.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::paths::{CONFIG_FILES, SOURCE_DIRS, normal_path, parent_of, resolve_path, slash_path};

/// One output file, relative to the output root (e.g. `blog/hello/index.html`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Artifact {
    Bytes {
        path: String,
        bytes: Vec<u8>,
    },
    /// A file copied as it is.
    Copy {
        path: String,
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

/// What a write of an [`OutputDir`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Paths written because they are new or their bytes changed, sorted.
    pub changed: Vec<String>,
    /// Files left as they were.
    pub unchanged: usize,
    /// Paths removed because the site no longer produces them, sorted.
    pub removed: Vec<String>,
}

/// The record, inside an output directory, of the files Bengal wrote there:
/// only those are ever removed, so an output shared with other files (an
/// explicit `--output`) never loses one Bengal did not write.
pub const RECORD_FILE: &str = ".bengal-written";

/// The most a record may hold; a larger one is not Bengal's.
const MAX_RECORD: u64 = 256 << 20;

/// Refuses an output directory that would overwrite the site itself, and a
/// configured one (`explicit` false) that is a symlink or leaves the site;
/// returns it made absolute.
pub fn check_output_dir(root: &Path, output: &Path, explicit: bool) -> Result<PathBuf> {
    let root_abs = std::fs::canonicalize(root).map_err(|err| Error::io(root, "open the site", err))?;
    let output_abs = resolve_path(output);
    if root_abs.starts_with(&output_abs)
        || CONFIG_FILES.iter().any(|f| output_abs.join(f).exists())
        || SOURCE_DIRS.iter().any(|dir| output_abs.starts_with(root_abs.join(dir)))
    {
        return Err(Error::new(format!("output directory {} would overwrite the site itself", output.display()))
            .with_hint("choose another `output_dir` in bengal.toml or another --output"));
    }
    // Inside the site, never a hidden directory (`.git`, `.bengal`: a build
    // must not rewrite a repository's config or the server's lock); the dev
    // server's own `.bengal/serve` aside.
    if let Ok(inside) = output_abs.strip_prefix(&root_abs)
        && inside != Path::new(crate::paths::SERVE_DIR)
    {
        let mut parts = inside.components().map(|c| c.as_os_str().to_string_lossy());
        if parts.any(|part| part.starts_with('.')) {
            return Err(Error::new(format!(
                "output directory {} is inside a directory the site keeps for itself",
                output.display()
            ))
            .with_hint("choose an output directory that is not hidden and not a source directory, e.g. `public`"));
        }
    }
    if !explicit {
        let relative = output.strip_prefix(root).unwrap_or(output);
        let lexical = normal_path(&slash_path(relative)).map(|rel| root_abs.join(rel));
        if lexical.as_deref() != Some(output_abs.as_path()) {
            return Err(Error::new(format!(
                "output directory {} is a symlink or leads outside the site",
                relative.display()
            ))
            .with_hint("make `output_dir` a plain directory inside the site, or pass --output to write elsewhere"));
        }
    }
    Ok(output_abs)
}

/// An output directory and the record of what Bengal wrote into it.
#[derive(Debug)]
pub struct OutputDir {
    dir: PathBuf,
    written: HashSet<String>,
}

impl OutputDir {
    /// Opens `dir` (created later, when first written) and reads its record.
    /// A record that cannot be read is treated as empty: nothing is removed.
    pub fn open(dir: &Path) -> OutputDir {
        let record = crate::paths::read_regular_file(&dir.join(RECORD_FILE), MAX_RECORD).ok().flatten();
        let text = record.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()).unwrap_or_default();
        let written = text.lines().filter(|l| !l.starts_with('#')).filter_map(normal_path).collect();
        OutputDir { dir: dir.to_path_buf(), written }
    }

    /// Makes the directory hold exactly `artifacts` among the files Bengal
    /// wrote; files it did not write stay.
    pub fn write_all(&mut self, artifacts: &[Artifact]) -> Result<WriteReport> {
        let (mut report, wanted) = self.write(artifacts)?;
        let mut stale: Vec<String> = self.written.difference(&wanted).cloned().collect();
        stale.sort();
        let mut checked = HashSet::new();
        for path in &stale {
            let target = self.dir.join(path);
            let parent = parent_of(path);
            // Never through a symlink that replaced one of its directories.
            if self.real_dirs(parent, false, &mut checked).is_err() {
                continue;
            }
            match std::fs::symlink_metadata(&target) {
                Ok(meta) if !meta.is_dir() => {
                    std::fs::remove_file(&target).map_err(|err| Error::io(&target, "remove a stale file", err))?;
                    report.removed.push(path.clone());
                    remove_empty_parents(&self.dir, path);
                }
                _ => {}
            }
        }
        self.written = wanted;
        self.save_record()?;
        Ok(report)
    }

    /// Writes the `artifacts` whose bytes changed and leaves every other file
    /// alone (the dev server's partial rebuild).
    pub fn write_changed(&mut self, artifacts: &[Artifact]) -> Result<WriteReport> {
        self.write(artifacts).map(|(report, _)| report)
    }

    /// Writes what changed; returns the report and the normal paths written.
    fn write(&mut self, artifacts: &[Artifact]) -> Result<(WriteReport, HashSet<String>)> {
        let mut paths = Vec::with_capacity(artifacts.len());
        let mut wanted = HashSet::with_capacity(artifacts.len());
        for artifact in artifacts {
            let Some(path) = normal_path(artifact.path()) else {
                return Err(Error::new(format!("refusing to write outside the output directory: {}", artifact.path())));
            };
            if path.split('/').next() == Some(RECORD_FILE) {
                return Err(Error::new(format!("the output path {RECORD_FILE} is Bengal's own record"))
                    .with_hint("rename the file in static/ or content/"));
            }
            if !wanted.insert(path.clone()) {
                return Err(Error::new(format!("two outputs would be written to {path}"))
                    .with_hint("a file in static/ or an alias has the same path as a page; rename one of them"));
            }
            paths.push(path);
        }
        create_dir(&self.dir)?;
        let mut checked = HashSet::new();
        let mut parents: Vec<&str> = paths.iter().map(|p| parent_of(p)).collect();
        parents.sort_unstable();
        parents.dedup();
        for parent in parents {
            self.real_dirs(parent, true, &mut checked)?;
        }
        let written: Vec<Option<&String>> = artifacts
            .par_iter()
            .zip(&paths)
            .map(|(artifact, path)| Ok(self.write_if_changed(path, artifact)?.then_some(path)))
            .collect::<Result<_>>()?;
        let mut changed: Vec<String> = written.into_iter().flatten().cloned().collect();
        changed.sort();
        let before = self.written.len();
        self.written.extend(paths);
        if self.written.len() != before {
            self.save_record()?;
        }
        Ok((WriteReport { unchanged: artifacts.len() - changed.len(), changed, removed: Vec::new() }, wanted))
    }

    /// Checks that every directory of `relative` (`a/b` checks `a` and `a/b`)
    /// is a real directory, creating missing ones when `create`. A symlink,
    /// or a file Bengal did not write, where a directory is needed is an error.
    fn real_dirs(&self, relative: &str, create: bool, checked: &mut HashSet<String>) -> Result<()> {
        let mut prefix = String::new();
        for part in relative.split('/').filter(|p| !p.is_empty()) {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            if checked.contains(&prefix) {
                continue;
            }
            let dir = self.dir.join(&prefix);
            match std::fs::symlink_metadata(&dir) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(Error::in_file(
                        &dir,
                        "is a symlink inside the output; Bengal never writes through a link",
                    )
                    .with_hint("remove the link, or choose another output directory"));
                }
                Ok(meta) if meta.is_dir() => {}
                Ok(_) if create && self.written.contains(&prefix) => {
                    std::fs::remove_file(&dir)
                        .map_err(|err| Error::io(&dir, "replace a file with a directory", err))?;
                    create_dir(&dir)?;
                }
                Ok(_) => {
                    return Err(Error::in_file(&dir, "is a file Bengal did not write, where a directory is needed")
                        .with_hint("move it away, or choose another output directory"));
                }
                Err(err) if err.kind() == std::io::ErrorKind::NotFound && create => create_dir(&dir)?,
                Err(err) => return Err(Error::io(&dir, "inspect it", err)),
            }
            checked.insert(prefix.clone());
        }
        Ok(())
    }

    /// Writes one artifact unless the file already holds the same bytes;
    /// returns whether it wrote.
    fn write_if_changed(&self, path: &str, artifact: &Artifact) -> Result<bool> {
        let target = self.dir.join(path);
        let bytes = match artifact {
            Artifact::Bytes { bytes, .. } => std::borrow::Cow::Borrowed(bytes.as_slice()),
            Artifact::Copy { source, .. } => {
                std::borrow::Cow::Owned(std::fs::read(source).map_err(|err| Error::io(source, "read it", err))?)
            }
        };
        if let Ok(meta) = std::fs::symlink_metadata(&target) {
            if meta.is_file()
                && meta.len() == bytes.len() as u64
                && std::fs::read(&target).is_ok_and(|old| old == *bytes)
            {
                return Ok(false);
            }
            if meta.is_dir() {
                self.remove_written_dir(path)?;
            }
        }
        let parent = target.parent().unwrap_or(&self.dir);
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        // Named for this process, so that two writers never share one.
        write_by_rename(&parent.join(format!(".{name}.{}.bengal-tmp", std::process::id())), &target, &bytes)?;
        Ok(true)
    }

    /// Removes directory `path` so that a file can take its place, if it holds
    /// only files Bengal wrote (they are stale: nothing is both a file and a
    /// directory).
    fn remove_written_dir(&self, path: &str) -> Result<()> {
        let dir = self.dir.join(path);
        for entry in walkdir::WalkDir::new(&dir).min_depth(1) {
            let entry = entry.map_err(|err| Error::in_file(&dir, format!("could not read: {err}")))?;
            let relative = slash_path(entry.path().strip_prefix(&self.dir).unwrap_or(entry.path()));
            if !entry.file_type().is_dir() && !self.written.contains(&relative) {
                return Err(Error::in_file(
                    &dir,
                    "is a directory holding files Bengal did not write, where a file is to go",
                )
                .with_hint("move it away, or choose another output directory"));
            }
        }
        std::fs::remove_dir_all(&dir).map_err(|err| Error::io(&dir, "replace a directory with a file", err))
    }

    fn save_record(&self) -> Result<()> {
        let mut paths: Vec<&str> = self.written.iter().map(String::as_str).collect();
        paths.sort_unstable();
        let mut text = String::from("# Files Bengal wrote here: only these are ever removed by a build.\n");
        for path in paths {
            text.push_str(path);
            text.push('\n');
        }
        let temp = self.dir.join(format!("{RECORD_FILE}.{}.tmp", std::process::id()));
        write_by_rename(&temp, &self.dir.join(RECORD_FILE), text.as_bytes())
    }
}

fn create_dir(dir: &Path) -> Result<()> {
    match std::fs::create_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(err) => Err(Error::io(dir, "create the directory", err)),
    }
}

/// Writes `bytes` to `target` atomically: to `temp` first, created anew
/// (never through a planted symlink), then renamed over `target`.
pub(crate) fn write_by_rename(temp: &Path, target: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let _ = std::fs::remove_file(temp);
    let written =
        std::fs::OpenOptions::new().write(true).create_new(true).open(temp).and_then(|mut file| file.write_all(bytes));
    let moved = written
        .map_err(|err| Error::io(temp, "write it", err))
        .and_then(|()| std::fs::rename(temp, target).map_err(|err| Error::io(target, "move it in place", err)));
    if moved.is_err() {
        let _ = std::fs::remove_file(temp);
    }
    moved
}

/// Removes the directories of `path` that its removal left empty.
fn remove_empty_parents(output: &Path, path: &str) {
    let mut dir = path;
    while let Some((parent, _)) = dir.rsplit_once('/') {
        if std::fs::remove_dir(output.join(parent)).is_err() {
            break;
        }
        dir = parent;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(path: &str, text: &str) -> Artifact {
        Artifact::Bytes { path: path.to_owned(), bytes: text.as_bytes().to_vec() }
    }

    fn write_all(out: &Path, artifacts: &[Artifact]) -> Result<WriteReport> {
        OutputDir::open(out).write_all(artifacts)
    }

    #[test]
    fn writes_changed_keeps_unchanged_removes_stale() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("public");
        let first = write_all(&out, &[bytes("a/index.html", "A"), bytes("b/index.html", "B")]).unwrap();
        assert_eq!(first.changed, ["a/index.html", "b/index.html"]);

        let second = write_all(&out, &[bytes("a/index.html", "A"), bytes("c.html", "C")]).unwrap();
        assert_eq!(second.changed, ["c.html"]);
        assert_eq!(second.unchanged, 1);
        assert_eq!(second.removed, ["b/index.html"]);
        assert!(!out.join("b").exists(), "empty directory left behind");
        let mut names: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        assert_eq!(names, [RECORD_FILE, "a", "c.html"]);
    }

    #[test]
    fn files_it_did_not_write_are_never_removed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("mine.txt"), "x").unwrap();
        write_all(dir.path(), &[bytes("a.html", "A")]).unwrap();
        let report = write_all(dir.path(), &[bytes("b.html", "B")]).unwrap();
        assert_eq!(report.removed, ["a.html"]);
        assert!(dir.path().join("mine.txt").exists());
    }

    #[test]
    fn a_page_and_a_directory_may_trade_places() {
        let dir = tempfile::tempdir().unwrap();
        write_all(dir.path(), &[bytes("x/index.html", "dir")]).unwrap();
        write_all(dir.path(), &[bytes("x", "file")]).unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join("x")).unwrap(), "file");
        write_all(dir.path(), &[bytes("x/index.html", "dir")]).unwrap();
        assert!(dir.path().join("x/index.html").is_file());
        std::fs::write(dir.path().join("x/mine.txt"), "mine").unwrap();
        assert!(write_all(dir.path(), &[bytes("x", "file")]).is_err(), "replaced a directory holding a file of mine");
        assert!(dir.path().join("x/mine.txt").exists());
    }

    #[test]
    fn refuses_paths_outside_and_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        assert!(write_all(dir.path(), &[bytes("../x", "")]).is_err());
        assert!(write_all(dir.path(), &[bytes("a", "1"), bytes("a", "2")]).is_err());
        assert!(write_all(dir.path(), &[bytes("a/b", "1"), bytes("a//./b", "2")]).is_err());
        assert!(
            write_all(dir.path(), &[bytes(".bengal-written/index.html", "x")]).is_err(),
            "the record's name is Bengal's"
        );
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    }

    #[test]
    fn refuses_to_overwrite_the_site() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_output_dir(dir.path(), dir.path(), true).is_err());
        assert!(check_output_dir(dir.path(), &dir.path().join("content/x"), true).is_err());
        assert!(check_output_dir(dir.path(), &dir.path().join(".."), true).is_err());
        assert!(check_output_dir(dir.path(), &dir.path().join("public/.."), true).is_err());
        assert!(check_output_dir(dir.path(), &dir.path().join("public"), false).is_ok());
        assert!(check_output_dir(dir.path(), &dir.path().join("../elsewhere"), false).is_err());
        for hidden in [".git", ".bengal", ".bengal/x", "sass", "public/.cache"] {
            assert!(check_output_dir(dir.path(), &dir.path().join(hidden), true).is_err(), "{hidden}");
        }
        assert!(check_output_dir(dir.path(), &dir.path().join(".bengal/serve"), true).is_ok());
    }

    #[test]
    fn refuses_the_site_through_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site");
        std::fs::create_dir_all(site.join("content")).unwrap();
        std::fs::write(site.join("bengal.toml"), "").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&site, &link).unwrap();
        assert!(check_output_dir(&link, &link, true).is_err());
        assert!(check_output_dir(&link, &link.join("content"), true).is_err());
        assert!(check_output_dir(&site, &link, true).is_err());
        let public = dir.path().join("public");
        std::fs::create_dir(&public).unwrap();
        std::os::unix::fs::symlink(&public, site.join("public")).unwrap();
        assert!(check_output_dir(&site, &site.join("public"), false).is_err());
        assert!(check_output_dir(&site, &site.join("public"), true).is_ok());
    }
}

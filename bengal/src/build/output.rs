//! Writing output in two steps, so that a failed build never touches the last
//! good site, a reader (the dev server, a browser) never sees a torn file,
//! and memory follows the content, not the output.
//!
//! 1. Each [`Artifact`] is [staged](Staging::stage) as soon as it is
//!    rendered: compared with the file it replaces and, when its bytes
//!    differ, written to a hidden staging folder in the output. An error in
//!    any job drops the staging folder and leaves the output as it was.
//! 2. [`OutputDir::commit`] then renames each staged file over the old one
//!    (atomic per file), leaves unchanged files alone (their mtimes and ETags
//!    stay), and removes files the site no longer produces, but only those
//!    it wrote itself ([`RECORD_FILE`]), and never through a symlink.
//!
//! An output folder that did not exist before the build has no last good
//! site to keep and no reader: each file is written in its place at once,
//! and removed again (with the folders it left empty) if the build fails.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

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

/// The record while the build that made the folder has not committed:
/// files are written in place from the start, so a build stopped before its
/// commit (Ctrl+C, a kill) leaves files no record lists.
const MADE_RECORD: &str = "# Made by a build that has not ended: every file here is Bengal's.\n";

/// Whether an output directory may hold files that are not Bengal's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// The site's `output_dir`, or the dev server's: the build owns it, as
    /// Zola's, Vite's and MkDocs' builds own theirs, and replaces what is
    /// there.
    Owned,
    /// A folder given with `--output`, which may be shared (a deploy
    /// checkout): a file there that Bengal did not write is never replaced.
    Shared,
}

/// Refuses an output directory that would overwrite the site itself, and a
/// configured one (`explicit` false) that is a symlink or leaves the site;
/// returns it made absolute, and whether it is shared.
pub fn check_output_dir(root: &Path, output: &Path, explicit: bool) -> Result<(PathBuf, Sharing)> {
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
    let shared = explicit && output_abs != root_abs.join(crate::paths::SERVE_DIR);
    Ok((output_abs, if shared { Sharing::Shared } else { Sharing::Owned }))
}

/// How much of the site a [commit](OutputDir::commit) holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every file: what Bengal wrote before and did not stage now is stale.
    Whole,
    /// The files a rebuild rendered again; every other file stays.
    Part,
}

/// Where a build's files wait until every job has rendered: a hidden folder
/// in the output, removed when dropped, so that a failed build leaves
/// nothing behind.
#[derive(Debug)]
pub struct Staging {
    output: Arc<Path>,
    dir: PathBuf,
    /// Whether the output directory was made for this build: files are
    /// then written in their place.
    made_output: bool,
    next: AtomicUsize,
}

/// One staged artifact: its output path and where its bytes wait.
#[derive(Debug)]
pub struct Staged {
    pub path: String,
    written: Written,
    /// Whether the artifact is a file copied as it is.
    pub copied: bool,
    /// Whether something was at its path before this build.
    replaces: bool,
}

/// Where a staged artifact's bytes are; a file not yet committed is
/// removed when its [`Staged`] is dropped.
#[derive(Debug)]
enum Written {
    /// The output holds the same bytes already; or committed.
    Nowhere,
    /// In this file of the staging folder, to be moved in place.
    Staged(PathBuf),
    /// In its place already, in an output folder made for this build
    /// (its root).
    InPlace(Arc<Path>),
}

impl Staged {
    fn changed(&self) -> bool {
        !matches!(self.written, Written::Nowhere)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.written, Written::Nowhere) {
            Written::Nowhere => {}
            Written::Staged(temp) => drop(std::fs::remove_file(temp)),
            Written::InPlace(output) => {
                if std::fs::remove_file(output.join(&self.path)).is_ok() {
                    remove_empty_parents(&output, &self.path);
                }
            }
        }
    }
}

/// A staging folder's name before its writer's pid.
const STAGING_PREFIX: &str = ".bengal-staging.";

/// Whether `relative` (a path in an output) is one of Bengal's own files,
/// its record or a build's staging folder, which are not part of the site.
pub fn is_bengal_file(relative: &Path) -> bool {
    let first = relative.components().next().and_then(|part| part.as_os_str().to_str());
    first.is_some_and(|first| first.starts_with(RECORD_FILE) || first.starts_with(STAGING_PREFIX))
}

/// Removes the staging folders of builds whose process is gone (killed, or
/// aborted by a stack overflow), this process's pid included: left there,
/// they would be published with the output.
fn remove_dead_staging(output: &Path) -> Result<()> {
    let entries = std::fs::read_dir(output).map_err(|err| Error::io(output, "read it", err))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(STAGING_PREFIX)).and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let gone = pid == std::process::id()
            || i32::try_from(pid).is_ok_and(|pid| {
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) == Err(nix::errno::Errno::ESRCH)
            });
        if !gone {
            continue;
        }
        let dir = entry.path();
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            // Another build removed it meanwhile.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(Error::io(&dir, "remove a stale staging folder", err)),
        }
    }
    Ok(())
}

impl Staging {
    fn new(output: &Path) -> Result<Staging> {
        let made_output = !output.exists();
        create_dir(output)?;
        remove_dead_staging(output)?;
        // Named for this process, so that two writers never share one.
        let dir = output.join(format!("{STAGING_PREFIX}{}", std::process::id()));
        std::fs::create_dir(&dir).map_err(|err| Error::io(&dir, "create the staging folder", err))?;
        Ok(Staging { output: Arc::from(output), dir, made_output, next: AtomicUsize::new(0) })
    }

    /// Stages `artifact`: checks its path, and writes it to the staging
    /// folder unless the output already holds the same bytes.
    pub fn stage(&self, artifact: Artifact) -> Result<Staged> {
        let Some(path) = normal_path(artifact.path()) else {
            return Err(Error::new(format!("refusing to write outside the output directory: {}", artifact.path())));
        };
        if path.split('/').next() == Some(RECORD_FILE) {
            return Err(Error::new(format!("the output path {RECORD_FILE} is Bengal's own record"))
                .with_hint("rename the file in static/ or content/"));
        }
        // A repository's internals: a hook written there would run.
        if path.split('/').any(|part| part == ".git") {
            return Err(Error::new(format!("refusing to write into a .git folder: {path}"))
                .with_hint("change the page's `path`, `slug` or `aliases`"));
        }
        let target = self.output.join(&path);
        let copied = matches!(artifact, Artifact::Copy { .. });
        if self.made_output {
            return self.write_in_place(&artifact, path, &target, copied);
        }
        let existing = std::fs::symlink_metadata(&target).ok();
        let replaces = existing.is_some();
        // A regular file (not a link) of that many bytes.
        let has_length = |length: u64| existing.as_ref().is_some_and(|meta| meta.is_file() && meta.len() == length);
        let unchanged = match &artifact {
            Artifact::Bytes { bytes, .. } => {
                has_length(bytes.len() as u64) && std::fs::read(&target).is_ok_and(|old| old == *bytes)
            }
            Artifact::Copy { source, .. } => {
                let length = std::fs::metadata(source).map_err(|err| Error::io(source, "read it", err))?.len();
                has_length(length) && same_files(&target, source).unwrap_or(false)
            }
        };
        if unchanged {
            return Ok(Staged { path, written: Written::Nowhere, copied, replaces });
        }
        let temp = self.dir.join(self.next.fetch_add(1, Ordering::Relaxed).to_string());
        let staged = Staged { path, written: Written::Staged(temp.clone()), copied, replaces };
        write_artifact(&artifact, &temp).map_err(|err| write_error(&artifact, &temp, err))?;
        Ok(staged)
    }

    /// Writes `artifact` at `target` in an output made for this build,
    /// where nothing else can be.
    fn write_in_place(&self, artifact: &Artifact, path: String, target: &Path, copied: bool) -> Result<Staged> {
        if let Some(parent) = target.parent() {
            create_dir(parent)?;
        }
        // Bytes are written with `create_new`, which refuses a file that is
        // there already; a copy would overwrite it, so it is looked for first.
        let taken = copied && std::fs::symlink_metadata(target).is_ok();
        let written =
            if taken { Err(std::io::ErrorKind::AlreadyExists.into()) } else { write_artifact(artifact, target) };
        match written {
            Ok(()) => Ok(Staged { path, written: Written::InPlace(self.output.clone()), copied, replaces: false }),
            // Another job's file: the build fails, and removes it with that job.
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Err(two_outputs(&path)),
            Err(err) => {
                let _ = std::fs::remove_file(target);
                remove_empty_parents(&self.output, &path);
                Err(write_error(artifact, target, err))
            }
        }
    }
}

/// Writes `artifact` to `file`, which must not exist.
fn write_artifact(artifact: &Artifact, file: &Path) -> std::io::Result<()> {
    match artifact {
        Artifact::Bytes { bytes, .. } => write_new(file, bytes),
        Artifact::Copy { source, .. } => std::fs::copy(source, file).map(drop),
    }
}

fn write_error(artifact: &Artifact, file: &Path, err: std::io::Error) -> Error {
    match artifact {
        Artifact::Bytes { .. } => Error::io(file, "write it", err),
        Artifact::Copy { source, .. } => Error::io(source, "copy it", err),
    }
}

const TWO_OUTPUTS_HINT: &str = "a file in static/ or an alias has the same path as a page; rename one of them";

fn two_outputs(path: &str) -> Error {
    Error::new(format!("two outputs would be written to {path}")).with_hint(TWO_OUTPUTS_HINT)
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if self.made_output {
            // Only when empty: a failed first build leaves no trace. The
            // record stays once a commit has written the real one.
            let record = self.output.join(RECORD_FILE);
            let read = crate::paths::read_regular_file(&record, MADE_RECORD.len() as u64);
            if read.is_ok_and(|bytes| bytes.is_some_and(|bytes| bytes == MADE_RECORD.as_bytes())) {
                let _ = std::fs::remove_file(record);
            }
            let _ = std::fs::remove_dir(&self.output);
        }
    }
}

/// Whether two files of the same length hold the same bytes, read a block
/// at a time: a static file may be larger than memory should hold.
fn same_files(a: &Path, b: &Path) -> std::io::Result<bool> {
    let (mut a, mut b) = (std::fs::File::open(a)?, std::fs::File::open(b)?);
    let (mut left, mut right) = (vec![0; 64 << 10], vec![0; 64 << 10]);
    loop {
        let read = a.read(&mut left)?;
        if read == 0 {
            return Ok(b.read(&mut right[..1])? == 0);
        }
        b.read_exact(&mut right[..read])?;
        if left[..read] != right[..read] {
            return Ok(false);
        }
    }
}

/// An output directory and the record of what Bengal wrote into it.
#[derive(Debug)]
pub struct OutputDir {
    dir: PathBuf,
    written: HashSet<String>,
    sharing: Sharing,
    /// Whether a build made the folder and was stopped before its commit:
    /// all it holds is Bengal's.
    made: bool,
}

impl OutputDir {
    /// Opens `dir` (created later, when first written) and reads its record.
    /// A record that cannot be read is treated as empty: nothing is removed.
    pub fn open(dir: &Path, sharing: Sharing) -> OutputDir {
        let record = crate::paths::read_regular_file(&dir.join(RECORD_FILE), MAX_RECORD).ok().flatten();
        let text = record.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()).unwrap_or_default();
        let written = text.lines().filter(|l| !l.starts_with('#')).filter_map(normal_path).collect();
        let made = text == MADE_RECORD;
        OutputDir { dir: dir.to_path_buf(), written, sharing, made }
    }

    /// A staging folder for a build into this directory; one that makes
    /// the folder records that it did at once.
    pub fn staging(&self) -> Result<Staging> {
        let staging = Staging::new(&self.dir)?;
        if staging.made_output {
            let record = self.dir.join(RECORD_FILE);
            write_new(&record, MADE_RECORD.as_bytes()).map_err(|err| Error::io(&record, "write it", err))?;
        }
        Ok(staging)
    }

    /// Moves `staged` into place: each file whose bytes changed replaces
    /// the old one in one rename, unchanged files are left alone (their
    /// mtimes and ETags stay). For the [`Scope::Whole`] site, files Bengal
    /// wrote that it no longer produces are removed; files it did not
    /// write stay.
    pub fn commit(&mut self, mut staged: Vec<Staged>, scope: Scope) -> Result<WriteReport> {
        let mut wanted = HashSet::with_capacity(staged.len());
        for file in &staged {
            if !wanted.insert(file.path.clone()) {
                return Err(two_outputs(&file.path));
            }
        }
        for path in &wanted {
            let mut folder = parent_of(path);
            while !folder.is_empty() {
                if wanted.contains(folder) {
                    return Err(Error::new(format!("{folder} would be both a file and the folder of {path}"))
                        .with_hint(TWO_OUTPUTS_HINT));
                }
                folder = parent_of(folder);
            }
        }
        if self.sharing == Sharing::Shared && !self.made {
            self.refuse_foreign(&staged)?;
        }
        create_dir(&self.dir)?;
        let mut checked = HashSet::new();
        let moved = staged.iter().filter(|f| matches!(f.written, Written::Staged(_)));
        let mut parents: Vec<&str> = moved.map(|f| parent_of(&f.path)).collect();
        parents.sort_unstable();
        parents.dedup();
        for parent in parents {
            self.real_dirs(parent, true, &mut checked)?;
        }
        let mut changed: Vec<String> = staged.iter().filter(|f| f.changed()).map(|f| f.path.clone()).collect();
        staged.par_iter_mut().try_for_each(|file| self.move_in(file))?;
        changed.sort();
        let mut report = WriteReport { unchanged: staged.len() - changed.len(), changed, removed: Vec::new() };
        match scope {
            Scope::Whole => {
                report.removed = self.remove_stale(&wanted)?;
                self.written = wanted;
                self.save_record()?;
            }
            Scope::Part => {
                let before = self.written.len();
                self.written.extend(wanted);
                if self.written.len() != before {
                    self.save_record()?;
                }
            }
        }
        Ok(report)
    }

    /// Fails, naming them, when files Bengal did not write are where
    /// `staged` files go.
    fn refuse_foreign(&self, staged: &[Staged]) -> Result<()> {
        let foreign: Vec<&str> = staged
            .iter()
            .filter(|file| file.replaces && !self.written.contains(&file.path))
            .map(|file| file.path.as_str())
            .collect();
        if foreign.is_empty() {
            return Ok(());
        }
        const SHOWN: usize = 5;
        let shown = foreign[..foreign.len().min(SHOWN)].join(", ");
        let more = if foreign.len() > SHOWN { format!(" and {} more", foreign.len() - SHOWN) } else { String::new() };
        Err(Error::in_file(
            &self.dir,
            format!(
                "holds files Bengal did not write where the site puts its own ({shown}{more}); \
                 a build never replaces them in a folder given with --output"
            ),
        )
        .with_hint("move them away (a file to publish belongs in static/), or build into another folder"))
    }

    /// Moves one staged file over its target, unless it is unchanged or
    /// in place already.
    fn move_in(&self, file: &mut Staged) -> Result<()> {
        let Written::Staged(temp) = std::mem::replace(&mut file.written, Written::Nowhere) else { return Ok(()) };
        let target = self.dir.join(&file.path);
        if std::fs::symlink_metadata(&target).is_ok_and(|meta| meta.is_dir()) {
            self.remove_written_dir(&file.path)?;
        }
        std::fs::rename(&temp, &target).map_err(|err| Error::io(&target, "move it in place", err))
    }

    /// Removes the files Bengal wrote that are not `wanted`, never through a
    /// symlink; returns their paths, sorted.
    fn remove_stale(&self, wanted: &HashSet<String>) -> Result<Vec<String>> {
        let mut stale: Vec<String> = self.written.difference(wanted).cloned().collect();
        stale.sort();
        let mut removed = Vec::new();
        let mut checked = HashSet::new();
        for path in stale {
            let target = self.dir.join(&path);
            // Never through a symlink that replaced one of its directories.
            if self.real_dirs(parent_of(&path), false, &mut checked).is_err() {
                continue;
            }
            match std::fs::symlink_metadata(&target) {
                Ok(meta) if !meta.is_dir() => {
                    std::fs::remove_file(&target).map_err(|err| Error::io(&target, "remove a stale file", err))?;
                    remove_empty_parents(&self.dir, &path);
                    removed.push(path);
                }
                _ => {}
            }
        }
        Ok(removed)
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

    /// Removes directory `path` so that a file can take its place, if it holds
    /// only files Bengal wrote (they are stale: nothing is both a file and a
    /// directory).
    fn remove_written_dir(&self, path: &str) -> Result<()> {
        let dir = self.dir.join(path);
        for entry in walkdir::WalkDir::new(&dir).min_depth(1) {
            let entry = entry.map_err(|err| Error::in_file(&dir, format!("could not read: {err}")))?;
            // Bengal writes only UTF-8 names: any other is not its own, even
            // one whose lossy form it wrote.
            let relative = entry.path().strip_prefix(&self.dir).unwrap_or(entry.path()).to_str().map(str::to_owned);
            let written = relative.is_some_and(|relative| self.written.contains(&relative));
            if !entry.file_type().is_dir() && !written {
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
    let _ = std::fs::remove_file(temp);
    let moved = write_new(temp, bytes)
        .map_err(|err| Error::io(temp, "write it", err))
        .and_then(|()| std::fs::rename(temp, target).map_err(|err| Error::io(target, "move it in place", err)));
    if moved.is_err() {
        let _ = std::fs::remove_file(temp);
    }
    moved
}

/// Writes `bytes` to a file created anew at `path`, never through a planted
/// symlink.
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::OpenOptions::new().write(true).create_new(true).open(path).and_then(|mut file| file.write_all(bytes))
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

    /// Makes `out` hold exactly `artifacts` among the files Bengal wrote.
    fn write_all(out: &Path, artifacts: &[Artifact]) -> Result<WriteReport> {
        let mut output = OutputDir::open(out, Sharing::Owned);
        let staging = output.staging()?;
        let staged = artifacts.iter().map(|artifact| staging.stage(artifact.clone())).collect::<Result<_>>()?;
        output.commit(staged, Scope::Whole)
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
    fn a_build_that_fails_before_its_commit_leaves_the_output_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("public");
        write_all(&out, &[bytes("a.html", "A")]).unwrap();
        {
            let staging = OutputDir::open(&out, Sharing::Owned).staging().unwrap();
            let _staged = [staging.stage(bytes("a.html", "changed")), staging.stage(bytes("new/b.html", "B"))];
        }
        assert_eq!(std::fs::read_to_string(out.join("a.html")).unwrap(), "A");
        let mut names: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        assert_eq!(names, [RECORD_FILE, "a.html"]);

        // A new output folder is written in place, and emptied again.
        let fresh = dir.path().join("fresh");
        {
            let staging = OutputDir::open(&fresh, Sharing::Owned).staging().unwrap();
            let _staged = [staging.stage(bytes("a.html", "A")), staging.stage(bytes("deep/er/b.html", "B"))];
            assert_eq!(std::fs::read_to_string(fresh.join("deep/er/b.html")).unwrap(), "B");
        }
        assert!(!fresh.exists(), "a first build that failed left its output directory");

        // A staging folder left by a build that died (its process is gone)
        // is removed by the next; one of a live build stays.
        let mut gone = std::process::Command::new("true").spawn().unwrap();
        gone.wait().unwrap();
        let left = out.join(format!(".bengal-staging.{}", gone.id()));
        std::fs::create_dir_all(&left).unwrap();
        std::fs::write(left.join("0"), "torn").unwrap();
        let live = out.join(".bengal-staging.1");
        std::fs::create_dir_all(&live).unwrap();
        drop(OutputDir::open(&out, Sharing::Owned).staging().unwrap());
        assert!(!left.exists(), "a dead build's staging folder stayed");
        assert!(live.exists(), "a live build's staging folder was removed");
        std::fs::remove_dir(&live).unwrap();

        // Two outputs of one path, a copy that fails: nothing left either.
        {
            let staging = OutputDir::open(&fresh, Sharing::Owned).staging().unwrap();
            let first = staging.stage(bytes("deep/a.html", "A")).unwrap();
            let hook = staging.stage(bytes(".git/hooks/pre-commit", "x")).unwrap_err();
            assert!(hook.message.contains("refusing to write into a .git folder"), "{hook:?}");
            let second = staging.stage(bytes("deep/a.html", "B")).unwrap_err();
            assert!(second.message.contains("two outputs would be written to deep/a.html"), "{second:?}");
            let source = dir.path().join("a.html");
            std::fs::write(&source, "copied").unwrap();
            let copy = staging.stage(Artifact::Copy { path: "deep/a.html".into(), source }).unwrap_err();
            assert!(copy.message.contains("two outputs would be written to deep/a.html"), "{copy:?}");
            assert_eq!(std::fs::read_to_string(fresh.join("deep/a.html")).unwrap(), "A");
            let missing = Artifact::Copy { path: "img/x.png".into(), source: dir.path().join("missing.png") };
            assert!(staging.stage(missing).unwrap_err().message.contains("could not copy it"));
            assert!(!fresh.join("img").exists());
            drop(first);
        }
        assert!(!fresh.exists(), "a first build that failed left its output directory");

        // Only what the build wrote: a file put there meanwhile stays.
        {
            let staging = OutputDir::open(&fresh, Sharing::Owned).staging().unwrap();
            let _staged = staging.stage(bytes("deep/b.html", "B")).unwrap();
            std::fs::write(fresh.join("deep/keep.txt"), "mine").unwrap();
        }
        let mut left: Vec<_> = walkdir::WalkDir::new(&fresh).into_iter().map(|e| e.unwrap().into_path()).collect();
        left.sort();
        assert_eq!(left, [fresh.clone(), fresh.join("deep"), fresh.join("deep/keep.txt")]);
    }

    #[test]
    fn a_copied_file_is_compared_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("logo.svg");
        std::fs::write(&source, "<svg/>").unwrap();
        let out = dir.path().join("public");
        let copy = Artifact::Copy { path: "logo.svg".into(), source: source.clone() };
        assert_eq!(write_all(&out, std::slice::from_ref(&copy)).unwrap().changed, ["logo.svg"]);
        assert_eq!(write_all(&out, std::slice::from_ref(&copy)).unwrap().unchanged, 1);
        std::fs::write(&source, "<svg></svg>").unwrap();
        assert_eq!(write_all(&out, &[copy]).unwrap().changed, ["logo.svg"]);
        assert_eq!(std::fs::read_to_string(out.join("logo.svg")).unwrap(), "<svg></svg>");
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
    fn a_shared_output_a_build_made_and_was_stopped_in_stays_bengals() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("deploy");
        let build = || {
            let mut output = OutputDir::open(&out, Sharing::Shared);
            let staging = output.staging()?;
            let staged = vec![staging.stage(bytes("a.html", "A"))?, staging.stage(bytes("b/index.html", "B"))?];
            output.commit(staged, Scope::Whole)
        };
        // Killed after writing in place, before its commit: nothing is dropped.
        let staging = OutputDir::open(&out, Sharing::Shared).staging().unwrap();
        std::mem::forget(staging.stage(bytes("a.html", "A")).unwrap());
        std::mem::forget(staging);
        assert_eq!(build().unwrap().changed, ["b/index.html"]);
        // Once committed, the record is the usual one: a stranger's file is refused.
        std::fs::write(out.join("c.html"), "mine").unwrap();
        let mut output = OutputDir::open(&out, Sharing::Shared);
        let staging = output.staging().unwrap();
        let err = output.commit(vec![staging.stage(bytes("c.html", "C")).unwrap()], Scope::Whole).unwrap_err();
        assert!(err.message.contains("Bengal did not write"), "{err:?}");
    }

    #[test]
    fn a_path_that_would_be_both_a_file_and_a_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        write_all(dir.path(), &[bytes("favicon.svg", "icon")]).unwrap();
        let both = [bytes("favicon.svg", "icon"), bytes("favicon.svg/index.html", "alias")];
        let err = write_all(dir.path(), &both).unwrap_err();
        assert!(err.message.contains("favicon.svg would be both a file and the folder of"), "{err:?}");
        assert_eq!(std::fs::read_to_string(dir.path().join("favicon.svg")).unwrap(), "icon");
    }

    #[test]
    fn a_name_that_is_not_utf8_is_never_taken_for_one_bengal_wrote() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        write_all(dir.path(), &[bytes("x/a\u{FFFD}", "Bengal's")]).unwrap();
        std::fs::remove_file(dir.path().join("x/a\u{FFFD}")).unwrap();
        let mine = dir.path().join("x").join(std::ffi::OsStr::from_bytes(b"a\xfe"));
        std::fs::write(&mine, "mine").unwrap();
        assert!(write_all(dir.path(), &[bytes("x", "file")]).is_err(), "removed a file of mine to make room");
        assert!(mine.exists());
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
        let sharing =
            |output: &str, explicit| check_output_dir(dir.path(), &dir.path().join(output), explicit).unwrap().1;
        assert_eq!(sharing(".bengal/serve", true), Sharing::Owned);
        assert_eq!(sharing("public", false), Sharing::Owned);
        assert_eq!(sharing("public", true), Sharing::Shared);
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

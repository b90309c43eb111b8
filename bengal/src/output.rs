//! Writing output: everything goes to a staging directory beside the output,
//! which replaces the previous output only once the whole build succeeded.
//! A failed build therefore leaves the last good site untouched.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A staging directory that becomes the output on [`Staging::commit`] and is
/// removed if dropped uncommitted (a failed build, an early `?`).
#[derive(Debug)]
pub struct Staging {
    output: PathBuf,
    staging: PathBuf,
    committed: bool,
}

impl Staging {
    /// Prepares a fresh staging directory for `output`, refusing outputs that
    /// would swallow the site itself.
    pub fn create(root: &Path, output: &Path) -> Result<Staging> {
        let root_abs = std::fs::canonicalize(root).map_err(|err| Error::io(root, "open the site", err))?;
        let cwd =
            std::env::current_dir().map_err(|err| Error::io(Path::new("."), "read the working directory", err))?;
        let output_abs = absolute_lexical(output, &cwd);
        if root_abs.starts_with(&output_abs) || output_abs.starts_with(root_abs.join("content")) {
            return Err(Error::new(format!("output directory {} would overwrite the site itself", output.display()))
                .with_hint("choose another `output_dir` in bengal.toml or another --output"));
        }
        let name = output_abs.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "public".into());
        let parent = output_abs.parent().unwrap_or(&root_abs).to_path_buf();
        std::fs::create_dir_all(&parent).map_err(|err| Error::io(&parent, "create the output's parent", err))?;
        let staging = parent.join(format!(".{name}.staging-{}", std::process::id()));
        if staging.exists() {
            std::fs::remove_dir_all(&staging)
                .map_err(|err| Error::io(&staging, "remove an old staging directory", err))?;
        }
        std::fs::create_dir(&staging).map_err(|err| Error::io(&staging, "create the staging directory", err))?;
        Ok(Staging { output: output_abs, staging, committed: false })
    }

    /// Writes `bytes` to `relative` (e.g. `blog/hello/index.html`) in staging.
    pub fn write(&self, relative: &str, bytes: &[u8]) -> Result<()> {
        let path = self.path_of(relative)?;
        create_parent(&path)?;
        std::fs::write(&path, bytes).map_err(|err| Error::io(&path, "write it", err))
    }

    /// Copies `source` to `relative` in staging.
    pub fn copy(&self, source: &Path, relative: &str) -> Result<()> {
        let path = self.path_of(relative)?;
        create_parent(&path)?;
        std::fs::copy(source, &path).map(drop).map_err(|err| Error::io(source, "copy it to the output", err))
    }

    fn path_of(&self, relative: &str) -> Result<PathBuf> {
        let relative = relative.trim_start_matches('/');
        if relative.split('/').any(|part| part == "..") {
            return Err(Error::new(format!("refusing to write outside the output directory: {relative}")));
        }
        Ok(self.staging.join(relative))
    }

    /// Replaces the output with the staging directory.
    pub fn commit(mut self) -> Result<()> {
        let retired = self.staging.with_file_name(format!(
            ".{}.old-{}",
            self.output.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            std::process::id()
        ));
        if self.output.exists() {
            std::fs::rename(&self.output, &retired)
                .map_err(|err| Error::io(&self.output, "move the previous output aside", err))?;
        }
        std::fs::rename(&self.staging, &self.output)
            .map_err(|err| Error::io(&self.output, "move the new output in place", err))?;
        self.committed = true;
        if retired.exists() {
            std::fs::remove_dir_all(&retired).map_err(|err| Error::io(&retired, "remove the previous output", err))?;
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: a leftover staging directory is removed by the next build.
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

fn create_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(parent) => std::fs::create_dir_all(parent).map_err(|err| Error::io(parent, "create the directory", err)),
        None => Ok(()),
    }
}

/// `path` made absolute against `base` (the working directory) without touching the disk (the output
/// may not exist yet), with `.` and `..` folded.
fn absolute_lexical(path: &Path, base: &Path) -> PathBuf {
    let joined = if path.is_absolute() { path.to_path_buf() } else { base.join(path) };
    let mut out = PathBuf::new();
    for component in joined.components() {
        match component {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_build_keeps_previous_output() {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("public");
        std::fs::create_dir(&output).unwrap();
        std::fs::write(output.join("index.html"), "old").unwrap();
        let staging = Staging::create(dir.path(), &output).unwrap();
        staging.write("index.html", b"new").unwrap();
        drop(staging);
        assert_eq!(std::fs::read_to_string(output.join("index.html")).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "staging left behind");
    }

    #[test]
    fn commit_replaces_output() {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("public");
        std::fs::create_dir(&output).unwrap();
        std::fs::write(output.join("stale.html"), "old").unwrap();
        let staging = Staging::create(dir.path(), &output).unwrap();
        staging.write("a/index.html", b"new").unwrap();
        staging.commit().unwrap();
        assert!(!output.join("stale.html").exists());
        assert_eq!(std::fs::read_to_string(output.join("a/index.html")).unwrap(), "new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn refuses_to_overwrite_the_site() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Staging::create(dir.path(), dir.path()).is_err());
        assert!(Staging::create(dir.path(), &dir.path().join("content/x")).is_err());
        assert!(Staging::create(dir.path(), &dir.path().join("..")).is_err());
        assert!(Staging::create(dir.path(), &dir.path().join("public/..")).is_err());
    }
}

//! The workspace and its fixture sites (`fixtures/NAME`), and copies of them
//! that a test or a scenario may change and a server may write into.

use std::path::{Path, PathBuf};

/// The workspace root: the parent of this crate's directory.
pub fn workspace_root() -> PathBuf {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR"));
    tests.parent().unwrap_or(tests).to_path_buf()
}

/// A fixture site by name, e.g. `quickstart`.
pub fn fixture(name: &str) -> PathBuf {
    workspace_root().join("fixtures").join(name)
}

/// Copies the fixture `name` into a fresh temporary directory, removed when
/// the returned value is dropped.
pub fn copy_fixture(name: &str) -> std::io::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    copy_dir(&fixture(name), dir.path())?;
    Ok(dir)
}

/// Copies the directory `from` into `to` (created if missing), recursively,
/// following symbolic links: a copy holds files and directories only.
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_has_every_file_of_the_fixture() {
        let copy = copy_fixture("quickstart").unwrap();
        for file in ["bengal.toml", "content/_index.md", "content/blog/hello-bengal.md"] {
            assert_eq!(
                std::fs::read(copy.path().join(file)).unwrap(),
                std::fs::read(fixture("quickstart").join(file)).unwrap(),
                "{file}"
            );
        }
    }

    #[test]
    fn a_missing_fixture_is_an_error() {
        assert!(copy_fixture("no-such-fixture").is_err());
    }
}

//! Helpers shared by the end-to-end tests.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// A fixture site by name, e.g. `quickstart`.
pub fn fixture(name: &str) -> PathBuf {
    workspace().join("fixtures").join(name)
}

/// The `bengal` binary, with colour and the environment's own settings off.
pub fn bengal() -> Command {
    let mut command =
        Command::cargo_bin("bengal").expect("the bengal binary is built (cargo xtask test builds it first)");
    command.env_remove("CLICOLOR_FORCE").env("NO_COLOR", "1");
    command
}

/// Copies a fixture into a fresh temporary directory, so a test may change it.
pub fn copy_fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(&fixture(name), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy file");
        }
    }
}

/// Builds `fixture` into a fresh output directory and returns it.
pub fn build_fixture(name: &str) -> tempfile::TempDir {
    let out = tempfile::tempdir().expect("temp dir");
    bengal().args(["build", "--root"]).arg(fixture(name)).arg("--output").arg(out.path()).assert().success();
    out
}

/// Reads an output file.
pub fn read(dir: &Path, relative: &str) -> String {
    std::fs::read_to_string(dir.join(relative)).unwrap_or_else(|err| panic!("read {relative}: {err}"))
}

/// A port nobody listens on right now, as `--port` wants it.
pub fn free_port() -> String {
    portpicker::pick_unused_port().expect("a free port").to_string()
}

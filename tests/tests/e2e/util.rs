//! Helpers of the end-to-end tests over the test-support library: the binary
//! as an `assert_cmd` command, fixtures copied or built, output read.

use std::path::Path;

use assert_cmd::Command;
pub use bengal_tests::fixture;

/// The `bengal` binary, with colour and the environment's own settings off.
pub fn bengal() -> Command {
    let mut command =
        Command::cargo_bin("bengal").expect("the bengal binary is built (cargo xtask test builds it first)");
    command.env_remove("CLICOLOR_FORCE").env("NO_COLOR", "1");
    command
}

/// A copy of the fixture `name` in a fresh temporary directory, which the
/// test may change; a test cannot go on without it.
pub fn copy_fixture(name: &str) -> tempfile::TempDir {
    bengal_tests::copy_fixture(name).unwrap_or_else(|err| panic!("copy the fixture {name}: {err}"))
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
    bengal_tests::free_port().expect("a free port").to_string()
}

/// `bengal build` of `site` into `out`, bounded by the deadline.
pub fn build_into(site: &Path, out: &Path) -> assert_cmd::assert::Assert {
    bengal().args(["build", "--root"]).arg(site).arg("--output").arg(out).timeout(crate::server::DEADLINE).assert()
}

//! Project automation, as ordinary Rust: `cargo xtask <task>`.
//!
//! - `test`: every test of the workspace and the chaos suite, the way CI runs them.
//! - `bench`: full-build time against Hugo on a generated site.
//! - `chaos`: the scenario suite (`scenarios/*.toml`) against the real server.

mod bench;
mod chaos;
mod probe;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("bench") => bench::BenchArgs::parse(&args[1..]).and_then(|args| bench::run(&args)),
        Some("chaos") => chaos::ChaosArgs::parse(&args[1..]).and_then(|args| chaos::run(&args)),
        _ => {
            eprintln!(
                "usage: cargo xtask test | chaos [FILTER] [--repeat N] [--json FILE] [--keep-going] [--server 'CMD {{port}}'] | bench [--pages N] [--runs N] [--serve-only]"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root, from this crate's manifest directory.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Where cargo puts what it builds: `CARGO_TARGET_DIR`, else `target/`.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

/// Runs every test: the end-to-end tests need the real binary, so it is
/// built first; then the chaos suite.
fn test() -> Result<(), String> {
    cargo(&["build", "--package", "bengal", "--bins"])?;
    cargo(&["test", "--workspace"])?;
    chaos::run(&chaos::ChaosArgs::default_suite())
}

fn cargo(args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(cargo)
        .args(args)
        .current_dir(workspace_root())
        .status()
        .map_err(|err| format!("could not run cargo: {err}"))?;
    if status.success() { Ok(()) } else { Err(format!("`cargo {}` failed ({status})", args.join(" "))) }
}

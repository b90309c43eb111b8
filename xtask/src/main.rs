//! Project automation, as ordinary Rust: `cargo xtask <task>` (see
//! [`flags::USAGE`]).
//!
//! - `test`: every test of the workspace and the chaos suite, the way CI runs them.
//! - `chaos`: the scenario suite (`scenarios/*.toml`) against the real server.
//! - `bench`: build and serve timings on a generated site, against Hugo.
//! - `zola-check`: does a Zola site build as it is (by hand, outside CI).
//!
//! `main` parses the flags, runs one task, and maps the result to the exit
//! status in one place: 0 done, 1 the task failed, 2 a usage error.

mod bench;
mod chaos;
mod flags;
mod zola_check;

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use bengal_tests::workspace_root;

fn main() -> ExitCode {
    let task = match flags::parse(std::env::args().skip(1)) {
        Ok(task) => task,
        Err(err) => {
            eprintln!("xtask: {err}\n\n{}", flags::USAGE);
            return ExitCode::from(2);
        }
    };
    let result = match task {
        flags::Task::Test => test(),
        flags::Task::Chaos(chaos) => chaos::run(&chaos),
        flags::Task::Bench(bench) => bench::run(&bench),
        flags::Task::ZolaCheck(check) => zola_check::run(&check),
        flags::Task::Help => {
            println!("{}", flags::USAGE);
            Ok(())
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
    chaos::run(&flags::Chaos::default())
}

/// Runs cargo (the one running this task) in the workspace root.
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

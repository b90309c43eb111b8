//! The `bengal` binary: parse the command line, run one command, end the
//! process the way it says, in one place (0 ok, 1 site error, 2 usage error,
//! or death by the signal that stopped a server). No other file ends the
//! process.

mod cli;
mod cmd;
mod ui;

use std::process::ExitCode;

use bengal::lifecycle::{Exit, SignalKind};
use clap::Parser;

/// mimalloc, not the system's allocator: a large build makes and frees
/// millions of small values from two threads, and glibc's malloc spent a
/// quarter of a 100,000-page build consolidating its free lists.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let ui = ui::Ui::new(cli.quiet, cli.verbose);
    let exit = cmd::run(cli.command, &ui).unwrap_or_else(|err| {
        ui.error(&err);
        Exit::Code(1)
    });
    ui::output::flush(ui::FLUSH_WAIT);
    match exit {
        Exit::Code(code) => ExitCode::from(code),
        Exit::Signal(signal) => die_by(signal),
    }
}

/// Ends the process by `signal` with its default action, so that the parent
/// sees "killed by SIGTERM" (status 143 in a shell), not an exit code.
/// SIGQUIT's core dump is turned off first: the stop was asked for.
fn die_by(signal: SignalKind) -> ! {
    use nix::sys::signal::{SigHandler, raise};
    if signal == SignalKind::Quit {
        let _ = nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0);
    }
    // SAFETY: restoring the default disposition installs no Rust code as a handler.
    let _ = unsafe { nix::sys::signal::signal(signal.number(), SigHandler::SigDfl) };
    let _ = raise(signal.number());
    std::process::exit(128 + signal.number() as i32)
}

//! One module per subcommand.

mod build;
mod cleanup;
mod new;
mod serve;

use bengal::Result;
use bengal::lifecycle::Exit;

use crate::cli::{Command, NewCommand};
use crate::ui::Ui;

/// Runs one command and says how the process is to end; an error is a
/// problem with the site (exit 1), printed by `main`.
pub fn run(command: Command, ui: &Ui) -> Result<Exit> {
    let success = |()| Exit::Code(0);
    match command {
        Command::New(NewCommand::Site { name }) => new::site(&name, ui).map(success),
        Command::Build(args) => build::run(&args, ui).map(success),
        Command::Serve(args) => serve::run(&args, ui),
        Command::Cleanup(args) => cleanup::run(&args, ui).map(success),
    }
}

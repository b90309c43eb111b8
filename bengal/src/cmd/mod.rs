//! One module per subcommand.

mod build;
mod cleanup;
mod new;
mod serve;

use bengal::Result;

use crate::cli::{Command, NewCommand};
use crate::ui::Ui;

/// Runs one command.
pub fn run(command: Command, ui: &Ui) -> Result<()> {
    match command {
        Command::New(NewCommand::Site { name }) => new::site(&name, ui),
        Command::Build(args) => build::run(&args, ui),
        Command::Serve(args) => serve::run(&args, ui),
        Command::Cleanup(args) => cleanup::run(&args, ui),
    }
}

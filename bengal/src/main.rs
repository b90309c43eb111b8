//! The `bengal` binary: parse the command line, run one command, map the
//! result to an exit code in one place (0 ok, 1 site error, 2 usage error).

mod cli;
mod cmd;
mod ui;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let ui = ui::Ui::new(cli.quiet, cli.verbose);
    let code = match cmd::run(cli.command, &ui) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            ui.error(&err);
            ExitCode::from(1)
        }
    };
    ui::output::flush(ui::FLUSH_WAIT);
    code
}

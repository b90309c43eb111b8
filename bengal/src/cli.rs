//! The command line, as typed. Usage errors exit with 2 (clap's default).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Bengal: a static site generator whose dev server never leaves a process or a port behind.
#[derive(Debug, Parser)]
#[command(name = "bengal", version, propagate_version = true)]
pub struct Cli {
    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more about what is done.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create something new.
    #[command(subcommand)]
    New(NewCommand),
    /// Build the site into its output directory.
    Build(BuildArgs),
}

/// `bengal new …`.
#[derive(Debug, Subcommand)]
pub enum NewCommand {
    /// Create a new site in a new directory.
    Site {
        /// Directory to create (must not exist, or be empty).
        name: PathBuf,
    },
}

/// `bengal build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The site's root directory (where bengal.toml is).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Include pages marked `draft = true`.
    #[arg(long)]
    pub drafts: bool,
    /// Write here instead of the configured output_dir.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

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
    /// Serve the site with live reload, rebuilding as files change.
    Serve(ServeArgs),
    /// Find and stop stale or orphaned Bengal servers, and remove stale pid files.
    Cleanup(CleanupArgs),
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

/// `bengal serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The site's root directory (where bengal.toml is).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Address to listen on: `localhost` (127.0.0.1 and ::1) or an IP address.
    #[arg(long, default_value = "localhost")]
    pub host: String,
    /// Port to listen on [default: 5173, or the next free one up to 5183].
    /// An explicit port is used or the server fails, as with --strict-port.
    #[arg(long, short)]
    pub port: Option<u16>,
    /// Fail instead of trying the next ports when the port is taken.
    #[arg(long)]
    pub strict_port: bool,
    /// Open the site in the default browser once it is served.
    #[arg(long)]
    pub open: bool,
    /// Include pages marked `draft = true`.
    #[arg(long)]
    pub drafts: bool,
    /// Also accept requests for this host name (repeatable), e.g. a tunnel's.
    #[arg(long = "allowed-host", value_name = "HOST")]
    pub allowed_hosts: Vec<String>,
    /// Stop a Bengal server already serving this site (or holding the port) without asking.
    #[arg(long)]
    pub replace: bool,
    /// Keep running when the parent process (terminal, editor) exits.
    #[arg(long)]
    pub no_parent_watch: bool,
}

/// `bengal cleanup`.
#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// The site's root directory (where bengal.toml is).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Also look at what holds this port.
    #[arg(long, short)]
    pub port: Option<u16>,
    /// Every Bengal server of the current user, whatever site it serves.
    #[arg(long)]
    pub all: bool,
    /// Stop without asking (for scripts).
    #[arg(long)]
    pub force: bool,
    /// Only show what would be done.
    #[arg(long)]
    pub dry_run: bool,
}

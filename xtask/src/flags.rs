//! Every task's flags, parsed in one place against one usage text (as
//! rust-analyzer's xtask does with `xflags`, by hand here: three tasks do not
//! need a dependency). A flag that is unknown, repeated where it cannot be,
//! or missing its value is a usage error: `main` prints it with [`USAGE`]
//! and exits 2.

use std::path::PathBuf;

/// The one usage text, for every task.
pub const USAGE: &str = "\
usage: cargo xtask <task>
  test                      every test of the workspace, then the chaos suite (as CI runs them)
  chaos [FILTER] [--repeat N] [--json FILE] [--keep-going] [--server 'CMD {port}']
                            the scenarios (scenarios/*.toml) whose name contains FILTER
  bench [--pages N,N,..] [--runs N] [--serve-only] [--baseline BIN] [--zola BIN] [--out DIR]
                            build time and peak memory on generated sites of each size, against Zola
                            and Hugo when there, and another bengal binary (an older commit's) with
                            --baseline, builds written to DIR (a tmpfs keeps the disk out of it);
                            then the dev server's times on the sites of at most 10,000 pages
  zola-check SITE [--zola BIN] [--as-is]
                            does a Zola site build with Bengal (by hand, on Zola's test_site and docs):
                            its content under the built-in theme, or with --as-is (needs --zola) its own
                            templates and theme, each page's text compared with Zola's
  help                      this text";

/// What to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Task {
    /// `test`: every test, then the chaos suite.
    Test,
    /// `chaos`: the scenario suite.
    Chaos(Chaos),
    /// `bench`: build and serve timings.
    Bench(Bench),
    /// `zola-check`: a Zola site built as it is.
    ZolaCheck(ZolaCheck),
    /// `help`, `--help`, `-h`: print [`USAGE`].
    Help,
}

/// `cargo xtask zola-check`.
#[derive(Debug, PartialEq, Eq)]
pub struct ZolaCheck {
    /// The Zola site.
    pub site: PathBuf,
    /// A `zola` binary, to compare URLs, dangling links and (with `as_is`)
    /// each page's visible text with Zola's build.
    pub zola: Option<PathBuf>,
    /// Build the site with its own templates and theme (issue 11) instead of
    /// its content under the built-in theme (issue 10); needs `zola`.
    pub as_is: bool,
}

/// `cargo xtask chaos`.
#[derive(Debug, PartialEq, Eq)]
pub struct Chaos {
    /// Only scenarios whose name contains this (the negative controls run
    /// only with the whole suite).
    pub filter: Option<String>,
    /// How many times to run the suite.
    pub repeat: usize,
    /// Where to write every outcome as JSON.
    pub json: Option<PathBuf>,
    /// Run on after a failed scenario instead of stopping at the first.
    pub keep_going: bool,
    /// Another dev server to run the portable scenarios against: a shell
    /// command in which `{port}` is replaced.
    pub server: Option<String>,
}

impl Default for Chaos {
    /// The whole suite, once, stopping at the first failure: what
    /// `cargo xtask test` runs.
    fn default() -> Chaos {
        Chaos { filter: None, repeat: 1, json: None, keep_going: false, server: None }
    }
}

/// `cargo xtask bench`.
#[derive(Debug, PartialEq, Eq)]
pub struct Bench {
    /// How many pages each generated site has (each at least 1).
    pub pages: Vec<usize>,
    /// How many timed runs of each build (at least 1).
    pub runs: usize,
    /// Only the dev server part (the build comparison takes minutes).
    pub serve_only: bool,
    /// Another `bengal` binary (an older commit's) timed on the same site in
    /// the same run, to compare against.
    pub baseline: Option<PathBuf>,
    /// A `zola` binary, when not on `PATH` (Zola is not on crates.io).
    pub zola: Option<PathBuf>,
    /// Where the builds write (default `target/bench/out`).
    pub out: Option<PathBuf>,
}

impl Default for Bench {
    fn default() -> Bench {
        Bench { pages: vec![10_000], runs: 5, serve_only: false, baseline: None, zola: None, out: None }
    }
}

/// What was wrong with the command line; shown above [`USAGE`].
#[derive(Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses the arguments after `cargo xtask`.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Task, UsageError> {
    let mut args = args.into_iter();
    let task = args.next().ok_or_else(|| UsageError("no task given".to_owned()))?;
    match task.as_str() {
        "test" => match args.next() {
            None => Ok(Task::Test),
            Some(extra) => Err(UsageError(format!("test: {}", unexpected(&extra)))),
        },
        "chaos" => parse_chaos(args).map(Task::Chaos).map_err(|err| UsageError(format!("chaos: {err}"))),
        "bench" => parse_bench(args).map(Task::Bench).map_err(|err| UsageError(format!("bench: {err}"))),
        "zola-check" => {
            parse_zola_check(args).map(Task::ZolaCheck).map_err(|err| UsageError(format!("zola-check: {err}")))
        }
        "help" | "--help" | "-h" => Ok(Task::Help),
        other => Err(UsageError(format!("unknown task `{other}`"))),
    }
}

fn parse_chaos(mut args: impl Iterator<Item = String>) -> Result<Chaos, UsageError> {
    let mut chaos = Chaos::default();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--repeat" => chaos.repeat = number(&mut args, "--repeat", 0)?,
            "--json" => chaos.json = Some(value(&mut args, "--json", "a file")?.into()),
            "--keep-going" => chaos.keep_going = true,
            "--server" => chaos.server = Some(value(&mut args, "--server", "a command with {port}")?),
            filter if !filter.starts_with('-') && chaos.filter.is_none() => chaos.filter = Some(filter.to_owned()),
            other => return Err(unexpected(other)),
        }
    }
    Ok(chaos)
}

fn parse_zola_check(mut args: impl Iterator<Item = String>) -> Result<ZolaCheck, UsageError> {
    let mut site = None;
    let mut zola = None;
    let mut as_is = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--zola" => zola = Some(value(&mut args, "--zola", "the zola binary")?.into()),
            "--as-is" => as_is = true,
            path if !path.starts_with('-') && site.is_none() => site = Some(PathBuf::from(path)),
            other => return Err(unexpected(other)),
        }
    }
    let site = site.ok_or_else(|| UsageError("the site's directory is missing".to_owned()))?;
    if as_is && zola.is_none() {
        // Its checks compare with Zola's build: without one it would only build.
        return Err(UsageError("--as-is needs --zola BIN".to_owned()));
    }
    Ok(ZolaCheck { site, zola, as_is })
}

fn parse_bench(mut args: impl Iterator<Item = String>) -> Result<Bench, UsageError> {
    let mut bench = Bench::default();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--pages" => {
                let list = value(&mut args, "--pages", "numbers of pages, e.g. 1000,10000")?;
                let sizes: Option<Vec<usize>> =
                    list.split(',').map(|n| n.trim().parse().ok().filter(|&n: &usize| n >= 1)).collect();
                bench.pages = sizes.ok_or_else(|| {
                    UsageError(format!("--pages takes numbers of at least 1, separated by commas, not `{list}`"))
                })?;
            }
            "--zola" => bench.zola = Some(value(&mut args, "--zola", "a zola binary")?.into()),
            "--out" => bench.out = Some(value(&mut args, "--out", "a directory")?.into()),
            "--runs" => bench.runs = number(&mut args, "--runs", 1)?,
            "--serve-only" => bench.serve_only = true,
            "--baseline" => bench.baseline = Some(value(&mut args, "--baseline", "a bengal binary")?.into()),
            other => return Err(unexpected(other)),
        }
    }
    Ok(bench)
}

/// An argument that is neither a known flag nor an expected value.
fn unexpected(arg: &str) -> UsageError {
    if arg.starts_with('-') {
        UsageError(format!("unknown flag `{arg}`"))
    } else {
        UsageError(format!("unexpected argument `{arg}`"))
    }
}

/// The value after `flag`.
fn value(args: &mut impl Iterator<Item = String>, flag: &str, what: &str) -> Result<String, UsageError> {
    args.next().ok_or_else(|| UsageError(format!("{flag} takes {what}")))
}

/// The number after `flag`, at least `least`.
fn number(args: &mut impl Iterator<Item = String>, flag: &str, least: usize) -> Result<usize, UsageError> {
    let text = value(args, flag, "a number")?;
    match text.parse() {
        Ok(number) if number >= least => Ok(number),
        _ if least > 0 => Err(UsageError(format!("{flag} takes a number of at least {least}, not `{text}`"))),
        _ => Err(UsageError(format!("{flag} takes a number, not `{text}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_line(line: &str) -> Result<Task, UsageError> {
        parse(line.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn every_task_with_its_flags() {
        assert_eq!(parse_line("test"), Ok(Task::Test));
        assert_eq!(parse_line("chaos"), Ok(Task::Chaos(Chaos::default())));
        assert_eq!(
            parse(
                [
                    "chaos",
                    "sig",
                    "--repeat",
                    "3",
                    "--json",
                    "out.json",
                    "--keep-going",
                    "--server",
                    "hugo server -p {port}"
                ]
                .map(str::to_owned)
            ),
            Ok(Task::Chaos(Chaos {
                filter: Some("sig".to_owned()),
                repeat: 3,
                json: Some("out.json".into()),
                keep_going: true,
                server: Some("hugo server -p {port}".to_owned()),
            }))
        );
        assert_eq!(
            parse_line("bench --pages 50,1000 --runs 2 --serve-only --baseline old/bengal --zola z --out /dev/shm/b"),
            Ok(Task::Bench(Bench {
                pages: vec![50, 1000],
                runs: 2,
                serve_only: true,
                baseline: Some("old/bengal".into()),
                zola: Some("z".into()),
                out: Some("/dev/shm/b".into()),
            }))
        );
        assert_eq!(parse_line("bench"), Ok(Task::Bench(Bench::default())));
        assert_eq!(
            parse_line("zola-check site --zola zola --as-is"),
            Ok(Task::ZolaCheck(ZolaCheck { site: "site".into(), zola: Some("zola".into()), as_is: true }))
        );
        assert_eq!(
            parse_line("zola-check site"),
            Ok(Task::ZolaCheck(ZolaCheck { site: "site".into(), zola: None, as_is: false }))
        );
        assert_eq!(parse_line("--help"), Ok(Task::Help));
    }

    #[test]
    fn what_is_not_in_the_usage_is_an_error_naming_it() {
        for (line, named) in [
            ("", "no task"),
            ("deploy", "`deploy`"),
            ("test --release", "`--release`"),
            ("chaos --repeats 2", "chaos: unknown flag `--repeats`"),
            ("chaos sig term", "`term`"),
            ("chaos --repeat", "--repeat takes a number"),
            ("chaos --repeat many", "`many`"),
            ("bench --runs 0", "bench: --runs takes a number of at least 1"),
            ("bench --pages 0", "at least 1"),
            ("bench fast", "`fast`"),
            ("zola-check site --as-is", "zola-check: --as-is needs --zola BIN"),
            ("zola-check --zola zola", "the site's directory is missing"),
        ] {
            let err = parse_line(line).unwrap_err();
            assert!(err.0.contains(named), "{line:?}: {err}");
        }
    }
}

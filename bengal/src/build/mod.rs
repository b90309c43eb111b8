//! The generator: a site's files in, its output written. A plain pipeline of
//! data with no global state, so that the dev server can re-run any stage
//! for one file:
//!
//! 1. [`config`] reads `bengal.toml`;
//! 2. [`content`] discovers `content/` and parses front matter ([`frontmatter`]);
//! 3. [`markdown`] turns each page body into HTML, resolving internal links and
//!    highlighting code ([`highlight`], with the site's own [`grammars`]);
//! 4. [`site`] assembles sections, taxonomies and pagination into a [`Site`];
//! 5. [`render`] applies the Tera [`templates`] (resizing images as
//!    templates ask, [`images`]) and hands each file to [`output`], which
//!    stages it and, once every file is rendered, moves in place only the
//!    files whose bytes changed; [`search`] makes Zola's search index and [`sass`]
//!    compiles stylesheets when the site asks for them.
//!
//! Imports nothing of `serve`, `lifecycle` or `servers`.

pub(crate) mod config;
pub(crate) mod content;
pub(crate) mod frontmatter;
pub(crate) mod functions;
pub(crate) mod grammars;
pub(crate) mod highlight;
pub(crate) mod html;
pub(crate) mod images;
pub(crate) mod markdown;
pub(crate) mod output;
mod recursion;
pub(crate) mod render;
pub mod rush;
pub(crate) mod sass;
mod scaffold;
pub(crate) mod search;
pub(crate) mod shortcodes;
pub(crate) mod site;
pub(crate) mod templates;
mod zola_config;

pub use scaffold::new_site;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::error::Result;
use output::{OutputDir, Scope, WriteReport};
pub use site::BuildOptions;
use site::Site;
use templates::Templates;

/// What a finished build produced, for the one-line summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSummary {
    /// Pages rendered (not counting list, taxonomy and alias pages).
    pub pages: usize,
    /// Sections rendered, the home page among them.
    pub sections: usize,
    /// Files copied: `static/`, co-located and loose assets.
    pub assets: usize,
    /// Where the configuration came from, and what of it Bengal ignores.
    pub config: ConfigNotes,
    /// Where the output went.
    pub output: PathBuf,
    /// Wall time of the whole build.
    pub elapsed: Duration,
    /// Which files changed.
    pub report: WriteReport,
    /// Wall time of each stage, in order, for `--verbose`.
    pub stages: Vec<(&'static str, Duration)>,
}

/// What the author is told about the configuration once: which file was
/// read, and the keys of a Zola configuration Bengal does not honour yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigNotes {
    /// `bengal.toml`, `zola.toml` or `config.toml`.
    pub file: &'static str,
    /// Keys that ask for what Bengal does not do yet.
    pub ignored: Vec<String>,
    /// The configured theme, when `themes/` does not have it.
    pub missing_theme: Option<String>,
}

impl ConfigNotes {
    pub(crate) fn of(config: &config::Config) -> ConfigNotes {
        ConfigNotes { file: config.file, ignored: config.ignored.clone(), missing_theme: config.missing_theme.clone() }
    }
}

/// A finished full build: what was built, kept by the dev server to rebuild
/// from, and what to report.
pub struct Built {
    /// The site as built.
    pub(crate) site: Site,
    /// The templates it was rendered with.
    pub(crate) templates: Templates,
    /// The output directory and its record of what Bengal wrote.
    pub(crate) output: OutputDir,
    /// What to report.
    pub summary: BuildSummary,
}

/// The build sequence, the one place its stages are put in order: load the
/// site (reusing `previous`'s Markdown where a body is unchanged), load the
/// templates, check the output directory, render in memory, write what
/// changed. A failed build leaves the previous output untouched.
///
/// `progress` is told `(done, total)` as output files are rendered; the
/// pages `rush` asks for are rendered first.
pub fn run(
    options: &BuildOptions,
    previous: Option<&Site>,
    progress: &(dyn Fn(usize, usize) + Sync),
    rush: Option<&rush::Rush>,
) -> Result<Built> {
    let started = Instant::now();
    let mut stages = Vec::new();
    let mut lap = Instant::now();
    let mut stage = |name: &'static str| stages.push((name, std::mem::replace(&mut lap, Instant::now()).elapsed()));
    let config = Site::load_config(options)?;
    let templates = Templates::load(&options.root, &config)?;
    let site = Site::load_with(options, config, &templates, previous)?;
    stage("load content and render markdown");
    let output = site.output_dir(options.output.as_deref());
    let (output, sharing) = output::check_output_dir(&options.root, &output, options.output.is_some())?;
    stage("load templates");
    let mut output_dir = OutputDir::open(&output, sharing);
    let staging = output_dir.staging()?;
    let staged = render::render_site(&site, &templates, &staging, progress, rush)?;
    stage("render and stage files");
    let assets = staged.iter().filter(|file| file.copied).count();
    let report = output_dir.commit(staged, Scope::Whole)?;
    stage("move changed files in place");
    let summary = BuildSummary {
        config: ConfigNotes::of(&site.config),
        pages: site.pages.len(),
        sections: site.sections.len(),
        assets,
        report,
        output,
        elapsed: started.elapsed(),
        stages,
    };
    Ok(Built { site, templates, output: output_dir, summary })
}

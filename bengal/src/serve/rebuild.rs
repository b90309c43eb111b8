//! Incremental rebuilds: a batch of changed paths becomes the smallest set of
//! output files that can differ, rendered and written alone.
//!
//! - `bengal.toml`, a deleted or added file, a moved page, or a folder of
//!   files moved into `content/` (which brings no event for its files):
//!   everything (the Markdown of unchanged bodies is still reused).
//! - a template: the outputs whose template needs it (parents, imports,
//!   includes).
//! - a static file: that file, copied alone (and the outputs of templates
//!   that fingerprint static files with `cachebust`).
//! - a file read by `load_data` or `get_hash`: the outputs of templates
//!   that call those functions; everything when a shortcode does.
//! - an edit to a page: that page and the outputs of templates that call
//!   `get_page`, `get_section` or `get_taxonomy`; when what lists show of it
//!   changed, also its neighbours and the list pages that show it.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::build::content;
use crate::build::output::{OutputDir, Scope, WriteReport};
use crate::build::render::{self, Job, section_paginate_by};
use crate::build::rush::Rush;
use crate::build::site::{Page, Site};
use crate::build::templates::{DATA_FUNCTIONS, SITE_FUNCTIONS, Templates};
use crate::build::{self, BuildOptions, ConfigNotes};
use crate::error::Result;
use crate::paths::{self, CONTENT_DIR, STATIC_DIR, TEMPLATES_DIR};
use crate::serve::resume::Stamp;
use crate::serve::watch::Batch;

/// The last good build, kept to rebuild from.
struct Built {
    site: Site,
    templates: Templates,
    output: OutputDir,
}

/// Rebuilds one site into one output directory.
pub struct Rebuilder {
    options: BuildOptions,
    last: Option<Built>,
    /// The changes of the rebuilds that failed since the last good one:
    /// asked for again with each batch until one succeeds, so that a file
    /// still broken is never taken for fixed because another was saved.
    failed: BTreeSet<PathBuf>,
    /// Wall time of each step of the last rebuild, for `--verbose`.
    pub timings: Vec<(&'static str, std::time::Duration)>,
    /// The requests the next full build renders first; closed once it ends.
    rush: Option<Arc<Rush>>,
    /// What the output was last built from, kept up to date by each
    /// rebuild; `unrecorded` until written to `.bengal/` ([`Rebuilder::record`]).
    stamp: Option<Stamp>,
    unrecorded: bool,
    /// Set by a full build that succeeded, which took a stamp of its own.
    built_whole: bool,
    /// The stamp the server took at start, for the first full build: the
    /// site is walked once, not twice.
    first_stamp: Option<Stamp>,
}

/// What a batch of changes asks for.
#[derive(Debug, Default, PartialEq, Eq)]
struct Plan {
    everything: bool,
    templates: BTreeSet<String>,
    pages: BTreeSet<PathBuf>,
    statics: BTreeSet<PathBuf>,
    /// A Sass file changed: the stylesheets are compiled again.
    sass: bool,
    /// A file read by `load_data` or `get_hash` changed.
    data: bool,
}

impl Rebuilder {
    /// A rebuilder that has built nothing yet.
    pub fn new(options: BuildOptions) -> Self {
        Rebuilder {
            options,
            last: None,
            failed: BTreeSet::new(),
            timings: Vec::new(),
            rush: None,
            stamp: None,
            unrecorded: false,
            built_whole: false,
            first_stamp: None,
        }
    }

    /// The next full build records `stamp`, taken before it (by the server,
    /// to compare with the last record).
    pub fn stamped(mut self, stamp: Option<Stamp>) -> Self {
        self.first_stamp = stamp;
        self
    }

    /// The next full build renders first the pages `rush` asks for, and
    /// closes it when it ends.
    pub fn rushing(mut self, rush: Arc<Rush>) -> Self {
        self.rush = Some(rush);
        self
    }

    /// The site root.
    pub fn root(&self) -> &Path {
        &self.options.root
    }

    /// Whether a build has succeeded yet.
    pub fn has_built(&self) -> bool {
        self.last.is_some()
    }

    /// Files and folders the last good build read that may lie outside the
    /// folders the watcher watches as a whole, canonical: data files read
    /// by `load_data` (e.g. in `data/`) and the site's extra grammars.
    pub fn extra_inputs(&self) -> Vec<PathBuf> {
        let mut inputs = self.data_files();
        inputs.extend(self.grammars());
        inputs
    }

    fn data_files(&self) -> Vec<PathBuf> {
        let Some(last) = &self.last else { return Vec::new() };
        last.templates.data_files().iter().map(|file| paths::resolve_path(file)).collect()
    }

    /// The grammar files and folders the configuration names, which are
    /// read only when code is highlighted.
    fn grammars(&self) -> Vec<PathBuf> {
        let Some(last) = self.last.as_ref().filter(|last| last.site.config.markdown.highlight_code) else {
            return Vec::new();
        };
        let markdown = &last.site.config.markdown;
        let named = markdown.extra_grammars.iter().chain(&markdown.extra_syntax_dirs);
        named.map(|path| paths::resolve_path(&self.options.root.join(path))).collect()
    }

    /// What to tell about the configuration of the last good build.
    pub fn config_notes(&self) -> Option<ConfigNotes> {
        self.last.as_ref().map(|last| ConfigNotes::of(&last.site.config))
    }

    /// Builds everything; on error the last good build stays in place.
    pub fn full(&mut self) -> Result<WriteReport> {
        self.full_reusing(true)
    }

    /// Builds everything, reusing the last build's rendered Markdown where a
    /// body and its shortcodes are unchanged when `reuse`.
    fn full_reusing(&mut self, reuse: bool) -> Result<WriteReport> {
        let previous = self.last.as_ref().filter(|_| reuse).map(|b| &b.site);
        let stamp = self.first_stamp.take().or_else(|| Stamp::take(&self.options));
        // Closed however the build ends, a panic included: its asks fall back.
        let rush = self.rush.take().map(Rush::closed_on_drop);
        let built = build::run(&self.options, previous, &|_, _| {}, rush.as_deref())?;
        self.stamp = stamp;
        self.unrecorded = self.stamp.is_some();
        self.built_whole = true;
        self.last = Some(Built { site: built.site, templates: built.templates, output: built.output });
        Ok(built.summary.report)
    }

    /// Rebuilds what `batch`, and the batches of failed rebuilds before it,
    /// can have changed.
    pub fn apply(&mut self, batch: &Batch) -> Result<WriteReport> {
        let mut batch = batch.clone();
        batch.paths.append(&mut self.failed);
        // Seen before the rebuild reads them: a save meanwhile makes the
        // stamp stale, never wrong. A full build takes a stamp of its own.
        let mut kept = self.stamp.take();
        let looked = kept.as_ref().map(|stamp| stamp.look(&batch.paths));
        self.built_whole = false;
        let result = self.rebuild(&batch);
        if result.is_err() {
            self.failed = batch.paths;
        }
        if !self.built_whole {
            if result.is_ok() {
                match (looked.flatten(), kept.as_mut()) {
                    (Some(looked), Some(stamp)) => stamp.update(looked),
                    // A symlink appeared: no stamp can vouch for its target.
                    _ => kept = None,
                }
                self.unrecorded = kept.is_some();
            }
            self.stamp = kept;
        }
        result
    }

    /// Whether the last good build is not recorded in `.bengal/` yet.
    pub fn unrecorded(&self) -> bool {
        self.unrecorded
    }

    /// Writes the stamp of the last good build to `.bengal/`, if not yet
    /// done: it walks no file but hashes every input's path.
    pub fn record(&mut self) {
        if std::mem::take(&mut self.unrecorded)
            && let Some(stamp) = &mut self.stamp
        {
            stamp.save(&self.options.root);
        }
    }

    fn rebuild(&mut self, batch: &Batch) -> Result<WriteReport> {
        self.timings.clear();
        let mut lap = std::time::Instant::now();
        let mut step = |timings: &mut Vec<_>, name: &'static str| {
            timings.push((name, std::mem::replace(&mut lap, std::time::Instant::now()).elapsed()));
        };
        let mut plan = classify(&self.options.root, batch, &self.data_files(), &self.grammars());
        let Some(last) = self.last.as_mut() else { return self.full() };
        if plan.everything {
            return self.full();
        }
        if plan == Plan::default() {
            return Ok(WriteReport::default());
        }
        let mut jobs: Vec<Job> = Vec::new();
        if !plan.templates.is_empty() {
            let templates = Templates::load(&self.options.root, &last.site.config)?;
            // Only what is rendered again reads data files anew: the others'
            // stay known, so a change to one is still seen.
            templates.remember_data_files(&last.templates);
            jobs.extend(jobs_where(&last.site, &templates, |name| {
                templates.closure(name).iter().any(|t| plan.templates.contains(t))
            })?);
            // Bodies that call a changed shortcode are rendered again as if edited.
            let Some(users) = last.site.shortcode_users(&templates) else { return self.full() };
            plan.pages.extend(users.into_iter().map(|i| self.options.root.join(&last.site.pages[i].source.file)));
            last.templates = templates;
        }
        if plan.data {
            // A body's shortcode read it: no rendered body can be trusted.
            if last.templates.shortcodes_read_data() {
                return self.full_reusing(false);
            }
            jobs.extend(jobs_mentioning(&last.site, &last.templates, &DATA_FUNCTIONS)?);
        }
        if !plan.pages.is_empty() {
            match edit_pages(&self.options, &last.site, &last.templates, &plan.pages)? {
                Edit::Structural => return self.full(),
                Edit::Pages { site, jobs: page_jobs } => {
                    last.site = *site;
                    jobs.extend(page_jobs);
                }
            }
        }
        if plan.sass {
            jobs.push(Job::Sass);
        }
        let static_dir = self.options.root.join(STATIC_DIR);
        let published = |source: &&PathBuf| {
            render::is_published_static(source.strip_prefix(&static_dir).unwrap_or(source), &last.site.config)
        };
        for source in plan.statics.iter().filter(published) {
            let shown = source.strip_prefix(&self.options.root).unwrap_or(source);
            paths::check_source(&self.options.root, source, shown)?;
            let dest = paths::output_path(&self.options.root, &static_dir, source)?;
            jobs.push(Job::Copy { source: source.clone(), dest });
        }
        if !plan.statics.is_empty() {
            jobs.extend(jobs_mentioning(&last.site, &last.templates, &["cachebust"])?);
        }
        let mut seen = HashSet::new();
        jobs.retain(|job| render::wanted(&last.site, job) && seen.insert(format!("{job:?}")));
        step(&mut self.timings, "read changes");
        let staging = last.output.staging()?;
        let staged = render::render_jobs(&last.site, &last.templates, &jobs, &staging, &|_, _| {}, None)?;
        step(&mut self.timings, "render");
        let report = last.output.commit(staged, Scope::Part);
        step(&mut self.timings, "write");
        report
    }
}

/// Sorts a batch into what it asks for. Anything but an edit of existing
/// Markdown pages, templates or static files asks for everything.
fn classify(root: &Path, batch: &Batch, data_files: &[PathBuf], grammars: &[PathBuf]) -> Plan {
    let mut plan = Plan::default();
    for path in &batch.paths {
        let Ok(relative) = path.strip_prefix(root) else { continue };
        if relative.as_os_str().is_empty() {
            // The watcher lost events (a kernel queue overflow): anything may have changed.
            plan.everything = true;
            continue;
        }
        // A file templates read (`load_data`, `get_hash`), wherever it is;
        // in `static/` it is copied as well.
        if data_files.contains(path) {
            plan.data = true;
        }
        // Highlighting of every code block may change.
        if grammars.iter().any(|grammar| path.starts_with(grammar)) {
            plan.everything = true;
        }
        let exists = path.is_file();
        let first = relative.components().next().map(|c| c.as_os_str().to_string_lossy().into_owned());
        match first.as_deref() {
            Some(name) if paths::CONFIG_FILES.contains(&name) => plan.everything = true,
            Some(TEMPLATES_DIR) if exists => {
                let name = paths::slash_path(relative.strip_prefix(TEMPLATES_DIR).unwrap_or(relative));
                plan.templates.insert(name);
            }
            Some(TEMPLATES_DIR) => plan.everything = true,
            Some(STATIC_DIR) if exists => {
                plan.statics.insert(path.clone());
            }
            // A folder made (`static/` itself, the first time): its files are
            // copied, which events for them may have come too early to tell.
            Some(STATIC_DIR) if path.is_dir() => {
                let files = walkdir::WalkDir::new(path).into_iter().filter_map(|entry| entry.ok());
                plan.statics.extend(files.filter(|entry| entry.file_type().is_file()).map(|entry| entry.into_path()));
            }
            Some(STATIC_DIR) => plan.everything = true,
            _ if build::sass::is_sass_source(relative) => plan.sass = true,
            // A theme's templates and static files.
            Some(paths::THEMES_DIR) => plan.everything = true,
            Some(CONTENT_DIR) => {
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                let plain_page = exists && name.ends_with(".md") && name != "_index.md" && name != "index.md";
                if plain_page {
                    plan.pages.insert(path.clone());
                } else if path.is_dir() {
                    // A folder made empty says nothing, its files have events
                    // of their own; a folder moved in brings files without.
                    let mut files = walkdir::WalkDir::new(path).into_iter().filter_map(|entry| entry.ok());
                    plan.everything |= files.any(|entry| entry.file_type().is_file());
                } else {
                    plan.everything = true;
                }
            }
            _ => {}
        }
    }
    plan
}

enum Edit {
    /// A page moved, appeared or changed its place in lists: rebuild all.
    Structural,
    /// The new site and the jobs that the edit can have changed.
    Pages { site: Box<Site>, jobs: Vec<Job> },
}

/// Re-reads the edited pages and works out which outputs they touch.
fn edit_pages(options: &BuildOptions, old: &Site, templates: &Templates, files: &BTreeSet<PathBuf>) -> Result<Edit> {
    let mut site = old.clone();
    let mut edited = Vec::new();
    // Every broken page of the batch is reported, in path order.
    let mut errors = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&options.root).unwrap_or(file);
        // Bytes, not `Path`'s component by component: this runs over every page.
        let Some(index) = site.pages.iter().position(|p| p.source.file.as_os_str() == relative.as_os_str()) else {
            return Ok(Edit::Structural);
        };
        let page = match content::load_page(&options.root, &site.config, file) {
            Ok(page) => page,
            Err(err) => {
                errors.push(Err(err));
                continue;
            }
        };
        if page.front.draft && !options.drafts || list_key(&page) != list_key(&site.pages[index].source) {
            return Ok(Edit::Structural);
        }
        if let Err(err) = site.replace_page(index, page, templates) {
            errors.push(Err(err));
            continue;
        }
        // Other pages may link to its headings: new or renamed ones are
        // checked by a whole build.
        if site.pages[index].rendered.toc != old.pages[index].rendered.toc {
            return Ok(Edit::Structural);
        }
        edited.push(index);
    }
    crate::error::all::<()>(errors)?;
    let mut jobs = jobs_mentioning(&site, templates, &SITE_FUNCTIONS)?;
    for &index in &edited {
        jobs.push(Job::Page(index));
        // A feed's last update is every page's latest date.
        let updated = old.pages[index].source.updated != site.pages[index].source.updated;
        jobs.extend(feeds_showing(&site, index, updated));
        if listed(&old.pages[index]) == listed(&site.pages[index]) {
            continue;
        }
        // What lists show of the page changed: every list showing it, its
        // neighbours (they name it), and whatever uses the recent pages.
        if old.pages[index].source.updated != site.pages[index].source.updated {
            jobs.push(Job::Sitemap);
        }
        jobs.extend(lists_showing(&site, index));
        jobs.extend(neighbours(&site, index).into_iter().map(Job::Page));
        if render::recent_pages(&site).contains(&index) {
            jobs.extend(jobs_mentioning(&site, templates, &["recent_pages"])?);
        }
    }
    Ok(Edit::Pages { site: Box::new(site), jobs })
}

/// Every job of `site` whose template, or a template it needs, mentions
/// one of `words` (a global or a function).
fn jobs_mentioning(site: &Site, templates: &Templates, words: &[&str]) -> Result<Vec<Job>> {
    if words.iter().all(|word| !templates.any_mentions(word)) {
        return Ok(Vec::new());
    }
    jobs_where(site, templates, |name| words.iter().any(|word| templates.mentions(name, word)))
}

/// Every job of `site` whose template satisfies `uses`, asked once per template.
fn jobs_where(site: &Site, templates: &Templates, uses: impl Fn(&str) -> bool) -> Result<Vec<Job>> {
    let mut answers: HashMap<String, bool> = HashMap::new();
    Ok(render::plan(site)?
        .into_iter()
        .filter(|job| {
            job.template(site, templates)
                .is_some_and(|name| *answers.entry(name.to_string()).or_insert_with(|| uses(&name)))
        })
        .collect())
}

/// Every feed that shows page `index` among its entries, or whose last
/// update its edit changed (`updated`): the site's, its sections' that have
/// one, and its terms' when their taxonomy has feeds.
fn feeds_showing(site: &Site, index: usize, updated: bool) -> Vec<Job> {
    // Its place in every list is as before (the edit kept its list key):
    // a feed it is not an entry of does not change, unless its last update does.
    let shows = |pages: &[usize]| pages.contains(&index) && (updated || render::feed_shows(site, pages, index));
    let mut jobs = Vec::new();
    for name in &site.config.feed_filenames {
        if shows(&site.dated) {
            jobs.push(Job::Feed(name.clone()));
        }
        for (section, _) in
            site.sections.iter().enumerate().filter(|(_, s)| s.source.front.generate_feeds && shows(&s.pages))
        {
            jobs.push(Job::SectionFeed(section, name.clone()));
        }
        for (t, taxonomy) in site.taxonomies.iter().enumerate() {
            if !site.config.taxonomy(&taxonomy.name).is_some_and(|o| o.feed) {
                continue;
            }
            for term in (0..taxonomy.terms.len()).filter(|&term| shows(&taxonomy.terms[term].pages)) {
                jobs.push(Job::TermFeed { taxonomy: t, term, name: name.clone() });
            }
        }
    }
    jobs
}

/// What decides a page's place in lists, URLs and redirects.
fn list_key(page: &content::SourcePage) -> impl PartialEq + use<> {
    (
        page.path.clone(),
        page.date.clone(),
        page.front.weight,
        page.front.title.clone(),
        page.terms.clone(),
        page.front.aliases.clone(),
        page.front.template.clone(),
        page.front.draft,
        page.front.renders(),
        page.updated.clone(),
    )
}

/// What lists show of a page.
fn listed(page: &Page) -> impl PartialEq + use<> {
    (
        page.rendered.summary.clone(),
        page.rendered.word_count,
        page.source.front.description.clone(),
        page.source.updated.clone(),
        page.source.front.extra.clone(),
    )
}

fn neighbours(site: &Site, page: usize) -> Vec<usize> {
    site.sections
        .iter()
        .filter_map(|section| section.pages.iter().position(|&p| p == page).map(|at| (section, at)))
        .flat_map(|(section, at)| {
            [at.checked_sub(1), Some(at + 1)].into_iter().flatten().filter_map(|i| section.pages.get(i).copied())
        })
        .collect()
}

/// The list pages on which `page` appears: its section's, its terms', and
/// the taxonomy pages.
fn lists_showing(site: &Site, page: usize) -> Vec<Job> {
    let mut jobs = Vec::new();
    for (index, section) in site.sections.iter().enumerate() {
        if let Some(at) = section.pages.iter().position(|&p| p == page) {
            let per = section_paginate_by(site, section);
            let shown_at = if section.source.front.paginate_reversed { section.pages.len() - 1 - at } else { at };
            let pager = shown_at.checked_div(per).unwrap_or(0);
            jobs.push(Job::SectionPager { section: index, pager });
        }
    }
    for (t, taxonomy) in site.taxonomies.iter().enumerate() {
        jobs.push(Job::Taxonomy(t));
        for (term_index, term) in taxonomy.terms.iter().enumerate() {
            if let Some(at) = term.pages.iter().position(|&p| p == page) {
                let per = site.config.paginate_by;
                let pager = at.checked_div(per).unwrap_or(0);
                jobs.push(Job::TermPager { taxonomy: t, term: term_index, pager });
            }
        }
    }
    jobs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A copy of the quickstart fixture, built once.
    fn built_site() -> (tempfile::TempDir, Rebuilder) {
        built_site_with(&[])
    }

    /// A copy of the quickstart fixture with `files` added, built once.
    fn built_site_with(files: &[(&str, &str)]) -> (tempfile::TempDir, Rebuilder) {
        let dir = tempfile::tempdir().unwrap();
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/quickstart");
        for entry in walkdir::WalkDir::new(&fixture) {
            let entry = entry.unwrap();
            let target = dir.path().join(entry.path().strip_prefix(&fixture).unwrap());
            if entry.file_type().is_dir() {
                std::fs::create_dir_all(&target).unwrap();
            } else {
                std::fs::copy(entry.path(), &target).unwrap();
            }
        }
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let output = dir.path().join(".bengal/serve");
        let options =
            BuildOptions { root: dir.path().to_path_buf(), output: Some(output.clone()), ..Default::default() };
        let mut rebuilder = Rebuilder::new(options);
        rebuilder.full().unwrap();
        (dir, rebuilder)
    }

    fn batch(paths: &[PathBuf]) -> Batch {
        Batch { paths: paths.iter().cloned().collect() }
    }

    fn edit(path: &Path, from: &str, to: &str) {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.contains(from), "{from:?} not in {}", path.display());
        std::fs::write(path, text.replacen(from, to, 1)).unwrap();
    }

    #[test]
    fn only_the_feeds_a_page_is_an_entry_of_are_rendered_again() {
        let pages: Vec<(String, String)> = (1..=25)
            .map(|day| {
                (
                    format!("content/blog/day-{day}.md"),
                    format!("+++\ntitle = \"Day {day}\"\ndate = 2020-01-{day:02}\n+++\nText.\n"),
                )
            })
            .collect();
        let files: Vec<(&str, &str)> = pages.iter().map(|(path, text)| (path.as_str(), text.as_str())).collect();
        let (_dir, rebuilder) = built_site_with(&files);
        let site = &rebuilder.last.as_ref().unwrap().site;
        let index = |name: &str| site.pages.iter().position(|p| p.source.content_path == name).unwrap();
        let oldest = index("blog/day-1.md");
        assert!(feeds_showing(site, oldest, false).is_empty(), "the oldest of 25 dated posts is in no feed");
        assert_eq!(feeds_showing(site, oldest, true), [Job::Feed("atom.xml".into())], "its last update changed");
        let newest = site.dated[0];
        assert_eq!(feeds_showing(site, newest, false), [Job::Feed("atom.xml".into())]);
        assert_eq!(feeds_showing(site, site.dated[19], false), [Job::Feed("atom.xml".into())], "the 20th newest");
        assert!(feeds_showing(site, site.dated[20], false).is_empty(), "the 21st newest");
    }

    #[test]
    fn body_edit_below_the_summary_rewrites_only_the_page_and_feed() {
        let (dir, mut rebuilder) = built_site();
        let post = dir.path().join("content/blog/why-static.md");
        edit(&post, "<!-- more -->", "<!-- more -->\n\nA new paragraph.");
        let report = rebuilder.apply(&batch(&[post])).unwrap();
        assert_eq!(report.changed, ["atom.xml", "blog/why-static/index.html"]);
    }

    #[test]
    fn summary_edit_rewrites_the_lists_that_show_it() {
        let (dir, mut rebuilder) = built_site();
        let post = dir.path().join("content/blog/deploying-to-github-pages.md");
        let text = std::fs::read_to_string(&post).unwrap();
        std::fs::write(&post, text.replacen("\n\n", "\n\nFresh first words. ", 1)).unwrap();
        let report = rebuilder.apply(&batch(&[post])).unwrap();
        assert!(report.changed.contains(&"blog/index.html".to_owned()), "{:?}", report.changed);
        assert!(report.changed.contains(&"blog/deploying-to-github-pages/index.html".to_owned()));
        assert!(!report.changed.contains(&"docs/index.html".to_owned()), "{:?}", report.changed);
    }

    #[test]
    fn template_edit_rewrites_only_what_uses_it() {
        let (dir, mut rebuilder) = built_site();
        let template = dir.path().join("templates/term.html");
        std::fs::create_dir_all(template.parent().unwrap()).unwrap();
        std::fs::write(&template, "TERM {{ term.name }}").unwrap();
        let report = rebuilder.apply(&batch(&[template])).unwrap();
        assert!(!report.changed.is_empty());
        assert!(
            report.changed.iter().all(|path| path.starts_with("tags/") && path != "tags/index.html"),
            "{:?}",
            report.changed
        );
    }

    #[test]
    fn data_edit_rewrites_only_what_reads_data() {
        let home = "{% set data = load_data(path=\"data/motto.toml\") %}MOTTO {{ data.motto }}";
        let (dir, mut rebuilder) =
            built_site_with(&[("templates/index.html", home), ("data/motto.toml", "motto = 'a'")]);
        let data = dir.path().join("data/motto.toml");
        assert!(rebuilder.extra_inputs().contains(&paths::resolve_path(&data)), "{:?}", rebuilder.extra_inputs());
        std::fs::write(&data, "motto = 'b'").unwrap();
        let report = rebuilder.apply(&batch(&[paths::resolve_path(&data)])).unwrap();
        assert_eq!((report.changed, report.unchanged), (vec!["index.html".to_owned()], 0), "the home page alone");
        let served = std::fs::read_to_string(dir.path().join(".bengal/serve/index.html")).unwrap();
        assert_eq!(served, "MOTTO b");
    }

    #[test]
    fn a_data_file_is_still_watched_after_a_template_edit() {
        let home = "{% set data = load_data(path=\"data/motto.toml\") %}MOTTO {{ data.motto }}";
        let (dir, mut rebuilder) =
            built_site_with(&[("templates/index.html", home), ("data/motto.toml", "motto = 'a'")]);
        let page = dir.path().join("templates/page.html");
        std::fs::write(&page, "{% extends \"base.html\" %}").unwrap();
        rebuilder.apply(&batch(&[page])).unwrap();
        let data = paths::resolve_path(&dir.path().join("data/motto.toml"));
        std::fs::write(&data, "motto = 'b'").unwrap();
        assert_eq!(rebuilder.apply(&batch(&[data])).unwrap().changed, ["index.html"]);
    }

    #[test]
    fn a_data_file_a_shortcode_reads_renders_its_callers_again() {
        let (dir, mut rebuilder) = built_site_with(&[
            ("templates/shortcodes/motto.html", "{% set d = load_data(path=\"data/motto.toml\") %}{{ d.motto }}"),
            ("data/motto.toml", "motto = 'first'"),
            ("content/docs/caller.md", "+++\ntitle = \"Caller\"\n+++\nIts summary.\n\nSays {{ motto() }}.\n"),
        ]);
        let data = paths::resolve_path(&dir.path().join("data/motto.toml"));
        std::fs::write(&data, "motto = 'second'").unwrap();
        rebuilder.apply(&batch(&[data])).unwrap();
        let page = std::fs::read_to_string(dir.path().join(".bengal/serve/docs/caller/index.html")).unwrap();
        assert!(page.contains("Says second."), "{page}");
    }

    #[test]
    fn page_edit_rewrites_what_calls_get_page() {
        let home = "{% set post = get_page(path=\"blog/why-static.md\") %}{{ post.content | safe }}";
        let (dir, mut rebuilder) = built_site_with(&[("templates/index.html", home)]);
        let post = dir.path().join("content/blog/why-static.md");
        edit(&post, "<!-- more -->", "<!-- more -->\n\nA new paragraph.");
        let report = rebuilder.apply(&batch(&[post])).unwrap();
        assert_eq!(report.changed, ["atom.xml", "blog/why-static/index.html", "index.html"]);
    }

    #[test]
    fn shortcode_edit_renders_again_only_the_bodies_that_call_it() {
        let caller = "+++\ntitle = \"Caller\"\n+++\nIts summary.\n\nSays {{ hello() }}.\n";
        let (dir, mut rebuilder) =
            built_site_with(&[("templates/shortcodes/hello.html", "HELLO"), ("content/docs/caller.md", caller)]);
        std::fs::write(dir.path().join("templates/shortcodes/hello.html"), "BONJOUR").unwrap();
        let report = rebuilder.apply(&batch(&[dir.path().join("templates/shortcodes/hello.html")])).unwrap();
        assert_eq!(report.changed, ["docs/caller/index.html"]);
        assert!(report.unchanged < 5, "only the caller and its feeds are rendered: {report:?}");
        let page = std::fs::read_to_string(dir.path().join(".bengal/serve/docs/caller/index.html")).unwrap();
        assert!(page.contains("Says BONJOUR."), "{page}");
    }

    #[test]
    fn static_edit_copies_that_file_alone() {
        let (dir, mut rebuilder) = built_site();
        let css = dir.path().join("static/site.css");
        std::fs::write(&css, "a { color: red }").unwrap();
        let report = rebuilder.apply(&batch(&[css])).unwrap();
        assert_eq!(report.changed, ["site.css"]);
    }

    #[test]
    fn a_page_still_broken_is_not_taken_for_fixed_when_another_is_saved() {
        let (dir, mut rebuilder) = built_site();
        let broken = dir.path().join("content/blog/why-static.md");
        edit(&broken, "date = 2024-01-22", "date = \"soon");
        assert!(rebuilder.apply(&batch(std::slice::from_ref(&broken))).is_err());
        let other = dir.path().join("content/blog/hello-bengal.md");
        edit(&other, "Today we're", "Edited. Today we're");
        let err = rebuilder.apply(&batch(std::slice::from_ref(&other))).unwrap_err();
        assert_eq!(err.file.as_deref(), Some(Path::new("content/blog/why-static.md")));
        edit(&other, "Edited. ", "");
        edit(&other, "title = ", "title = \"");
        let err = rebuilder.apply(&batch(std::slice::from_ref(&other))).unwrap_err();
        let files: Vec<_> = std::iter::once(&err).chain(&err.more).map(|e| e.file.clone().unwrap()).collect();
        assert_eq!(files, [Path::new("content/blog/hello-bengal.md"), Path::new("content/blog/why-static.md")]);
        edit(&broken, "date = \"soon", "date = 2024-01-22");
        edit(&other, "title = \"", "title = ");
        assert!(rebuilder.apply(&batch(&[broken])).is_ok(), "both fixed: the build succeeds");
    }

    /// Of what a full build publishes: a vendored checkout's `.git` and a
    /// desktop's `.DS_Store` are not copied.
    #[test]
    fn a_new_static_folder_copies_its_published_files_alone() {
        let (dir, mut rebuilder) = built_site();
        let folder = dir.path().join("static/fonts");
        std::fs::create_dir_all(folder.join("inner")).unwrap();
        std::fs::create_dir_all(folder.join(".git")).unwrap();
        std::fs::write(folder.join("inner/a.css"), "a {}").unwrap();
        std::fs::write(folder.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
        let litter = dir.path().join("static/.DS_Store");
        std::fs::write(&litter, "desktop").unwrap();
        let report = rebuilder.apply(&batch(&[folder, litter])).unwrap();
        assert_eq!((report.changed, report.unchanged), (vec!["fonts/inner/a.css".to_owned()], 0));
    }

    #[test]
    fn new_page_and_config_rebuild_everything_and_errors_keep_the_last_build() {
        let (dir, mut rebuilder) = built_site();
        let page = dir.path().join("content/blog/brand-new.md");
        std::fs::write(&page, "+++\ntitle = \"Brand new\"\ndate = 2030-01-01\n+++\nHello.\n").unwrap();
        let report = rebuilder.apply(&batch(std::slice::from_ref(&page))).unwrap();
        assert!(report.changed.contains(&"blog/brand-new/index.html".to_owned()));
        assert!(report.changed.contains(&"index.html".to_owned()), "home lists recent pages");

        std::fs::write(&page, "+++\ntitle = \"broken\n+++\n").unwrap();
        let err = rebuilder.apply(&batch(&[page])).unwrap_err();
        assert_eq!(err.line, Some(2));
        let served = dir.path().join(".bengal/serve/blog/brand-new/index.html");
        assert!(std::fs::read_to_string(served).unwrap().contains("Brand new"), "last good page kept");

        let config = dir.path().join("bengal.toml");
        edit(&config, "Bengal Quickstart", "Renamed Site");
        let err = rebuilder.apply(&batch(std::slice::from_ref(&config))).unwrap_err();
        assert_eq!(err.file.as_deref(), Some(Path::new("content/blog/brand-new.md")), "still broken");

        std::fs::remove_file(dir.path().join("content/blog/brand-new.md")).unwrap();
        let report = rebuilder.apply(&batch(&[config])).unwrap();
        assert_eq!(report.removed, ["blog/brand-new/index.html"]);
        let home = std::fs::read_to_string(dir.path().join(".bengal/serve/index.html")).unwrap();
        assert!(home.contains("Renamed Site"));
    }

    /// A folder moved in brings its files without an event for each.
    #[test]
    fn a_folder_of_pages_moved_into_content_is_built() {
        let (dir, mut rebuilder) = built_site();
        let outside = dir.path().join("drafts/trip");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("index.md"), "+++\ntitle = \"Trip\"\n+++\nMoved in.\n").unwrap();
        let moved = dir.path().join("content/blog/trip");
        std::fs::rename(&outside, &moved).unwrap();
        let report = rebuilder.apply(&batch(&[moved])).unwrap();
        assert!(report.changed.contains(&"blog/trip/index.html".to_owned()), "{report:?}");
    }

    /// The record names only what a good build read: a failed rebuild
    /// leaves it as it was, the rebuild that fixes the file records it.
    #[test]
    fn a_failed_rebuild_is_never_recorded() {
        let (dir, mut rebuilder) = built_site();
        let record = dir.path().join(crate::serve::resume::RECORD);
        rebuilder.record();
        let recorded = std::fs::read_to_string(&record).unwrap();
        let page = dir.path().join("content/blog/hello-bengal.md");
        let good = std::fs::read_to_string(&page).unwrap();
        std::fs::write(&page, "+++\ntitle = \"broken\n+++\n").unwrap();
        rebuilder.apply(&batch(std::slice::from_ref(&page))).unwrap_err();
        rebuilder.record();
        assert_eq!(std::fs::read_to_string(&record).unwrap(), recorded);

        std::fs::write(&page, good + "\nFixed.\n").unwrap();
        rebuilder.apply(&batch(&[page])).unwrap();
        rebuilder.record();
        assert_ne!(std::fs::read_to_string(&record).unwrap(), recorded);
    }
}

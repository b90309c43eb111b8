//! Rendering: the site is planned as a list of independent output jobs (one
//! per file), rendered and written in parallel. Template data for lists is
//! built once per page, not once per list that shows it.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use chrono::Datelike;
use rayon::prelude::*;
use serde_json::{Value, json};
use tera::Context;

use crate::build::config::{Config, find_key_line};
use crate::build::frontmatter::SortBy;
use crate::build::highlight;
use crate::build::html::escape_html;
use crate::build::output::{Artifact, Staged, Staging};
use crate::build::rush::{Rush, RushedJobs};
use crate::build::site::{Page, Section, Site, page_title, section_relative_path};
use crate::build::templates::{SiteData, THEME_STATIC, Templates};
use crate::build::{sass, search};
use crate::error::{Error, Result};
use crate::paths::STATIC_DIR;

/// How many pages the feed and `recent_pages` show.
const RECENT_PAGES: usize = 10;
const FEED_ENTRIES: usize = 20;

/// One output file; indices point into the [`Site`]'s vectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    Page(usize),
    /// List page `pager` (0-based) of a section.
    SectionPager {
        section: usize,
        /// List page, from 0.
        pager: usize,
    },
    /// The page listing a taxonomy's terms.
    Taxonomy(usize),
    /// List page `pager` of a term.
    TermPager {
        taxonomy: usize,
        term: usize,
        /// List page, from 0.
        pager: usize,
    },
    /// `404.html`.
    NotFound,
    /// The site's feed, by file name (`atom.xml`, `rss.xml`: `feed_filenames`).
    Feed(String),
    /// `sitemap.xml`.
    Sitemap,
    /// `robots.txt`.
    Robots,
    /// `syntax.css`.
    SyntaxCss,
    /// Zola's search index and its script (`build_search_index`): several files.
    SearchIndex,
    /// The stylesheets compiled from `sass/` (`compile_sass`) and the theme's.
    Sass,
    /// A static file of the built-in theme.
    ThemeFile {
        name: &'static str,
        text: &'static str,
    },
    /// A redirect page from an old path (a page's or section's `aliases`).
    Alias {
        /// The site path redirected to.
        to: String,
        /// The old path.
        from: String,
    },
    /// A section's `redirect_to` page, written instead of its list.
    SectionRedirect(usize),
    /// A section's own feed (its `generate_feeds`), by file name.
    SectionFeed(usize, String),
    /// A taxonomy term's feed (the taxonomy's `feed = true`), by file name.
    TermFeed {
        taxonomy: usize,
        term: usize,
        name: String,
    },
    /// A file copied as it is.
    Copy {
        source: PathBuf,
        dest: String,
    },
}

impl Job {
    /// The template this job renders with, if any: Zola's names first
    /// (`tags/list.html`, `taxonomy_list.html`), then Bengal's.
    pub fn template<'s>(&self, site: &'s Site, templates: &Templates) -> Option<Cow<'s, str>> {
        let first_of = |names: [String; 3]| {
            let found = names.iter().position(|name| templates.has(name)).unwrap_or(names.len() - 1);
            names.into_iter().nth(found).map(Cow::Owned)
        };
        Some(match self {
            Job::Page(index) => {
                let page = &site.pages[*index];
                Cow::Borrowed(
                    page.source
                        .front
                        .template
                        .as_deref()
                        .or_else(|| site.inherited_page_template(page))
                        .unwrap_or("page.html"),
                )
            }
            Job::SectionPager { section, .. } => {
                let default = if *section == 0 { "index.html" } else { "section.html" };
                Cow::Borrowed(site.sections[*section].source.front.template.as_deref().unwrap_or(default))
            }
            Job::Taxonomy(t) => {
                let name = &site.taxonomies[*t].name;
                return first_of([format!("{name}/list.html"), "taxonomy_list.html".into(), "taxonomy.html".into()]);
            }
            Job::TermPager { taxonomy, .. } => {
                let name = &site.taxonomies[*taxonomy].name;
                return first_of([format!("{name}/single.html"), "taxonomy_single.html".into(), "term.html".into()]);
            }
            Job::NotFound => Cow::Borrowed("404.html"),
            Job::Feed(name) | Job::SectionFeed(_, name) | Job::TermFeed { name, .. } => Cow::Owned(name.clone()),
            Job::Sitemap => Cow::Borrowed("sitemap.xml"),
            Job::Robots if templates.has("robots.txt") => Cow::Borrowed("robots.txt"),
            _ => return None,
        })
    }
}

/// Renders every output file of `site`, in parallel, each staged as soon
/// as it is rendered; the pages `rush` asks for first.
///
/// `progress` is told `(done, total)` as files are rendered.
pub fn render_site(
    site: &Site,
    templates: &Templates,
    staging: &Staging,
    progress: &(dyn Fn(usize, usize) + Sync),
    rush: Option<&Rush>,
) -> Result<Vec<Staged>> {
    render_jobs(site, templates, &plan(site)?, staging, progress, rush)
}

/// Renders the given jobs of `site`, in parallel, each staged as soon as
/// it is rendered, so that no rendered file waits in memory; the pages
/// `rush` asks for are rendered before the next job.
pub fn render_jobs(
    site: &Site,
    templates: &Templates,
    jobs: &[Job],
    staging: &Staging,
    progress: &(dyn Fn(usize, usize) + Sync),
    rush: Option<&Rush>,
) -> Result<Vec<Staged>> {
    let data = TemplateData::new(site, PageFields::read_by(templates));
    templates.set_site_data(data.site_data(templates.uses_site_functions()));
    let total = jobs.len();
    let done = AtomicUsize::new(0);
    let render = |index: usize| -> Result<Vec<Artifact>> {
        let artifacts = match &jobs[index] {
            Job::SearchIndex => data.search_index()?,
            Job::Sass => compile_sass(site)?,
            job => vec![data.run(job, templates)?],
        };
        progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
        Ok(artifacts)
    };
    let page_files =
        || jobs.iter().enumerate().filter_map(|(index, job)| Some((data.page_file(job)?, index))).collect();
    let rushed = rush.map(|rush| RushedJobs::new(rush, jobs.len()));
    let mut rendered: Vec<Result<Vec<Staged>>> = (0..jobs.len())
        .into_par_iter()
        .map(|index| {
            if rushed.as_ref().is_some_and(|rushed| !rushed.before(index, page_files, render, staging)) {
                return Ok(Vec::new());
            }
            render(index)?.into_iter().map(|artifact| staging.stage(artifact)).collect()
        })
        .collect();
    for (index, staged) in rushed.map(RushedJobs::into_staged).unwrap_or_default() {
        rendered[index] = staged;
    }
    // Every error, in the jobs' order (which follows the content's paths).
    let mut staged: Vec<Staged> = crate::error::all(rendered)?.into_iter().flatten().collect();
    for (source, path) in templates.processed_images() {
        staged.push(staging.stage(Artifact::Copy { path, source })?);
    }
    Ok(staged)
}

/// A redirect from `alias` to `to`; `/` would replace the home page.
fn alias_job(file: &Option<PathBuf>, to: &str, alias: &str) -> Result<Job> {
    if alias.trim_matches('/').is_empty() {
        let file = file.clone().unwrap_or_else(|| PathBuf::from("content"));
        return Err(
            Error::in_file(file, "the alias `/` would replace the home page").with_hint("remove it from `aliases`")
        );
    }
    Ok(Job::Alias { to: to.to_owned(), from: alias.to_owned() })
}

/// Whether the site asks for `job` at all: the feed, the sitemap and
/// `robots.txt` can each be turned off, a page by its `render = false`, and a
/// section's list pages by its `render = false` or `redirect_to`.
pub fn wanted(site: &Site, job: &Job) -> bool {
    match job {
        Job::Page(index) => site.pages[*index].source.front.renders(),
        Job::SectionPager { section, .. } => {
            let front = &site.sections[*section].source.front;
            front.redirect_to.is_none() && front.renders()
        }
        Job::Feed(_) => site.config.generate_feeds,
        Job::Sitemap => site.config.generate_sitemap,
        Job::Robots => site.config.generate_robots_txt,
        _ => true,
    }
}

/// Every output file of `site`.
pub fn plan(site: &Site) -> Result<Vec<Job>> {
    let mut jobs: Vec<Job> = (0..site.pages.len()).map(Job::Page).collect();
    for (index, section) in site.sections.iter().enumerate() {
        let front = &section.source.front;
        if front.redirect_to.is_some() {
            jobs.push(Job::SectionRedirect(index));
        }
        let per = section_paginate_by(site, section);
        let pagers = pager_count(section.pages.len(), per);
        jobs.extend((0..pagers).map(|pager| Job::SectionPager { section: index, pager }));
        // `page/1/` is the first list page: it redirects there, as in Zola.
        if per > 0 && wanted(site, &Job::SectionPager { section: index, pager: 0 }) {
            let first = format!("{}{}/1/", output_dir_of(site, &section.source.path), section_pager_word(section));
            jobs.push(Job::Alias { to: section.source.path.clone(), from: first });
        }
        if front.generate_feeds {
            jobs.extend(site.config.feed_filenames.iter().map(|name| Job::SectionFeed(index, name.clone())));
        }
        for alias in &front.aliases {
            jobs.push(alias_job(&section.source.file, &section.source.path, alias)?);
        }
    }
    for (t, taxonomy) in site.taxonomies.iter().enumerate() {
        let options = site.config.taxonomy(&taxonomy.name);
        if options.is_some_and(|o| !o.render) {
            continue;
        }
        jobs.push(Job::Taxonomy(t));
        let per = options.and_then(|o| o.paginate_by).unwrap_or(site.config.paginate_by);
        let feed = options.is_some_and(|o| o.feed);
        for (index, term) in taxonomy.terms.iter().enumerate() {
            let pagers = pager_count(term.pages.len(), per);
            jobs.extend((0..pagers).map(|pager| Job::TermPager { taxonomy: t, term: index, pager }));
            if feed {
                jobs.extend(site.config.feed_filenames.iter().map(|name| Job::TermFeed {
                    taxonomy: t,
                    term: index,
                    name: name.clone(),
                }));
            }
        }
    }
    jobs.extend(site.config.feed_filenames.iter().map(|name| Job::Feed(name.clone())));
    jobs.extend([Job::NotFound, Job::Sitemap, Job::Robots]);
    if site.config.build_search_index {
        jobs.push(Job::SearchIndex);
    }
    if site.config.compile_sass || site.config.theme.is_some() {
        jobs.push(Job::Sass);
    }
    for page in &site.pages {
        for alias in &page.source.front.aliases {
            jobs.push(alias_job(&Some(page.source.file.clone()), &page.source.path, alias)?);
        }
        let dir = output_dir_of(site, &page.source.path);
        for (source, relative) in page.source.bundle_assets(&site.root) {
            jobs.push(Job::Copy { source: source.clone(), dest: format!("{dir}{relative}") });
        }
    }
    for asset in &site.loose_assets {
        jobs.push(Job::Copy { source: asset.source.clone(), dest: asset.output.clone() });
    }
    let statics = static_files(&site.root, &site.config)?;
    let shipped = |name: &str| statics.iter().any(|(_, dest)| dest == name);
    if site.config.markdown.highlight_code && !shipped("syntax.css") {
        jobs.push(Job::SyntaxCss);
    }
    for (name, text) in THEME_STATIC {
        if !shipped(name) {
            jobs.push(Job::ThemeFile { name, text });
        }
    }
    jobs.extend(statics.into_iter().map(|(source, dest)| Job::Copy { source, dest }));
    jobs.retain(|job| wanted(site, job));
    Ok(jobs)
}

/// The site's stylesheets when `compile_sass` is on, and its theme's (which
/// Zola compiles whenever a theme is set).
fn compile_sass(site: &Site) -> Result<Vec<Artifact>> {
    let theme = site
        .config
        .theme
        .as_ref()
        .map(|theme| site.root.join(crate::paths::THEMES_DIR).join(theme).join(crate::paths::SASS_DIR));
    let sheets = match (&theme, site.config.compile_sass) {
        (_, true) => sass::compile(&site.root, theme.as_deref())?,
        (Some(theme), false) => sass::compile_theme(&site.root, theme)?,
        (None, false) => Vec::new(),
    };
    Ok(sheets.into_iter().map(|sheet| bytes(sheet.output, sheet.css)).collect())
}

/// Files that keep a folder in git or are left by a desktop, and a
/// repository's own folder (a vendored checkout), never published.
const IGNORED_STATIC: &[&str] = &[".gitkeep", ".gitignore", ".DS_Store", "Thumbs.db", ".git"];

/// Whether the file at `relative` (below `static/`) is published: not one of
/// [`IGNORED_STATIC`] nor inside one, and not matched by `ignored_static`.
/// A full build and the dev server's rebuild of one file both ask this.
pub fn is_published_static(relative: &Path, config: &crate::build::config::Config) -> bool {
    let ignored = |part: std::path::Component| IGNORED_STATIC.iter().any(|name| part.as_os_str() == *name);
    !relative.components().any(ignored) && !config.ignored_static.is_match(relative)
}

/// The files of `static/` and of the theme's `static/`, by output path; the
/// site's win over the theme's.
fn static_files(root: &Path, config: &crate::build::config::Config) -> Result<Vec<(PathBuf, String)>> {
    let mut dirs = vec![root.join(STATIC_DIR)];
    if let Some(theme) = &config.theme {
        dirs.push(root.join(crate::paths::THEMES_DIR).join(theme).join(STATIC_DIR));
    }
    let site = std::fs::canonicalize(root).map_err(|err| Error::io(root, "open the site", err))?;
    // Never published through a link: what builds write (the output would
    // be published into itself, one level deeper at every build), and the
    // site's repository (its config may hold credentials).
    let private = [
        (site.join(&config.output_dir), "the output, which would be published into itself"),
        (site.join(crate::paths::BENGAL_DIR), "Bengal's own folder"),
        (site.join(".git"), "the site's repository"),
    ];
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for dir in dirs.iter().filter(|dir| dir.is_dir()) {
        for entry in crate::paths::walk(dir) {
            let entry = entry.map_err(|err| crate::paths::walk_error(root, dir, err))?;
            let relative = entry.path().strip_prefix(dir).unwrap_or(entry.path());
            if !is_published_static(relative, config) {
                continue;
            }
            crate::paths::check_entry(&site, root, &entry)?;
            if entry.path_is_symlink() {
                let target = std::fs::canonicalize(entry.path()).unwrap_or_default();
                if let Some((_, what)) = private.iter().find(|(dir, _)| target.starts_with(dir)) {
                    let shown = entry.path().strip_prefix(root).unwrap_or(entry.path());
                    return Err(Error::in_file(shown, format!("leads into {what}")).with_hint("remove the link"));
                }
            }
            if entry.file_type().is_file() {
                let dest = crate::paths::output_path(root, dir, entry.path())?;
                if seen.insert(dest.clone()) {
                    files.push((entry.into_path(), dest));
                }
            }
        }
    }
    Ok(files)
}

/// Pages per list page of `section` (0: not paginated).
pub fn section_paginate_by(site: &Site, section: &Section) -> usize {
    section.source.front.paginate_by.unwrap_or(site.config.paginate_by)
}

/// The newest dated pages of the site, as templates' `recent_pages` lists them.
pub fn recent_pages(site: &Site) -> &[usize] {
    &site.dated[..site.dated.len().min(RECENT_PAGES)]
}

/// Number of list pages for `items` at `per` a page (0: no pagination); at least one.
pub fn pager_count(items: usize, per: usize) -> usize {
    if per == 0 { 1 } else { items.div_ceil(per).max(1) }
}

/// The path of list page `pager` (0-based) of a list at `base`, whose later
/// pages are under `word` (`page`, or a section's `paginate_path`).
pub fn pager_path(base: &str, word: &str, pager: usize) -> String {
    if pager == 0 { base.to_owned() } else { format!("{base}{word}/{}/", pager + 1) }
}

/// The word in the URLs of a list's later pages.
const PAGER_WORD: &str = "page";

fn taxonomy_pager_word(options: Option<&crate::build::config::TaxonomyConfig>) -> &str {
    options.and_then(|o| o.paginate_path.as_deref()).map(|w| w.trim_matches('/')).unwrap_or(PAGER_WORD)
}

fn section_pager_word(section: &Section) -> &str {
    section.source.front.paginate_path.as_deref().map(|w| w.trim_matches('/')).unwrap_or(PAGER_WORD)
}

/// `/docs/blog/hello/` → `blog/hello/` (the base path removed).
fn output_dir_of(site: &Site, path: &str) -> String {
    path.strip_prefix(&site.config.base_path).unwrap_or(path).trim_start_matches('/').to_owned()
}

/// The file a page at site path `path` is written to.
fn index_file(site: &Site, path: &str) -> String {
    format!("{}index.html", output_dir_of(site, path))
}

/// A paginated list: its pages in order, where it lives, the word of its
/// later pages' URLs, and how many a page shows (0: all).
#[derive(Clone, Copy)]
struct List<'a> {
    pages: &'a [usize],
    base: &'a str,
    word: &'a str,
    per: usize,
}

/// Template data that lists share, computed once per build.
struct TemplateData<'s> {
    site: &'s Site,
    globals: Context,
    /// The top sections, by path, as the navigation lists them.
    nav: Vec<(String, Value)>,
    /// The ten newest pages, given only to templates that name them: a
    /// copy in every page's context costs more than the page's own value.
    recent_pages: Value,
    /// Whether a template (or one it needs) names `recent_pages`, by name.
    uses_recent: Mutex<HashMap<String, bool>>,
    /// Each page's section index and position in that section's list.
    placement: Vec<Option<(usize, usize)>>,
    /// The optional fields pages are given.
    fields: PageFields,
    /// The same with every field, made for the first job that fails.
    with_all_fields: OnceLock<Box<TemplateData<'s>>>,
}

impl<'s> TemplateData<'s> {
    fn new(site: &'s Site, fields: PageFields) -> Self {
        let recent = recent_pages(site);
        let nav: Vec<(String, Value)> = site
            .nav_sections()
            .map(|s| {
                let path = &s.source.path;
                let item =
                    json!({"title": s.title(&site.config), "path": path, "permalink": site.config.permalink(path)});
                (path.clone(), item)
            })
            .collect();
        let mut globals = Context::new();
        globals.insert("config", &site.config.template_value());
        let taxonomies: Vec<Value> = site
            .config
            .taxonomies
            .iter()
            .map(|name| {
                let path = site.config.taxonomy_path(name);
                json!({"name": name, "path": path, "permalink": site.config.permalink(&path)})
            })
            .collect();
        globals.insert("taxonomy_links", &taxonomies);
        let recent_values: Vec<Value> =
            recent.iter().map(|&i| page_value(site, &site.pages[i], false, &fields)).collect();
        let recent_pages = Value::Array(recent_values);
        globals.insert("bengal_version", env!("CARGO_PKG_VERSION"));
        globals.insert("lang", &site.config.language);
        let mut placement = vec![None; site.pages.len()];
        for (section_index, section) in site.sections.iter().enumerate() {
            for (position, &page) in section.pages.iter().enumerate() {
                placement[page] = Some((section_index, position));
            }
        }
        TemplateData {
            site,
            globals,
            nav,
            recent_pages,
            uses_recent: Mutex::default(),
            placement,
            fields,
            with_all_fields: OnceLock::new(),
        }
    }

    /// What the site functions read: the links always; every page, section
    /// and taxonomy only when a template calls for them (`full`), since on a
    /// large site that is every page's content again.
    fn site_data(&self, full: bool) -> SiteData {
        let site = self.site;
        let mut data = SiteData { links: std::sync::Arc::clone(site.links()), ..SiteData::default() };
        if !full {
            return data;
        }
        data.pages = (0..site.pages.len())
            .into_par_iter()
            .map(|index| (site.pages[index].source.content_path.clone(), self.page_full(index)))
            .collect();
        data.sections = site
            .sections
            .iter()
            .map(|section| (section_relative_path(&section.source.dir), self.section_value(section, true)))
            .collect();
        data.taxonomies = (0..site.taxonomies.len())
            .map(|t| {
                let taxonomy = &site.taxonomies[t];
                let items: Vec<Value> = (0..taxonomy.terms.len()).map(|term| self.term_value(t, term, true)).collect();
                let value = json!({
                    "kind": site.config.taxonomy(&taxonomy.name),
                    "lang": site.config.language,
                    "permalink": site.config.permalink(&site.config.taxonomy_path(&taxonomy.name)),
                    "items": items,
                });
                (taxonomy.name.clone(), value)
            })
            .collect();
        data
    }

    /// Page `index` as lists show it. Made anew for each list: kept for
    /// every page, these values were a third of a large build's memory.
    fn listed(&self, index: usize) -> Value {
        page_value(self.site, &self.site.pages[index], false, &self.fields)
    }

    /// `pages` as lists show them.
    fn listed_all(&self, pages: impl Iterator<Item = usize>) -> Value {
        Value::Array(pages.map(|index| self.listed(index)).collect())
    }

    /// A page with its body, its section, and its neighbours in the
    /// section's list: Bengal's `previous`/`next` always, Zola's
    /// `lower`/`higher` when the section sorts its pages.
    fn page_full(&self, index: usize) -> Value {
        let site = self.site;
        let mut value = page_value(site, &site.pages[index], true, &self.fields);
        let link = |page: usize| {
            let source = &site.pages[page].source;
            json!({"title": page_title(&site.pages[page]), "path": source.path, "render": source.front.renders()})
        };
        if let (Some((section_index, position)), Some(object)) = (self.placement[index], value.as_object_mut()) {
            let section = &site.sections[section_index];
            let front = &section.source.front;
            object.insert(
                "section".into(),
                json!({"title": section.title(&site.config), "path": section.source.path, "render": front.renders()}),
            );
            let previous = position.checked_sub(1).map(|p| section.pages[p]);
            let next = section.pages.get(position + 1).copied();
            object.insert("previous".into(), previous.map(link).unwrap_or(Value::Null));
            object.insert("next".into(), next.map(link).unwrap_or(Value::Null));
            let sorted = front.sort_by.is_some_and(|sort| sort != SortBy::None) && !front.transparent;
            let sibling = |page: Option<usize>| match page {
                Some(page) if sorted => self.listed(page),
                _ => Value::Null,
            };
            if self.fields.has("lower") {
                object.insert("lower".into(), sibling(previous));
            }
            if self.fields.has("higher") {
                object.insert("higher".into(), sibling(next));
            }
        }
        value
    }

    /// The globals and the current URL for rendering `template`.
    fn context(&self, current_path: &str, template: &str, templates: &Templates) -> Context {
        let mut context = self.globals.clone();
        put(&mut context, "nav", self.nav_from(current_path));
        context.insert("current_path", current_path);
        context.insert("current_url", &self.site.config.permalink(current_path));
        let uses_recent = *self
            .uses_recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(template.to_owned())
            .or_insert_with(|| templates.mentions(template, "recent_pages"));
        if uses_recent {
            context.insert("recent_pages", &self.recent_pages);
        }
        context
    }

    /// The navigation seen from `current_path`, each item's `current` what
    /// `aria-current` takes: `"page"` on its own page, `"true"` below it
    /// (`/` only on its own), else false. The theme's loop then compares
    /// nothing, which for every page of a large site was a tenth of its
    /// template time.
    fn nav_from(&self, current_path: &str) -> Value {
        let items = self.nav.iter().map(|(path, item)| {
            let current = if path == current_path {
                json!("page")
            } else if path != "/" && current_path.starts_with(path.as_str()) {
                json!("true")
            } else {
                json!(false)
            };
            with_field(item.clone(), "current", current)
        });
        Value::Array(items.collect())
    }

    /// Renders `job`; when that fails with fields left out, again with every
    /// field: a template may have read one by a name it does not write, and
    /// an error's "did you mean" picks from the fields there are.
    fn run(&self, job: &Job, templates: &Templates) -> Result<Artifact> {
        match self.render(job, templates) {
            Err(_) if !self.fields.is_all() => self
                .with_all_fields
                .get_or_init(|| Box::new(TemplateData::new(self.site, PageFields::all())))
                .render(job, templates),
            result => result,
        }
    }

    fn render(&self, job: &Job, templates: &Templates) -> Result<Artifact> {
        let site = self.site;
        match job {
            Job::Page(index) => {
                let page = &site.pages[*index];
                let template = job.template(site, templates).unwrap_or(Cow::Borrowed("page.html"));
                check_template(templates, &template, &site.root.join(&page.source.file), page.source.body_line)
                    .map_err(|err| Error { file: Some(page.source.file.clone()), ..err })?;
                let mut context = self.context(&page.source.path, &template, templates);
                put(&mut context, "page", self.page_full(*index));
                let html = templates.render(&template, &context, &page.source.file)?;
                Ok(bytes(index_file(site, &page.source.path), html))
            }
            Job::SectionPager { section, pager } => {
                let template = job.template(site, templates).unwrap_or(Cow::Borrowed("section.html"));
                self.section_pager(*section, *pager, &template, templates)
            }
            Job::Taxonomy(t) => {
                let taxonomy = &site.taxonomies[*t];
                let path = site.config.taxonomy_path(&taxonomy.name);
                let template = job.template(site, templates).unwrap_or(Cow::Borrowed("taxonomy.html"));
                let mut context = self.context(&path, &template, templates);
                // Every term's pages are much to build for each rebuild of a
                // large site: only for a template that can show them.
                let terms = if templates.mentions(&template, "pages") { Terms::WithPages } else { Terms::Listed };
                let value = self.taxonomy_value(*t, terms);
                put(&mut context, "terms", value["terms"].clone());
                put(&mut context, "taxonomy", value);
                let html = templates.render(&template, &context, Path::new(&path))?;
                Ok(bytes(index_file(site, &path), html))
            }
            Job::TermPager { taxonomy, term, pager } => {
                let term_data = &site.taxonomies[*taxonomy].terms[*term];
                let base = self.term_path(*taxonomy, *term);
                let options = site.config.taxonomy(&site.taxonomies[*taxonomy].name);
                let per = options.and_then(|o| o.paginate_by).unwrap_or(site.config.paginate_by);
                let word = taxonomy_pager_word(options);
                let path = pager_path(&base, word, *pager);
                let template = job.template(site, templates).unwrap_or(Cow::Borrowed("term.html"));
                let mut context = self.context(&path, &template, templates);
                put(&mut context, "taxonomy", self.taxonomy_value(*taxonomy, Terms::None));
                put(&mut context, "term", self.term_value(*taxonomy, *term, per == 0));
                if per > 0 {
                    let list = List { pages: &term_data.pages, base: &base, word, per };
                    put(&mut context, "paginator", self.paginator(&list, *pager));
                }
                let html = templates.render(&template, &context, Path::new(&path))?;
                Ok(bytes(index_file(site, &path), html))
            }
            // A Zola site with a look of its own but no 404.html gets
            // Zola's plain page, not one in Bengal's theme.
            Job::NotFound
                if site.config.follows_zola() && templates.is_own("index.html") && !templates.is_own("404.html") =>
            {
                Ok(bytes("404.html", ZOLA_NOT_FOUND))
            }
            Job::NotFound => {
                let html = templates.render(
                    "404.html",
                    &self.context(&site.config.site_path("404.html"), "404.html", templates),
                    Path::new("404.html"),
                )?;
                Ok(bytes("404.html", html))
            }
            Job::Feed(name) => {
                let path = site.config.site_path(name);
                let xml =
                    templates.render(name, &self.feed_context(&site.dated, &path, name, templates), Path::new(name))?;
                Ok(bytes(name.clone(), xml))
            }
            Job::SectionFeed(index, name) => {
                let section = &site.sections[*index];
                let path = format!("{}{name}", section.source.path);
                let mut context = self.feed_context(&dated_newest_first(site, &section.pages), &path, name, templates);
                put(&mut context, "section", self.section_value(section, false));
                let xml = templates.render(name, &context, Path::new(&path))?;
                Ok(bytes(output_dir_of(site, &path), xml))
            }
            Job::TermFeed { taxonomy, term, name } => {
                let path = format!("{}{name}", self.term_path(*taxonomy, *term));
                let pages = &site.taxonomies[*taxonomy].terms[*term].pages;
                let mut context = self.feed_context(&dated_newest_first(site, pages), &path, name, templates);
                put(&mut context, "taxonomy", self.taxonomy_value(*taxonomy, Terms::None));
                put(&mut context, "term", self.term_value(*taxonomy, *term, false));
                let xml = templates.render(name, &context, Path::new(&path))?;
                Ok(bytes(output_dir_of(site, &path), xml))
            }
            Job::SectionRedirect(index) => {
                let section = &site.sections[*index];
                let target = section.source.front.redirect_to.as_deref().unwrap_or_default();
                let (path, permalink) = if target.contains("://") {
                    (target.to_owned(), target.to_owned())
                } else {
                    let path = site.config.site_path(target.trim_start_matches('/'));
                    (path.clone(), site.config.permalink(&path))
                };
                let file = index_file(site, &section.source.path);
                Ok(bytes(file, redirect_page(&path, &permalink)))
            }
            Job::Sitemap => {
                let mut context = self.context(&site.config.site_path("sitemap.xml"), "sitemap.xml", templates);
                put(&mut context, "entries", Value::Array(self.sitemap_entries()));
                let xml = templates.render("sitemap.xml", &context, Path::new("sitemap.xml"))?;
                Ok(bytes("sitemap.xml", xml))
            }
            Job::Robots if templates.has("robots.txt") => {
                let text = templates.render(
                    "robots.txt",
                    &self.context(&site.config.site_path("robots.txt"), "robots.txt", templates),
                    Path::new("robots.txt"),
                )?;
                Ok(bytes("robots.txt", text))
            }
            Job::Robots => {
                let sitemap = site.config.permalink(&site.config.site_path("sitemap.xml"));
                Ok(bytes("robots.txt", format!("User-agent: *\nAllow: /\n\nSitemap: {sitemap}\n")))
            }
            Job::SyntaxCss => Ok(bytes("syntax.css", highlight::stylesheet())),
            Job::SearchIndex | Job::Sass => Err(Error::new("this job writes several files; render_jobs runs it")),
            Job::ThemeFile { name, text } => Ok(bytes(*name, *text)),
            Job::Alias { to, from } => {
                let target = to;
                let from = from.trim_start_matches('/');
                let file = if from.ends_with(".html") {
                    from.to_owned()
                } else {
                    format!("{}/index.html", from.trim_end_matches('/'))
                };
                Ok(bytes(file, redirect_page(target, &site.config.permalink(target))))
            }
            Job::Copy { source, dest } => Ok(Artifact::Copy { path: dest.clone(), source: source.clone() }),
        }
    }

    fn section_pager(&self, index: usize, pager: usize, template: &str, templates: &Templates) -> Result<Artifact> {
        let site = self.site;
        let section = &site.sections[index];
        let per = section_paginate_by(site, section);
        let base = &section.source.path;
        let word = section_pager_word(section);
        let path = pager_path(base, word, pager);
        let file =
            section.source.file.clone().unwrap_or_else(|| PathBuf::from(format!("content/{}", section.source.dir)));
        check_template(templates, template, &site.root.join(&file), section.source.body_line)
            .map_err(|err| Error { file: Some(file.clone()), ..err })?;
        let mut context = self.context(&path, template, templates);
        put(&mut context, "section", self.section_value(section, per == 0));
        // Reversed for its list pages only: neighbours keep the section's order.
        let reversed: Vec<usize>;
        let pages = if section.source.front.paginate_reversed {
            reversed = section.pages.iter().rev().copied().collect();
            &reversed
        } else {
            &section.pages
        };
        // As in Zola, only a paginated list has a `paginator`.
        if per > 0 {
            put(&mut context, "paginator", self.paginator(&List { pages, base, word, per }, pager));
        }
        let html = templates.render(template, &context, &file)?;
        Ok(bytes(index_file(site, &path), html))
    }

    /// A section with Zola's names and shapes. Its `subsections` are objects
    /// (Bengal's) that carry Zola's `relative_path`, which `get_section`
    /// also accepts in place of the path text.
    pub(crate) fn section_value(&self, section: &Section, with_pages: bool) -> Value {
        let site = self.site;
        let config = &site.config;
        let subsections: Vec<Value> = section
            .subsections
            .iter()
            .map(|&i| {
                let sub = &site.sections[i];
                json!({
                    "title": shown_title(config, &sub.source.front.title, || sub.title(config)),
                    "path": sub.source.path,
                    "permalink": config.permalink(&sub.source.path),
                    "relative_path": section_relative_path(&sub.source.dir),
                    "page_count": sub.pages.len(),
                    "render": sub.source.front.renders(),
                })
            })
            .collect();
        // A paginated section lists its pages through `paginator` only, so that
        // each of its list pages does not carry every page of the section.
        let pages = if with_pages { self.listed_all(section.pages.iter().copied()) } else { json!([]) };
        let front = &section.source.front;
        let rendered = &section.rendered;
        let value = json!({
            "title": shown_title(config, &front.title, || section.title(config)),
            "description": front.description,
            "content": rendered.html,
            "path": section.source.path,
            "components": components(site, &section.source.path),
            "permalink": config.permalink(&section.source.path),
            "relative_path": section_relative_path(&section.source.dir),
            "colocated_path": null,
            "ancestors": ancestors(site, &section.source.dir, false),
            "draft": front.draft,
            "subsections": subsections,
            "toc": toc_tree(site, &section.source.path, &rendered.toc),
            "word_count": rendered.word_count,
            "reading_time": rendered.reading_time(),
            "assets": [],
            "lang": config.language,
            "translations": [],
            "backlinks": [],
            "generate_feeds": front.generate_feeds,
            "transparent": front.transparent,
            "paginate_by": front.paginate_by,
            "paginate_reversed": front.paginate_reversed,
            "extra": front.extra,
        });
        with_field(value, "pages", pages)
    }

    /// Zola's paginator; its links are permalinks, as in Zola.
    fn paginator(&self, list: &List<'_>, pager: usize) -> Value {
        let List { pages, base, word, per } = *list;
        let number_pagers = pager_count(pages.len(), per);
        let shown = match per {
            0 => self.listed_all(pages.iter().copied()),
            per => self.listed_all(pages.iter().skip(pager * per).take(per).copied()),
        };
        let link = |pager: usize| self.site.config.permalink(&pager_path(base, word, pager));
        let value = json!({
            "paginate_by": per,
            "base_url": self.site.config.permalink(&format!("{base}{word}/")),
            "current_index": pager + 1,
            "number_pagers": number_pagers,
            "first": link(0),
            "last": link(number_pagers - 1),
            "previous": (pager > 0).then(|| link(pager - 1)),
            "next": (pager + 1 < number_pagers).then(|| link(pager + 1)),
            "total_pages": pages.len(),
        });
        with_field(value, "pages", shown)
    }

    /// The file a job that renders one page writes (a page, a list page, a
    /// taxonomy's page); `None` for other jobs.
    fn page_file(&self, job: &Job) -> Option<String> {
        let site = self.site;
        let path = match job {
            Job::Page(index) => Cow::Borrowed(site.pages[*index].source.path.as_str()),
            Job::SectionPager { section, pager } => {
                let section = &site.sections[*section];
                Cow::Owned(pager_path(&section.source.path, section_pager_word(section), *pager))
            }
            Job::Taxonomy(t) => Cow::Owned(site.config.taxonomy_path(&site.taxonomies[*t].name)),
            Job::TermPager { taxonomy, term, pager } => {
                let options = site.config.taxonomy(&site.taxonomies[*taxonomy].name);
                Cow::Owned(pager_path(&self.term_path(*taxonomy, *term), taxonomy_pager_word(options), *pager))
            }
            _ => return None,
        };
        Some(index_file(site, &path))
    }

    fn term_path(&self, taxonomy: usize, term: usize) -> String {
        let taxonomy = &self.site.taxonomies[taxonomy];
        format!("{}{}/", self.site.config.taxonomy_path(&taxonomy.name), taxonomy.terms[term].slug)
    }

    /// A term; `with_pages` is false on paginated term pages, as for sections.
    fn term_value(&self, taxonomy: usize, term: usize, with_pages: bool) -> Value {
        let data = &self.site.taxonomies[taxonomy].terms[term];
        let path = self.term_path(taxonomy, term);
        let value = json!({
            "name": data.name,
            "slug": data.slug,
            "permalink": self.site.config.permalink(&path),
            "path": path,
            "page_count": data.pages.len(),
        });
        let pages = if with_pages { self.listed_all(data.pages.iter().copied()) } else { json!([]) };
        with_field(value, "pages", pages)
    }

    fn taxonomy_value(&self, index: usize, terms: Terms) -> Value {
        let taxonomy = &self.site.taxonomies[index];
        let path = self.site.config.taxonomy_path(&taxonomy.name);
        let terms: Vec<Value> = match terms {
            Terms::None => Vec::new(),
            Terms::Listed | Terms::WithPages => {
                (0..taxonomy.terms.len()).map(|term| self.term_value(index, term, terms == Terms::WithPages)).collect()
            }
        };
        let options = self.site.config.taxonomy(&taxonomy.name);
        json!({
            "name": taxonomy.name,
            "permalink": self.site.config.permalink(&path),
            "path": path,
            "terms": terms,
            "paginate_by": options.and_then(|o| o.paginate_by),
            "paginate_path": options.and_then(|o| o.paginate_path.as_deref()),
            "feed": options.is_some_and(|o| o.feed),
            "render": options.is_none_or(|o| o.render),
            "lang": self.site.config.language,
        })
    }

    /// A feed of `pages` (dated, newest first) at site path `path`.
    fn feed_context(&self, pages: &[usize], path: &str, template: &str, templates: &Templates) -> Context {
        let site = self.site;
        let dated: Vec<&Page> = pages.iter().map(|&i| &site.pages[i]).collect();
        let shown: Vec<Value> =
            dated.iter().take(FEED_ENTRIES).map(|page| page_value(site, page, true, &self.fields)).collect();
        let entries: Vec<Value> = dated
            .iter()
            .zip(&shown)
            .map(|(page, value)| {
                let published = page.source.date.as_ref().map(|d| d.rfc3339());
                let updated = page.source.updated.as_ref().map(|d| d.rfc3339()).or_else(|| published.clone());
                json!({"page": value, "published": published, "updated": updated})
            })
            .collect();
        let last_updated = dated
            .iter()
            .filter_map(|p| p.source.updated.as_ref().or(p.source.date.as_ref()))
            .max()
            .map(|d| d.rfc3339())
            .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned());
        let mut context = self.context(path, template, templates);
        context.insert("feed_url", &site.config.permalink(path));
        context.insert("last_updated", &last_updated);
        put(&mut context, "entries", Value::Array(entries));
        put(&mut context, "pages", Value::Array(shown));
        context
    }

    /// The search index, with the documents Zola puts in it: each section
    /// not left out (`in_search_index = false`, `redirect_to`) and its pages
    /// not left out.
    fn search_index(&self) -> Result<Vec<Artifact>> {
        let site = self.site;
        let dates: Vec<Option<String>> =
            site.pages.iter().map(|p| p.source.date.as_ref().map(|d| d.rfc3339())).collect();
        let permalinks: Vec<String> = site.pages.iter().map(|p| site.config.permalink(&p.source.path)).collect();
        let section_links: Vec<String> = site.sections.iter().map(|s| site.config.permalink(&s.source.path)).collect();
        let mut documents = Vec::new();
        for (index, section) in site.sections.iter().enumerate() {
            let front = &section.source.front;
            if front.in_search_index == Some(false) || front.redirect_to.is_some() {
                continue;
            }
            documents.push(search::Document {
                permalink: &section_links[index],
                title: front.title.as_deref(),
                description: front.description.as_deref(),
                date: None,
                path: &section.source.path,
                body_html: &section.rendered.html,
            });
            for &page in &section.pages {
                let source = &site.pages[page].source;
                if source.front.in_search_index == Some(false) || source.section_dir != section.source.dir {
                    continue;
                }
                documents.push(search::Document {
                    permalink: &permalinks[page],
                    title: source.front.title.as_deref(),
                    description: source.front.description.as_deref(),
                    date: dates[page].as_deref(),
                    path: &source.path,
                    body_html: &site.pages[page].rendered.html,
                });
            }
        }
        let files = search::index_files(&site.config.search, &site.config.language, &documents)?;
        Ok(files.into_iter().map(|(path, text)| bytes(path, text)).collect())
    }

    fn sitemap_entries(&self) -> Vec<Value> {
        let site = self.site;
        let config = &site.config;
        let mut entries: Vec<Value> = site
            .sections
            .iter()
            .map(|s| json!({"permalink": config.permalink(&s.source.path), "updated": null}))
            .collect();
        entries.extend(site.pages.iter().map(|page| {
            let updated = page.source.updated.as_ref().or(page.source.date.as_ref()).map(|d| d.rfc3339());
            json!({"permalink": config.permalink(&page.source.path), "updated": updated})
        }));
        for (t, taxonomy) in site.taxonomies.iter().enumerate() {
            let path = config.taxonomy_path(&taxonomy.name);
            entries.push(json!({"permalink": config.permalink(&path), "updated": null}));
            for term in 0..taxonomy.terms.len() {
                entries.push(json!({"permalink": config.permalink(&self.term_path(t, term)), "updated": null}));
            }
        }
        entries
    }
}

/// Which terms a taxonomy's value lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Terms {
    /// None (a term's own page).
    None,
    /// Each with its name, URLs and `page_count`.
    Listed,
    /// Each with its `pages` as well.
    WithPages,
}

/// Zola's built-in `404.html`.
const ZOLA_NOT_FOUND: &str = "<!doctype html>\n<title>404 Not Found</title>\n<h1>404 Not Found</h1>\n";

/// The title templates see: the front matter's, else one made from the
/// file name for Bengal's own sites, and none for a Zola site, as in Zola
/// (whose templates then show nothing rather than a name it never had).
fn shown_title(config: &Config, front: &Option<String>, derived: impl FnOnce() -> String) -> Option<String> {
    front.clone().or_else(|| (!config.follows_zola()).then(derived))
}

/// A page as templates see it, with Zola's names and shapes (and Bengal's
/// `weight` and `render`); lists leave out `content` and `toc`.
pub(crate) fn page_value(site: &Site, page: &Page, full: bool, fields: &PageFields) -> Value {
    let source = &page.source;
    let rendered = &page.rendered;
    let slug = source.path.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
    let mut value = json!({
        "title": shown_title(&site.config, &source.front.title, || page_title(page).into_owned()),
        "description": source.front.description,
        "date": source.date.as_ref().map(|d| &d.text),
        "updated": source.updated.as_ref().map(|d| &d.text),
        "slug": slug,
        "path": source.path,
        "permalink": site.config.permalink(&source.path),
        "summary": rendered.summary,
        "word_count": rendered.word_count,
        "reading_time": rendered.reading_time(),
        "taxonomies": source.terms,
        "render": source.front.renders(),
    });
    let Some(object) = value.as_object_mut() else { return value };
    let date = source.date.as_ref().map(|d| d.at.date());
    let mut optional = |field: &'static str, value: &dyn Fn() -> Value| {
        if fields.has(field) {
            object.insert(field.into(), value());
        }
    };
    optional("year", &|| json!(date.map(|d| d.year())));
    optional("month", &|| json!(date.map(|d| d.month())));
    optional("day", &|| json!(date.map(|d| d.day())));
    optional("draft", &|| json!(source.front.draft));
    optional("weight", &|| json!(source.front.weight));
    optional("components", &|| json!(components(site, &source.path)));
    optional("relative_path", &|| json!(source.content_path));
    optional("colocated_path", &|| json!(source.colocated_path()));
    optional("ancestors", &|| json!(ancestors(site, &source.section_dir, true)));
    optional("authors", &|| json!(source.front.authors));
    optional("extra", &|| json!(source.front.extra));
    optional("assets", &|| json!(source.asset_paths(&site.root)));
    optional("lang", &|| json!(site.config.language));
    optional("translations", &|| json!([]));
    optional("backlinks", &|| json!([]));
    if full {
        object.insert("content".into(), Value::String(rendered.html.clone()));
        object.insert("toc".into(), toc_tree(site, &source.path, &rendered.toc));
    }
    value
}

/// The fields of a page's value that few templates read (most of them
/// Zola's), each built only when a template names it: building and copying
/// them for every page and list was a third of the render time of a large
/// site. A template that reads fields by names it does not write gets all.
pub(crate) struct PageFields {
    named: Vec<&'static str>,
}

impl PageFields {
    const OPTIONAL: [&'static str; 17] = [
        "year",
        "month",
        "day",
        "draft",
        "weight",
        "components",
        "relative_path",
        "colocated_path",
        "ancestors",
        "authors",
        "extra",
        "assets",
        "lang",
        "translations",
        "backlinks",
        "lower",
        "higher",
    ];

    /// The fields `templates` may read.
    pub(crate) fn read_by(templates: &Templates) -> PageFields {
        PageFields { named: Self::OPTIONAL.into_iter().filter(|field| templates.may_read(field)).collect() }
    }

    /// Every field.
    pub(crate) fn all() -> PageFields {
        PageFields { named: Self::OPTIONAL.to_vec() }
    }

    fn has(&self, field: &str) -> bool {
        self.named.contains(&field)
    }

    fn is_all(&self) -> bool {
        self.named.len() == Self::OPTIONAL.len()
    }
}

/// The relative paths (`_index.md`, `blog/_index.md`) of the sections above
/// content directory `dir`, the root first; `dir`'s own when `inclusive`.
fn ancestors(site: &Site, dir: &str, inclusive: bool) -> Vec<String> {
    let mut chain = Vec::new();
    let mut current = if inclusive { Some(dir) } else { (!dir.is_empty()).then(|| crate::paths::parent_of(dir)) };
    while let Some(at) = current {
        if site.section_in(at).is_some() {
            chain.push(section_relative_path(at));
        }
        current = (!at.is_empty()).then(|| crate::paths::parent_of(at));
    }
    chain.reverse();
    chain
}

/// A site path split on `/`, without the base path (Zola's `components`).
fn components(site: &Site, path: &str) -> Vec<String> {
    output_dir_of(site, path).split('/').filter(|part| !part.is_empty()).map(str::to_owned).collect()
}

/// Headings as Zola's nested table of contents: each with its `permalink`
/// and the lower-level headings under it as `children`.
fn toc_tree(site: &Site, path: &str, headings: &[crate::build::markdown::Heading]) -> Value {
    fn take(site: &Site, path: &str, headings: &[crate::build::markdown::Heading], at: &mut usize) -> Vec<Value> {
        let mut level = None;
        let mut items = Vec::new();
        while let Some(heading) = headings.get(*at) {
            match level {
                Some(level) if heading.level < level => break,
                Some(level) if heading.level > level => {
                    let children = take(site, path, headings, at);
                    if let Some(Value::Array(under)) =
                        items.last_mut().and_then(|last: &mut Value| last.get_mut("children"))
                    {
                        under.extend(children);
                    }
                    continue;
                }
                _ => level = Some(heading.level),
            }
            *at += 1;
            items.push(json!({
                "level": heading.level,
                "id": heading.id,
                "title": heading.title,
                "permalink": format!("{}#{}", site.config.permalink(path), heading.id),
                "children": [],
            }));
        }
        items
    }
    let mut at = 0;
    let mut tree = Vec::new();
    while at < headings.len() {
        tree.extend(take(site, path, headings, &mut at));
    }
    Value::Array(tree)
}

/// Whether a feed of `pages` shows page `index` among its entries: fewer
/// than [`FEED_ENTRIES`] dated pages come before it in
/// [`dated_newest_first`]'s stable order. Counted, not sorted: the dev
/// server asks this on every edit, for lists of every page.
pub fn feed_shows(site: &Site, pages: &[usize], index: usize) -> bool {
    let page = &site.pages[index];
    let Some(at) = pages.iter().position(|&p| p == index).filter(|_| page.source.date.is_some()) else {
        return false;
    };
    let ahead = pages.iter().enumerate().filter(|&(position, &other)| {
        let other = &site.pages[other];
        position != at
            && other.source.date.is_some()
            && match crate::build::site::compare_pages(other, page) {
                std::cmp::Ordering::Less => true,
                std::cmp::Ordering::Equal => position < at,
                std::cmp::Ordering::Greater => false,
            }
    });
    ahead.count() < FEED_ENTRIES
}

/// The dated ones of `pages`, newest first: what a feed lists.
fn dated_newest_first(site: &Site, pages: &[usize]) -> Vec<usize> {
    let mut dated: Vec<usize> = pages.iter().copied().filter(|&i| site.pages[i].source.date.is_some()).collect();
    dated.sort_by(|&a, &b| crate::build::site::compare_pages(&site.pages[a], &site.pages[b]));
    dated
}

/// `value` (an object) with `field` set to `inner`, moved in: `json!` would
/// copy it.
fn with_field(mut value: Value, field: &str, inner: Value) -> Value {
    if let Some(object) = value.as_object_mut() {
        object.insert(field.to_owned(), inner);
    }
    value
}

/// Puts `value` into `context` under `key` by moving it: `Context::insert`
/// would copy it, and a list's pages are most of a context.
fn put(context: &mut Context, key: &str, value: Value) {
    let mut object = serde_json::Map::new();
    object.insert(key.to_owned(), value);
    // An object always makes a context.
    if let Ok(moved) = Context::from_value(Value::Object(object)) {
        context.extend(moved);
    }
}

fn bytes(path: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Artifact {
    Artifact::Bytes { path: path.into(), bytes: bytes.into() }
}

fn check_template(templates: &Templates, name: &str, file: &Path, body_line: usize) -> Result<()> {
    if templates.has(name) {
        return Ok(());
    }
    // The front matter ends where the body starts; find the `template` key in it.
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let front: String = text.lines().take(body_line.saturating_sub(1)).collect::<Vec<_>>().join("\n");
    Err(Error::in_file(file, format!("template `{name}` does not exist"))
        .at_line(find_key_line(&front, "template"))
        .with_hint(format!("add templates/{name}, or remove the `template` key to use the default")))
}

/// A redirect page with the words of Zola's, so a migrated site reads the same.
fn redirect_page(path: &str, permalink: &str) -> String {
    let path = escape_html(path);
    let permalink = escape_html(permalink);
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Redirect</title>\
<link rel=\"canonical\" href=\"{permalink}\"><meta http-equiv=\"refresh\" content=\"0; url={path}\"></head>\
<body><p><a href=\"{path}\">Click here</a> to be redirected.</p></body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_counts_and_paths() {
        assert_eq!(pager_count(0, 5), 1);
        assert_eq!(pager_count(5, 5), 1);
        assert_eq!(pager_count(6, 5), 2);
        assert_eq!(pager_count(100, 0), 1);
        assert_eq!(pager_path("/blog/", "page", 0), "/blog/");
        assert_eq!(pager_path("/blog/", "page", 2), "/blog/page/3/");
        assert_eq!(pager_path("/blog/", "archive", 1), "/blog/archive/2/");
    }

    #[test]
    fn redirect_is_escaped() {
        let html = redirect_page("/a/\"b/", "https://x.org/a/");
        assert!(html.contains("url=/a/&quot;b/"));
    }
}

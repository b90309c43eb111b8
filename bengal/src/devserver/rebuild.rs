//! Incremental rebuilds: a batch of changed paths becomes the smallest set of
//! output files that can differ, rendered and written alone.
//!
//! - `bengal.toml`, a deleted or added file, or a moved page: everything (the
//!   Markdown of unchanged bodies is still reused).
//! - a template: the outputs whose template needs it (parents, imports,
//!   includes).
//! - a static file: that file, copied alone.
//! - an edit to a page: that page; when what lists show of it changed, also
//!   its neighbours and the list pages that show it.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use crate::config::CONFIG_FILE;
use crate::content::{self, CONTENT_DIR, Content};
use crate::error::Result;
use crate::output::{self, Artifact, WriteReport};
use crate::render::{self, Job, STATIC_DIR, section_paginate_by};
use crate::site::{BuildOptions, Page, Site};
use crate::templates::{TEMPLATES_DIR, Templates};
use crate::watch::Batch;

/// The last good build, kept to rebuild from.
struct Built {
    site: Site,
    templates: Templates,
}

/// Rebuilds one site into one output directory.
pub struct Rebuilder {
    options: BuildOptions,
    output: PathBuf,
    last: Option<Built>,
}

/// What a batch of changes asks for.
#[derive(Debug, Default, PartialEq, Eq)]
struct Plan {
    everything: bool,
    templates: BTreeSet<String>,
    pages: BTreeSet<PathBuf>,
    statics: BTreeSet<PathBuf>,
}

impl Rebuilder {
    /// A rebuilder that has built nothing yet.
    pub fn new(options: BuildOptions, output: PathBuf) -> Self {
        Rebuilder { options, output, last: None }
    }

    /// Whether a build has succeeded yet.
    pub fn has_built(&self) -> bool {
        self.last.is_some()
    }

    /// Builds everything; on error the last good build stays in place.
    pub fn full(&mut self) -> Result<WriteReport> {
        let site = Site::load_reusing(&self.options, self.last.as_ref().map(|b| &b.site))?;
        let templates = Templates::load(&self.options.root, &site.config)?;
        let artifacts = render::render_site(&site, &templates, &|_, _| {})?;
        let report = output::write_output(&self.output, &artifacts)?;
        self.last = Some(Built { site, templates });
        Ok(report)
    }

    /// Rebuilds what `batch` can have changed.
    pub fn apply(&mut self, batch: &Batch) -> Result<WriteReport> {
        let plan = classify(&self.options.root, batch);
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
            let all = render::plan(&last.site)?;
            jobs.extend(all.into_iter().filter(|job| {
                job.template(&last.site)
                    .is_some_and(|name| templates.closure(name).iter().any(|t| plan.templates.contains(t)))
            }));
            last.templates = templates;
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
        for source in &plan.statics {
            let relative = source.strip_prefix(self.options.root.join(STATIC_DIR)).unwrap_or(source);
            let dest = relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            jobs.push(Job::Copy { source: source.clone(), dest });
        }
        let mut seen = HashSet::new();
        jobs.retain(|job| seen.insert(format!("{job:?}")));
        let artifacts: Vec<Artifact> = render::render_jobs(&last.site, &last.templates, &jobs, &|_, _| {})?;
        output::write_changed(&self.output, &artifacts)
    }
}

/// Sorts a batch into what it asks for. Anything but an edit of existing
/// Markdown pages, templates or static files asks for everything.
fn classify(root: &Path, batch: &Batch) -> Plan {
    let mut plan = Plan::default();
    for path in &batch.paths {
        let Ok(relative) = path.strip_prefix(root) else { continue };
        if relative.as_os_str().is_empty() {
            // The watcher lost events (a kernel queue overflow): anything may have changed.
            plan.everything = true;
            continue;
        }
        let exists = path.is_file();
        let first = relative.components().next().map(|c| c.as_os_str().to_string_lossy().into_owned());
        match first.as_deref() {
            Some(CONFIG_FILE) => plan.everything = true,
            Some(TEMPLATES_DIR) if exists => {
                let name = relative.strip_prefix(TEMPLATES_DIR).unwrap_or(relative);
                plan.templates
                    .insert(name.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"));
            }
            Some(TEMPLATES_DIR) => plan.everything = true,
            Some(STATIC_DIR) if exists => {
                plan.statics.insert(path.clone());
            }
            Some(STATIC_DIR) => plan.everything = true,
            Some(CONTENT_DIR) => {
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                let plain_page = exists && name.ends_with(".md") && name != "_index.md" && name != "index.md";
                if plain_page {
                    plan.pages.insert(path.clone());
                } else if path.is_dir() {
                    // A directory event alone says nothing; its files have their own.
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
    let mut content = Content {
        pages: old.pages.iter().map(|p| p.source.clone()).collect(),
        sections: old.sections.iter().map(|s| s.source.clone()).collect(),
        loose_assets: old.loose_assets.clone(),
    };
    let mut edited = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&options.root).unwrap_or(file);
        let Some(index) = content.pages.iter().position(|p| p.file == relative) else {
            return Ok(Edit::Structural);
        };
        let page = content::load_page(&options.root, &old.config, file)?;
        if page.front.draft && !options.drafts || list_key(&page) != list_key(&content.pages[index]) {
            return Ok(Edit::Structural);
        }
        content.pages[index] = page;
        edited.push(index);
    }
    let site = Site::assemble(options.root.clone(), old.config.clone(), content, Some(old))?;
    let mut jobs = Vec::new();
    for &index in &edited {
        jobs.push(Job::Page(index));
        jobs.push(Job::Feed);
        if listed(&old.pages[index]) == listed(&site.pages[index]) {
            continue;
        }
        // What lists show of the page changed: every list showing it, its
        // neighbours (they name it), and whatever uses the recent pages.
        jobs.push(Job::Sitemap);
        jobs.extend(lists_showing(&site, index));
        jobs.extend(render::plan(&site)?.into_iter().filter(|job| {
            matches!(job, Job::Page(i) if neighbours(&site, index).contains(i))
                || job.template(&site).is_some_and(|name| templates.mentions(name, "recent_pages"))
        }));
    }
    Ok(Edit::Pages { site: Box::new(site), jobs })
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
            let pager = at.checked_div(per).unwrap_or(0);
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

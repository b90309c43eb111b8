//! The site as data: content rendered to HTML and assembled into sections,
//! taxonomies and pagination, ready for templates.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::build::config::{AnchorPlace, Config, MarkdownConfig};
use crate::build::content::{self, Content, LooseAsset, SourcePage, SourceSection};
use crate::build::frontmatter::{SectionFront, SortBy};
use crate::build::markdown::{Rendered, Renderer};
use crate::build::shortcodes;
use crate::build::templates::Templates;
use crate::error::{Error, Result};

/// What a build is asked to do.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The site root (where `bengal.toml` is).
    pub root: PathBuf,
    /// Include pages marked `draft = true`.
    pub drafts: bool,
    /// Write here instead of the configured `output_dir`.
    pub output: Option<PathBuf>,
    /// Use this instead of the configured `base_url` (the dev server's own URL).
    pub base_url: Option<String>,
}

/// A page with its body rendered.
#[derive(Debug, Clone)]
pub struct Page {
    /// As read from disk.
    pub source: Arc<SourcePage>,
    /// Body as HTML.
    pub rendered: Arc<Rendered>,
}

/// A section with its body rendered and its members listed.
#[derive(Debug, Clone)]
pub struct Section {
    /// As read from disk.
    pub source: SourceSection,
    /// Body as HTML.
    pub rendered: Rendered,
    /// Indices into [`Site::pages`], in display order.
    pub pages: Vec<usize>,
    /// Indices into [`Site::sections`] of direct subsections, by weight then title.
    pub subsections: Vec<usize>,
}

impl Section {
    /// The title: front matter, else the directory name.
    pub fn title(&self, config: &Config) -> String {
        if let Some(title) = &self.source.front.title {
            return title.clone();
        }
        match self.source.dir.rsplit('/').next() {
            Some(name) if !name.is_empty() => title_case(name),
            _ => config.title.clone(),
        }
    }
}

/// A taxonomy such as `tags`, with its terms.
#[derive(Debug, Clone)]
pub struct Taxonomy {
    /// The taxonomy's name, e.g. `tags`.
    pub name: String,
    /// Its terms, ordered by slug.
    pub terms: Vec<Term>,
}

/// One term of a taxonomy, e.g. the tag `rust`.
#[derive(Debug, Clone)]
pub struct Term {
    /// Of the spellings pages use (`Rust`, `rust`), the first in byte
    /// order, as Zola shows it.
    pub name: String,
    /// URL segment.
    pub slug: String,
    /// Indices into [`Site::pages`], in display order.
    pub pages: Vec<usize>,
}

/// A loaded site: everything templates need, nothing written yet.
#[derive(Debug, Clone)]
pub struct Site {
    /// The site root.
    pub root: PathBuf,
    /// `bengal.toml`, resolved.
    pub config: Config,
    /// Every published page, ordered by content path.
    pub pages: Vec<Page>,
    /// Every section, the root first.
    pub sections: Vec<Section>,
    /// One entry per configured taxonomy.
    pub taxonomies: Vec<Taxonomy>,
    /// Indices of dated pages, newest first (for feeds and recent pages).
    pub dated: Vec<usize>,
    /// Non-Markdown files under `content/` outside bundles.
    pub loose_assets: Vec<LooseAsset>,
    /// Every content path (`blog/hello.md`, `blog/_index.md`) with its URL
    /// path; shared with the template functions, and unchanged by the dev
    /// server's edits (which keep every path).
    links: Arc<HashMap<String, String>>,
}

impl Site {
    /// Reads the configuration, the templates (for shortcodes) and the
    /// content, and renders every Markdown body.
    #[cfg(test)]
    pub fn load(options: &BuildOptions) -> Result<Site> {
        let config = Site::load_config(options)?;
        let templates = Templates::load(&options.root, &config)?;
        Site::load_with(options, config, &templates, None)
    }

    /// The site's configuration, served from `options.base_url` when given.
    pub fn load_config(options: &BuildOptions) -> Result<Config> {
        let config = Config::load(&options.root)?;
        Ok(match &options.base_url {
            Some(base_url) => config.with_base_url(base_url),
            None => config,
        })
    }

    /// Reads the content and renders every Markdown body with `templates`'
    /// shortcodes, reusing the rendered Markdown of `previous` for every body
    /// that did not change, when no page or section moved and no shortcode
    /// changed (the dev server's rebuild after an edit).
    pub fn load_with(
        options: &BuildOptions,
        config: Config,
        templates: &Templates,
        previous: Option<&Site>,
    ) -> Result<Site> {
        let content = content::load(&options.root, &config, options.drafts)?;
        Site::assemble(options.root.clone(), config, content, previous, templates)
    }

    /// Renders Markdown and assembles sections and taxonomies from `content`.
    pub fn assemble(
        root: PathBuf,
        config: Config,
        content: Content,
        previous: Option<&Site>,
        templates: &Templates,
    ) -> Result<Site> {
        check_unique_paths(&content.pages, &content.sections)?;
        let links = Arc::new(link_map(&content.pages, &content.sections));
        templates.set_site_data(crate::build::templates::SiteData { links: Arc::clone(&links), ..Default::default() });
        // Rendered bodies depend on the paths links resolve to, so they are
        // reused only while every path is as before.
        let reusable: HashMap<&str, &Page> = match previous {
            Some(old) if old.config.markdown == config.markdown && old.links == links => {
                old.pages.iter().map(|p| (p.source.content_path.as_str(), p)).collect()
            }
            _ => HashMap::new(),
        };
        let resolve = |target: &str| links.get(target.trim_start_matches('/')).cloned();
        let fronts: HashMap<&str, &SectionFront> =
            content.sections.iter().map(|s| (s.dir.as_str(), &s.front)).collect();
        let options_in = |dir: &str| markdown_options(&config.markdown, fronts.get(dir).copied());
        let render_body =
            |options: &MarkdownConfig, file: &Path, body: &str, body_line: usize, owner: shortcodes::Owner<'_>| {
                render_markdown(options, &resolve, (templates, &config, owner), file, body, body_line)
            };
        let pages: Vec<Result<Page>> = content
            .pages
            .into_par_iter()
            .map(|source| {
                let options = options_in(&source.section_dir);
                let rendered = match (reusable.get(source.content_path.as_str()), previous) {
                    (Some(old_page), Some(old))
                        if old_page.source.body_hash == source.body_hash
                            && old.markdown_options_in(&source.section_dir) == options
                            && !shortcodes_changed(&old_page.rendered, templates) =>
                    {
                        Arc::clone(&old_page.rendered)
                    }
                    _ => {
                        let owner = || ("page", page_meta(&config, &root, &source));
                        Arc::new(render_body(&options, &source.file, &source.body, source.body_line, &owner)?)
                    }
                };
                let source = Arc::new(Arc::unwrap_or_clone(source).rendered());
                Ok(Page { source, rendered })
            })
            .collect();
        let pages = crate::error::all(pages)?;
        let sections: Vec<Result<Section>> = content
            .sections
            .iter()
            .map(|source| {
                let rendered = match &source.file {
                    Some(file) => {
                        let owner = || ("section", section_meta(&config, source));
                        render_body(&options_in(&source.dir), file, &source.body, source.body_line, &owner)?
                    }
                    None => Rendered::default(),
                };
                let source = source.clone();
                Ok(Section { source, rendered, pages: Vec::new(), subsections: Vec::new() })
            })
            .collect();
        let mut sections = crate::error::all(sections)?;

        check_anchor_links(&pages, &sections)?;
        let section_index: HashMap<String, usize> =
            sections.iter().enumerate().map(|(i, s)| (s.source.dir.clone(), i)).collect();
        // A page that is not rendered is in no list (as in Zola), but keeps
        // its terms.
        for (index, page) in pages.iter().enumerate().filter(|(_, page)| page.source.front.renders()) {
            // A transparent section passes its pages on to its parent too.
            let mut dir = page.source.section_dir.as_str();
            while let Some(&section) = section_index.get(dir) {
                sections[section].pages.push(index);
                if !sections[section].source.front.transparent || dir.is_empty() {
                    break;
                }
                dir = crate::paths::parent_of(dir);
            }
        }
        for index in 1..sections.len() {
            let parent = crate::paths::parent_of(&sections[index].source.dir);
            if let Some(&parent) = section_index.get(parent) {
                sections[parent].subsections.push(index);
            }
        }
        for index in 0..sections.len() {
            let mut members = std::mem::take(&mut sections[index].pages);
            let sort_by = sections[index].source.front.sort_by;
            members.sort_by(|&a, &b| match sort_by {
                Some(sort_by) => compare_by(sort_by, &pages[a], &pages[b]),
                None => compare_pages(&pages[a], &pages[b]),
            });
            let mut subsections = std::mem::take(&mut sections[index].subsections);
            subsections.sort_by(|&a, &b| compare_sections(&sections[a], &sections[b], &config));
            sections[index].pages = members;
            sections[index].subsections = subsections;
        }
        let taxonomies = collect_taxonomies(&config, &pages)?;
        let mut dated: Vec<usize> = (0..pages.len()).filter(|&i| pages[i].source.date.is_some()).collect();
        dated.sort_by(|&a, &b| compare_pages(&pages[a], &pages[b]));
        Ok(Site { root, config, pages, sections, taxonomies, dated, loose_assets: content.loose_assets, links })
    }

    /// Replaces page `index` with `source`, re-rendering its body, when the
    /// edit leaves every list as it was (same path, date, weight, title,
    /// terms): the dev server's fast path, which re-sorts nothing.
    pub fn replace_page(&mut self, index: usize, source: SourcePage, templates: &Templates) -> Result<()> {
        let resolve = |target: &str| self.resolve_link(target);
        let options = self.markdown_options_in(&source.section_dir);
        let owner = || ("page", page_meta(&self.config, &self.root, &source));
        let shortcodes = (templates, &self.config, &owner as shortcodes::Owner<'_>);
        let rendered = render_markdown(&options, &resolve, shortcodes, &source.file, &source.body, source.body_line)?;
        let page = Page { source: Arc::new(source.rendered()), rendered: Arc::new(rendered) };
        // Most pages link to no heading: the map of every heading is built
        // only for those that do, so an edit stays cheap on a large site.
        if !page.rendered.anchor_links.is_empty() {
            let headings = heading_ids(&self.pages, &self.sections);
            check_links_of(&headings, &page.source.file, page.source.body_line, &page.rendered)?;
        }
        self.pages[index] = page;
        Ok(())
    }

    /// The pages whose bodies call a shortcode that `templates` changed,
    /// added or removed, or `None` when a section's body does (the dev
    /// server then rebuilds everything).
    pub fn shortcode_users(&self, templates: &Templates) -> Option<Vec<usize>> {
        if self.sections.iter().any(|section| shortcodes_changed(&section.rendered, templates)) {
            return None;
        }
        Some((0..self.pages.len()).filter(|&i| shortcodes_changed(&self.pages[i].rendered, templates)).collect())
    }

    /// The section whose directory is `dir` (`""` for the root).
    pub fn section_in(&self, dir: &str) -> Option<&Section> {
        self.sections.binary_search_by(|s| s.source.dir.as_str().cmp(dir)).ok().map(|i| &self.sections[i])
    }

    /// The Markdown options of the pages of section `dir`: the site's, with
    /// the section's `insert_anchor_links`.
    fn markdown_options_in(&self, dir: &str) -> MarkdownConfig {
        markdown_options(&self.config.markdown, self.section_in(dir).map(|s| &s.source.front))
    }

    /// The template a page inherits from the nearest section above it that
    /// sets `page_template`.
    pub fn inherited_page_template(&self, page: &Page) -> Option<&str> {
        let mut dir = page.source.section_dir.as_str();
        loop {
            if let Some(template) = self.section_in(dir).and_then(|s| s.source.front.page_template.as_deref()) {
                return Some(template);
            }
            if dir.is_empty() {
                return None;
            }
            dir = crate::paths::parent_of(dir);
        }
    }

    /// The URL path of a content file (`blog/hello.md`, `blog/_index.md`).
    fn resolve_link(&self, target: &str) -> Option<String> {
        self.links.get(target.trim_start_matches('/')).cloned()
    }

    /// Every content path (`blog/hello.md`, `blog/_index.md`) with its URL path.
    pub fn links(&self) -> &Arc<HashMap<String, String>> {
        &self.links
    }

    /// The output directory: `override_dir` or the configured one, relative to the root.
    pub fn output_dir(&self, override_dir: Option<&Path>) -> PathBuf {
        let dir = override_dir.unwrap_or(&self.config.output_dir);
        if dir.is_absolute() { dir.to_path_buf() } else { self.root.join(dir) }
    }

    /// The root section (`content/_index.md`).
    pub fn root_section(&self) -> &Section {
        &self.sections[0]
    }

    /// Top-level sections, by weight then title.
    pub fn nav_sections(&self) -> impl Iterator<Item = &Section> {
        self.root_section().subsections.iter().map(|&i| &self.sections[i])
    }
}

/// Pages list newest first; undated pages after dated ones, then by weight
/// (lightest first), then by title.
pub fn compare_pages(a: &Page, b: &Page) -> Ordering {
    let by_date = match (&a.source.date, &b.source.date) {
        (Some(x), Some(y)) => y.at.cmp(&x.at),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    by_date
        .then_with(|| weight_order(a.source.front.weight, b.source.front.weight))
        .then_with(|| page_title(a).cmp(&page_title(b)))
        .then_with(|| a.source.content_path.cmp(&b.source.content_path))
}

/// Pages as a section's `sort_by` orders them. A page without the value
/// sorted on comes after those with it (Zola drops it, losing a page without
/// a word); ties and those go by URL.
fn compare_by(sort_by: SortBy, a: &Page, b: &Page) -> Ordering {
    let (a_source, b_source) = (&a.source, &b.source);
    let missing_last = |x: Option<Ordering>, a_has: bool, b_has: bool| match (a_has, b_has) {
        (true, true) => x.unwrap_or(Ordering::Equal),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => Ordering::Equal,
    };
    let order = match sort_by {
        SortBy::Date => {
            let (x, y) = (a_source.date.as_ref(), b_source.date.as_ref());
            missing_last(x.zip(y).map(|(x, y)| y.at.cmp(&x.at)), x.is_some(), y.is_some())
        }
        SortBy::UpdateDate => {
            let x = a_source.updated.as_ref().or(a_source.date.as_ref());
            let y = b_source.updated.as_ref().or(b_source.date.as_ref());
            missing_last(x.zip(y).map(|(x, y)| y.at.cmp(&x.at)), x.is_some(), y.is_some())
        }
        SortBy::Title => natural_cmp(&page_title(a), &page_title(b)),
        SortBy::TitleBytes => page_title(a).as_bytes().cmp(page_title(b).as_bytes()),
        SortBy::Weight => {
            let (x, y) = (a_source.front.weight, b_source.front.weight);
            missing_last(x.zip(y).map(|(x, y)| x.cmp(&y)), x.is_some(), y.is_some())
        }
        SortBy::Slug => natural_cmp(url_slug(&a_source.path), url_slug(&b_source.path)),
        SortBy::Permalink => natural_cmp(&a_source.path, &b_source.path),
        SortBy::None => Ordering::Equal,
    };
    order.then_with(|| a_source.path.cmp(&b_source.path))
}

/// The last segment of a URL path: `/blog/hello/` → `hello`.
fn url_slug(path: &str) -> &str {
    path.trim_end_matches('/').rsplit('/').next().unwrap_or_default()
}

/// Natural order: letters without regard to case, runs of digits by value,
/// so that `Track-2` comes before `Track-13`.
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.chars().peekable(), b.chars().peekable());
    loop {
        match (a.peek().copied(), b.peek().copied()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let number = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
                    let mut digits = String::new();
                    while let Some(d) = chars.next_if(char::is_ascii_digit) {
                        digits.push(d);
                    }
                    digits.trim_start_matches('0').to_owned()
                };
                let (x, y) = (number(&mut a), number(&mut b));
                let order = x.len().cmp(&y.len()).then_with(|| x.cmp(&y));
                if order != Ordering::Equal {
                    return order;
                }
            }
            (Some(x), Some(y)) => {
                let order = x.to_lowercase().cmp(y.to_lowercase());
                if order != Ordering::Equal {
                    return order;
                }
                a.next();
                b.next();
            }
        }
    }
}

fn compare_sections(a: &Section, b: &Section, config: &Config) -> Ordering {
    weight_order(a.source.front.weight, b.source.front.weight).then_with(|| a.title(config).cmp(&b.title(config)))
}

fn weight_order(a: Option<i64>, b: Option<i64>) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// The title of a page: front matter, else its file name.
pub fn page_title(page: &Page) -> Cow<'_, str> {
    if let Some(title) = &page.source.front.title {
        return Cow::Borrowed(title);
    }
    let trimmed = page.source.content_path.trim_end_matches("/index.md").trim_end_matches(".md");
    Cow::Owned(title_case(trimmed.rsplit('/').next().unwrap_or(trimmed)))
}

/// `release-notes` → `Release notes`.
fn title_case(name: &str) -> String {
    let words = name.replace(['-', '_'], " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The site's Markdown options with a section's `insert_anchor_links`.
fn markdown_options(site: &MarkdownConfig, section: Option<&SectionFront>) -> MarkdownConfig {
    match section.and_then(|front| front.insert_anchor_links.as_deref()) {
        Some(value) => {
            let place = AnchorPlace::from_zola(value);
            MarkdownConfig { heading_anchors: place.is_some(), anchor_place: place.unwrap_or_default(), ..site.clone() }
        }
        None => site.clone(),
    }
}

/// Renders one body, its shortcodes (from `templates`, with `config`) first;
/// errors get the file and the line within the file.
fn render_markdown(
    options: &MarkdownConfig,
    resolve: &(dyn Fn(&str) -> Option<String> + Sync),
    (templates, config, owner): (&Templates, &Config, shortcodes::Owner<'_>),
    file: &Path,
    body: &str,
    body_line: usize,
) -> Result<Rendered> {
    let in_file =
        |err: Error| Error { file: Some(file.to_path_buf()), line: err.line.map(|line| line + body_line - 1), ..err };
    let mut expanded = shortcodes::expand(body, templates, config, owner).map_err(in_file)?;
    let renderer = Renderer { options, highlighter: options.highlighter.get(), resolve };
    let in_body = |err: Error| Error { line: err.line.map(|line| expanded.body_line(line)), ..err };
    let mut rendered = renderer.render(&expanded.markdown).map_err(|err| in_file(in_body(err)))?;
    for link in &mut rendered.anchor_links {
        link.line = expanded.body_line(link.line);
    }
    rendered.shortcodes = std::mem::take(&mut expanded.called)
        .into_iter()
        .map(|name| {
            let hash = templates.shortcode_hash(&name);
            (name, hash)
        })
        .collect();
    rendered.html = expanded.restore(&rendered.html);
    rendered.summary = rendered.summary.map(|summary| expanded.restore(&summary));
    Ok(rendered)
}

/// Whether a shortcode `rendered` called was changed, added or removed
/// since: its body must be rendered again.
fn shortcodes_changed(rendered: &Rendered, templates: &Templates) -> bool {
    rendered.shortcodes.iter().any(|(name, hash)| templates.shortcode_hash(name) != *hash)
}

/// A page as its shortcodes see it: front matter and paths (its content
/// is what is being rendered), with Zola's names.
fn page_meta(config: &Config, root: &Path, source: &SourcePage) -> serde_json::Value {
    serde_json::json!({
        "title": source.front.title,
        "description": source.front.description,
        "date": source.date.as_ref().map(|d| &d.text),
        "updated": source.updated.as_ref().map(|d| &d.text),
        "draft": source.front.draft,
        "path": source.path,
        "permalink": config.permalink(&source.path),
        "relative_path": source.content_path,
        "colocated_path": source.colocated_path(),
        "assets": source.asset_paths(root),
        "taxonomies": source.terms,
        "authors": source.front.authors,
        "extra": source.front.extra,
        "lang": config.language,
    })
}

/// `blog` → `blog/_index.md`, `` → `_index.md`: how Zola names a section
/// (the key of `@/` links and of `get_section`).
pub(crate) fn section_relative_path(dir: &str) -> String {
    if dir.is_empty() { "_index.md".to_owned() } else { format!("{dir}/_index.md") }
}

/// A section as its shortcodes see it.
fn section_meta(config: &Config, source: &SourceSection) -> serde_json::Value {
    serde_json::json!({
        "title": source.front.title,
        "description": source.front.description,
        "draft": source.front.draft,
        "path": source.path,
        "permalink": config.permalink(&source.path),
        "relative_path": section_relative_path(&source.dir),
        "extra": source.front.extra,
        "lang": config.language,
    })
}

/// The heading ids of every page and section, by content path.
fn heading_ids<'a>(pages: &'a [Page], sections: &'a [Section]) -> HashMap<String, Vec<&'a str>> {
    let ids = |rendered: &'a Rendered| rendered.toc.iter().map(|h| h.id.as_str()).collect();
    let mut headings: HashMap<String, Vec<&str>> =
        pages.iter().map(|p| (p.source.content_path.clone(), ids(&p.rendered))).collect();
    for section in sections {
        let index = section_relative_path(&section.source.dir);
        headings.insert(index, ids(&section.rendered));
    }
    headings
}

/// Every `@/…#anchor` link of every page and section names a heading of its
/// target: a link to nowhere on the page fails as loudly as one to no page.
fn check_anchor_links(pages: &[Page], sections: &[Section]) -> Result<()> {
    let headings = heading_ids(pages, sections);
    for page in pages {
        check_links_of(&headings, &page.source.file, page.source.body_line, &page.rendered)?;
    }
    for section in sections {
        if let Some(file) = &section.source.file {
            check_links_of(&headings, file, section.source.body_line, &section.rendered)?;
        }
    }
    Ok(())
}

fn check_links_of(
    headings: &HashMap<String, Vec<&str>>,
    file: &Path,
    body_line: usize,
    rendered: &Rendered,
) -> Result<()> {
    for link in &rendered.anchor_links {
        let Some(ids) = headings.get(link.target.trim_start_matches('/')) else { continue };
        if !ids.contains(&link.anchor.as_str()) {
            let known = if ids.is_empty() {
                "it has no headings".to_owned()
            } else {
                format!("its headings are: {}", ids.join(", "))
            };
            return Err(Error::in_file(
                file,
                format!("the link `@/{}#{}` names no heading of {}", link.target, link.anchor, link.target),
            )
            .at_line(Some(link.line + body_line - 1))
            .with_hint(format!("{known}; link to one of them, or drop the `#…`")));
        }
    }
    Ok(())
}

fn link_map<'a>(
    pages: impl IntoIterator<Item = &'a Arc<SourcePage>>,
    sections: impl IntoIterator<Item = &'a SourceSection>,
) -> HashMap<String, String> {
    let mut links = HashMap::new();
    for page in pages {
        links.insert(page.content_path.clone(), page.path.clone());
    }
    for section in sections {
        let index = section_relative_path(&section.dir);
        links.insert(index, section.path.clone());
    }
    links
}

fn check_unique_paths(pages: &[Arc<SourcePage>], sections: &[SourceSection]) -> Result<()> {
    let mut seen: HashMap<&str, &Path> = HashMap::new();
    let owners = sections
        .iter()
        .filter_map(|s| s.file.as_deref().map(|file| (s.path.as_str(), file)))
        .chain(pages.iter().map(|p| (p.path.as_str(), p.file.as_path())));
    for (path, file) in owners {
        if let Some(first) = seen.insert(path, file) {
            return Err(Error::in_file(file, format!("has the same URL {path} as {}", first.display()))
                .with_hint("give one of them another `slug` in its front matter, or rename it"));
        }
    }
    Ok(())
}

/// Each taxonomy's terms, by slug. Spellings that differ only in case are
/// one term (`Rust`, `rust`); two that differ otherwise but would share a URL
/// (`C++` and `c` both make `/tags/c/`) are an error naming both.
fn collect_taxonomies(config: &Config, pages: &[Page]) -> Result<Vec<Taxonomy>> {
    config
        .taxonomies
        .iter()
        .map(|name| {
            let mut terms: BTreeMap<String, Term> = BTreeMap::new();
            // Most pages share a few terms: slugify each spelling once.
            let mut slugs: HashMap<&str, String> = HashMap::new();
            // Where each term was first spelt, for the error.
            let mut first_file: HashMap<String, &Path> = HashMap::new();
            for (index, page) in pages.iter().enumerate() {
                for term in page.source.terms.get(name).into_iter().flatten() {
                    let slug =
                        slugs.entry(term.as_str()).or_insert_with(|| config.slugify_taxonomies.apply(term)).clone();
                    let entry = terms.entry(slug.clone()).or_insert_with(|| Term {
                        name: term.clone(),
                        slug: slug.clone(),
                        pages: Vec::new(),
                    });
                    let file = *first_file.entry(slug.clone()).or_insert(page.source.file.as_path());
                    if entry.name.to_lowercase() != term.to_lowercase() {
                        let url = config.site_path(&format!("{name}/{slug}/"));
                        return Err(Error::in_file(
                            &page.source.file,
                            format!(
                                "the {name} term `{term}` would have the URL {url} of `{}` ({})",
                                entry.name,
                                file.display()
                            ),
                        )
                        .with_hint("spell the two terms the same way, or make them differ in letters or digits"));
                    }
                    if *term < entry.name {
                        entry.name = term.clone();
                    }
                    if entry.pages.last() != Some(&index) {
                        entry.pages.push(index);
                    }
                }
            }
            let mut terms: Vec<Term> = terms.into_values().collect();
            for term in &mut terms {
                term.pages.sort_by(|&a, &b| compare_pages(&pages[a], &pages[b]));
            }
            Ok(Taxonomy { name: name.clone(), terms })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::frontmatter::{PageDate, PageFront};

    fn page(path: &str, title: &str, date: Option<&str>, weight: Option<i64>) -> Page {
        Page {
            source: Arc::new(SourcePage {
                file: PathBuf::from(path),
                content_path: path.to_owned(),
                section_dir: String::new(),
                front: PageFront { title: Some(title.to_owned()), weight, ..PageFront::default() },
                terms: Default::default(),
                date: date.and_then(PageDate::parse),
                updated: None,
                body: String::new(),
                body_hash: 0,
                body_line: 1,
                path: format!("/{path}/"),
                assets: Vec::new(),
            }),
            rendered: Arc::default(),
        }
    }

    #[test]
    fn pages_sort_by_date_then_weight_then_title() {
        let mut pages = [
            page("a", "Zebra", None, Some(2)),
            page("b", "Apple", None, Some(2)),
            page("c", "Old", Some("2023-01-01"), None),
            page("d", "New", Some("2024-01-01"), None),
            page("e", "First", None, Some(1)),
            page("f", "Unweighted", None, None),
        ];
        pages.sort_by(compare_pages);
        let titles: Vec<_> = pages.iter().map(page_title).collect();
        assert_eq!(titles, ["New", "Old", "First", "Apple", "Zebra", "Unweighted"]);
    }

    #[test]
    fn natural_order() {
        let mut names = ["Track-13", "track-2", "bolero", "Track-3", "BART", "a10", "a9"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(names, ["a9", "a10", "BART", "bolero", "track-2", "Track-3", "Track-13"]);
    }

    #[test]
    fn sort_by_puts_pages_without_the_value_last() {
        let (dated, weighted, plain) =
            (page("a", "A", Some("2024-01-01"), None), page("b", "B", None, Some(1)), page("c", "C", None, None));
        assert_eq!(compare_by(SortBy::Date, &dated, &weighted), Ordering::Less);
        assert_eq!(compare_by(SortBy::Weight, &weighted, &dated), Ordering::Less);
        assert_eq!(compare_by(SortBy::Weight, &dated, &plain), Ordering::Less, "no weight either: by URL");
        assert_eq!(compare_by(SortBy::Title, &plain, &dated), Ordering::Greater);
    }

    #[test]
    fn titles_default_to_file_names() {
        let mut p = page("blog/release-notes.md", "", None, None);
        Arc::make_mut(&mut p.source).front.title = None;
        assert_eq!(page_title(&p), "Release notes");
    }
}

//! The site's configuration: `bengal.toml`, read as written ([`RawConfig`])
//! then resolved ([`Config`]); or, when there is none, Zola's `zola.toml` or
//! `config.toml` ([`super::zola_config`]).
//!
//! In `bengal.toml`, unknown keys are an error naming the key and its line: a
//! misspelt `paginate_by` silently ignored is an afternoon lost.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::build::highlight::SiteHighlighter;
use crate::error::{Error, Result, line_of_offset};
use crate::paths::{CONFIG_FILE, CONFIG_FILES};

/// `bengal.toml` exactly as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawConfig {
    title: Option<String>,
    base_url: Option<String>,
    description: Option<String>,
    language: Option<String>,
    author: Option<String>,
    output_dir: Option<PathBuf>,
    taxonomies: Option<Vec<String>>,
    paginate_by: Option<usize>,
    generate_feeds: Option<bool>,
    generate_sitemap: Option<bool>,
    generate_robots_txt: Option<bool>,
    feed_filenames: Option<Vec<String>>,
    theme: Option<String>,
    compile_sass: Option<bool>,
    build_search_index: Option<bool>,
    search: crate::build::search::SearchConfig,
    markdown: MarkdownConfig,
    extra: toml::Table,
}

/// A taxonomy's options, as Zola's `taxonomies = [{name = "tags", …}]`
/// gives them (and its templates see them as `taxonomy`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct TaxonomyConfig {
    pub name: String,
    /// Terms per list page (else the site's `paginate_by`).
    pub paginate_by: Option<usize>,
    /// The word before the number of a term's later list pages.
    pub paginate_path: Option<String>,
    /// Whether each term has its own feed.
    pub feed: bool,
    /// Whether its pages are written at all.
    pub render: bool,
}

impl Default for TaxonomyConfig {
    fn default() -> Self {
        TaxonomyConfig { name: String::new(), paginate_by: None, paginate_path: None, feed: false, render: true }
    }
}

/// The `[markdown]` table.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct MarkdownConfig {
    /// Highlight fenced code blocks that name a language.
    pub highlight_code: bool,
    /// Curly quotes, en and em dashes, ellipses.
    pub smart_punctuation: bool,
    /// A `#` link beside every heading.
    pub heading_anchors: bool,
    /// Where that link goes (Zola's `insert_anchor_links`: `left`, `right`,
    /// or `heading`, the whole heading a link).
    #[serde(skip)]
    pub anchor_place: AnchorPlace,
    /// External links open in a new tab (with `rel="noopener"`).
    pub external_links_target_blank: bool,
    /// External links get `rel="nofollow"`.
    pub external_links_no_follow: bool,
    /// External links get `rel="noreferrer"`.
    pub external_links_no_referrer: bool,
    /// A CSS class for external links.
    pub external_links_class: Option<String>,
    /// The site's own grammars (TextMate JSON, or `.sublime-syntax`),
    /// relative to the site root; Zola's `[markdown.highlighting]` key.
    pub extra_grammars: Vec<PathBuf>,
    /// Folders of `.sublime-syntax` files: older Zola's
    /// `extra_syntaxes_and_themes`.
    #[serde(skip)]
    pub extra_syntax_dirs: Vec<PathBuf>,
    /// What highlights code: set by [`Config::load`] from the two above.
    #[serde(skip)]
    pub highlighter: SiteHighlighter,
}

impl Default for MarkdownConfig {
    fn default() -> Self {
        MarkdownConfig {
            highlight_code: true,
            smart_punctuation: true,
            heading_anchors: true,
            anchor_place: AnchorPlace::Right,
            external_links_target_blank: false,
            external_links_no_follow: false,
            external_links_no_referrer: false,
            external_links_class: None,
            extra_grammars: Vec::new(),
            extra_syntax_dirs: Vec::new(),
            highlighter: SiteHighlighter::default(),
        }
    }
}

/// Where a heading's anchor link goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub enum AnchorPlace {
    /// Before the heading's text.
    Left,
    /// After it.
    #[default]
    Right,
    /// The whole heading is the link.
    Heading,
}

impl AnchorPlace {
    /// Zola's `insert_anchor_links` value: the place, or None for `none`
    /// (and anything else).
    pub fn from_zola(value: &str) -> Option<AnchorPlace> {
        match value {
            "left" => Some(AnchorPlace::Left),
            "right" => Some(AnchorPlace::Right),
            "heading" => Some(AnchorPlace::Heading),
            _ => None,
        }
    }
}

/// How a name becomes a URL segment (Zola's `[slugify]` strategies).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SlugStrategy {
    /// ASCII, lowercase, words joined by `-`: `Café Notes` → `cafe-notes`.
    #[default]
    On,
    /// As written, less what no file system or URL can hold (`<>:"/\|?*`)
    /// and trailing spaces and dots.
    Safe,
    /// As written.
    Off,
}

impl SlugStrategy {
    /// `text` as a URL segment.
    pub fn apply(self, text: &str) -> String {
        match self {
            SlugStrategy::On => slug::slugify(text),
            SlugStrategy::Safe => {
                text.trim_end_matches([' ', '.']).chars().filter(|c| !r#"<>:"/\|?*"#.contains(*c)).collect()
            }
            SlugStrategy::Off => text.to_owned(),
        }
    }
}

/// Glob patterns (Zola's `ignored_content`, `ignored_static`), matched
/// against a path below their directory; `*` crosses `/`, as in Zola.
#[derive(Debug, Clone, Default)]
pub struct Globs {
    patterns: Vec<String>,
    set: globset::GlobSet,
}

impl Globs {
    /// Compiles `patterns`; a bad one is an error naming it and `key`.
    pub fn new(key: &str, patterns: Vec<String>) -> Result<Globs> {
        let mut builder = globset::GlobSetBuilder::new();
        for pattern in &patterns {
            let glob = globset::Glob::new(pattern).map_err(|err| {
                Error::new(format!("`{key}`: {pattern:?} is not a glob pattern: {}", err.kind()))
                    .with_hint("write a glob such as \"*.xlsx\" or \"drafts/*\"")
            })?;
            builder.add(glob);
        }
        let set = builder.build().map_err(|err| Error::new(format!("`{key}`: {err}")))?;
        Ok(Globs { patterns, set })
    }

    /// Whether `path` matches one of the patterns.
    pub fn is_match(&self, path: &Path) -> bool {
        !self.patterns.is_empty() && self.set.is_match(path)
    }
}

impl PartialEq for Globs {
    fn eq(&self, other: &Self) -> bool {
        self.patterns == other.patterns
    }
}

/// The resolved site configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// The site's title.
    pub title: String,
    /// Absolute URL of the site, always ending in `/`.
    pub base_url: String,
    /// The path part of `base_url`, e.g. `/` or `/docs/`; every link starts with it.
    #[serde(skip)]
    pub base_path: String,
    /// One-line description, for feeds and meta tags.
    pub description: String,
    /// Language code of the content, e.g. `en`.
    pub language: String,
    /// The author of pages that name none, for feeds.
    pub author: Option<String>,
    /// Where `bengal build` writes, relative to the site root unless absolute.
    #[serde(skip)]
    pub output_dir: PathBuf,
    /// Taxonomy names, e.g. `["tags"]`.
    pub taxonomies: Vec<String>,
    /// Each taxonomy's options, in the order of `taxonomies`.
    #[serde(skip)]
    pub taxonomy_options: Vec<TaxonomyConfig>,
    /// Feed files written for the site (and sections and terms that ask):
    /// `atom.xml`, `rss.xml`.
    pub feed_filenames: Vec<String>,
    /// The theme under `themes/` whose templates, static files and Sass
    /// the site's own override.
    pub theme: Option<String>,
    /// The configured theme, when `themes/` does not have it (then `theme` is
    /// `None` and the built-in theme renders the site).
    #[serde(skip)]
    pub missing_theme: Option<String>,
    /// Whether `sass/` (and the theme's) is compiled to CSS.
    pub compile_sass: bool,
    /// Whether Zola's search index and its script are written.
    pub build_search_index: bool,
    /// Zola's `ignored_content`: files below `content/` left out.
    #[serde(skip)]
    pub ignored_content: Globs,
    /// Zola's `ignored_static`: files below `static/` not copied.
    #[serde(skip)]
    pub ignored_static: Globs,
    /// The `[search]` options.
    #[serde(skip)]
    pub search: crate::build::search::SearchConfig,

    /// Pages per list page; 0 turns pagination off.
    #[serde(skip)]
    pub paginate_by: usize,
    /// Markdown options.
    #[serde(skip)]
    pub markdown: MarkdownConfig,
    /// How page slugs are made from names.
    #[serde(skip)]
    pub slugify_paths: SlugStrategy,
    /// How taxonomy terms become URL segments.
    #[serde(skip)]
    pub slugify_taxonomies: SlugStrategy,
    /// Whether directory names are slugified in URLs (Bengal's rule) or kept
    /// as they are (Zola's).
    #[serde(skip)]
    pub slugify_dirs: bool,
    /// Whether `atom.xml` is written.
    #[serde(skip)]
    pub generate_feeds: bool,
    /// Whether `sitemap.xml` is written.
    #[serde(skip)]
    pub generate_sitemap: bool,
    /// Whether `robots.txt` is written.
    #[serde(skip)]
    pub generate_robots_txt: bool,
    /// The free `[extra]` table, for themes.
    pub extra: serde_json::Value,
    /// The file it was read from (`bengal.toml`, `zola.toml`, `config.toml`).
    #[serde(skip)]
    pub file: &'static str,
    /// Keys of a Zola configuration that ask for what Bengal does not do yet.
    #[serde(skip)]
    pub ignored: Vec<String>,
}

/// `themes/NAME`, once `name` is the name of a folder (a path could lead
/// out of the site) and that folder, when there, resolves inside the site:
/// a theme linked in from elsewhere would publish its files.
fn theme_dir(site: &Path, root: &Path, config_file: &str, name: &str) -> Result<PathBuf> {
    let mut parts = Path::new(name).components();
    let plain = matches!((parts.next(), parts.next()), (Some(std::path::Component::Normal(_)), None));
    if !plain || name.contains(['/', '\\']) {
        return Err(Error::in_file(
            Path::new(config_file),
            format!("`theme = {name:?}` is not the name of a folder in {}/", crate::paths::THEMES_DIR),
        )
        .with_hint("set `theme` to the name of a folder under themes/, such as `theme = \"hyde\"`"));
    }
    let dir = root.join(crate::paths::THEMES_DIR).join(name);
    if std::fs::symlink_metadata(&dir).is_ok() {
        crate::paths::check_source(site, &dir, &Path::new(crate::paths::THEMES_DIR).join(name)).map_err(|err| {
            err.with_hint("copy the theme into themes/ (a git submodule works) instead of linking to it")
        })?;
    }
    Ok(dir)
}

impl Config {
    /// Reads the site's configuration from `root`: `bengal.toml`, else Zola's
    /// `zola.toml` or `config.toml`.
    pub fn load(root: &Path) -> Result<Config> {
        let file = CONFIG_FILES.into_iter().find(|name| root.join(name).is_file()).ok_or_else(|| {
            Error::new(format!("no {CONFIG_FILE} in {}", root.display())).with_hint(
                "run bengal inside a site, pass --root DIR, or create a site with `bengal new site NAME` \
                     (a Zola site's zola.toml or config.toml is read as well)",
            )
        })?;
        let path = root.join(file);
        let site = std::fs::canonicalize(root).map_err(|err| Error::io(root, "open the site", err))?;
        crate::paths::check_source(&site, &path, Path::new(file))?;
        let text = std::fs::read_to_string(&path).map_err(|err| Error::io(Path::new(file), "read it", err))?;
        let parsed = if file == CONFIG_FILE { Config::parse(&text) } else { super::zola_config::parse(&text) };
        let mut config = parsed.map_err(|err| Error { file: Some(PathBuf::from(file)), ..err })?;
        config.file = file;
        if let Some(theme) = &config.theme {
            let dir = theme_dir(&site, root, file, theme)?;
            // A theme that is not there (a git submodule not checked out) is
            // told once; the built-in theme renders the site meanwhile.
            if dir.is_dir() {
                config.merge_theme_extra(&site, root, &dir.join("theme.toml"))?;
            } else {
                config.missing_theme = config.theme.take();
            }
        }
        // Grammars matter only to highlighted code.
        let markdown = &mut config.markdown;
        if markdown.highlight_code {
            markdown.highlighter =
                super::grammars::site_highlighter(root, &markdown.extra_grammars, &markdown.extra_syntax_dirs)?;
        }
        Ok(config)
    }

    /// Whether the site was read from a Zola configuration, so templates
    /// get Zola's values where Bengal's own sites get friendlier ones.
    pub fn follows_zola(&self) -> bool {
        self.file != CONFIG_FILE
    }

    /// Parses the text of a `bengal.toml`.
    pub fn parse(text: &str) -> Result<Config> {
        let raw: RawConfig = toml::from_str(text).map_err(|err| misplaced_key(toml_error(text, &err)))?;
        let base_url = normalize_base_url(raw.base_url.as_deref().unwrap_or("/"));
        let taxonomies = raw.taxonomies.unwrap_or_else(|| vec!["tags".to_owned()]);
        for name in &taxonomies {
            if slug::slugify(name) != *name {
                return Err(Error::new(format!("taxonomy name `{name}` is not a plain lowercase word"))
                    .at_line(find_key_line(text, "taxonomies"))
                    .with_hint(format!("use `{}` instead", slug::slugify(name))));
            }
        }
        Ok(Config {
            title: raw.title.unwrap_or_else(|| "My Bengal site".to_owned()),
            base_path: base_path_of(&base_url),
            base_url,
            description: raw.description.unwrap_or_default(),
            language: raw.language.unwrap_or_else(|| "en".to_owned()),
            author: raw.author,
            output_dir: raw.output_dir.unwrap_or_else(|| PathBuf::from("public")),
            taxonomy_options: taxonomies
                .iter()
                .map(|name| TaxonomyConfig { name: name.clone(), ..TaxonomyConfig::default() })
                .collect(),
            taxonomies,
            feed_filenames: raw.feed_filenames.unwrap_or_else(|| vec!["atom.xml".to_owned()]),
            theme: raw.theme,
            missing_theme: None,
            compile_sass: raw.compile_sass.unwrap_or(false),
            build_search_index: raw.build_search_index.unwrap_or(false),
            search: raw.search,
            ignored_content: Globs::default(),
            ignored_static: Globs::default(),
            paginate_by: raw.paginate_by.unwrap_or(0),
            slugify_paths: SlugStrategy::On,
            slugify_taxonomies: SlugStrategy::On,
            slugify_dirs: true,
            generate_feeds: raw.generate_feeds.unwrap_or(true),
            generate_sitemap: raw.generate_sitemap.unwrap_or(true),
            generate_robots_txt: raw.generate_robots_txt.unwrap_or(true),
            markdown: raw.markdown,
            extra: toml_to_json(toml::Value::Table(raw.extra)),
            file: CONFIG_FILE,
            ignored: Vec::new(),
        })
    }

    /// The same configuration served from another URL (the dev server's).
    pub fn with_base_url(mut self, base_url: &str) -> Config {
        self.base_url = normalize_base_url(base_url);
        self.base_path = base_path_of(&self.base_url);
        self
    }

    /// The absolute URL of a site path such as `/blog/hello/` (which already
    /// carries the base path).
    pub fn permalink(&self, path: &str) -> String {
        let origin = self.base_url.strip_suffix(&self.base_path).unwrap_or(&self.base_url);
        format!("{origin}{path}")
    }

    /// The URL path of content directory `dir`: `blog/Release Notes` →
    /// `/blog/release-notes/` by Bengal's rule, `/blog/Release Notes/` by
    /// Zola's; `` → `/`. Without the base path.
    pub fn dir_url(&self, dir: &str) -> String {
        let mut url = String::from("/");
        for part in dir.split('/').filter(|p| !p.is_empty()) {
            if self.slugify_dirs {
                url.push_str(&slug::slugify(part));
            } else {
                url.push_str(part);
            }
            url.push('/');
        }
        url
    }

    /// The URL path of taxonomy `name`'s list (`/tags/`; `podcast_authors` →
    /// `/podcast-authors/`, as Zola makes it), with the base path.
    pub fn taxonomy_path(&self, name: &str) -> String {
        self.site_path(&format!("{}/", self.slugify_taxonomies.apply(name)))
    }

    /// Adds the `[extra]` of a theme's `theme.toml` under the site's own:
    /// the site's keys win, as in Zola.
    fn merge_theme_extra(&mut self, site: &Path, root: &Path, theme_toml: &Path) -> Result<()> {
        if std::fs::symlink_metadata(theme_toml).is_err() {
            return Ok(());
        }
        let shown = theme_toml.strip_prefix(root).unwrap_or(theme_toml);
        crate::paths::check_source(site, theme_toml, shown)?;
        let text = std::fs::read_to_string(theme_toml).map_err(|err| Error::io(shown, "read it", err))?;
        let table: toml::Table = toml::from_str(&text)
            .map_err(|err| Error { file: Some(shown.to_path_buf()), ..toml_error(&text, &err) })?;
        let Some(toml::Value::Table(extra)) = table.get("extra") else { return Ok(()) };
        let theme_extra = toml_to_json(toml::Value::Table(extra.clone()));
        if let (Some(own), serde_json::Value::Object(theme)) = (self.extra.as_object_mut(), theme_extra) {
            for (key, value) in theme {
                own.entry(key).or_insert(value);
            }
        }
        Ok(())
    }

    /// The options of taxonomy `name`.
    pub fn taxonomy(&self, name: &str) -> Option<&TaxonomyConfig> {
        self.taxonomy_options.iter().find(|t| t.name == name)
    }

    /// What templates see as `config`: Bengal's fields, with Zola's names
    /// beside them (`default_language`, `taxonomies` as objects).
    pub fn template_value(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(object) = value.as_object_mut() {
            object.insert("default_language".into(), self.language.clone().into());
            object.insert("taxonomies".into(), serde_json::to_value(&self.taxonomy_options).unwrap_or_default());
            object.insert("generate_feeds".into(), self.generate_feeds.into());
            object.insert("mode".into(), "build".into());
        }
        value
    }

    /// A site-relative path such as `blog/hello/` with the base path added.
    pub fn site_path(&self, relative: &str) -> String {
        format!("{}{}", self.base_path, relative.trim_start_matches('/'))
    }
}

fn normalize_base_url(url: &str) -> String {
    let url = url.trim();
    if url.ends_with('/') { url.to_owned() } else { format!("{url}/") }
}

/// `https://example.org/docs/` → `/docs/`.
fn base_path_of(base_url: &str) -> String {
    match base_url.split_once("://") {
        Some((_, rest)) => match rest.find('/') {
            Some(slash) => rest[slash..].to_owned(),
            None => "/".to_owned(),
        },
        None => format!("/{}", base_url.trim_start_matches('/')),
    }
}

/// Turns a TOML parse error into an [`Error`] with the line of its span.
pub(crate) fn toml_error(text: &str, err: &toml::de::Error) -> Error {
    let at = err.span().map(|span| span.start.min(text.len()));
    let line = at.map(|at| line_of_offset(text, at));
    // Characters from the line's start, so a multi-byte letter counts once.
    let column = at
        .and_then(|at| text.get(..at))
        .map(|before| before.rsplit('\n').next().unwrap_or_default().chars().count() + 1);
    let message = err.message().trim_end().to_owned();
    let hint = if message.starts_with("unknown field") {
        "remove the key or fix its spelling; see the README for the keys Bengal knows"
    } else {
        "fix the TOML syntax on that line"
    };
    Error { column: column.and_then(|c| u32::try_from(c).ok()), ..Error::new(message).at_line(line).with_hint(hint) }
}

/// Keys of the `[markdown]` table, and Zola's names for keys Bengal names
/// otherwise: a key written where it does not belong is told where it does.
const MARKDOWN_KEYS: &[&str] = &[
    "highlight_code",
    "smart_punctuation",
    "heading_anchors",
    "external_links_target_blank",
    "external_links_no_follow",
    "external_links_no_referrer",
    "external_links_class",
    "extra_grammars",
];
const TOP_LEVEL_KEYS: &[&str] = &[
    "title",
    "base_url",
    "description",
    "language",
    "author",
    "output_dir",
    "taxonomies",
    "paginate_by",
    "generate_feeds",
    "generate_sitemap",
    "generate_robots_txt",
    "feed_filenames",
    "theme",
    "compile_sass",
    "build_search_index",
    "search",
];
const ZOLA_NAMES: &[(&str, &str)] = &[("default_language", "language"), ("generate_feed", "generate_feeds")];

/// An unknown-key error of `bengal.toml`, with a hint that says where the
/// key belongs when it is one of Bengal's in the wrong table.
fn misplaced_key(mut err: Error) -> Error {
    let Some(key) = err.message.strip_prefix("unknown field `").and_then(|rest| rest.split('`').next()) else {
        return err;
    };
    let hint = if MARKDOWN_KEYS.contains(&key) {
        format!("`{key}` belongs under [markdown]")
    } else if TOP_LEVEL_KEYS.contains(&key) {
        format!("`{key}` belongs at the top of bengal.toml, before any [table]")
    } else if let Some((_, ours)) = ZOLA_NAMES.iter().find(|(zola, _)| *zola == key) {
        format!("that is Zola's name; Bengal's is `{ours}`")
    } else {
        return err;
    };
    err.hint = Some(hint);
    err
}

/// The 1-based line on which `key = …` is written, for errors found after parsing.
pub(crate) fn find_key_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            let line = line.trim_start();
            line.strip_prefix(key).is_some_and(|rest| {
                let rest = rest.trim_start();
                rest.starts_with('=') || rest.starts_with(':')
            })
        })
        .map(|index| index + 1)
}

/// TOML values become JSON values for templates; dates become their text.
pub(crate) fn toml_to_json(value: toml::Value) -> serde_json::Value {
    use serde_json::Value as Json;
    match value {
        toml::Value::String(s) => Json::String(s),
        toml::Value::Integer(i) => Json::from(i),
        toml::Value::Float(f) => Json::from(f),
        toml::Value::Boolean(b) => Json::Bool(b),
        toml::Value::Datetime(d) => Json::String(d.to_string()),
        toml::Value::Array(items) => Json::Array(items.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Json::Object(table.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_to_an_empty_file() {
        let config = Config::parse("").unwrap();
        assert_eq!(config.base_url, "/");
        assert_eq!(config.base_path, "/");
        assert_eq!(config.taxonomies, ["tags"]);
        assert_eq!(config.output_dir, PathBuf::from("public"));
        assert!(config.markdown.highlight_code);
    }

    #[test]
    fn base_path_comes_from_base_url() {
        let config = Config::parse("base_url = \"https://example.org/docs\"").unwrap();
        assert_eq!(config.base_url, "https://example.org/docs/");
        assert_eq!(config.base_path, "/docs/");
        assert_eq!(config.site_path("blog/a/"), "/docs/blog/a/");
        assert_eq!(config.permalink("/docs/blog/a/"), "https://example.org/docs/blog/a/");
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let err = Config::parse("title = \"x\"\n\ntitel = \"y\"\n").unwrap_err();
        assert_eq!(err.line, Some(3));
        assert!(err.message.contains("titel"), "{}", err.message);
    }

    #[test]
    fn unknown_markdown_key_is_an_error() {
        let err = Config::parse("[markdown]\nhighlight = true\n").unwrap_err();
        assert_eq!(err.line, Some(2));
    }

    #[test]
    fn a_key_in_the_wrong_table_says_where_it_belongs() {
        let err = Config::parse("highlight_code = false\n").unwrap_err();
        assert_eq!(err.hint.as_deref(), Some("`highlight_code` belongs under [markdown]"));
        let err = Config::parse("[markdown]\ntitle = \"x\"\n").unwrap_err();
        assert_eq!(err.hint.as_deref(), Some("`title` belongs at the top of bengal.toml, before any [table]"));
        let err = Config::parse("default_language = \"fr\"\n").unwrap_err();
        assert_eq!(err.hint.as_deref(), Some("that is Zola's name; Bengal's is `language`"));
        assert_eq!(err.line, Some(1));
    }

    #[test]
    fn markdown_names_extra_grammars() {
        let config = Config::parse("[markdown]\nextra_grammars = [\"syntaxes/mylang.json\"]\n").unwrap();
        assert_eq!(config.markdown.extra_grammars, [PathBuf::from("syntaxes/mylang.json")]);
        let err = Config::parse("extra_grammars = []\n").unwrap_err();
        assert_eq!(err.hint.as_deref(), Some("`extra_grammars` belongs under [markdown]"));
    }

    #[test]
    fn taxonomy_names_must_be_slugs() {
        let err = Config::parse("taxonomies = [\"My Tags\"]").unwrap_err();
        assert_eq!(err.line, Some(1));
    }
}

//! Discovery: `content/` becomes sections, pages and their assets.
//!
//! `_index.md` is a section, `dir/index.md` a page whose sibling files are its
//! co-located assets, any other `.md` a page. Every directory that holds a page
//! (or an `_index.md`) is a section, so a site needs no `_index.md` to start.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::build::config::Config;
use crate::build::frontmatter::{self, PageDate, PageFront, SectionFront, Terms};
use crate::error::{Error, Result};
use crate::paths;
use crate::paths::CONTENT_DIR;

/// A page as read from disk: front matter parsed, body not yet rendered.
#[derive(Debug, Clone)]
pub struct SourcePage {
    /// Path relative to the site root, for error messages.
    pub file: PathBuf,
    /// Path relative to `content/` with `/` separators: what `@/…` links name.
    pub content_path: String,
    /// `content_path` of the directory of the owning section (`""` for the root).
    pub section_dir: String,
    /// Parsed front matter.
    pub front: PageFront,
    /// Taxonomy terms, by taxonomy name.
    pub terms: Terms,
    /// Parsed `date`.
    pub date: Option<PageDate>,
    /// Parsed `updated`.
    pub updated: Option<PageDate>,
    /// Markdown after the front matter; emptied once rendered ([`SourcePage::rendered`]),
    /// since a site keeps every page: it was a fifth of a large build's memory.
    pub body: String,
    /// A hash of `body`: what a rebuild compares to reuse a rendered body.
    pub body_hash: u64,
    /// The file line on which `body` starts.
    pub body_line: usize,
    /// The page's URL path, with the base path, e.g. `/blog/hello/`.
    pub path: String,
    /// Co-located files (absolute source paths) copied beside the page.
    pub assets: Vec<PathBuf>,
}

impl SourcePage {
    /// The page without its body, which has been rendered.
    pub fn rendered(mut self) -> SourcePage {
        self.body = String::new();
        self
    }

    /// Its co-located files, each with its path inside the bundle
    /// (`img/map.png`): subfolders are kept, as Zola keeps them.
    pub fn bundle_assets(&self, root: &Path) -> impl Iterator<Item = (&PathBuf, String)> {
        let bundle = root.join(&self.file).parent().map(Path::to_path_buf).unwrap_or_default();
        self.assets.iter().map(move |asset| {
            let relative = asset
                .strip_prefix(&bundle)
                .map(paths::slash_path)
                .unwrap_or_else(|_| asset.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
            (asset, relative)
        })
    }

    /// Zola's `page.assets`: the co-located files as paths below `content/`
    /// (`/blog/post/img/map.png`).
    pub fn asset_paths(&self, root: &Path) -> Vec<String> {
        let bundle = paths::parent_of(&self.content_path);
        self.bundle_assets(root)
            .map(
                |(_, relative)| {
                    if bundle.is_empty() { format!("/{relative}") } else { format!("/{bundle}/{relative}") }
                },
            )
            .collect()
    }

    /// Zola's `page.colocated_path`: the bundle's folder below `content/`
    /// (`blog/post/`), for an `index.md` only.
    pub fn colocated_path(&self) -> Option<String> {
        self.content_path.ends_with("/index.md").then(|| format!("{}/", paths::parent_of(&self.content_path)))
    }
}

/// A section as read from disk.
#[derive(Debug, Clone)]
pub struct SourceSection {
    /// `_index.md` relative to the site root, if the section has one.
    pub file: Option<PathBuf>,
    /// Directory relative to `content/` (`""` for the root).
    pub dir: String,
    /// Parsed front matter (defaults when there is no `_index.md`).
    pub front: SectionFront,
    /// Markdown after the front matter.
    pub body: String,
    /// The file line on which `body` starts.
    pub body_line: usize,
    /// The section's URL path, with the base path, e.g. `/blog/`.
    pub path: String,
}

/// A file under `content/` that is neither Markdown nor in a page bundle,
/// copied to the same place under its section.
#[derive(Debug, Clone)]
pub struct LooseAsset {
    /// Absolute source path.
    pub source: PathBuf,
    /// Output path relative to the output root.
    pub output: String,
}

/// Everything `content/` holds.
#[derive(Debug, Clone, Default)]
pub struct Content {
    /// Pages, ordered by `content_path`; shared so that a rebuild after one
    /// edit copies pointers, not every page.
    pub pages: Vec<Arc<SourcePage>>,
    /// Sections, ordered by `dir` (the root first).
    pub sections: Vec<SourceSection>,
    /// Files copied as they are.
    pub loose_assets: Vec<LooseAsset>,
}

enum Entry {
    Page { file: PathBuf, bundle_assets: Vec<PathBuf> },
    Section { file: PathBuf },
}

/// Reads and parses every file under `root/content`.
pub fn load(root: &Path, config: &Config, drafts: bool) -> Result<Content> {
    let content_root = root.join(CONTENT_DIR);
    if !content_root.is_dir() {
        return Ok(Content { sections: vec![root_section(config)], ..Content::default() });
    }
    let site = std::fs::canonicalize(root).map_err(|err| Error::io(root, "open the site", err))?;
    let Discovered { entries, loose, bundles } = discover(&site, root, &content_root, config)?;
    let parsed: Vec<Result<Option<Parsed>>> = entries
        .into_par_iter()
        .map(|entry| parse_entry(root, &content_root, config, &|dir| bundles.contains(dir), entry))
        .collect();
    let parsed = crate::error::all(parsed)?;

    let mut pages = Vec::new();
    let mut sections = Vec::new();
    for item in parsed.into_iter().flatten() {
        match item {
            Parsed::Page(page) if page.front.draft && !drafts => {}
            Parsed::Page(page) => pages.push(Arc::new(*page)),
            Parsed::Section(section) => sections.push(*section),
        }
    }
    // A draft section leaves out everything below it, its pages included.
    let draft_dirs: Vec<String> =
        sections.iter().filter(|s| s.front.draft && !drafts && !s.dir.is_empty()).map(|s| s.dir.clone()).collect();
    let drafted = |dir: &str| {
        draft_dirs.iter().any(|d| dir == d || dir.strip_prefix(d.as_str()).is_some_and(|rest| rest.starts_with('/')))
    };
    pages.retain(|page: &Arc<SourcePage>| !drafted(&page.section_dir));
    sections.retain(|section: &SourceSection| !drafted(&section.dir));
    // Every directory holding a page is a section, even without an `_index.md`.
    let mut dirs: BTreeSet<String> = BTreeSet::from([String::new()]);
    for page in &pages {
        let mut dir = page.section_dir.as_str();
        loop {
            dirs.insert(dir.to_owned());
            match dir.rsplit_once('/') {
                Some((parent, _)) => dir = parent,
                None if dir.is_empty() => break,
                None => dir = "",
            }
        }
    }
    let known: BTreeSet<String> = sections.iter().map(|s: &SourceSection| s.dir.clone()).collect();
    for dir in dirs.difference(&known) {
        sections.push(implicit_section(config, dir));
    }
    sections.sort_by(|a, b| a.dir.cmp(&b.dir));
    pages.sort_by(|a, b| a.content_path.cmp(&b.content_path));
    let loose_assets = loose
        .into_iter()
        .map(|source| {
            let relative = relative_slash_path(&content_root, &source);
            let (dir, name) = relative.rsplit_once('/').unwrap_or(("", &relative));
            let output = format!("{}{name}", config.dir_url(dir));
            LooseAsset { source, output: output.trim_start_matches('/').to_owned() }
        })
        .collect();
    Ok(Content { pages, sections, loose_assets })
}

/// Re-reads one plain page file (not `_index.md`, not a bundle's `index.md`):
/// the dev server's fast path after an edit.
pub fn load_page(root: &Path, config: &Config, file: &Path) -> Result<SourcePage> {
    let site = std::fs::canonicalize(root).map_err(|err| Error::io(root, "open the site", err))?;
    paths::check_source(&site, file, file.strip_prefix(root).unwrap_or(file))?;
    let content_root = root.join(CONTENT_DIR);
    let is_bundle = |dir: &str| {
        let dir = content_root.join(dir);
        dir != content_root && dir.join("index.md").is_file() && !dir.join("_index.md").is_file()
    };
    let entry = Entry::Page { file: file.to_path_buf(), bundle_assets: Vec::new() };
    match parse_entry(root, &content_root, config, &is_bundle, entry)? {
        Some(Parsed::Page(page)) => Ok(*page),
        _ => Err(Error::in_file(file, "is not a page")),
    }
}

/// What a walk of `content/` finds.
struct Discovered {
    entries: Vec<Entry>,
    loose: Vec<PathBuf>,
    /// Page bundles (directories with an `index.md`), relative to `content/`.
    bundles: BTreeSet<String>,
}

/// Walks `content/`, sorted. Every Markdown file is content, inside a page
/// bundle too (as in Zola: a bundle's subfolder with an `_index.md` is a
/// section); any other file belongs to the nearest directory above it with an
/// `index.md` (a bundle's co-located file) or an `_index.md` (a loose file of
/// that section). Symlinks are followed only inside the site (`site`,
/// canonical); `root` is the root as given, for names in errors.
fn discover(site: &Path, root: &Path, content_root: &Path, config: &Config) -> Result<Discovered> {
    let slugify_dirs = config.slugify_dirs;
    let mut found = Discovered { entries: Vec::new(), loose: Vec::new(), bundles: BTreeSet::new() };
    let mut assets: HashMap<PathBuf, Vec<PathBuf>> = HashMap::new();
    let mut walker = paths::walk(content_root);
    while let Some(item) = walker.next() {
        let item = item.map_err(|err| paths::walk_error(root, content_root, err))?;
        let path = item.path();
        if is_hidden(path) && path != content_root {
            if item.file_type().is_dir() {
                walker.skip_current_dir();
            }
            continue;
        }
        // Zola's `ignored_content`: globs over the path below `content/`.
        if path != content_root && config.ignored_content.is_match(path.strip_prefix(content_root).unwrap_or(path)) {
            if item.file_type().is_dir() {
                walker.skip_current_dir();
            }
            continue;
        }
        paths::check_entry(site, root, &item)?;
        if path != content_root {
            check_name(root, path, slugify_dirs && item.file_type().is_dir())?;
        }
        if item.file_type().is_dir() {
            if path != content_root && path.join("index.md").is_file() && !path.join("_index.md").is_file() {
                found.bundles.insert(relative_slash_path(content_root, path));
            }
            continue;
        }
        let in_bundle =
            |dir: &Path| dir != content_root && found.bundles.contains(&relative_slash_path(content_root, dir));
        let dir = path.parent().unwrap_or(content_root);
        match (path.file_name().and_then(|n| n.to_str()), path.extension().and_then(|e| e.to_str())) {
            (Some("_index.md"), _) => found.entries.push(Entry::Section { file: path.to_path_buf() }),
            (_, Some("md")) => found.entries.push(Entry::Page { file: path.to_path_buf(), bundle_assets: Vec::new() }),
            _ => match owner_of(content_root, dir) {
                Some(owner) if in_bundle(owner) => {
                    assets.entry(owner.to_path_buf()).or_default().push(path.to_path_buf())
                }
                _ => found.loose.push(path.to_path_buf()),
            },
        }
    }
    for entry in &mut found.entries {
        if let Entry::Page { file, bundle_assets } = entry
            && file.file_name().is_some_and(|n| n == "index.md")
            && let Some(owned) = file.parent().and_then(|dir| assets.remove(dir))
        {
            *bundle_assets = owned;
        }
    }
    Ok(found)
}

/// The nearest directory from `dir` up to `content/` that holds an
/// `index.md` or an `_index.md`: what a non-Markdown file there belongs to.
fn owner_of<'p>(content_root: &Path, dir: &'p Path) -> Option<&'p Path> {
    dir.ancestors()
        .take_while(|d| d.starts_with(content_root) && *d != content_root)
        .find(|d| d.join("index.md").is_file() || d.join("_index.md").is_file())
}

/// A name must be UTF-8 (URLs are), and a directory's, when it is to be
/// slugified, must leave a URL segment: `blog/!!!/` would become `blog//`.
fn check_name(root: &Path, path: &Path, slugified_dir: bool) -> Result<()> {
    let shown = path.strip_prefix(root).unwrap_or(path);
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Err(paths::not_utf8(shown));
    };
    if slugified_dir && slug::slugify(name).is_empty() {
        return Err(Error::in_file(shown, format!("the directory name `{name}` leaves no URL segment"))
            .with_hint("rename it with at least one letter or digit"));
    }
    Ok(())
}

fn is_hidden(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'))
}

enum Parsed {
    Page(Box<SourcePage>),
    Section(Box<SourceSection>),
}

/// Parses one Markdown file; `is_bundle` tells which directories (relative to
/// `content/`) are page bundles.
fn parse_entry(
    root: &Path,
    content_root: &Path,
    config: &Config,
    is_bundle: &(dyn Fn(&str) -> bool + Sync),
    entry: Entry,
) -> Result<Option<Parsed>> {
    let (file, bundle_assets, is_section) = match entry {
        Entry::Page { file, bundle_assets } => (file, bundle_assets, false),
        Entry::Section { file } => (file, Vec::new(), true),
    };
    let display = file.strip_prefix(root).unwrap_or(&file).to_path_buf();
    let text = std::fs::read_to_string(&file).map_err(|err| match err.kind() {
        std::io::ErrorKind::InvalidData => Error::in_file(&display, "is not UTF-8 text")
            .with_hint("save it as UTF-8, or move it out of content/ if it is not a page"),
        _ => Error::io(&display, "read it", err),
    })?;
    let in_file = |err: Error| Error { file: Some(display.clone()), ..err };
    let split = frontmatter::split(&text).map_err(in_file)?;
    let check_url = |key: &str, value: &str| match unusable_url_path(value) {
        Some(why) => Err(Error::in_file(&display, format!("`{key}` {value:?} {why}"))
            .at_line(split.key_line(key))
            .with_hint(format!("write `{key}` as a URL path inside the site, such as \"/blog/old-name/\""))),
        None => Ok(()),
    };
    let content_path = relative_slash_path(content_root, &file);
    let dir = paths::parent_of(&content_path).to_owned();
    if is_section {
        let (front, _) = frontmatter::parse::<SectionFront>(&split, None).map_err(in_file)?;
        front.aliases.iter().try_for_each(|alias| check_url("aliases", alias))?;
        return Ok(Some(Parsed::Section(Box::new(SourceSection {
            path: config.site_path(&config.dir_url(&dir)),
            file: Some(display),
            dir,
            front,
            body: split.body.to_owned(),
            body_line: split.body_line,
        }))));
    }
    let (front, terms) = frontmatter::parse::<PageFront>(&split, Some(&config.taxonomies)).map_err(in_file)?;
    front.aliases.iter().try_for_each(|alias| check_url("aliases", alias))?;
    front.path.iter().try_for_each(|path| check_url("path", path))?;
    let parse_date = |key: &str, value: &Option<String>| -> Result<Option<PageDate>> {
        let Some(text) = value else { return Ok(None) };
        PageDate::parse(text).map(Some).ok_or_else(|| {
            Error::in_file(&display, format!("`{key}` is not a date: {text:?}"))
                .at_line(split.key_line(key))
                .with_hint("write it as 2024-03-01 or 2024-03-01T10:00:00+01:00")
        })
    };
    // A bundle's page is named by its directory, under the parent's URL.
    let (url_dir, name) = if content_path.ends_with("/index.md") {
        let (parent, name) = dir.rsplit_once('/').unwrap_or(("", &dir));
        (parent.to_owned(), name.to_owned())
    } else {
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
        (dir, stem)
    };
    // Its section: the nearest directory above that is not a page bundle.
    let mut section_dir = url_dir.clone();
    while is_bundle(&section_dir) {
        section_dir = paths::parent_of(&section_dir).to_owned();
    }
    // `2016-10-08-post.md` is dated by its name, which then leaves the slug.
    let (name_date, stem) = match date_prefix(&name) {
        Some((date, rest)) => (Some(date), rest.to_owned()),
        None => (None, name),
    };
    let date = parse_date("date", &front.date)?.or(name_date);
    let updated = parse_date("updated", &front.updated)?;
    let slug = config.slugify_paths.apply(front.slug.as_deref().unwrap_or(&stem));
    // As written: slugified (`a/../b` becomes `a-b`), a slug may be anything.
    if front.slug.is_some() {
        check_url("slug", &slug)?;
    }
    if slug.is_empty() {
        let (source, line) = match &front.slug {
            Some(slug) => (format!("its `slug` {slug:?}"), split.key_line("slug")),
            None => (format!("its file name `{stem}`"), None),
        };
        return Err(Error::in_file(&display, format!("the URL slug is empty: {source} has no letter or digit"))
            .at_line(line)
            .with_hint("set `slug = \"…\"` in its front matter, or rename the file"));
    }
    for (taxonomy, names) in &terms {
        if let Some(name) = names.iter().find(|name| config.slugify_taxonomies.apply(name).is_empty()) {
            return Err(Error::in_file(&display, format!("the {taxonomy} term {name:?} leaves no URL segment"))
                .at_line(split.key_line(taxonomy))
                .with_hint("give every term at least one letter or digit"));
        }
    }
    let path = match &front.path {
        Some(path) => {
            let path = path.trim().trim_matches('/');
            if path.is_empty() {
                return Err(Error::in_file(&display, "`path` is empty")
                    .at_line(split.key_line("path"))
                    .with_hint("give the page's whole URL path, e.g. path = \"about\", or remove the key"));
            }
            config.site_path(&format!("{path}/"))
        }
        None => config.site_path(&format!("{}{slug}/", config.dir_url(&url_dir))),
    };
    Ok(Some(Parsed::Page(Box::new(SourcePage {
        file: display,
        content_path,
        section_dir,
        front,
        terms,
        date,
        updated,
        body: split.body.to_owned(),
        body_hash: hash_text(split.body),
        body_line: split.body_line,
        path,
        assets: bundle_assets,
    }))))
}

/// Why a URL path written in front matter (`path`, `slug`, an alias)
/// cannot name an output file: it climbs out with `..`, holds a control
/// character (a NUL no file name can), or has a segment longer than a file
/// name may be.
fn unusable_url_path(path: &str) -> Option<&'static str> {
    if path.chars().any(char::is_control) {
        Some("holds a control character")
    } else if path.split('/').any(|part| part == "..") {
        Some("climbs out of the site with `..`")
    } else if path.split('/').any(|part| part.len() > 255) {
        Some("has a part longer than a file name may be (255 bytes)")
    } else {
        None
    }
}

fn hash_text(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

/// `2016-10-08-a-post` or `2016-10-08_a-post` (a time may follow the date,
/// as in `2016-10-08T08:00:00Z_a-post`) → the date and `a-post`, as Zola reads it.
fn date_prefix(name: &str) -> Option<(PageDate, &str)> {
    let bytes = name.as_bytes();
    let digits = |range: std::ops::Range<usize>| bytes.get(range).is_some_and(|b| b.iter().all(u8::is_ascii_digit));
    let is_date =
        digits(0..4) && bytes.get(4) == Some(&b'-') && digits(5..7) && bytes.get(7) == Some(&b'-') && digits(8..10);
    if !is_date {
        return None;
    }
    let mut end = 10;
    if bytes.get(end) == Some(&b'T') && digits(11..13) && digits(14..16) && digits(17..19) {
        end = 19;
        match bytes.get(end) {
            Some(b'Z') => end += 1,
            Some(b'+' | b'-') if digits(end + 1..end + 3) && digits(end + 4..end + 6) => end += 6,
            _ => {}
        }
    }
    let rest = name.get(end..)?.strip_prefix(['_', '-', ' '])?;
    if rest.is_empty() {
        return None;
    }
    Some((PageDate::parse(&name[..end])?, rest))
}

fn root_section(config: &Config) -> SourceSection {
    implicit_section(config, "")
}

fn implicit_section(config: &Config, dir: &str) -> SourceSection {
    SourceSection {
        file: None,
        dir: dir.to_owned(),
        front: SectionFront::default(),
        body: String::new(),
        body_line: 1,
        path: config.site_path(&config.dir_url(dir)),
    }
}

fn relative_slash_path(base: &Path, path: &Path) -> String {
    crate::paths::slash_path(path.strip_prefix(base).unwrap_or(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_prefix_dates_the_page_and_leaves_the_slug() {
        let (date, rest) = date_prefix("2016-10-08-a-post").unwrap();
        assert_eq!((date.text.as_str(), rest), ("2016-10-08", "a-post"));
        let (date, rest) = date_prefix("2016-10-08_a_post").unwrap();
        assert_eq!((date.text.as_str(), rest), ("2016-10-08", "a_post"));
        let (date, rest) = date_prefix("2016-10-08T08:00:00+02:00_later").unwrap();
        assert_eq!((date.rfc3339().as_str(), rest), ("2016-10-08T06:00:00Z", "later"));
        for name in ["2016-10-08", "2016-10-08-", "2016-13-45-bad-month", "201-10-08-x", "hello", "2016_10_08-x"] {
            assert!(date_prefix(name).is_none(), "{name}");
        }
    }

    #[test]
    fn a_url_path_that_cannot_be_a_file_is_refused_with_its_line() {
        let long = "a".repeat(300);
        let cases = [
            ("+++\ntitle = \"T\"\npath = \"../../../../tmp/x\"\n+++\n", "p.md", 3, "`..`"),
            ("+++\npath = \"a\\u0000b\"\n+++\n", "p.md", 2, "control character"),
            (&format!("+++\nslug = \"{long}\"\n+++\n"), "p.md", 2, "255 bytes"),
            ("+++\naliases = [\"/old/\", \"../../x\"]\n+++\n", "p.md", 2, "`..`"),
            ("+++\ntitle = \"S\"\naliases = [\"../x\"]\n+++\n", "_index.md", 3, "`..`"),
        ];
        for (text, name, line, says) in cases {
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(dir.path().join("content/blog")).unwrap();
            std::fs::write(dir.path().join("content/blog").join(name), text).unwrap();
            let Err(err) = load(dir.path(), &Config::parse("").unwrap(), false) else { panic!("accepted: {text}") };
            let file = Path::new("content/blog").join(name);
            assert_eq!((err.file.as_deref(), err.line), (Some(file.as_path()), Some(line)), "{text}: {err:?}");
            assert!(err.message.contains(says), "{text}: {err:?}");
        }
        // A slug is checked as slugified, which makes any text a URL segment.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("content/blog")).unwrap();
        std::fs::write(dir.path().join("content/blog/p.md"), "+++\nslug = \"a/../b\"\n+++\n").unwrap();
        let content = load(dir.path(), &Config::parse("").unwrap(), false).unwrap();
        assert_eq!(content.pages[0].path, "/blog/a-b/");
    }

    #[test]
    fn a_page_that_is_not_utf8_text_says_so() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("content")).unwrap();
        std::fs::write(dir.path().join("content/bin.md"), b"+++\n+++\n\xff\xfe").unwrap();
        let err = load(dir.path(), &Config::parse("").unwrap(), false).err().unwrap();
        assert!(err.message.contains("is not UTF-8 text"), "{err:?}");
        assert!(err.hint.as_deref().is_some_and(|hint| hint.contains("UTF-8")), "{err:?}");
    }

    #[test]
    fn zola_page_keys_path_taxonomies_table_and_dated_names() {
        let dir = tempfile::tempdir().unwrap();
        let blog = dir.path().join("content/blog");
        std::fs::create_dir_all(&blog).unwrap();
        std::fs::write(
            blog.join("2016-10-08-first.md"),
            "\u{feff}\n\n+++\ntitle = \"First\"\nauthors = [\"Ada\"]\nin_search_index = false\n\
             [taxonomies]\ntags = [\"rust\"]\n+++\nbody\n",
        )
        .unwrap();
        std::fs::write(blog.join("moved.md"), "+++\npath = \"/elsewhere/\"\n+++\n").unwrap();
        let config = Config::parse("").unwrap();
        let content = load(dir.path(), &config, false).unwrap();
        let first = &content.pages[0];
        assert_eq!(first.path, "/blog/first/");
        assert_eq!(first.date.as_ref().map(|d| d.text.as_str()), Some("2016-10-08"));
        assert_eq!(first.terms["tags"], ["rust"]);
        assert_eq!(first.front.authors, ["Ada"]);
        assert_eq!(first.body, "body\n");
        assert_eq!(first.body_line, 10);
        assert_eq!(content.pages[1].path, "/elsewhere/");
    }

    #[test]
    fn a_taxonomy_the_site_does_not_have_is_named_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("content")).unwrap();
        std::fs::write(dir.path().join("content/a.md"), "+++\n[taxonomies]\ncategories = [\"x\"]\n+++\n").unwrap();
        let err = load(dir.path(), &Config::parse("").unwrap(), false).unwrap_err();
        assert!(err.message.contains("categories"), "{err}");
        assert_eq!(err.line, Some(3));
    }

    #[test]
    fn dir_urls_are_slugified() {
        let config = Config::parse("").unwrap();
        assert_eq!(config.dir_url(""), "/");
        assert_eq!(config.dir_url("blog/Release Notes"), "/blog/release-notes/");
        let zola = Config { slugify_dirs: false, ..config };
        assert_eq!(zola.dir_url("blog/Release Notes"), "/blog/Release Notes/");
    }

    #[test]
    fn slugs_come_from_file_names_or_front_matter() {
        let dir = tempfile::tempdir().unwrap();
        let content = dir.path().join("content/blog");
        std::fs::create_dir_all(content.join("My Trip")).unwrap();
        std::fs::write(content.join("Hello World.md"), "# hi").unwrap();
        std::fs::write(content.join("other.md"), "+++\nslug = \"Custom Slug\"\n+++\n").unwrap();
        std::fs::write(content.join("My Trip/index.md"), "trip").unwrap();
        std::fs::write(content.join("My Trip/photo.png"), "png").unwrap();
        std::fs::write(content.join("draft.md"), "+++\ndraft = true\n+++\n").unwrap();
        let config = Config::parse("").unwrap();
        let content = load(dir.path(), &config, false).unwrap();
        let paths: Vec<_> = content.pages.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["/blog/hello-world/", "/blog/my-trip/", "/blog/custom-slug/"]);
        assert_eq!(content.pages[1].assets.len(), 1);
        assert_eq!(content.pages[1].section_dir, "blog");
        let dirs: Vec<_> = content.sections.iter().map(|s| s.dir.as_str()).collect();
        assert_eq!(dirs, ["", "blog"]);
        assert_eq!(load(dir.path(), &config, true).unwrap().pages.len(), 4);
    }
}

//! Tera templates: the site's `templates/` layered over the built-in theme.
//!
//! A site may replace any single theme template; since both live in one Tera
//! instance under the same names, `{% extends "base.html" %}` finds the site's
//! `base.html` first and the theme's otherwise.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use chrono::format::{Item, StrftimeItems};
use tera::{Context, Tera, Value};

use crate::build::config::Config;
use crate::build::frontmatter::PageDate;
use crate::build::functions::{Functions, MarkdownFn};
use crate::build::images::Images;
use crate::build::markdown::Renderer;
use crate::build::recursion;
use crate::error::{Error, Result};
use crate::paths;
use crate::paths::TEMPLATES_DIR;

/// Calls of functions that read every page's data: a template calling one
/// shows other pages, so an edit to any page re-renders it.
pub const SITE_FUNCTIONS: [&str; 3] = ["get_page(", "get_section(", "get_taxonomy("];

/// Calls of functions that read the site's files: a template calling one
/// is re-rendered when a file it read changes.
pub const DATA_FUNCTIONS: [&str; 2] = ["load_data(", "get_hash("];

/// Whether template `text` mentions `word`; a word ending in `(` is a call,
/// found with any spacing before the parenthesis (`get_page (` too) and not
/// as part of a longer name (`get_taxonomy(` is not `get_taxonomy_url(`).
fn text_mentions(text: &str, word: &str) -> bool {
    let Some(function) = word.strip_suffix('(') else { return text.contains(word) };
    text.match_indices(function).any(|(at, _)| text[at + function.len()..].trim_start().starts_with('('))
}
/// Templates of the built-in theme, embedded in the binary. Its own base and
/// macros live under `bengal/`, so that a site's `base.html` or
/// `macros.html` (written for its own templates) cannot break the theme's
/// pages; they are also offered as `base.html` and `macros.html` to a site
/// that has none and extends them. To restyle the theme's pages, a site
/// writes `templates/bengal/base.html`.
const THEME_TEMPLATES: &[(&str, &str)] = &[
    ("bengal/base.html", THEME_BASE),
    ("bengal/macros.html", THEME_MACROS),
    ("base.html", THEME_BASE),
    ("macros.html", THEME_MACROS),
    ("index.html", include_str!("../../theme/templates/index.html")),
    ("section.html", include_str!("../../theme/templates/section.html")),
    ("page.html", include_str!("../../theme/templates/page.html")),
    ("taxonomy.html", include_str!("../../theme/templates/taxonomy.html")),
    ("term.html", include_str!("../../theme/templates/term.html")),
    ("404.html", include_str!("../../theme/templates/404.html")),
    ("atom.xml", include_str!("../../theme/templates/atom.xml")),
    ("rss.xml", include_str!("../../theme/templates/rss.xml")),
    ("sitemap.xml", include_str!("../../theme/templates/sitemap.xml")),
];

const THEME_BASE: &str = include_str!("../../theme/templates/base.html");
const THEME_MACROS: &str = include_str!("../../theme/templates/macros.html");

/// Static files of the built-in theme, written unless the site ships its own.
pub const THEME_STATIC: &[(&str, &str)] = &[
    ("theme.css", include_str!("../../theme/static/theme.css")),
    ("favicon.svg", include_str!("../../theme/static/favicon.svg")),
];

/// Where a template came from, for error messages.
#[derive(Debug, Clone)]
enum Origin {
    Theme,
    Site(PathBuf),
}

/// The loaded templates of one site.
pub struct Templates {
    tera: Tera,
    origins: HashMap<String, Origin>,
    sources: HashMap<String, String>,
    /// Per shortcode name, a hash of its templates and what they need.
    shortcode_hashes: HashMap<String, u64>,
    /// Every name written in a template, or `None` when one reads fields
    /// by names it does not write: what [`Templates::may_read`] answers from.
    names: Option<HashSet<String>>,
    site: SiteSlot,
    functions: Arc<Functions>,
    images: Arc<Images>,
}

/// What the site functions read, replaced as a build learns it: the
/// content's links once content is discovered (shortcodes may call
/// `get_url`), then every page, section and taxonomy before rendering.
type SiteSlot = Arc<RwLock<Arc<SiteData>>>;

/// The site as its template functions see it.
#[derive(Debug, Default)]
pub struct SiteData {
    /// Content path (`blog/a.md`, `blog/_index.md`) → site path: the
    /// site's own map, shared.
    pub links: Arc<HashMap<String, String>>,
    /// Content path → the page as templates see it.
    pub pages: HashMap<String, Value>,
    /// Content path (`blog/_index.md`) → the section, with its pages.
    pub sections: HashMap<String, Value>,
    /// Taxonomy name → its terms, each with its pages.
    pub taxonomies: HashMap<String, Value>,
}

impl Templates {
    /// Loads the built-in theme, then the site's theme (`themes/NAME/templates`,
    /// also named `NAME/templates/…` for `{% extends %}`, as in Zola), then
    /// the site's `templates/` over both.
    pub fn load(root: &Path, config: &Config) -> Result<Templates> {
        let mut sources: BTreeMap<String, (String, Origin)> = THEME_TEMPLATES
            .iter()
            .map(|(name, text)| ((*name).to_owned(), ((*text).to_owned(), Origin::Theme)))
            .collect();
        if let Some(theme) = &config.theme {
            let dir = root.join(paths::THEMES_DIR).join(theme).join(TEMPLATES_DIR);
            if dir.is_dir() {
                for (name, text, relative) in read_templates(root, &dir)? {
                    sources.insert(format!("{theme}/templates/{name}"), (text.clone(), Origin::Site(relative.clone())));
                    sources.insert(name, (text, Origin::Site(relative)));
                }
            }
        }
        let dir = root.join(TEMPLATES_DIR);
        if dir.is_dir() {
            for (name, text, relative) in read_templates(root, &dir)? {
                sources.insert(name, (text, Origin::Site(relative)));
            }
        }
        let origins = sources.iter().map(|(name, (_, origin))| (name.clone(), origin.clone())).collect();
        let texts: HashMap<String, String> =
            sources.iter().map(|(name, (text, _))| (name.clone(), text.clone())).collect();
        let mut tera = Tera::default();
        tera.add_raw_templates(sources.iter().map(|(name, (text, _))| (name.as_str(), text.as_str())))
            .map_err(|err| template_error(Path::new(TEMPLATES_DIR), &err))?;
        tera.set_escape_fn(crate::build::html::escape_html);
        refuse_endless_includes(&tera, &sources)?;
        let site = SiteSlot::default();
        register_helpers(&mut tera, root, config, &site);
        let functions = Functions::new(root, config, markdown_filter(config, &site));
        functions.register(&mut tera);
        let images = Images::new(root, config)?;
        images.register(&mut tera);
        let names = written_names(texts.values());
        let mut templates = Templates {
            tera,
            origins,
            sources: texts,
            shortcode_hashes: HashMap::new(),
            names,
            site,
            functions,
            images,
        };
        templates.shortcode_hashes = templates.hash_shortcodes();
        Ok(templates)
    }

    /// Tells the site functions (`get_page`, `get_url(path="@/…")`, …) what
    /// the site now holds.
    pub fn set_site_data(&self, data: SiteData) {
        let mut slot = self.site.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        *slot = Arc::new(data);
    }

    /// The data files templates read (`load_data`, `get_hash`): a change to
    /// one re-renders the templates that call those functions.
    pub fn data_files(&self) -> Vec<PathBuf> {
        self.functions.data_files()
    }

    /// Records the data files `earlier` read as read by these templates too.
    pub fn remember_data_files(&self, earlier: &Templates) {
        self.functions.remember(earlier.functions.data_files());
    }

    /// The images `resize_image` made, to publish: (cached file, output path).
    pub fn processed_images(&self) -> Vec<(PathBuf, String)> {
        self.images.outputs()
    }

    /// Whether any template calls a function that needs every page's data.
    pub fn uses_site_functions(&self) -> bool {
        SITE_FUNCTIONS.iter().any(|name| self.any_mentions(name))
    }

    /// Whether a shortcode reads data files: a change to one then changes
    /// Markdown bodies, not only what templates render around them.
    pub fn shortcodes_read_data(&self) -> bool {
        self.sources.iter().any(|(name, text)| {
            name.starts_with("shortcodes/") && DATA_FUNCTIONS.iter().any(|f| text_mentions(text, f))
        })
    }

    /// Whether template `name` is the site's or its theme's, not Bengal's.
    pub fn is_own(&self, name: &str) -> bool {
        matches!(self.origins.get(name), Some(Origin::Site(_)))
    }

    /// Whether a template of that name exists (in the site or the theme).
    pub fn has(&self, name: &str) -> bool {
        self.origins.contains_key(name)
    }

    /// `name` and every template it needs: parents, imported macro files and
    /// includes, transitively. A change to any of them changes its output.
    pub fn closure(&self, name: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![name.to_owned()];
        while let Some(next) = todo.pop() {
            if !seen.insert(next.clone()) {
                continue;
            }
            if let Ok(template) = self.tera.get_template(&next) {
                todo.extend(template.parents.iter().cloned());
                todo.extend(template.imported_macro_files.iter().map(|(file, _)| file.clone()));
            }
            if let Some(text) = self.sources.get(&next) {
                todo.extend(included_names(text));
            }
        }
        seen
    }

    /// Whether `name` or a template it needs mentions `word` (e.g. a global
    /// such as `recent_pages`), so that a change to that global re-renders it.
    pub fn mentions(&self, name: &str, word: &str) -> bool {
        self.closure(name).iter().any(|t| self.sources.get(t).is_some_and(|text| text_mentions(text, word)))
    }

    /// Whether a template may read a field called `field`: one of them
    /// writes that name, or reads fields by names it does not write.
    pub fn may_read(&self, field: &str) -> bool {
        self.names.as_ref().is_none_or(|names| names.contains(field))
    }

    /// Whether any template mentions `word`: asking each job's template
    /// costs a plan of the whole site, skipped when none does.
    pub fn any_mentions(&self, word: &str) -> bool {
        self.sources.values().any(|text| text_mentions(text, word))
    }

    /// Renders shortcode template `name`; an error names its file.
    pub fn render_shortcode(&self, name: &str, context: &Context) -> Result<String> {
        self.tera.render(name, context).map_err(|err| {
            Error::new(format!("shortcode {name}: {}", error_chain(&err)))
                .with_hint("fix the shortcode's arguments or its template")
        })
    }

    /// A hash of shortcode `name`'s templates (`.md` and `.html`, and what
    /// they include or import), 0 when there is none: a body rendered with
    /// a shortcode is reused only while its hash is unchanged.
    pub fn shortcode_hash(&self, name: &str) -> u64 {
        self.shortcode_hashes.get(name).copied().unwrap_or(0)
    }

    fn hash_shortcodes(&self) -> HashMap<String, u64> {
        use std::hash::{Hash, Hasher};
        let names: BTreeSet<&str> = self
            .sources
            .keys()
            .filter_map(|template| template.strip_prefix("shortcodes/")?.rsplit_once('.').map(|(name, _)| name))
            .collect();
        let hash = |name: &str| {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            for ext in ["md", "html"] {
                for template in self.closure(&format!("shortcodes/{name}.{ext}")) {
                    if let Some(text) = self.sources.get(&template) {
                        (template, text).hash(&mut hasher);
                    }
                }
            }
            hasher.finish()
        };
        names.into_iter().map(|name| (name.to_owned(), hash(name))).collect()
    }

    /// Renders template `name`; `what` names the page being rendered for errors.
    pub fn render(&self, name: &str, context: &Context, what: &Path) -> Result<String> {
        self.tera.render(name, context).map_err(|err| self.render_error(name, context, what, &err))
    }

    /// A render error at its place: Tera names only the template rendered,
    /// so the missing name is looked for in it and the templates it needs
    /// (its parents, imports, includes), and the first that mentions it is
    /// named with the line; a missing field gets the nearest one that exists.
    fn render_error(&self, name: &str, context: &Context, what: &Path, err: &tera::Error) -> Error {
        let chain = error_chain(err);
        let missing = missing_name(&chain);
        let closure = self.closure(name);
        let mut candidates: Vec<&str> = vec![name];
        candidates.extend(closure.iter().map(String::as_str).filter(|t| *t != name));
        let place = missing.as_ref().and_then(|(_, needle)| {
            candidates.iter().find_map(|template| {
                let text = self.sources.get(*template)?;
                let offset = find_word(text, needle)?;
                Some((*template, crate::error::line_of_offset(text, offset)))
            })
        });
        let (template, line) = place.map_or((name, None), |(template, line)| (template, Some(line)));
        let file = match self.origins.get(template) {
            Some(Origin::Site(path)) => path.clone(),
            _ => PathBuf::from(format!("(built-in theme) {template}")),
        };
        let suggestion = match &missing {
            Some((Missing::Variable, path)) => nearest_field(&context.clone().into_json(), path),
            _ => None,
        };
        let hint = match suggestion {
            Some(found) => {
                format!("did you mean `{found}`? (what templates see is listed in Bengal's bengal/theme/CONTEXT.md)")
            }
            None => "fix the template; what templates see is listed in Bengal's bengal/theme/CONTEXT.md".to_owned(),
        };
        Error::in_file(file, format!("{chain} (rendering {})", what.display())).at_line(line).with_hint(hint)
    }
}

/// Fails on the first of the site's templates whose includes go round
/// without end ([`recursion::endless_include`]), naming the include's line.
fn refuse_endless_includes(tera: &Tera, sources: &BTreeMap<String, (String, Origin)>) -> Result<()> {
    let asts: HashMap<&str, &[tera::ast::Node]> =
        tera.templates.iter().map(|(name, template)| (name.as_str(), template.ast.as_slice())).collect();
    for (name, (_, origin)) in sources {
        if !matches!(origin, Origin::Site(_)) {
            continue;
        }
        let Some(round) = recursion::endless_include(&asts, name) else { continue };
        let (first, next) = (round[0], round[1]);
        let Some((text, Origin::Site(file))) = sources.get(first) else { continue };
        let message = if round.len() == 2 {
            format!("`{first}` includes itself, so its render would never end")
        } else {
            format!("the includes {} go round without end", round.join(" → "))
        };
        // The include tag's, not another mention of the name.
        let line = ['"', '\''].iter().find_map(|q| {
            let quoted = format!("{q}{next}{q}");
            text.match_indices(&quoted).map(|(at, _)| at).find(|&at| text[..at].trim_end().ends_with("include"))
        });
        let line = line.map(|at| text[..at].matches('\n').count() + 1);
        return Err(Error::in_file(file, message)
            .at_line(line)
            .with_hint("remove the include, or put it under an `if` that ends the round"));
    }
    Ok(())
}

/// Every template under `dir`, each parsed alone first so that a syntax
/// error names its own file and line: (name, text, path from the root).
fn read_templates(root: &Path, dir: &Path) -> Result<Vec<(String, String, PathBuf)>> {
    let site = std::fs::canonicalize(root).map_err(|err| Error::io(root, "open the site", err))?;
    let mut found = Vec::new();
    for entry in paths::walk(dir) {
        let entry = entry.map_err(|err| paths::walk_error(root, dir, err))?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        paths::check_entry(&site, root, &entry)?;
        if !entry.file_type().is_file() {
            continue;
        }
        let relative = entry.path().strip_prefix(root).unwrap_or(entry.path()).to_path_buf();
        let name = paths::slash_path(entry.path().strip_prefix(dir).unwrap_or(entry.path()));
        let text = std::fs::read_to_string(entry.path()).map_err(|err| Error::io(&relative, "read it", err))?;
        if let Some(line) = recursion::too_deep(&text) {
            let message = format!("nests deeper than {} levels (blocks, or brackets in a tag)", recursion::MAX_NESTING);
            return Err(Error::in_file(&relative, message)
                .at_line(Some(line))
                .with_hint("flatten it: move a part into a macro or a template of its own"));
        }
        tera::Template::new(&name, None, &text).map_err(|err| template_error(&relative, &err))?;
        found.push((name, text, relative));
    }
    Ok(found)
}

/// What a Tera render error says is missing.
enum Missing {
    Variable,
    Callable,
}

/// The variable (`page.lowr`), function or filter a render error names,
/// with the text to look for in the templates.
fn missing_name(chain: &str) -> Option<(Missing, String)> {
    let quoted = |after: &str, open: char, close: char| {
        let rest = chain.split_once(after)?.1;
        let rest = rest.trim_start().strip_prefix(open)?;
        Some(rest[..rest.find(close)?].to_owned())
    };
    if let Some(variable) = quoted("Variable", '`', '`') {
        return Some((Missing::Variable, variable));
    }
    ["Function", "Filter", "Test"]
        .iter()
        .find_map(|kind| quoted(kind, '\'', '\''))
        .filter(|name| chain.contains(&format!("'{name}' not found")))
        .map(|name| (Missing::Callable, name))
}

/// The offset of `word` in `text` where it stands alone (not inside a
/// longer name), so `page.lower` is not found in `page.lowercase`.
fn find_word(text: &str, word: &str) -> Option<usize> {
    let is_name = |c: char| c.is_alphanumeric() || c == '_' || c == '.';
    text.match_indices(word).map(|(at, _)| at).find(|&at| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_name) && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// The existing field nearest to the first part of `path` that is missing
/// (`page.lowr.title` → `page.lower`), in the context it was missing from.
fn nearest_field(context: &Value, path: &str) -> Option<String> {
    let mut at = context;
    let mut found: Vec<&str> = Vec::new();
    for part in path.split('.') {
        let object = at.as_object()?;
        if let Some(next) = object.get(part) {
            at = next;
            found.push(part);
            continue;
        }
        let (_, best) = object
            .keys()
            .map(|key| (strsim::jaro_winkler(key, part), key))
            .filter(|(score, _)| *score > 0.8)
            .max_by(|a, b| a.0.total_cmp(&b.0))?;
        found.push(best);
        return Some(found.join("."));
    }
    None
}

/// Names in `{% include "a.html" %}` tags (Tera does not record includes).
fn included_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (start, _) in text.match_indices("include") {
        let rest = text[start + "include".len()..].trim_start();
        for quote in ['"', '\''] {
            if let Some(inner) = rest.strip_prefix(quote)
                && let Some(end) = inner.find(quote)
            {
                names.push(inner[..end].to_owned());
            }
        }
    }
    names
}

/// Every name written in `texts`, or `None` when one reads a value's fields
/// by names it does not write: it encodes whole values (`json_encode`), shows
/// the context (`__tera_context`), or loops over an object's keys (other than
/// `extra`'s and `taxonomies`', which are the author's own maps).
fn written_names<'a>(texts: impl Iterator<Item = &'a String>) -> Option<HashSet<String>> {
    let mut names = HashSet::new();
    for text in texts {
        if text.contains("json_encode") || text.contains("__tera_context") || loops_over_keys(text) {
            return None;
        }
        let words = text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| !w.is_empty());
        names.extend(words.map(str::to_owned));
    }
    Some(names)
}

/// Whether `text` has a `{% for key, value in … %}` loop over anything but
/// an `extra` or `taxonomies` map.
fn loops_over_keys(text: &str) -> bool {
    text.split("{%").skip(1).filter_map(|tag| tag.split_once("%}").map(|(inside, _)| inside)).any(|inside| {
        let inside = inside.trim_matches(|c: char| c == '-' || c.is_whitespace());
        let Some((variables, iterated)) = inside.strip_prefix("for ").and_then(|rest| rest.split_once(" in ")) else {
            return false;
        };
        let iterated = iterated.split('|').next().unwrap_or_default().trim();
        variables.contains(',') && !iterated.contains("extra") && !iterated.ends_with("taxonomies")
    })
}

/// Tera's errors nest the useful part in their sources; a parse error is
/// pest's drawing (` --> line:col`, the source line, `= expected …`), which is
/// reduced to its line, column and expectation.
fn template_error(file: &Path, err: &tera::Error) -> Error {
    let chain = error_chain(err);
    let position = chain.split_once("--> ").and_then(|(_, rest)| rest.split_whitespace().next());
    let line = position.and_then(|p| p.split(':').next()).and_then(|n| n.parse().ok());
    let column = position.and_then(|p| p.split(':').nth(1));
    let message = match (chain.split_once("= "), column) {
        (Some((_, expected)), Some(column)) => format!("syntax error at column {column}: {}", expected.trim()),
        _ => chain,
    };
    Error::in_file(file, message).at_line(line).with_hint("fix the template syntax on that line")
}

fn error_chain(err: &tera::Error) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        parts.push(inner.to_string());
        source = inner.source();
    }
    parts
        .iter()
        .flat_map(|part| part.lines())
        .map(str::trim)
        .filter(|line| !line.is_empty() && *line != "|" && !line.chars().all(|c| c == '|' || c == '^' || c == ' '))
        .collect::<Vec<_>>()
        .join(" ")
}

fn register_helpers(tera: &mut Tera, root: &Path, config: &Config, site: &SiteSlot) {
    let (base, slot, root) = (config.clone(), Arc::clone(site), root.to_path_buf());
    tera.register_function("get_url", move |args: &HashMap<String, Value>| {
        let path = string_arg(args, "path", "get_url")?;
        let trailing_slash = bool_arg(args, "trailing_slash", "get_url")?.unwrap_or(false);
        if let Some(target) = path.strip_prefix("@/") {
            let (file, anchor) = target.split_once('#').map_or((target, None), |(f, a)| (f, Some(a)));
            let data = read_slot(&slot);
            let found = data.links.get(file).ok_or_else(|| {
                format!(
                    "get_url: `{path}` links to content/{file}, which does not exist; check the path under content/"
                )
            })?;
            let mut url = base.permalink(found);
            if let Some(anchor) = anchor {
                url = format!("{url}#{anchor}");
            }
            return Ok(Value::String(url));
        }
        let mut url = zola_permalink(&base, path);
        if !trailing_slash && url.ends_with('/') {
            url.pop();
        }
        if bool_arg(args, "cachebust", "get_url")?.unwrap_or(false) {
            let hash = cachebust_hash(&root, &base, path)
                .ok_or_else(|| format!("get_url: cannot find `{path}` in static/ to add its hash (cachebust)"))?;
            url = format!("{url}?h={hash}");
        }
        Ok(Value::String(url))
    });
    let base = config.clone();
    tera.register_function("get_taxonomy_url", move |args: &HashMap<String, Value>| {
        let kind = string_arg(args, "kind", "get_taxonomy_url")?;
        let name = string_arg(args, "name", "get_taxonomy_url")?;
        let required = bool_arg(args, "required", "get_taxonomy_url")?.unwrap_or(true);
        if !base.taxonomies.iter().any(|t| t == kind) {
            if !required {
                return Ok(Value::Null);
            }
            return Err(format!(
                "get_taxonomy_url: `{kind}` is not a taxonomy of this site (the configuration's `taxonomies`)"
            )
            .into());
        }
        let path = format!("{}{}/", base.taxonomy_path(kind), base.slugify_taxonomies.apply(name));
        Ok(Value::String(base.permalink(&path)))
    });
    let slot = Arc::clone(site);
    tera.register_function("get_page", move |args: &HashMap<String, Value>| {
        let path = content_path_arg(args, "get_page")?;
        read_slot(&slot).pages.get(path.trim_start_matches('/')).cloned().ok_or_else(|| {
            format!("get_page: no page content/{path}; the path is relative to content/, e.g. blog/post.md").into()
        })
    });
    let slot = Arc::clone(site);
    tera.register_function("get_section", move |args: &HashMap<String, Value>| {
        let path = content_path_arg(args, "get_section")?;
        let metadata_only = bool_arg(args, "metadata_only", "get_section")?.unwrap_or(false);
        let data = read_slot(&slot);
        let mut section = data.sections.get(path.trim_start_matches('/')).cloned().ok_or_else(|| {
            format!("get_section: no section content/{path}; the path is relative to content/, e.g. blog/_index.md")
        })?;
        if metadata_only && let Some(object) = section.as_object_mut() {
            object.insert("pages".into(), Value::Array(Vec::new()));
        }
        Ok(section)
    });
    let slot = Arc::clone(site);
    tera.register_function("get_taxonomy", move |args: &HashMap<String, Value>| {
        let kind = string_arg(args, "kind", "get_taxonomy")?;
        let required = bool_arg(args, "required", "get_taxonomy")?.unwrap_or(true);
        match read_slot(&slot).taxonomies.get(kind) {
            Some(taxonomy) => Ok(taxonomy.clone()),
            None if !required => Ok(Value::Null),
            None => Err(format!("get_taxonomy: `{kind}` is not a taxonomy of this site").into()),
        }
    });
    let slot = Arc::clone(site);
    let base = config.clone();
    tera.register_function("get_taxonomy_term", move |args: &HashMap<String, Value>| {
        let kind = string_arg(args, "kind", "get_taxonomy_term")?;
        let term = string_arg(args, "term", "get_taxonomy_term")?;
        let required = bool_arg(args, "required", "get_taxonomy_term")?.unwrap_or(true);
        let data = read_slot(&slot);
        let slug = base.slugify_taxonomies.apply(term);
        let found = data.taxonomies.get(kind).and_then(|taxonomy| {
            taxonomy["items"]
                .as_array()?
                .iter()
                .find(|item| item["name"] == term || item["slug"] == slug.as_str())
                .cloned()
        });
        match found {
            Some(found) => Ok(found),
            None if !required => Ok(Value::Null),
            None => Err(format!("get_taxonomy_term: no term `{term}` in taxonomy `{kind}`").into()),
        }
    });
    tera.register_filter("slugify", |value: &Value, _: &HashMap<String, Value>| {
        let text = value.as_str().ok_or("slugify: expects a string")?;
        Ok(Value::String(slug::slugify(text)))
    });
    tera.register_filter("date", |value: &Value, args: &HashMap<String, Value>| {
        let text = value.as_str().ok_or("date: expects a date text such as 2024-03-01")?;
        let format = args.get("format").and_then(Value::as_str).unwrap_or("%Y-%m-%d");
        let date = PageDate::parse(text).ok_or_else(|| format!("date: {text:?} is not a date"))?;
        let items: Vec<Item> = StrftimeItems::new(format).collect();
        if items.contains(&Item::Error) {
            return Err(format!("date: {format:?} is not a valid strftime format").into());
        }
        // Zone specifiers (%z) cannot format a date without a zone: an
        // error for the template, not a panic.
        let mut text = String::new();
        std::fmt::Write::write_fmt(&mut text, format_args!("{}", date.at.format_with_items(items.into_iter())))
            .map_err(|_| format!("date: {format:?} needs a time zone, which front matter dates do not carry"))?;
        Ok(Value::String(text))
    });
}

/// The `markdown` filter: the site's Markdown options, links resolved
/// against the content as the build last saw it; no shortcodes (as in Zola).
fn markdown_filter(config: &Config, site: &SiteSlot) -> MarkdownFn {
    let (options, slot) = (config.markdown.clone(), Arc::clone(site));
    Arc::new(move |text: &str, _inline: bool| {
        let data = read_slot(&slot);
        let resolve = |target: &str| data.links.get(target.trim_start_matches('/')).cloned();
        let renderer = Renderer { options: &options, highlighter: options.highlighter.get(), resolve: &resolve };
        renderer.render(text).map(|rendered| rendered.html).map_err(|err| err.message)
    })
}

fn read_slot(slot: &SiteSlot) -> Arc<SiteData> {
    Arc::clone(&slot.read().unwrap_or_else(std::sync::PoisonError::into_inner))
}

/// A `path` argument: text, or an object with Zola's `relative_path` (a
/// section's `subsections` item).
fn content_path_arg(args: &HashMap<String, Value>, function: &str) -> tera::Result<String> {
    match args.get("path") {
        Some(Value::String(path)) => Ok(path.trim_start_matches("@/").to_owned()),
        Some(Value::Object(object)) => object
            .get("relative_path")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("{function}: `path` is an object without `relative_path`").into()),
        _ => Err(format!("{function}: missing text argument `path`").into()),
    }
}

fn bool_arg(args: &HashMap<String, Value>, key: &str, function: &str) -> tera::Result<Option<bool>> {
    match args.get(key) {
        None => Ok(None),
        Some(Value::Bool(on)) => Ok(Some(*on)),
        Some(other) => Err(format!("{function}: `{key}` must be true or false, not {other}").into()),
    }
}

/// Zola's permalink of a non-content path: a trailing `/` is added unless
/// the path is a feed, has an anchor, or is empty.
fn zola_permalink(config: &Config, path: &str) -> String {
    let path = path.trim_start_matches('/');
    let bare = path.is_empty()
        || path.ends_with('/')
        || path.contains('#')
        || config.feed_filenames.iter().any(|feed| path.ends_with(feed.as_str()));
    let permalink = config.permalink(&config.site_path(path));
    if bare { permalink } else { format!("{permalink}/") }
}

/// The first 20 hex digits of the SHA-256 of `path` in `static/` (or the
/// theme's), as Zola's `cachebust` adds them.
fn cachebust_hash(root: &Path, config: &Config, path: &str) -> Option<String> {
    let relative = path.trim_start_matches('/');
    let mut dirs = vec![root.join(paths::STATIC_DIR)];
    if let Some(theme) = &config.theme {
        dirs.push(root.join(paths::THEMES_DIR).join(theme).join(paths::STATIC_DIR));
    }
    let site = std::fs::canonicalize(root).ok()?;
    let file = dirs
        .iter()
        .map(|dir| dir.join(relative))
        .find(|file| std::fs::canonicalize(file).is_ok_and(|real| real.starts_with(&site) && real.is_file()))?;
    let bytes = std::fs::read(file).ok()?;
    let digest = <sha2::Sha256 as sha2::Digest>::digest(&bytes);
    Some(digest.iter().take(10).map(|byte| format!("{byte:02x}")).collect())
}

fn string_arg<'a>(args: &'a HashMap<String, Value>, key: &str, function: &str) -> tera::Result<&'a str> {
    args.get(key).and_then(Value::as_str).ok_or_else(|| format!("{function}: missing text argument `{key}`").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(TEMPLATES_DIR).join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn site_template_overrides_theme_and_extends_it() {
        let dir = site_with(&[("page.html", "{% extends \"base.html\" %}{% block content %}MINE{% endblock %}")]);
        let config = Config::parse("").unwrap();
        let templates = Templates::load(dir.path(), &config).unwrap();
        assert!(matches!(templates.origins["page.html"], Origin::Site(_)));
        assert!(matches!(templates.origins["base.html"], Origin::Theme));
    }

    #[test]
    fn closure_follows_parents_imports_and_includes() {
        let dir = site_with(&[
            ("page.html", "{% extends \"base.html\" %}{% block content %}{% include \"bit.html\" %}{% endblock %}"),
            ("bit.html", "recent_pages"),
        ]);
        let config = Config::parse("").unwrap();
        let templates = Templates::load(dir.path(), &config).unwrap();
        let closure = templates.closure("page.html");
        for name in ["page.html", "base.html", "bit.html"] {
            assert!(closure.contains(name), "{closure:?}");
        }
        assert!(templates.mentions("page.html", "recent_pages"));
        assert!(!templates.closure("404.html").contains("bit.html"));
    }

    fn load_error(files: &[(&str, &str)]) -> Error {
        let dir = site_with(files);
        Templates::load(dir.path(), &Config::parse("").unwrap()).err().expect("refused")
    }

    #[test]
    fn an_include_that_never_ends_is_refused_naming_the_file_and_line() {
        let err = load_error(&[("index.html", "{# \"index.html\" #}\n{% include \"index.html\" %}\n")]);
        assert_eq!((err.file.as_deref(), err.line), (Some(Path::new("templates/index.html")), Some(2)), "{err:?}");
        assert!(err.message.contains("includes itself"), "{err:?}");
        let err = load_error(&[("a.html", "{% include \"b.html\" %}"), ("b.html", "x\n{% include \"a.html\" %}")]);
        assert!(err.message.contains("a.html → b.html → a.html"), "{err:?}");
        // A template no page renders yet is checked as well.
        let err = load_error(&[("footer.html", "{% include \"footer.html\" %}")]);
        assert!(err.message.contains("includes itself"), "{err:?}");
    }

    #[test]
    fn a_template_nested_too_deep_is_refused_instead_of_overflowing_the_stack() {
        let deep = 5000;
        let parens = format!("<p>\n{{{{ {}1{} }}}}", "(".repeat(deep), ")".repeat(deep));
        let ifs = format!("{}x{}", "{% if true %}".repeat(deep), "{% endif %}".repeat(deep));
        for text in [parens, ifs] {
            let err = load_error(&[("index.html", &text)]);
            assert!(err.message.contains("nests deeper than"), "{err:?}");
            assert_eq!(err.file.as_deref(), Some(Path::new("templates/index.html")));
        }
        // Twenty levels, as a real template may have, are fine.
        let fine = format!("{}x{}", "{% if true %}".repeat(20), "{% endif %}".repeat(20));
        let dir = site_with(&[("index.html", &fine)]);
        assert!(Templates::load(dir.path(), &Config::parse("").unwrap()).is_ok());
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let dir = site_with(&[("page.html", "<p>\n\n{{ page.title </p>\n")]);
        let config = Config::parse("").unwrap();
        let err = Templates::load(dir.path(), &config).err().unwrap();
        assert_eq!(err.file.as_deref(), Some(Path::new("templates/page.html")));
        assert_eq!(err.line, Some(3), "{err:?}");
    }

    #[test]
    fn helpers_build_paths_and_dates() {
        let dir = site_with(&[(
            "t.html",
            "{{ get_url(path='a.css') }}|{{ get_taxonomy_url(kind='tags', name='Rust Lang') }}|{{ '2024-03-01' | date(format='%B %e, %Y') }}",
        )]);
        let config = Config::parse("base_url = \"https://x.org/docs/\"").unwrap();
        let templates = Templates::load(dir.path(), &config).unwrap();
        let out = templates.render("t.html", &Context::new(), Path::new("t")).unwrap();
        assert_eq!(out, "https://x.org/docs/a.css|https://x.org/docs/tags/rust-lang/|March  1, 2024");
    }

    #[test]
    fn a_render_error_names_the_template_and_line_where_the_name_is_and_suggests_one() {
        let dir = site_with(&[
            ("page.html", "{% extends \"base.html\" %}{% block content %}ok{% endblock %}"),
            ("base.html", "<html>\n<body>\n{{ page.lowr.title }}\n{% block content %}{% endblock %}</body>"),
        ]);
        let templates = Templates::load(dir.path(), &Config::parse("").unwrap()).unwrap();
        let mut context = Context::new();
        context.insert("page", &serde_json::json!({"lower": null, "title": "x"}));
        let err = templates.render("page.html", &context, Path::new("content/a.md")).unwrap_err();
        assert_eq!(err.file.as_deref(), Some(Path::new("templates/base.html")), "{err}");
        assert_eq!(err.line, Some(3), "{err}");
        assert!(err.hint.as_deref().unwrap_or_default().contains("did you mean `page.lower`"), "{err}");
    }

    #[test]
    fn a_zone_format_is_an_error_not_a_panic() {
        let dir = site_with(&[("t.html", "{{ '2024-03-01' | date(format='%z') }}")]);
        let templates = Templates::load(dir.path(), &Config::parse("").unwrap()).unwrap();
        let err = templates.render("t.html", &Context::new(), Path::new("t")).unwrap_err();
        assert!(err.message.contains("time zone"), "{err}");
    }

    #[test]
    fn names_are_what_templates_write_unless_one_reads_fields_by_other_names() {
        let written = |text: &str| written_names([text.to_owned()].iter());
        let names = written("{{ page.ancestors | length }}{% for k, v in page.extra %}{{ k }}{% endfor %}");
        assert!(names.as_ref().is_some_and(|n| n.contains("ancestors") && n.contains("page")));
        assert!(!names.as_ref().is_some_and(|n| n.contains("lower")));
        assert_eq!(written("{{ page | json_encode() }}"), None);
        assert_eq!(written("{{ __tera_context }}"), None);
        assert_eq!(written("{%- for key, value in page -%}{{ key }}{% endfor %}"), None);
        assert!(written("{% for term, pages in page.taxonomies %}{% endfor %}").is_some());
    }

    #[test]
    fn a_call_is_found_with_any_spacing_and_not_inside_a_longer_name() {
        assert!(text_mentions("{{ get_taxonomy (kind='tags') }}", "get_taxonomy("));
        assert!(!text_mentions("{{ get_taxonomy_url(kind='tags', name=t) }}", "get_taxonomy("));
        assert!(text_mentions("{{ recent_pages | length }}", "recent_pages"));
    }
}

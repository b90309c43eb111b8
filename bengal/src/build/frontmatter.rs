//! Front matter: TOML between `+++` lines or YAML between `---` lines.
//!
//! Both formats go through one JSON value, so that unknown keys, wrong types
//! and taxonomy lists are checked in one place with the same messages.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::build::config::{find_key_line, toml_error, toml_to_json};
use crate::error::{Error, Result};

/// A file cut into its front matter and its Markdown body.
#[derive(Debug, PartialEq, Eq)]
pub struct Split<'a> {
    /// The front matter text, without its delimiters.
    pub front: &'a str,
    /// The 1-based line of the file on which `front` starts.
    pub front_line: usize,
    /// Which syntax the front matter is written in.
    pub format: Format,
    /// The Markdown after the closing delimiter.
    pub body: &'a str,
    /// The 1-based line of the file on which `body` starts.
    pub body_line: usize,
}

impl Split<'_> {
    /// The file line of `key = …` in the front matter, for errors found
    /// after parsing.
    pub fn key_line(&self, key: &str) -> Option<usize> {
        find_key_line(self.front, key).map(|line| line + self.front_line - 1)
    }
}

/// The syntax of a front matter block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `+++` delimited TOML.
    Toml,
    /// `---` delimited YAML.
    Yaml,
    /// No front matter at all.
    None,
}

impl Format {
    fn delimiter(self) -> &'static str {
        match self {
            Format::Toml => "+++",
            Format::Yaml => "---",
            Format::None => "",
        }
    }
}

/// Cuts `text` into front matter and body. A byte-order mark and blank lines
/// may come before the opening delimiter, as Zola allows. Lines in errors are
/// 1-based lines of `text`.
pub fn split(text: &str) -> Result<Split<'_>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let start = text.len() - text.trim_start().len();
    let skipped_lines = text[..start].matches('\n').count();
    let opening = start + text[start..].find('\n').map_or(text.len() - start, |i| i + 1);
    let format = match text[start..opening].trim_end() {
        "+++" => Format::Toml,
        "---" => Format::Yaml,
        _ => return Ok(Split { front: "", front_line: 1, format: Format::None, body: text, body_line: 1 }),
    };
    let front_line = skipped_lines + 2;
    let mut offset = opening;
    let mut line = front_line;
    while offset < text.len() {
        let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i + 1);
        if text[offset..end].trim_end() == format.delimiter() {
            return Ok(Split {
                front: &text[opening..offset],
                front_line,
                format,
                body: &text[end..],
                body_line: line + 1,
            });
        }
        offset = end;
        line += 1;
    }
    let delimiter = format.delimiter();
    Err(Error::new(format!("front matter opened with `{delimiter}` is never closed"))
        .at_line(Some(front_line - 1))
        .with_hint(format!("add a line with only `{delimiter}` after the last front matter key")))
}

/// Front matter of a page.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PageFront {
    /// Title; defaults to the file name.
    pub title: Option<String>,
    /// One-line description.
    pub description: Option<String>,
    /// Publication date; else the `YYYY-MM-DD` prefix of the file name.
    pub date: Option<String>,
    /// Date of the last significant change.
    pub updated: Option<String>,
    /// Drafts are left out unless `--drafts`.
    pub draft: bool,
    /// Orders pages of equal date.
    pub weight: Option<i64>,
    /// Last URL segment; defaults to the slugified file name.
    pub slug: Option<String>,
    /// Template to use instead of `page.html`.
    pub template: Option<String>,
    /// Old paths that redirect here.
    pub aliases: Vec<String>,
    /// Whether its own page is written; `false` keeps it in lists only.
    pub render: Option<bool>,
    /// The whole URL path, instead of the section's path and the slug (Zola's `path`).
    pub path: Option<String>,
    /// Who wrote it, for templates and feeds.
    pub authors: Vec<String>,
    /// Whether a search index would list it; Bengal builds none yet, so this changes nothing.
    #[serde(rename = "in_search_index")]
    pub in_search_index: Option<bool>,
    /// Free data for templates.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl PageFront {
    /// Whether its own page is written (`render = false` keeps it in lists only).
    pub fn renders(&self) -> bool {
        self.render != Some(false)
    }
}

/// Front matter of a section (`_index.md`).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SectionFront {
    /// Title; defaults to the directory name.
    pub title: Option<String>,
    /// One-line description.
    pub description: Option<String>,
    /// Orders sections in the navigation.
    pub weight: Option<i64>,
    /// Pages per list page, overriding `bengal.toml`; 0 turns it off.
    pub paginate_by: Option<usize>,
    /// Template to use instead of `section.html`.
    pub template: Option<String>,
    /// How its pages are ordered; unset, Bengal's order (newest first, then
    /// weight, then title).
    pub sort_by: Option<SortBy>,
    /// The template of every page below it (the nearest section's wins; a
    /// page's own `template` wins over all).
    pub page_template: Option<String>,
    /// The word before the number in the URL of list page 2 on: `page/2/`.
    pub paginate_path: Option<String>,
    /// List pages show the pages in reverse order.
    pub paginate_reversed: bool,
    /// Heading anchors on its direct pages: `left`, `right`, `heading` or
    /// `none`, instead of the site's setting.
    pub insert_anchor_links: Option<String>,
    /// Whether its own list pages are written (its pages always are).
    pub render: Option<bool>,
    /// Its URL redirects here instead of listing its pages.
    pub redirect_to: Option<String>,
    /// Its pages are listed by its parent section too.
    pub transparent: bool,
    /// Old paths that redirect here.
    pub aliases: Vec<String>,
    /// Writes `atom.xml` of its own pages beside its index.
    pub generate_feeds: bool,
    /// Left out, with everything below it, unless `--drafts`.
    pub draft: bool,
    /// Whether a search index would list it; Bengal builds none yet, so this changes nothing.
    #[serde(rename = "in_search_index")]
    pub in_search_index: Option<bool>,
    /// Free data for templates.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl SectionFront {
    /// Whether its own list pages are written.
    pub fn renders(&self) -> bool {
        self.render != Some(false)
    }
}

/// How a section orders its pages (Zola's `sort_by`). Ties, and pages
/// without the value sorted on (listed after the others, where Zola would
/// drop them), go by URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortBy {
    /// Newest first.
    Date,
    /// Most recently updated (else published) first.
    UpdateDate,
    /// By title, in natural order (`Track-2` before `Track-13`).
    Title,
    /// By title, byte by byte.
    TitleBytes,
    /// Lightest first.
    Weight,
    /// By slug, in natural order.
    Slug,
    /// By URL, in natural order.
    Permalink,
    /// By URL.
    None,
}

/// Taxonomy terms of a page, by taxonomy name.
pub type Terms = BTreeMap<String, Vec<String>>;

/// Parses the front matter of `split` into `T`. For a page, `taxonomies`
/// names the site's taxonomies, whose terms are taken out (as top-level lists,
/// or in Zola's `[taxonomies]` table); a section has none.
pub fn parse<T: DeserializeOwned + Default>(split: &Split<'_>, taxonomies: Option<&[String]>) -> Result<(T, Terms)> {
    let to_file_line = |line: usize| line + split.front_line - 1;
    check_limits(split.front).map_err(|err| {
        let line = err.line.map(to_file_line);
        err.at_line(line)
    })?;
    let mut value = match split.format {
        Format::None => return Ok((T::default(), Terms::new())),
        Format::Toml => {
            let table: toml::Table = toml::from_str(split.front).map_err(|err| {
                let err = toml_error(split.front, &err);
                let line = err.line.map(to_file_line);
                err.at_line(line).with_hint("fix the TOML on that line (strings need double quotes)")
            })?;
            toml_to_json(toml::Value::Table(table))
        }
        Format::Yaml => serde_norway::from_str::<serde_json::Value>(split.front).map_err(|err| {
            let line = err.location().map(|at| to_file_line(at.line()));
            let text = err.to_string();
            let message = text.split(" at line ").next().unwrap_or(&text);
            Error::new(format!("invalid YAML front matter: {message}"))
                .at_line(line)
                .with_hint("fix the YAML on that line (`key: value`, lists as `[a, b]`)")
        })?,
    };
    if value.is_null() {
        value = serde_json::Value::Object(Default::default());
    }
    let key_line = |key: &str| split.key_line(key);
    let Some(map) = value.as_object_mut() else {
        return Err(Error::new("front matter must be a list of `key = value` pairs")
            .at_line(Some(2))
            .with_hint("write one key per line, e.g. `title = \"Hello\"`"));
    };
    let mut terms = Terms::new();
    let names_in = |name: &str, list: &serde_json::Value| {
        list.as_array()
            .and_then(|items| items.iter().map(|item| item.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>())
            .ok_or_else(|| {
                Error::new(format!("`{name}` must be a list of names"))
                    .at_line(key_line(name))
                    .with_hint(format!("write it as {name} = [\"one\", \"two\"]"))
            })
    };
    if let Some(taxonomies) = taxonomies {
        // A taxonomy named like a page key (`authors`) takes its terms from
        // `[taxonomies]` only; the key keeps its own meaning.
        for name in taxonomies.iter().filter(|name| !PAGE_KEYS.contains(&name.as_str())) {
            if let Some(list) = map.remove(name) {
                terms.insert(name.clone(), names_in(name, &list)?);
            }
        }
        if let Some(table) = map.remove("taxonomies") {
            let Some(table) = table.as_object() else {
                return Err(Error::new("`taxonomies` must be a table of lists")
                    .at_line(key_line("taxonomies"))
                    .with_hint("write it as [taxonomies] with one line per taxonomy: tags = [\"one\"]"));
            };
            for (name, list) in table {
                if !taxonomies.contains(name) {
                    return Err(Error::new(format!("the taxonomy `{name}` is not in the site's configuration"))
                        .at_line(key_line(name))
                        .with_hint(format!("add `{name}` to `taxonomies` in the configuration, or remove it here")));
                }
                terms.entry(name.clone()).or_default().extend(names_in(name, list)?);
            }
        }
    }
    let front = serde_path_to_error::deserialize(value).map_err(|err| {
        let key = err.path().iter().next().map(|segment| segment.to_string());
        let inner = err.into_inner().to_string();
        let unknown = inner.starts_with("unknown field");
        let key = key.filter(|k| k != "?").or_else(|| backticked(&inner));
        let line = key.as_deref().and_then(key_line);
        let message = match (&key, unknown) {
            (Some(_), true) | (None, _) => format!("front matter: {inner}"),
            (Some(key), false) => format!("front matter key `{key}`: {inner}"),
        };
        let is_page = taxonomies.is_some();
        let misplaced = key.as_deref().filter(|_| unknown).and_then(|key| {
            let (other, place) = if is_page { (SECTION_KEYS, "a section's _index.md") } else { (PAGE_KEYS, "a page") };
            other.contains(&key).then(|| format!("`{key}` belongs in {place}, not here"))
        });
        let hint = match misplaced {
            Some(place) => place,
            None if unknown => "remove the key or fix its spelling; free data belongs under [extra]".to_owned(),
            None => "give the key a value of the expected type".to_owned(),
        };
        Error::new(message).at_line(line).with_hint(hint)
    })?;
    Ok((front, terms))
}

/// The front matter keys of a page, and of a section: a key of one written
/// in the other is told where it belongs.
const PAGE_KEYS: &[&str] = &[
    "title",
    "description",
    "date",
    "updated",
    "draft",
    "weight",
    "slug",
    "template",
    "render",
    "aliases",
    "path",
    "authors",
    "in_search_index",
    "taxonomies",
    "extra",
];
const SECTION_KEYS: &[&str] = &[
    "title",
    "description",
    "weight",
    "paginate_by",
    "template",
    "sort_by",
    "page_template",
    "paginate_path",
    "paginate_reversed",
    "insert_anchor_links",
    "render",
    "redirect_to",
    "transparent",
    "aliases",
    "generate_feeds",
    "draft",
    "in_search_index",
    "extra",
];

/// The most front matter a page may have. Metadata is a few hundred bytes;
/// long text belongs in the body.
pub const MAX_FRONT_MATTER: usize = 256 * 1024;

/// The deepest nesting of lists and tables front matter may have.
pub const MAX_DEPTH: usize = 32;

/// Refuses front matter too large or too deeply nested before any parser
/// sees it: YAML's parser takes quadratic time in the nesting depth, and a
/// deep enough document would exhaust a parser's stack. Lines are 1-based
/// lines of `front`.
fn check_limits(front: &str) -> Result<()> {
    if front.len() > MAX_FRONT_MATTER {
        return Err(Error::new(format!("front matter is larger than {} KiB", MAX_FRONT_MATTER / 1024))
            .at_line(Some(1))
            .with_hint("keep front matter to metadata; long text belongs in the page body"));
    }
    match nesting_over(front, MAX_DEPTH) {
        Some(line) => Err(Error::new(format!("front matter nests deeper than {MAX_DEPTH} levels"))
            .at_line(Some(line))
            .with_hint("flatten the nested lists or tables")),
        None => Ok(()),
    }
}

/// The line on which `text` first nests deeper than `limit`, counting every
/// bracket and brace (TOML and YAML flow style) plus indented blocks and
/// `- ` items (YAML block style). Quotes and `#` are not trusted to start a
/// string or a comment (in YAML, `x'y` and `x#y` are plain words), so it may
/// overcount a little, never undercount.
fn nesting_over(text: &str, limit: usize) -> Option<usize> {
    let mut brackets = 0usize;
    let mut indents: Vec<usize> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let content = line.trim_start_matches(' ');
        if brackets == 0 && !content.is_empty() && !content.starts_with('#') {
            let indent = line.len() - content.len();
            while indents.last().is_some_and(|&top| top >= indent) {
                indents.pop();
            }
            indents.push(indent);
        }
        let mut items = 0;
        let mut rest = content;
        while let Some(next) = rest.strip_prefix("- ") {
            items += 1;
            rest = next.trim_start_matches(' ');
        }
        for c in line.chars() {
            match c {
                '[' | '{' => brackets += 1,
                ']' | '}' => brackets = brackets.saturating_sub(1),
                _ => {}
            }
            if brackets + indents.len() + items > limit {
                return Some(index + 1);
            }
        }
        if indents.len() + items > limit {
            return Some(index + 1);
        }
    }
    None
}

fn backticked(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_owned())
}

/// A parsed front matter date, keeping the text as written for templates.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PageDate {
    /// When, as UTC (a date without a time is midnight).
    pub at: NaiveDateTime,
    /// The text as written in the front matter.
    pub text: String,
}

impl PageDate {
    /// Parses `YYYY-MM-DD`, a local date-time, or RFC 3339.
    pub fn parse(text: &str) -> Option<PageDate> {
        let text = text.trim();
        let at = DateTime::parse_from_rfc3339(text)
            .map(|d| d.naive_utc())
            .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
            .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S"))
            .or_else(|_| NaiveDate::parse_from_str(text, "%Y-%m-%d").map(|d| d.and_time(Default::default())))
            .ok()?;
        Some(PageDate { at, text: text.to_owned() })
    }

    /// RFC 3339 in UTC, as feeds and sitemaps want it.
    pub fn rfc3339(&self) -> String {
        self.at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags() -> Vec<String> {
        vec!["tags".to_owned()]
    }

    #[test]
    fn splits_toml_and_counts_body_line() {
        let split = split("+++\ntitle = \"A\"\n+++\nbody\n").unwrap();
        assert_eq!(split.format, Format::Toml);
        assert_eq!(split.front, "title = \"A\"\n");
        assert_eq!(split.body, "body\n");
        assert_eq!(split.body_line, 4);
    }

    #[test]
    fn no_front_matter_is_all_body() {
        let split = split("# Hi\n").unwrap();
        assert_eq!(split.format, Format::None);
        assert_eq!(split.body_line, 1);
    }

    #[test]
    fn unclosed_front_matter_is_an_error() {
        let err = split("---\ntitle: a\n").unwrap_err();
        assert!(err.message.contains("never closed"));
        assert_eq!(err.line, Some(1));
    }

    #[test]
    fn toml_and_yaml_give_the_same_page() {
        let toml = split("+++\ntitle = \"A\"\ndate = 2024-03-01\ntags = [\"x\", \"y\"]\n+++\n").unwrap();
        let yaml = split("---\ntitle: A\ndate: 2024-03-01\ntags: [x, y]\n---\n").unwrap();
        let (a, terms_a): (PageFront, Terms) = parse(&toml, Some(&tags())).unwrap();
        let (b, terms_b): (PageFront, Terms) = parse(&yaml, Some(&tags())).unwrap();
        assert_eq!(a.title, b.title);
        assert_eq!(a.date.as_deref(), Some("2024-03-01"));
        assert_eq!(b.date.as_deref(), Some("2024-03-01"));
        assert_eq!(terms_a, terms_b);
        assert_eq!(terms_a["tags"], ["x", "y"]);
    }

    #[test]
    fn toml_syntax_error_gives_file_line() {
        let split = split("+++\ntitle = \"ok\"\nsummary = \"unterminated\n+++\n").unwrap();
        let err = parse::<PageFront>(&split, Some(&tags())).unwrap_err();
        assert_eq!(err.line, Some(3), "{err:?}");
    }

    #[test]
    fn yaml_syntax_error_gives_file_line() {
        let split = split("---\ntitle: ok\ntags: [a, b\n---\n").unwrap();
        let err = parse::<PageFront>(&split, Some(&tags())).unwrap_err();
        assert!(err.line.is_some_and(|line| line >= 3), "{err:?}");
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let split = split("+++\ntitle = \"A\"\nauthor = \"me\"\n+++\n").unwrap();
        let err = parse::<PageFront>(&split, Some(&tags())).unwrap_err();
        assert!(err.message.contains("author"), "{}", err.message);
        assert_eq!(err.line, Some(3));
    }

    #[test]
    fn a_key_in_the_wrong_kind_of_file_says_where_it_belongs() {
        let err = parse::<PageFront>(&split("+++\nsort_by = \"date\"\n+++\n").unwrap(), Some(&tags())).unwrap_err();
        assert_eq!(err.hint.as_deref(), Some("`sort_by` belongs in a section's _index.md, not here"));
        assert_eq!(err.line, Some(2));
        let err = parse::<SectionFront>(&split("+++\ndate = 2024-01-01\n+++\n").unwrap(), None).unwrap_err();
        assert_eq!(err.hint.as_deref(), Some("`date` belongs in a page, not here"));
    }

    #[test]
    fn wrong_type_names_the_key() {
        let split = split("+++\ndraft = \"yes\"\n+++\n").unwrap();
        let err = parse::<PageFront>(&split, Some(&tags())).unwrap_err();
        assert!(err.message.contains("`draft`"), "{}", err.message);
        assert_eq!(err.line, Some(2));
    }

    #[test]
    fn taxonomy_must_be_a_list_of_names() {
        let split = split("+++\ntags = \"rust\"\n+++\n").unwrap();
        let err = parse::<PageFront>(&split, Some(&tags())).unwrap_err();
        assert_eq!(err.line, Some(2));
    }

    #[test]
    fn taxonomies_are_unknown_keys_for_sections() {
        let split = split("+++\ntags = [\"a\"]\n+++\n").unwrap();
        assert!(parse::<SectionFront>(&split, None).is_err());
    }

    #[test]
    fn nesting_is_measured_in_both_syntaxes() {
        assert_eq!(nesting_over("a = [[1, 2], [3]]\n[extra]\nb = { c = 1 }\n", 3), None);
        assert_eq!(nesting_over("a = [[[[1]]]]\n", 3), Some(1));
        assert_eq!(nesting_over("tags: [x'y, [[[[1]]]]]\n", 3), Some(1), "a quote in a plain word hides nothing");
        assert_eq!(nesting_over("tags: [x#y, [[[[1]]]]]\n", 3), Some(1), "nor does a `#`");
        assert_eq!(nesting_over("a:\n  b:\n    c:\n      d: 1\n", 3), Some(4));
        assert_eq!(nesting_over("- - - - x\n", 3), Some(1));
        assert_eq!(nesting_over("list:\n  - a\n  - b\nother: 1\n", 3), None);
    }

    #[test]
    fn deep_or_huge_front_matter_is_refused_with_its_line() {
        let deep = format!("+++\ntitle = \"x\"\ndeep = {}{}\n+++\n", "[".repeat(100), "]".repeat(100));
        let err = parse::<PageFront>(&split(&deep).unwrap(), Some(&tags())).unwrap_err();
        assert!(err.message.contains("nests deeper"), "{err}");
        assert_eq!(err.line, Some(3));
        let huge = format!("---\ntitle: {}\n---\n", "x".repeat(MAX_FRONT_MATTER));
        let err = parse::<PageFront>(&split(&huge).unwrap(), Some(&tags())).unwrap_err();
        assert!(err.message.contains("larger than"), "{err}");
    }

    #[test]
    fn dates_parse_in_three_forms() {
        assert!(PageDate::parse("2024-03-01").is_some());
        assert!(PageDate::parse("2024-03-01T10:00:00").is_some());
        let zoned = PageDate::parse("2024-03-01T10:00:00+02:00").unwrap();
        assert_eq!(zoned.rfc3339(), "2024-03-01T08:00:00Z");
        assert!(PageDate::parse("March 1st").is_none());
    }
}

//! Zola's search index (`build_search_index = true`), byte-compatible with
//! what Zola 0.22 writes, so that a Zola theme's search box works unchanged.
//!
//! # For the integrator
//!
//! ```text
//! SearchConfig                 the `[search]` table (and `[languages.X.search]`)
//! Document { permalink, title, description, date, path, body_html }
//! index_files(&config, lang, &documents) -> Result<Vec<(output path, contents)>>
//! ```
//!
//! Call [`index_files`] once for the default language and once for each
//! language whose `build_search_index` is on, each time with *that*
//! language's [`SearchConfig`], and write every returned file at the output
//! root (`elasticlunr.min.js` comes back each time with the same bytes).
//! Which documents go in is the caller's choice, made as Zola makes it:
//!
//! - every section of the language whose `in_search_index` is not `false`,
//!   unless it has a `redirect_to`; its `body_html` is the section's content;
//! - every page of such a section whose `in_search_index` is not `false`;
//!   a section left out leaves its pages out too;
//! - drafts only when the build includes drafts (Zola never loads them
//!   otherwise);
//! - `date` is the page's date in RFC 3339 as Zola prints it (a bare
//!   `2023-01-31` is `2023-01-31T00:00:00Z`); sections have none;
//! - `path` is the page's path (`/blog/hello/`), `permalink` its full URL,
//!   which is the document's key: search results link to it.
//!
//! Zola also refuses to build when search is on but the home section says
//! `in_search_index = false`; that check belongs with the config.
//!
//! # Formats and files
//!
//! | `index_format`                     | index file               | script               |
//! |------------------------------------|--------------------------|----------------------|
//! | `elasticlunr_javascript` (default) | `search_index.LANG.js`   | `elasticlunr.min.js` |
//! | `elasticlunr_json`                 | `search_index.LANG.json` | `elasticlunr.min.js` |
//! | `fuse_javascript`                  | `search_index.LANG.js`   | none                 |
//! | `fuse_json`                        | `search_index.LANG.json` | none                 |
//!
//! The JavaScript forms are `window.searchIndex = ` followed by the JSON,
//! with no trailing semicolon, exactly as Zola writes them.
//!
//! # Languages
//!
//! The elasticlunr index is built with the `elasticlunr-rs` crate, whose
//! tokenizer, stop words and stemmer depend on the language; the theme's
//! JavaScript must run the same pipeline. Bengal builds it with no language
//! features, so it knows English (`en`) only. Any other language is an
//! [`Error`] that says so and suggests a fuse format (which does not depend
//! on the language); it is never a guess in English, which would write an
//! index Zola would not. Zola enables da, de, du, es, fi, fr, hu, it, ko, no,
//! pt, ro, ru, sv and tr (each pulls `rust-stemmers`); turning those features
//! on in the workspace `Cargo.toml` is all it takes to add them here.
//!
//! Zola 0.22 builds a language's fields from `[languages.X.search]` but fills
//! them from the top-level `[search]`, so when the two differ it passes more
//! values than fields and panics (index out of bounds), or files the body
//! under the wrong field. Here one [`SearchConfig`] chooses both, and each
//! document gives exactly one value per field (`Field::value`), so the
//! index cannot be misaligned. For the same reason a document with no date
//! gets an empty `date` when `include_date` is on, where Zola skips the value
//! and shifts the rest (so a dateless page's body lands under `date`).
//!
//! # The script
//!
//! `bengal/assets/elasticlunr.min.js` is elasticlunr 0.9.5 as published on
//! npm (`elasticlunr-0.9.5.tgz`), MIT licensed: Copyright (C) 2013 Oliver
//! Nightingale, (C) 2015 Wei Song; its licence header is kept in the file.
//! It matches the index's `"version": "0.9.5"`. (Zola ships a 0.9.6 build
//! from elasticlunr's repository, never published to npm; its `version` is
//! still 0.9.5 and it reads the same index.)
//!
//! # Checked against Zola
//!
//! Zola 0.22.1's `test_site` with search on (title, description, path,
//! body; 48 documents): the documents it stored, fed back through
//! [`index_files`], give its `search_index.en.js` byte for byte; and for the
//! same HTML, the body text matches Zola's cleaner on entities, `&nbsp;`,
//! code blocks, `script`, `style`, comments and multi-byte text. Zola 0.22.1
//! with `[languages.fr] build_search_index = true` and a `[search]` that adds
//! fields panics as described above.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// elasticlunr.js 0.9.5, minified, as npm publishes it (MIT; header kept).
const ELASTICLUNR_JS: &str = include_str!("../../assets/elasticlunr.min.js");

/// The name Zola gives the script, at the output root.
const ELASTICLUNR_JS_NAME: &str = "elasticlunr.min.js";

/// The `[search]` table of Zola's config, with Zola's defaults.
///
/// Unknown keys are an error, so that a typo does not silently index
/// something else.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct SearchConfig {
    /// Index the title. On by default.
    pub include_title: bool,
    /// Index the description. Off by default.
    pub include_description: bool,
    /// Index the date, in RFC 3339 (elasticlunr only: Zola's fuse index has
    /// no date). Off by default.
    pub include_date: bool,
    /// Index the path, split at `/` and `-`. Off by default.
    pub include_path: bool,
    /// Index the content as text. On by default; large sites turn it off or
    /// truncate it, since the theme downloads the whole index.
    pub include_content: bool,
    /// Keep only this many characters (code points) of the content text.
    pub truncate_content_length: Option<usize>,
    /// Which search library the index is for, and whether it is JSON or a
    /// script.
    pub index_format: IndexFormat,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            include_title: true,
            include_description: false,
            include_date: false,
            include_path: false,
            include_content: true,
            truncate_content_length: None,
            index_format: IndexFormat::default(),
        }
    }
}

/// The `index_format` values Zola accepts.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum IndexFormat {
    /// `search_index.LANG.js`, for elasticlunr.js, plus `elasticlunr.min.js`.
    #[default]
    ElasticlunrJavascript,
    /// `search_index.LANG.json`, for elasticlunr.js, plus `elasticlunr.min.js`.
    ElasticlunrJson,
    /// `search_index.LANG.js`, for fuse.js (and tinysearch).
    FuseJavascript,
    /// `search_index.LANG.json`, for fuse.js (and tinysearch).
    FuseJson,
}

impl IndexFormat {
    fn is_elasticlunr(self) -> bool {
        matches!(self, IndexFormat::ElasticlunrJavascript | IndexFormat::ElasticlunrJson)
    }

    fn is_javascript(self) -> bool {
        matches!(self, IndexFormat::ElasticlunrJavascript | IndexFormat::FuseJavascript)
    }

    /// Zola's name for the index of `lang`.
    fn file_name(self, lang: &str) -> String {
        let extension = if self.is_javascript() { "js" } else { "json" };
        format!("search_index.{lang}.{extension}")
    }
}

/// One page or section of the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Document<'a> {
    /// The full URL: the document's key, and where a search result links.
    pub permalink: &'a str,
    /// The title, if the front matter has one.
    pub title: Option<&'a str>,
    /// The description, if the front matter has one.
    pub description: Option<&'a str>,
    /// The date in RFC 3339, as Zola prints it; `None` for sections.
    pub date: Option<&'a str>,
    /// The path from the site root, `/blog/hello/`.
    pub path: &'a str,
    /// The rendered content; it is indexed as text (see `body_text`).
    pub body_html: &'a str,
}

/// The index files for language `lang`, and the script the format needs,
/// each as (path under the output root, contents), in the order Zola writes
/// them.
pub fn index_files(config: &SearchConfig, lang: &str, documents: &[Document<'_>]) -> Result<Vec<(String, String)>> {
    let json = if config.index_format.is_elasticlunr() {
        elasticlunr_index(config, lang, documents)?
    } else {
        fuse_index(config, documents)?
    };
    let contents = if config.index_format.is_javascript() { format!("window.searchIndex = {json}") } else { json };
    let mut files = vec![(config.index_format.file_name(lang), contents)];
    if config.index_format.is_elasticlunr() {
        files.push((ELASTICLUNR_JS_NAME.to_string(), ELASTICLUNR_JS.to_string()));
    }
    Ok(files)
}

/// A field of the elasticlunr index, in Zola's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Title,
    Description,
    Date,
    Path,
    Body,
}

impl Field {
    /// The fields `config` asks for, in the order Zola declares them.
    fn chosen(config: &SearchConfig) -> Vec<Field> {
        [
            (config.include_title, Field::Title),
            (config.include_description, Field::Description),
            (config.include_date, Field::Date),
            (config.include_path, Field::Path),
            (config.include_content, Field::Body),
        ]
        .into_iter()
        .filter_map(|(on, field)| on.then_some(field))
        .collect()
    }

    fn name(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Description => "description",
            Field::Date => "date",
            Field::Path => "path",
            Field::Body => "body",
        }
    }

    /// What `document` puts in this field: always a value, empty when it
    /// has none, so that values and fields stay paired.
    fn value(self, document: &Document<'_>, config: &SearchConfig) -> String {
        match self {
            Field::Title => document.title.unwrap_or_default().to_string(),
            Field::Description => document.description.unwrap_or_default().to_string(),
            Field::Date => document.date.unwrap_or_default().to_string(),
            Field::Path => document.path.to_string(),
            Field::Body => body_text(document.body_html, config.truncate_content_length),
        }
    }
}

/// Splits a path into words at whitespace, `/` and `-`, as Zola does, so
/// that `/blog/first-post/` is found by `first` and by `post`.
fn path_tokens(path: &str) -> Vec<String> {
    path.split(|c: char| c.is_whitespace() || c == '-' || c == '/')
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The elasticlunr index of `documents` as JSON.
fn elasticlunr_index(config: &SearchConfig, lang: &str, documents: &[Document<'_>]) -> Result<String> {
    let language = elasticlunr::lang::from_code(lang).ok_or_else(|| {
        Error::new(format!(
            "cannot build the search index for language `{lang}`: Bengal's elasticlunr index knows English (`en`) only"
        ))
        .with_hint(
            "set `index_format = \"fuse_javascript\"` (or `fuse_json`) in `[search]`, which works for every language, \
                 or turn `build_search_index` off for that language",
        )
    })?;
    let fields = Field::chosen(config);
    let mut builder = elasticlunr::IndexBuilder::with_language(language);
    for &field in &fields {
        // The builder panics only on a duplicate field; `Field::chosen` has none.
        builder = match field {
            Field::Path => builder.add_field_with_tokenizer(field.name(), Box::new(path_tokens)),
            _ => builder.add_field(field.name()),
        };
    }
    let mut index = builder.build();
    for document in documents {
        let values: Vec<String> = fields.iter().map(|field| field.value(document, config)).collect();
        index.add_doc(document.permalink, values);
    }
    serde_json::to_string(&index).map_err(|err| Error::new(format!("could not write the search index: {err}")))
}

/// One entry of Zola's fuse index; a field left out of the config is absent.
#[derive(Serialize)]
struct FuseEntry<'a> {
    url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
}

/// The fuse index of `documents` as JSON: an array in the order given.
fn fuse_index(config: &SearchConfig, documents: &[Document<'_>]) -> Result<String> {
    let entries: Vec<FuseEntry<'_>> = documents
        .iter()
        .map(|document| FuseEntry {
            url: document.permalink,
            title: config.include_title.then(|| document.title.unwrap_or_default()),
            description: config.include_description.then(|| document.description.unwrap_or_default()),
            body: config.include_content.then(|| body_text(document.body_html, config.truncate_content_length)),
            path: config.include_path.then_some(document.path),
        })
        .collect();
    serde_json::to_string(&entries).map_err(|err| Error::new(format!("could not write the search index: {err}")))
}

/// The text Zola indexes for a body: tags dropped, `script`, `style` and
/// `pre` dropped with their content (code is noise in a search), entities
/// decoded and the text re-escaped as HTML (Zola's cleaner serialises HTML,
/// so the index holds `&amp;`, `&lt;`, `&gt;`, `&nbsp;`), spaces collapsed
/// within each line, blank lines dropped, then cut to `truncate` characters.
fn body_text(html: &str, truncate: Option<usize>) -> String {
    let text = strip_tags(html);
    let mut text = text
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    if let Some(limit) = truncate {
        // A char boundary, so a cut inside a multi-byte character cannot panic.
        if let Some((end, _)) = text.char_indices().nth(limit) {
            text.truncate(end);
        }
    }
    text
}

/// Elements dropped with everything inside them.
const DROPPED: &[&str] = &["script", "style", "pre"];

/// The text of `html`, escaped as HTML text; see [`body_text`].
///
/// A small scanner rather than an HTML parser: the input is Bengal's own
/// rendered Markdown (plus what authors write inline), and only text is
/// wanted. A `<` that starts no tag is text, as in HTML.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    // The dropped element we are inside, and how deeply it nests.
    let mut dropping: Option<(&str, usize)> = None;
    while let Some(lt) = rest.find('<') {
        if dropping.is_none() {
            push_text(&mut out, &rest[..lt]);
        }
        let tag = &rest[lt..];
        if let Some(comment) = tag.strip_prefix("<!--") {
            rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
            continue;
        }
        let (closing, name_start) = match tag.strip_prefix("</") {
            Some(after) => (true, after),
            None => (false, &tag[1..]),
        };
        let is_markup = name_start.starts_with(|c: char| c.is_ascii_alphabetic())
            || (!closing && name_start.starts_with(['!', '?']));
        if !is_markup {
            if dropping.is_none() {
                out.push_str("&lt;");
            }
            rest = &tag[1..];
            continue;
        }
        let name_len = name_start.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(name_start.len());
        let name = name_start[..name_len].to_ascii_lowercase();
        rest = &tag[tag_end(tag)..];
        let Some(dropped) = DROPPED.iter().copied().find(|d| *d == name) else { continue };
        match (&mut dropping, closing) {
            (None, false) if dropped != "pre" => {
                // Script and style hold raw text: skip to their end tag.
                rest = after_end_tag(rest, dropped);
            }
            (None, false) => dropping = Some((dropped, 1)),
            (Some((inside, depth)), _) if *inside == dropped => {
                if closing {
                    *depth -= 1;
                    if *depth == 0 {
                        dropping = None;
                    }
                } else {
                    *depth += 1;
                }
            }
            _ => {}
        }
    }
    if dropping.is_none() {
        push_text(&mut out, rest);
    }
    out
}

/// The length of the tag at the start of `tag`, up to and including its `>`
/// (a `>` inside a quoted attribute value does not end it); all of `tag` if
/// it never ends.
fn tag_end(tag: &str) -> usize {
    let mut quote = None;
    for (i, c) in tag.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if q == c => quote = None,
            (None, '>') => return i + 1,
            _ => {}
        }
    }
    tag.len()
}

/// What follows the end tag `</name ...>` in raw text, or nothing if it never
/// comes.
fn after_end_tag<'t>(raw: &'t str, name: &str) -> &'t str {
    let lower = raw.to_ascii_lowercase();
    let needle = format!("</{name}");
    match lower.find(&needle) {
        // ASCII lowercasing keeps byte offsets, so `start` is valid in `raw`.
        Some(start) => {
            let tag = &raw[start..];
            &tag[tag_end(tag)..]
        }
        None => "",
    }
}

/// Appends `text` with its entities decoded, escaped again as HTML text.
fn push_text(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        push_escaped(out, &rest[..amp]);
        let entity = &rest[amp..];
        match decode_entity(entity) {
            Some((c, len)) => {
                push_escaped_char(out, c);
                rest = &entity[len..];
            }
            None => {
                out.push_str("&amp;");
                rest = &entity[1..];
            }
        }
    }
    push_escaped(out, rest);
}

fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        push_escaped_char(out, c);
    }
}

/// Escapes as Zola's cleaner serialises text: `&`, `<`, `>` and the
/// no-break space, which would otherwise look like a space.
fn push_escaped_char(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '\u{a0}' => out.push_str("&nbsp;"),
        c => out.push(c),
    }
}

/// Named entities decoded; Markdown already turns the rest into characters,
/// so only these tend to reach the HTML. An unknown one stays as written.
const ENTITIES: &[(&str, char)] = &[
    ("amp", '&'),
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("nbsp", '\u{a0}'),
    ("copy", '©'),
    ("reg", '®'),
    ("trade", '™'),
    ("hellip", '…'),
    ("mdash", '—'),
    ("ndash", '–'),
    ("lsquo", '‘'),
    ("rsquo", '’'),
    ("ldquo", '“'),
    ("rdquo", '”'),
    ("laquo", '«'),
    ("raquo", '»'),
    ("middot", '·'),
];

/// The character of the entity at the start of `text` (`&name;`, `&#10;`,
/// `&#xA;`) and its length, if it is one.
fn decode_entity(text: &str) -> Option<(char, usize)> {
    let semicolon = text.find(';')?;
    let name = &text[1..semicolon];
    let c = match name.strip_prefix('#') {
        Some(number) => {
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            // As HTML does: NUL and what is no character become U+FFFD.
            char::from_u32(code).filter(|&c| c != '\0').unwrap_or('\u{fffd}')
        }
        None => ENTITIES.iter().find(|(known, _)| *known == name)?.1,
    };
    Some((c, semicolon + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn doc<'a>(permalink: &'a str, title: Option<&'a str>, body_html: &'a str) -> Document<'a> {
        Document { permalink, title, description: None, date: None, path: "/", body_html }
    }

    /// The single index file of `files`, parsed, with the `window.searchIndex = ` prefix checked.
    fn parsed(files: &[(String, String)]) -> Value {
        let (_, contents) = &files[0];
        let json = contents.strip_prefix("window.searchIndex = ").unwrap_or(contents);
        serde_json::from_str(json).expect("the index is JSON")
    }

    #[test]
    fn javascript_index_is_json_after_the_assignment_and_comes_with_the_script() {
        let docs = [doc("https://example.com/a/", Some("Hello"), "<p>Some body</p>")];
        let files = index_files(&SearchConfig::default(), "en", &docs).unwrap();
        let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["search_index.en.js", "elasticlunr.min.js"]);
        let (_, js) = &files[0];
        let json = js.strip_prefix("window.searchIndex = ").expect("the prefix");
        assert!(!json.ends_with(';'), "Zola writes no semicolon");
        let index: Value = serde_json::from_str(json).unwrap();
        assert_eq!(index["version"], "0.9.5");
        assert_eq!(index["ref"], "id");
        assert_eq!(index["lang"], "English");
        assert_eq!(index["fields"], serde_json::json!(["title", "body"]));
        assert_eq!(
            index["documentStore"]["docs"]["https://example.com/a/"],
            serde_json::json!({"id": "https://example.com/a/", "title": "Hello", "body": "Some body"})
        );
        assert!(files[1].1.starts_with("/**\n * elasticlunr"), "the licence header is kept");
    }

    #[test]
    fn json_format_is_named_json_and_has_no_prefix() {
        let config = SearchConfig { index_format: IndexFormat::ElasticlunrJson, ..SearchConfig::default() };
        let files = index_files(&config, "en", &[]).unwrap();
        assert_eq!(files[0].0, "search_index.en.json");
        assert!(files[0].1.starts_with('{'));
        assert_eq!(files[1].0, "elasticlunr.min.js");
    }

    #[test]
    fn an_empty_site_gives_a_valid_index() {
        let index = parsed(&index_files(&SearchConfig::default(), "en", &[]).unwrap());
        assert_eq!(index["documentStore"]["length"], 0);
        assert_eq!(index["documentStore"]["docs"], serde_json::json!({}));
        assert_eq!(
            index["index"],
            serde_json::json!({"title": {"root": {"docs": {}, "df": 0}}, "body": {"root": {"docs": {}, "df": 0}}})
        );
    }

    #[test]
    fn options_choose_the_fields() {
        let document = Document {
            permalink: "https://example.com/blog/first-post/",
            title: Some("Title"),
            description: Some("Described"),
            date: Some("2023-01-31T00:00:00Z"),
            path: "/blog/first-post/",
            body_html: "<p>Body</p>",
        };
        let all = SearchConfig {
            include_description: true,
            include_date: true,
            include_path: true,
            ..SearchConfig::default()
        };
        let index = parsed(&index_files(&all, "en", &[document]).unwrap());
        assert_eq!(index["fields"], serde_json::json!(["title", "description", "date", "path", "body"]));
        let stored = &index["documentStore"]["docs"]["https://example.com/blog/first-post/"];
        assert_eq!(stored["date"], "2023-01-31T00:00:00Z");
        assert_eq!(stored["path"], "/blog/first-post/");
        // The path is split at `/` and `-`.
        assert!(index["index"]["path"]["root"]["f"]["i"]["r"]["s"]["t"]["docs"].is_object());

        let none = SearchConfig { include_title: false, include_content: false, ..SearchConfig::default() };
        let index = parsed(&index_files(&none, "en", &[document]).unwrap());
        assert_eq!(index["fields"], serde_json::json!([]));
        assert_eq!(
            index["documentStore"]["docs"]["https://example.com/blog/first-post/"],
            serde_json::json!({"id": "https://example.com/blog/first-post/"})
        );
    }

    #[test]
    fn a_document_without_a_title_or_date_keeps_its_fields_aligned() {
        let config = SearchConfig { include_date: true, ..SearchConfig::default() };
        let docs = [doc("https://example.com/", None, "<p>Home body</p>")];
        let index = parsed(&index_files(&config, "en", &docs).unwrap());
        assert_eq!(
            index["documentStore"]["docs"]["https://example.com/"],
            serde_json::json!({"id": "https://example.com/", "title": "", "date": "", "body": "Home body"})
        );
    }

    #[test]
    fn fuse_formats_are_arrays_without_the_script() {
        let config =
            SearchConfig { index_format: IndexFormat::FuseJavascript, include_path: true, ..SearchConfig::default() };
        let docs = [doc("https://example.com/", None, "<p>x</p>")];
        let files = index_files(&config, "fr", &docs).unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].0, "search_index.fr.js");
        assert_eq!(
            files[0].1,
            r#"window.searchIndex = [{"url":"https://example.com/","title":"","body":"x","path":"/"}]"#
        );
        let json = SearchConfig { index_format: IndexFormat::FuseJson, ..SearchConfig::default() };
        assert_eq!(index_files(&json, "en", &[]).unwrap(), [("search_index.en.json".to_string(), "[]".to_string())]);
    }

    #[test]
    fn another_language_is_an_error_with_a_way_out() {
        let err = index_files(&SearchConfig::default(), "fr", &[]).unwrap_err();
        assert!(err.message.contains("`fr`"), "{}", err.message);
        assert!(err.hint.is_some_and(|hint| hint.contains("fuse")));
        // Nor does a made-up code panic.
        assert!(index_files(&SearchConfig::default(), "", &[]).is_err());
    }

    #[test]
    fn truncation_counts_characters_and_cuts_on_a_boundary() {
        assert_eq!(body_text("<p>héllo wörld</p>", Some(4)), "héll");
        assert_eq!(body_text("<p>日本語のテキスト</p>", Some(3)), "日本語");
        assert_eq!(body_text("<p>👍🏽 ok</p>", Some(1)), "👍");
        assert_eq!(body_text("<p>short</p>", Some(100)), "short");
        assert_eq!(body_text("<p>abc</p>", Some(0)), "");
        let config = SearchConfig { truncate_content_length: Some(2), ..SearchConfig::default() };
        let docs = [doc("https://example.com/", Some("T"), "<p>ééé</p>")];
        let index = parsed(&index_files(&config, "en", &docs).unwrap());
        assert_eq!(index["documentStore"]["docs"]["https://example.com/"]["body"], "éé");
    }

    #[test]
    fn body_text_is_what_zolas_cleaner_leaves() {
        assert_eq!(body_text("hello world", None), "hello world");
        assert_eq!(body_text("hello <script>alert('<p>')</script> world", None), "hello world");
        assert_eq!(
            body_text("<h1 id=\"a\">Title</h1>\n<p>One <em>two</em></p>\n\n<p>three</p>", None),
            "Title\nOne two\nthree"
        );
        assert_eq!(body_text("<p>a</p><pre><code>let x = <b>1</b>;\n</code></pre><p>b</p>", None), "ab");
        assert_eq!(body_text("<style>p > a { x: y }</style>kept", None), "kept");
        assert_eq!(
            body_text("<p>Tom &amp; Jerry &lt;3 &quot;hi&quot; &#39;x&#39;</p>", None),
            "Tom &amp; Jerry &lt;3 \"hi\" 'x'"
        );
        assert_eq!(body_text("a&nbsp;b &copy; &bogus; &#x1F600;", None), "a&nbsp;b © &amp;bogus; 😀");
        assert_eq!(body_text("a <!-- hidden --> b", None), "a b");
        assert_eq!(body_text("1 < 2 and <a href=\"x>y\">link</a>", None), "1 &lt; 2 and link");
        assert_eq!(body_text("\n hello  \n \n \n   world\n   ", None), "hello\nworld");
        assert_eq!(body_text("<p>unclosed <pre>code", None), "unclosed");
        assert_eq!(body_text("<p>broken <a href=\"", None), "broken");
    }

    #[test]
    fn odd_text_does_not_panic_the_indexer() {
        let body = "<p>ÿes yes y ẞ İ 🏳️‍🌈 \u{202e}rtl ـــ 'quoted' -- --- - / ___ 0x1F ationalization</p>";
        let docs = [doc("https://example.com/ÿ/", Some("y"), body), doc("https://example.com/ÿ/", Some("dup"), "")];
        let config = SearchConfig { include_path: true, include_description: true, ..SearchConfig::default() };
        let index = parsed(&index_files(&config, "en", &docs).unwrap());
        assert_eq!(index["documentStore"]["length"], 1);
    }

    #[test]
    fn config_has_zolas_defaults_and_rejects_unknown_keys() {
        let config: SearchConfig = toml::from_str("").unwrap();
        assert_eq!(config, SearchConfig::default());
        let config: SearchConfig =
            toml::from_str("index_format = \"elasticlunr_json\"\ntruncate_content_length = 10").unwrap();
        assert_eq!(config.index_format, IndexFormat::ElasticlunrJson);
        assert_eq!(config.truncate_content_length, Some(10));
        assert!(toml::from_str::<SearchConfig>("include_titel = true").is_err());
        assert!(toml::from_str::<SearchConfig>("index_format = \"lunr\"").is_err());
    }
}

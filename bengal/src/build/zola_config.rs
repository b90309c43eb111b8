//! Zola's `zola.toml` (or its older name `config.toml`), read as Zola reads
//! it, so that a Zola site builds as it is.
//!
//! Every key Zola knows is understood: what Bengal does is honoured, and what
//! asks for a feature Bengal does not have yet is listed once, in one warning
//! ([`Config::ignored`]), never silently dropped and never an error. A key
//! left at Zola's default asks for nothing and is not listed.

use std::path::PathBuf;

use serde::Deserialize;

use crate::build::config::{
    AnchorPlace, Config, Globs, MarkdownConfig, SlugStrategy, TaxonomyConfig, toml_error, toml_to_json,
};
use crate::error::{Error, Result};

/// The keys Bengal honours, as serde reads them; the rest land in `rest`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ZolaConfig {
    base_url: Option<String>,
    title: Option<String>,
    description: Option<String>,
    default_language: Option<String>,
    author: Option<String>,
    output_dir: Option<PathBuf>,
    taxonomies: Vec<ZolaTaxonomy>,
    /// Zola 0.19 renamed `generate_feed` to `generate_feeds`; both are read.
    generate_feeds: Option<bool>,
    generate_feed: Option<bool>,
    generate_sitemap: Option<bool>,
    generate_robots_txt: Option<bool>,
    feed_filenames: Option<Vec<String>>,
    theme: Option<String>,
    compile_sass: Option<bool>,
    build_search_index: Option<bool>,
    search: Option<toml::Value>,
    ignored_content: Vec<String>,
    ignored_static: Vec<String>,
    markdown: toml::Table,
    slugify: toml::Table,
    extra: toml::Table,
    #[serde(flatten)]
    rest: toml::Table,
}

#[derive(Debug, Deserialize)]
struct ZolaTaxonomy {
    #[serde(flatten)]
    options: TaxonomyConfig,
    #[serde(flatten)]
    rest: toml::Table,
}

/// A taxonomy's keys Bengal honours ([`TaxonomyConfig`]); `lang` needs
/// languages, which Bengal does not have yet.
const TAXONOMY_KEYS: &[&str] = &["name", "paginate_by", "paginate_path", "feed", "render"];

/// Keys whose Zola default is not "off" (false, empty): set to that default,
/// they ask for nothing.
const DEFAULTS: &[(&str, &str)] = &[
    ("feed_filenames", "[\"atom.xml\"]"),
    ("exclude_paginated_pages_in_sitemap", "\"none\""),
    ("mode", "\"build\""),
    ("markdown.external_links_external", "true"),
    ("markdown.highlighting.style", "\"inline\""),
    ("slugify.paths", "\"on\""),
    ("slugify.taxonomies", "\"on\""),
    ("slugify.anchors", "\"on\""),
    ("link_checker.internal_level", "\"error\""),
    ("link_checker.external_level", "\"error\""),
];

/// Parses the text of a Zola configuration.
pub fn parse(text: &str) -> Result<Config> {
    let raw: ZolaConfig = toml::from_str(text).map_err(|err| toml_error(text, &err))?;
    let mut ignored = Vec::new();
    let mut taxonomies = Vec::new();
    for taxonomy in raw.taxonomies {
        let name = &taxonomy.options.name;
        for (key, value) in taxonomy.rest {
            if !TAXONOMY_KEYS.contains(&key.as_str()) {
                list_requests(&format!("taxonomies.{name}.{key}"), &value, &mut ignored);
            }
        }
        taxonomies.push(taxonomy.options);
    }

    let mut markdown = MarkdownConfig {
        highlight_code: false,
        smart_punctuation: false,
        heading_anchors: false,
        ..MarkdownConfig::default()
    };
    for (key, value) in raw.markdown {
        match (key.as_str(), &value) {
            ("highlight_code", toml::Value::Boolean(on)) => markdown.highlight_code = *on,
            // Zola 0.22: highlighting is on once configured; its theme
            // choices are Bengal's own (syntax.css).
            ("highlighting", toml::Value::Table(table)) => {
                markdown.highlight_code = true;
                for (key, value) in table {
                    let key = format!("markdown.highlighting.{key}");
                    match key.as_str() {
                        "markdown.highlighting.extra_grammars" => markdown.extra_grammars = paths(&key, value)?,
                        _ => list_requests(&key, value, &mut ignored),
                    }
                }
            }
            // Its `.tmTheme` files are passed over: a theme is named by
            // `highlight_theme`, which is listed when set.
            ("extra_syntaxes_and_themes", _) => {
                markdown.extra_syntax_dirs = paths("markdown.extra_syntaxes_and_themes", &value)?
            }
            ("smart_punctuation", toml::Value::Boolean(on)) => markdown.smart_punctuation = *on,
            ("insert_anchor_links", toml::Value::String(place)) => {
                let place = AnchorPlace::from_zola(place);
                markdown.heading_anchors = place.is_some();
                markdown.anchor_place = place.unwrap_or_default();
            }
            ("external_links_target_blank", toml::Value::Boolean(on)) => markdown.external_links_target_blank = *on,
            ("external_links_no_follow", toml::Value::Boolean(on)) => markdown.external_links_no_follow = *on,
            ("external_links_no_referrer", toml::Value::Boolean(on)) => markdown.external_links_no_referrer = *on,
            ("external_links_class", toml::Value::String(class)) => {
                markdown.external_links_class = Some(class.clone()).filter(|c| !c.is_empty())
            }
            _ => list_requests(&format!("markdown.{key}"), &value, &mut ignored),
        }
    }
    let (mut slugify_paths, mut slugify_taxonomies) = (SlugStrategy::On, SlugStrategy::On);
    for (key, value) in raw.slugify {
        let strategy = value.clone().try_into::<SlugStrategy>().ok();
        match (key.as_str(), strategy) {
            ("paths", Some(strategy)) => slugify_paths = strategy,
            ("taxonomies", Some(strategy)) => slugify_taxonomies = strategy,
            _ => list_requests(&format!("slugify.{key}"), &value, &mut ignored),
        }
    }
    for (key, value) in raw.rest {
        list_requests(&key, &value, &mut ignored);
    }
    ignored.sort();
    let base_url = raw.base_url.ok_or_else(|| {
        Error::new("`base_url` is missing; Zola requires it").with_hint("add base_url = \"https://example.org\"")
    })?;
    let mut config = Config::parse("").map_err(|err| Error::new(err.message))?;
    config = config.with_base_url(&base_url);
    config.title = raw.title.unwrap_or_default();
    config.description = raw.description.unwrap_or_default();
    config.language = raw.default_language.unwrap_or_else(|| "en".to_owned());
    config.author = raw.author;
    config.output_dir = raw.output_dir.unwrap_or_else(|| PathBuf::from("public"));
    config.taxonomies = taxonomies.iter().map(|t| t.name.clone()).collect();
    config.taxonomy_options = taxonomies;
    config.feed_filenames = raw.feed_filenames.unwrap_or_else(|| vec!["atom.xml".to_owned()]);
    config.theme = raw.theme.filter(|theme| !theme.is_empty());
    config.compile_sass = raw.compile_sass.unwrap_or(false);
    config.build_search_index = raw.build_search_index.unwrap_or(false);
    config.ignored_content = Globs::new("ignored_content", raw.ignored_content)?;
    config.ignored_static = Globs::new("ignored_static", raw.ignored_static)?;
    if let Some(search) = raw.search {
        config.search = search.try_into().map_err(|err: toml::de::Error| {
            Error::new(format!("[search]: {}", err.message())).with_hint("fix the [search] table as Zola documents it")
        })?;
    }

    config.slugify_paths = slugify_paths;
    config.slugify_taxonomies = slugify_taxonomies;
    // Zola keeps directory names as they are in URLs.
    config.slugify_dirs = false;
    config.generate_feeds = raw.generate_feeds.or(raw.generate_feed).unwrap_or(false);
    config.generate_sitemap = raw.generate_sitemap.unwrap_or(true);
    config.generate_robots_txt = raw.generate_robots_txt.unwrap_or(true);
    config.markdown = markdown;
    config.extra = toml_to_json(toml::Value::Table(raw.extra));
    config.ignored = ignored;
    Ok(config)
}

/// A list of paths (`key` names it in the error).
fn paths(key: &str, value: &toml::Value) -> Result<Vec<PathBuf>> {
    value.clone().try_into().map_err(|_| {
        Error::new(format!("`{key}` must be a list of paths"))
            .with_hint("write paths relative to the site root, e.g. [\"syntaxes/mylang.json\"]")
    })
}

/// Adds `key` (and, for a table, each key under it) to `ignored` when its
/// value asks for something: anything but off, empty, or Zola's default.
fn list_requests(key: &str, value: &toml::Value, ignored: &mut Vec<String>) {
    match value {
        toml::Value::Table(table) if !table.is_empty() => {
            for (inner, value) in table {
                list_requests(&format!("{key}.{inner}"), value, ignored);
            }
        }
        _ if asks_for_nothing(key, value) => {}
        _ => ignored.push(key.to_owned()),
    }
}

fn asks_for_nothing(key: &str, value: &toml::Value) -> bool {
    let off = match value {
        toml::Value::Boolean(on) => !on,
        toml::Value::String(text) => text.is_empty(),
        toml::Value::Array(items) => items.is_empty(),
        toml::Value::Table(table) => table.is_empty(),
        _ => false,
    };
    off || DEFAULTS.iter().any(|(name, default)| *name == key && value.to_string() == *default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zola_config_is_read_with_zolas_defaults() {
        let config = parse(
            "base_url = \"https://example.org/docs\"\ntitle = \"Docs\"\ndefault_language = \"fr\"\n\
             taxonomies = [{ name = \"tags\" }, { name = \"authors\" }]\n[extra]\nlogo = \"x.svg\"\n",
        )
        .unwrap();
        assert_eq!(config.base_path, "/docs/");
        assert_eq!(config.language, "fr");
        assert_eq!(config.taxonomies, ["tags", "authors"]);
        assert!(!config.generate_feeds && config.generate_sitemap && config.generate_robots_txt);
        assert!(!config.markdown.highlight_code && !config.markdown.smart_punctuation);
        assert_eq!(config.extra["logo"], "x.svg");
        assert!(config.ignored.is_empty(), "{:?}", config.ignored);
    }

    #[test]
    fn what_bengal_does_not_do_yet_is_listed_once_and_defaults_are_not() {
        let config = parse(
            "base_url = \"/\"\ntheme = \"even\"\ncompile_sass = true\nbuild_search_index = false\n\
             generate_feed = true\ntaxonomies = [{ name = \"tags\", feed = true, paginate_by = 5 }]\n\
             [markdown]\nhighlight_code = true\nrender_emoji = true\nexternal_links_external = true\n\
             [markdown.highlighting]\ntheme = \"ayu\"\n[slugify]\npaths = \"safe\"\nanchors = \"off\"\n\
             [search]\ninclude_title = true\n",
        )
        .unwrap();
        assert!(config.generate_feeds && config.markdown.highlight_code);
        assert_eq!(config.slugify_paths, SlugStrategy::Safe);
        assert_eq!(config.ignored, ["markdown.highlighting.theme", "markdown.render_emoji", "slugify.anchors"]);
    }

    #[test]
    fn extra_grammars_old_and_new_are_read_not_listed() {
        let config = parse(
            "base_url = \"/\"\n[markdown]\nextra_syntaxes_and_themes = [\"syntaxes\"]\n\
             [markdown.highlighting]\nextra_grammars = [\"syntaxes/mylang.json\"]\n",
        )
        .unwrap();
        assert_eq!(config.markdown.extra_grammars, [PathBuf::from("syntaxes/mylang.json")]);
        assert_eq!(config.markdown.extra_syntax_dirs, [PathBuf::from("syntaxes")]);
        assert!(config.ignored.is_empty(), "{:?}", config.ignored);
        let err = parse("base_url = \"/\"\n[markdown.highlighting]\nextra_grammars = \"x.json\"\n").unwrap_err();
        assert!(err.message.contains("markdown.highlighting.extra_grammars"), "{err}");
    }

    #[test]
    fn base_url_is_required_as_in_zola() {
        let err = parse("title = \"x\"\n").unwrap_err();
        assert!(err.message.contains("base_url"), "{err}");
    }
}

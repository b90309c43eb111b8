//! `cargo xtask zola-check SITE [--zola BIN] [--as-is]`: does a site written
//! for Zola build with Bengal? Run by hand on Zola's own `test_site` and
//! documentation (which are not ours to copy into this repository), never in
//! CI.
//!
//! By default (issue 10: the content half), a copy of the site loses its
//! templates (its shortcodes and its themes' shortcodes are kept), so that
//! Bengal's built-in theme renders the content; a template that front matter
//! names becomes a stub extending the built-in one. With `--as-is` (issue
//! 11), the copy keeps its templates and themes, and `--zola` is needed. Then
//! the checks:
//!
//! 1. it builds;
//! 2. no page shows template syntax (`{{`, `{%`) outside code, but where
//!    Zola's build of it shows it too;
//! 3. no internal link leads nowhere, but to targets Zola's own build
//!    links to and lacks too;
//! 4. with `--zola`, every page Zola makes of the original site is at the
//!    same URL in Bengal's build;
//! 5. with `--as-is`, every HTML page both make shows the same visible text
//!    (without head, scripts, styles and tags; entities decoded; whitespace
//!    collapsed): at least 90% alike by words, `2 * matching / (words in
//!    Zola's + words in Bengal's)` over a diff of the two. Under the built-in
//!    theme the text differs by design, so the check is skipped there. Zola
//!    is run [`ZOLA_RUNS`] times: a page whose text differs between its own
//!    builds (a section with `sort_by = "none"` lists its pages in hash-map
//!    order) is listed apart and not counted, since no build can match it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::flags::ZolaCheck;

/// Runs the checks; an error when one fails.
pub fn run(args: &ZolaCheck) -> Result<(), String> {
    crate::cargo(&["build", "--package", "bengal", "--bins"])?;
    let work = tempfile::tempdir().map_err(|err| format!("no temporary directory: {err}"))?;
    let site = work.path().join("site");
    bengal_tests::fixtures::copy_dir(&args.site, &site)
        .map_err(|err| format!("copying {}: {err}", args.site.display()))?;
    if !args.as_is {
        keep_only_shortcodes(&site)?;
        stub_named_templates(&site)?;
    }

    let bengal_out = work.path().join("bengal");
    let bengal = crate::target_dir().join("debug/bengal");
    let built = Command::new(&bengal).arg("build").arg("--root").arg(&site).arg("--output").arg(&bengal_out).status();
    let mut failures = Vec::new();
    if !built.is_ok_and(|status| status.success()) {
        return Err("1. the site does not build with Bengal (the error is above)".to_owned());
    }
    println!("1. builds with Bengal: yes");

    let zola_build = |run: usize| -> Result<Option<PathBuf>, String> {
        let Some(zola) = &args.zola else { return Ok(None) };
        let out = work.path().join(format!("zola-{run}"));
        let status =
            Command::new(zola).arg("--root").arg(&args.site).arg("build").arg("--output-dir").arg(&out).status();
        if !status.is_ok_and(|status| status.success()) {
            return Err(format!("{} could not build the original site", zola.display()));
        }
        Ok(Some(out))
    };
    let zola_out = zola_build(1)?;
    let zola_pages = zola_out.as_deref().map(html_files).unwrap_or_default();

    let pages = html_files(&bengal_out);
    // A file Zola's build shows the same syntax in is no leak: a static
    // file, say (test_site's `some-html.html`).
    let zola_syntax: BTreeSet<&str> =
        zola_pages.iter().filter(|(_, html)| shows_template_syntax(html)).map(|(p, _)| p.as_str()).collect();
    let with_syntax: Vec<&String> = pages
        .iter()
        .filter(|(p, html)| shows_template_syntax(html) && !zola_syntax.contains(p.as_str()))
        .map(|(p, _)| p)
        .collect();
    println!(
        "2. pages showing template syntax (that Zola's build of them does not): {} of {}",
        with_syntax.len(),
        pages.len()
    );
    for page in with_syntax.iter().take(10) {
        println!("     {page}");
    }
    if !with_syntax.is_empty() {
        failures.push("template syntax on pages");
    }

    let base = base_of(&args.site);
    let dangling = dangling_links(&bengal_out, &pages, &base);
    let zola_dangling = zola_out.as_deref().map(|out| dangling_links(out, &zola_pages, &base)).unwrap_or_default();
    // A target Zola's build links to and lacks too is the content's own
    // dead link, wherever the theme shows it (a summary on a list page).
    let target = |link: &String| link.split_once(" -> ").map(|(_, target)| target.to_owned());
    let zola_targets: BTreeSet<String> = zola_dangling.iter().filter_map(target).collect();
    let ours: Vec<&String> =
        dangling.iter().filter(|link| target(link).is_none_or(|t| !zola_targets.contains(&t))).collect();
    println!("3. internal links to nowhere (not counting targets Zola's own build links to and lacks): {}", ours.len());
    for link in ours.iter().take(10) {
        println!("     {link}");
    }
    if !ours.is_empty() {
        failures.push("links to nowhere");
    }

    if let Some(out) = &zola_out {
        let (zola_urls, bengal_urls) = (page_urls(out), page_urls(&bengal_out));
        let missing: Vec<&String> = zola_urls.difference(&bengal_urls).collect();
        println!(
            "4. pages Zola makes that Bengal does not make at the same URL: {} of {}",
            missing.len(),
            zola_urls.len()
        );
        for url in missing.iter().take(20) {
            println!("     /{url}");
        }
        if !missing.is_empty() {
            failures.push("URLs differ");
        }
    } else {
        println!("4. URLs against Zola's: skipped (pass --zola BIN)");
    }

    match &zola_out {
        Some(_) if args.as_is => {
            let mut unstable = BTreeSet::new();
            for run in 2..=ZOLA_RUNS {
                let again = zola_build(run)?.as_deref().map(html_files).unwrap_or_default();
                unstable.extend(changed_text(&zola_pages, &again));
            }
            if !same_text(&zola_pages, &pages, &unstable) {
                failures.push("visible text differs");
            }
        }
        Some(_) => println!("5. visible text against Zola's: skipped (the built-in theme's differs; pass --as-is)"),
        None => println!("5. visible text against Zola's: skipped (pass --zola BIN --as-is)"),
    }
    if failures.is_empty() { Ok(()) } else { Err(format!("zola-check: {}", failures.join(", "))) }
}

/// Removes the site's templates and themes but keeps every shortcode, the
/// themes' ones after the site's own.
fn keep_only_shortcodes(site: &Path) -> Result<(), String> {
    let templates = site.join("templates");
    let shortcodes = templates.join("shortcodes");
    let kept = tempfile::tempdir().map_err(|err| err.to_string())?;
    let io = |err: std::io::Error| err.to_string();
    if shortcodes.is_dir() {
        bengal_tests::fixtures::copy_dir(&shortcodes, kept.path()).map_err(io)?;
    }
    for theme in std::fs::read_dir(site.join("themes")).into_iter().flatten().flatten() {
        let theirs = theme.path().join("templates/shortcodes");
        for file in std::fs::read_dir(&theirs).into_iter().flatten().flatten() {
            let target = kept.path().join(file.file_name());
            if !target.exists() {
                std::fs::copy(file.path(), target).map_err(io)?;
            }
        }
    }
    let _ = std::fs::remove_dir_all(&templates);
    let _ = std::fs::remove_dir_all(site.join("themes"));
    bengal_tests::fixtures::copy_dir(kept.path(), &shortcodes).map_err(io)
}

/// A template named by front matter (`template`, `page_template`) becomes
/// one line extending the built-in `section.html` or `page.html`.
fn stub_named_templates(site: &Path) -> Result<(), String> {
    let mut stubs = BTreeSet::new();
    for file in markdown_files(&site.join("content")) {
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        let section = file.file_name().is_some_and(|n| n == "_index.md");
        // The TOML front matter only: a body may show such lines as examples.
        let front =
            text.trim_start().strip_prefix("+++").and_then(|rest| rest.split_once("+++")).map(|(front, _)| front);
        for line in front.unwrap_or_default().lines() {
            let Some((key, value)) = line.split_once('=') else { continue };
            let name = value.trim().trim_matches('"').to_owned();
            if name.is_empty() {
                continue;
            }
            match key.trim() {
                "template" if section => stubs.insert((name, "section.html")),
                "template" | "page_template" => stubs.insert((name, "page.html")),
                _ => false,
            };
        }
    }
    for (name, base) in stubs {
        let path = site.join("templates").join(&name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|err| err.to_string())?;
        }
        std::fs::write(&path, format!("{{% extends \"{base}\" %}}\n")).map_err(|err| err.to_string())?;
    }
    Ok(())
}

fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    files(dir).into_iter().filter(|p| p.extension().is_some_and(|e| e == "md")).collect()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// Every HTML file of an output, by path relative to it, with its text.
fn html_files(out: &Path) -> Vec<(String, String)> {
    let mut pages: Vec<(String, String)> = files(out)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).ok()?;
            Some((p.strip_prefix(out).ok()?.to_string_lossy().into_owned(), text))
        })
        .collect();
    pages.sort();
    pages
}

/// `{{` or `{%` in a page, outside `<pre>` and `<code>`.
fn shows_template_syntax(html: &str) -> bool {
    let mut rest = html;
    let mut outside = String::new();
    while let Some(start) = [rest.find("<pre"), rest.find("<code")].into_iter().flatten().min() {
        outside.push_str(&rest[..start]);
        let closing = if rest[start..].starts_with("<pre") { "</pre>" } else { "</code>" };
        match rest[start..].find(closing) {
            Some(end) => rest = &rest[start + end + closing.len()..],
            None => {
                rest = "";
                break;
            }
        }
    }
    outside.push_str(rest);
    outside.contains("{{") || outside.contains("{%")
}

/// How alike a page's visible text must be in both builds.
const ALIKE: f32 = 0.9;

/// How many times Zola builds the site for check 5.
const ZOLA_RUNS: usize = 3;

/// The pages whose visible text differs between two builds.
fn changed_text(first: &[(String, String)], second: &[(String, String)]) -> BTreeSet<String> {
    let second: std::collections::BTreeMap<&str, &str> =
        second.iter().map(|(path, html)| (path.as_str(), html.as_str())).collect();
    first
        .iter()
        .filter(|(path, html)| second.get(path.as_str()).is_some_and(|again| visible_text(html) != visible_text(again)))
        .map(|(path, _)| path.clone())
        .collect()
}

/// Check 5: prints how alike the visible text of every page both builds
/// make is, apart from those `unstable` in Zola's own builds; false when a
/// page is below [`ALIKE`].
fn same_text(zola: &[(String, String)], bengal: &[(String, String)], unstable: &BTreeSet<String>) -> bool {
    let bengal: std::collections::BTreeMap<&str, &str> =
        bengal.iter().map(|(path, html)| (path.as_str(), html.as_str())).collect();
    if !unstable.is_empty() {
        println!("5. pages whose text differs between Zola's own {ZOLA_RUNS} builds, not counted: {}", unstable.len());
        for path in unstable.iter().take(10) {
            println!("     {path}");
        }
    }
    let mut ratios: Vec<(f32, &str)> = zola
        .iter()
        .filter(|(path, _)| !unstable.contains(path))
        .filter_map(|(path, html)| {
            let ours = bengal.get(path.as_str())?;
            Some((text_ratio(&visible_text(html), &visible_text(ours)), path.as_str()))
        })
        .collect();
    ratios.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(b.1)));
    let alike = ratios.iter().filter(|(ratio, _)| *ratio >= ALIKE).count();
    let median = ratios.get(ratios.len() / 2).map_or(1.0, |(ratio, _)| *ratio);
    println!(
        "5. HTML pages whose visible text is at least 90% alike: {alike} of {} both make (of {} Zola makes); \
         median {:.1}%",
        ratios.len(),
        zola.len(),
        median * 100.0
    );
    for (ratio, path) in ratios.iter().take(10).filter(|(ratio, _)| *ratio < 1.0) {
        println!("     {:5.1}%  {path}", ratio * 100.0);
    }
    alike == ratios.len()
}

/// The tags that do not end a word.
const INLINE: [&str; 25] = [
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "del", "dfn", "em", "i", "ins", "kbd", "mark", "q", "s",
    "samp", "small", "span", "strong", "sub", "sup", "time", "u",
];

/// The words a reader sees of a page: not its `<head>`, scripts, styles,
/// comments or tags; common entities decoded.
fn visible_text(html: &str) -> Vec<String> {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        text.push_str(&rest[..start]);
        rest = &rest[start..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            rest = comment.split_once("-->").map_or("", |(_, after)| after);
            continue;
        }
        let name: String = rest[1..]
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        rest = rest.split_once('>').map_or("", |(_, after)| after);
        // Highlighted code is a span a token: the spans differ between the
        // two highlighters, the words do not.
        if !INLINE.contains(&name.as_str()) {
            text.push(' ');
        }
        if ["head", "script", "style"].contains(&name.as_str()) {
            let closing = format!("</{name}");
            rest = match rest.to_ascii_lowercase().find(&closing) {
                Some(end) => rest[end..].split_once('>').map_or("", |(_, after)| after),
                None => "",
            };
        }
    }
    text.push_str(rest);
    decode_entities(&text).split_whitespace().map(str::to_owned).collect()
}

/// `&amp;` and its kin, and numeric references; others are kept as they are.
fn decode_entities(text: &str) -> String {
    let mut decoded = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('&') {
        decoded.push_str(&rest[..start]);
        rest = &rest[start..];
        let entity = rest[1..].find(';').filter(|end| *end <= 10).map(|end| &rest[1..=end]);
        let character = entity.and_then(|entity| match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some(' '),
            _ => {
                let number = entity.strip_prefix('#')?;
                let code = match number.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                    None => number.parse().ok()?,
                };
                char::from_u32(code)
            }
        });
        match (entity, character) {
            (Some(entity), Some(character)) => {
                decoded.push(character);
                rest = &rest[entity.len() + 2..];
            }
            _ => {
                decoded.push('&');
                rest = &rest[1..];
            }
        }
    }
    decoded.push_str(rest);
    decoded
}

/// How alike two texts are, from 0 to 1: twice the words a diff keeps over
/// the words of both (a second's diff at most, then it settles for a rougher
/// one).
fn text_ratio(a: &[String], b: &[String]) -> f32 {
    let deadline = Instant::now() + Duration::from_secs(1);
    let ops = similar::capture_diff_slices_deadline(similar::Algorithm::Myers, a, b, Some(deadline));
    similar::get_diff_ratio(&ops, a.len(), b.len())
}

/// The site's `base_url`, split into its origin (`https://example.org`) and
/// its path (`/` or `/docs/`).
struct Base {
    origin: String,
    path: String,
}

fn base_of(site: &Path) -> Base {
    let config = ["zola.toml", "config.toml"].iter().find_map(|name| std::fs::read_to_string(site.join(name)).ok());
    let base_url = config
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|table| table.get("base_url").and_then(|v| v.as_str()).map(str::to_owned))
        .unwrap_or_default();
    let (origin, path) = match base_url.split_once("://") {
        Some((scheme, rest)) => {
            let at = rest.find('/').unwrap_or(rest.len());
            (format!("{scheme}://{}", &rest[..at]), &rest[at..])
        }
        None => (String::new(), base_url.as_str()),
    };
    Base { origin, path: format!("/{}/", path.trim_matches('/')).replace("//", "/") }
}

/// Internal links (`href`/`src` starting with `/` or the base URL's origin)
/// whose target is not in `out`: `page -> link`.
fn dangling_links(out: &Path, pages: &[(String, String)], base: &Base) -> BTreeSet<String> {
    let mut dangling = BTreeSet::new();
    for (page, html) in pages {
        for attribute in ["href=\"", "src=\""] {
            for piece in html.split(attribute).skip(1) {
                let Some(link) = piece.split('"').next() else { continue };
                // Zola's Tera escapes `/` in `{{ page.permalink }}`: `https:&#x2F;&#x2F;…`.
                let link = decode_entities(link);
                let Some(path) = internal_path(&link, base) else { continue };
                let target = out.join(path.trim_start_matches('/'));
                if !(target.is_file() || target.join("index.html").is_file()) {
                    dangling.insert(format!("{page} -> {link}"));
                }
            }
        }
    }
    dangling
}

/// The output path of an internal link (`/x/`, or the site's own origin),
/// without query and fragment; None for other sites and relative links.
fn internal_path(link: &str, base: &Base) -> Option<String> {
    let link = link.split(['#', '?']).next()?;
    let path = match link.strip_prefix(base.origin.as_str()).filter(|_| !base.origin.is_empty()) {
        Some(path) => path,
        None if link.starts_with('/') && !link.starts_with("//") => link,
        None => return None,
    };
    let path = path.strip_prefix(base.path.trim_end_matches('/')).unwrap_or(path);
    let decoded: String = path.replace("%20", " ");
    (!decoded.is_empty()).then_some(decoded)
}

/// The URL of every page (a directory with an `index.html`).
fn page_urls(out: &Path) -> BTreeSet<String> {
    files(out)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "index.html"))
        .filter_map(|p| Some(p.parent()?.strip_prefix(out).ok()?.to_string_lossy().into_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_syntax_outside_code_only() {
        assert!(shows_template_syntax("<p>{{ page.title }}</p>"));
        assert!(!shows_template_syntax("<pre><code>{{ page.title }}</code></pre><p>fine</p>"));
        assert!(!shows_template_syntax("<p>use <code>{% if %}</code></p>"));
    }

    #[test]
    fn visible_text_is_the_words_a_reader_sees() {
        let html = "<!DOCTYPE html><html><HEAD><title>T</title><style>p{}</style></head>\
                    <body><header>Site</header><script>var x = 1 < 2;</script><!-- note -->\
                    <p>Fish &amp; chips&nbsp;&#233;t&#xE9;\n  <b>now</b>&copy;</p>\
                    <pre><span>--</span><SPAN>depth</SPAN>=1</pre><li>one</li><li>two</li></body></html>";
        assert_eq!(visible_text(html), ["Site", "Fish", "&", "chips", "été", "now&copy;", "--depth=1", "one", "two"]);
    }

    #[test]
    fn text_ratio_counts_matching_words() {
        let words = |text: &str| text.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(text_ratio(&words("a b c d"), &words("a b c d")), 1.0);
        assert_eq!(text_ratio(&words("a b c d"), &words("a b x d")), 0.75);
        assert_eq!(text_ratio(&words(""), &words("")), 1.0);
        assert_eq!(text_ratio(&words("a b"), &words("c d")), 0.0);
    }

    #[test]
    fn internal_paths() {
        let root = Base { origin: "https://example.org".into(), path: "/".into() };
        let docs = Base { origin: "https://example.org".into(), path: "/docs/".into() };
        assert_eq!(internal_path("/blog/a/#top", &root).as_deref(), Some("/blog/a/"));
        assert_eq!(internal_path("https://example.org/docs/a/", &docs).as_deref(), Some("/a/"));
        assert_eq!(internal_path("https://other.example/a/", &root), None);
        assert_eq!(internal_path("//cdn.example/x.js", &root), None);
        assert_eq!(internal_path("relative.png", &root), None);
    }
}

//! A Zola site with its own templates and a theme builds as it is (issue
//! 11): the `zola-themed` fixture's templates use Zola's variables,
//! functions and filters by Zola's names, and these tests read what they
//! wrote.

use std::path::Path;

use bengal_tests::events::EventStream;
use predicates::prelude::*;

use crate::server::{DEADLINE, Server};
use crate::util::{build_into, copy_fixture, fixture, free_port};

const FIXTURE: &str = "zola-themed";

/// The SHA-256 of `themes/tiny/static/theme.js`, in hex.
const THEME_JS_SHA256: &str = "56e6098fcd8e2d414db26466438a2ef6f425d8a6b7488bde7ac19eaadf89ac8b";

/// The fixture built as it is into a fresh directory.
fn built() -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    build_into(&fixture(FIXTURE), out.path()).success().stderr("");
    out
}

fn read(out: &Path, relative: &str) -> String {
    std::fs::read_to_string(out.join(relative)).unwrap_or_else(|err| panic!("read {relative}: {err}"))
}

/// The text of the first element with `class="CLASS"` (up to its closing
/// tag's `<`), which the fixture's templates put on one line each.
fn class(html: &str, class: &str) -> String {
    let start = html.find(&format!("class=\"{class}\"")).unwrap_or_else(|| panic!("no class {class} in {html}"));
    let rest = &html[start..];
    let open = rest.find('>').unwrap() + 1;
    let line_end = rest.find('\n').unwrap_or(rest.len());
    rest[open..line_end].to_owned()
}

#[test]
fn the_sites_templates_override_the_themes_and_the_theme_fills_the_rest() {
    let out = built();
    let out = out.path();
    let home = read(out, "index.html");
    assert!(home.contains("class=\"site-index\"") && !home.contains("theme-index"), "the site's index.html: {home}");
    assert!(home.contains("class=\"theme-footer\""), "the theme's base.html under the site's index.html");
    assert!(read(out, "blog/a/index.html").contains("class=\"theme-page\""), "the theme's page.html");
    assert!(read(out, "blog/index.html").contains("class=\"theme-section\""), "the theme's section.html");
    assert!(read(out, "tags/rust/index.html").contains("class=\"site-tag-single\""), "the site's tags/single.html");
    assert!(read(out, "tags/index.html").contains("class=\"theme-taxonomy-list\""), "the theme's taxonomy_list.html");
    let author = read(out, "authors/bo/index.html");
    assert!(author.contains("class=\"theme-taxonomy-single\""), "the theme's taxonomy_single.html: {author}");
    assert!(author.contains("<h1>authors: Bo</h1>"), "taxonomy and term: {author}");
    assert!(
        read(out, "tags/index.html").contains("<a href=\"https://example.org/tags/rust/\">Rust</a> (2)"),
        "terms with permalink and page_count"
    );
    let tag = read(out, "tags/rust/index.html");
    assert!(tag.contains("<h1>Tag Rust in tags</h1>") && tag.contains("<li>Beta</li><li>Alpha</li>"), "{tag}");
    assert!(tag.contains("href=\"https://example.org/tags/rust/atom.xml\""), "get_url of a term's feed: {tag}");
    let badge = read(out, "blog/a/index.html");
    assert!(badge.contains("<span class=\"badge\">NEW</span>"), "the site's shortcode: {badge}");
}

#[test]
fn config_current_url_and_current_path() {
    let out = built();
    let page = read(out.path(), "blog/b/index.html");
    assert!(page.contains("<html lang=\"en\">"), "lang");
    assert!(page.contains("<meta name=\"language\" content=\"en\">"), "config.default_language");
    assert!(page.contains("<title>Beta | Tiny Themed</title>"), "config.title");
    assert!(page.contains("<a class=\"home\" href=\"https://example.org/\">"), "config.base_url: {page}");
    assert_eq!(class(&page, "tagline"), "Small and themed</span>", "config.extra");
    assert!(
        page.contains("data-current-url=\"https://example.org/blog/b/\" data-current-path=\"/blog/b/\""),
        "current_url, current_path: {page}"
    );
}

#[test]
fn the_themes_extra_is_merged_into_config_extra() {
    let out = built();
    // Zola adds the theme's `[extra]` keys the site does not set to `config.extra`.
    assert_eq!(class(&read(out.path(), "index.html"), "theme-colour"), "teal</span>");
}

#[test]
fn page_variables_have_zolas_names() {
    let out = built();
    let page = read(out.path(), "blog/c/index.html");
    assert_eq!(class(&page, "date"), "ymd=2024/3/30 long=30 March 2024</p>", "year/month/day, date filter");
    assert_eq!(class(&page, "relative-path"), "relative_path=blog/c/index.md</p>");
    assert_eq!(class(&page, "colocated-path"), "colocated_path=blog/c/</p>");
    assert_eq!(class(&page, "ancestors"), "ancestors=[Home][Blog]</p>", "ancestors through get_section");
    assert_eq!(class(&page, "assets"), "assets=/blog/c/pixel.png;</p>");
    assert_eq!(class(&page, "lang"), "lang=en translations=0</p>");
    assert_eq!(class(&page, "tags"), "tags=<a href=\"https://example.org/tags/web/\">Web</a></p>", "taxonomies");
    let stats = class(&page, "stats");
    let words: usize = stats.split(['=', ' ']).nth(1).and_then(|n| n.parse().ok()).expect(&stats);
    assert!((15..=25).contains(&words), "word_count: {stats}");
    assert!(stats.ends_with("reading_time=1</p>"), "reading_time: {stats}");
    assert!(
        page.contains(
            "<nav class=\"toc\"><li><a href=\"https://example.org/blog/c/#setup\">Setup</a><ul>\
             <li class=\"child\"><a href=\"https://example.org/blog/c/#install\">Install</a></li>\
             <li class=\"child\"><a href=\"https://example.org/blog/c/#configure\">Configure</a></li></ul></li>\
             <li><a href=\"https://example.org/blog/c/#usage\">Usage</a></li></nav>"
        ),
        "the toc nests with children: {page}"
    );
    let summary = class(&page, "summary");
    assert!(summary.contains("Gamma begins with this summary.") && !summary.contains("Setup"), "{summary}");
    assert_eq!(class(&read(out.path(), "blog/a/index.html"), "mood"), "mood=sunny</p>", "page.extra");
    assert_eq!(class(&read(out.path(), "blog/d/index.html"), "colocated-path"), "colocated_path=none</p>");
}

#[test]
fn lower_and_higher_follow_the_sections_sort() {
    let out = built();
    let siblings = |path: &str| class(&read(out.path(), path), "siblings");
    // sort_by = "date": newest first (Delta, Gamma, Beta, Alpha); lower is the one before.
    assert_eq!(siblings("blog/d/index.html"), "lower=none higher=Gamma</nav>");
    assert_eq!(siblings("blog/b/index.html"), "lower=Gamma higher=Alpha</nav>");
    assert_eq!(siblings("blog/a/index.html"), "lower=Beta higher=none</nav>");
    // sort_by = "weight": lightest first.
    assert_eq!(siblings("notes/n1/index.html"), "lower=none higher=Second note</nav>");
    assert_eq!(siblings("notes/n2/index.html"), "lower=First note higher=none</nav>");
}

#[test]
fn page_authors_stay_the_pages_with_an_authors_taxonomy() {
    let out = built();
    assert_eq!(class(&read(out.path(), "blog/a/index.html"), "authors"), "authors=Ada</p>");
    assert_eq!(class(&read(out.path(), "blog/b/index.html"), "authors"), "authors=Ada, Bo</p>");
    // The taxonomy's terms come from [taxonomies] only: Ada on Alpha, Bo on Beta.
    let list = read(out.path(), "authors/index.html");
    assert!(list.contains(">Ada</a> (1)") && list.contains(">Bo</a> (1)"), "{list}");
}

#[test]
fn sections_subsections_and_the_paginator() {
    let out = built();
    let home = read(out.path(), "index.html");
    assert_eq!(class(&home, "subsections"), "<li>Blog (4)</li><li>Notes (2)</li></ul>", "subsections via get_section");
    assert_eq!(class(&home, "get-section"), "blog-pages=4</p>");
    let first = read(out.path(), "blog/index.html");
    assert_eq!(class(&first, "section-meta"), "relative_path=blog/_index.md ancestors=_index.md</p>");
    assert_eq!(class(&first, "pager-pages"), "<li>Delta</li><li>Gamma</li></ul>");
    assert_eq!(
        class(&first, "paginator"),
        "current_index=1 number_pagers=2 total_pages=4 paginate_by=2 base_url=https://example.org/blog/page/ \
         first=https://example.org/blog/ last=https://example.org/blog/page/2/ previous=none \
         next=https://example.org/blog/page/2/</p>"
    );
    let second = read(out.path(), "blog/page/2/index.html");
    assert_eq!(class(&second, "pager-pages"), "<li>Beta</li><li>Alpha</li></ul>");
    assert!(
        class(&second, "paginator").starts_with("current_index=2 ")
            && class(&second, "paginator").ends_with("previous=https://example.org/blog/ next=none</p>"),
        "{second}"
    );
}

#[test]
fn a_section_without_paginate_by_has_no_paginator() {
    let out = built();
    let notes = read(out.path(), "notes/index.html");
    assert!(!notes.contains("class=\"paginator\""), "{notes}");
    assert_eq!(class(&notes, "section-pages"), "<li>First note</li><li>Second note</li></ul>");
}

#[test]
fn functions_give_zolas_results() {
    let out = built();
    let home = read(out.path(), "index.html");
    let is = |name: &str, expected: &str| assert_eq!(class(&home, name), format!("{expected}</p>"), "{name}");
    is("get-page", "get_page=Beta");
    is("get-url", "get_url=https://example.org/blog/a/");
    is("get-url-anchor", "anchor=https://example.org/blog/c/#setup");
    is("get-url-slash", "slash=https://example.org/notes/");
    is("get-url-plain", "plain=https://example.org/notes");
    is("get-taxonomy", "Rust=2;Web=2;");
    is("get-taxonomy-term", "term=Rust:2");
    is("get-taxonomy-url", "taxonomy_url=https://example.org/tags/rust/");
    is("toml", "toml=Ada;Bo;");
    is("json", "json=98,765");
    is("csv", "csv rows=3 headers=name|colour");
    is("yaml", "yaml=small is beautiful");
    is("hash", "hash=2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    is("hash-literal", "hash64=LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=");
    let cachebust = class(&home, "cachebust");
    let hash = cachebust
        .strip_prefix("cachebust=https://example.org/theme.js?h=")
        .and_then(|rest| rest.strip_suffix("</p>"))
        .unwrap_or_else(|| panic!("{cachebust}"));
    assert!(hash.len() >= 20 && THEME_JS_SHA256.starts_with(hash), "the SHA-256 of the theme's file: {hash}");
    let year = class(&home, "now");
    let year: u32 = year.trim_start_matches("now=").trim_end_matches("</p>").parse().expect(&year);
    assert!((2024..3000).contains(&year), "now() is this year: {year}");
}

#[test]
fn get_hash_finds_a_file_of_the_themes_static() {
    let site = copy_fixture(FIXTURE);
    let index = site.path().join("templates/index.html");
    let text = std::fs::read_to_string(&index).unwrap().replace(
        "</main>",
        "<p class=\"theme-hash\">{{ get_hash(path=\"theme.js\", sha_type=256, base64=false) }}</p>\n</main>",
    );
    std::fs::write(&index, text).unwrap();
    let out = tempfile::tempdir().unwrap();
    build_into(site.path(), out.path()).success();
    assert_eq!(class(&read(out.path(), "index.html"), "theme-hash"), format!("{THEME_JS_SHA256}</p>"));
}

#[test]
fn filters_give_zolas_results() {
    let out = built();
    let home = read(out.path(), "index.html");
    assert_eq!(class(&home, "markdown"), "<em>emph</em> and <code>code</code></p>", "markdown(inline=true)");
    assert_eq!(class(&home, "base64"), "b64=QmVuZ2Fs|Bengal</p>");
    assert_eq!(class(&home, "regex"), "regex=10/01/2024</p>", "regex_replace with named groups");
    assert_eq!(class(&home, "num"), "num=1,234,567</p>");
    assert_eq!(class(&home, "slug"), "slug=hello-world-wide</p>");
    assert_eq!(class(&home, "date-filter"), "date=March 30, 2024</p>");
}

/// A PNG's width and height, from its IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let number = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (number(16), number(20))
}

#[test]
fn images_are_measured_and_resized_into_processed_images() {
    let out = built();
    let page = read(out.path(), "blog/c/index.html");
    assert_eq!(class(&page, "image-meta"), "image=40x30</p>", "get_image_metadata");
    let thumb = page.lines().find(|line| line.contains("class=\"thumb\"")).expect(&page);
    let url = thumb.split("src=\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap();
    let relative = url.strip_prefix("https://example.org/").expect(url);
    assert!(relative.starts_with("processed_images/") && relative.ends_with(".png"), "{url}");
    assert!(thumb.contains("data-width=\"20\" data-height=\"15\""), "{thumb}");
    assert_eq!(png_size(&std::fs::read(out.path().join(relative)).unwrap()), (20, 15), "the resized file");
    assert_eq!(png_size(&std::fs::read(out.path().join("blog/c/pixel.png")).unwrap()), (40, 30), "the original");
}

#[test]
fn sass_compiles_with_the_site_over_the_theme_and_statics_merge() {
    let out = built();
    let out = out.path();
    let style = read(out, "style.css");
    assert!(style.contains("#c0ffee"), "the site's style.scss with its partial's variable: {style}");
    assert!(!style.contains("#010203"), "the theme's style.scss is replaced: {style}");
    assert!(read(out, "theme-only.css").contains(".tiny"), "the theme's other stylesheet");
    for partial in ["_vars.css", "vars.css", "_vars.scss", "style.scss"] {
        assert!(!out.join(partial).exists(), "{partial} is not output");
    }
    assert_eq!(read(out, "logo.txt"), "the site logo\n", "the site's static file overrides the theme's");
    assert_eq!(read(out, "theme.js"), "console.log(\"tiny theme\");\n", "the theme's static file");
}

#[test]
fn the_search_index_and_atom_feeds_are_written() {
    let out = built();
    let out = out.path();
    let index = read(out, "search_index.en.js");
    assert!(index.starts_with("window.searchIndex = ") && index.contains("https://example.org/blog/a/"), "{index}");
    assert!(out.join("elasticlunr.min.js").is_file());
    let feed = read(out, "atom.xml");
    assert!(feed.contains("<title>Alpha</title>") && feed.contains("<title>Delta</title>"), "{feed}");
    let rust = read(out, "tags/rust/atom.xml");
    assert!(rust.contains("<title>Beta</title>") && !rust.contains("<title>Gamma</title>"), "the term's feed: {rust}");
    assert!(out.join("tags/web/atom.xml").is_file());
    assert!(!out.join("authors/ada/atom.xml").exists(), "authors has no `feed = true`");
}

#[test]
fn rss_feeds_are_written_with_atom_for_the_site_and_tag_terms() {
    let site = copy_fixture(FIXTURE);
    let config = site.path().join("config.toml");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("feed_filenames = [\"atom.xml\"]", "feed_filenames = [\"atom.xml\", \"rss.xml\"]");
    std::fs::write(&config, text).unwrap();
    let out = tempfile::tempdir().unwrap();
    build_into(site.path(), out.path()).success();
    for feed in ["atom.xml", "rss.xml", "tags/rust/atom.xml", "tags/rust/rss.xml"] {
        assert!(out.path().join(feed).is_file(), "{feed} is missing");
    }
    assert!(read(out.path(), "rss.xml").contains("<rss"), "an RSS document");
}

#[test]
fn an_undefined_variable_in_a_site_template_fails_naming_the_file() {
    let site = copy_fixture(FIXTURE);
    let template = site.path().join("templates/tags/single.html");
    let text = std::fs::read_to_string(&template).unwrap().replace("{{ term.name }}", "{{ no_such_variable }}");
    std::fs::write(&template, text).unwrap();
    let out = tempfile::tempdir().unwrap();
    build_into(site.path(), out.path()).code(1).stderr(
        predicate::str::contains("templates/tags/single.html").and(predicate::str::contains("no_such_variable")),
    );
}

#[test]
fn an_undefined_variable_in_a_theme_template_fails_naming_the_file() {
    let site = copy_fixture(FIXTURE);
    let template = site.path().join("themes/tiny/templates/page.html");
    let text = std::fs::read_to_string(&template).unwrap().replace("{{ page.title }}</h1>", "{{ no_such_page }}</h1>");
    std::fs::write(&template, text).unwrap();
    let out = tempfile::tempdir().unwrap();
    build_into(site.path(), out.path()).code(1).stderr(
        predicate::str::contains("themes/tiny/templates/page.html").and(predicate::str::contains("no_such_page")),
    );
}

#[test]
fn throw_fails_the_build_with_its_message() {
    let site = copy_fixture(FIXTURE);
    let index = site.path().join("templates/index.html");
    let text = std::fs::read_to_string(&index)
        .unwrap()
        .replace("</main>", "{{ throw(message=\"the index refuses to render\") }}\n</main>");
    std::fs::write(&index, text).unwrap();
    let out = tempfile::tempdir().unwrap();
    build_into(site.path(), out.path()).code(1).stderr(
        predicate::str::contains("the index refuses to render").and(predicate::str::contains("templates/index.html")),
    );
}

#[test]
fn serve_recompiles_sass_when_a_partial_changes_and_sends_a_css_reload() {
    let site = copy_fixture(FIXTURE);
    let server = Server::start(site.path(), &["--port", &free_port()]);
    assert!(server.get("/style.css").body.contains("#c0ffee"));
    let mut events = EventStream::open(server.port, DEADLINE).unwrap();
    std::fs::write(site.path().join("sass/_vars.scss"), "$accent: #bada55;\n").unwrap();
    let (name, data) = events.next_event().unwrap();
    assert_eq!(
        (name.as_str(), data.as_str()),
        ("update", "{\"changed\":[\"style.css\"],\"removed\":[]}"),
        "only the stylesheet"
    );
    let style = server.get("/style.css").body;
    assert!(style.contains("#bada55") && !style.contains("#c0ffee"), "{style}");
    assert!(server.get("/").body.contains("class=\"site-index\""), "pages are still served");
    server.stop();
}

#[test]
fn serve_reloads_when_a_data_file_outside_the_input_folders_changes() {
    let site = copy_fixture(FIXTURE);
    let server = Server::start(site.path(), &["--port", &free_port()]);
    assert!(server.get("/").body.contains("Ada"));
    let mut events = EventStream::open(server.port, DEADLINE).unwrap();
    std::fs::write(site.path().join("data/people.toml"), "[[people]]\nname = \"Cy\"\n").unwrap();
    assert_eq!(events.next_event().unwrap().0, "update");
    let home = server.get("/").body;
    assert!(home.contains("Cy") && !home.contains("Ada"), "{home}");
    server.stop();
}

#[test]
fn an_untitled_page_has_no_title_and_a_page_not_rendered_is_in_no_list_as_in_zola() {
    let site = copy_fixture(FIXTURE);
    let notes = site.path().join("content/notes");
    std::fs::write(notes.join("untitled.md"), "+++\nweight = 3\n+++\nNo title here.\n").unwrap();
    std::fs::write(notes.join("hidden.md"), "+++\ntitle = \"Hidden\"\nweight = 4\nrender = false\n+++\n").unwrap();
    let out = tempfile::tempdir().unwrap();
    build_into(site.path(), out.path()).success();
    let out = out.path();
    assert!(read(out, "notes/untitled/index.html").contains("<h1></h1>"), "no title made from the file name");
    let list = class(&read(out, "notes/index.html"), "section-pages");
    assert!(list.ends_with("<li></li></ul>") && !list.contains("Hidden"), "{list}");
    assert!(!out.join("notes/hidden").exists(), "render = false");
}

#[test]
fn a_zola_site_with_its_own_look_and_no_404_template_gets_zolas_plain_404() {
    let out = built();
    assert_eq!(read(out.path(), "404.html"), "<!doctype html>\n<title>404 Not Found</title>\n<h1>404 Not Found</h1>\n");
}

#[test]
fn terms_spelt_in_different_cases_show_the_first_spelling_in_byte_order_as_in_zola() {
    let site = copy_fixture(FIXTURE);
    let first = "+++\ntitle = \"Zero\"\ndate = 2023-01-01\n[taxonomies]\ntags = [\"rust\"]\n+++\n";
    std::fs::write(site.path().join("content/blog/0-first.md"), first).unwrap();
    let out = tempfile::tempdir().unwrap();
    build_into(site.path(), out.path()).success();
    let list = read(out.path(), "tags/index.html");
    assert!(list.contains(">Rust</a> (3)") && !list.contains(">rust<"), "{list}");
}

#[test]
fn an_error_after_a_multi_line_markdown_shortcode_names_the_authors_line() {
    let site = copy_fixture(FIXTURE);
    std::fs::write(site.path().join("templates/shortcodes/three.md"), "x\n\ny\n\nz").unwrap();
    // Line 6 of the file: the fence is lines 1-4, the call line 5.
    let page = "+++\ntitle = \"Lines\"\nweight = 5\n+++\n{{ three() }}\n[broken](@/notes/n1.md#nowhere)\n";
    std::fs::write(site.path().join("content/notes/lines.md"), page).unwrap();
    let out = tempfile::tempdir().unwrap();
    build_into(site.path(), out.path())
        .failure()
        .stderr(predicate::str::contains("content/notes/lines.md:6").and(predicate::str::contains("#nowhere")));
}

/// Fields few templates read are built only for templates that name them;
/// one reached by a name the templates never write is still there.
#[test]
fn a_field_read_by_a_computed_name_is_there() {
    let site = copy_fixture(FIXTURE);
    let page = "{% set field = \"ance\" ~ \"stors\" %}<p class=\"computed\">{{ page[field] | join(sep=\",\") }}</p>\n";
    std::fs::write(site.path().join("templates/page.html"), page).unwrap();
    let out = tempfile::tempdir().unwrap();
    build_into(site.path(), out.path()).success().stderr("");
    assert_eq!(class(&read(out.path(), "blog/a/index.html"), "computed"), "_index.md,blog/_index.md</p>");
}

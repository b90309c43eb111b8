use predicates::prelude::*;

use crate::util::{bengal, build_fixture, copy_fixture, fixture, read};

#[test]
fn quickstart_builds_with_a_one_line_summary() {
    let out = tempfile::tempdir().unwrap();
    bengal()
        .args(["build", "--root"])
        .arg(fixture("quickstart"))
        .arg("--output")
        .arg(out.path())
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"^✓ Built 11 pages, 3 sections, 3 assets in \d+ ms → .+/\n$").unwrap());
}

#[test]
fn pretty_urls_sections_taxonomies_and_generated_files() {
    let out = build_fixture("quickstart");
    for file in [
        "index.html",
        "blog/index.html",
        "blog/page/2/index.html",
        "blog/hello-bengal/index.html",
        "blog/bengal-0-2/index.html",
        "blog/gallery/index.html",
        "blog/gallery/sunset.png",
        "docs/index.html",
        "docs/configuration/index.html",
        "tags/index.html",
        "tags/markdown/index.html",
        "sitemap.xml",
        "atom.xml",
        "robots.txt",
        "404.html",
        "theme.css",
        "syntax.css",
        "images/logo.svg",
        "favicon.svg",
        "old-hello/index.html",
    ] {
        assert!(out.path().join(file).is_file(), "missing {file}");
    }
}

#[test]
fn drafts_only_with_the_flag() {
    let out = build_fixture("quickstart");
    assert!(!out.path().join("blog/roadmap/index.html").exists());
    assert!(!read(out.path(), "sitemap.xml").contains("roadmap"));

    let with_drafts = tempfile::tempdir().unwrap();
    bengal()
        .args(["build", "--drafts", "--root"])
        .arg(fixture("quickstart"))
        .arg("--output")
        .arg(with_drafts.path())
        .assert()
        .success();
    assert!(with_drafts.path().join("blog/roadmap/index.html").is_file());
}

#[test]
fn internal_links_resolve_to_pretty_urls() {
    let out = build_fixture("quickstart");
    let content = read(out.path(), "docs/content/index.html");
    assert!(content.contains("href=\"/docs/configuration/#markdown-options\""), "{content}");
}

#[test]
fn code_is_highlighted_with_classes_not_inline_styles() {
    let out = build_fixture("quickstart");
    let page = read(out.path(), "docs/architecture/index.html");
    assert!(page.contains("<pre class=\"code\" data-lang=\"rust\">"));
    assert!(page.contains("class=\"hl-"));
    assert!(!page.contains("style=\"color"));
    assert!(read(out.path(), "syntax.css").contains("prefers-color-scheme: dark"));
}

#[test]
fn alias_redirects_to_the_page() {
    let out = build_fixture("quickstart");
    let alias = read(out.path(), "old-hello/index.html");
    assert!(alias.contains("url=/blog/hello-bengal/"), "{alias}");
    assert!(alias.contains("rel=\"canonical\" href=\"https://example.org/blog/hello-bengal/\""));
}

#[test]
fn feed_and_sitemap_use_permalinks() {
    let out = build_fixture("quickstart");
    let feed = read(out.path(), "atom.xml");
    assert!(feed.contains("<id>https://example.org/blog/hello-bengal/</id>"), "{feed}");
    assert!(feed.contains("<published>2024-01-08T00:00:00Z</published>"));
    let sitemap = read(out.path(), "sitemap.xml");
    assert!(sitemap.contains("<loc>https://example.org/docs/configuration/</loc>"));
    assert!(read(out.path(), "robots.txt").contains("Sitemap: https://example.org/sitemap.xml"));
}

#[test]
fn docs_list_by_weight_blog_by_date() {
    let out = build_fixture("quickstart");
    let docs = read(out.path(), "docs/index.html");
    let order: Vec<usize> = ["/docs/installation/", "/docs/configuration/", "/docs/content/", "/docs/templates/"]
        .iter()
        // The list comes after the section's own text, which may link to the same pages.
        .map(|path| docs.rfind(&format!("href=\"{path}\"")).unwrap_or_else(|| panic!("{path} not listed")))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "docs not in weight order: {order:?}");
    let blog = read(out.path(), "blog/index.html");
    let newest = blog.find("href=\"/blog/deploying-to-github-pages/\"").expect("newest post listed");
    let older = blog.find("href=\"/blog/bengal-0-2/\"").expect("older post listed");
    assert!(newest < older);
}

#[test]
fn a_failed_build_leaves_the_previous_output() {
    let site = copy_fixture("quickstart");
    bengal().args(["build", "--root"]).arg(site.path()).assert().success();
    let before = read(&site.path().join("public"), "blog/hello-bengal/index.html");
    std::fs::write(site.path().join("content/blog/hello-bengal.md"), "+++\ntitle = \"broken\n+++\n").unwrap();
    bengal().args(["build", "--root"]).arg(site.path()).assert().code(1);
    assert_eq!(read(&site.path().join("public"), "blog/hello-bengal/index.html"), before);
    let leftovers: Vec<_> = std::fs::read_dir(site.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("staging") || name.contains(".old-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn generated_html_has_no_live_reload_script() {
    let out = build_fixture("quickstart");
    assert!(!read(out.path(), "index.html").contains("livereload"));
}

//! A site written for Zola builds as it is: its `config.toml` in Zola's
//! format (with one warning for what Bengal does not do yet), its front
//! matter, its URLs.

use predicates::prelude::*;

use crate::util::{build_into, fixture};

#[test]
fn a_zola_site_builds_with_zolas_urls_and_one_warning() {
    let out = tempfile::tempdir().unwrap();
    build_into(&fixture("zola-site"), out.path())
        .success()
        .stdout(predicate::str::contains("Read config.toml (Zola's configuration)"))
        .stderr(
            "warning: theme `even` is not in themes/even/ (a git submodule not checked out?); \
             Bengal's built-in theme renders the site instead\n",
        );
    for page in [
        "blog/dated-post/index.html",
        "elsewhere/moved/index.html",
        "about/index.html",
        "Guides/first-steps/index.html",
        "about/img/portrait.png",
        "tags/rust/index.html",
        "categories/notes/index.html",
        "sitemap.xml",
        "robots.txt",
    ] {
        assert!(out.path().join(page).is_file(), "{page} is missing");
    }
    assert!(!out.path().join("atom.xml").exists(), "generate_feeds = false writes no feed");
    let read = |path: &str| std::fs::read_to_string(out.path().join(path)).unwrap_or_default();
    let post = read("blog/dated-post/index.html");
    assert!(post.contains("A dated post") && !post.contains("+++"), "front matter after blank lines was read");
    assert!(post.contains("2016-10-08") || post.contains("October"), "dated by its file name");
    assert!(post.contains("class=\"anchor\"") || post.contains("href=\"#"), "insert_anchor_links = left: anchors");
    assert!(
        post.contains("<span class=\"line hl\"><span class=\"ln\">2</span>") && post.contains("hl-toml"),
        "```toml,linenos,hl_lines=2 is highlighted, numbered and marked"
    );
}

#[test]
fn zolas_section_keys_are_honoured() {
    let out = tempfile::tempdir().unwrap();
    build_into(&fixture("zola-site"), out.path()).success();
    let read = |path: &str| std::fs::read_to_string(out.path().join(path)).unwrap_or_default();
    // sort_by = "title", paginate_by = 1, paginate_path = "p": "A dated post" first, "Moved" on /blog/p/2/.
    assert!(read("blog/index.html").contains("A dated post"));
    assert!(read("blog/p/2/index.html").contains("Moved"), "paginate_path");
    let feed = read("blog/atom.xml");
    assert!(feed.contains("<author><name>Lin</name></author>"), "the section's generate_feeds, with authors: {feed}");
    assert!(!feed.contains("[object]"));
    assert!(read("posts/index.html").contains("url=/blog/"), "the section's aliases");
    assert!(read("old/index.html").contains("url=/blog/"), "redirect_to");
    assert!(!out.path().join("archive/index.html").exists(), "render = false");
    assert!(out.path().join("archive/old-news/index.html").is_file(), "its pages still are");
    let home = read("index.html");
    assert!(
        home.contains(">Pages<") && home.contains("Old news"),
        "transparent: the home page lists its pages as its own"
    );
    assert!(!out.path().join("drafts").exists(), "a draft section leaves out its pages");
}

#[test]
fn terms_that_would_share_a_url_are_an_error_naming_both() {
    let site = crate::util::copy_fixture("quickstart");
    let blog = site.path().join("content/blog");
    std::fs::write(blog.join("cpp.md"), "+++\ntitle = \"C++\"\ntags = [\"C++\"]\n+++\n").unwrap();
    std::fs::write(blog.join("c.md"), "+++\ntitle = \"C\"\ntags = [\"c\", \"Rust\"]\n+++\n").unwrap();
    let out = tempfile::tempdir().unwrap();
    build_into(site.path(), out.path()).code(1).stderr(
        predicate::str::contains("`C++`")
            .and(predicate::str::contains("`c`"))
            .and(predicate::str::contains("/tags/c/")),
    );
}

#[test]
fn markdown_inside_a_page_bundle_is_content_never_a_raw_file() {
    let site = crate::util::copy_fixture("quickstart");
    let bundle = site.path().join("content/blog/gallery");
    std::fs::write(bundle.join("notes.md"), "+++\ntitle = \"Notes\"\n+++\nNotes about the gallery.\n").unwrap();
    std::fs::create_dir_all(bundle.join("more/img")).unwrap();
    std::fs::write(bundle.join("more/_index.md"), "+++\ntitle = \"More\"\n+++\n").unwrap();
    std::fs::write(bundle.join("more/img/pic.png"), "png").unwrap();
    let out = tempfile::tempdir().unwrap();
    build_into(site.path(), out.path()).success();
    assert!(std::fs::read_to_string(out.path().join("blog/gallery/notes/index.html")).unwrap().contains("Notes about"));
    assert!(out.path().join("blog/gallery/more/index.html").is_file(), "a section inside a bundle");
    assert!(out.path().join("blog/gallery/more/img/pic.png").is_file(), "its own file");
    assert!(out.path().join("blog/gallery/sunset.png").is_file(), "the bundle's file");
    for raw in ["blog/gallery/notes.md", "blog/gallery/more/_index.md"] {
        assert!(!out.path().join(raw).exists(), "{raw} published raw");
    }
}

#[test]
fn a_link_to_a_heading_that_does_not_exist_names_file_line_and_the_headings() {
    let site = crate::util::copy_fixture("quickstart");
    let page = site.path().join("content/docs/content.md");
    let text = std::fs::read_to_string(&page).unwrap().replace("#markdown-options)", "#no-such-heading)");
    std::fs::write(&page, text).unwrap();
    let out = tempfile::tempdir().unwrap();
    build_into(site.path(), out.path()).code(1).stderr(
        predicate::str::contains("content/docs/content.md:")
            .and(predicate::str::contains("no-such-heading"))
            .and(predicate::str::contains("markdown-options")),
    );
}

#[test]
fn a_sites_own_base_and_macros_cannot_break_the_built_in_theme() {
    let site = crate::util::copy_fixture("quickstart");
    let templates = site.path().join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(templates.join("macros.html"), "{% macro mine() %}mine{% endmacro mine %}\n").unwrap();
    std::fs::write(templates.join("base.html"), "<html>{% block other %}{% endblock other %}</html>\n").unwrap();
    let out = tempfile::tempdir().unwrap();
    build_into(site.path(), out.path()).success();
    let page = std::fs::read_to_string(out.path().join("blog/hello-bengal/index.html")).unwrap();
    assert!(page.contains("<article") || page.contains("class=\"prose"), "the built-in page layout: {page}");
}

#[test]
fn shortcodes_render_and_escapes_stay_text() {
    let out = tempfile::tempdir().unwrap();
    build_into(&fixture("zola-site"), out.path()).success();
    let page = std::fs::read_to_string(out.path().join("blog/shortcodes/index.html")).unwrap();
    assert!(
        page.contains(
            "<div class=\"video\" data-nth=\"1\"><iframe src=\"https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ\""
        ),
        "{page}"
    );
    assert!(page.contains("<strong>Tip</strong>: Shortcodes with a <em>body</em> are Markdown."), "{page}");
    assert!(page.contains("Written as text: {{ youtube(id="), "an escaped call is text: {page}");
    assert!(!page.contains("{% note"), "no shortcode left as text");
}

#[test]
fn an_unknown_shortcode_is_an_error_with_file_and_line() {
    let site = crate::util::copy_fixture("quickstart");
    std::fs::write(
        site.path().join("content/blog/video.md"),
        "+++\ntitle = \"V\"\n+++\nIntro.\n\n{{ vimeo(id=\"1\") }}\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    build_into(site.path(), out.path()).code(1).stderr(
        predicate::str::contains("content/blog/video.md:6").and(predicate::str::contains("unknown shortcode `vimeo`")),
    );
}

#[test]
fn a_build_reports_every_error_it_finds_in_path_order() {
    let site = crate::util::copy_fixture("quickstart");
    let blog = site.path().join("content/blog");
    std::fs::write(blog.join("a-broken.md"), "+++\ntitle = \"A\"\nauthr = \"x\"\n+++\n").unwrap();
    std::fs::write(blog.join("z-broken.md"), "+++\ntitle = \"Z\"\n+++\n[x](@/nowhere.md)\n").unwrap();
    std::fs::write(site.path().join("content/docs/b-broken.md"), "+++\ndate = \"someday\"\n+++\n").unwrap();
    let out = tempfile::tempdir().unwrap();
    let assert = build_into(site.path(), out.path()).code(1);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    let a = stderr.find("content/blog/a-broken.md:3").expect(&stderr);
    let b = stderr.find("content/docs/b-broken.md:2").expect(&stderr);
    assert!(a < b, "in path order: {stderr}");
    assert!(stderr.contains("2 errors"), "{stderr}");
}

#[test]
fn a_site_that_names_no_author_anywhere_still_has_a_feed() {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir(site.path().join("content")).unwrap();
    std::fs::write(site.path().join("bengal.toml"), "title = \"x\"\nbase_url = \"https://example.org/\"\n").unwrap();
    std::fs::write(site.path().join("content/a.md"), "+++\ntitle = \"A\"\ndate = 2024-01-01\n+++\nhi\n").unwrap();
    let out = tempfile::tempdir().unwrap();
    build_into(site.path(), out.path()).success();
    let feed = std::fs::read_to_string(out.path().join("atom.xml")).unwrap();
    assert!(feed.contains("<entry>") && !feed.contains("<author>"), "{feed}");
}

#[test]
fn a_zola_sites_own_grammars_highlight_its_code_and_a_broken_one_is_named() {
    let site = tempfile::tempdir().unwrap();
    let root = site.path();
    for dir in ["content", "syntaxes/old"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    std::fs::write(
        root.join("config.toml"),
        "base_url = \"https://example.org\"\ntitle = \"Grammars\"\n\
         [markdown]\nextra_syntaxes_and_themes = [\"syntaxes/old\"]\n\
         [markdown.highlighting]\nextra_grammars = [\"syntaxes/mylang.json\"]\n",
    )
    .unwrap();
    // Zola's test_site grammar, and an older site's folder: a .sublime-syntax and a theme.
    std::fs::write(
        root.join("syntaxes/mylang.json"),
        r#"{ "name": "mylang", "scopeName": "source.mylang", "fileTypes": ["mylang"],
             "patterns": [ { "match": "\\b(if|else|for|while)\\b", "name": "keyword.control.mylang" } ] }"#,
    )
    .unwrap();
    std::fs::write(
        root.join("syntaxes/old/tiny.sublime-syntax"),
        "%YAML 1.2\n---\nname: Tiny\nscope: source.tiny\ncontexts:\n  main:\n    - match: '\\d+'\n      scope: constant.numeric.tiny\n",
    )
    .unwrap();
    std::fs::write(root.join("syntaxes/old/dark.tmTheme"), "<plist/>").unwrap();
    std::fs::write(
        root.join("content/code.md"),
        "+++\ntitle = \"Code\"\n+++\n```mylang\nif a else b\n```\n\n```tiny\nx 42\n```\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    build_into(root, out.path()).success().stderr("");
    let page = crate::util::read(out.path(), "code/index.html");
    assert!(page.contains("<span class=\"hl-keyword hl-control hl-mylang\">if</span>"), "{page}");
    assert!(page.contains("<span class=\"hl-constant hl-numeric hl-tiny\">42</span>"), "{page}");

    std::fs::write(
        root.join("syntaxes/mylang.json"),
        r#"{ "scopeName": "source.mylang", "patterns": [ { "match": "(if|else", "name": "keyword" } ] }"#,
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    build_into(root, out.path()).code(1).stderr(
        predicate::str::contains("syntaxes/mylang.json: could not be loaded as a TextMate grammar")
            .and(predicate::str::contains("(if|else")),
    );
}

#[test]
fn serve_highlights_again_when_a_grammar_outside_the_input_folders_changes() {
    use bengal_tests::events::EventStream;

    use crate::server::{DEADLINE, Server};

    let site = tempfile::tempdir().unwrap();
    let root = site.path();
    for dir in ["content", "syntaxes"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    let config =
        "base_url = \"https://example.org\"\n[markdown.highlighting]\nextra_grammars = [\"syntaxes/g.json\"]\n";
    std::fs::write(root.join("config.toml"), config).unwrap();
    let grammar = |scope: &str| {
        format!(
            r#"{{ "scopeName": "source.g", "fileTypes": ["g"], "patterns": [ {{ "match": "if", "name": "{scope}" }} ] }}"#
        )
    };
    std::fs::write(root.join("syntaxes/g.json"), grammar("keyword.g")).unwrap();
    std::fs::write(root.join("content/code.md"), "+++\ntitle = \"Code\"\n+++\n```g\nif\n```\n").unwrap();
    let server = Server::start(root, &["--port", &crate::util::free_port()]);
    assert!(server.get("/code/").body.contains("<span class=\"hl-keyword hl-g\">if</span>"));
    let mut events = EventStream::open(server.port, DEADLINE).unwrap();
    std::fs::write(root.join("syntaxes/g.json"), grammar("string.g")).unwrap();
    assert_eq!(events.next_event().unwrap().0, "update");
    let page = server.get("/code/").body;
    assert!(page.contains("<span class=\"hl-string hl-g\">if</span>"), "{page}");
    server.stop();
}

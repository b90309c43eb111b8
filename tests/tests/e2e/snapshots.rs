//! Rendered HTML of a few quickstart pages: the `<main>` element, where
//! content meets templates.

use crate::util::{build_fixture, read};

fn main_element(html: &str) -> &str {
    let start = html.find("<main").expect("page has <main>");
    let end = html.find("</main>").expect("page has </main>") + "</main>".len();
    &html[start..end]
}

#[test]
fn page_with_code_and_table() {
    let out = build_fixture("quickstart");
    insta::assert_snapshot!(main_element(&read(out.path(), "docs/configuration/index.html")));
}

#[test]
fn blog_post_with_footnote_and_tasks() {
    let out = build_fixture("quickstart");
    insta::assert_snapshot!(main_element(&read(out.path(), "blog/writing-in-markdown/index.html")));
}

#[test]
fn paginated_section() {
    let out = build_fixture("quickstart");
    insta::assert_snapshot!(main_element(&read(out.path(), "blog/page/2/index.html")));
}

#[test]
fn term_page() {
    let out = build_fixture("quickstart");
    insta::assert_snapshot!(main_element(&read(out.path(), "tags/markdown/index.html")));
}

/// The site navigation of the home page, a section and a page in it: the
/// section is the current page on its own page and the current place below.
#[test]
fn navigation_marks_the_current_section() {
    let out = build_fixture("quickstart");
    let nav = |page: &str| {
        let html = read(out.path(), page);
        let start = html.find("<nav class=\"site-nav\"").expect("page has the site's nav");
        let end = start + html[start..].find("</nav>").expect("nav ends") + "</nav>".len();
        format!("{page}:\n{}", &html[start..end])
    };
    let pages = ["index.html", "blog/index.html", "blog/hello-bengal/index.html"];
    insta::assert_snapshot!(pages.map(nav).join("\n"));
}

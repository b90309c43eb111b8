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

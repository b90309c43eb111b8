//! What an author sees of `bengal serve` in a real browser (headless
//! Chromium through `bengal_tests::browser`): a clean page, saves patched in
//! place without a reload, stylesheets swapped, the error overlay legible
//! whatever the site's CSS and gone after the fix, a tab live again after a
//! restart, and two tabs each told only what concerns them.

use std::time::Duration;

use bengal_tests::browser::{Browser, Tab};
use bengal_tests::poll;
use serde_json::json;

use crate::server::{DEADLINE, Server};
use crate::util::{copy_fixture, free_port};

/// A page of the quickstart with what a reader changes: a form field, a
/// `<details>`, and enough text to scroll.
const PAGE: &str = "+++\ntitle = \"Live\"\ndescription = \"A page to edit.\"\n+++\n\
    First paragraph.\n\n<details id=\"more\"><summary>More</summary><p>Hidden text.</p></details>\n\n\
    <input id=\"field\" value=\"\">\n\nLAST LINE\n";

/// CSS that would make an overlay styled by the page unreadable: the
/// page's code-block background under near-white text, everywhere.
const HOSTILE_CSS: &str = "* { color: rgb(245, 245, 245) !important; background: rgb(245, 245, 243) !important; \
    font-size: 2px !important; } pre { display: none !important; }";

struct Live {
    site: tempfile::TempDir,
    server: Server,
    browser: Browser,
}

impl Live {
    /// The quickstart with [`PAGE`] at `/live/` and a long body, served, and
    /// a browser.
    fn start() -> Live {
        let site = copy_fixture("quickstart");
        let filler: String = (0..80).map(|n| format!("Filler paragraph number {n}.\n\n")).collect();
        std::fs::write(site.path().join("content/live.md"), PAGE.replace("LAST LINE", &(filler + "LAST LINE")))
            .unwrap();
        let server = Server::start(site.path(), &["--port", &free_port()]);
        Live { site, server, browser: Browser::launch() }
    }

    fn url(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.server.port)
    }

    /// A tab on `path` whose live-reload stream is open.
    fn open(&self, path: &str) -> Tab {
        let tab = self.browser.open(&self.url(path));
        wait_for_streams(&tab, 1);
        tab
    }

    fn edit(&self, relative: &str, from: &str, to: &str) {
        edit(&self.site.path().join(relative), from, to);
    }

    fn stop(self) {
        drop(self.browser);
        self.server.stop();
    }
}

fn edit(path: &std::path::Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from:?} not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// Waits until the tab has had `count` live-reload streams answered (one
/// per load), so that what a test saves next reaches it as it is open.
fn wait_for_streams(tab: &Tab, count: usize) {
    let streams = || {
        let responses = tab.responses();
        responses.iter().filter(|(url, status)| url.contains("/__bengal/livereload?") && *status == 200).count()
    };
    poll::until(DEADLINE, || (streams() >= count).then_some(()))
        .unwrap_or_else(|| panic!("live-reload stream {count} did not open: {:#?}", tab.responses()));
}

/// The WCAG contrast ratio of two `rgb(…)`/`rgba(…)` colours.
fn contrast(a: &str, b: &str) -> f64 {
    let luminance = |color: &str| {
        let parts: Vec<f64> = color
            .trim_start_matches("rgba(")
            .trim_start_matches("rgb(")
            .trim_end_matches(')')
            .split(',')
            .map(|p| p.trim().parse().unwrap())
            .collect();
        let channel = |c: f64| {
            let c = c / 255.0;
            if c <= 0.03928 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
        };
        0.2126 * channel(parts[0]) + 0.7152 * channel(parts[1]) + 0.0722 * channel(parts[2])
    };
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

#[test]
fn a_page_loads_with_no_console_error_and_no_failed_request() {
    let live = Live::start();
    let tab = live.open("/live/");
    // The icon is asked for after the load: wait until it was answered.
    tab.wait_for("performance.getEntriesByType('resource').some(e => e.name.endsWith('/favicon.svg'))", DEADLINE)
        .unwrap();
    assert_eq!(tab.console_errors(), Vec::<String>::new());
    assert_eq!(tab.failed_requests(), Vec::<String>::new());
    live.stop();
}

#[test]
fn a_save_patches_the_page_in_place_keeping_scroll_focus_details_and_input() {
    let live = Live::start();
    let tab = live.open("/live/");
    tab.set_viewport(800, 400).unwrap();
    tab.eval(
        "window.marker = 'kept'; document.getElementById('more').open = true; \
         const field = document.getElementById('field'); field.value = 'typed'; field.focus(); \
         scrollTo(0, 600); true",
    )
    .unwrap();
    assert_eq!(tab.eval("scrollY").unwrap(), json!(600));

    live.edit("content/live.md", "First paragraph.", "First paragraph, edited.");
    tab.wait_for("document.body.textContent.includes('First paragraph, edited.')", DEADLINE).unwrap();
    let kept = tab
        .eval(
            "[window.marker, scrollY, document.getElementById('more').open, \
              document.getElementById('field').value, document.activeElement.id]",
        )
        .unwrap();
    assert_eq!(kept, json!(["kept", 600, true, "typed", "field"]));
    assert_eq!(tab.loads(), 1, "patched, not reloaded");

    // A paragraph added and one removed are patched in as well.
    live.edit("content/live.md", "Filler paragraph number 3.", "A new paragraph.\n\nFiller paragraph number 3.");
    live.edit("content/live.md", "Filler paragraph number 7.\n\n", "");
    tab.wait_for(
        "document.body.textContent.includes('A new paragraph.') && \
         !document.body.textContent.includes('number 7.')",
        DEADLINE,
    )
    .unwrap();
    assert_eq!(tab.eval("window.marker").unwrap(), json!("kept"));

    // A change to <head> other than the title or stylesheets reloads.
    live.edit("content/live.md", "A page to edit.", "A page edited.");
    tab.wait_for_load_count(2, DEADLINE).unwrap();
    assert_eq!(tab.eval("window.marker === undefined").unwrap(), json!(true));
    assert_eq!(tab.console_errors(), Vec::<String>::new());
    live.stop();
}

#[test]
fn a_tab_on_a_missing_page_shows_the_page_once_it_is_written() {
    let live = Live::start();
    let tab = live.browser.open(&live.url("/coming/"));
    wait_for_streams(&tab, 1);
    std::fs::write(live.site.path().join("content/coming.md"), "+++\ntitle = \"Coming\"\n+++\nIt is here now.\n")
        .unwrap();
    tab.wait_for("document.body.textContent.includes('It is here now.')", DEADLINE).unwrap();
    live.stop();
}

#[test]
fn a_css_save_restyles_the_page_without_a_reload() {
    let live = Live::start();
    let tab = live.open("/live/");
    tab.eval("window.marker = 'kept'").unwrap();
    let theme = live.site.path().join("static/theme.css");
    // The first save of a stylesheet that overrides the built-in one.
    std::fs::write(&theme, "body { background: rgb(1, 2, 3); }\n").unwrap();
    tab.wait_for("getComputedStyle(document.body).backgroundColor === 'rgb(1, 2, 3)'", DEADLINE).unwrap();
    std::fs::write(&theme, "body { background: rgb(4, 5, 6); }\n").unwrap();
    tab.wait_for("getComputedStyle(document.body).backgroundColor === 'rgb(4, 5, 6)'", DEADLINE).unwrap();
    assert_eq!((tab.loads(), tab.eval("window.marker").unwrap()), (1, json!("kept")));
    tab.wait_for("document.querySelectorAll('link[rel=stylesheet][href*=\"theme.css\"]').length === 1", DEADLINE)
        .unwrap();
    live.stop();
}

#[test]
fn a_css_save_while_the_last_is_still_loading_leaves_one_link() {
    let live = Live::start();
    let tab = live.open("/live/");
    let links = "document.querySelectorAll('link[rel=stylesheet][href*=\"theme.css\"]').length";
    let theme = live.site.path().join("static/theme.css");
    std::fs::write(&theme, "body { background: rgb(1, 2, 3); }\n").unwrap();
    tab.wait_for("getComputedStyle(document.body).backgroundColor === 'rgb(1, 2, 3)'", DEADLINE).unwrap();
    tab.wait_for(&format!("{links} === 1"), DEADLINE).unwrap();
    // Each fresh copy now loads for 3 s: the next save comes while
    // the copy of this one is still loading beside the old link.
    tab.delay_requests(Duration::from_secs(3)).unwrap();
    std::fs::write(&theme, "body { background: rgb(4, 5, 6); }\n").unwrap();
    tab.wait_for(&format!("{links} === 2"), DEADLINE).unwrap();
    std::fs::write(&theme, "body { background: rgb(7, 8, 9); }\n").unwrap();
    tab.wait_for("getComputedStyle(document.body).backgroundColor === 'rgb(7, 8, 9)'", DEADLINE).unwrap();
    tab.wait_for(&format!("{links} === 1"), DEADLINE).unwrap();
    assert_eq!(tab.loads(), 1);
    live.stop();
}

#[test]
fn a_patch_while_a_stylesheet_is_being_swapped_does_not_reload() {
    let live = Live::start();
    let tab = live.open("/live/");
    // A swap in flight: the fresh copy of the stylesheet beside the old one
    // until it has loaded, as when one build changed the page and its CSS.
    tab.eval(
        "window.marker = 'kept'; const old = document.querySelector('link[rel=stylesheet][href*=\"theme.css\"]'); \
         const fresh = old.cloneNode(); fresh.href = old.href + '?bengal=1'; old.after(fresh); true",
    )
    .unwrap();
    live.edit("content/live.md", "First paragraph.", "First paragraph, patched mid-swap.");
    tab.wait_for("document.body.textContent.includes('patched mid-swap')", DEADLINE).unwrap();
    assert_eq!((tab.loads(), tab.eval("window.marker").unwrap()), (1, json!("kept")));
    live.stop();
}

#[test]
fn the_error_overlay_is_legible_on_any_site_dismissable_and_gone_after_the_fix() {
    let live = Live::start();
    std::fs::write(live.site.path().join("static/theme.css"), HOSTILE_CSS).unwrap();
    let tab = live.open("/live/");
    tab.wait_for("getComputedStyle(document.body).fontSize === '2px'", DEADLINE).unwrap();

    live.edit("content/live.md", "title = \"Live\"", "title = \"Live");
    let overlay = "document.querySelector('bengal-error-overlay')?.shadowRoot";
    tab.wait_for(&format!("{overlay}?.querySelector('.message')"), DEADLINE).unwrap();
    let shown = tab
        .eval(&format!(
            "(() => {{ const root = {overlay}; const text = s => root.querySelector(s).textContent; \
             const message = root.querySelector('.message'); const style = getComputedStyle(message); \
             const panel = getComputedStyle(root.querySelector('.panel')); \
             return {{ file: text('.file'), message: text('.message'), hint: text('.hint'), \
                       marked: text('.line.at'), caret: text('.caret'), color: style.color, size: style.fontSize, \
                       background: panel.backgroundColor, visible: message.getBoundingClientRect().height > 0 }}; }})()"
        ))
        .unwrap();
    assert_eq!(shown["file"], json!("content/live.md:2:14"), "{shown}");
    assert!(shown["marked"].as_str().unwrap().contains("title = \"Live"), "{shown}");
    assert_eq!(shown["caret"], json!(format!("{}^", " ".repeat(13))), "under column 14");
    assert!(!shown["message"].as_str().unwrap().is_empty() && shown["visible"] == json!(true), "{shown}");
    assert!(shown["hint"].as_str().unwrap().starts_with("help: "), "{shown}");
    assert_eq!(shown["size"], json!("14px"), "the page's CSS does not reach the overlay");
    let ratio = contrast(shown["color"].as_str().unwrap(), shown["background"].as_str().unwrap());
    assert!(ratio >= 7.0, "contrast {ratio:.1} of {shown}");

    // Esc dismisses it; the next failed build shows it again.
    tab.eval("document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true })); true").unwrap();
    tab.wait_for("!document.querySelector('bengal-error-overlay')", DEADLINE).unwrap();
    live.edit("content/live.md", "First paragraph.", "First paragraph, still broken.");
    tab.wait_for(&format!("{overlay}?.querySelector('.message')"), DEADLINE).unwrap();

    live.edit("content/live.md", "title = \"Live", "title = \"Live\"");
    tab.wait_for("!document.querySelector('bengal-error-overlay')", DEADLINE).unwrap();
    tab.wait_for("document.body.textContent.includes('still broken')", DEADLINE).unwrap();
    assert_eq!(tab.loads(), 1);
    live.stop();
}

#[test]
fn the_overlay_lists_every_error_of_a_build() {
    let live = Live::start();
    let tab = live.open("/live/");
    live.edit("content/live.md", "title = \"Live\"", "title = \"Live");
    live.edit("content/blog/why-static.md", "date = 2024-01-22", "date = \"soon");
    let count = "document.querySelector('bengal-error-overlay')?.shadowRoot.querySelectorAll('.error').length";
    tab.wait_for(&format!("{count} === 2"), DEADLINE).unwrap();
    let files = tab
        .eval(
            "[...document.querySelector('bengal-error-overlay').shadowRoot.querySelectorAll('.file')]\
             .map(f => f.textContent.split(':')[0])",
        )
        .unwrap();
    assert_eq!(files, json!(["content/blog/why-static.md", "content/live.md"]));
    live.stop();
}

#[test]
fn after_a_restart_the_tab_is_live_again_and_reloads_once() {
    let Live { site, server, browser } = Live::start();
    let port = server.port.to_string();
    let tab = browser.open(&format!("http://localhost:{port}/live/"));
    wait_for_streams(&tab, 1);
    server.stop();
    let server = Server::start(site.path(), &["--port", &port]);
    tab.wait_for_load_count(2, DEADLINE).unwrap();
    wait_for_streams(&tab, 2);
    edit(&site.path().join("content/live.md"), "First paragraph.", "First paragraph, after the restart.");
    tab.wait_for("document.body.textContent.includes('after the restart')", DEADLINE).unwrap();
    assert_eq!(tab.loads(), 2, "one reload, then patched in place");
    drop(browser);
    server.stop();
}

#[test]
fn two_tabs_on_different_pages_each_get_what_concerns_them() {
    let live = Live::start();
    let edited = live.open("/live/");
    let other = live.open("/blog/why-static/");
    let record = "window.actions = []; addEventListener('bengal:update', e => actions.push(e.detail.action)); true";
    edited.eval(record).unwrap();
    other.eval(record).unwrap();
    live.edit("content/live.md", "First paragraph.", "First paragraph, for one tab.");
    edited.wait_for("document.body.textContent.includes('for one tab')", DEADLINE).unwrap();
    // Both were told of the build; only the edited page had anything to do.
    other.wait_for("actions.length === 1", DEADLINE).unwrap();
    assert_eq!(edited.eval("actions").unwrap(), json!(["patch"]));
    assert_eq!(other.eval("actions").unwrap(), json!(["none"]));
    let fetched = other.responses().iter().filter(|(url, _)| url.ends_with("/blog/why-static/")).count();
    assert_eq!((fetched, other.loads(), edited.loads()), (1, 1, 1));
    live.stop();
}

//! What an author waits for in the browser, measured in headless Chromium
//! on the bench site: a save until the new text is painted in the open
//! tab, a stylesheet save until the page is restyled (the first save of a
//! new `static/theme.css` that overrides the built-in one apart), and a
//! restarted server, once it serves again, until the open tab has reloaded.
//!
//! Each time is taken inside the page (`Date.now()` when the change is
//! painted, or when the reloaded page started) against the wall clock of
//! the save here, so polling the page adds nothing to it.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bengal_tests::browser::{Browser, Tab};

use super::{Serving, WAIT};
/// The browser figures of one run.
pub struct BrowserTimes {
    /// Save to new text painted, per edit.
    pub text: Vec<Duration>,
    /// First save of a new `static/theme.css` to the page restyled.
    pub first_css: Duration,
    /// Later saves of it to the page restyled.
    pub css: Vec<Duration>,
    /// Server serving again after a restart (its banner) to the open tab
    /// reloaded (its load event).
    pub restart: Duration,
}

fn now_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64() * 1000.0
}

/// The page's `window[name]` (an epoch time in ms, set by the page) minus
/// `since`, once it is set.
fn page_time(tab: &Tab, name: &str, since: f64) -> Result<Duration, String> {
    let at = tab.wait_for(&format!("window.{name}"), WAIT)?;
    let at = at.as_f64().ok_or_else(|| format!("{name} is not a time: {at}"))?;
    Ok(Duration::from_secs_f64(((at - since) / 1000.0).max(0.0)))
}

/// Records in the page when `window.wanted` text is painted
/// (`window.textAt`), and when a stylesheet swapped in has loaded
/// (`window.cssAt`).
const WATCH: &str = "
    window.wanted = null; window.textAt = 0; window.cssAt = 0;
    new MutationObserver(() => {
      if (wanted && !textAt && document.body.textContent.includes(wanted)) {
        const seen = wanted;
        requestAnimationFrame(() => { if (wanted === seen) textAt = Date.now(); });
      }
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
    new MutationObserver((records) => {
      for (const record of records) for (const node of record.addedNodes) {
        if (node.rel === 'stylesheet') node.addEventListener('load', () => { cssAt = Date.now(); });
      }
    }).observe(document.head, { childList: true });
    true";

/// Serves `site`, opens one of its pages in Chromium, and times `edits`
/// saves of that page, `edits` saves of `static/theme.css` and a restart.
pub fn run(bengal: &Path, site: &Path, page: &Path, url_path: &str, edits: usize) -> Result<BrowserTimes, String> {
    let theme = site.join("static/theme.css");
    // The first save of the override is a new file in a new folder.
    if site.join("static").exists() {
        std::fs::remove_dir_all(site.join("static")).map_err(|err| format!("could not clear static/: {err}"))?;
    }
    let port = bengal_tests::free_port().map_err(|err| format!("no free port: {err}"))?;
    let server = Serving::start(bengal, site, port)?;
    let browser = Browser::try_launch()?;
    let tab = browser.try_open(&format!("http://localhost:{port}{url_path}"))?;
    tab.eval(WATCH)?;

    let original = std::fs::read_to_string(page).map_err(|err| format!("{}: {err}", page.display()))?;
    let mut text = Vec::with_capacity(edits);
    for edit in 0..edits {
        let wanted = format!("Browser edit number {edit}.");
        tab.eval(&format!("window.wanted = {wanted:?}; window.textAt = 0; true"))?;
        let saved = now_ms();
        std::fs::write(page, format!("{original}\n{wanted}\n")).map_err(|err| format!("{}: {err}", page.display()))?;
        text.push(page_time(&tab, "textAt", saved)?);
    }
    std::fs::write(page, &original).map_err(|err| format!("{}: {err}", page.display()))?;

    let mut css_save = |shade: usize| -> Result<Duration, String> {
        tab.eval("window.cssAt = 0; true")?;
        let saved = now_ms();
        std::fs::create_dir_all(site.join("static")).map_err(|err| format!("static/: {err}"))?;
        std::fs::write(&theme, format!("body {{ background: rgb({shade}, 1, 1); }}\n"))
            .map_err(|err| format!("{}: {err}", theme.display()))?;
        let took = page_time(&tab, "cssAt", saved)?;
        let restyled = format!("getComputedStyle(document.body).backgroundColor === 'rgb({shade}, 1, 1)'");
        tab.wait_for(&restyled, WAIT)?;
        Ok(took)
    };
    let first_css = css_save(0)?;
    let css = (1..=edits).map(&mut css_save).collect::<Result<Vec<_>, _>>()?;
    std::fs::remove_dir_all(site.join("static")).map_err(|err| format!("could not clear static/: {err}"))?;
    // Rebuilt and recorded before the stop: the restart is on an unchanged site.
    tab.wait_for(&format!("getComputedStyle(document.body).backgroundColor !== 'rgb({edits}, 1, 1)'"), WAIT)?;

    drop(server);
    let loads = tab.loads();
    let server = Serving::start(bengal, site, port)?;
    // Serving again: the banner is printed once the site is built.
    let serving = now_ms();
    tab.wait_for_load_count(loads + 1, WAIT)?;
    let loaded = "performance.timeOrigin + performance.getEntriesByType('navigation')[0].loadEventEnd";
    tab.wait_for(&format!("{loaded} > performance.timeOrigin"), WAIT)?;
    let loaded = tab.eval(loaded)?.as_f64().ok_or("no load time")?;
    let restart = Duration::from_secs_f64(((loaded - serving) / 1000.0).max(0.0));
    drop(tab);
    drop(browser);
    drop(server);
    Ok(BrowserTimes { text, first_css, css, restart })
}

//! The headless-Chromium driver (`bengal_tests::browser`) itself, against a
//! tiny HTTP server each test starts on 127.0.0.1: what a page reports,
//! evaluation, waits, two tabs, load counts, and that a dropped browser
//! leaves no process, port or directory. (`live.rs` drives `bengal serve`.)

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bengal_tests::browser::{self, Browser};
use bengal_tests::{poll, ports};
use serde_json::json;

use crate::server::DEADLINE;
use crate::util::free_port;

/// A page with an error in its console, an exception thrown later, and an
/// image that is missing.
const BROKEN_PAGE: &str = "<!doctype html><html><head><title>broken</title></head><body>\
    <h1>Broken</h1><img src=\"/missing.png\" alt=\"\">\
    <script>console.error('boom from the page', 42); setTimeout(() => { throw new Error('thrown later'); }, 0);</script>\
    </body></html>";

/// A page with nothing wrong but its missing favicon.
const PLAIN_PAGE: &str = "<!doctype html><html><head><title>plain</title></head><body><p id=\"p\">plain</p>\
    <script>window.loadedAt = performance.now();</script></body></html>";

/// A small HTTP/1.1 server on 127.0.0.1 (a port the kernel picks): `/` is
/// [`BROKEN_PAGE`], `/plain` is [`PLAIN_PAGE`], `/favicon.ico` an empty 200
/// if the site has a favicon, anything else a 404.
/// Each connection gets a thread that answers one request and closes; every
/// thread ends when the server is dropped (a connection that sends nothing
/// gives up after a few seconds).
struct Site {
    port: u16,
    requested: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<Vec<JoinHandle<()>>>>,
}

impl Site {
    fn start(favicon: bool) -> Site {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind 127.0.0.1:0");
        let port = listener.local_addr().unwrap().port();
        let requested = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, stopping) = (requested.clone(), stop.clone());
        let acceptor = std::thread::spawn(move || {
            let mut handlers = Vec::new();
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let log = log.clone();
                handlers.push(std::thread::spawn(move || answer(stream, &log, favicon)));
            }
            handlers
        });
        Site { port, requested, stop, acceptor: Some(acceptor) }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn requested(&self) -> Vec<String> {
        self.requested.lock().unwrap().clone()
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the acceptor, which sees the flag and stops.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(acceptor) = self.acceptor.take() {
            for handler in acceptor.join().unwrap_or_default() {
                let _ = handler.join();
            }
        }
    }
}

/// Reads one request's head (for at most a few seconds) and answers it.
fn answer(mut stream: TcpStream, log: &Mutex<Vec<String>>, favicon: bool) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buffer = [0u8; 2048];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(read) => head.extend_from_slice(&buffer[..read]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    log.lock().unwrap().push(path.clone());
    let (status, body) = match path.as_str() {
        "/" => ("200 OK", BROKEN_PAGE),
        "/plain" => ("200 OK", PLAIN_PAGE),
        "/favicon.ico" if favicon => ("200 OK", ""),
        _ => ("404 Not Found", "not found"),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
}

/// Waits until `list()` has an entry containing each of `needles`, and
/// returns it; fails the test with what it had after [`DEADLINE`].
fn wait_for_entries(what: &str, needles: &[&str], list: impl Fn() -> Vec<String>) -> Vec<String> {
    let has_all = |entries: &[String]| needles.iter().all(|needle| entries.iter().any(|entry| entry.contains(needle)));
    poll::until(DEADLINE, || Some(list()).filter(|entries| has_all(entries)))
        .unwrap_or_else(|| panic!("{what}: no entry with each of {needles:?} within {DEADLINE:?}: {:#?}", list()))
}

#[test]
fn console_errors_and_missing_resources_are_reported() {
    let site = Site::start(false);
    let browser = Browser::launch();
    let tab = browser.open(&site.url("/"));

    let errors =
        wait_for_entries("console errors", &["boom from the page 42", "thrown later"], || tab.console_errors());
    assert!(errors.iter().any(|error| error.starts_with("console.error: boom from the page 42 (http://127.0.0.1:")));
    assert!(errors.iter().any(|error| error.contains("Uncaught Error: thrown later")), "{errors:#?}");

    // Chromium asks for the favicon after the load, through the page.
    let failed = wait_for_entries("failed requests", &["/missing.png", "/favicon.ico"], || tab.failed_requests());
    assert!(failed.contains(&format!("{}: HTTP 404 Not Found", site.url("/missing.png"))), "{failed:#?}");
    assert!(failed.contains(&format!("{}: HTTP 404 Not Found", site.url("/favicon.ico"))), "{failed:#?}");
    assert_eq!(failed.len(), 2, "one entry per request: {failed:#?}");
    assert!(site.requested().contains(&"/favicon.ico".to_owned()));
    // The browser's own report of each, as the console shows it.
    let errors = wait_for_entries("console errors", &["/missing.png", "/favicon.ico"], || tab.console_errors());
    assert!(
        errors
            .iter()
            .any(|error| error.starts_with("Failed to load resource: the server responded with a status of 404"))
    );
}

#[test]
fn eval_and_wait_for() {
    let site = Site::start(true);
    let browser = Browser::launch();
    let tab = browser.open(&site.url("/plain"));

    assert_eq!(tab.eval("1 + 1").unwrap(), json!(2));
    assert_eq!(tab.eval("document.getElementById('p').textContent").unwrap(), json!("plain"));
    assert_eq!(tab.eval("({ a: [1, 'b'] })").unwrap(), json!({ "a": [1, "b"] }));
    assert_eq!(tab.eval("undefined").unwrap(), json!(null));
    assert_eq!(tab.eval("NaN").unwrap(), json!("NaN"));
    assert_eq!(tab.eval("new Promise(done => setTimeout(() => done('later'), 20))").unwrap(), json!("later"));
    let thrown = tab.eval("throw new TypeError('nope')").unwrap_err();
    assert!(thrown.contains("TypeError: nope"), "{thrown}");
    let rejected = tab.eval("Promise.reject(new Error('rejected'))").unwrap_err();
    assert!(rejected.contains("Error: rejected"), "{rejected}");

    tab.eval("setTimeout(() => { window.ready = 'yes'; }, 100); 0").unwrap();
    let started = Instant::now();
    assert_eq!(tab.wait_for("window.ready", DEADLINE).unwrap(), json!("yes"));
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert_eq!(tab.wait_for("Promise.resolve(7)", DEADLINE).unwrap(), json!(7));

    let started = Instant::now();
    let never = tab.wait_for("document.title === 'other' && 1", Duration::from_millis(200)).unwrap_err();
    assert!(never.contains("within 200 ms; last value: false"), "{never}");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    let syntax = tab.wait_for("1 +", DEADLINE).unwrap_err();
    assert!(syntax.contains("SyntaxError"), "{syntax}");

    tab.set_viewport(400, 300).unwrap();
    assert_eq!(tab.wait_for("innerWidth === 400 && [innerWidth, innerHeight]", DEADLINE).unwrap(), json!([400, 300]));
    assert!(tab.console_errors().is_empty(), "{:?}", tab.console_errors());
}

#[test]
fn two_tabs_at_once_each_with_its_own_events() {
    let site = Site::start(true);
    let browser = Browser::launch();
    let broken = browser.open(&site.url("/"));
    let plain = browser.open(&site.url("/plain"));

    assert_eq!(broken.eval("document.title").unwrap(), json!("broken"));
    assert_eq!(plain.eval("document.title").unwrap(), json!("plain"));
    wait_for_entries("the broken tab's errors", &["boom"], || broken.console_errors());
    wait_for_entries("the broken tab's failed requests", &["/missing.png"], || broken.failed_requests());
    assert!(plain.responses().contains(&(site.url("/plain"), 200)), "{:?}", plain.responses());
    assert!(plain.responses().iter().all(|(url, _)| !url.ends_with("/missing.png")), "{:?}", plain.responses());
    assert_eq!(plain.console_errors(), Vec::<String>::new());
    assert_eq!(plain.failed_requests(), Vec::<String>::new());

    plain.close().unwrap();
    assert_eq!(broken.eval("location.pathname").unwrap(), json!("/"), "the other tab still works");
}

#[test]
fn loads_counts_navigations_and_reloads() {
    let site = Site::start(true);
    let browser = Browser::launch();
    let tab = browser.open(&site.url("/plain"));
    assert_eq!(tab.loads(), 1);
    let first = tab.eval("window.loadedAt").unwrap();

    tab.reload().unwrap();
    assert_eq!(tab.loads(), 2);
    assert_ne!(tab.eval("window.loadedAt").unwrap(), first, "a new document");

    // The page reloads itself, as a live reload does.
    tab.eval("setTimeout(() => location.reload(), 0); 0").unwrap();
    tab.wait_for_load_count(3, DEADLINE).unwrap();
    tab.navigate(&site.url("/")).unwrap();
    assert_eq!(tab.loads(), 4);
    assert_eq!(tab.eval("document.title").unwrap(), json!("broken"));

    tab.navigate(&site.url("/#below")).unwrap();
    assert_eq!(tab.loads(), 4, "a new fragment loads nothing");
    let err = tab.wait_for_load_count(5, Duration::from_millis(100)).unwrap_err();
    assert!(err.contains("seen 4"), "{err}");

    let refused = tab.navigate(&format!("http://127.0.0.1:{}/", free_port())).unwrap_err();
    assert!(refused.contains("net::ERR_CONNECTION_REFUSED"), "{refused}");
}

#[test]
fn a_dropped_browser_leaves_no_process_port_or_directory() {
    let site = Site::start(true);
    let browser = Browser::launch();
    let tab = browser.open(&site.url("/plain"));
    let (pgid, port) = (browser.pgid(), browser.devtools_port());
    let dir = browser.dir().expect("a temporary directory").to_owned();
    assert!(browser::live_in_group(pgid).len() > 1, "the browser and its children share its group");
    assert!(!browser::processes_naming(&dir).is_empty());
    assert!(ports::is_listening(port));

    drop(browser);
    let err = tab.eval("1").unwrap_err();
    assert!(err.contains("closed"), "a tab outliving its browser fails: {err}");
    drop(tab);
    // Not one process of the group runs. (Its orphans stay zombies until
    // init reaps them, here within 2 s, so killpg(pgid, None) may still
    // find the group a little while: the check is on /proc.)
    assert!(browser::live_in_group(pgid).is_empty(), "{:?}", browser::live_in_group(pgid));
    assert!(browser::processes_naming(&dir).is_empty(), "{:?}", browser::processes_naming(&dir));
    assert!(!ports::is_listening(port));
    assert!(!dir.exists());
}

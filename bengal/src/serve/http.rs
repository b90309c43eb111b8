//! The HTTP side of the dev server: the built site from its output
//! directory, with the live-reload script injected into HTML on the way out.
//!
//! Nothing outside the output directory is ever served, whatever the path
//! says (`..`, encoded dots and slashes, backslashes, symlinks pointing out),
//! and a request whose `Host` is a name other than localhost or an allowed
//! host is refused, which stops DNS-rebinding pages from reading the site.

use std::net::IpAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::livereload::{self, LiveReload};
use crate::build::html::escape_html;
use crate::build::rush::Rush;

/// Told the method, path and status of every request.
pub type RequestLog = Box<dyn Fn(&str, &str, StatusCode) + Send + Sync>;

/// Shared state of every request.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    output: PathBuf,
    live: LiveReload,
    allowed_hosts: Vec<String>,
    /// Set while no build has succeeded yet: every page shows this error.
    first_build_error: RwLock<Option<crate::Error>>,
    cancel: CancellationToken,
    /// False until the first build is done; page requests wait for it.
    ready: tokio::sync::watch::Sender<bool>,
    /// Pages asked for while the first build runs, which it renders first.
    rush: Arc<Rush>,
    log: RequestLog,
}

impl AppState {
    /// State for a server of `output` (which must exist).
    pub fn new(
        output: PathBuf,
        allowed_hosts: Vec<String>,
        cancel: CancellationToken,
        rush: Arc<Rush>,
        log: RequestLog,
    ) -> AppState {
        let output = std::fs::canonicalize(&output).unwrap_or(output);
        AppState(Arc::new(Inner {
            output,
            live: LiveReload::default(),
            allowed_hosts,
            first_build_error: RwLock::new(None),
            cancel,
            ready: tokio::sync::watch::channel(false).0,
            rush,
            log,
        }))
    }

    /// The live-reload broadcaster.
    pub fn live(&self) -> &LiveReload {
        &self.0.live
    }

    /// Resolves when the server is told to stop.
    pub fn cancelled(&self) -> WaitForCancellationFutureOwned {
        self.0.cancel.clone().cancelled_owned()
    }

    /// Lets page requests through: the first build is done (or failed).
    pub fn set_ready(&self) {
        self.0.ready.send_replace(true);
    }

    /// Sets or clears the error shown while no build has succeeded.
    pub fn set_first_build_error(&self, error: Option<crate::Error>) {
        if let Ok(mut slot) = self.0.first_build_error.write() {
            *slot = error;
        }
    }
}

/// The router: live reload under `/__bengal/`, the site everywhere else.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(livereload::EVENTS_PATH, get(events))
        .route(livereload::SCRIPT_PATH, get(livereload::script))
        .fallback(site)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// `GET /__bengal/livereload?since=BUILD`: the page's live-reload stream,
/// ended when the server stops. A reconnecting browser's `Last-Event-ID`
/// (the last build it was told of) wins over the page's own build.
async fn events(State(state): State<AppState>, request: Request) -> impl IntoResponse {
    let last_event = request.headers().get("last-event-id").and_then(|id| id.to_str().ok());
    let query = request.uri().query().unwrap_or_default();
    let since_query = query.split('&').find_map(|pair| pair.strip_prefix("since="));
    let since = last_event.or(since_query).filter(|since| !since.is_empty());
    state.live().stream(since, state.cancelled())
}

/// Refuses foreign `Host` headers and logs every request.
async fn guard(State(state): State<AppState>, request: Request, next: axum::middleware::Next) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_owned);
    // HTTP/1.1 requires Host; a request without one (or with one that is not
    // text) is refused like a foreign one.
    let host = host.or_else(|| request.uri().authority().map(|a| a.to_string())).unwrap_or_default();
    let response = match host {
        host if !host_allowed(&host, &state.0.allowed_hosts) => {
            let name = host_name(&host);
            let body = format!(
                "Blocked request: the host \"{name}\" is not allowed.\n\
                 To allow it, run bengal serve with --allowed-host {name}\n"
            );
            (StatusCode::FORBIDDEN, body).into_response()
        }
        _ => next.run(request).await,
    };
    (state.0.log)(&method, &path, response.status());
    response
}

/// `localhost`, its subdomains, any IP address (rebinding needs a name), and
/// the names given with `--allowed-host`.
pub fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let name = host_name(host).to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok()
        || allowed.iter().any(|a| a.eq_ignore_ascii_case(&name))
}

/// `example.org:5173` → `example.org`; `[::1]:5173` → `[::1]`.
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        let (name, rest) = host.split_at(host.find(']').map_or(host.len(), |end| end + 1));
        // Only a port may follow the brackets.
        let port_only =
            rest.is_empty() || rest.strip_prefix(':').is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
        return if port_only { name } else { host };
    }
    host.rsplit_once(':').filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit())).map_or(host, |(name, _)| name)
}

async fn site(State(state): State<AppState>, request: Request) -> Response {
    // A static site has nothing to post to; answering 200 would hide a form's bug.
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET, HEAD")], "405 Method Not Allowed\n")
            .into_response();
    }
    let raw_path = request.uri().path().to_owned();
    if request.method() == Method::GET
        && let Some(file) = page_file(&raw_path)
    {
        let rushed = state.0.rush.ask(file.clone());
        tokio::select! {
            bytes = rushed => if let Ok(bytes) = bytes {
                return html_response(StatusCode::OK, inject(bytes, &state.live().current(), Some(&file)));
            },
            () = state.0.cancel.cancelled() => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        }
    }
    let mut ready = state.0.ready.subscribe();
    tokio::select! {
        _ = ready.wait_for(|ready| *ready) => {}
        () = state.0.cancel.cancelled() => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
    if let Ok(guard) = state.0.first_build_error.read()
        && let Some(error) = guard.as_ref()
    {
        let page = error_page(error, &state.live().current());
        return html_response(StatusCode::INTERNAL_SERVER_ERROR, page.into_bytes());
    }
    let Some(relative) = safe_relative_path(&raw_path).filter(|p| !crate::build::output::is_bengal_file(p)) else {
        return not_found(&state).await;
    };
    // Browsers ask every site for an icon; one the site lacks is no error
    // worth a red line in the author's console while writing.
    if raw_path == "/favicon.ico" && !state.0.output.join(&relative).is_file() {
        return StatusCode::NO_CONTENT.into_response();
    }
    let mut file = state.0.output.join(&relative);
    if file.is_dir() {
        if !raw_path.ends_with('/') {
            let query = request.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
            // Built from the checked path, so `//evil.example` cannot become
            // a redirect to another host.
            let path = crate::paths::slash_path(&relative);
            let location = format!("/{}/{query}", percent_encoding::utf8_percent_encode(&path, PATH_ENCODE));
            return (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, location)]).into_response();
        }
        file.push("index.html");
    }
    // Symlinks may point anywhere: serve only what really lies inside.
    let Some(file) = std::fs::canonicalize(&file).ok().filter(|f| f.starts_with(&state.0.output) && f.is_file()) else {
        return not_found(&state).await;
    };
    if is_html(&file) {
        let build = state.live().current();
        let shown = file.strip_prefix(&state.0.output).map(crate::paths::slash_path).unwrap_or_default();
        return match tokio::fs::read(&file).await {
            Ok(bytes) => html_response(StatusCode::OK, inject(bytes, &build, Some(&shown))),
            Err(_) => not_found(&state).await,
        };
    }
    match ServeFile::new(&file).oneshot(request).await {
        Ok(response) => response.map(Body::new),
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response(),
    }
}

/// The output file a request for a page names: `blog/hello/index.html` for
/// `/blog/hello/` or `/blog/hello/index.html`; `None` for anything else.
fn page_file(raw_path: &str) -> Option<String> {
    let relative = safe_relative_path(raw_path)?;
    if raw_path.ends_with('/') {
        Some(crate::paths::slash_path(&relative.join("index.html")))
    } else {
        is_html(&relative).then(|| crate::paths::slash_path(&relative))
    }
}

/// The decoded request path as a relative path of normal components, or
/// None if it tries to leave the output directory in any spelling.
pub fn safe_relative_path(raw: &str) -> Option<PathBuf> {
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8().ok()?;
    if decoded.contains('\\') || decoded.contains('\0') {
        return None;
    }
    let mut path = PathBuf::new();
    for part in decoded.split('/').filter(|p| !p.is_empty()) {
        let mut components = Path::new(part).components();
        match (components.next(), components.next()) {
            (Some(Component::Normal(name)), None) => path.push(name),
            _ => return None,
        }
    }
    Some(path)
}

/// Characters escaped in a redirect's path.
const PATH_ENCODE: &percent_encoding::AsciiSet =
    &percent_encoding::CONTROLS.add(b' ').add(b'"').add(b'#').add(b'<').add(b'>').add(b'?').add(b'`').add(b'%');

async fn not_found(state: &AppState) -> Response {
    let build = state.live().current();
    let page = std::fs::canonicalize(state.0.output.join("404.html"))
        .ok()
        .filter(|page| page.starts_with(&state.0.output))
        .unwrap_or_default();
    match tokio::fs::read(&page).await {
        Ok(bytes) => html_response(StatusCode::NOT_FOUND, inject(bytes, &build, Some("404.html"))),
        Err(_) => (StatusCode::NOT_FOUND, "404 Not Found\n").into_response(),
    }
}

fn is_html(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("html") || e == "htm")
}

/// HTML is never cached: after a rebuild the browser must ask again.
fn html_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Adds the live-reload script before the last `</body>`, or at the end,
/// with the build the page shows and the output file it is (none for the
/// page of a failed first build, which any good build replaces).
pub fn inject(mut html: Vec<u8>, build: &str, file: Option<&str>) -> Vec<u8> {
    let file = file.map(|file| format!(" data-file=\"{}\"", escape_html(file))).unwrap_or_default();
    let tag =
        format!("<script src=\"{}\" data-build=\"{}\"{file}></script>", livereload::SCRIPT_PATH, escape_html(build));
    let lower = html.to_ascii_lowercase();
    let at = lower.windows(7).rposition(|w| w == b"</body>").unwrap_or(html.len());
    html.splice(at..at, tag.into_bytes());
    html
}

fn error_page(error: &crate::Error, build: &str) -> String {
    let location = error.location().map(|l| format!("<p class=\"file\">{}</p>", escape_html(&l))).unwrap_or_default();
    let hint =
        error.hint.as_deref().map(|h| format!("<p class=\"hint\">help: {}</p>", escape_html(h))).unwrap_or_default();
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Build failed · Bengal</title>\
<style>body{{font:15px/1.5 ui-monospace,Menlo,Consolas,monospace;background:#141414;color:#f5f5f5;padding:2rem}}\
h1{{color:#ff6b6b;font-size:1.3rem}}.file{{color:#9ecbff}}.hint{{color:#b5e8b0}}</style></head>\
<body><h1>Build failed</h1>{location}<pre>{}</pre>{hint}<p>Fix the file and save: this page reloads.</p></body></html>",
        escape_html(&error.message)
    );
    String::from_utf8(inject(html.into_bytes(), build, None)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_in_any_spelling_is_refused() {
        for raw in
            ["/../etc/passwd", "/a/../../x", "/%2e%2e/x", "/%2E%2E%2Fx", "/a%5C..%5Cx", "/..%5cx", "/%00", "/./x"]
        {
            assert_eq!(safe_relative_path(raw), None, "{raw}");
        }
        assert_eq!(safe_relative_path("/blog/hello/"), Some(PathBuf::from("blog/hello")));
        assert_eq!(safe_relative_path("/a%20b.css"), Some(PathBuf::from("a b.css")));
        assert_eq!(safe_relative_path("//etc/passwd"), Some(PathBuf::from("etc/passwd")));
    }

    #[test]
    fn hosts() {
        let allowed = vec!["dev.example".to_owned()];
        for ok in [
            "localhost:5173",
            "LOCALHOST",
            "app.localhost:1",
            "127.0.0.1:5173",
            "[::1]:5173",
            "192.168.1.2",
            "dev.example:80",
        ] {
            assert!(host_allowed(ok, &allowed), "{ok}");
        }
        for bad in ["evil.example:5173", "localhost.evil.example", "example.org", "[::1]evil.example", ""] {
            assert!(!host_allowed(bad, &allowed), "{bad}");
        }
    }

    #[test]
    fn script_goes_before_the_last_body_end() {
        let out = String::from_utf8(inject(b"<p>a</p></BODY></html>".to_vec(), "x.1", Some("a/index.html"))).unwrap();
        let tag = format!("<script src=\"{}\" data-build=\"x.1\" data-file=\"a/index.html\">", livereload::SCRIPT_PATH);
        assert_eq!(out, format!("<p>a</p>{tag}</script></BODY></html>"));
        let bare = String::from_utf8(inject(b"<p>x".to_vec(), "x.1", None)).unwrap();
        assert!(bare.ends_with("</script>"));
    }
}

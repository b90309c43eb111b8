//! `cargo xtask bench`: full-build time of Bengal on a generated site, against
//! Hugo on the same pages in the same run when `hugo` is installed.
//!
//! Reports medians and the ratio; it asserts nothing, since a timing is a
//! measurement, not a test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use bengal_tests::events::EventStream;
use bengal_tests::{http, launch, poll};

use crate::cargo;
use crate::flags::Bench;

mod browser;

/// Builds Bengal (release), generates the site, and prints the timings.
pub fn run(args: &Bench) -> Result<(), String> {
    cargo(&["build", "--release", "--package", "bengal", "--bins"])?;
    let bengal = crate::target_dir().join("release/bengal");
    let site = crate::target_dir().join(format!("bench/site-{}", args.pages));
    generate_site(&site, args.pages).map_err(|err| format!("could not write the bench site: {err}"))?;
    eprintln!("site: {} pages in {}", args.pages, site.display());

    if args.serve_only {
        let serve = serve_bench(&bengal, &site, args.pages, args.runs * 2 + 1)?;
        print_serve(&serve, None);
        return browser_bench(&bengal, &site, args);
    }
    let out = site.join("out");
    let bengal_build = |binary: &Path, name: &str| {
        let mut command = Command::new(binary);
        command.args(["--quiet", "build", "--root"]).arg(&site).arg("--output").arg(out.join(name));
        Builder { name: name.to_owned(), command, output: out.join(name) }
    };
    let mut builders = vec![bengal_build(&bengal, "bengal")];
    if let Some(baseline) = &args.baseline {
        builders.push(bengal_build(baseline, "baseline"));
    }
    if hugo_available() {
        let mut command = Command::new("hugo");
        command.args(["--quiet", "--source"]).arg(&site).arg("--destination").arg(out.join("hugo"));
        builders.push(Builder { name: "hugo".to_owned(), command, output: out.join("hugo") });
    } else {
        eprintln!("hugo is not installed: Bengal alone is measured (apt-get install hugo)");
    }
    let times = time_interleaved(&mut builders, args.runs)?;

    let serve = serve_bench(&bengal, &site, args.pages, args.runs * 2 + 1)?;
    let medians: Vec<Duration> = times.iter().map(|times| median(times)).collect();
    println!(
        "full build of {} pages into an empty output, median of {} runs (after one warm-up; the builds take turns):",
        args.pages, args.runs
    );
    for (builder, median) in builders.iter().zip(&medians) {
        println!("  {:<9} {:>8.1} ms", builder.name, ms(*median));
    }
    for (builder, median) in builders.iter().zip(&medians).skip(1) {
        println!("  bengal / {} = {:.2}", builder.name, ms(medians[0]) / ms(*median));
    }
    print_serve(&serve, Some(medians[0]));
    browser_bench(&bengal, &site, args)
}

/// The browser figures, when Chromium is there.
fn browser_bench(bengal: &Path, site: &Path, args: &Bench) -> Result<(), String> {
    if !bengal_tests::browser::chromium_path().is_file() {
        eprintln!("chromium is not installed: the browser figures are skipped (apt-get install chromium)");
        return Ok(());
    }
    let (page, url_path) = edited_page(site, args.pages);
    let times = browser::run(bengal, site, &page, &url_path, args.runs * 2 + 1)?;
    println!("in headless Chromium, a tab open on {url_path}:");
    println!("  save to new text painted      {:>8.1} ms  (median of {})", ms(median(&times.text)), times.text.len());
    println!("  first save of static/theme.css to restyled {:>8.1} ms", ms(times.first_css));
    println!("  stylesheet save to restyled   {:>8.1} ms  (median of {})", ms(median(&times.css)), times.css.len());
    println!("  restart, serving to reloaded  {:>8.1} ms", ms(times.restart));
    Ok(())
}

/// The page the serve figures edit, one of the middle of the site (page N
/// is in section N % SECTIONS), and its URL path.
fn edited_page(site: &Path, pages: usize) -> (PathBuf, String) {
    let page = 13 % pages;
    let section = page % SECTIONS;
    (site.join(format!("content/s{section}/p{page:05}.md")), format!("/s{section}/p{page:05}/"))
}

/// One generator's build of the bench site.
struct Builder {
    name: String,
    command: Command,
    output: PathBuf,
}

fn print_serve(serve: &ServeTimes, build: Option<Duration>) {
    println!("bengal serve on the same site:");
    let against_build = build.map(|b| format!("  (full build + {:.1} ms)", ms(serve.first_response) - ms(b)));
    println!("  start to first 200   {:>8.1} ms{}", ms(serve.first_response), against_build.unwrap_or_default());
    println!(
        "  save to update event {:>8.1} ms  (median of {} edits of one page)",
        ms(median(&serve.reloads)),
        serve.reloads.len()
    );
}

struct ServeTimes {
    first_response: Duration,
    reloads: Vec<Duration>,
}

/// Starts `bengal serve` on `site`, times the first 200, then times each of
/// `edits` saves of one page until its update event arrives.
fn serve_bench(bengal: &Path, site: &Path, pages: usize, edits: usize) -> Result<ServeTimes, String> {
    const WAIT: Duration = Duration::from_secs(120);
    let port = bengal_tests::free_port().map_err(|err| format!("no free port: {err}"))?;
    // A cold start: nothing left from an earlier serve to skip writing.
    let served = site.join(".bengal/serve");
    if served.exists() {
        std::fs::remove_dir_all(&served).map_err(|err| format!("could not clear {}: {err}", served.display()))?;
    }
    let started = Instant::now();
    // The banner is printed once the site is built and the port accepts.
    let _server = Serving::start(bengal, site, port)?;
    let status = http::get(port, "/", WAIT)?.status;
    if status != 200 {
        return Err(format!("bengal serve answered / with {status}, not 200"));
    }
    let first_response = started.elapsed();
    let mut events = EventStream::open(port, WAIT)?;
    let (page, _) = edited_page(site, pages);
    let mut reloads = Vec::with_capacity(edits);
    for edit in 0..edits {
        let mut text = std::fs::read_to_string(&page).map_err(|err| format!("{}: {err}", page.display()))?;
        text.push_str(&format!("\nEdit number {edit}.\n"));
        let saved = Instant::now();
        std::fs::write(&page, text).map_err(|err| format!("{}: {err}", page.display()))?;
        events.wait_for("event: update")?;
        reloads.push(saved.elapsed());
    }
    Ok(ServeTimes { first_response, reloads })
}

/// A `bengal serve` of a site, serving once `start` returns; stopped (by
/// its pid) when dropped. Its output is read all along, so the server's
/// lines never meet a full or closed pipe.
struct Serving {
    server: launch::Piped,
}

impl Serving {
    fn start(bengal: &Path, site: &Path, port: u16) -> Result<Serving, String> {
        const WAIT: Duration = Duration::from_secs(120);
        let mut command = Command::new(bengal);
        command.args(["serve", "--port", &port.to_string(), "--root"]).arg(site).env("NO_COLOR", "1");
        let mut server = launch::spawn_piped(&mut command)?;
        let serving = poll::until(WAIT, || {
            if server.output.text().contains("Local:") {
                Some(Ok(()))
            } else {
                server.child.try_wait().ok().flatten().map(Err)
            }
        });
        match serving {
            Some(Ok(())) => Ok(Serving { server }),
            Some(Err(status)) => {
                Err(format!("bengal serve exited before serving ({status}):\n{}", server.output.text()))
            }
            None => Err(format!("bengal serve did not serve within {} s", WAIT.as_secs())),
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.server.child.kill();
        let _ = self.server.child.wait();
    }
}

fn hugo_available() -> bool {
    Command::new("hugo").arg("version").output().is_ok_and(|out| out.status.success())
}

/// Times `runs` builds of each builder after one warm-up each. The output
/// directory is removed (untimed) before every run, so each is a full build
/// from nothing, as a deploy or CI build is. The builders take turns, so a
/// slow spell of a shared machine weighs on all of them alike and their
/// ratio holds.
fn time_interleaved(builders: &mut [Builder], runs: usize) -> Result<Vec<Vec<Duration>>, String> {
    let mut times = vec![Vec::with_capacity(runs); builders.len()];
    for run in 0..=runs {
        for (builder, times) in builders.iter_mut().zip(&mut times) {
            if builder.output.exists() {
                std::fs::remove_dir_all(&builder.output)
                    .map_err(|err| format!("could not clear {}: {err}", builder.output.display()))?;
            }
            let command = &mut builder.command;
            let started = Instant::now();
            let output = command.output().map_err(|err| format!("could not run {command:?}: {err}"))?;
            if !output.status.success() {
                return Err(format!("{command:?} failed:\n{}", String::from_utf8_lossy(&output.stderr)));
            }
            if run > 0 {
                times.push(started.elapsed());
            }
        }
    }
    Ok(times)
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

const SECTIONS: usize = 10;
const TAGS: usize = 50;
const WORDS: &[&str] = &[
    "static",
    "site",
    "generator",
    "markdown",
    "template",
    "section",
    "page",
    "build",
    "server",
    "browser",
    "reload",
    "fast",
    "simple",
    "content",
    "author",
    "theme",
    "feed",
    "taxonomy",
    "render",
    "output",
];

/// Writes a site that both Bengal and Hugo can build: TOML front matter that
/// both read, `bengal.toml` for Bengal, `hugo.toml` and `layouts/` for Hugo.
fn generate_site(site: &Path, pages: usize) -> std::io::Result<()> {
    if site.join("bengal.toml").is_file() && site.join(format!("content/s0/p{:05}.md", pages - 1)).is_file() {
        return Ok(());
    }
    if site.exists() {
        std::fs::remove_dir_all(site)?;
    }
    let write = |relative: &str, text: &str| -> std::io::Result<()> {
        let path: PathBuf = site.join(relative);
        std::fs::create_dir_all(path.parent().unwrap_or(site))?;
        std::fs::write(path, text)
    };
    write("bengal.toml", "title = \"Bench\"\nbase_url = \"https://example.org/\"\npaginate_by = 10\n")?;
    write("hugo.toml", "baseURL = \"https://example.org/\"\ntitle = \"Bench\"\npaginate = 10\n")?;
    for (name, text) in HUGO_LAYOUTS {
        write(&format!("layouts/_default/{name}"), text)?;
    }
    write("content/_index.md", "+++\ntitle = \"Home\"\n+++\nWelcome.\n")?;
    for section in 0..SECTIONS {
        write(&format!("content/s{section}/_index.md"), &format!("+++\ntitle = \"Section {section}\"\n+++\n"))?;
    }
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for page in 0..pages {
        let section = page % SECTIONS;
        let tags: Vec<String> = (0..3).map(|_| format!("\"tag{}\"", next() as usize % TAGS)).collect();
        let day = page % 28 + 1;
        let month = page / 28 % 12 + 1;
        let mut body = String::new();
        for paragraph in 0..4 {
            if paragraph == 2 {
                body.push_str("## A heading\n\n```rust\nfn main() {\n    println!(\"hello\");\n}\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n");
            }
            let words: Vec<&str> = (0..80).map(|_| WORDS[next() as usize % WORDS.len()]).collect();
            body.push_str(&words.join(" "));
            body.push_str(".\n\n");
        }
        write(
            &format!("content/s{section}/p{page:05}.md"),
            &format!(
                "+++\ntitle = \"Page {page}\"\ndate = 2024-{month:02}-{day:02}\ntags = [{}]\n+++\n\n{body}",
                tags.join(", ")
            ),
        )?;
    }
    Ok(())
}

/// Hugo layouts doing about what Bengal's theme does: a base, a page with its
/// tags and content, and paginated lists with summaries.
const HUGO_LAYOUTS: &[(&str, &str)] = &[
    (
        "baseof.html",
        "<!DOCTYPE html><html><head><title>{{ .Title }}</title></head><body><nav>{{ range .Site.Sections }}<a href=\"{{ .RelPermalink }}\">{{ .Title }}</a>{{ end }}</nav><main>{{ block \"main\" . }}{{ end }}</main></body></html>",
    ),
    (
        "single.html",
        "{{ define \"main\" }}<h1>{{ .Title }}</h1><time>{{ .Date.Format \"January 2, 2006\" }}</time> {{ .ReadingTime }} min<ul>{{ range .Params.tags }}<li>{{ . }}</li>{{ end }}</ul>{{ .TableOfContents }}{{ .Content }}{{ end }}",
    ),
    (
        "list.html",
        "{{ define \"main\" }}<h1>{{ .Title }}</h1>{{ .Content }}{{ range .Paginator.Pages }}<article><a href=\"{{ .RelPermalink }}\">{{ .Title }}</a>{{ .Summary }}</article>{{ end }}{{ end }}",
    ),
];

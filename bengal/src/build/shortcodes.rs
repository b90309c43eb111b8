//! Zola's shortcodes: `{{ name(key=value) }}` inline and
//! `{% name(key=value) %}body{% end %}` with a body, each rendered by the
//! site's `templates/shortcodes/NAME.html` or `NAME.md` before the Markdown
//! is. A `.md` shortcode's output is Markdown; a `.html` one's is kept out of
//! the Markdown's way behind a placeholder and put back in the HTML.
//! `{{/* … */}}` and `{%/* … */%}` write the call itself, as text.
//!
//! An unknown shortcode or an argument that cannot be read is an error with
//! its line, never text on a page.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;
use tera::Context;

use crate::build::config::Config;
use crate::build::templates::Templates;
use crate::error::{Error, Result, line_of_offset};

/// A body with its shortcodes expanded.
pub struct Expanded {
    /// The Markdown to render.
    pub markdown: String,
    /// The HTML of each `.html` shortcode, by placeholder number.
    html: Vec<String>,
    /// Every name called, known or not: a shortcode added, changed or
    /// removed under one of them changes the body.
    pub called: BTreeSet<String>,
    /// Each call whose output has another number of lines than the call:
    /// its first and last line in the Markdown, and in the body.
    shifts: Vec<Shift>,
}

/// Where a call that changed the number of lines is, in the expanded
/// Markdown and in the body.
#[derive(Debug, Clone, Copy)]
struct Shift {
    markdown: (usize, usize),
    body: (usize, usize),
}

impl Expanded {
    /// The line of the body that line `line` of the Markdown comes from:
    /// errors after a multi-line `.md` shortcode or block call name the
    /// author's line, and lines inside a call's output name the call.
    pub fn body_line(&self, line: usize) -> usize {
        let before = self.shifts.partition_point(|shift| shift.markdown.0 <= line);
        match before.checked_sub(1).map(|i| self.shifts[i]) {
            Some(shift) if line <= shift.markdown.1 => shift.body.0,
            Some(shift) => shift.body.1 + (line - shift.markdown.1),
            None => line,
        }
    }
}

impl Expanded {
    /// `html` with the placeholders of `.html` shortcodes replaced by their
    /// output, in one pass.
    pub fn restore(&self, html: &str) -> String {
        if self.html.is_empty() {
            return html.to_owned();
        }
        let mut out = String::with_capacity(html.len());
        let mut rest = html;
        while let Some(start) = rest.find(PLACEHOLDER_START) {
            out.push_str(&rest[..start]);
            let after = &rest[start + PLACEHOLDER_START.len()..];
            let number = after.find(PLACEHOLDER_END).and_then(|end| Some((after[..end].parse::<usize>().ok()?, end)));
            match number.and_then(|(index, end)| Some((self.html.get(index)?, end))) {
                Some((output, end)) => {
                    out.push_str(output);
                    rest = &after[end + PLACEHOLDER_END.len()..];
                }
                None => {
                    out.push_str(PLACEHOLDER_START);
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

const PLACEHOLDER_START: &str = "<!--bengal-shortcode:";
const PLACEHOLDER_END: &str = "-->";

fn placeholder(index: usize) -> String {
    format!("{PLACEHOLDER_START}{index}{PLACEHOLDER_END}")
}

/// How deeply a shortcode argument's lists may nest.
const MAX_LIST_DEPTH: usize = 16;

/// What a shortcode sees of the page or section it is in: `("page", its
/// front matter and paths)`, computed only when a body has a shortcode.
pub type Owner<'a> = &'a (dyn Fn() -> (&'static str, Value) + Sync);

/// Expands every shortcode of `body` (lines in errors are lines of `body`).
/// Each shortcode sees its arguments, `nth`, `config`, `lang` and `page` or
/// `section` (from `owner`), as in Zola.
pub fn expand(body: &str, templates: &Templates, config: &Config, owner: Owner<'_>) -> Result<Expanded> {
    let mut expanded = Expanded {
        markdown: String::with_capacity(body.len()),
        html: Vec::new(),
        called: BTreeSet::new(),
        shifts: Vec::new(),
    };
    // Lines so far (1-based) of the Markdown and of the body.
    let (mut markdown_line, mut body_line) = (1, 1);
    let called = std::cell::RefCell::new(BTreeSet::new());
    if !body.contains("{{") && !body.contains("{%") {
        expanded.markdown.push_str(body);
        return Ok(expanded);
    }
    let mut base = Context::new();
    base.insert("config", &config.template_value());
    base.insert("lang", &config.language);
    let (kind, value) = owner();
    base.insert(kind, &value);
    let mut nth: HashMap<String, usize> = HashMap::new();
    let mut rest = 0;
    let mut at = 0;
    // Where the last escape could close: an opener after it is never one,
    // and is not searched for (which would be quadratic).
    let escapes_close_by = body.rfind("*/}}").max(body.rfind("*/%}")).unwrap_or(0);
    while let Some(found) = body[at..].find(['{']).map(|i| at + i) {
        at = found + 1;
        let known = |name: &str| {
            called.borrow_mut().insert(name.to_owned());
            ["md", "html"].iter().any(|ext| templates.has(&format!("shortcodes/{name}.{ext}")))
        };
        let Some(call) = parse_at(body, found, escapes_close_by, &known)? else { continue };
        let gap_lines = newlines(&body[rest..found]);
        markdown_line += gap_lines;
        body_line += gap_lines;
        expanded.markdown.push_str(&body[rest..found]);
        let call_lines = newlines(&body[found..call.end]);
        let written_from = expanded.markdown.len();
        rest = call.end;
        at = call.end;
        let Call { name, args, body: inner, escaped, .. } = call;
        let output = match escaped {
            Some(text) => text,
            None => {
                called.borrow_mut().insert(name.clone());
                render_call(templates, &base, &mut nth, &mut expanded.html, (name, args, inner), body_line)?
            }
        };
        expanded.markdown.push_str(&output);
        let output_lines = newlines(&expanded.markdown[written_from..]);
        if output_lines != call_lines {
            expanded.shifts.push(Shift {
                markdown: (markdown_line, markdown_line + output_lines),
                body: (body_line, body_line + call_lines),
            });
        }
        markdown_line += output_lines;
        body_line += call_lines;
    }
    expanded.markdown.push_str(&body[rest..]);
    expanded.called = called.into_inner();
    Ok(expanded)
}

fn newlines(text: &str) -> usize {
    text.bytes().filter(|&b| b == b'\n').count()
}

/// Renders one call: the Markdown a `.md` shortcode writes, or for an
/// `.html` one a placeholder its HTML (kept in `html`) replaces after
/// Markdown. `line` is the call's line, for errors.
fn render_call(
    templates: &Templates,
    base: &Context,
    nth: &mut HashMap<String, usize>,
    html: &mut Vec<String>,
    (name, args, inner): (String, Vec<(String, Value)>, Option<String>),
    line: usize,
) -> Result<String> {
    let count = nth.entry(name.clone()).or_default();
    *count += 1;
    let mut context = base.clone();
    for (key, value) in args {
        context.insert(key, &value);
    }
    context.insert("nth", count);
    if let Some(inner) = inner {
        context.insert("body", &inner);
    }
    let Some(&ext) = ["md", "html"].iter().find(|ext| templates.has(&format!("shortcodes/{name}.{ext}"))) else {
        return Err(Error::new(format!("unknown shortcode `{name}`")).at_line(Some(line)).with_hint(format!(
            "add templates/shortcodes/{name}.html (or .md), or write {{{{/* … */}}}} to show the call as text"
        )));
    };
    let output = templates.render_shortcode(&format!("shortcodes/{name}.{ext}"), &context).map_err(|err| Error {
        line: Some(line),
        file: None,
        ..err
    })?;
    if ext == "md" {
        return Ok(output);
    }
    html.push(output);
    Ok(placeholder(html.len() - 1))
}

/// One shortcode call, or an escaped one.
struct Call {
    name: String,
    args: Vec<(String, Value)>,
    body: Option<String>,
    /// The text an escape writes instead.
    escaped: Option<String>,
    /// Where the call (and its body) ends.
    end: usize,
}

/// Reads a call starting at `start` (a `{`); `Ok(None)` when it is not one,
/// an error when it is one that cannot be read.
fn parse_at(text: &str, start: usize, escapes_close_by: usize, known: &dyn Fn(&str) -> bool) -> Result<Option<Call>> {
    let open = &text[start..];
    let (close, block) = if open.starts_with("{{") {
        ("}}", false)
    } else if open.starts_with("{%") {
        ("%}", true)
    } else {
        return Ok(None);
    };
    let inner_start = start + 2;
    let after = text[inner_start..].trim_start();
    let skipped = text[inner_start..].len() - after.len();
    if let Some(escaped) = after.strip_prefix("/*").filter(|_| start < escapes_close_by) {
        let end_marker = format!("*/{close}");
        let Some(end) = escaped.find(&end_marker) else { return Ok(None) };
        let opener = &open[..2];
        let closer = if block { "%}" } else { "}}" };
        let inner = escaped[..end].trim();
        let consumed = inner_start + skipped + 2 + end + end_marker.len();
        return Ok(Some(Call {
            name: String::new(),
            args: Vec::new(),
            body: None,
            escaped: Some(format!("{opener} {inner} {closer}")),
            end: consumed,
        }));
    }
    let name_len = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
    let name = &after[..name_len];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) || name == "end" {
        return Ok(None);
    }
    let Some(args_text) = after[name_len..].trim_start().strip_prefix('(') else { return Ok(None) };
    let args_start = text.len() - args_text.len();
    let line = || line_of_offset(text, start);
    let (args, args_end) = match parse_args(text, args_start) {
        Ok(parsed) => parsed,
        // Not a shortcode call at all (e.g. a template function shown in
        // a code block: `{{ get_url(path=asset) }}`), as Zola's grammar has it.
        Err(_) if !known(name) => return Ok(None),
        Err(message) => {
            return Err(Error::new(format!("shortcode `{name}`: {message}")).at_line(Some(line())).with_hint(
                "arguments are key=value, separated by commas: strings in quotes, numbers, true/false, [lists]",
            ));
        }
    };
    let tail = &text[args_end..];
    let trimmed = tail.trim_start();
    let Some(after_close) = trimmed.strip_prefix(close) else { return Ok(None) };
    let mut end = text.len() - after_close.len();
    let mut body = None;
    if block {
        let Some((inner, after_end)) = find_end(&text[end..]) else {
            return Err(Error::new(format!("shortcode `{name}` is never closed with {{% end %}}"))
                .at_line(Some(line()))
                .with_hint("add {% end %} after its body"));
        };
        body = Some(inner.to_owned());
        end += after_end;
    }
    Ok(Some(Call { name: name.to_owned(), args, body, escaped: None, end }))
}

/// The body before the next `{% end %}`, and the offset just after it.
fn find_end(text: &str) -> Option<(&str, usize)> {
    let mut from = 0;
    while let Some(at) = text[from..].find("{%").map(|i| from + i) {
        let after = text[at + 2..].trim_start();
        if let Some(after_close) = after.strip_prefix("end").and_then(|rest| rest.trim_start().strip_prefix("%}")) {
            return Some((&text[..at], text.len() - after_close.len()));
        }
        from = at + 2;
    }
    None
}

/// `key=value, key=value)`: the arguments and the offset after `)`.
fn parse_args(text: &str, mut at: usize) -> std::result::Result<(Vec<(String, Value)>, usize), String> {
    let mut args = Vec::new();
    loop {
        at = skip_ws(text, at);
        if text[at..].starts_with(')') {
            return Ok((args, at + 1));
        }
        let key_len = text[at..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(0);
        if key_len == 0 {
            return Err(format!("expected an argument name at `{}`", snippet(&text[at..])));
        }
        let key = text[at..at + key_len].to_owned();
        at = skip_ws(text, at + key_len);
        if !text[at..].starts_with('=') {
            return Err(format!("`{key}` needs a value: {key}=…"));
        }
        let (value, next) = parse_value(text, skip_ws(text, at + 1), 0)?;
        args.push((key, value));
        at = skip_ws(text, next);
        if text[at..].starts_with(',') {
            at += 1;
        } else if !text[at..].starts_with(')') {
            return Err(format!("expected `,` or `)` at `{}`", snippet(&text[at..])));
        }
    }
}

fn parse_value(text: &str, at: usize, depth: usize) -> std::result::Result<(Value, usize), String> {
    let rest = &text[at..];
    if let Some(quote) = rest.chars().next().filter(|c| matches!(c, '"' | '\'' | '`')) {
        let end = rest[1..].find(quote).ok_or_else(|| format!("a string opened with {quote} is never closed"))?;
        return Ok((Value::String(rest[1..1 + end].to_owned()), at + end + 2));
    }
    if rest.starts_with('[') {
        if depth >= MAX_LIST_DEPTH {
            return Err(format!("lists nest deeper than {MAX_LIST_DEPTH} levels"));
        }
        let mut items = Vec::new();
        let mut at = skip_ws(text, at + 1);
        loop {
            if text[at..].starts_with(']') {
                return Ok((Value::Array(items), at + 1));
            }
            let (item, next) = parse_value(text, at, depth + 1)?;
            items.push(item);
            at = skip_ws(text, next);
            if text[at..].starts_with(',') {
                at = skip_ws(text, at + 1);
            } else if !text[at..].starts_with(']') {
                return Err(format!("expected `,` or `]` at `{}`", snippet(&text[at..])));
            }
        }
    }
    let len =
        rest.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '_'))).unwrap_or(rest.len());
    let word = &rest[..len];
    let value = match word {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => word
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| word.parse::<f64>().map(Value::from))
            .map_err(|_| format!("`{}` is not a string, number, true, false or list", snippet(rest)))?,
    };
    Ok((value, at + len))
}

fn skip_ws(text: &str, at: usize) -> usize {
    at + (text[at..].len() - text[at..].trim_start().len())
}

fn snippet(text: &str) -> String {
    text.chars().take(20).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_OWNER: Owner<'static> = &|| ("page", Value::Null);

    fn site(shortcodes: &[(&str, &str)]) -> (tempfile::TempDir, Templates, Config) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in shortcodes {
            let path = dir.path().join("templates/shortcodes").join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let config = Config::parse("").unwrap();
        let templates = Templates::load(dir.path(), &config).unwrap();
        (dir, templates, config)
    }

    #[test]
    fn inline_block_markdown_and_escapes() {
        let (_dir, templates, config) = site(&[
            ("yt.html", "<iframe src=\"{{ id }}\" data-n=\"{{ nth }}\"></iframe>"),
            ("note.md", "> **{{ kind }}**: {{ body }}"),
            ("sum.html", "{{ a + b }} {{ list | length }} {{ flag }}"),
        ]);
        let body = "A {{ yt(id=\"x1\") }} and {{yt(id='x2')}}.\n\n{% note(kind=\"Tip\") %}read *this*{% end %}\n\n\
                    {{ sum(a=1, b=2.5, list=[1, 2, 3], flag=true) }} {{/* yt(id=\"raw\") */}} {{ page.title }}\n";
        let expanded = expand(body, &templates, &config, NO_OWNER).unwrap();
        assert!(expanded.markdown.contains("> **Tip**: read *this*"), "{}", expanded.markdown);
        assert!(expanded.markdown.contains("{{ yt(id=\"raw\") }} {{ page.title }}"), "{}", expanded.markdown);
        let html = expanded.restore(&expanded.markdown);
        assert!(
            html.contains("<iframe src=\"x1\" data-n=\"1\"></iframe> and <iframe src=\"x2\" data-n=\"2\">"),
            "{html}"
        );
        assert!(html.contains("3.5 3 true"), "{html}");
    }

    #[test]
    fn lines_of_the_markdown_map_back_to_the_body() {
        let (_dir, templates, config) = site(&[("three.md", "x\ny\nz"), ("note.html", "<aside>{{ body }}</aside>")]);
        let body = "a\n{{ three() }}\nb\n{% note() %}\nin\nnote\n{% end %}\nlast\n";
        let expanded = expand(body, &templates, &config, NO_OWNER).unwrap();
        let lines: Vec<&str> = expanded.markdown.lines().collect();
        let line_of = |text: &str| lines.iter().position(|l| l.contains(text)).unwrap() + 1;
        assert_eq!(expanded.body_line(line_of("a")), 1);
        assert_eq!(expanded.body_line(line_of("y")), 2, "inside a call's output: the call's line");
        assert_eq!(expanded.body_line(line_of("b")), 3);
        assert_eq!(expanded.body_line(line_of("last")), 8, "after a block call of four lines written as one");
    }

    #[test]
    fn unknown_shortcodes_and_bad_arguments_name_their_line() {
        let (_dir, templates, config) = site(&[("yt.html", "{{ id }}")]);
        let err = expand("one\n\n{{ vimeo(id=\"1\") }}\n", &templates, &config, NO_OWNER).err().unwrap();
        assert_eq!(err.line, Some(3));
        assert!(err.message.contains("vimeo"), "{err}");
        let err = expand("{{ yt(id=\"open) }}\n", &templates, &config, NO_OWNER).err().unwrap();
        assert!(err.message.contains("never closed"), "{err}");
        let err = expand("x\n{% yt(id=\"1\") %}no end\n", &templates, &config, NO_OWNER).err().unwrap();
        assert_eq!(err.line, Some(2));
        let deep = format!("{{{{ yt(id={}) }}}}", "[".repeat(10_000));
        let err = expand(&deep, &templates, &config, NO_OWNER).err().unwrap();
        assert!(err.message.contains("nest deeper"), "{err}");
    }

    #[test]
    fn hostile_bodies_stay_linear() {
        let (_dir, templates, config) = site(&[("a.html", "x")]);
        let unclosed = "{{/* ".repeat(100_000);
        assert_eq!(expand(&unclosed, &templates, &config, NO_OWNER).unwrap().markdown, unclosed);
        let many = "{{ a() }} ".repeat(20_000);
        let expanded = expand(&many, &templates, &config, NO_OWNER).unwrap();
        assert_eq!(expanded.restore(&expanded.markdown), "x ".repeat(20_000));
    }
}

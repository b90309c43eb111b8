//! Markdown to HTML: pulldown-cmark's events, rewritten on the way for
//! heading ids, internal `@/` links, highlighted code and the summary.

use std::collections::HashSet;

use pulldown_cmark::{CodeBlockKind, CowStr, Event, Options, Parser, Tag, TagEnd, html};
use serde::Serialize;

use crate::build::config::{AnchorPlace, MarkdownConfig};
use crate::build::highlight::{Fence, Highlighter};
use crate::build::html::escape_html;
use crate::error::{Error, Result, line_of_offset};

/// The summary marker: everything before it is the page's summary.
pub const MORE_MARKER: &str = "<!-- more -->";

/// What the marker becomes in the page: an anchor for "continue reading".
const CONTINUE_READING: &str = "<span id=\"continue-reading\"></span>";

const WORDS_PER_MINUTE: usize = 200;

/// A page body rendered to HTML.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    /// The whole body as HTML.
    pub html: String,
    /// The part before `<!-- more -->`, else the first paragraph.
    pub summary: Option<String>,
    /// Headings, in order, for a table of contents.
    pub toc: Vec<Heading>,
    /// Words of prose (code not counted).
    pub word_count: usize,
    /// Internal links with an `#anchor`, checked against their target's
    /// headings once every page is rendered.
    pub anchor_links: Vec<AnchorLink>,
    /// The shortcodes the body called, with [`Templates::shortcode_hash`]
    /// of each as it was rendered with.
    ///
    /// [`Templates::shortcode_hash`]: crate::build::templates::Templates::shortcode_hash
    pub shortcodes: Vec<(String, u64)>,
}

/// An internal link to a heading: `[x](@/blog/hello.md#setup)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorLink {
    /// The content path linked to (`blog/hello.md`).
    pub target: String,
    /// The heading id (`setup`).
    pub anchor: String,
    /// The line of the link within the body.
    pub line: usize,
}

impl Rendered {
    /// Minutes to read, at least one.
    pub fn reading_time(&self) -> usize {
        self.word_count.div_ceil(WORDS_PER_MINUTE).max(1)
    }
}

/// One heading of a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Heading {
    /// 1 to 6.
    pub level: u8,
    /// The anchor id.
    pub id: String,
    /// The heading's text.
    pub title: String,
}

/// What rendering needs besides the text.
pub struct Renderer<'a> {
    /// The `[markdown]` options.
    pub options: &'a MarkdownConfig,
    pub highlighter: &'a Highlighter,
    /// Resolves a content path (`blog/hello.md`) to its URL path.
    pub resolve: &'a (dyn Fn(&str) -> Option<String> + Sync),
}

impl Renderer<'_> {
    /// Renders `body`; errors carry the line within `body`.
    pub fn render(&self, body: &str) -> Result<Rendered> {
        let mut options = Options::ENABLE_TABLES
            | Options::ENABLE_FOOTNOTES
            | Options::ENABLE_STRIKETHROUGH
            | Options::ENABLE_TASKLISTS
            | Options::ENABLE_HEADING_ATTRIBUTES;
        if self.options.smart_punctuation {
            options |= Options::ENABLE_SMART_PUNCTUATION;
        }
        let mut events = Vec::new();
        let mut code: Option<(Fence, String)> = None;
        let mut word_count = 0;
        let mut anchor_links = Vec::new();
        for (event, range) in Parser::new_ext(body, options).into_offset_iter() {
            match event {
                Event::Start(Tag::CodeBlock(kind)) => {
                    let fence = match kind {
                        CodeBlockKind::Fenced(info) => Fence::parse(&info),
                        CodeBlockKind::Indented => Fence::default(),
                    };
                    code = Some((fence, String::new()));
                }
                Event::Text(text) if code.is_some() => {
                    if let Some((_, buffer)) = code.as_mut() {
                        buffer.push_str(&text);
                    }
                }
                Event::End(TagEnd::CodeBlock) => {
                    let (fence, text) = code.take().unwrap_or_default();
                    let block = self.highlighter.code_block(&fence, &text, self.options.highlight_code);
                    events.push(Event::Html(block.into()));
                }
                Event::Start(Tag::Link { link_type, dest_url, title, id }) if dest_url.starts_with("@/") => {
                    if let Some((target, anchor)) = dest_url.trim_start_matches("@/").split_once('#') {
                        let line = line_of_offset(body, range.start);
                        anchor_links.push(AnchorLink { target: target.to_owned(), anchor: anchor.to_owned(), line });
                    }
                    let dest_url = self.resolve_link(&dest_url).ok_or_else(|| {
                        Error::new(format!("internal link `{dest_url}` points to no page or section"))
                            .at_line(Some(line_of_offset(body, range.start)))
                            .with_hint("link to a file under content/, e.g. `@/blog/hello.md` or `@/blog/_index.md`")
                    })?;
                    events.push(Event::Start(Tag::Link { link_type, dest_url: dest_url.into(), title, id }));
                }
                Event::Start(Tag::Link { dest_url, title, .. }) if is_external(&dest_url) && self.marks_external() => {
                    events.push(Event::InlineHtml(self.external_link(&dest_url, &title).into()));
                }
                Event::Text(ref text) => {
                    word_count += text.split_whitespace().count();
                    events.push(event);
                }
                event => events.push(event),
            }
        }
        let toc = self.add_heading_ids(&mut events);
        // Looked for after the heading anchors went in, which move indices.
        let more_at =
            events.iter().position(|e| matches!(e, Event::Html(h) | Event::InlineHtml(h) if h.trim() == MORE_MARKER));
        let more_at = more_at
            .map(|at| if at > 0 && matches!(events[at - 1], Event::Start(Tag::HtmlBlock)) { at - 1 } else { at });
        let summary = match more_at {
            Some(end) => Some(to_html(&events[..end])),
            None => first_paragraph(&events).map(to_html),
        };
        // Where the summary ends, the page has an anchor to continue reading
        // from, as Zola writes it.
        if let Some(at) = more_at {
            let marker_at = events[at..]
                .iter()
                .position(|e| matches!(e, Event::Html(h) | Event::InlineHtml(h) if h.trim() == MORE_MARKER));
            if let Some(offset) = marker_at {
                events[at + offset] = Event::Html(CONTINUE_READING.into());
            }
        }
        Ok(Rendered {
            html: to_html(&footnotes_last(events)),
            summary,
            toc,
            word_count,
            anchor_links,
            shortcodes: Vec::new(),
        })
    }

    /// Whether external links get anything of their own.
    fn marks_external(&self) -> bool {
        let o = self.options;
        o.external_links_target_blank
            || o.external_links_no_follow
            || o.external_links_no_referrer
            || o.external_links_class.is_some()
    }

    /// The opening tag of an external link, as the `external_links_*`
    /// options ask (its closing tag is pulldown-cmark's own).
    fn external_link(&self, href: &str, title: &str) -> String {
        let o = self.options;
        let mut tag = format!("<a href=\"{}\"", escape_html(href));
        if !title.is_empty() {
            tag.push_str(&format!(" title=\"{}\"", escape_html(title)));
        }
        if let Some(class) = &o.external_links_class {
            tag.push_str(&format!(" class=\"{}\"", escape_html(class)));
        }
        let rel: Vec<&str> = [
            (o.external_links_target_blank, "noopener"),
            (o.external_links_no_follow, "nofollow"),
            (o.external_links_no_referrer, "noreferrer"),
        ]
        .into_iter()
        .filter_map(|(on, word)| on.then_some(word))
        .collect();
        if o.external_links_target_blank {
            tag.push_str(" target=\"_blank\"");
        }
        if !rel.is_empty() {
            tag.push_str(&format!(" rel=\"{}\"", rel.join(" ")));
        }
        tag.push('>');
        tag
    }

    fn resolve_link(&self, dest: &str) -> Option<String> {
        let target = dest.strip_prefix("@/")?;
        let (file, anchor) = match target.split_once('#') {
            Some((file, anchor)) => (file, Some(anchor)),
            None => (target, None),
        };
        let path = (self.resolve)(file)?;
        Some(match anchor {
            Some(anchor) => format!("{path}#{anchor}"),
            None => path,
        })
    }

    /// Gives every heading a unique id (unless written with `{#id}`) and, when
    /// configured, an anchor link; returns the table of contents.
    fn add_heading_ids(&self, events: &mut Vec<Event<'_>>) -> Vec<Heading> {
        let mut toc = Vec::new();
        let mut used = HashSet::new();
        let mut index = 0;
        while index < events.len() {
            let Event::Start(Tag::Heading { level, id, .. }) = &events[index] else {
                index += 1;
                continue;
            };
            let level = *level as u8;
            let written_id = id.as_ref().map(|id| id.to_string());
            let end = events[index..]
                .iter()
                .position(|e| matches!(e, Event::End(TagEnd::Heading(_))))
                .map_or(events.len(), |offset| index + offset);
            let title: String = events[index + 1..end]
                .iter()
                .filter_map(|e| match e {
                    Event::Text(t) | Event::Code(t) => Some(t.as_ref()),
                    _ => None,
                })
                .collect();
            let id = written_id.unwrap_or_else(|| unique_id(&title, &mut used));
            used.insert(id.clone());
            if let Event::Start(Tag::Heading { id: slot, .. }) = &mut events[index] {
                *slot = Some(CowStr::from(id.clone()));
            }
            let mut end = end;
            if self.options.heading_anchors {
                let href = escape_html(&id);
                let anchor = format!("<a class=\"anchor\" href=\"#{href}\" aria-label=\"Link to this section\">#</a>");
                match self.options.anchor_place {
                    AnchorPlace::Right => events.insert(end, Event::InlineHtml(anchor.into())),
                    AnchorPlace::Left => events.insert(index + 1, Event::InlineHtml(anchor.into())),
                    AnchorPlace::Heading => {
                        events.insert(end, Event::InlineHtml("</a>".into()));
                        let open = format!("<a class=\"anchor-heading\" href=\"#{href}\">");
                        events.insert(index + 1, Event::InlineHtml(open.into()));
                        end += 1;
                    }
                }
                end += 1;
            }
            toc.push(Heading { level, id, title });
            index = end + 1;
        }
        toc
    }
}

/// A link to another site.
fn is_external(href: &str) -> bool {
    href.starts_with("http://") || href.starts_with("https://") || href.starts_with("//")
}

fn unique_id(title: &str, used: &mut HashSet<String>) -> String {
    let base = match slug::slugify(title) {
        slug if slug.is_empty() => "section".to_owned(),
        slug => slug,
    };
    let mut id = base.clone();
    let mut n = 1;
    while used.contains(&id) {
        id = format!("{base}-{n}");
        n += 1;
    }
    id
}

fn first_paragraph<'e, 'a>(events: &'e [Event<'a>]) -> Option<&'e [Event<'a>]> {
    let start = events.iter().position(|e| matches!(e, Event::Start(Tag::Paragraph)))?;
    let end = events[start..].iter().position(|e| matches!(e, Event::End(TagEnd::Paragraph)))?;
    Some(&events[start..=start + end])
}

/// Moves footnote definitions, written wherever the author liked, to one
/// `<section class="footnotes">` at the end, where readers expect them.
fn footnotes_last(events: Vec<Event<'_>>) -> Vec<Event<'_>> {
    let mut body = Vec::with_capacity(events.len());
    let mut notes = Vec::new();
    let mut depth = 0usize;
    for event in events {
        match &event {
            Event::Start(Tag::FootnoteDefinition(_)) => depth += 1,
            Event::End(TagEnd::FootnoteDefinition) => {
                depth -= 1;
                notes.push(event);
                continue;
            }
            _ => {}
        }
        if depth > 0 { notes.push(event) } else { body.push(event) }
    }
    if !notes.is_empty() {
        body.push(Event::Html("<section class=\"footnotes\">\n".into()));
        body.extend(notes);
        body.push(Event::Html("</section>\n".into()));
    }
    body
}

fn to_html(events: &[Event<'_>]) -> String {
    let mut out = String::new();
    html::push_html(&mut out, events.iter().cloned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render_with(body: &str, options: MarkdownConfig) -> Result<Rendered> {
        let highlighter = Highlighter::default();
        let resolve = |path: &str| (path == "blog/hello.md").then(|| "/blog/hello/".to_owned());
        Renderer { options: &options, highlighter: &highlighter, resolve: &resolve }.render(body)
    }

    fn render(body: &str) -> Rendered {
        render_with(body, MarkdownConfig::default()).unwrap()
    }

    #[test]
    fn headings_get_unique_ids_and_anchors() {
        let out = render("## Intro\n\n## Intro\n\n### Custom {#mine}\n");
        let ids: Vec<_> = out.toc.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids, ["intro", "intro-1", "mine"]);
        assert!(out.html.contains("<h2 id=\"intro\">Intro<a class=\"anchor\" href=\"#intro\""), "{}", out.html);
    }

    #[test]
    fn external_links_get_what_the_options_ask() {
        let options = MarkdownConfig {
            external_links_target_blank: true,
            external_links_no_follow: true,
            external_links_class: Some("ext".into()),
            ..MarkdownConfig::default()
        };
        let out = render_with("[a](https://a.example \"A\") and [b](@/blog/hello.md)", options).unwrap();
        assert!(
            out.html.contains(
                "<a href=\"https://a.example\" title=\"A\" class=\"ext\" target=\"_blank\" rel=\"noopener nofollow\">a</a>"
            ),
            "{}",
            out.html
        );
        assert!(out.html.contains("<a href=\"/blog/hello/\">b</a>"), "internal links are left alone: {}", out.html);
        assert!(render("[a](https://a.example)").html.contains("<a href=\"https://a.example\">a</a>"));
    }

    #[test]
    fn anchor_links_go_where_asked() {
        let with = |place| MarkdownConfig { anchor_place: place, ..MarkdownConfig::default() };
        let left = render_with("## Intro\n", with(AnchorPlace::Left)).unwrap().html;
        assert!(left.contains("<h2 id=\"intro\"><a class=\"anchor\" href=\"#intro\""), "{left}");
        let heading = render_with("## Intro\n\n## Next\n", with(AnchorPlace::Heading)).unwrap();
        assert!(
            heading.html.contains("<h2 id=\"intro\"><a class=\"anchor-heading\" href=\"#intro\">Intro</a></h2>"),
            "{}",
            heading.html
        );
        assert_eq!(heading.toc.len(), 2);
    }

    #[test]
    fn internal_links_resolve_with_anchor() {
        let out = render("[hi](@/blog/hello.md#top)");
        assert!(out.html.contains("href=\"/blog/hello/#top\""), "{}", out.html);
    }

    #[test]
    fn broken_internal_link_names_target_and_line() {
        let err = render_with("one\n\ntwo [x](@/blog/missing.md)\n", MarkdownConfig::default()).unwrap_err();
        assert_eq!(err.line, Some(3));
        assert!(err.message.contains("@/blog/missing.md"));
    }

    #[test]
    fn summary_stops_at_more_marker() {
        let out = render("First.\n\nSecond.\n\n<!-- more -->\n\nThird.\n");
        let summary = out.summary.unwrap();
        assert!(summary.contains("Second.") && !summary.contains("Third."), "{summary}");
    }

    #[test]
    fn the_marker_becomes_an_anchor_to_continue_reading() {
        let out = render("First.\n\n<!-- more -->\n\nSecond.\n");
        assert!(out.html.contains("<span id=\"continue-reading\"></span>"), "{}", out.html);
        assert!(!out.html.contains("<!-- more -->"));
    }

    #[test]
    fn summary_after_headings_is_whole() {
        let out = render("## One\n\nFirst.\n\n## Two\n\nSecond.\n\n<!-- more -->\n\nThird.\n");
        let summary = out.summary.unwrap();
        assert!(summary.trim_end().ends_with("<p>Second.</p>"), "{summary}");
    }

    #[test]
    fn summary_defaults_to_first_paragraph() {
        let out = render("# Title\n\nFirst words.\n\nSecond.\n");
        assert_eq!(out.summary.as_deref(), Some("<p>First words.</p>\n"));
    }

    #[test]
    fn extensions_are_on() {
        let out = render("| a |\n|---|\n| b |\n\n~~old~~ - [x] done[^1]\n\n- [ ] todo\n\n[^1]: note\n\n\"quoted\"");
        for needle in ["<table>", "<del>", "type=\"checkbox\"", "footnote", "\u{201c}quoted\u{201d}"] {
            assert!(out.html.contains(needle), "missing {needle}: {}", out.html);
        }
    }

    #[test]
    fn footnotes_are_collected_at_the_end() {
        let out = render("Text[^a].\n\n[^a]: The note.\n\nMore text.\n");
        let notes = out.html.find("<section class=\"footnotes\">").expect("footnotes section");
        assert!(out.html.find("More text.").unwrap() < notes, "{}", out.html);
        assert!(out.html[notes..].contains("The note."));
    }

    #[test]
    fn word_count_skips_code() {
        let out = render("one two three\n\n```rust\nlet a = b;\n```\n");
        assert_eq!(out.word_count, 3);
        assert_eq!(out.reading_time(), 1);
        assert!(out.html.contains("data-lang=\"rust\""));
    }
}

//! Syntax highlighting of fenced code, as CSS classes rather than inline
//! styles, so that one stylesheet (`syntax.css`) serves light and dark mode.
//!
//! The grammars are bat's (through `two-face`): TOML, YAML, TypeScript,
//! SCSS, Dockerfile, Jinja and the rest besides syntect's own, and a site's
//! own (TextMate JSON or `.sublime-syntax`, see [`super::grammars`]), which
//! get a highlighter of their own ([`SiteHighlighter`]). A fence may ask, as
//! in Zola, for `linenos`, `linenostart=N`, `hl_lines=2 4-6` and
//! `hide_lines=1-3`; an unknown language is plain text for that block, an
//! unknown option is ignored.

use std::sync::{Arc, OnceLock};

use syntect::highlighting::ThemeSet;
use syntect::html::{ClassStyle, ClassedHTMLGenerator, css_for_theme_with_class_style, line_tokens_to_classed_spans};
use syntect::parsing::{ParseState, ScopeStack, SyntaxSet};
use syntect::util::LinesWithEndings;

use crate::build::html::escape_html;

const CLASS_STYLE: ClassStyle = ClassStyle::SpacedPrefixed { prefix: "hl-" };

/// Highlights code by language name; built once per build and shared.
pub struct Highlighter {
    syntaxes: SyntaxSet,
}

impl Default for Highlighter {
    fn default() -> Self {
        Highlighter::with_syntaxes(two_face::syntax::extra_newlines())
    }
}

impl Highlighter {
    /// A highlighter that knows `syntaxes` (loaded with newlines).
    pub fn with_syntaxes(syntaxes: SyntaxSet) -> Highlighter {
        Highlighter { syntaxes }
    }

    /// The one highlighter of the process. Loading the syntaxes and compiling
    /// their patterns costs far more than highlighting a page, so it is done
    /// once and kept (it is never changed after loading).
    pub fn shared() -> &'static Highlighter {
        static SHARED: OnceLock<Highlighter> = OnceLock::new();
        SHARED.get_or_init(Highlighter::default)
    }

    /// The `<pre>` block for `code` as `fence` asks, highlighted when
    /// `highlight` and its language is known (by name or file extension,
    /// e.g. `rust` or `rs`), escaped as it is otherwise.
    pub fn code_block(&self, fence: &Fence, code: &str, highlight: bool) -> String {
        let lang = fence.lang.as_str();
        let lang_attr = if lang.is_empty() { String::new() } else { format!(" data-lang=\"{}\"", escape_html(lang)) };
        let syntax = if highlight && !lang.is_empty() { self.syntaxes.find_syntax_by_token(lang) } else { None };
        let inner = if fence.per_line() {
            self.lines(fence, code, syntax).unwrap_or_else(|| self.lines(fence, code, None).unwrap_or_default())
        } else {
            syntax.and_then(|syntax| self.whole(syntax, code)).unwrap_or_else(|| escape_html(code))
        };
        format!("<pre class=\"code\"{lang_attr}><code>{inner}</code></pre>\n")
    }

    fn whole(&self, syntax: &syntect::parsing::SyntaxReference, code: &str) -> Option<String> {
        let mut generator = ClassedHTMLGenerator::new_with_class_style(syntax, &self.syntaxes, CLASS_STYLE);
        for line in LinesWithEndings::from(code) {
            generator.parse_html_for_line_which_includes_newline(line).ok()?;
        }
        Some(generator.finalize())
    }

    /// Each line in a `<span class="line">` of its own (with `hl` when
    /// highlighted, its number first with `linenos`, left out when hidden),
    /// every span it has open closed at its end and reopened on the next.
    fn lines(&self, fence: &Fence, code: &str, syntax: Option<&syntect::parsing::SyntaxReference>) -> Option<String> {
        let mut state = syntax.map(|syntax| (ParseState::new(syntax), ScopeStack::new()));
        let mut html = String::new();
        for (index, line) in LinesWithEndings::from(code).enumerate() {
            let number = index + 1;
            let body = match state.as_mut() {
                Some((parse, stack)) => {
                    let ops = parse.parse_line(line, &self.syntaxes).ok()?;
                    let reopened: String = stack.as_slice().iter().map(|scope| open_span(*scope)).collect();
                    let (spans, _) = line_tokens_to_classed_spans(line, &ops, CLASS_STYLE, stack).ok()?;
                    format!("{reopened}{spans}{}", "</span>".repeat(stack.len()))
                }
                None => escape_html(line),
            };
            if in_ranges(&fence.hide_lines, number) {
                continue;
            }
            let class = if in_ranges(&fence.hl_lines, number) { "line hl" } else { "line" };
            html.push_str(&format!("<span class=\"{class}\">"));
            if fence.linenos {
                html.push_str(&format!("<span class=\"ln\">{}</span>", fence.linenostart.saturating_add(number - 1)));
            }
            html.push_str(&body);
            html.push_str("</span>");
        }
        Some(html)
    }
}

/// A digest of a site's grammar files: their paths and contents.
pub type Fingerprint = [u8; 32];

/// The highlighter a site's Markdown is rendered with: the shared one, or
/// one that also knows the site's own grammars. Two are equal when they know
/// the same grammar files with the same contents, which is what decides
/// whether rendered Markdown can be reused after a configuration change.
#[derive(Clone, Default)]
pub struct SiteHighlighter(Option<(Fingerprint, Arc<Highlighter>)>);

impl SiteHighlighter {
    /// The highlighter of a site whose grammars have `fingerprint`.
    pub fn with_grammars(fingerprint: Fingerprint, highlighter: Arc<Highlighter>) -> SiteHighlighter {
        SiteHighlighter(Some((fingerprint, highlighter)))
    }

    /// The highlighter to render with.
    pub fn get(&self) -> &Highlighter {
        match &self.0 {
            Some((_, highlighter)) => highlighter,
            None => Highlighter::shared(),
        }
    }

    fn fingerprint(&self) -> Option<&Fingerprint> {
        self.0.as_ref().map(|(fingerprint, _)| fingerprint)
    }
}

impl PartialEq for SiteHighlighter {
    fn eq(&self, other: &Self) -> bool {
        self.fingerprint() == other.fingerprint()
    }
}

impl Eq for SiteHighlighter {}

impl std::fmt::Debug for SiteHighlighter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.fingerprint() {
            Some(fingerprint) => {
                let hex: String = fingerprint.iter().take(6).map(|byte| format!("{byte:02x}")).collect();
                write!(f, "SiteHighlighter(grammars {hex}…)")
            }
            None => f.write_str("SiteHighlighter(shared)"),
        }
    }
}

/// What a fence's info string asks: ```` ```rust,linenos,hl_lines=2 4-6 ````.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fence {
    /// The language, `""` when none.
    pub lang: String,
    /// Number the lines.
    pub linenos: bool,
    /// The number of the first line.
    pub linenostart: usize,
    /// Lines to mark, 1-based ranges within the block.
    pub hl_lines: Vec<(usize, usize)>,
    /// Lines to leave out, 1-based ranges within the block.
    pub hide_lines: Vec<(usize, usize)>,
}

impl Fence {
    /// Reads `rust,linenos,linenostart=10,hl_lines=2 4-6,hide_lines=1`;
    /// what it cannot read is ignored.
    pub fn parse(info: &str) -> Fence {
        let mut parts = info.split(',').map(str::trim);
        let lang = parts.next().unwrap_or_default().split_whitespace().next().unwrap_or_default().to_owned();
        let mut fence = Fence { lang, linenostart: 1, ..Fence::default() };
        for part in parts {
            match part.split_once('=').map(|(k, v)| (k.trim(), v.trim())) {
                None if part == "linenos" => fence.linenos = true,
                Some(("linenostart", n)) => fence.linenostart = n.parse().unwrap_or(1),
                Some(("hl_lines", ranges)) => fence.hl_lines = parse_ranges(ranges),
                Some(("hide_lines", ranges)) => fence.hide_lines = parse_ranges(ranges),
                _ => {}
            }
        }
        fence
    }

    /// Whether the block is written line by line.
    fn per_line(&self) -> bool {
        self.linenos || !self.hl_lines.is_empty() || !self.hide_lines.is_empty()
    }
}

/// `2 4-6` → `[(2, 2), (4, 6)]`.
fn parse_ranges(text: &str) -> Vec<(usize, usize)> {
    text.split_whitespace()
        .filter_map(|item| match item.split_once('-') {
            Some((from, to)) => Some((from.parse().ok()?, to.parse().ok()?)),
            None => item.parse().ok().map(|n| (n, n)),
        })
        .collect()
}

fn in_ranges(ranges: &[(usize, usize)], line: usize) -> bool {
    ranges.iter().any(|&(from, to)| (from..=to).contains(&line))
}

/// The `<span>` syntect opens for `scope`, with the same classes.
fn open_span(scope: syntect::parsing::Scope) -> String {
    let classes: Vec<String> = scope.build_string().split('.').map(|atom| format!("hl-{atom}")).collect();
    format!("<span class=\"{}\">", classes.join(" "))
}

/// The stylesheet for highlighted code: a light theme, and a dark one for
/// readers whose system prefers dark. Each sits in its own media query, since
/// the two themes do not style the same classes and must not mix.
pub fn stylesheet() -> String {
    let themes = ThemeSet::load_defaults();
    let css = |name: &str| {
        themes
            .themes
            .get(name)
            .and_then(|theme| css_for_theme_with_class_style(theme, CLASS_STYLE).ok())
            .unwrap_or_default()
    };
    format!(
        "/* Generated by Bengal from syntect's {light} and {dark} themes. */\n\
         @media (prefers-color-scheme: light) {{\n{}}}\n@media (prefers-color-scheme: dark) {{\n{}}}\n",
        css(LIGHT_THEME),
        css(DARK_THEME),
        light = LIGHT_THEME,
        dark = DARK_THEME,
    )
}

const LIGHT_THEME: &str = "InspiredGitHub";
const DARK_THEME: &str = "base16-ocean.dark";

#[cfg(test)]
mod tests {
    use super::*;

    fn block(info: &str, code: &str) -> String {
        Highlighter::shared().code_block(&Fence::parse(info), code, true)
    }

    #[test]
    fn known_language_gets_classes() {
        let html = block("rust", "fn main() {}\n");
        assert!(html.starts_with("<pre class=\"code\" data-lang=\"rust\"><code>"));
        assert!(html.contains("class=\"hl-"), "{html}");
    }

    #[test]
    fn the_languages_sites_use_are_known() {
        for lang in [
            "toml",
            "yaml",
            "json",
            "dockerfile",
            "typescript",
            "ts",
            "scss",
            "jinja2",
            "sh",
            "rust",
            "python",
            "go",
            "c",
            "java",
        ] {
            assert!(block(lang, "a = 1\n").contains("class=\"hl-"), "{lang} is not highlighted");
        }
    }

    #[test]
    fn unknown_language_is_escaped_plain() {
        let html = block("nope", "<b>&</b>\n");
        assert_eq!(html, "<pre class=\"code\" data-lang=\"nope\"><code>&lt;b&gt;&amp;&lt;/b&gt;\n</code></pre>\n");
    }

    #[test]
    fn fence_options() {
        let fence = Fence::parse("rust, linenos, linenostart=10, hl_lines=2 4-5, hide_lines=1, colour=red");
        assert_eq!(fence.lang, "rust");
        assert!(fence.linenos);
        assert_eq!(
            (fence.linenostart, fence.hl_lines.as_slice(), fence.hide_lines.as_slice()),
            (10, &[(2, 2), (4, 5)][..], &[(1, 1)][..])
        );
        assert_eq!(Fence::parse("").lang, "");
    }

    #[test]
    fn numbered_marked_and_hidden_lines_keep_spans_balanced() {
        let code = "/* a\n comment */\nfn one() {}\nfn two() {}\n";
        let html = block("rust,linenos,linenostart=7,hl_lines=3,hide_lines=4", code);
        assert_eq!(html.matches("<span class=\"line").count(), 3, "{html}");
        assert!(html.contains("<span class=\"line hl\"><span class=\"ln\">9</span>"), "{html}");
        assert!(!html.contains("two"), "hidden: {html}");
        assert_eq!(html.matches("<span").count(), html.matches("</span>").count(), "{html}");
        // The comment's second line is still a comment.
        let second = html.split("<span class=\"line\">").nth(2).unwrap_or_default();
        assert!(second.contains("hl-comment"), "{html}");
        let plain = Highlighter::shared().code_block(&Fence::parse("rust,linenos"), "a\n", false);
        assert_eq!(
            plain,
            "<pre class=\"code\" data-lang=\"rust\"><code><span class=\"line\"><span class=\"ln\">1</span>a\n</span></code></pre>\n"
        );
    }

    #[test]
    fn stylesheet_has_light_and_dark() {
        let css = stylesheet();
        assert!(css.contains(".hl-"));
        assert!(css.contains("prefers-color-scheme: dark"));
        assert!(css.contains("prefers-color-scheme: light"));
    }
}

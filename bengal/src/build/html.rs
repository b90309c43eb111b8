//! HTML escaping, shared by Markdown, highlighting and templates.

/// Escapes text for HTML element content and attribute values.
///
/// Unlike Tera's default it leaves `/` alone: `&#x2F;` in every URL is
/// correct but makes the output unreadable.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

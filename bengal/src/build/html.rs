//! HTML escaping, shared by Markdown, highlighting and templates.

/// Escapes text for HTML element content and attribute values.
///
/// Unlike Tera's default it leaves `/` alone: `&#x2F;` in every URL is
/// correct but makes the output unreadable.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    // Runs without a special character are copied whole: they are most text.
    let mut plain = 0;
    for (at, byte) in text.bytes().enumerate() {
        let entity = match byte {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&text[plain..at]);
        out.push_str(entity);
        plain = at + 1;
    }
    out.push_str(&text[plain..]);
    out
}

#[cfg(test)]
mod tests {
    use super::escape_html;

    #[test]
    fn escapes_the_five_and_keeps_the_rest() {
        assert_eq!(
            escape_html(r#"<a href="/x?a=1&b='2'">é/ü</a>"#),
            "&lt;a href=&quot;/x?a=1&amp;b=&#39;2&#39;&quot;&gt;é/ü&lt;/a&gt;"
        );
        assert_eq!(escape_html(""), "");
        assert_eq!(escape_html("plain"), "plain");
    }
}

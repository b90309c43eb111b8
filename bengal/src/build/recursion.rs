//! Templates that would recurse without end, or deeper than a thread's
//! stack: Tera's parser and renderer recurse once a nesting level and once
//! an include, with no limit of their own, and an overflowed stack aborts the
//! process, which would end a dev server instead of failing one build. Both
//! are refused by name and line before Tera parses or renders them.
//!
//! A macro that calls itself without end is not caught: whether it ends
//! depends on its arguments, which only rendering tells.

use std::collections::HashMap;

use tera::ast::Node;

/// The deepest a template may nest blocks (`if`, `for`, `macro`, `block`,
/// `filter`) or brackets within one tag. Real templates nest a dozen deep;
/// the dev server's threads overflow somewhere past five hundred.
pub const MAX_NESTING: usize = 100;

/// The 1-based line of the first tag at which `text` nests deeper than
/// [`MAX_NESTING`].
pub fn too_deep(text: &str) -> Option<usize> {
    let mut blocks = 0usize;
    let mut at = 0;
    while let Some(found) = text[at..].find('{') {
        let start = at + found;
        let close = match text.get(start + 1..start + 2) {
            Some("{") => "}}",
            Some("%") => "%}",
            Some("#") => "#}",
            _ => {
                at = start + 1;
                continue;
            }
        };
        let inner_start = start + 2;
        let end = text[inner_start..].find(close).map_or(text.len(), |end| inner_start + end);
        let inner = &text[inner_start..end];
        at = (end + close.len()).min(text.len());
        if close == "#}" {
            continue;
        }
        if close == "%}" {
            match inner.trim_matches('-').split_whitespace().next().unwrap_or("") {
                "if" | "for" | "macro" | "block" | "filter" => blocks += 1,
                "endif" | "endfor" | "endmacro" | "endblock" | "endfilter" => blocks = blocks.saturating_sub(1),
                // Its text is not Tera's: skipped to its end.
                "raw" => at = text[at..].find("endraw").map_or(text.len(), |end| at + end),
                _ => {}
            }
        }
        if blocks > MAX_NESTING || bracket_depth(inner) > MAX_NESTING {
            return Some(text[..start].matches('\n').count() + 1);
        }
    }
    None
}

/// The deepest `(` and `[` nest in a tag's text, strings aside.
fn bracket_depth(tag: &str) -> usize {
    let (mut depth, mut deepest, mut quote) = (0usize, 0, None);
    for c in tag.chars() {
        match (quote, c) {
            (Some(open), c) if c == open => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'' | '`') => quote = Some(c),
            (None, '(' | '[') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (None, ')' | ']') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// A round of includes that never ends: every template it passes through,
/// the first again at the end (`a.html`, `b.html`, `a.html`). Only includes
/// a template always renders count (not those inside an `if`, a `for` or a
/// macro, which may stop by a condition); of several names, the first that
/// exists is the one Tera renders.
pub fn endless_include<'a>(templates: &HashMap<&'a str, &'a [Node]>, from: &'a str) -> Option<Vec<&'a str>> {
    let mut path = vec![from];
    let mut done = std::collections::HashSet::new();
    endless_from(templates, &mut path, &mut done)
}

fn endless_from<'a>(
    templates: &HashMap<&'a str, &'a [Node]>,
    path: &mut Vec<&'a str>,
    done: &mut std::collections::HashSet<&'a str>,
) -> Option<Vec<&'a str>> {
    let current = *path.last()?;
    let mut included = Vec::new();
    always_included(templates.get(current).copied().unwrap_or_default(), templates, &mut included);
    for next in included {
        if let Some(first) = path.iter().position(|name| *name == next) {
            let mut round = path[first..].to_vec();
            round.push(next);
            return Some(round);
        }
        if done.contains(next) {
            continue;
        }
        path.push(next);
        if let Some(round) = endless_from(templates, path, done) {
            return Some(round);
        }
        path.pop();
        done.insert(next);
    }
    None
}

/// The templates `nodes` always include, in order.
fn always_included<'a>(nodes: &'a [Node], templates: &HashMap<&'a str, &'a [Node]>, found: &mut Vec<&'a str>) {
    for node in nodes {
        match node {
            Node::Include(_, names, _) => {
                if let Some((name, _)) = names.iter().find_map(|name| templates.get_key_value(name.as_str())) {
                    found.push(name);
                }
            }
            Node::Block(_, block, _) => always_included(&block.body, templates, found),
            Node::FilterSection(_, section, _) => always_included(&section.body, templates, found),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_measured_in_blocks_and_in_brackets_within_a_tag() {
        let ok = format!("{}{}", "{% if a %}".repeat(MAX_NESTING), "{% endif %}".repeat(MAX_NESTING));
        assert_eq!(too_deep(&ok), None);
        let deep = format!("a\n{}", "{% for x in y %}".repeat(MAX_NESTING + 1));
        assert_eq!(too_deep(&deep), Some(2));
        assert_eq!(too_deep(&format!("{{{{ {} }}}}", "(".repeat(MAX_NESTING + 1))), Some(1));
        // Brackets in strings, comments and raw text are not Tera's nesting.
        let quoted = format!("{{{{ \"{}\" }}}}{{# {} #}}", "(".repeat(500), "[".repeat(500));
        assert_eq!(too_deep(&quoted), None);
        let raw = format!("{{% raw %}}{}{{% endraw %}}", "{% if a %}".repeat(500));
        assert_eq!(too_deep(&raw), None);
        // CSS and scripts between tags nest as they like.
        assert_eq!(too_deep(&"{".repeat(500)), None);
    }
}

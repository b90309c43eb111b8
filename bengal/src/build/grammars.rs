//! A site's own syntax grammars, for code in languages bat's grammars do not
//! know: Zola 0.22's `[markdown.highlighting] extra_grammars` (TextMate
//! grammars in JSON, as VS Code uses them; `[markdown] extra_grammars` in
//! `bengal.toml`) and older Zola's `[markdown] extra_syntaxes_and_themes`
//! (folders of Sublime Text `.sublime-syntax` files; their `.tmTheme` files
//! are passed over, as Bengal styles code with `syntax.css` and the
//! `highlight_theme` that would name one is already in the warning).
//!
//! syntect reads only `.sublime-syntax`, so a TextMate grammar is rewritten
//! as one, in JSON, which is YAML too ([`to_sublime`]). Its rules map one to
//! one but for `begin`/`while`, approximated by a block that ends at the first
//! line that does not continue it, and for what is left out: `injections`
//! and patterns inside captures. An include of a grammar or a rule the set
//! does not have is skipped, as in TextMate; one that leads back to where
//! it is included from is dropped ([`break_include_cycles`]), where syntect
//! would loop for ever.
//!
//! Adding grammars means linking every syntax again, which costs far more
//! than building a small site: the result is kept for the process, keyed by
//! the grammar files' paths and contents, so the dev server's rebuilds reuse
//! it and an edited grammar is read again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Map, Value, json};
use sha2::Digest;
use syntect::parsing::syntax_definition::{ContextReference, Pattern};
use syntect::parsing::{Regex, Scope, SyntaxDefinition, SyntaxSet};

use crate::build::highlight::{Fingerprint, Highlighter, SiteHighlighter};
use crate::error::{Error, Result};
use crate::paths;

/// The highlighter for a site whose grammars are `files` (TextMate JSON, or
/// `.sublime-syntax` by their name) and the `.sublime-syntax` files in
/// `dirs`, all relative to `root`; the shared one when there are none.
pub fn site_highlighter(root: &Path, files: &[PathBuf], dirs: &[PathBuf]) -> Result<SiteHighlighter> {
    if files.is_empty() && dirs.is_empty() {
        return Ok(SiteHighlighter::default());
    }
    let site = std::fs::canonicalize(root).map_err(|err| Error::io(root, "open the site", err))?;
    let mut read = Vec::new();
    read.extend(files.iter().map(|file| read_source(&site, root, file, "extra_grammars")));
    for dir in dirs {
        match read_dir(&site, root, dir) {
            Ok(found) => read.extend(found.into_iter().map(Ok)),
            Err(err) => read.push(Err(err)),
        }
    }
    let sources = crate::error::all(read)?;
    let mut hasher = sha2::Sha256::new();
    for source in &sources {
        hasher.update(source.shown.as_os_str().as_encoded_bytes());
        hasher.update([0]);
        hasher.update(source.text.len().to_le_bytes());
        hasher.update(source.text.as_bytes());
    }
    let fingerprint: Fingerprint = hasher.finalize().into();

    // One entry is enough: a process builds one site. The lock is held while
    // loading, so that two builds of the same site load it once.
    static CACHE: Mutex<Option<(Fingerprint, Arc<Highlighter>)>> = Mutex::new(None);
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((cached, highlighter)) = cache.as_ref()
        && *cached == fingerprint
    {
        return Ok(SiteHighlighter::with_grammars(fingerprint, Arc::clone(highlighter)));
    }
    let definitions = crate::error::all(sources.iter().map(Source::definition))?;
    let highlighter = Arc::new(Highlighter::with_syntaxes(syntax_set(two_face::syntax::extra_newlines(), definitions)));
    *cache = Some((fingerprint, Arc::clone(&highlighter)));
    Ok(SiteHighlighter::with_grammars(fingerprint, highlighter))
}

/// A grammar file as read.
struct Source {
    /// Its path relative to the site root, for errors.
    shown: PathBuf,
    text: String,
}

/// Reads grammar `file` (as written under `key`), which must be inside the
/// site (`site`, canonical; `root` as given).
fn read_source(site: &Path, root: &Path, file: &Path, key: &str) -> Result<Source> {
    let path = root.join(file);
    let shown = path.strip_prefix(root).unwrap_or(file).to_path_buf();
    paths::check_source(site, &path, &shown)
        .map_err(|err| Error { hint: err.hint.or_else(|| Some(missing_hint(key))), ..err })?;
    if path.is_dir() {
        return Err(Error::in_file(&shown, "is a folder, not a grammar file").with_hint(format!(
            "list grammar files in `{key}` (a folder of .sublime-syntax files goes in Zola's extra_syntaxes_and_themes)"
        )));
    }
    let text = std::fs::read_to_string(&path).map_err(|err| Error::io(&shown, "read it", err))?;
    Ok(Source { shown, text })
}

/// The `.sublime-syntax` files in `dir` and below, in name order.
fn read_dir(site: &Path, root: &Path, dir: &Path) -> Result<Vec<Source>> {
    const KEY: &str = "extra_syntaxes_and_themes";
    let path = root.join(dir);
    let shown = path.strip_prefix(root).unwrap_or(dir);
    paths::check_source(site, &path, shown)
        .map_err(|err| Error { hint: err.hint.or_else(|| Some(missing_hint(KEY))), ..err })?;
    if !path.is_dir() {
        return Err(Error::in_file(shown, "is not a folder")
            .with_hint(format!("`{KEY}` lists folders holding .sublime-syntax files")));
    }
    let mut sources = Vec::new();
    for entry in walkdir::WalkDir::new(&path).sort_by_file_name() {
        let entry = entry.map_err(|err| paths::walk_error(root, &path, err))?;
        paths::check_entry(site, root, &entry)?;
        let relative = entry.path().strip_prefix(root).unwrap_or(entry.path());
        if is_sublime(relative) && !entry.path().is_dir() {
            sources.push(read_source(site, root, relative, KEY)?);
        }
    }
    Ok(sources)
}

fn missing_hint(key: &str) -> String {
    format!("fix the path in `{key}` (relative to the site root), or add the file")
}

fn is_sublime(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == "sublime-syntax")
}

impl Source {
    /// The grammar as syntect's: a `.sublime-syntax` as it is, anything else
    /// read as a TextMate grammar in JSON.
    fn definition(&self) -> Result<SyntaxDefinition> {
        let stem = self.shown.file_stem().map(|stem| stem.to_string_lossy().into_owned());
        let (yaml, kind) = if is_sublime(&self.shown) {
            (self.text.clone(), "a .sublime-syntax grammar")
        } else {
            (self.textmate_yaml()?, "a TextMate grammar")
        };
        let error = |what: String| {
            Error::in_file(&self.shown, format!("could not be loaded as {kind}: {what}")).with_hint(
                "fix the grammar (its regular expressions are Oniguruma's, as in TextMate and VS Code), \
                 or remove it from the configuration",
            )
        };
        let definition =
            SyntaxDefinition::load_from_str(&yaml, true, stem.as_deref()).map_err(|err| error(err.to_string()))?;
        // syntect tries each regex with its back-references replaced, and
        // compiles it only when first used, where a failure is a panic: one
        // that refers to a group it does not have (`a\2`) is caught here.
        // (A regex that ends a block gets the text of the block's start for
        // its back-references instead.)
        for context in definition.contexts.values() {
            for pattern in &context.patterns {
                if let Pattern::Match(pattern) = pattern
                    && !pattern.has_captures
                    && let Some(err) = Regex::try_compile(pattern.regex.regex_str())
                {
                    return Err(error(format!("regex '{}': {err}", pattern.regex.regex_str())));
                }
            }
        }
        Ok(definition)
    }

    /// The TextMate grammar as `.sublime-syntax` text.
    fn textmate_yaml(&self) -> Result<String> {
        const HINT: &str = "Bengal reads TextMate grammars in JSON (as VS Code's .tmLanguage.json) \
                            and .sublime-syntax files";
        let grammar: Value = serde_json::from_str(&self.text).map_err(|err| {
            let position = format!(" at line {} column {}", err.line(), err.column());
            let message = err.to_string();
            let message = message.strip_suffix(&position).unwrap_or(&message);
            Error::in_file(&self.shown, format!("is not valid JSON: {message}"))
                .at_line(Some(err.line()))
                .with_hint(HINT)
        })?;
        let sublime = to_sublime(&grammar).map_err(|what| {
            Error::in_file(&self.shown, format!("is not a TextMate grammar: {what}")).with_hint(HINT)
        })?;
        let mut yaml = String::new();
        flow_yaml(&sublime, &mut yaml);
        Ok(yaml)
    }
}

/// `base` with `definitions` added (a later one wins a language name or a
/// file extension).
pub fn syntax_set(base: SyntaxSet, mut definitions: Vec<SyntaxDefinition>) -> SyntaxSet {
    break_include_cycles(&mut definitions);
    let mut builder = base.into_builder();
    for definition in definitions {
        builder.add(definition);
    }
    builder.build()
}

/// Drops each include that leads back to a context it is reached from.
/// syntect follows includes depth first and remembers nothing, so such a
/// loop (`a` includes `b`, `b` includes `a` or `$self`) would never end;
/// TextMate skips a rule it is already in. (An include of what the set does
/// not have is skipped by syntect itself.) bat's syntaxes never include
/// these, so a loop can only run through them.
fn break_include_cycles(definitions: &mut [SyntaxDefinition]) {
    #[derive(PartialEq)]
    enum Visit {
        Open,
        Done,
    }
    type Node = (usize, String);
    let by_scope: HashMap<Scope, usize> = definitions.iter().enumerate().map(|(i, d)| (d.scope, i)).collect();
    let by_name: HashMap<&str, usize> = definitions.iter().enumerate().map(|(i, d)| (d.name.as_str(), i)).collect();
    let target = |from: usize, reference: &ContextReference| -> Option<Node> {
        let (syntax, context) = match reference {
            ContextReference::Named { 0: name, .. } => (from, Some(name)),
            ContextReference::ByScope { scope, sub_context, .. } => (*by_scope.get(scope)?, sub_context.as_ref()),
            ContextReference::File { name, sub_context, .. } => (*by_name.get(name.as_str())?, sub_context.as_ref()),
            _ => return None,
        };
        let context = context.map_or("main", String::as_str);
        definitions[syntax].contexts.contains_key(context).then(|| (syntax, context.to_owned()))
    };
    // Walked from where parsing starts (`__main`), then from every other
    // context, in name order so that the same include is always dropped.
    let mut starts: Vec<Node> = Vec::new();
    for (index, definition) in definitions.iter().enumerate() {
        let mut names: Vec<&String> = definition.contexts.keys().collect();
        names.sort_by_key(|name| (name.as_str() != "__main", name.as_str()));
        starts.extend(names.into_iter().map(|name| (index, name.clone())));
    }
    let mut visits: HashMap<Node, Visit> = HashMap::new();
    let mut dropped: Vec<(Node, usize)> = Vec::new();
    for start in starts {
        if visits.contains_key(&start) {
            continue;
        }
        visits.insert(start.clone(), Visit::Open);
        let mut path: Vec<(Node, usize)> = vec![(start, 0)];
        while let Some(((syntax, context), next)) = path.last_mut() {
            let patterns = &definitions[*syntax].contexts[context.as_str()].patterns;
            let Some(pattern) = patterns.get(*next) else {
                let (node, _) = path.pop().unwrap_or_default();
                visits.insert(node, Visit::Done);
                continue;
            };
            let index = *next;
            *next += 1;
            let Pattern::Include(reference) = pattern else { continue };
            let node = (*syntax, context.clone());
            match target(node.0, reference) {
                Some(to) if visits.get(&to) == Some(&Visit::Open) => dropped.push((node, index)),
                Some(to) if !visits.contains_key(&to) => {
                    visits.insert(to.clone(), Visit::Open);
                    path.push((to, 0));
                }
                _ => {}
            }
        }
    }
    // Each context's drops were found in rising order: removed from the last.
    for ((syntax, context), index) in dropped.into_iter().rev() {
        if let Some(context) = definitions[syntax].contexts.get_mut(&context) {
            context.patterns.remove(index);
        }
    }
}

/// A TextMate grammar as the structure of a `.sublime-syntax`: its
/// `patterns` the context `main`, each rule of its `repository` (and of any
/// rule's own) a context of its own.
fn to_sublime(grammar: &Value) -> Result<Value, &'static str> {
    let grammar = grammar.as_object().ok_or("it is not a JSON object")?;
    let scope = text(grammar, "scopeName").ok_or("it has no \"scopeName\"")?;
    let patterns = grammar.get("patterns").and_then(Value::as_array).ok_or("it has no \"patterns\" list")?;
    let mut converter = Converter::default();
    if let Some(repository) = grammar.get("repository").and_then(Value::as_object) {
        converter.pending.extend(repository);
    }
    let main = converter.rules(patterns);
    let mut contexts = Map::new();
    contexts.insert("main".to_owned(), Value::Array(main));
    // A rule's own repository is merged into the grammar's: the first rule of
    // a name wins, where TextMate looks in the nearest repository first.
    while !converter.pending.is_empty() {
        for (name, rule) in std::mem::take(&mut converter.pending) {
            if !contexts.contains_key(&context_name(name)) {
                let items = converter.rule(rule);
                contexts.insert(context_name(name), Value::Array(items));
            }
        }
    }
    let mut sublime = Map::new();
    if let Some(name) = text(grammar, "name") {
        sublime.insert("name".to_owned(), name.into());
    }
    sublime.insert("scope".to_owned(), scope.into());
    let extensions = grammar.get("fileTypes").and_then(Value::as_array).into_iter().flatten();
    sublime.insert("file_extensions".to_owned(), extensions.filter(|ext| ext.is_string()).cloned().collect());
    sublime.insert("contexts".to_owned(), Value::Object(contexts));
    Ok(Value::Object(sublime))
}

/// Converts rules, collecting the repositories it meets on the way.
#[derive(Default)]
struct Converter<'a> {
    pending: Vec<(&'a String, &'a Value)>,
}

impl<'a> Converter<'a> {
    fn rules(&mut self, rules: &'a [Value]) -> Vec<Value> {
        rules.iter().flat_map(|rule| self.rule(rule)).collect()
    }

    /// One TextMate rule as context items: `match`, else `begin`, else an
    /// `include`, else its `patterns` in its place (TextMate's order).
    fn rule(&mut self, rule: &'a Value) -> Vec<Value> {
        let Some(rule) = rule.as_object() else { return Vec::new() };
        if rule.get("disabled").is_some_and(truthy) {
            return Vec::new();
        }
        if let Some(repository) = rule.get("repository").and_then(Value::as_object) {
            self.pending.extend(repository);
        }
        let captures_of = |key: &str| captures(rule.get(key)).or_else(|| captures(rule.get("captures")));
        if let Some(regex) = text(rule, "match") {
            let mut item = json!({ "match": keep_braces(regex) });
            insert(&mut item, "scope", text(rule, "name").map(Value::from));
            insert(&mut item, "captures", captures(rule.get("captures")));
            return vec![item];
        }
        if let Some(begin) = text(rule, "begin") {
            let mut context = Vec::new();
            if let Some(name) = text(rule, "name") {
                context.push(json!({ "meta_scope": name }));
            }
            if let Some(name) = text(rule, "contentName") {
                context.push(json!({ "meta_content_scope": name }));
            }
            let end = match text(rule, "while") {
                // TextMate checks `while` at the start of each following line.
                Some(condition) => json!({ "match": keep_braces(&format!("^(?!(?:{condition}))")), "pop": true }),
                // Without an `end` the block never ends, as in VS Code.
                None => {
                    let mut end =
                        json!({ "match": keep_braces(text(rule, "end").unwrap_or("\\x{FFFF}")), "pop": true });
                    insert(&mut end, "captures", captures_of("endCaptures"));
                    end
                }
            };
            let inner = rule.get("patterns").and_then(Value::as_array).map(|p| self.rules(p)).unwrap_or_default();
            if rule.get("applyEndPatternLast").is_some_and(truthy) {
                context.extend(inner);
                context.push(end);
            } else {
                context.push(end);
                context.extend(inner);
            }
            let mut item = json!({ "match": keep_braces(begin), "push": context });
            insert(&mut item, "captures", captures_of("beginCaptures"));
            return vec![item];
        }
        if let Some(include) = text(rule, "include") {
            return include_item(include).into_iter().collect();
        }
        rule.get("patterns").and_then(Value::as_array).map(|p| self.rules(p)).unwrap_or_default()
    }
}

/// `#rule` is a context of this grammar, `$self` and `$base` its `main`,
/// anything else another grammar by scope (`source.js`, `source.js#rule`).
fn include_item(include: &str) -> Option<Value> {
    let target = match include {
        "$self" | "$base" => "main".to_owned(),
        _ => match include.split_once('#') {
            Some(("", rule)) => context_name(rule),
            Some((scope, rule)) => format!("scope:{scope}#{}", context_name(rule)),
            None if include.is_empty() => return None,
            None => format!("scope:{include}"),
        },
    };
    Some(json!({ "include": target }))
}

/// The context of repository rule `name`: syntect reads `#` in a reference
/// as the start of a context name and `.sublime-syntax` at its end as a
/// file, so those characters are escaped (and `%`, to keep names apart).
fn context_name(name: &str) -> String {
    let mut context = String::from("repo_");
    for c in name.chars() {
        match c {
            '%' => context.push_str("%25"),
            '#' => context.push_str("%23"),
            '.' => context.push_str("%2E"),
            c => context.push(c),
        }
    }
    context
}

/// `{"1": {"name": "x"}}` → `{"1": "x"}`; captures without a name (only
/// `patterns`) are left out.
fn captures(captures: Option<&Value>) -> Option<Value> {
    let captures = captures?.as_object()?;
    let scopes: Map<String, Value> = captures
        .iter()
        .filter_map(|(key, capture)| {
            let index: usize = key.parse().ok()?;
            Some((index.to_string(), Value::from(capture.get("name")?.as_str()?)))
        })
        .collect();
    (!scopes.is_empty()).then_some(Value::Object(scopes))
}

/// syntect replaces `{{name}}` in a regex by a `.sublime-syntax` variable
/// (by nothing when there is none). TextMate has no variables: a literal
/// `{{name}}` keeps its meaning with its second brace escaped.
fn keep_braces(regex: &str) -> String {
    let mut kept = String::with_capacity(regex.len());
    let mut rest = regex;
    while let Some(at) = rest.find("{{") {
        let after = &rest[at + 2..];
        let word = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
        kept.push_str(&rest[..=at]);
        if word > 0 && after[word..].starts_with("}}") {
            kept.push('\\');
        }
        rest = &rest[at + 1..];
    }
    kept.push_str(rest);
    kept
}

fn text<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    object.get(key).and_then(Value::as_str)
}

/// TextMate's flags are `1` or `true`.
fn truthy(value: &Value) -> bool {
    value.as_bool().unwrap_or_else(|| value.as_i64().is_some_and(|n| n != 0))
}

fn insert(item: &mut Value, key: &str, value: Option<Value>) {
    if let (Some(object), Some(value)) = (item.as_object_mut(), value) {
        object.insert(key.to_owned(), value);
    }
}

/// `value` as YAML flow text: JSON, but with the numeric keys of captures
/// unquoted (syntect reads only integer keys as capture numbers) and every
/// character outside printable ASCII escaped (YAML refuses some raw).
fn flow_yaml(value: &Value, out: &mut String) {
    match value {
        Value::String(text) => quoted(text, out),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                flow_yaml(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (index, (key, item)) in map.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                if !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) {
                    out.push_str(key);
                } else {
                    quoted(key, out);
                }
                out.push_str(": ");
                flow_yaml(item, out);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn quoted(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c => out.push_str(&format!("\\U{:08X}", u32::from(c))),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::highlight::Fence;

    /// `grammar` (JSON) loaded as `shown` into a small set, and `code` in a
    /// ```` ```lang ```` fence highlighted with it.
    fn highlight(grammar: &str, lang: &str, code: &str) -> String {
        let source = Source { shown: PathBuf::from("syntaxes/test.json"), text: grammar.to_owned() };
        let definition = source.definition().unwrap_or_else(|err| panic!("{err}: {:?}", err.hint));
        let mut base = syntect::parsing::SyntaxSetBuilder::new();
        base.add_plain_text_syntax();
        let set = syntax_set(base.build(), vec![definition]);
        Highlighter::with_syntaxes(set).code_block(&Fence::parse(lang), code, true)
    }

    const MYLANG: &str = r#"{ "name": "mylang", "scopeName": "source.mylang", "fileTypes": ["mylang", "ml2"],
        "patterns": [ { "match": "\\b(if|else|for|while)\\b", "name": "keyword.control.mylang" } ] }"#;

    #[test]
    fn zolas_mylang_marks_keywords() {
        let html = highlight(MYLANG, "mylang", "if x else y\n");
        assert!(html.contains("<span class=\"hl-keyword hl-control hl-mylang\">if</span>"), "{html}");
        assert!(html.contains("hl-source hl-mylang"), "{html}");
        assert!(highlight(MYLANG, "ml2", "for\n").contains("hl-keyword"), "found by file extension");
    }

    #[test]
    fn begin_end_with_a_backreference_ends_at_its_own_delimiter() {
        let grammar = r#"{ "scopeName": "source.heredoc", "patterns": [
            { "begin": "<<(\\w+)", "end": "^\\1$", "name": "string.unquoted.heredoc",
              "beginCaptures": { "0": { "name": "punctuation.definition.string.begin" } },
              "endCaptures": { "0": { "name": "punctuation.definition.string.end" } } },
            { "match": "\\bif\\b", "name": "keyword.control" } ] }"#;
        let html = highlight(grammar, "test,linenos", "x <<EOF\nif OTHER\nEOF\nif\n");
        let lines: Vec<&str> = html.split("<span class=\"line\">").skip(1).collect();
        assert!(lines[0].contains("hl-begin"), "{html}");
        assert!(lines[1].contains("hl-heredoc") && !lines[1].contains("hl-keyword"), "inside the string: {html}");
        assert!(lines[2].contains("hl-end"), "{html}");
        assert!(lines[3].contains("hl-keyword"), "after it: {html}");
    }

    #[test]
    fn includes_reach_repository_rules_and_unknown_ones_are_dropped() {
        let grammar = r##"{ "scopeName": "source.inc", "patterns": [
            { "include": "#numbers" }, { "include": "source.nowhere" }, { "include": "#missing" },
            { "begin": "\\(", "end": "\\)", "patterns": [ { "include": "$self" } ] } ],
          "repository": { "numbers": { "patterns": [
            { "match": "\\d+", "name": "constant.numeric" },
            { "include": "#more.words" } ] },
            "more.words": { "match": "{{name}}", "name": "variable.other" } } }"##;
        let html = highlight(grammar, "test", "(12) {{name}}\n");
        assert!(html.contains("<span class=\"hl-constant hl-numeric\">12</span>"), "{html}");
        assert!(html.contains("<span class=\"hl-variable hl-other\">{{name}}</span>"), "{html}");
    }

    #[test]
    fn includes_that_lead_back_to_themselves_end() {
        let grammar = r##"{ "scopeName": "source.loop", "patterns": [ { "include": "#a" } ],
          "repository": {
            "a": { "patterns": [ { "include": "#b" }, { "match": "a", "name": "keyword.a" } ] },
            "b": { "patterns": [ { "include": "#a" }, { "include": "$self" }, { "include": "source.loop" },
                                 { "match": "b", "name": "string.b" } ] } } }"##;
        let html = highlight(grammar, "test", "ab\n");
        assert!(html.contains("<span class=\"hl-keyword hl-a\">a</span>"), "{html}");
        assert!(html.contains("<span class=\"hl-string hl-b\">b</span>"), "{html}");
    }

    #[test]
    fn while_blocks_end_at_the_first_line_that_does_not_continue_them() {
        let grammar = r#"{ "scopeName": "source.quote", "patterns": [
            { "begin": "^>", "while": "^>", "name": "markup.quote" } ] }"#;
        let html = highlight(grammar, "test,linenos", "> a\n> b\nc\n");
        let lines: Vec<&str> = html.split("<span class=\"line\">").skip(1).collect();
        assert!(lines[1].contains("<span class=\"hl-markup hl-quote\">&gt; b"), "{html}");
        assert!(lines[2].contains("</span>c\n"), "the quote ends before c: {html}");
    }

    #[test]
    fn a_bad_regex_or_bad_json_is_an_error_naming_the_file() {
        let source = |text: &str| Source { shown: PathBuf::from("syntaxes/bad.json"), text: text.to_owned() };
        let err = source(r#"{ "scopeName": "source.bad", "patterns": [ { "match": "(unclosed", "name": "x" } ] }"#)
            .definition()
            .unwrap_err();
        assert_eq!(err.file.as_deref(), Some(Path::new("syntaxes/bad.json")));
        assert!(err.message.contains("(unclosed"), "{}", err.message);
        assert!(err.hint.is_some());
        let err =
            source(r#"{ "scopeName": "source.bad", "patterns": [ { "match": "(a)\\2" } ] }"#).definition().unwrap_err();
        assert!(err.message.contains("(a)\\2"), "a back-reference to no group: {}", err.message);
        let err = source("{ \"scopeName\": \n").definition().unwrap_err();
        assert_eq!((err.file.as_deref(), err.line), (Some(Path::new("syntaxes/bad.json")), Some(2)));
        assert!(err.message.starts_with("is not valid JSON"), "{}", err.message);
        let err = source("{ \"patterns\": [] }").definition().unwrap_err();
        assert!(err.message.contains("scopeName"), "{}", err.message);
    }

    #[test]
    fn sublime_syntax_files_load_as_they_are() {
        let text = "%YAML 1.2\n---\nname: Tiny\nfile_extensions: [tiny]\nscope: source.tiny\n\
                    variables:\n  kw: 'if|else'\ncontexts:\n  main:\n    - match: '\\b({{kw}})\\b'\n      scope: keyword.tiny\n";
        let source = Source { shown: PathBuf::from("syntaxes/tiny.sublime-syntax"), text: text.to_owned() };
        let definition = source.definition().unwrap();
        let set = syntax_set(SyntaxSet::new(), vec![definition]);
        let html = Highlighter::with_syntaxes(set).code_block(&Fence::parse("tiny"), "if\n", true);
        assert!(html.contains("hl-keyword"), "{html}");
    }

    #[test]
    fn a_sites_grammars_join_bats_and_are_loaded_once_per_content() {
        let site = tempfile::tempdir().unwrap();
        std::fs::create_dir(site.path().join("syntaxes")).unwrap();
        std::fs::write(site.path().join("syntaxes/mylang.json"), MYLANG).unwrap();
        let files = [PathBuf::from("syntaxes/mylang.json")];
        let first = site_highlighter(site.path(), &files, &[]).unwrap();
        let again = site_highlighter(site.path(), &files, &[]).unwrap();
        assert!(first == again && std::ptr::eq(first.get(), again.get()), "the second load is the first");
        assert!(first != SiteHighlighter::default());
        for (lang, code) in [("mylang", "while\n"), ("toml", "a = 1\n")] {
            let html = first.get().code_block(&Fence::parse(lang), code, true);
            assert!(html.contains("class=\"hl-"), "{lang}: {html}");
        }
        std::fs::write(site.path().join("syntaxes/mylang.json"), MYLANG.replace("while", "loop")).unwrap();
        let edited = site_highlighter(site.path(), &files, &[]).unwrap();
        assert!(edited != first, "an edited grammar is another highlighter");
        let html = edited.get().code_block(&Fence::parse("mylang"), "loop\n", true);
        assert!(html.contains("hl-keyword"), "{html}");
    }

    #[test]
    fn files_are_read_only_inside_the_site() {
        let site = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("x.json"), MYLANG).unwrap();
        std::fs::create_dir(site.path().join("syntaxes")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("x.json"), site.path().join("syntaxes/link.json")).unwrap();
        let load = |file: &str| site_highlighter(site.path(), &[PathBuf::from(file)], &[]).unwrap_err();
        let err = load("syntaxes/link.json");
        assert!(err.message.contains("outside the site"), "{err}");
        let err = load(&format!("../{}/x.json", outside.path().file_name().unwrap().to_string_lossy()));
        assert!(err.message.contains("outside the site"), "{err}");
        let err = load(&outside.path().join("x.json").to_string_lossy());
        assert!(err.message.contains("outside the site"), "{err}");
        let err = load("syntaxes/missing.json");
        assert_eq!(err.file.as_deref(), Some(Path::new("syntaxes/missing.json")));
        assert!(err.hint.unwrap_or_default().contains("extra_grammars"));
    }
}

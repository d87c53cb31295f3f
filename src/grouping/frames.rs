//! One stack frame's grouping component, per platform (GROUPING.md §5).
//!
//! ```text
//! frame = [module, filename, function, context-line]      (context line: js, node, python, php, ruby)
//! python  {"module": "app.views", "filename": "views.py", "function": "handle"} → "app.views" "handle"
//! node    {"filename": "/srv/app/Util.js", "function": "Object.parse", "context_line": "  x = y(); "}
//!                                                         → "util.js" "parse" "x = y();"
//! java    {"module": "com.example.Foo$$EnhancerBySpringCGLIB$$1a2b3c", "function": "lambda$run$0"}
//!                                                         → "com.example.Foo$$EnhancerBySpringCGLIB$$<auto>"
//! native  {"filename": "src/Render.cpp", "function": "Shop::render", "raw_function": "void Shop::render(int)",
//!          "package": "/usr/bin/shop"}                    → "render.cpp" "Shop::render"
//! ```

use std::borrow::Cow;

use super::component::Component;
use crate::protocol::event::Frame;

use super::rule_input::Family;

const CONTEXT_LINE_PLATFORMS: [&str; 5] = ["javascript", "node", "python", "php", "ruby"];

/// The frame component; `recursion` when the frame repeats the one before it.
pub fn frame_component<'a>(
    frame: &Frame<'a>,
    event_platform: &str,
    recursion: bool,
) -> Component<'a> {
    let platform = frame.platform.unwrap_or(event_platform);
    let family = Family::from_platform(platform);

    let mut filename = filename_component(frame, platform);
    let module = module_component(frame, platform);
    if module.contributes() && filename.contributes() {
        filename.set_contributes(false, "module takes precedence");
    }
    let context_line = CONTEXT_LINE_PLATFORMS
        .contains(&platform)
        .then(|| context_line_component(frame, family));
    let context_line_counts = context_line.as_ref().is_some_and(Component::contributes);
    let function = function_component(frame, platform, family, context_line_counts);
    // A native frame's file name counts beside its function, and its `package` never counts
    // (newstyle:2023-01-11). `mobile:2021-02-12` discarded the file name when the function
    // counted (`discard_native_filename`) and fell back to the package (`use_package_fallback`).
    let mut values = vec![module, filename, function];
    values.extend(context_line);
    let mut component = Component::with_children("frame", values);

    if family == Family::JavaScript {
        let abs_path = frame.abs_path.unwrap_or("");
        let function = frame
            .raw_function
            .or(frame.function)
            .map(|f| f.rsplit('.').next().unwrap_or(f));
        if function == Some("eval")
            || matches!(
                abs_path,
                "[native code]" | "native code" | "eval code" | "<anonymous>"
            )
        {
            component.set_contributes(false, "ignored low quality javascript frame");
        }
    }
    if recursion {
        component.set_contributes(false, "ignored due to recursion");
    }
    component
}

/// A frame that repeats the previous one (same place, same line) is recursion.
pub fn is_recursion(frame: &Frame, previous: Option<&Frame>) -> bool {
    previous.is_some_and(|p| {
        p.abs_path == frame.abs_path
            && p.package == frame.package
            && p.module == frame.module
            && p.filename == frame.filename
            && p.function == frame.function
            && p.lineno == frame.lineno
            && p.colno == frame.colno
    })
}

/// A path served from the web (`file:` counts as local for Sentry's JavaScript rules).
pub fn has_url_origin(path: Option<&str>, allow_file_origin: bool) -> bool {
    let Some(path) = path else { return false };
    if ["http:", "https:", "applewebdata:", "blob:"]
        .iter()
        .any(|s| path.starts_with(s))
    {
        return true;
    }
    path.starts_with("file:") && !allow_file_origin
}

fn filename_component<'a>(frame: &Frame<'a>, platform: &str) -> Component<'a> {
    let Some(filename) = frame.filename else {
        return Component::new("filename");
    };
    let name = lowercase(basename(filename));
    let mut component = Component::text("filename", name.clone());
    if has_url_origin(frame.abs_path, true) {
        component.set_contributes(false, "ignored because frame points to a URL");
    } else if name == "<anonymous>" {
        component.set_contributes(false, "anonymous filename discarded");
    } else if name == "[native code]" {
        component.set_contributes(false, "native code indicated by filename");
    } else if platform == "java" {
        let cleaned = java::javassist(&name);
        if cleaned != *name {
            component.replace_text(cleaned, "cleaned javassist parts");
        }
    }
    component
}

fn module_component<'a>(frame: &Frame<'a>, platform: &str) -> Component<'a> {
    let Some(module) = frame.module else {
        return Component::new("module");
    };
    let mut component = Component::text("module", module);
    if platform == "javascript"
        && module.contains('/')
        && frame.abs_path.is_some_and(|p| p.ends_with(module))
    {
        component.set_contributes(false, "ignored bad javascript module");
    } else if platform == "java" {
        if module.contains("$$Lambda$") {
            component.set_contributes(false, "ignored java lambda");
        }
        if let Some(marker) = [
            "sun.reflect.GeneratedMethodAccessor",
            "jdk.internal.reflect.GeneratedMethodAccessor",
        ]
        .into_iter()
        .find(|m| module.starts_with(m))
        {
            component.replace_text(marker, "removed reflection marker");
        } else {
            let cleaned = java::codegen_markers(module);
            if cleaned != module {
                component.replace_text(cleaned, "removed codegen marker");
            }
        }
    }
    component
}

fn function_component<'a>(
    frame: &Frame<'a>,
    platform: &str,
    family: Family,
    context_line_counts: bool,
) -> Component<'a> {
    let function = match platform {
        "csharp" => frame.raw_function.or(frame.function),
        _ => frame.function.or(frame.raw_function),
    };
    let Some(function) = function.filter(|f| !f.is_empty()) else {
        return Component::new("function");
    };
    let mut component = Component::text("function", function);
    match (platform, family) {
        ("ruby", _) => {
            if function.starts_with("block ") {
                component.replace_text("block", "ruby block");
            } else {
                let cleaned = strip_erb_suffix(function);
                if cleaned != function {
                    component.replace_text(cleaned, "removed generated erb template suffix");
                }
            }
        }
        ("php", _) => {
            if function.starts_with("[Anonymous") || function.starts_with("class@anonymous\0") {
                component.set_contributes(false, "ignored anonymous function");
            }
            if function.starts_with("class@anonymous")
                && let Some((_, method)) = function.rsplit_once("::")
            {
                component.replace_text(method, "anonymous class method");
            }
        }
        ("java", _) if function.starts_with("lambda$") => {
            component.set_contributes(false, "ignored lambda function");
        }
        (_, Family::Native) => {
            if matches!(function, "<redacted>" | "<unknown>") {
                component.set_contributes(false, "ignored unknown function");
            } else if frame.raw_function.is_some_and(|raw| raw != function) {
                // Normalization trimmed it (`function_names.rs`), keeping the symbol in
                // `raw_function`; Sentry's tree says nothing here, `snag grouping` does.
                component.hint = Some("trimmed native function".into());
            }
        }
        (_, Family::JavaScript) => {
            let trimmed = function.rsplit('.').next().unwrap_or(function);
            if trimmed != function {
                component.replace_text(trimmed, "trimmed javascript function");
            }
            if frame.sourcemap && context_line_counts {
                component.set_contributes(
                    false,
                    "ignored because sourcemap used and context line available",
                );
            }
            if trimmed.is_empty() {
                component.set_contributes(false, "");
            } else if matches!(
                trimmed,
                "?" | "<anonymous function>" | "<anonymous>" | "Anonymous function"
            ) || trimmed.ends_with("/<")
            {
                component.set_contributes(false, "ignored unknown function name");
            }
        }
        _ => {}
    }
    component
}

fn context_line_component<'a>(frame: &Frame<'a>, family: Family) -> Component<'a> {
    let raw = frame.context_line.unwrap_or("");
    let line = collapse_whitespace(raw);
    if line.is_empty() {
        return Component::new("context-line");
    }
    let mut component = Component::text("context-line", line);
    if raw.chars().count() > 120 {
        component.set_contributes(false, "discarded because line too long");
    } else if family == Family::JavaScript
        && frame.function.is_none()
        && has_url_origin(frame.abs_path, false)
    {
        component.set_contributes(false, "discarded because from URL origin");
    }
    component
}

/// `s` lowercased, borrowed when it already is.
fn lowercase(s: &str) -> Cow<'_, str> {
    if s.chars().any(char::is_uppercase) {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// Python's `" ".join(line.split())`: runs of whitespace become one space, ends trimmed
/// (borrowed when that changes nothing).
fn collapse_whitespace(raw: &str) -> Cow<'_, str> {
    let trimmed = raw.trim();
    let mut previous_space = false;
    let clean = trimmed.chars().all(|c| {
        let ok = !c.is_whitespace() || (c == ' ' && !previous_space);
        previous_space = c.is_whitespace();
        ok
    });
    if clean {
        return Cow::Borrowed(trimmed);
    }
    let mut out = String::with_capacity(raw.len());
    for word in raw.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    Cow::Owned(out)
}

/// ERB templates compile to methods named `_app_views_show_html_erb__1234_5678`.
fn strip_erb_suffix(function: &str) -> &str {
    let Some(head) = function.strip_suffix(|c: char| c.is_ascii_digit()) else {
        return function;
    };
    let head = head.trim_end_matches(|c: char| c.is_ascii_digit());
    let second = function.len() - head.len();
    let Some(head) = head.strip_suffix('_') else {
        return function;
    };
    let digits = head.len() - head.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let head_start = head.trim_end_matches(|c: char| c.is_ascii_digit());
    match head_start.strip_suffix("__") {
        Some(rest) if digits >= 4 && second >= 4 => rest,
        _ => function,
    }
}

pub fn basename(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// Java's generated class names, whose random parts would split one issue into many.
mod java {
    /// `Foo$$_javassist_seam_12` → `Foo$$_javassist<auto>`.
    pub fn javassist(name: &str) -> String {
        let marker = "$$_javassist";
        let Some(at) = name.find(marker) else {
            return name.to_owned();
        };
        let mut rest = &name[at + marker.len()..];
        rest = rest.strip_prefix("_seam").unwrap_or(rest);
        if let Some(after) = rest.strip_prefix('_') {
            let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if digits > 0 {
                rest = &after[digits..];
            }
        }
        format!("{}{marker}<auto>{}", &name[..at], javassist(rest))
    }

    /// Replaces every code generation marker: reflection constructor accessors, CGLIB,
    /// javassist, Clojure `fn__N`, Spring `EnhancerBy…`/`FastClassBy…`, Hibernate proxies.
    pub fn codegen_markers(module: &str) -> String {
        let mut out = module.to_owned();
        for prefix in [
            "sun.reflect.GeneratedConstructorAccessor",
            "sun.reflect.GeneratedSerializationConstructorAccessor",
        ] {
            out = replace_after(&out, prefix, digits);
        }
        out = replace_between(&out, "$$", "CGLIB$$", hex_and_suffix);
        out = javassist(&out);
        out = replace_after(&out, "$fn__", digits);
        out = replace_between(&out, "$$EnhancerBy", "$$", hex_and_suffix);
        out = replace_between(&out, "$$FastClassBy", "$$", hex_and_suffix);
        out = replace_after(&out, "$HibernateProxy$", |rest| {
            rest.len()
                - rest
                    .trim_start_matches(|c: char| c.is_alphanumeric() || c == '_')
                    .len()
        });
        out
    }

    fn digits(s: &str) -> usize {
        s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len()
    }

    /// Length of `[0-9a-fA-F]+(_[0-9]+)?` at the start of `s` (0 if no hex digit).
    fn hex_and_suffix(s: &str) -> usize {
        let hex = s.len() - s.trim_start_matches(|c: char| c.is_ascii_hexdigit()).len();
        if hex == 0 {
            return 0;
        }
        let rest = &s[hex..];
        match rest.strip_prefix('_') {
            Some(after) if digits(after) > 0 => hex + 1 + digits(after),
            _ => hex,
        }
    }

    /// `{prefix}{matched}` → `{prefix}<auto>` for each occurrence where `len` matches.
    fn replace_after(s: &str, prefix: &str, len: impl Fn(&str) -> usize) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(at) = rest.find(prefix) {
            let end = at + prefix.len();
            let n = len(&rest[end..]);
            out.push_str(&rest[..end]);
            if n > 0 {
                out.push_str("<auto>");
            }
            rest = &rest[end + n..];
        }
        out.push_str(rest);
        out
    }

    /// `{open}{word}{close}{matched}` → `{open}{word}{close}<auto>`, `word` being `[\w_]+?`.
    fn replace_between(s: &str, open: &str, close: &str, len: impl Fn(&str) -> usize) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(at) = rest.find(open) {
            let after_open = at + open.len();
            // The shortest word run followed by `close`.
            let word_end = rest[after_open..]
                .char_indices()
                .find(|(i, c)| {
                    rest[after_open + i..].starts_with(close) || !(c.is_alphanumeric() || *c == '_')
                })
                .map(|(i, _)| after_open + i);
            match word_end {
                Some(end) if end > after_open => {
                    if rest[end..].starts_with(close) {
                        let tail = end + close.len();
                        let n = len(&rest[tail..]);
                        if n > 0 {
                            out.push_str(&rest[..tail]);
                            out.push_str("<auto>");
                            rest = &rest[tail + n..];
                            continue;
                        }
                    }
                    out.push_str(&rest[..after_open]);
                    rest = &rest[after_open..];
                }
                _ => {
                    out.push_str(&rest[..after_open]);
                    rest = &rest[after_open..];
                }
            }
        }
        out.push_str(rest);
        out
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn markers() {
            assert_eq!(
                javassist("foo$$_javassist_seam_74"),
                "foo$$_javassist<auto>"
            );
            assert_eq!(
                javassist("foo$$_javassist_74.java"),
                "foo$$_javassist<auto>.java"
            );
            assert_eq!(
                codegen_markers("com.example.Foo$$EnhancerBySpringCGLIB$$1a2b3c"),
                "com.example.Foo$$EnhancerBySpringCGLIB$$<auto>"
            );
            assert_eq!(
                codegen_markers("com.example.Foo$$FastClassBySpringCGLIB$$1a2b3c_2"),
                "com.example.Foo$$FastClassBySpringCGLIB$$<auto>"
            );
            assert_eq!(
                codegen_markers("sun.reflect.GeneratedConstructorAccessor12"),
                "sun.reflect.GeneratedConstructorAccessor<auto>"
            );
            assert_eq!(
                codegen_markers("clojure.core$fn__1234"),
                "clojure.core$fn__<auto>"
            );
            assert_eq!(
                codegen_markers("com.example.User$HibernateProxy$abcDEF12"),
                "com.example.User$HibernateProxy$<auto>"
            );
            assert_eq!(codegen_markers("com.example.Plain"), "com.example.Plain");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erb_suffix() {
        assert_eq!(
            strip_erb_suffix("_app_views_show_html_erb__2012_7710"),
            "_app_views_show_html_erb"
        );
        assert_eq!(strip_erb_suffix("render_12_34"), "render_12_34");
        assert_eq!(strip_erb_suffix("plain"), "plain");
    }

    #[test]
    fn whitespace_collapses_as_python_split_join() {
        for (raw, expected, borrowed) in [
            ("  return x + 1  ", "return x + 1", true),
            ("return  x", "return x", false),
            ("\treturn x", "return x", true),
            ("a\tb", "a b", false),
            ("a \u{a0}b", "a b", false),
            ("   ", "", true),
        ] {
            let line = collapse_whitespace(raw);
            assert_eq!(line, expected, "{raw:?}");
            assert_eq!(matches!(line, Cow::Borrowed(_)), borrowed, "{raw:?}");
        }
        assert!(matches!(lowercase("views.py"), Cow::Borrowed("views.py")));
        assert_eq!(lowercase("Views.PY"), "views.py");
    }
}

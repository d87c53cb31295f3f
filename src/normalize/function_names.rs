//! Function names as Sentry trims them before grouping (`trim_function_name` in
//! `sentry/stacktraces/functions.py`): a frame of the native family (`native`, `c`, `cocoa`,
//! `objc`, `swift`) or `csharp` whose SDK sent no `raw_function` gets its `function` cut down to
//! the name, the full symbol moving to `raw_function`. Other platforms keep theirs.
//!
//! ```text
//! static unsigned int Foo::Bar::baz(char const *, int) const     → Foo::Bar::baz
//! (anonymous namespace)::Stupid<std::vector<int>>(int)            → (anonymous namespace)::Stupid<T>
//! std::operator<< <std::char_traits<char> >(std::ostream&, char)  → std::operator<< <T>
//! mynamespace::MyClass::operator()(int)                           → mynamespace::MyClass::operator()
//! main::{lambda(int)#1}   main::$_0   lambda_7156c3ceaa11256748687ab67e3ef4cd    → main::lambda, lambda
//! ?A0xc3a0617d::crash                                             → `anonymous namespace'::crash
//! trigger_crash(int*) [clone .constprop.0]                        → trigger_crash
//! <actix::ContextFut<A, C> as futures::Future>::poll::h9de5fbebc1652d47 → actix::ContextFut<T>::poll
//! <T as core::convert::Into<U>>::into                             → core::convert::Into<T>::into
//! tokio::Runtime::enter::{{closure}}                              → (unchanged)
//! -[FLFoo barBaz:]   +[FLFoo barBaz]                              → (unchanged: Objective-C)
//! @objc ViewController.causeCrash(Any) -> ()                      → ViewController.causeCrash
//! closure #1 () -> () in Bar.PostTask(() -> ()) -> ()             → closure in Bar.PostTask
//! thunk for @escaping @callee_guaranteed () -> ()  (cocoa, swift) → thunk for closure
//! pthread_cond_timedwait@@GLIBC_2.3.2   @ThreadStart@16           → pthread_cond_timedwait, ThreadStart
//! NativeButtons_DoSomeWorkHere_m7486FA1E8A228E806BA045D26ABECC87DFD436B4_inline (IL2CPP)
//!                                                                 → NativeButtons_DoSomeWorkHere_inline
//! csharp: UnityEngine.Events.InvokableCall.Invoke ()              → UnityEngine.Events.InvokableCall.Invoke
//! ```
//! The steps follow Sentry's, in its order; the character rules are Python's (`str.strip`,
//! `\b`, `\s`). A name with none of the characters the steps look for is returned borrowed.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::grouping::rule_input::Family;

/// Sentry's `_trim_function_name` (`normalize_stacktraces_for_grouping`): when the frame has
/// a `function` and no `raw_function`, and trimming changes it, `raw_function` keeps the
/// original and `function` becomes the trimmed name.
pub fn trim_frame(frame: &mut Map<String, Value>, event_platform: &str) {
    let platform = frame
        .get("platform")
        .and_then(Value::as_str)
        .unwrap_or(event_platform);
    // Most frames are of other platforms: done after one look-up. A `raw_function` that is
    // not text is no `raw_function` (Relay drops it).
    if (platform != "csharp" && Family::from_platform(platform) != Family::Native)
        || frame.get("raw_function").is_some_and(Value::is_string)
    {
        return;
    }
    let Some(function) = frame.get("function").and_then(Value::as_str) else {
        return;
    };
    if function.is_empty() {
        return;
    }
    let Cow::Owned(trimmed) = trim_function_name(function, platform) else {
        return;
    };
    if let Some(raw) = frame.insert("function".into(), Value::String(trimmed)) {
        frame.insert("raw_function".into(), raw);
    }
}

/// Sentry's `trim_function_name`: C# signatures lose their argument list, native symbols are
/// cut down to the function's name; any other platform's names are kept.
pub fn trim_function_name<'a>(function: &'a str, platform: &str) -> Cow<'a, str> {
    if platform == "csharp" {
        return Cow::Borrowed(function.split(" (").next().unwrap_or(function));
    }
    if Family::from_platform(platform) != Family::Native {
        return Cow::Borrowed(function);
    }
    if matches!(function, "<redacted>" | "<unknown>") {
        return Cow::Borrowed(function);
    }
    if !needs_trimming(function) {
        // Only the last step can change such a name.
        return native::strip_il2cpp_hash(function).map_or(Cow::Borrowed(function), Cow::Owned);
    }
    match native::trim(function, platform) {
        Some(trimmed) if trimmed != function => Cow::Owned(trimmed),
        _ => Cow::Borrowed(function),
    }
}

/// False when none of the trimming steps can change `function` (a plain C or Rust path, the
/// common case): whitespace, brackets, `$_`, `@`, `&`, `?A0x`, `` ` ``, a trailing `const`,
/// `lambda`, `::h`, or the placeholders the steps use (all outside ASCII). Braces alone change
/// nothing (Rust's `{{closure}}`): they only group tokens split at whitespace, and gcc's
/// `{lambda(…)#1}` says `lambda`.
fn needs_trimming(function: &str) -> bool {
    !function.is_ascii()
        || function.bytes().any(|b| {
            b.is_ascii_whitespace()
                || b.is_ascii_control()
                || matches!(b, b'[' | b'(' | b'<' | b'$' | b'@' | b'&' | b'?' | b'`')
        })
        || function.ends_with("const")
        || function.contains("lambda")
        || function.contains("::h")
}

/// `trim_native_function_name`, step by step.
mod native {
    use std::borrow::Cow;

    /// Stand-ins for spellings that would unbalance `<…>` and `(…)` or split tokens, as Sentry
    /// uses them (`operator<<`, `operator()`, `->`, MSVC's anonymous namespace): put in before
    /// the brackets are read ([`PROTECT`]), taken out of the name at the end ([`RESTORE`]).
    const ARROW: char = '⟿';
    const ANONYMOUS: &str = "〔anonymousnamespace〕";
    const PROTECT: [(&str, &str); 6] = [
        ("operator<<", "operator⟨⟨"),
        ("operator<", "operator⟨"),
        ("operator()", "operator◯"),
        ("operator->", "operator⟿"),
        (" -> ", " ⟿ "),
        ("`anonymous namespace'", ANONYMOUS),
    ];
    const RESTORE: [(&str, &str); 4] = [
        ("⟨", "<"),
        ("◯", "()"),
        ("⟿", "->"),
        (ANONYMOUS, "`anonymous namespace'"),
    ];

    /// The trimmed name; `None` where Sentry's code would raise (a Swift initializer
    /// expression without the name after `of`), the name then being kept as it is.
    pub(super) fn trim(original: &str, platform: &str) -> Option<String> {
        let function = py_strip(original);
        // Objective-C selectors are left alone.
        if function.starts_with('[') || function.starts_with("+[") || function.starts_with("-[") {
            return Some(function.to_owned());
        }
        // `[clone .cold]`, `[clone .constprop.0]`: compiler-split copies of a function.
        let mut function = replace_enclosed(function, b'[', b']', &mut |inner, _| {
            if inner.starts_with("clone .") {
                String::new()
            } else {
                format!("[{inner}]")
            }
        });
        function.truncate(py_strip_end(&function).len());
        chop_cpp_trailers(&mut function);

        let mut function = replace_all(function, &PROTECT);

        // Compilers name lambdas differently (gcc `{lambda(int)#1}`, msvc `lambda_<32 hex>`,
        // clang `$_0`): all become `lambda`.
        if function.contains("lambda") || function.contains("$_") {
            function = replace_lambdas(&function);
        }
        // MSVC names anonymous namespaces of inline functions by a hash.
        if function.contains("?A0x") {
            function = replace_msvc_anonymous_namespaces(&function);
        }
        // Argument lists go, except `(anonymous namespace)` and `(operator)`.
        let function = replace_enclosed(&function, b'(', b')', &mut |inner, _| {
            let inner = py_strip(inner);
            if inner == "anonymous namespace" || inner == "operator" {
                format!("({inner})")
            } else {
                String::new()
            }
        });
        // Template arguments become `<T>`; a leading `<Type as Trait>` (Rust) becomes `Type`.
        let function = replace_enclosed(&function, b'<', b'>', &mut process_generics);

        let is_thunk = function.contains("thunk for ");
        let mut tokens: Vec<Cow<str>> = split_func_tokens(&function)
            .into_iter()
            .map(Cow::Borrowed)
            .collect();
        // MSVC writes `operator<< <T>` with a space: keep both parts.
        if tokens.len() > 1 && tokens.last().is_some_and(|t| t == "<T>") {
            tokens.pop();
            if let Some(last) = tokens.last_mut() {
                last.to_mut().push_str(" <T>");
            }
        }

        let func_token: Option<Cow<str>> = if function.contains("initialization expression of") {
            // Swift: `variable initialization expression of static Ns.Class.var : Type`.
            let of = tokens.iter().rposition(|t| t == "of")?;
            let mut token = tokens.get(of + 1)?;
            if *token == "static" {
                token = tokens.get(of + 2)?;
            }
            let name = token.strip_prefix(':').unwrap_or(token);
            Some(Cow::Owned(format!("initializer expression of {name}")))
        } else if tokens.is_empty() {
            None
        } else {
            // The name is left of the last `->` (Swift; `throws` before it is skipped), else
            // the last token. Indices wrap as Python's do; out of range means the last token.
            let at = |i: isize| -> Option<&Cow<str>> {
                let n = tokens.len() as isize;
                let i = if i < 0 { i + n } else { i };
                (0..n).contains(&i).then(|| &tokens[i as usize])
            };
            let last = tokens.last();
            let chosen = match tokens.iter().rposition(|t| t.chars().eq([ARROW])) {
                None => last,
                Some(arrow) => match at(arrow as isize - 1) {
                    Some(t) if t == "throws" => at(arrow as isize - 2).or(last),
                    other => other,
                },
            };
            chosen.cloned()
        };

        let mut function = match func_token {
            Some(token) if !token.is_empty() => {
                let token = if token.starts_with('@') && matches!(platform, "cocoa" | "swift") {
                    // A Swift attribute where the name should be: an anonymous function.
                    Cow::Borrowed(if is_thunk {
                        "thunk for closure"
                    } else {
                        "closure"
                    })
                } else if token != "closure" && tokens.iter().any(|t| t == "closure") {
                    Cow::Owned(format!("closure in {token}"))
                } else {
                    token
                };
                if token.is_ascii() {
                    token.into_owned()
                } else {
                    replace_all(token.into_owned(), &RESTORE)
                }
            }
            _ => original.to_owned(),
        };

        strip_rust_hash(&mut function);
        strip_glibc_version(&mut function);
        strip_windows_decoration(&mut function);
        if let Some(stripped) = strip_il2cpp_hash(&function) {
            function = stripped;
        }
        Some(function)
    }

    /// `text` with each `(from, to)` replaced in turn; no copy for a pattern that is absent.
    fn replace_all(text: String, replacements: &[(&str, &str)]) -> String {
        replacements.iter().fold(text, |text, (from, to)| {
            if text.contains(from) {
                text.replace(from, to)
            } else {
                text
            }
        })
    }

    /// Python's `str.isspace` (Rust's whitespace plus the ASCII separators 0x1c–0x1f).
    fn py_space(c: char) -> bool {
        c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
    }

    fn py_strip(s: &str) -> &str {
        s.trim_matches(py_space)
    }

    fn py_strip_end(s: &str) -> &str {
        s.trim_end_matches(py_space)
    }

    /// Python's `\w`.
    fn word(c: char) -> bool {
        c.is_alphanumeric() || c == '_'
    }

    /// `replace_enclosed_string`: every outermost `open…close` is replaced by what `replace`
    /// makes of its inside (and where it started). Unbalanced text behaves as in Sentry: after
    /// a stray `close`, text is dropped until the depth is back to zero. (`open` and `close`
    /// are ASCII: the text between them is copied a run at a time.)
    fn replace_enclosed(
        s: &str,
        open: u8,
        close: u8,
        replace: &mut dyn FnMut(&str, usize) -> String,
    ) -> String {
        if !s.as_bytes().contains(&open) {
            return s.to_owned();
        }
        let bytes = s.as_bytes();
        let mut out = String::with_capacity(s.len());
        let mut depth: isize = 0;
        let mut pair_start = 0;
        let mut at = 0;
        while let Some(found) = bytes[at..].iter().position(|&b| b == open || b == close) {
            let i = at + found;
            if depth == 0 {
                out.push_str(&s[at..i]);
            }
            if bytes[i] == open {
                if depth == 0 {
                    pair_start = i;
                }
                depth += 1;
            } else {
                depth -= 1;
                if depth == 0 {
                    out.push_str(&replace(&s[pair_start + 1..i], pair_start));
                }
            }
            at = i + 1;
        }
        if depth == 0 {
            out.push_str(&s[at..]);
        }
        out
    }

    /// `process_generics`: lambdas keep their brackets, other template arguments become
    /// `<T>`; at the very start (a Rust qualified path) `<Type as Trait>` becomes `Type`, a
    /// blanket `<T as Trait>` becomes `Trait`, its own brackets processed the same way.
    fn process_generics(inner: &str, start: usize) -> String {
        if inner == "lambda" || lambda_at(inner, 0).is_some() {
            return format!("<{inner}>");
        }
        if start > 0 {
            return "<T>".to_owned();
        }
        // `inner` is balanced (it is enclosed): each `<` is paired with its `>` once, so that
        // nested qualified paths (`<<<…>>>`) cost one pass, not one per level.
        let mut close_of = vec![0; inner.len()];
        let mut open = Vec::new();
        for (i, b) in inner.bytes().enumerate() {
            match b {
                b'<' => open.push(i),
                b'>' => {
                    if let Some(o) = open.pop() {
                        close_of[o] = i;
                    }
                }
                _ => {}
            }
        }
        qualified_path(inner, 0, inner.len(), &close_of)
    }

    /// `process_generics` of `s[lo..hi]` (a group at the start): the blanket `X as ` dropped,
    /// the groups in it processed, everything from ` as ` on dropped.
    fn qualified_path(s: &str, lo: usize, hi: usize, close_of: &[usize]) -> String {
        let bytes = s.as_bytes();
        let lo = if hi - lo >= 5
            && bytes[lo].is_ascii_uppercase()
            && &bytes[lo + 1..lo + 5] == b" as "
        {
            lo + 5
        } else {
            lo
        };
        let mut out = String::new();
        let mut at = lo;
        while let Some(found) = s[at..hi].find('<') {
            let open = at + found;
            let close = close_of[open];
            out.push_str(&s[at..open]);
            let inner = &s[open + 1..close];
            if inner == "lambda" || lambda_at(inner, 0).is_some() {
                out.push('<');
                out.push_str(inner);
                out.push('>');
            } else if open > lo {
                out.push_str("<T>");
            } else {
                out.push_str(&qualified_path(s, open + 1, close, close_of));
            }
            at = close + 1;
        }
        out.push_str(&s[at..hi]);
        if let Some(cut) = out.find(" as ") {
            out.truncate(cut);
        }
        out
    }

    /// C++ trailers: a final `const` word or `&`, as often as they repeat.
    fn chop_cpp_trailers(function: &mut String) {
        loop {
            let cut = if function.ends_with('&') {
                function.len() - 1
            } else if let Some(head) = function.strip_suffix("const")
                && !head.chars().next_back().is_some_and(word)
            {
                head.len()
            } else {
                return;
            };
            let kept = py_strip_end(&function[..cut]).len();
            function.truncate(kept);
        }
    }

    /// Length of a lambda name starting at `i` of `s`, if one does.
    fn lambda_at(s: &str, i: usize) -> Option<usize> {
        if s[i..].starts_with("{lambda(") {
            return gcc_lambda(s, i).ok();
        }
        other_lambda_at(s, i)
    }

    /// gcc `{lambda(…)#N}` at `i` (the shortest such): its length, else where the search for
    /// its end stopped (a line break or the end: no start before that can succeed either).
    fn gcc_lambda(s: &str, i: usize) -> Result<usize, usize> {
        let start = i + "{lambda(".len();
        let mut at = start;
        loop {
            let tail = &s[at..];
            if let Some(hash) = tail.strip_prefix(")#") {
                let digits =
                    hash.len() - hash.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                if digits > 0 && hash[digits..].starts_with('}') {
                    return Ok(at + 2 + digits + 1 - i);
                }
            }
            match tail.chars().next() {
                None | Some('\n') => return Err(at),
                Some(c) => at += c.len_utf8(),
            }
        }
    }

    /// msvc `lambda_<32 hex>` (a whole word) or clang `$_N` at `i`.
    fn other_lambda_at(s: &str, i: usize) -> Option<usize> {
        let rest = &s[i..];
        let boundary_at = |j: usize| !s[j..].chars().next().is_some_and(word);
        if let Some(hex) = rest.strip_prefix("lambda_") {
            let n = hex
                .bytes()
                .take(32)
                .take_while(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                .count();
            let end = i + "lambda_".len() + 32;
            let boundary_before = !s[..i].chars().next_back().is_some_and(word);
            return (boundary_before && n == 32 && boundary_at(end)).then_some(end - i);
        }
        if let Some(digits) = rest.strip_prefix("$_") {
            let n = digits.len()
                - digits
                    .trim_start_matches(|c: char| c.is_ascii_digit())
                    .len();
            let end = i + 2 + n;
            return (n > 0 && boundary_at(end)).then_some(end - i);
        }
        None
    }

    fn replace_lambdas(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        // gcc lambdas cannot start before this: one failed search rules out all of them.
        let mut gcc_fails_before = 0;
        while let Some(c) = s[i..].chars().next() {
            let len = if s[i..].starts_with("{lambda(") {
                if i < gcc_fails_before {
                    None
                } else {
                    gcc_lambda(s, i)
                        .map_err(|stopped| gcc_fails_before = stopped)
                        .ok()
                }
            } else {
                other_lambda_at(s, i)
            };
            match len {
                Some(len) => {
                    out.push_str("lambda");
                    i += len;
                }
                None => {
                    out.push(c);
                    i += c.len_utf8();
                }
            }
        }
        out
    }

    /// `?A0x<8 hex>::` → `` `anonymous namespace'::`` (the placeholder until the end).
    fn replace_msvc_anonymous_namespaces(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(at) = rest.find("?A0x") {
            let after = &rest[at + 4..];
            let hex = after
                .bytes()
                .take(8)
                .take_while(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                .count();
            if hex == 8 && after[8..].starts_with("::") {
                out.push_str(&rest[..at]);
                out.push_str(ANONYMOUS);
                out.push_str("::");
                rest = &after[10..];
            } else {
                out.push_str(&rest[..at + 1]);
                rest = &rest[at + 1..];
            }
        }
        out.push_str(rest);
        out
    }

    /// `split_func_tokens`: words split at whitespace outside of any `(…)`, `{…}`, `[…]`,
    /// `<…>`; an unclosed bracket's text is dropped.
    pub(super) fn split_func_tokens(s: &str) -> Vec<&str> {
        let mut tokens = Vec::new();
        let mut stack: Vec<char> = Vec::new();
        let mut token: Option<(usize, usize)> = None;
        let mut end = 0;
        for (i, c) in s.char_indices() {
            let next = i + c.len_utf8();
            let closer = match c {
                '(' => Some(')'),
                '{' => Some('}'),
                '[' => Some(']'),
                '<' => Some('>'),
                _ => None,
            };
            if let Some(closer) = closer {
                stack.push(closer);
            } else if stack.last() == Some(&c) {
                stack.pop();
                if stack.is_empty() {
                    token = Some((token.map_or(end, |t| t.0), next));
                    end = next;
                }
            } else if stack.is_empty() {
                if py_space(c) {
                    tokens.extend(token.take().map(|(a, b)| &s[a..b]));
                } else {
                    token = Some((token.map_or(end, |t| t.0), next));
                }
                end = next;
            }
        }
        tokens.extend(token.map(|(a, b)| &s[a..b]));
        tokens
    }

    /// Rust's legacy symbol hash `::h<16 hex>` at the end.
    fn strip_rust_hash(s: &mut String) {
        let n = s.len();
        if n >= 19
            && s.as_bytes()[n - 19..n - 16] == *b"::h"
            && s.as_bytes()[n - 16..]
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            s.truncate(n - 19);
        }
    }

    /// GNU symbol versions: `@GLIBC_2.3.2` or `@@GLIBC_2.3.2` at the end.
    fn strip_glibc_version(s: &mut String) {
        let Some(at) = s.rfind("@GLIBC_") else { return };
        let version = &s[at + "@GLIBC_".len()..];
        if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return;
        }
        let start = if s[..at].ends_with('@') { at - 1 } else { at };
        s.truncate(start);
    }

    /// Unity IL2CPP's method hash, `_m` and 40 hex digits, when only its descriptors follow
    /// (`_gshared`, `_inline`, `_OpenStaticInvoker`, `_gp_0_1`, …): `List_1_CopyTo_m5180…ABB_gshared`
    /// → `List_1_CopyTo_gshared`. Sentry added this step in 2026 (getsentry/sentry#121963).
    pub(super) fn strip_il2cpp_hash(s: &str) -> Option<String> {
        let at = s.rfind("_m")?;
        let hash = s.get(at + 2..at + 42)?;
        if !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut rest = &s[at + 42..];
        while let Some(tail) = rest.strip_prefix('_') {
            rest = il2cpp_descriptor(tail)?;
        }
        rest.is_empty()
            .then(|| format!("{}{}", &s[..at], &s[at + 42..]))
    }

    /// What follows one IL2CPP descriptor at the start of `s`, if one is there and ends at a
    /// `_` or the end.
    fn il2cpp_descriptor(s: &str) -> Option<&str> {
        let ends = |rest: &'_ str| rest.is_empty() || rest.starts_with('_');
        for plain in ["gshared", "fshared", "inline", "AdjustorThunk", "Multicast"] {
            if let Some(rest) = s.strip_prefix(plain).filter(|r| ends(r)) {
                return Some(rest);
            }
        }
        if let Some(open) = s.strip_prefix("Open") {
            for kind in [
                "Static",
                "Instance",
                "Virtual",
                "Interface",
                "GenericVirtual",
                "GenericInterface",
            ] {
                if let Some(rest) = open.strip_prefix(kind) {
                    if let Some(rest) = rest.strip_prefix("Invoker").filter(|r| ends(r)) {
                        return Some(rest);
                    }
                    if ends(rest) {
                        return Some(rest);
                    }
                }
            }
            return None;
        }
        // `gp` and one or more `_<digits>`.
        let mut rest = s.strip_prefix("gp")?;
        let mut groups = 0;
        while let Some(after) = rest.strip_prefix('_') {
            let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if digits == 0 {
                break;
            }
            rest = &after[digits..];
            groups += 1;
        }
        (groups > 0 && ends(rest)).then_some(rest)
    }

    /// Windows `__stdcall`/`__fastcall` decoration: `name@16`, `@name@16` → `name`.
    fn strip_windows_decoration(s: &mut String) {
        let Some(at) = s.rfind('@') else { return };
        let digits = &s[at + 1..];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return;
        }
        let head = &s[..at];
        let head = head.strip_prefix('@').unwrap_or(head);
        if head.contains('\n') {
            return;
        }
        *s = head.to_owned();
    }
}

#[cfg(test)]
mod tests;

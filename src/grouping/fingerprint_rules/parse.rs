//! Parsing fingerprint rules: a hand-written version of Sentry's parsimonious grammar.

use super::matchers::{FingerprintRule, Key, Matcher};
use super::{DEFAULT_FINGERPRINT_VARIABLE, FingerprintRules, ParseError};

/// Python's `\s` (unicode): Rust whitespace plus the ASCII information separators.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

pub(super) struct Parser<'t> {
    text: &'t str,
    pos: usize,
    /// First semantic error (reported only if the whole text parses).
    semantic: Option<ParseError>,
}

impl<'t> Parser<'t> {
    pub(super) fn new(text: &'t str) -> Parser<'t> {
        Parser {
            text,
            pos: 0,
            semantic: None,
        }
    }

    fn rest(&self) -> &'t str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn eat(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    /// `_ = space*` (spaces only, not tabs).
    fn spaces(&mut self) {
        while self.eat(" ") {}
    }

    fn line_of(&self, pos: usize) -> usize {
        self.text[..pos].matches('\n').count() + 1
    }

    fn semantic_error(&mut self, at: usize, message: String) {
        if self.semantic.is_none() {
            self.semantic = Some(ParseError {
                line: self.line_of(at),
                column: None,
                message,
            });
        }
    }

    pub(super) fn parse_all(mut self, is_builtin: bool) -> Result<FingerprintRules, ParseError> {
        let mut rules = Vec::new();
        // fingerprinting_rules = line*; line = _ (comment / rule / empty) newline?
        while self.pos < self.text.len() {
            let start = self.pos;
            self.spaces();
            if self.peek() == Some('#') {
                let end = self
                    .rest()
                    .find(['\r', '\n'])
                    .map_or(self.text.len(), |i| self.pos + i);
                self.pos = end;
            } else {
                let before = self.pos;
                match self.rule(is_builtin) {
                    Some(rule) => rules.push(rule),
                    None => self.pos = before,
                }
            }
            if !self.eat("\r") {
                self.eat("\n");
            }
            if self.pos == start {
                break;
            }
        }
        if self.pos < self.text.len() {
            let context: String = self.rest().chars().take(33).collect();
            let context = if context.chars().count() == 33 {
                format!("{}...", context.chars().take(32).collect::<String>())
            } else {
                context
            };
            let line_start = self.text[..self.pos].rfind('\n').map_or(0, |i| i + 1);
            return Err(ParseError {
                line: self.line_of(self.pos),
                column: Some(self.text[line_start..self.pos].chars().count() + 1),
                message: format!("Invalid syntax near \"{context}\""),
            });
        }
        match self.semantic {
            Some(e) => Err(e),
            None => Ok(FingerprintRules { rules }),
        }
    }

    /// `rule = _ matchers _ follow _ fingerprint`
    fn rule(&mut self, is_builtin: bool) -> Option<FingerprintRule> {
        let start = self.pos;
        self.spaces();
        let mut matchers = Vec::new();
        while let Some(m) = self.matcher() {
            matchers.push(m);
        }
        if matchers.is_empty() {
            return None;
        }
        self.spaces();
        if !self.eat("->") {
            return None;
        }
        self.spaces();
        let mut fingerprint = Vec::new();
        let mut title = None;
        let mut any = false;
        while let Some(value) = self.fp_value() {
            any = true;
            match value {
                FpValue::Part(p) => fingerprint.push(p),
                FpValue::Attribute(k, v) => {
                    if k == "title" {
                        title = Some(v);
                    } else {
                        self.semantic_error(start, format!("Unknown attribute '{k}'"));
                    }
                }
            }
        }
        if !any {
            return None;
        }
        Some(FingerprintRule::new(
            matchers,
            fingerprint,
            title,
            is_builtin,
        ))
    }

    /// `matcher = _ negation? matcher_type sep argument`
    fn matcher(&mut self) -> Option<Matcher> {
        let start = self.pos;
        let Some((negated, key_at, key, pattern)) = self.matcher_parts() else {
            self.pos = start;
            return None;
        };
        let parsed = match Key::from_name(&key) {
            Some(k) => k,
            None => {
                self.semantic_error(key_at, format!("Unknown matcher '{key}'"));
                Key::Type
            }
        };
        Some(Matcher::new(parsed, pattern, negated))
    }

    fn matcher_parts(&mut self) -> Option<(bool, usize, String, String)> {
        self.spaces();
        let negated = self.eat("!");
        let key_at = self.pos;
        let key = self.key().or_else(|| self.quoted_key())?;
        if !self.eat(":") {
            return None;
        }
        let pattern = self.quoted().or_else(|| self.unquoted())?;
        Some((negated, key_at, key, pattern))
    }

    /// `key = ~r"[a-zA-Z0-9_\.-]+"`
    fn key(&mut self) -> Option<String> {
        let len = self
            .rest()
            .find(|c: char| !is_key_char(c))
            .unwrap_or(self.rest().len());
        if len == 0 {
            return None;
        }
        let key = self.rest()[..len].to_owned();
        self.pos += len;
        Some(key)
    }

    /// `quoted_key = ~r"\"([a-zA-Z0-9_\.:-]+)\""`
    fn quoted_key(&mut self) -> Option<String> {
        let rest = self.rest().strip_prefix('"')?;
        let len = rest
            .find(|c: char| !(is_key_char(c) || c == ':'))
            .unwrap_or(rest.len());
        if len == 0 || !rest[len..].starts_with('"') {
            return None;
        }
        let key = rest[..len].to_owned();
        self.pos += len + 2;
        Some(key)
    }

    /// `quoted = ~r'"([^"\\]*(?:\\.[^"\\]*)*)"'`, then Python `unicode-escape`.
    fn quoted(&mut self) -> Option<String> {
        let rest = self.rest().strip_prefix('"')?;
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    let raw = &rest[..i];
                    self.pos += i + 2;
                    return Some(unescape_string(raw));
                }
                '\\' => match chars.next() {
                    Some((_, '\n')) | None => return None,
                    Some(_) => {}
                },
                _ => {}
            }
        }
        None
    }

    /// `unquoted = ~r"\S+"`
    fn unquoted(&mut self) -> Option<String> {
        let len = self.rest().find(is_py_space).unwrap_or(self.rest().len());
        if len == 0 {
            return None;
        }
        let s = self.rest()[..len].to_owned();
        self.pos += len;
        Some(s)
    }

    /// `fp_value = _ fp_argument _ ","?`; `fp_argument = fp_attribute / quoted / unquoted_no_comma`
    fn fp_value(&mut self) -> Option<FpValue> {
        let start = self.pos;
        self.spaces();
        let value = if let Some((k, v)) = self.fp_attribute() {
            FpValue::Attribute(k, v)
        } else if let Some(q) = self.quoted() {
            FpValue::Part(normalize_default_var(q))
        } else if let Some(u) = self.unquoted_no_comma() {
            FpValue::Part(normalize_default_var(u))
        } else {
            self.pos = start;
            return None;
        };
        self.spaces();
        self.eat(",");
        Some(value)
    }

    /// `fp_attribute = key "=" quoted`
    fn fp_attribute(&mut self) -> Option<(String, String)> {
        let start = self.pos;
        let parsed = self.fp_attribute_parts();
        if parsed.is_none() {
            self.pos = start;
        }
        parsed
    }

    fn fp_attribute_parts(&mut self) -> Option<(String, String)> {
        let key = self.key()?;
        if !self.eat("=") {
            return None;
        }
        Some((key, self.quoted()?))
    }

    /// `unquoted_no_comma = ~r"((?:\{\{\s*\S+\s*\}\})|(?:[^\s\{,]+))"`
    fn unquoted_no_comma(&mut self) -> Option<String> {
        let rest = self.rest();
        if let Some(len) = match_variable_prefix(rest) {
            self.pos += len;
            return Some(rest[..len].to_owned());
        }
        let len = rest
            .find(|c: char| is_py_space(c) || c == '{' || c == ',')
            .unwrap_or(rest.len());
        if len == 0 {
            return None;
        }
        self.pos += len;
        Some(rest[..len].to_owned())
    }
}

enum FpValue {
    Part(String),
    Attribute(String, String),
}

/// Length of the longest-by-backtracking match of `\{\{\s*\S+\s*\}\}` at the start of `s`
/// (Python's greedy `\S+` then backtracking).
fn match_variable_prefix(s: &str) -> Option<usize> {
    let inner = s.strip_prefix("{{")?;
    let lead = inner.find(|c: char| !is_py_space(c)).unwrap_or(inner.len());
    let word_start = 2 + lead;
    let after_lead = &s[word_start..];
    let word_len = after_lead.find(is_py_space).unwrap_or(after_lead.len());
    if word_len == 0 {
        return None;
    }
    // Full word, then optional whitespace, then `}}`.
    let after_word = &after_lead[word_len..];
    let trail = after_word
        .find(|c: char| !is_py_space(c))
        .unwrap_or(after_word.len());
    if after_word[trail..].starts_with("}}") {
        return Some(word_start + word_len + trail + 2);
    }
    // Backtrack: a shorter (non-empty) word directly followed by `}}`.
    let word = &after_lead[..word_len];
    word.char_indices()
        .rev()
        .map(|(i, _)| i)
        .filter(|&i| i > 0)
        .find(|&i| word[i..].starts_with("}}"))
        .map(|i| word_start + i + 2)
}

/// Sentry's `is_default_fingerprint_var` → `{{ default }}`.
fn normalize_default_var(part: String) -> String {
    if match_variable_prefix(&part) == Some(part.len()) {
        let inner = part[2..part.len() - 2].trim_matches(is_py_space);
        if inner == "default" {
            return DEFAULT_FINGERPRINT_VARIABLE.to_owned();
        }
    }
    part
}

/// Python's `value.encode("ascii", "backslashreplace").decode("unicode-escape", <recover>)`.
fn unescape_string(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_owned();
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let hex = |from: usize, n: usize| -> Option<u32> {
        let digits: String = chars.get(from..from + n)?.iter().collect();
        if digits.chars().all(|c| c.is_ascii_hexdigit()) {
            u32::from_str_radix(&digits, 16).ok()
        } else {
            None
        }
    };
    while i < chars.len() {
        let c = chars[i];
        if c != '\\' || i + 1 >= chars.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let next = chars[i + 1];
        let simple = match next {
            '\\' => Some('\\'),
            '\'' => Some('\''),
            '"' => Some('"'),
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'f' => Some('\x0c'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\x0b'),
            _ => None,
        };
        if let Some(ch) = simple {
            out.push(ch);
            i += 2;
            continue;
        }
        match next {
            '\n' => i += 2,
            '0'..='7' => {
                let mut n = 0;
                let mut value = 0u32;
                while n < 3 && i + 1 + n < chars.len() && ('0'..='7').contains(&chars[i + 1 + n]) {
                    value = value * 8 + chars[i + 1 + n].to_digit(8).unwrap_or(0);
                    n += 1;
                }
                out.push(char::from_u32(value).unwrap_or('\u{fffd}'));
                i += 1 + n;
            }
            'x' | 'u' | 'U' => {
                let n = match next {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                match hex(i + 2, n).and_then(char::from_u32) {
                    Some(ch) => {
                        out.push(ch);
                        i += 2 + n;
                    }
                    None => {
                        // Malformed escape: the recovery handler keeps the raw text.
                        out.push('\\');
                        i += 1;
                    }
                }
            }
            c if !c.is_ascii() => {
                // The backslash escapes the first char of the `backslashreplace` form.
                let code = c as u32;
                out.push('\\');
                if code < 0x100 {
                    out.push_str(&format!("x{code:02x}"));
                } else if code < 0x10000 {
                    out.push_str(&format!("u{code:04x}"));
                } else {
                    out.push_str(&format!("U{code:08x}"));
                }
                i += 2;
            }
            _ => {
                // Unknown escapes (including `\N{…}`, not supported here) stay as written.
                out.push('\\');
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use serde_json::{Value, json};

    #[test]
    fn parse_examples_and_text() {
        let rules = FingerprintRules::parse(
            "# comment\n\
             \n   \n\
             error.type:DatabaseUnavailable -> system-down\n\
             stack.function:\"assert*\" -> assertion-failed, {{ function }}\n  # indented comment\n\
             !logger:\"django.*\" \"tags.x\":\"a b\" -> a b,c title=\"T {{ type }}\"\n",
        )
        .unwrap();
        let r = rules.rules();
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].fingerprint(), ["system-down"]);
        assert_eq!(
            r[0].text(),
            "type:\"DatabaseUnavailable\" -> \"system-down\""
        );
        assert_eq!(r[1].fingerprint(), ["assertion-failed", "{{ function }}"]);
        assert_eq!(r[2].fingerprint(), ["a", "b", "c"]);
        assert_eq!(r[2].title(), Some("T {{ type }}"));
        assert_eq!(
            r[2].text(),
            "!logger:\"django.*\" tags.x:\"a b\" -> \"abc\" title=\"T {{ type }}\""
        );
        assert!(!r[0].is_builtin());
    }

    #[test]
    fn parse_all_matchers_and_aliases() {
        let text = "error.type:a error.value:a message:a logger:a level:a tags.foo:a sdk:a \
                    family:a release:a app:yes stack.function:a stack.module:a \
                    stack.abs_path:a stack.package:a type:a value:a function:a module:a \
                    path:a package:a -> x";
        let rules = FingerprintRules::parse(text).unwrap();
        let keys: Vec<String> = rules.rules()[0]
            .matchers
            .iter()
            .map(|m| m.key.name())
            .collect();
        assert_eq!(
            keys,
            [
                "type", "value", "message", "logger", "level", "tags.foo", "sdk", "family",
                "release", "app", "function", "module", "path", "package", "type", "value",
                "function", "module", "path", "package"
            ]
        );
        let err = FingerprintRules::parse("type:b -> c\nstack.filename:x -> y").unwrap_err();
        assert_eq!(err.line, 2);
        assert_eq!(err.message, "Unknown matcher 'stack.filename'");
    }

    #[test]
    fn parse_quoting_and_defaults() {
        let rules = FingerprintRules::parse(
            r#"message:"say \"hi\"\\\n\x41\u00e9\q" -> "{{default}}", {{  default  }}, "quoted part", {{tags.transaction}}"#,
        )
        .unwrap();
        let r = &rules.rules()[0];
        assert_eq!(r.matchers[0].pattern, "say \"hi\"\\\nA\u{e9}\\q");
        assert_eq!(
            r.fingerprint(),
            [
                "{{ default }}",
                "{{ default }}",
                "quoted part",
                "{{tags.transaction}}"
            ]
        );
        // Negation and a quoted key with a colon.
        let rules = FingerprintRules::parse("!\"tags.a:b\":x !type:y -> z").unwrap();
        let m = &rules.rules()[0].matchers;
        assert!(m[0].negated && m[1].negated);
        assert_eq!(m[0].key, Key::Tag("a:b".into()));
        // An unterminated quote falls back to an unquoted value.
        let rules = FingerprintRules::parse("type:\"abc -> z").unwrap();
        assert_eq!(rules.rules()[0].matchers[0].pattern, "\"abc");
        // Trailing words after a rule become fingerprint parts (Sentry's grammar does this too).
        let rules = FingerprintRules::parse("type:a -> b # note").unwrap();
        assert_eq!(rules.rules()[0].fingerprint(), ["b", "#", "note"]);
        // CRLF line endings.
        let rules = FingerprintRules::parse("type:a -> b\r\ntype:c -> d\r\n").unwrap();
        assert_eq!(rules.rules().len(), 2);
    }

    #[test]
    fn parse_errors_have_line_numbers() {
        let err = FingerprintRules::parse("type:a -> b\n\nthis is wrong\n").unwrap_err();
        assert_eq!((err.line, err.column), (3, Some(1)));
        assert_eq!(err.message, "Invalid syntax near \"this is wrong\n\"");
        let err = FingerprintRules::parse("type:a -> b\n  type:a ->\n").unwrap_err();
        assert_eq!((err.line, err.column), (2, Some(3)));
        // Tabs are not spaces in Sentry's grammar.
        assert!(FingerprintRules::parse("type:a\t-> b").is_err());
        // Missing arrow / fingerprint.
        assert!(FingerprintRules::parse("type:a b").is_err());
        assert!(FingerprintRules::parse("-> b").is_err());
        let err = FingerprintRules::parse("type:a -> b\ntype:a -> b foo=\"x\"").unwrap_err();
        assert_eq!(err.line, 2);
        assert_eq!(err.message, "Unknown attribute 'foo'");
        // Long contexts are cut at 32 chars.
        let err = FingerprintRules::parse("garbage garbage garbage garbage garbage").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid syntax near \"garbage garbage garbage garbage ...\" (line 1, column 1)"
        );
        // Empty input is fine.
        assert!(FingerprintRules::parse("").unwrap().is_empty());
    }

    /// Sentry's `test_basic_parsing` / `test_automatic_argument_splitting`.
    #[test]
    fn sentry_parsing_cases() {
        let rules = FingerprintRules::parse(
            r#"
# This is a config
type:DatabaseUnavailable                        -> DatabaseUnavailable
function:assertion_failed module:foo            -> AssertionFailed, foo
app:true                                        -> aha
app:true                                        -> {{ default }}
!path:**/foo/**                                 -> everything
!"path":**/foo/**                               -> everything
logger:sentry.*                                 -> logger-, {{ logger }}
message:"\x\xff"                                -> stuff
logger:sentry.*                                 -> logger-{{ logger }}, title="Message from {{ logger }}"
logger:sentry.*                                 -> logger-{{ logger }} title="Message from {{ logger }}"
logger:test2 -> logger-{{ logger }}-{{ level }}
"#,
        )
        .unwrap();
        let got: Vec<Value> = rules
            .rules()
            .iter()
            .map(|r| {
                let mut j = r.to_json();
                j.as_object_mut().unwrap().remove("text");
                j
            })
            .collect();
        let title = json!({"title": "Message from {{ logger }}"});
        let expected = json!([
            {"matchers": [["type", "DatabaseUnavailable"]], "fingerprint": ["DatabaseUnavailable"], "attributes": {}},
            {"matchers": [["function", "assertion_failed"], ["module", "foo"]], "fingerprint": ["AssertionFailed", "foo"], "attributes": {}},
            {"matchers": [["app", "true"]], "fingerprint": ["aha"], "attributes": {}},
            {"matchers": [["app", "true"]], "fingerprint": ["{{ default }}"], "attributes": {}},
            {"matchers": [["!path", "**/foo/**"]], "fingerprint": ["everything"], "attributes": {}},
            {"matchers": [["!path", "**/foo/**"]], "fingerprint": ["everything"], "attributes": {}},
            {"matchers": [["logger", "sentry.*"]], "fingerprint": ["logger-", "{{ logger }}"], "attributes": {}},
            {"matchers": [["message", "\\x\u{ff}"]], "fingerprint": ["stuff"], "attributes": {}},
            {"matchers": [["logger", "sentry.*"]], "fingerprint": ["logger-", "{{ logger }}"], "attributes": title},
            {"matchers": [["logger", "sentry.*"]], "fingerprint": ["logger-", "{{ logger }}"], "attributes": title},
            {"matchers": [["logger", "test2"]], "fingerprint": ["logger-", "{{ logger }}", "-", "{{ level }}"], "attributes": {}},
        ]);
        assert_eq!(Value::Array(got), expected);
        assert!(FingerprintRules::parse("invalid.message:foo -> bar").is_err());
    }
}

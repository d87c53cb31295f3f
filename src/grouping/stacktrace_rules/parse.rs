//! Parsing stack-trace rules, one trimmed, non-comment line at a time.

use super::{
    Action, ExcField, FAMILY_ALL, FAMILY_JAVASCRIPT, FAMILY_NATIVE, FAMILY_OTHER, Field, FlagKind,
    Kind, Matcher, Offset, Range, Rule,
};
use crate::grouping::glob::{Glob, GlobOptions};
use crate::grouping::rule_input::parse_bool;

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.bump();
        }
        &self.s[start..self.pos]
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected `{c}` {}", self.near()))
        }
    }

    /// "near `…`" / "at end of line", for error messages.
    fn near(&self) -> String {
        let rest = &self.s[self.pos..];
        if rest.is_empty() {
            "at end of line".to_owned()
        } else {
            let snippet: String = rest.chars().take(30).collect();
            format!("near `{snippet}`")
        }
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

pub(super) fn parse_rule(line: &str) -> Result<Rule, String> {
    let mut cur = Cursor { s: line, pos: 0 };
    let mut matchers = Vec::new();
    let mut text: Vec<String> = Vec::new();

    cur.skip_ws();
    if cur.eat('[') {
        cur.skip_ws();
        let (m, desc) = parse_matcher(&mut cur, Offset::Caller)?
            .ok_or_else(|| format!("expected a matcher after `[` {}", cur.near()))?;
        cur.skip_ws();
        cur.expect(']')?;
        cur.skip_ws();
        cur.expect('|')?;
        matchers.push(m);
        text.push(format!("[ {desc} ] |"));
    }
    let mut own = 0;
    loop {
        cur.skip_ws();
        match parse_matcher(&mut cur, Offset::Own)? {
            Some((m, desc)) => {
                matchers.push(m);
                text.push(desc);
                own += 1;
            }
            None => break,
        }
    }
    if own == 0 {
        return Err(format!(
            "expected a matcher such as `function:NAME` {}",
            cur.near()
        ));
    }
    cur.skip_ws();
    if cur.eat('|') {
        cur.skip_ws();
        cur.expect('[')?;
        cur.skip_ws();
        let (m, desc) = parse_matcher(&mut cur, Offset::Callee)?
            .ok_or_else(|| format!("expected a matcher after `| [` {}", cur.near()))?;
        cur.skip_ws();
        cur.expect(']')?;
        matchers.push(m);
        text.push(format!("| [ {desc} ]"));
    }

    let mut actions = Vec::new();
    loop {
        cur.skip_ws();
        match cur.peek() {
            None | Some('#') => break,
            Some(_) => {
                let action = parse_action(&mut cur)?;
                text.push(action.to_string());
                actions.push(action);
            }
        }
    }
    if actions.is_empty() {
        return Err("a rule needs at least one action such as `-app` or `-group`".to_owned());
    }
    Ok(Rule {
        matchers,
        actions,
        text: text.join(" "),
    })
}

/// `Ok(None)` when the input is not a `[!]key:value` matcher (the caller tries actions).
fn parse_matcher(
    cur: &mut Cursor<'_>,
    offset: Offset,
) -> Result<Option<(Matcher, String)>, String> {
    let start = cur.pos;
    let negated = cur.eat('!');
    let key = if cur.eat('"') {
        let key = cur.take_while(|c| is_ident_char(c) || c == ':' || c == ' ');
        if !cur.eat('"') {
            cur.pos = start;
            return Ok(None);
        }
        key
    } else {
        cur.take_while(is_ident_char)
    };
    if key.is_empty() || !cur.eat(':') {
        cur.pos = start;
        return Ok(None);
    }
    let raw = if cur.peek() == Some('"') {
        parse_quoted(cur)?
    } else {
        unescape(cur.take_while(|c| !c.is_whitespace()))
    };
    if raw.is_empty() {
        return Err(format!("missing value after `{key}:`"));
    }
    let (canonical, kind) = matcher_kind(key, &raw)?;
    if matches!(kind, Kind::Exception(..)) && offset != Offset::Own {
        return Err(format!(
            "`{key}` cannot be used as caller or callee matcher"
        ));
    }
    // Sentry's matcher description: canonical key, value quoted when it contains spaces.
    let shown = if raw.split_whitespace().collect::<Vec<_>>() == [raw.as_str()] {
        raw.clone()
    } else {
        format!("\"{raw}\"")
    };
    let desc = format!("{}{canonical}:{shown}", if negated { "!" } else { "" });
    Ok(Some((
        Matcher {
            negated,
            offset,
            kind,
        },
        desc,
    )))
}

/// A `"…"` value; `\"` and `\\` are unescaped, other backslashes stay for the glob.
fn parse_quoted(cur: &mut Cursor<'_>) -> Result<String, String> {
    cur.bump();
    let mut out = String::new();
    loop {
        match cur.bump() {
            None => return Err("unterminated quoted value".to_owned()),
            Some('"') => return Ok(out),
            Some('\\') => match cur.bump() {
                Some(c @ ('"' | '\\')) => out.push(c),
                Some(c) => {
                    out.push('\\');
                    out.push(c);
                }
                None => return Err("unterminated quoted value".to_owned()),
            },
            Some(c) => out.push(c),
        }
    }
}

/// Unquoted values only collapse `\\` (as Sentry's Rust parser does).
fn unescape(s: &str) -> String {
    s.replace("\\\\", "\\")
}

fn matcher_kind(key: &str, raw: &str) -> Result<(&'static str, Kind), String> {
    let glob = |path_like| {
        let options = if path_like {
            GlobOptions::STACK_PATH
        } else {
            GlobOptions::STACK_PLAIN
        };
        Glob::new(raw, options).map_err(|e| format!("bad pattern `{raw}`: {e}"))
    };
    Ok(match key {
        "family" => {
            let mut bits = 0;
            for name in raw.split(',') {
                bits |= match name {
                    "native" => FAMILY_NATIVE,
                    "javascript" => FAMILY_JAVASCRIPT,
                    "other" => FAMILY_OTHER,
                    "all" => FAMILY_ALL,
                    _ => {
                        return Err(format!(
                            "unknown family `{name}` (expected native, javascript, other or all)"
                        ));
                    }
                };
            }
            ("family", Kind::Family(bits))
        }
        "app" => {
            (
                "app",
                Kind::App(parse_bool(raw).ok_or_else(|| {
                    format!("invalid value `{raw}` for `app` (expected yes or no)")
                })?),
            )
        }
        "function" | "stack.function" => ("function", Kind::Field(Field::Function, glob(false)?)),
        "module" | "stack.module" => ("module", Kind::Field(Field::Module, glob(false)?)),
        "path" | "stack.abs_path" => ("path", Kind::Field(Field::Path, glob(true)?)),
        "package" | "stack.package" => ("package", Kind::Field(Field::Package, glob(true)?)),
        "category" => ("category", Kind::Field(Field::Category, glob(false)?)),
        "error.type" => ("type", Kind::Exception(ExcField::Type, glob(false)?)),
        "error.value" => ("value", Kind::Exception(ExcField::Value, glob(false)?)),
        "error.mechanism" => (
            "mechanism",
            Kind::Exception(ExcField::Mechanism, glob(false)?),
        ),
        _ => {
            return Err(format!(
                "unknown matcher `{key}` (expected family, path, package, module, function, \
                 category, app, error.type, error.value, error.mechanism or a stack.* alias)"
            ));
        }
    })
}

fn parse_action(cur: &mut Cursor<'_>) -> Result<Action, String> {
    let start = cur.pos;
    let rest = &cur.s[cur.pos..];
    let range = if rest.starts_with('^') {
        Some(Range::Up)
    } else if rest.starts_with("v+") || rest.starts_with("v-") {
        Some(Range::Down)
    } else {
        None
    };
    if range.is_some() {
        cur.bump();
    }
    if let Some(sign @ ('+' | '-')) = cur.peek() {
        cur.bump();
        let rest = &cur.s[cur.pos..];
        let kind = if rest.starts_with("group") {
            cur.pos += "group".len();
            FlagKind::Group
        } else if rest.starts_with("app") {
            cur.pos += "app".len();
            FlagKind::App
        } else {
            cur.pos = start;
            return Err(format!(
                "expected `{sign}app` or `{sign}group` {}",
                cur.near()
            ));
        };
        return Ok(Action::Flag {
            range,
            flag: sign == '+',
            kind,
        });
    }
    if range.is_some() {
        cur.pos = start;
        return Err(format!(
            "expected `+` or `-` after the range marker {}",
            cur.near()
        ));
    }
    let name = cur.take_while(|c| c.is_ascii_lowercase() || c == '-');
    let known = matches!(
        name,
        "category" | "max-frames" | "min-frames" | "invert-stacktrace"
    );
    cur.skip_ws();
    if !known || !cur.eat('=') {
        cur.pos = start;
        return Err(format!(
            "expected an action (+app, -app, +group, -group, category=, max-frames=, \
             min-frames=) {}",
            cur.near()
        ));
    }
    cur.skip_ws();
    let value = cur.take_while(is_ident_char);
    if value.is_empty() {
        return Err(format!("missing value after `{name}=`"));
    }
    Ok(match name {
        "category" => Action::Category(value.to_owned()),
        "invert-stacktrace" => Action::InvertStacktrace(
            parse_bool(value).ok_or_else(|| format!("invalid value `{value}` for `{name}`"))?,
        ),
        _ => {
            let n: usize = value
                .parse()
                .map_err(|_| format!("`{name}` needs a number, got `{value}`"))?;
            if name == "max-frames" {
                Action::MaxFrames(n)
            } else {
                Action::MinFrames(n)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use crate::grouping::rule_input::RuleFrame;

    fn err(text: &str) -> RuleError {
        Rules::parse(text).expect_err(text)
    }

    #[test]
    fn parses_every_syntax_element() {
        let text = r#"
# comment line

family:native,javascript path:**/a/** package:/usr/** module:foo.* function:bar* -app
stack.function:x stack.module:y stack.abs_path:z stack.package:w +app
app:yes category:ui error.type:Foo* error.value:"a b" error.mechanism:onerror +group
!function:_purecall family:all -group   # trailing comment
[ category:malloc ] | category:malloc category=internals
category:system | [ !category:system ] category=indirection
[ app:no ] | function:f | [ app:yes ] ^-group v+app max-frames=3 min-frames = 2
function:"?[[]Sentry*" invert-stacktrace=yes
"function":q -app
"#;
        let rules = Rules::parse(text).unwrap();
        assert_eq!(rules.len(), 9);
        let texts: Vec<&str> = rules.rules.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(
            texts[2],
            "app:yes category:ui type:Foo* value:\"a b\" mechanism:onerror +group"
        );
        assert_eq!(
            texts[6],
            "[ app:no ] | function:f | [ app:yes ] ^-group v+app max-frames=3 min-frames=2"
        );
        assert_eq!(texts[7], "function:?[[]Sentry* invert-stacktrace=true");
        let r = &rules.rules[6];
        assert_eq!(r.matchers[0].offset, Offset::Caller);
        assert_eq!(r.matchers[2].offset, Offset::Callee);
        assert_eq!(
            r.actions[..2],
            [
                Action::Flag {
                    range: Some(Range::Up),
                    flag: false,
                    kind: FlagKind::Group
                },
                Action::Flag {
                    range: Some(Range::Down),
                    flag: true,
                    kind: FlagKind::App
                }
            ]
        );
        assert!(rules.rules[3].matchers[0].negated);
    }

    #[test]
    fn quoted_values_unescape_quotes_and_backslashes() {
        let rules = Rules::parse(
            "function:\"*::\\\\{dtor\\\\}\" category=dtor\nfunction:\"say \\\"hi\\\"\" -app",
        )
        .unwrap();
        let mut frames = vec![
            RuleFrame::native("Foo::{dtor}"),
            RuleFrame::native("say \"hi\""),
        ];
        frames[1].in_app = Some(true);
        rules.classify(&mut frames, None);
        assert_eq!(frames[0].category, Some("dtor"));
        assert_eq!(frames[1].in_app, Some(false));
    }

    #[test]
    fn errors_name_the_line_and_reason() {
        let e = err("path:**/a/** -app\n\nfunction:foo +application");
        assert_eq!(e.line, 3);
        assert!(e.message.contains("+app"), "{e}");
        assert!(
            e.to_string().starts_with("stack trace rules, line 3:"),
            "{e}"
        );

        for (text, needle) in [
            ("function:foo", "at least one action"),
            ("-app", "expected a matcher"),
            ("colour:red -app", "unknown matcher `colour`"),
            ("family:java -app", "unknown family"),
            ("app:maybe -app", "invalid value `maybe`"),
            ("function: -app", "missing value"),
            ("function:\"abc -app", "unterminated"),
            ("function:a max-frames=x", "needs a number"),
            ("function:a category=", "missing value"),
            ("function:a ^app", "expected `+` or `-`"),
            ("function:a frobnicate", "expected an action"),
            ("[ function:a | function:b -app", "expected `]`"),
            ("[ function:a ] function:b -app", "expected `|`"),
            ("function:b | function:c -app", "expected `[`"),
            ("[ error.type:X ] | function:b -app", "caller or callee"),
            ("function:a[b -app", "unclosed `[`"),
            ("function:{a,{b}} -app", "nested"),
            ("function:a} -app", "without `{`"),
            ("function:{a -app", "unclosed `{`"),
            ("function:[z-a] -app", "invalid range"),
            ("module:foo\\ -app", "dangling"),
            ("function:a +prefix", "expected `+app` or `+group`"),
        ] {
            let e = err(text);
            assert_eq!(e.line, 1);
            assert!(e.message.contains(needle), "{text:?}: {e}");
        }
    }

    #[test]
    fn builtin_table_parses() {
        assert!(Rules::builtin().len() > 90);
    }
}

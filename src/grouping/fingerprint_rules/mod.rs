//! Server-side fingerprint rules, matching Sentry's `sentry.grouping.fingerprinting`.
//!
//! One rule per line; `#` starts a comment line; blank lines are ignored:
//!
//! ```text
//! # matcher:value [matcher:value …] -> part [, part …] [title="…"]
//! error.type:DatabaseUnavailable -> system-down
//! stack.function:"assert*" -> assertion-failed, {{ function }}
//! !logger:"django.*" message:"*timeout*" -> timeouts title="Timeout in {{ transaction }}"
//! family:javascript error.type:"ChunkLoadError" -> chunkloaderror
//! ```
//!
//! Matchers (aliases in brackets): `error.type` (`type`), `error.value` (`value`), `message`,
//! `logger`, `level`, `tags.NAME`, `sdk`, `family`, `release`, `app`, `stack.function`
//! (`function`), `stack.module` (`module`), `stack.abs_path` (`path`), `stack.package`
//! (`package`). There is no `stack.filename` matcher (`path` also tests the frame's filename).
//! A leading `!` negates a matcher. Keys may be quoted (`"tags.a:b":x`). Values are either
//! unquoted (everything up to the next whitespace) or double-quoted with Python
//! `unicode-escape` escapes (`\"`, `\\`, `\n`, `\t`, `\xHH`, `\uHHHH`, …). Fingerprint parts are
//! separated by spaces and/or commas; `{{ var }}` parts are variables resolved later (by
//! `fingerprint.rs`), and `{{default}}` is normalised to `{{ default }}`. The only attribute is
//! `title="…"`. Only spaces (not tabs) separate tokens, exactly like Sentry's grammar.
//!
//! Semantics (Sentry `fingerprinting/__init__.py`, `FingerprintMatcher` / `FingerprintRule` /
//! `EventDatastore`):
//! * Matchers of one *kind* must all hold for the same item: `type`/`value` for the same
//!   exception; `function`/`module`/`path`/`package`/`app` for the same frame;
//!   `message` for the same message-or-exception; `logger`+`level` for the event's log info.
//!   Kinds are combined with AND. A kind with no items (no exceptions, no frames, no
//!   `logentry.formatted` nor exceptions, neither logger nor level) fails the rule even when the
//!   matcher is negated.
//! * A negated matcher is `!positive`, so `!tags.x:foo` holds when the tag is missing.
//! * Globs are Relay's (`globset` semantics): `*`, `?`, `[a-z]`, `[!x]`, `{a,b}`, `\` escape,
//!   anchored at both ends, ASCII-only case folding, `?` matches one *byte*, invalid patterns
//!   never match.
//!   - `path`, `package`, `release`: case-insensitive, `*` stops at `/`, `**` crosses it, `\`
//!     normalised to `/` in both value and pattern, and a value not starting with `/` is also
//!     tried with a `/` prepended. `path` tests both `abs_path` (falling back to `filename`) and
//!     `filename`.
//!   - `message` (tests `logentry.formatted` *and* every exception value), `value`, `level`:
//!     case-insensitive, `*` crosses `/`.
//!   - `type`, `function`, `module`, `logger`, `tags.*`: case-sensitive, `*` crosses `/`.
//!   - `family`, `sdk`: exact comparison against a comma-separated list (`all` matches all).
//!     `family` is `javascript` (javascript, node), `native` (objc, cocoa, swift, native, c) or
//!     `other`; `sdk` is Sentry's normalised SDK tag (`sentry.javascript.react`, `other`, …).
//!   - `app`: `in_app == bool(pattern)` (`1/yes/true`, `0/no/false`); frames without `in_app`
//!     never match positively.
//!   - a frame without a function is seen as `<unknown>`.
//! * First matching rule wins; project rules are tried before the built-in rules. The built-in
//!   rules (base `javascript@2024-02-02`) restrict themselves with `family:javascript`.
//! * A match replaces the event's fingerprint; its variant is `built_in_fingerprint` for a
//!   built-in rule, else `custom_fingerprint`.

mod event;
mod matchers;
mod parse;

use std::fmt;
use std::sync::OnceLock;

use serde_json::{Value, json};

pub use event::{RuleEvent, normalize_sdk_tag, with_derived_tags};
pub use matchers::FingerprintRule;
use matchers::{Key, Matcher};
use parse::Parser;

/// Sentry's `configs/javascript@2024-02-02/001_chunkload_errors.txt`.
const BUILTIN_CHUNKLOAD: &str = r#"family:javascript error.type:"ChunkLoadError" -> chunkloaderror
family:javascript error.value:"ChunkLoadError*" -> chunkloaderror
"#;

/// Sentry's `configs/javascript@2024-02-02/002_hydration_errors.txt`.
const BUILTIN_HYDRATION: &str = r#"family:javascript tags.transaction:"*" message:"Hydration failed because the initial UI does not match what was rendered on the server." -> hydrationerror, {{tags.transaction}}
family:javascript tags.transaction:"*" message:"The server could not finish this Suspense boundary, likely due to an error during server rendering. Switched to client rendering." -> hydrationerror, {{tags.transaction}}
family:javascript tags.transaction:"*" message:"There was an error while hydrating this Suspense boundary. Switched to client rendering." -> hydrationerror, {{tags.transaction}}
family:javascript tags.transaction:"*" message:"There was an error while hydrating. Because the error happened outside of a Suspense boundary, the entire root will switch to client rendering." -> hydrationerror, {{tags.transaction}}
family:javascript tags.transaction:"*" message:"Text content does not match server-rendered HTML." -> hydrationerror, {{tags.transaction}}
"#;

const DEFAULT_FINGERPRINT_VARIABLE: &str = "{{ default }}";

/// The rule that decided an event's fingerprint.
#[derive(Debug, Clone)]
pub struct MatchedRule<'a> {
    pub rule: &'a FingerprintRule,
    /// The new fingerprint (variables such as `{{ tags.transaction }}` still unresolved).
    pub fingerprint: &'a [String],
    /// Custom title template (same variables as fingerprints).
    pub title: Option<&'a str>,
    pub is_builtin: bool,
    /// The rule as text, for explanations.
    pub text: String,
}

impl MatchedRule<'_> {
    /// `built_in_fingerprint` or `custom_fingerprint`.
    pub fn variant_name(&self) -> &'static str {
        if self.is_builtin {
            "built_in_fingerprint"
        } else {
            "custom_fingerprint"
        }
    }
}

/// An ordered list of fingerprint rules (a project's, or a built-in base).
#[derive(Debug, Clone, Default)]
pub struct FingerprintRules {
    rules: Vec<FingerprintRule>,
}

/// A syntax or semantic error in a rules text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column for syntax errors.
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            Some(c) => write!(f, "{} (line {}, column {})", self.message, self.line, c),
            None => write!(f, "{} (line {})", self.message, self.line),
        }
    }
}

impl std::error::Error for ParseError {}

impl FingerprintRules {
    /// Parses the rules text (Sentry's `from_config_string`).
    pub fn parse(text: &str) -> Result<FingerprintRules, ParseError> {
        Parser::new(text).parse_all(false)
    }

    /// The JSON form used by Sentry's fixtures and `to_json`: a list of
    /// `{"matchers": [["type", "X"], ["!tags.a", "b"]], "fingerprint": [..], "attributes": {"title": ..}}`,
    /// or `{"version": 1, "rules": [...]}`.
    pub fn from_json(value: &Value) -> Result<FingerprintRules, String> {
        let list = match value {
            Value::Array(list) => list,
            Value::Object(o) => {
                if o.get("version").is_some_and(|v| v.as_i64() != Some(1)) {
                    return Err("invalid fingerprinting config: Unknown version".into());
                }
                o.get("rules")
                    .and_then(Value::as_array)
                    .ok_or("invalid fingerprinting config: missing rules")?
            }
            _ => return Err("invalid fingerprinting config: not a list".into()),
        };
        let rules = list
            .iter()
            .map(rule_from_json)
            .collect::<Result<Vec<_>, String>>()
            .map_err(|e| format!("invalid fingerprinting config: {e}"))?;
        Ok(FingerprintRules { rules })
    }

    /// Sentry's built-in base `javascript@2024-02-02` (ChunkLoadError + React hydration errors),
    /// used by grouping config `newstyle:2023-01-11`.
    pub fn builtin() -> &'static FingerprintRules {
        static BUILTIN: OnceLock<FingerprintRules> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            let mut rules = Vec::new();
            for text in [BUILTIN_CHUNKLOAD, BUILTIN_HYDRATION] {
                let parsed = Parser::new(text.trim_end())
                    .parse_all(true)
                    .expect("built-in fingerprint rules parse");
                rules.extend(parsed.rules);
            }
            FingerprintRules { rules }
        })
    }

    pub fn rules(&self) -> &[FingerprintRule] {
        &self.rules
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Sentry's `to_json` (`{"version": 1, "rules": [...]}`).
    pub fn to_json(&self) -> Value {
        json!({
            "version": 1,
            "rules": self.rules.iter().map(FingerprintRule::to_json).collect::<Vec<_>>(),
        })
    }

    /// The first of *these* rules that matches.
    pub fn first_match<'a>(&'a self, event: &RuleEvent<'_>) -> Option<MatchedRule<'a>> {
        self.rules
            .iter()
            .find(|r| r.matches(event))
            .map(|rule| MatchedRule {
                rule,
                fingerprint: rule.fingerprint(),
                title: rule.title(),
                is_builtin: rule.is_builtin(),
                text: rule.text(),
            })
    }
}

/// Project rules first, then (if `with_builtin`, as for `newstyle:2023-01-11`) the built-in base.
pub fn match_event<'a>(
    project: Option<&'a FingerprintRules>,
    event: &RuleEvent<'_>,
    with_builtin: bool,
) -> Option<MatchedRule<'a>> {
    project.and_then(|p| p.first_match(event)).or_else(|| {
        with_builtin
            .then(|| FingerprintRules::builtin().first_match(event))
            .flatten()
    })
}

fn rule_from_json(v: &Value) -> Result<FingerprintRule, String> {
    let matchers = v
        .get("matchers")
        .and_then(Value::as_array)
        .ok_or("rule without matchers")?
        .iter()
        .map(|m| {
            let pair = m.as_array().filter(|a| a.len() == 2).ok_or("bad matcher")?;
            let (Some(key), Some(pattern)) = (pair[0].as_str(), pair[1].as_str()) else {
                return Err("bad matcher".to_owned());
            };
            let negated = key.starts_with('!');
            let key = key.trim_start_matches('!');
            let key = Key::from_name(key).ok_or_else(|| format!("Unknown matcher '{key}'"))?;
            Ok(Matcher::new(key, pattern.to_owned(), negated))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let fingerprint = v
        .get("fingerprint")
        .and_then(Value::as_array)
        .ok_or("rule without fingerprint")?
        .iter()
        .map(|p| p.as_str().map(str::to_owned).ok_or("bad fingerprint part"))
        .collect::<Result<Vec<_>, _>>()?;
    let title = v
        .get("attributes")
        .and_then(|a| a.get("title"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let is_builtin = v
        .get("is_builtin")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(FingerprintRule::new(
        matchers,
        fingerprint,
        title,
        is_builtin,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grouping::rule_input::RuleException;

    #[test]
    fn from_json_fixture_form() {
        let v = serde_json::json!([
            {"matchers": [["type", "DatabaseUnavailable"], ["!tags.x", "y"]],
             "fingerprint": ["database-unavailable"], "attributes": {"title": "DB"}},
            {"matchers": [["error.value", "*oops*"]], "fingerprint": ["oops"]}
        ]);
        let rules = FingerprintRules::from_json(&v).unwrap();
        assert_eq!(rules.rules().len(), 2);
        assert_eq!(rules.rules()[0].title(), Some("DB"));
        assert!(rules.rules()[0].matchers[1].negated);
        let round = FingerprintRules::from_json(&rules.to_json()).unwrap();
        assert_eq!(round.rules()[1].text(), "value:\"*oops*\" -> \"oops\"");
        assert!(
            FingerprintRules::from_json(
                &serde_json::json!([{"matchers": [["nope", "x"]], "fingerprint": []}])
            )
            .is_err()
        );
    }

    fn exc<'a>(ty: &'a str, value: &'a str) -> RuleException<'a> {
        RuleException {
            ty: Some(ty),
            value: Some(value),
            ..Default::default()
        }
    }

    fn js_event<'a>(
        platform: &'a str,
        excs: Vec<RuleException<'a>>,
        tags: &'a [(String, String)],
    ) -> RuleEvent<'a> {
        RuleEvent {
            platform: Some(platform),
            exceptions: excs,
            tags: tags.into(),
            ..Default::default()
        }
    }

    #[test]
    fn builtin_chunkloaderror() {
        let builtin = FingerprintRules::builtin();
        assert_eq!(builtin.rules().len(), 7);
        assert!(builtin.rules().iter().all(FingerprintRule::is_builtin));
        let ev = js_event(
            "javascript",
            vec![exc("ChunkLoadError", "Loading chunk 3 failed.")],
            &[],
        );
        let m = match_event(None, &ev, true).unwrap();
        assert_eq!(m.fingerprint, ["chunkloaderror"]);
        assert_eq!(m.variant_name(), "built_in_fingerprint");
        assert_eq!(
            m.text,
            "family:\"javascript\" type:\"ChunkLoadError\" -> \"chunkloaderror\""
        );
        let ev = js_event(
            "node",
            vec![exc("Error", "chunkloaderror: Loading chunk 7")],
            &[],
        );
        assert_eq!(
            match_event(None, &ev, true).unwrap().fingerprint,
            ["chunkloaderror"]
        );
        // Only for the javascript family, and only when built-ins are enabled.
        let ev = js_event("python", vec![exc("ChunkLoadError", "x")], &[]);
        assert!(match_event(None, &ev, true).is_none());
        let ev = js_event("javascript", vec![exc("ChunkLoadError", "x")], &[]);
        assert!(match_event(None, &ev, false).is_none());
        // error.type is case-sensitive.
        let ev = js_event("javascript", vec![exc("chunkloaderror", "x")], &[]);
        assert!(match_event(None, &ev, true).is_none());
    }

    #[test]
    fn builtin_hydration() {
        let tags = with_derived_tags(&[], "error", None, None, Some("/checkout"));
        let msg = "Text content does not match server-rendered HTML.";
        let ev = js_event("javascript", vec![exc("Error", msg)], &tags);
        let m = match_event(None, &ev, true).unwrap();
        assert_eq!(m.fingerprint, ["hydrationerror", "{{tags.transaction}}"]);
        assert!(m.is_builtin);
        // The message matcher also sees logentry.formatted, case-insensitively.
        let ev = RuleEvent {
            platform: Some("javascript"),
            message: Some(
                "hydration failed because the initial UI does not match what was rendered on the server.",
            ),
            tags: tags.as_slice().into(),
            ..Default::default()
        };
        assert!(match_event(None, &ev, true).is_some());
        // No transaction tag: no match.
        let ev = js_event("javascript", vec![exc("Error", msg)], &[]);
        assert!(match_event(None, &ev, true).is_none());
        // Extra text after the message: no match (exact glob).
        let long = format!("{msg} See more info here");
        let ev = js_event("javascript", vec![exc("Error", &long)], &tags);
        assert!(match_event(None, &ev, true).is_none());
    }

    #[test]
    fn project_rules_before_builtin() {
        let project =
            FingerprintRules::parse("type:ChunkLoadError -> mine title=\"Chunks\"").unwrap();
        let ev = js_event("javascript", vec![exc("ChunkLoadError", "x")], &[]);
        let m = match_event(Some(&project), &ev, true).unwrap();
        assert_eq!(m.fingerprint, ["mine"]);
        assert_eq!(m.title, Some("Chunks"));
        assert_eq!(m.variant_name(), "custom_fingerprint");
        let other = FingerprintRules::parse("type:Nope -> mine").unwrap();
        let m = match_event(Some(&other), &ev, true).unwrap();
        assert!(m.is_builtin);
        // First matching project rule wins.
        let two = FingerprintRules::parse("value:* -> first\ntype:* -> second").unwrap();
        assert_eq!(
            match_event(Some(&two), &ev, true).unwrap().fingerprint,
            ["first"]
        );
    }
}

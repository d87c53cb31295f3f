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

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use super::glob::{Glob, GlobOptions};
use super::rule_input::{Family, RuleException, RuleFrame, parse_bool};

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

// ---------------------------------------------------------------------------------------------
// Event view
// ---------------------------------------------------------------------------------------------

/// What the rules see of an event. Build it from the normalized event *after* stack-trace
/// normalization (function trimming, in-app rules), as Sentry does.
#[derive(Debug, Clone, Default)]
pub struct RuleEvent<'a> {
    /// Event `platform` (decides `family`).
    pub platform: Option<&'a str>,
    /// `logentry.formatted`.
    pub message: Option<&'a str>,
    /// `exception.values`, in event order.
    pub exceptions: Vec<RuleException<'a>>,
    /// Sentry's `find_stack_frames`: the frames of every exception's stacktrace (in order); if
    /// no exception has frames, the top-level stacktrace; else the crashing thread's (the only
    /// thread, else the only `crashed` one, else the only `current` one).
    pub frames: Vec<RuleFrame<'a>>,
    pub logger: Option<&'a str>,
    pub level: Option<&'a str>,
    /// Event tags; the last entry wins for duplicate keys. Sentry derives `level`, `logger`,
    /// `environment` and `transaction` tags before grouping: see [`with_derived_tags`].
    pub tags: Cow<'a, [(String, String)]>,
    /// Raw `sdk.name`; normalized with [`normalize_sdk_tag`] when matched.
    pub sdk_name: Option<&'a str>,
    pub release: Option<&'a str>,
}

/// The tags as Sentry's `_pull_out_data` leaves them before grouping: the event's tags plus
/// `level`, `logger`, `environment` and `transaction` (these win over sent tags of that name).
pub fn with_derived_tags(
    tags: &[(String, String)],
    level: &str,
    logger: Option<&str>,
    environment: Option<&str>,
    transaction: Option<&str>,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = tags.to_vec();
    let mut set = |key: &str, value: &str| {
        out.retain(|(k, _)| k != key);
        out.push((key.to_owned(), value.to_owned()));
    };
    set("level", level);
    for (key, value) in [
        ("logger", logger),
        ("environment", environment),
        ("transaction", transaction),
    ] {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            set(key, v);
        }
    }
    out
}

const KNOWN_SDK_TAGS: &[&str] = &[
    "sentry.cocoa",
    "sentry.dart",
    "sentry.dotnet",
    "sentry.elixir",
    "sentry.go",
    "sentry.java",
    "sentry.javascript.angular",
    "sentry.javascript.browser",
    "sentry.javascript.capacitor",
    "sentry.javascript.cordova",
    "sentry.javascript.deno",
    "sentry.javascript.electron",
    "sentry.javascript.ember",
    "sentry.javascript.gatsby",
    "sentry.javascript.nextjs",
    "sentry.javascript.node",
    "sentry.javascript.react",
    "sentry.javascript.react.native",
    "sentry.javascript.remix",
    "sentry.javascript.serverless",
    "sentry.javascript.svelte",
    "sentry.javascript.sveltekit",
    "sentry.javascript.vue",
    "sentry.kubernetes",
    "sentry.native.android",
    "sentry.native.dotnet",
    "sentry.native.unity",
    "sentry.native.unreal",
    "sentry.objc",
    "sentry.perl",
    "sentry.php",
    "sentry.python",
    "sentry.ruby",
    "sentry.rust",
    "sentry.swift",
];

const SYNONYMOUS_SDK_TAGS: &[(&str, &str)] = &[
    // (sic: Sentry's table has this typo, so `sentry.cordova` ends up as `other`.)
    ("sentry.cordova", "sentery.javascript.cordova"),
    ("sentry.electron", "sentry.javascript.electron"),
    ("sentry.javascript.angular.ivy", "sentry.javascript.angular"),
    (
        "sentry.javascript.node.experimental",
        "sentry.javascript.node",
    ),
    ("sentry.javascript.react.expo", "sentry.javascript.react"),
    (
        "sentry.javascript.react.native.expo",
        "sentry.javascript.react.native",
    ),
    ("sentry.laravel", "sentry.php.laravel"),
    ("sentry.react", "sentry.javascript.react"),
    ("sentry.symfony", "sentry.php.symfony"),
    ("sentry.unity", "sentry.native.unity"),
];

/// Sentry's `normalize_sdk_tag` (`utils/tag_normalization.py`): `sentry-python` → `sentry.python`,
/// `sentry.python.django` → `sentry.python`, unknown SDKs → `other`.
pub fn normalize_sdk_tag(name: &str) -> String {
    let mut tag = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if c.is_alphanumeric() {
            tag.push(c);
            in_run = false;
        } else if !in_run {
            tag.push('.');
            in_run = true;
        }
    }
    if let Some((_, to)) = SYNONYMOUS_SDK_TAGS.iter().find(|(from, _)| *from == tag) {
        tag = (*to).to_owned();
    }
    if !tag.starts_with("sentry.") {
        return "other".to_owned();
    }
    let parts: Vec<&str> = tag.split('.').collect();
    let keep = match parts[1] {
        "javascript" => parts.len(),
        "native" => 3,
        _ => 2,
    };
    let tag = parts[..keep.min(parts.len())].join(".");
    if KNOWN_SDK_TAGS.contains(&tag.as_str()) {
        tag
    } else {
        "other".to_owned()
    }
}

// ---------------------------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    Type,
    Value,
    Message,
    Logger,
    Level,
    Tag(String),
    Sdk,
    Family,
    Release,
    App,
    Function,
    Module,
    Path,
    Package,
}

impl Key {
    /// Sentry's `MATCHERS` table (plus `tags.*`).
    fn from_name(name: &str) -> Option<Key> {
        if let Some(tag) = name.strip_prefix("tags.") {
            return Some(Key::Tag(tag.to_owned()));
        }
        Some(match name {
            "error.type" | "type" => Key::Type,
            "error.value" | "value" => Key::Value,
            "message" => Key::Message,
            "logger" => Key::Logger,
            "level" => Key::Level,
            "stack.module" | "module" => Key::Module,
            "stack.abs_path" | "path" => Key::Path,
            "stack.package" | "package" => Key::Package,
            "stack.function" | "function" => Key::Function,
            "family" => Key::Family,
            "app" => Key::App,
            "sdk" => Key::Sdk,
            "release" => Key::Release,
            _ => return None,
        })
    }

    /// The normalized key, as Sentry writes it in `to_json` / rule text.
    fn name(&self) -> String {
        match self {
            Key::Type => "type".into(),
            Key::Value => "value".into(),
            Key::Message => "message".into(),
            Key::Logger => "logger".into(),
            Key::Level => "level".into(),
            Key::Tag(t) => format!("tags.{t}"),
            Key::Sdk => "sdk".into(),
            Key::Family => "family".into(),
            Key::Release => "release".into(),
            Key::App => "app".into(),
            Key::Function => "function".into(),
            Key::Module => "module".into(),
            Key::Path => "path".into(),
            Key::Package => "package".into(),
        }
    }

    fn kind(&self) -> Kind {
        match self {
            Key::Message => Kind::Toplevel,
            Key::Logger | Key::Level => Kind::LogInfo,
            Key::Type | Key::Value => Kind::Exceptions,
            Key::Tag(_) => Kind::Tags,
            Key::Sdk => Kind::Sdk,
            Key::Family => Kind::Family,
            Key::Release => Kind::Release,
            Key::App | Key::Function | Key::Module | Key::Path | Key::Package => Kind::Frames,
        }
    }
}

/// Sentry's `match_type`: matchers of one kind must hit the same item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Toplevel,
    LogInfo,
    Exceptions,
    Tags,
    Sdk,
    Family,
    Release,
    Frames,
}

#[derive(Debug, Clone)]
struct Matcher {
    key: Key,
    pattern: String,
    negated: bool,
    /// The compiled glob (`None` for invalid patterns and non-glob matchers).
    glob: Option<Glob>,
}

impl Matcher {
    fn new(key: Key, pattern: String, negated: bool) -> Matcher {
        let options = match key {
            Key::Path | Key::Package | Key::Release => Some(GlobOptions::FINGERPRINT_PATH),
            Key::Message | Key::Value | Key::Level => Some(GlobOptions::FINGERPRINT_CASELESS),
            Key::Type | Key::Function | Key::Module | Key::Logger | Key::Tag(_) => {
                Some(GlobOptions::FINGERPRINT_PLAIN)
            }
            Key::Sdk | Key::Family | Key::App => None,
        };
        // Relay treats a pattern globset refuses as one that never matches.
        let glob = options.and_then(|o| Glob::new(&pattern, o).ok());
        Matcher {
            key,
            pattern,
            negated,
            glob,
        }
    }

    fn text(&self) -> String {
        format!(
            "{}{}:\"{}\"",
            if self.negated { "!" } else { "" },
            self.key.name(),
            self.pattern
        )
    }

    fn matches(&self, item: &Item<'_>) -> bool {
        self.positive(item) != self.negated
    }

    fn glob(&self, value: &str) -> bool {
        self.glob.as_ref().is_some_and(|g| g.is_match(value))
    }

    /// Sentry's `_positive_path_match` (the path glob also tries a relative value with a
    /// leading `/`).
    fn path(&self, value: Option<&str>) -> bool {
        value.is_some_and(|v| self.glob(v))
    }

    fn positive(&self, item: &Item<'_>) -> bool {
        match (&self.key, item) {
            (Key::Path, Item::Frame(f)) => {
                let abs_path = f.abs_path.filter(|p| !p.is_empty()).or(f.filename);
                self.path(abs_path) || (f.filename != abs_path && self.path(f.filename))
            }
            (Key::Message, Item::Message(m)) => self.glob(m),
            (Key::Message, Item::Exception(e)) => e.value.is_some_and(|v| self.glob(v)),
            (Key::Type, Item::Exception(e)) => e.ty.is_some_and(|v| self.glob(v)),
            (Key::Value, Item::Exception(e)) => e.value.is_some_and(|v| self.glob(v)),
            (Key::Logger, Item::LogInfo { logger, .. }) => logger.is_some_and(|v| self.glob(v)),
            (Key::Level, Item::LogInfo { level, .. }) => level.is_some_and(|v| self.glob(v)),
            (Key::Tag(name), Item::Tags(tags)) => tags
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .is_some_and(|(_, v)| self.glob(v)),
            (Key::Sdk | Key::Family, Item::Flag(value)) => self
                .pattern
                .split(',')
                .any(|flag| flag == "all" || flag == *value),
            (Key::Release, Item::Release(release)) => self.path(*release),
            (Key::Function, Item::Frame(f)) => {
                self.glob(f.function.filter(|s| !s.is_empty()).unwrap_or("<unknown>"))
            }
            (Key::Module, Item::Frame(f)) => f.module.is_some_and(|v| self.glob(v)),
            (Key::Package, Item::Frame(f)) => self.path(f.package),
            (Key::App, Item::Frame(f)) => {
                f.in_app.is_some() && f.in_app == parse_bool(&self.pattern.to_lowercase())
            }
            _ => false,
        }
    }
}

/// One thing a group of matchers of the same kind is tested against.
enum Item<'e> {
    Message(&'e str),
    Exception(&'e RuleException<'e>),
    LogInfo {
        logger: Option<&'e str>,
        level: Option<&'e str>,
    },
    Tags(&'e [(String, String)]),
    Flag(&'e str),
    Release(Option<&'e str>),
    Frame(&'e RuleFrame<'e>),
}

/// One fingerprint rule.
#[derive(Debug, Clone)]
pub struct FingerprintRule {
    matchers: Vec<Matcher>,
    fingerprint: Vec<String>,
    title: Option<String>,
    is_builtin: bool,
    /// Matcher indices grouped by kind, kinds in order of first appearance.
    groups: Vec<(Kind, Vec<usize>)>,
}

impl FingerprintRule {
    fn new(
        matchers: Vec<Matcher>,
        fingerprint: Vec<String>,
        title: Option<String>,
        is_builtin: bool,
    ) -> FingerprintRule {
        let mut groups: Vec<(Kind, Vec<usize>)> = Vec::new();
        for (i, m) in matchers.iter().enumerate() {
            let kind = m.key.kind();
            match groups.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, idx)) => idx.push(i),
                None => groups.push((kind, vec![i])),
            }
        }
        FingerprintRule {
            matchers,
            fingerprint,
            title,
            is_builtin,
            groups,
        }
    }

    pub fn fingerprint(&self) -> &[String] {
        &self.fingerprint
    }

    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }

    pub fn is_builtin(&self) -> bool {
        self.is_builtin
    }

    /// Sentry's `FingerprintRule.text`, e.g. `type:"DatabaseUnavailable" -> "system-down"`
    /// (the fingerprint parts are concatenated, as in Sentry).
    pub fn text(&self) -> String {
        let matchers: Vec<String> = self.matchers.iter().map(Matcher::text).collect();
        let attributes = match &self.title {
            Some(t) => format!("title=\"{t}\""),
            None => String::new(),
        };
        format!(
            "{} -> \"{}\" {}",
            matchers.join(" "),
            self.fingerprint.concat(),
            attributes
        )
        .trim_end()
        .to_owned()
    }

    /// Sentry's `FingerprintRule.to_json` (the `matched_rule` of `_fingerprint_info`).
    pub fn to_json(&self) -> Value {
        let matchers: Vec<Value> = self
            .matchers
            .iter()
            .map(|m| {
                let key = if m.negated {
                    format!("!{}", m.key.name())
                } else {
                    m.key.name()
                };
                json!([key, m.pattern])
            })
            .collect();
        let mut attributes = Map::new();
        if let Some(t) = &self.title {
            attributes.insert("title".into(), Value::String(t.clone()));
        }
        let mut out = json!({
            "text": self.text(),
            "matchers": matchers,
            "fingerprint": self.fingerprint,
            "attributes": attributes,
        });
        if self.is_builtin {
            out["is_builtin"] = Value::Bool(true);
        }
        out
    }

    /// Sentry's `test_for_match_with_event`.
    pub fn matches(&self, event: &RuleEvent<'_>) -> bool {
        self.groups.iter().all(|(kind, idx)| {
            let ok = |item: Item<'_>| idx.iter().all(|&i| self.matchers[i].matches(&item));
            match kind {
                Kind::Toplevel => {
                    event
                        .message
                        .filter(|m| !m.is_empty())
                        .is_some_and(|m| ok(Item::Message(m)))
                        || event.exceptions.iter().any(|e| ok(Item::Exception(e)))
                }
                Kind::Exceptions => event.exceptions.iter().any(|e| ok(Item::Exception(e))),
                Kind::LogInfo => {
                    let logger = event.logger.filter(|s| !s.is_empty());
                    let level = event.level.filter(|s| !s.is_empty());
                    (logger.is_some() || level.is_some()) && ok(Item::LogInfo { logger, level })
                }
                Kind::Tags => ok(Item::Tags(&event.tags)),
                Kind::Sdk => ok(Item::Flag(&normalize_sdk_tag(
                    event.sdk_name.filter(|s| !s.is_empty()).unwrap_or("other"),
                ))),
                Kind::Family => ok(Item::Flag(
                    Family::from_platform(event.platform.unwrap_or("")).name(),
                )),
                Kind::Release => ok(Item::Release(event.release)),
                Kind::Frames => event.frames.iter().any(|f| ok(Item::Frame(f))),
            }
        })
    }
}

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
                fingerprint: &rule.fingerprint,
                title: rule.title.as_deref(),
                is_builtin: rule.is_builtin,
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

// ---------------------------------------------------------------------------------------------
// Parser (a hand-written version of Sentry's parsimonious grammar)
// ---------------------------------------------------------------------------------------------

/// Python's `\s` (unicode): Rust whitespace plus the ASCII information separators.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

struct Parser<'t> {
    text: &'t str,
    pos: usize,
    /// First semantic error (reported only if the whole text parses).
    semantic: Option<ParseError>,
}

impl<'t> Parser<'t> {
    fn new(text: &'t str) -> Parser<'t> {
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

    fn parse_all(mut self, is_builtin: bool) -> Result<FingerprintRules, ParseError> {
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
    use super::*;

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

    #[test]
    fn same_exception_and_frame_co_matching() {
        let rules = FingerprintRules::parse(
            "type:A value:one -> same-exception\n\
             function:f module:m -> same-frame\n",
        )
        .unwrap();
        let mut event = RuleEvent {
            exceptions: vec![exc("A", "two"), exc("B", "one")],
            frames: vec![
                RuleFrame {
                    function: Some("f"),
                    module: Some("x"),
                    ..Default::default()
                },
                RuleFrame {
                    function: Some("g"),
                    module: Some("m"),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        assert!(rules.first_match(&event).is_none());
        event.exceptions.push(exc("A", "ONE")); // value is case-insensitive
        assert_eq!(
            rules.first_match(&event).unwrap().fingerprint,
            ["same-exception"]
        );
        event.exceptions.clear();
        event.frames[1].function = Some("f");
        let m = rules.first_match(&event).unwrap();
        assert_eq!(m.fingerprint, ["same-frame"]);
        assert_eq!(m.variant_name(), "custom_fingerprint");
        assert_eq!(m.text, "function:\"f\" module:\"m\" -> \"same-frame\"");
    }

    #[test]
    fn matcher_semantics() {
        let tags = vec![
            ("server".to_owned(), "a".to_owned()),
            ("server".to_owned(), "web-1".to_owned()),
        ];
        let event = RuleEvent {
            platform: Some("python"),
            message: Some("Connection TIMEOUT after 3s"),
            logger: Some("django.db"),
            level: Some("error"),
            tags: tags.as_slice().into(),
            sdk_name: Some("sentry.python.django"),
            release: Some("backend@1.2.3"),
            frames: vec![RuleFrame {
                function: None,
                abs_path: Some("/srv/app/views.py"),
                filename: Some("app/views.py"),
                package: Some("/usr/lib/libfoo.so"),
                in_app: Some(true),
                ..Default::default()
            }],
            ..Default::default()
        };
        let hit = |rule: &str| {
            FingerprintRules::parse(&format!("{rule} -> x"))
                .unwrap()
                .first_match(&event)
                .is_some()
        };
        assert!(hit("message:\"*timeout*\""));
        assert!(hit("logger:django.*"));
        assert!(!hit("logger:Django.*")); // logger is case-sensitive
        assert!(hit("level:ERROR"));
        assert!(hit("logger:django.db level:error"));
        assert!(hit("tags.server:web-*")); // last duplicate wins
        assert!(!hit("tags.server:a"));
        assert!(hit("!tags.missing:x"));
        assert!(!hit("tags.missing:*"));
        assert!(hit("sdk:sentry.python"));
        assert!(hit("sdk:sentry.java,sentry.python"));
        assert!(hit("sdk:all"));
        assert!(hit("family:other"));
        assert!(!hit("family:javascript"));
        assert!(hit("release:backend@1.*"));
        assert!(hit("app:yes"));
        assert!(!hit("app:no"));
        assert!(hit("function:<unknown>"));
        assert!(hit("path:**/app/*.py"));
        assert!(hit("path:app/views.py")); // filename
        assert!(hit("path:/APP/VIEWS.PY")); // `/` prepended, case-insensitive
        assert!(!hit("package:libfoo.so"));
        assert!(hit("package:**/libfoo.so"));
        assert!(!hit("module:*")); // no module
        assert!(hit("!module:*"));
        // No exceptions: even a negated exception matcher fails.
        assert!(!hit("!type:Foo"));
        // `message` also tests exception values.
        let excs = RuleEvent {
            exceptions: vec![exc("E", "Something BROKE")],
            ..Default::default()
        };
        let rules = FingerprintRules::parse("message:\"something broke\" -> m").unwrap();
        assert!(rules.first_match(&excs).is_some());
        // Neither logger nor level: log matchers fail.
        let rules = FingerprintRules::parse("!logger:x -> m").unwrap();
        assert!(rules.first_match(&excs).is_none());
    }

    #[test]
    fn sdk_normalization() {
        assert_eq!(normalize_sdk_tag("sentry.python.flask"), "sentry.python");
        assert_eq!(normalize_sdk_tag("sentry-ruby"), "sentry.ruby");
        assert_eq!(normalize_sdk_tag("sentry.react"), "sentry.javascript.react");
        assert_eq!(
            normalize_sdk_tag("sentry.javascript.react.native"),
            "sentry.javascript.react.native"
        );
        assert_eq!(
            normalize_sdk_tag("sentry.native.unity.x"),
            "sentry.native.unity"
        );
        assert_eq!(normalize_sdk_tag("sentry.cordova"), "other");
        assert_eq!(normalize_sdk_tag("raven-js"), "other");
        assert_eq!(normalize_sdk_tag("other"), "other");
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

    #[test]
    fn derived_tags_override() {
        let tags = vec![("transaction".to_owned(), "sent".to_owned())];
        let out = with_derived_tags(&tags, "error", Some("log"), None, Some("/t"));
        assert_eq!(
            out,
            [
                ("level".to_owned(), "error".to_owned()),
                ("logger".to_owned(), "log".to_owned()),
                ("transaction".to_owned(), "/t".to_owned()),
            ]
        );
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

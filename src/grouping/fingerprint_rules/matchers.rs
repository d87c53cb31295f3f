//! One fingerprint rule and its matchers: which of an event's items each matcher tests, and
//! which globs.

use serde_json::{Map, Value, json};

use super::event::{RuleEvent, normalize_sdk_tag};
use crate::grouping::glob::{Glob, GlobOptions};
use crate::grouping::rule_input::{Family, RuleException, RuleFrame, parse_bool};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Key {
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
    pub(super) fn from_name(name: &str) -> Option<Key> {
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
    pub(super) fn name(&self) -> String {
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
pub(super) struct Matcher {
    pub(super) key: Key,
    pub(super) pattern: String,
    pub(super) negated: bool,
    /// The compiled glob (`None` for invalid patterns and non-glob matchers).
    glob: Option<Glob>,
}

impl Matcher {
    pub(super) fn new(key: Key, pattern: String, negated: bool) -> Matcher {
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
    pub(super) matchers: Vec<Matcher>,
    fingerprint: Vec<String>,
    title: Option<String>,
    is_builtin: bool,
    /// Matcher indices grouped by kind, kinds in order of first appearance.
    groups: Vec<(Kind, Vec<usize>)>,
}

impl FingerprintRule {
    pub(super) fn new(
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

#[cfg(test)]
mod tests {
    use super::super::FingerprintRules;
    use super::*;

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
}

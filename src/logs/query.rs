//! The log search language, Sentry's for its logs dataset, as the Logs page, `sentry-cli logs
//! list` and the MCP server send it:
//!
//! ```text
//! severity:error  severity:[warn,error]  !severity:info  severity_number:>=13   level (`level:` too)
//! trace:ID  trace:[A,B]                       lines of these traces
//! project:backend  project.id:3               the caller's projects (resolved by the caller)
//! message:"*card declined*"                   the body contains it (as free text)
//! logger.name:shop.orders  environment:prod  release:shop@1.2  message.parameter.order_id:42
//! key:[a,b]  !key:value  key:*wild*  has:key  key:>10 (numbers)
//! timestamp_precise:>1796359608304155000      after (or before) a line, in nanoseconds
//! anything else                               words the body contains (case-insensitive)
//! ```
//! `environment`, `release`, `origin`, `sdk.name`, `sdk.version`, `message.template` and
//! `message.parameter.*` name the `sentry.`-prefixed attributes the SDKs send; `tags[key,number]`
//! names `key`. Free text is found by the words it starts with (the index keeps words, not
//! substrings) and then checked against the whole body.

use super::block::{LineFields, attribute_text, attribute_word, level_bit, text_words, trace_word};
use super::item::{AttrValue, Level};

pub const MAX_TERMS: usize = 30;
pub const MAX_TERM_CHARS: usize = 1000;

/// A query that cannot be run; its text says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

/// A parsed query. Every condition must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct LogQuery {
    /// Texts the body contains, lowercase.
    pub text: Vec<String>,
    /// The levels kept, a bit each ([`level_bit`]).
    pub levels: u8,
    /// Any of these traces, when not empty.
    pub traces: Vec<String>,
    /// `project:` values (slugs or ids), for the caller to resolve.
    pub projects: Vec<String>,
    pub attributes: Vec<Condition>,
    /// `timestamp_precise` bounds, nanoseconds, exclusive.
    pub after_ns: Option<i64>,
    pub before_ns: Option<i64>,
}

impl Default for LogQuery {
    fn default() -> LogQuery {
        LogQuery {
            text: Vec::new(),
            levels: ALL_LEVELS,
            traces: Vec::new(),
            projects: Vec::new(),
            attributes: Vec::new(),
            after_ns: None,
            before_ns: None,
        }
    }
}

const ALL_LEVELS: u8 = 0b11_1111;

/// A condition on an attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub key: String,
    pub negated: bool,
    pub test: Test,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// Equal to one of them (`*` matches any run of characters).
    OneOf(Vec<String>),
    /// Has the attribute at all.
    Exists,
    /// A number compared.
    Compare(Comparison, f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

impl Comparison {
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Comparison::Less => a < b,
            Comparison::LessOrEqual => a <= b,
            Comparison::Greater => a > b,
            Comparison::GreaterOrEqual => a >= b,
        }
    }

    /// `>=5` → (GreaterOrEqual, "5"); None without an operator.
    fn split(value: &str) -> Option<(Comparison, &str)> {
        [
            (">=", Comparison::GreaterOrEqual),
            ("<=", Comparison::LessOrEqual),
            (">", Comparison::Greater),
            ("<", Comparison::Less),
        ]
        .into_iter()
        .find_map(|(op, c)| value.strip_prefix(op).map(|rest| (c, rest)))
    }
}

/// A word the index must hold for a block to be read: `prefix` words match any word they
/// start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub prefix: bool,
}

/// The index words of a query: every group must have one of its words.
pub type IndexQuery = Vec<Vec<Word>>;

/// Sentry's shorthand names of the attributes its SDKs prefix with `sentry.`.
pub fn attribute_key(key: &str) -> String {
    let key = key
        .strip_prefix("tags[")
        .and_then(|k| k.strip_suffix(']'))
        .map(|k| k.split(',').next().unwrap_or(k))
        .unwrap_or(key);
    match key {
        "environment"
        | "release"
        | "origin"
        | "sdk.name"
        | "sdk.version"
        | "message.template"
        | "trace.parent_span_id" => format!("sentry.{key}"),
        k if k.starts_with("message.parameter.") => format!("sentry.{k}"),
        k => k.to_owned(),
    }
}

/// `[a,b]` → its items; anything else → itself. An empty list is refused: it would ask for
/// nothing.
fn values(key: &str, value: &str) -> Result<Vec<String>, QueryError> {
    let items: Vec<String> = match value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
        Some(list) => list
            .split(',')
            .map(|v| v.trim().trim_matches('"').to_owned())
            .filter(|v| !v.is_empty())
            .collect(),
        None => vec![value.to_owned()],
    };
    if items.is_empty() {
        return Err(QueryError(format!("{key}:{value} lists no value")));
    }
    Ok(items)
}

fn levels_of(names: &[String]) -> Result<u8, QueryError> {
    names.iter().try_fold(0, |mask, name| {
        Level::parse(name)
            .map(|l| mask | level_bit(l))
            .ok_or_else(|| {
                QueryError(format!(
                    "unknown severity {name:?}: use trace, debug, info, warn, error or fatal"
                ))
            })
    })
}

fn number(key: &str, value: &str) -> Result<f64, QueryError> {
    value
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or_else(|| QueryError(format!("{key} compares numbers, not {value:?}")))
}

/// Parses a query.
pub fn parse(query: &str) -> Result<LogQuery, QueryError> {
    let mut q = LogQuery::default();
    let terms = crate::issue_search::terms(query);
    if terms.len() > MAX_TERMS {
        return Err(QueryError(format!(
            "a search may have at most {MAX_TERMS} terms"
        )));
    }
    for term in terms {
        if term.chars().count() > MAX_TERM_CHARS {
            return Err(QueryError(format!(
                "a search term may have at most {MAX_TERM_CHARS} characters"
            )));
        }
        match term.as_str() {
            "AND" => continue,
            "OR" => {
                return Err(QueryError(
                    "OR is not supported: use key:[a,b] for either of two values".into(),
                ));
            }
            _ => {}
        }
        let (negated, bare) = match term.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, term.as_str()),
        };
        let Some((key, value)) = bare.split_once(':').filter(|(k, v)| {
            !k.is_empty()
                && !v.is_empty()
                && !v.starts_with("//")
                && k.chars()
                    .all(|c| c.is_alphanumeric() || "._-[],".contains(c))
        }) else {
            q.text.push(term.to_lowercase());
            continue;
        };
        match key {
            "severity"
            | "level"
            | "severity_text"
            | "log.severity_text"
            | "sentry.severity_text" => {
                let mask = levels_of(&values(key, value)?)?;
                q.levels &= if negated { ALL_LEVELS & !mask } else { mask };
            }
            "severity_number" | "log.severity_number" | "sentry.severity_number" => {
                let (op, n) = Comparison::split(value).ok_or_else(|| {
                    QueryError("severity_number takes a comparison, as >=13".into())
                })?;
                let n = number(key, n)?;
                let mask = Level::ALL
                    .iter()
                    .filter(|l| op.holds(f64::from(l.severity_number()), n))
                    .fold(0, |m, l| m | level_bit(*l));
                q.levels &= if negated { ALL_LEVELS & !mask } else { mask };
            }
            "trace" | "trace_id" | "sentry.trace_id" if !negated => {
                for id in values(key, value)? {
                    let id = id.to_lowercase().replace('-', "");
                    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(QueryError(format!("{id:?} is not a trace id")));
                    }
                    q.traces.push(id);
                }
            }
            "project" | "project.slug" | "project.id" | "project_id" if !negated => {
                q.projects.extend(values(key, value)?)
            }
            "message" | "log.body" | "sentry.body" if !negated => {
                q.text.push(value.trim_matches('*').to_lowercase())
            }
            "timestamp_precise" => {
                let (op, n) = Comparison::split(value).ok_or_else(|| {
                    QueryError(
                        "timestamp_precise takes a comparison, as >1796359608304155000".into(),
                    )
                })?;
                let n: i64 = n.parse().map_err(|_| {
                    QueryError(format!("timestamp_precise compares nanoseconds, not {n:?}"))
                })?;
                match op {
                    Comparison::Greater => q.after_ns = Some(n),
                    Comparison::GreaterOrEqual => q.after_ns = Some(n - 1),
                    Comparison::Less => q.before_ns = Some(n),
                    Comparison::LessOrEqual => q.before_ns = Some(n + 1),
                }
            }
            "has" => q.attributes.push(Condition {
                key: attribute_key(value),
                negated,
                test: Test::Exists,
            }),
            key => {
                let test = match Comparison::split(value) {
                    Some((op, n)) => Test::Compare(op, number(key, n)?),
                    None => Test::OneOf(values(key, value)?),
                };
                q.attributes.push(Condition {
                    key: attribute_key(key),
                    negated,
                    test,
                });
            }
        }
    }
    Ok(q)
}

/// Whether `text` matches `pattern`, where `*` is any run of characters.
fn glob(pattern: &str, text: &str) -> bool {
    let Some((first, rest)) = pattern.split_once('*') else {
        return pattern == text;
    };
    let Some(mut remaining) = text.strip_prefix(first) else {
        return false;
    };
    let mut parts: Vec<&str> = rest.split('*').collect();
    let last = parts.pop().unwrap_or("");
    for part in parts {
        match remaining.find(part) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

impl Condition {
    fn holds(&self, line: &dyn LineFields) -> bool {
        let value = line.attribute(&self.key);
        let holds = match (&self.test, value) {
            (Test::Exists, found) => found.is_some(),
            (_, None) => false,
            (Test::OneOf(patterns), Some(v)) => {
                attribute_text(v).is_some_and(|text| patterns.iter().any(|p| glob(p, &text)))
            }
            (Test::Compare(op, n), Some(v)) => match v {
                AttrValue::Integer(i) => op.holds(*i as f64, *n),
                AttrValue::Double(d) => op.holds(*d, *n),
                _ => false,
            },
        };
        holds != self.negated
    }
}

impl LogQuery {
    /// Whether a line matches every condition but the projects (the caller's).
    pub fn matches(&self, line: &dyn LineFields) -> bool {
        if self.levels & level_bit(line.level()) == 0 {
            return false;
        }
        if !self.traces.is_empty() && !self.traces.iter().any(|t| t == line.trace_id()) {
            return false;
        }
        let at = line.timestamp_ns();
        if self.after_ns.is_some_and(|t| at <= t) || self.before_ns.is_some_and(|t| at >= t) {
            return false;
        }
        if !self.text.is_empty() {
            let body = line.body().to_lowercase();
            if !self.text.iter().all(|t| body.contains(t.as_str())) {
                return false;
            }
        }
        self.attributes.iter().all(|c| c.holds(line))
    }

    /// The index words a block must hold to have a matching line.
    pub fn index_words(&self) -> IndexQuery {
        let mut groups: IndexQuery = Vec::new();
        for text in &self.text {
            // Each word of the text must start a word of the body: the index finds `declin`
            // in `card_declined`, not `rder` in `order` (the body check is a substring's).
            for word in text_words(text) {
                groups.push(vec![Word {
                    text: word,
                    prefix: true,
                }]);
            }
        }
        if !self.traces.is_empty() {
            groups.push(
                self.traces
                    .iter()
                    .map(|t| Word {
                        text: trace_word(t),
                        prefix: false,
                    })
                    .collect(),
            );
        }
        for c in self.attributes.iter().filter(|c| !c.negated) {
            if let Test::OneOf(values) = &c.test
                && values.iter().all(|v| !v.contains('*'))
            {
                groups.push(
                    values
                        .iter()
                        .map(|v| Word {
                            text: attribute_word(&c.key, v),
                            prefix: false,
                        })
                        .collect(),
                );
            }
        }
        groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::block::{LineId, StoredLine};
    use crate::store::ProjectId;

    fn stored(body: &str, level: Level, attributes: &[(&str, AttrValue)]) -> StoredLine {
        StoredLine {
            id: LineId {
                block: 1,
                index: 0,
                ms: 0,
            },
            project_id: ProjectId(1),
            timestamp_ns: 1_000,
            level,
            severity_number: level.severity_number(),
            trace_id: "93d0ebb7bc3a42ac89c32b74c241b06a".into(),
            span_id: None,
            body: body.into(),
            attributes: attributes
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        }
    }

    #[test]
    fn sentry_queries_parse() {
        let q = parse(
            r#"severity:[warn,error] logger.name:shop.orders !environment:dev message:"*card declined*" has:user.id timeout project:backend"#,
        )
        .unwrap();
        assert_eq!(q.levels, level_bit(Level::Warn) | level_bit(Level::Error));
        assert_eq!(q.text, ["card declined", "timeout"]);
        assert_eq!(q.projects, ["backend"]);
        assert_eq!(q.attributes[0].key, "logger.name");
        assert_eq!(q.attributes[1].key, "sentry.environment");
        assert!(q.attributes[1].negated);
        assert_eq!(q.attributes[2].test, Test::Exists);
        assert_eq!(
            parse("severity_number:>=13").unwrap().levels,
            crate::logs::block::levels_from(Level::Warn)
        );
        assert_eq!(
            parse("!severity:info severity:warning").unwrap().levels,
            level_bit(Level::Warn)
        );
        assert_eq!(parse("timestamp_precise:>17").unwrap().after_ns, Some(17));
    }

    #[test]
    fn bad_queries_say_why() {
        for (query, says) in [
            ("severity:loud", "unknown severity"),
            ("a OR b", "OR is not supported"),
            ("trace:xyz", "not a trace id"),
            ("timestamp_precise:5", "takes a comparison"),
            ("count:>many", "compares numbers"),
            ("logger.name:[]", "lists no value"),
            ("severity:[,]", "lists no value"),
        ] {
            let e = parse(query).unwrap_err();
            assert!(e.0.contains(says), "{query}: {e}");
        }
    }

    #[test]
    fn lines_match_what_the_query_asks() {
        let line = stored(
            "Order 42 failed: card_declined",
            Level::Error,
            &[
                ("logger.name", AttrValue::String("shop.orders".into())),
                ("sentry.message.parameter.0", AttrValue::Integer(42)),
            ],
        );
        for (query, expected) in [
            ("order", true),
            ("card_declined", true),
            ("rder 42", true),
            ("declined paid", false),
            ("severity:error", true),
            ("severity:[info,warn]", false),
            ("logger.name:shop.orders", true),
            ("logger.name:shop.*", true),
            ("!logger.name:shop.orders", false),
            ("message.parameter.0:42", true),
            ("message.parameter.0:>41", true),
            ("tags[sentry.message.parameter.0,number]:<42", false),
            ("has:logger.name", true),
            ("!has:user.id", true),
            ("trace:93d0ebb7bc3a42ac89c32b74c241b06a", true),
            ("trace:[00000000000000000000000000000001]", false),
            ("timestamp_precise:>999", true),
            ("timestamp_precise:>1000", false),
        ] {
            assert_eq!(parse(query).unwrap().matches(&line), expected, "{query}");
        }
    }

    #[test]
    fn index_words_narrow_to_blocks_that_can_match() {
        let q = parse("card_declined logger.name:shop.orders logger.name:shop.* !env:x").unwrap();
        let words = q.index_words();
        assert_eq!(words.len(), 3);
        assert_eq!(words[0][0].text, "card");
        assert!(words[0][0].prefix);
        assert_eq!(
            words[2][0].text,
            attribute_word("logger.name", "shop.orders")
        );
    }

    #[test]
    fn globs() {
        assert!(glob("*card*", "a card b"));
        assert!(glob("shop.*", "shop.orders"));
        assert!(!glob("shop.*", "a.shop.orders"));
        assert!(glob("a*c", "abc"));
        assert!(!glob("a*c", "abd"));
        assert!(glob("*", ""));
    }
}

//! Grouping: which issue an event belongs to, hash for hash as Sentry's default
//! configuration `newstyle:2023-01-11` (../shared/protocol/GROUPING.md). Pure functions.
//!
//! ```text
//! checksum ─▶ fingerprint (client, then project and built-in fingerprint rules)
//!          ─▶ strategies: exception > threads > stacktrace > message   (strategies.rs)
//!               each with app/system variants of component trees       (component.rs, frames.rs)
//!               after the stack-trace rules classified every frame     (stacktrace_rules/)
//!          ─▶ one md5 per contributing variant; `{{ default }}` salts them, a custom
//!             fingerprint replaces them; nothing contributing → the fallback md5("")
//! ```
//! The store links every hash to an issue; the first hash already linked decides the issue.

mod component;
mod fingerprint;
pub mod fingerprint_rules;
mod frames;
pub mod glob;
mod parameterize;
pub mod rule_input;
mod security;
pub mod stacktrace_rules;
mod strategies;
mod title;

use std::borrow::Cow;

use serde_json::{Value, json};

pub use component::hash_values;
use fingerprint_rules::FingerprintRules;
use stacktrace_rules::Rules;

use crate::normalize::NormalizedEvent;

/// What grouping decides about one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Grouping {
    /// Hashes in priority order (system last); never empty.
    pub hashes: Vec<String>,
    pub title: String,
    pub culprit: String,
    /// `error` for events with exceptions, `default` for messages, the report's type (`csp`,
    /// `hpkp`, `expectct`, `expectstaple`) for security reports.
    pub issue_type: &'static str,
    /// `{"type", "value", "filename", "function"}` of the main exception, or `{"title"}`.
    pub metadata: serde_json::Value,
}

/// A project's own rules, in Sentry's text syntax, applied before the built-in ones.
#[derive(Debug, Clone, Default)]
pub struct ProjectRules {
    /// Stack-trace rules, built-in rules first (the project's come last and win).
    pub stacktrace: Option<Rules>,
    pub fingerprints: Option<FingerprintRules>,
}

impl ProjectRules {
    /// Parses a project's rule texts (empty texts mean no rules).
    pub fn parse(stacktrace: &str, fingerprints: &str) -> Result<ProjectRules, String> {
        let stacktrace = if stacktrace.trim().is_empty() {
            None
        } else {
            let project =
                Rules::parse(stacktrace).map_err(|e| format!("stack-trace rules: {e}"))?;
            Some(Rules::builtin().extended(&project))
        };
        let fingerprints = if fingerprints.trim().is_empty() {
            None
        } else {
            Some(
                FingerprintRules::parse(fingerprints)
                    .map_err(|e| format!("fingerprint rules: {e}"))?,
            )
        };
        Ok(ProjectRules {
            stacktrace,
            fingerprints,
        })
    }

    fn stacktrace_rules(&self) -> &Rules {
        self.stacktrace.as_ref().unwrap_or_else(|| Rules::builtin())
    }
}

/// One variant: its hash (`None` when present but not contributing) and what it hashed.
#[derive(Debug, Clone)]
pub struct VariantResult<'a> {
    pub hash: Option<String>,
    /// The contributing values, in hash order.
    pub values: Vec<Cow<'a, str>>,
    /// The component tree (strategy variants only).
    pub component: Option<component::Component<'a>>,
    /// Why it is what it is (fingerprint rule, checksum…).
    pub description: Option<String>,
}

/// Every variant of an event, Sentry's names as keys.
#[derive(Debug, Clone)]
pub struct Variants<'a>(pub Vec<(String, VariantResult<'a>)>);

impl Variants<'_> {
    /// The non-null hashes, in lookup order: everything but `system` first.
    pub fn hashes(&self) -> Vec<String> {
        let mut ordered: Vec<&(String, VariantResult<'_>)> = self.0.iter().collect();
        ordered.sort_by_key(|(name, _)| name == "system");
        let mut out: Vec<String> = Vec::new();
        for (_, v) in ordered {
            if let Some(h) = &v.hash
                && !out.contains(h)
            {
                out.push(h.clone());
            }
        }
        out
    }
}

/// Groups one event with the built-in rules.
pub fn group(event: &NormalizedEvent) -> Grouping {
    group_with(event, &ProjectRules::default())
}

/// Groups one event with a project's rules.
pub fn group_with(event: &NormalizedEvent, rules: &ProjectRules) -> Grouping {
    let input = strategies::Input::new(event, rules.stacktrace_rules());
    let (variants, custom_title) = variants_of(&input, rules);
    let mut hashes = variants.hashes();
    if hashes.is_empty() {
        hashes.push(hash_values::<&str>([]));
    }
    let (title, culprit, mut metadata) = title::describe(event, &input);
    let mut issue_type = if input.exceptions.is_empty() {
        "default"
    } else {
        "error"
    };
    if let Some((ty, report)) = security::metadata(event, &title) {
        (issue_type, metadata) = (ty, report);
    }
    let title = match custom_title {
        Some(t) => {
            metadata["title"] = json!(t);
            t
        }
        None => title,
    };
    Grouping {
        hashes,
        title,
        culprit,
        issue_type,
        metadata,
    }
}

/// Explains the grouping of one event: variants, their hashes and values, title and culprit
/// (what `snag grouping` prints).
pub fn explain(event: &NormalizedEvent, rules: &ProjectRules) -> Value {
    let (variants, _) = variants(event, rules);
    let grouping = group_with(event, rules);
    let mut hashes = serde_json::Map::new();
    let mut details = serde_json::Map::new();
    for (name, v) in &variants.0 {
        hashes.insert(name.clone(), json!(v.hash));
        let mut detail =
            json!({"hash": v.hash, "contributes": v.hash.is_some(), "values": v.values});
        if let Some(d) = &v.description {
            detail["description"] = json!(d);
        }
        if let Some(c) = &v.component {
            detail["component"] = c.to_json();
        }
        details.insert(name.clone(), detail);
    }
    json!({
        "config": "newstyle:2023-01-11",
        "variants": hashes,
        "hashes": grouping.hashes,
        "values": details,
        "title": grouping.title,
        "culprit": grouping.culprit,
        "metadata": grouping.metadata,
    })
}

/// Every variant of the event, and a title set by a fingerprint rule.
pub fn variants<'a>(
    event: &'a NormalizedEvent,
    rules: &'a ProjectRules,
) -> (Variants<'a>, Option<String>) {
    variants_of(
        &strategies::Input::new(event, rules.stacktrace_rules()),
        rules,
    )
}

fn variants_of<'a>(
    input: &strategies::Input<'a>,
    rules: &ProjectRules,
) -> (Variants<'a>, Option<String>) {
    let event = input.event;
    if let Some(checksum) = event.checksum.as_deref().filter(|c| !c.is_empty()) {
        let is_md5 = checksum.len() == 32
            && checksum
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let (name, hash) = if is_md5 {
            ("checksum", checksum.to_owned())
        } else {
            ("hashed_checksum", hash_values([checksum]))
        };
        let result = VariantResult {
            hash: Some(hash),
            values: vec![checksum.into()],
            component: None,
            description: Some("legacy checksum".into()),
        };
        return (Variants(vec![(name.to_owned(), result)]), None);
    }

    let client = event
        .fingerprint
        .clone()
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| vec!["{{ default }}".to_owned()]);
    let matched = fingerprint::server_rule(input, rules.fingerprints.as_ref());
    let (parts, builtin, custom_title, rule_text) = match matched {
        Some(m) => (m.fingerprint, m.is_builtin, m.title, Some(m.text)),
        None => (client, false, None, None),
    };
    let custom_title = custom_title.map(|t| fingerprint::resolve_title(&t, event));

    let components = strategies::strategy_variants(input);
    let defaults = parts
        .iter()
        .filter(|p| fingerprint::is_default_part(p))
        .count();

    let mut out: Vec<(String, VariantResult<'a>)> = Vec::new();
    if defaults == 0 {
        for (name, mut c) in components {
            if c.contributes() {
                c.set_contributes(false, "custom fingerprint takes precedence");
            }
            out.push((name.to_string(), strategy_result(c, None)));
        }
        let values: Vec<Cow<'a, str>> = fingerprint::resolve(&parts, event)
            .into_iter()
            .map(Cow::Owned)
            .collect();
        let name = if builtin {
            "built_in_fingerprint"
        } else {
            "custom_fingerprint"
        };
        out.push((
            name.to_owned(),
            VariantResult {
                hash: Some(hash_values(&values)),
                values,
                component: None,
                description: rule_text.or_else(|| Some("client fingerprint".into())),
            },
        ));
    } else {
        // `{{ default }}` alone means the strategies' own hashes; with more, they are salted.
        let salt = (parts.len() > 1).then(|| fingerprint::resolve(&parts, event));
        for (name, c) in components {
            out.push((name.to_string(), strategy_result(c, salt.as_deref())));
        }
    }
    if out.iter().all(|(_, v)| v.hash.is_none()) {
        out.push((
            "fallback".to_owned(),
            VariantResult {
                hash: Some(hash_values::<&str>([])),
                values: Vec::new(),
                component: None,
                description: Some("nothing else contributed".into()),
            },
        ));
    }
    (Variants(out), custom_title)
}

/// A strategy variant's result; a fingerprint with `{{ default }}` salts it.
fn strategy_result<'a>(
    component: component::Component<'a>,
    salt: Option<&[String]>,
) -> VariantResult<'a> {
    let contributes = component.contributes();
    let values: Vec<Cow<'a, str>> = if !contributes {
        Vec::new()
    } else {
        let own = component.contributing_values();
        match salt {
            Some(parts) => parts
                .iter()
                .flat_map(|p| {
                    if fingerprint::is_default_part(p) {
                        own.clone()
                    } else {
                        vec![Cow::Owned(p.clone())]
                    }
                })
                .collect(),
            None => own,
        }
    };
    VariantResult {
        hash: contributes.then(|| hash_values(&values)),
        values,
        component: Some(component),
        description: None,
    }
}

#[cfg(test)]
mod conformance;
#[cfg(test)]
mod snapshots;
#[cfg(test)]
mod tests;

//! Custom fingerprints: `["{{ default }}", "dogs"]`, `["{{ error.type }}", "{{ tags.route }}"]`.
//!
//! `{{ default }}` splices in the values of each default variant (one hash per variant); other
//! variables resolve against the event, with `<no-…>` placeholders when absent. Server-side
//! fingerprint rules (the project's, then the built-in ones) replace the client's fingerprint.

use super::fingerprint_rules::{self, FingerprintRules, RuleEvent};
use super::rule_input::{RuleException, RuleFrame};
use super::strategies::Input;
use crate::normalize::NormalizedEvent;

/// True for `{{ default }}`, which splices in the default grouping.
pub fn is_default_part(part: &str) -> bool {
    variable(part).as_deref() == Some("default")
}

/// The fingerprint with its variables resolved; `{{ default }}` stays as it is.
pub fn resolve(parts: &[String], event: &NormalizedEvent) -> Vec<String> {
    parts
        .iter()
        .map(|p| {
            if is_default_part(p) {
                p.clone()
            } else {
                resolve_part(p, event)
            }
        })
        .collect()
}

/// A title template of a fingerprint rule, `{{ var }}` replaced anywhere in the text.
pub fn resolve_title(template: &str, event: &NormalizedEvent) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        out.push_str(&rest[..start]);
        out.push_str(&resolve_part(&rest[start..start + len + 2], event));
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

/// The fingerprint rule that applies: the project's first, then Snag's built-in ones.
pub struct Matched {
    pub fingerprint: Vec<String>,
    pub is_builtin: bool,
    pub title: Option<String>,
    pub text: String,
}

/// Matches the project's rules, then the built-in ones, against the event with its stacks
/// already classified by the stack-trace rules (as Sentry does).
pub fn server_rule(input: &Input<'_>, project: Option<&FingerprintRules>) -> Option<Matched> {
    let event = input.event;
    let tags = fingerprint_rules::with_derived_tags(
        &event.tags,
        &event.level,
        event.logger.as_deref(),
        event.environment.as_deref(),
        event.transaction.as_deref(),
    );
    let frame = |f| RuleFrame::of(f, &event.platform);
    let mut frames: Vec<RuleFrame<'_>> = input
        .exception_stacks
        .iter()
        .flatten()
        .flat_map(|s| s.frames.iter().map(frame))
        .collect();
    if frames.is_empty() {
        frames = input
            .stacktrace
            .iter()
            .chain(input.crashed_thread_stack())
            .next()
            .map(|s| s.frames.iter().map(frame).collect())
            .unwrap_or_default();
    }
    let rule_event = RuleEvent {
        platform: Some(&event.platform),
        message: event
            .json
            .get("logentry")
            .and_then(|l| l.get("formatted"))
            .and_then(|f| f.as_str()),
        exceptions: input.exceptions.iter().map(RuleException::of).collect(),
        frames,
        logger: event.logger.as_deref(),
        level: Some(&event.level),
        tags: tags.into(),
        sdk_name: event
            .json
            .get("sdk")
            .and_then(|s| s.get("name"))
            .and_then(|n| n.as_str()),
        release: event.release.as_deref(),
    };
    fingerprint_rules::match_event(project, &rule_event, true).map(|m| Matched {
        fingerprint: m.fingerprint.to_vec(),
        is_builtin: m.is_builtin,
        title: m.title.map(str::to_owned),
        text: m.text,
    })
}

/// The variable name of `{{ name }}`, as written (tag names are case-sensitive).
fn variable(part: &str) -> Option<String> {
    let inner = part.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    Some(inner.trim().to_owned())
}

fn resolve_part(part: &str, event: &NormalizedEvent) -> String {
    let Some(name) = variable(part) else {
        return part.to_owned();
    };
    let exceptions = event.exceptions();
    let main = exceptions.last();
    let crash_frame = main.and_then(|e| {
        let frames = e.frames();
        frames
            .iter()
            .rev()
            .find(|f| f.in_app == Some(true))
            .or(frames.last())
    });
    let found = match name.as_str() {
        "transaction" => event.transaction.clone(),
        "message" => event
            .message
            .clone()
            .or_else(|| main.and_then(|e| e.value).map(str::to_owned)),
        "type" | "error.type" => main.and_then(|e| e.ty).map(str::to_owned),
        "value" | "error.value" => main.and_then(|e| e.value).map(str::to_owned),
        "function" | "stack.function" => crash_frame.and_then(|f| f.function).map(str::to_owned),
        "module" | "stack.module" => crash_frame.and_then(|f| f.module).map(str::to_owned),
        "path" | "stack.abs_path" => crash_frame.and_then(|f| f.abs_path).map(str::to_owned),
        "stack.filename" => crash_frame.and_then(|f| f.filename).map(str::to_owned),
        "package" | "stack.package" => crash_frame
            .and_then(|f| f.package)
            .map(|p| p.rsplit(['/', '\\']).next().unwrap_or(p).to_owned()),
        "level" => Some(event.level.clone()),
        "logger" => event.logger.clone(),
        _ => match name.strip_prefix("tags.") {
            Some(tag) => {
                return event
                    .tags
                    .iter()
                    .find(|(k, _)| k == tag)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| format!("<no-value-for-tag-{tag}>"));
            }
            // Unknown variables stay literal in newstyle:2023-01-11.
            None => return part.to_owned(),
        },
    };
    found.unwrap_or_else(|| {
        let short = name.rsplit('.').next().unwrap_or(&name);
        format!("<no-{short}>")
    })
}

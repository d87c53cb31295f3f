//! Custom fingerprints: `["{{ default }}", "dogs"]`, `["{{ error.type }}", "{{ tags.route }}"]`.
//!
//! `{{ default }}` splices in the values of each default variant (one hash per variant); other
//! variables resolve against the event, with `<no-…>` placeholders when absent.

use super::{Values, hash};
use crate::normalize::NormalizedEvent;

/// True for exactly `["{{ default }}"]`, which means "group as usual".
pub fn is_default(parts: &[String]) -> bool {
    parts.len() == 1 && variable(&parts[0]).as_deref() == Some("default")
}

/// Hashes of a custom or hybrid fingerprint.
pub fn hashes(parts: &[String], variants: &[Values], event: &NormalizedEvent) -> Vec<String> {
    let hybrid = parts
        .iter()
        .any(|p| variable(p).as_deref() == Some("default"));
    if !hybrid {
        let values: Vec<String> = parts.iter().map(|p| resolve(p, event)).collect();
        return vec![hash(&values)];
    }
    variants
        .iter()
        .map(|variant| {
            let values: Vec<String> = parts
                .iter()
                .flat_map(|p| match variable(p).as_deref() {
                    Some("default") => variant.clone(),
                    _ => vec![resolve(p, event)],
                })
                .collect();
            hash(&values)
        })
        .collect()
}

/// The variable name of `{{ name }}`, as written (tag names are case-sensitive).
fn variable(part: &str) -> Option<String> {
    let inner = part.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    Some(inner.trim().to_owned())
}

fn resolve(part: &str, event: &NormalizedEvent) -> String {
    let Some(name) = variable(part) else {
        return part.to_owned();
    };
    let main = event.exceptions.last();
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
            .or_else(|| main.and_then(|e| e.value.clone())),
        "type" | "error.type" => main.and_then(|e| e.ty.clone()),
        "value" | "error.value" => main.and_then(|e| e.value.clone()),
        "function" | "stack.function" => crash_frame.and_then(|f| f.function.clone()),
        "module" | "stack.module" => crash_frame.and_then(|f| f.module.clone()),
        "path" | "stack.abs_path" => crash_frame.and_then(|f| f.abs_path.clone()),
        "stack.filename" => crash_frame.and_then(|f| f.filename.clone()),
        "package" | "stack.package" => crash_frame
            .and_then(|f| f.package.as_deref())
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

//! Grouping: which issue an event belongs to. Pure functions of the normalized event.
//!
//! Each event yields grouping hashes in priority order (md5 hex of the contributing values,
//! concatenated without separators, as Sentry does). The store links every hash to an issue; the
//! first hash already linked decides the issue.
//!
//! Precedence: custom fingerprint (`{{ default }}` splices the default values) > exceptions
//! (in-app frames of each stack, then the type; the value only when no frame contributes) >
//! stacktrace > message (template before formatting) > the empty fallback.
//!
//! This is the first grouping; Sentry's exact `newstyle:2023-01-11` rules (frame rules per
//! platform, parameterization, exception groups, built-in fingerprints) complete it behind the
//! same [`group`] function.

mod fingerprint;
mod title;

use md5::{Digest, Md5};

use crate::normalize::NormalizedEvent;
use crate::protocol::event::{Exception, Frame};

/// What grouping decides about one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Grouping {
    /// Hashes in priority order (app before system); never empty.
    pub hashes: Vec<String>,
    pub title: String,
    pub culprit: String,
    /// `error` for events with exceptions, `default` for messages.
    pub issue_type: &'static str,
    /// `{"type", "value", "filename", "function"}` of the main exception, or `{"title"}`.
    pub metadata: serde_json::Value,
}

/// A variant's contributing values, e.g. `["app.py", "main", "ValueError"]`.
type Values = Vec<String>;

/// Groups one event.
pub fn group(event: &NormalizedEvent) -> Grouping {
    let variants = default_variants(event);
    let hashes = match &event.fingerprint {
        Some(parts) if !fingerprint::is_default(parts) => {
            fingerprint::hashes(parts, &variants, event)
        }
        _ => variants.iter().map(|v| hash(v)).collect(),
    };
    let mut hashes = dedup(hashes);
    if hashes.is_empty() {
        hashes.push(hash::<&str>(&[]));
    }
    let (title, culprit, metadata) = title::describe(event);
    Grouping {
        hashes,
        title,
        culprit,
        issue_type: if event.exceptions.is_empty() {
            "default"
        } else {
            "error"
        },
        metadata,
    }
}

/// md5 hex of the values concatenated.
pub fn hash<S: AsRef<str>>(values: &[S]) -> String {
    let mut md5 = Md5::new();
    for v in values {
        md5.update(v.as_ref().as_bytes());
    }
    hex::encode(md5.finalize())
}

fn dedup(hashes: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(hashes.len());
    for h in hashes {
        if !out.contains(&h) {
            out.push(h);
        }
    }
    out
}

/// The default strategy's variants, app first; empty when nothing contributes.
fn default_variants(event: &NormalizedEvent) -> Vec<Values> {
    if !event.exceptions.is_empty() {
        let app = exception_values(&event.exceptions, &event.platform, true);
        let system = exception_values(&event.exceptions, &event.platform, false);
        return stack_variants(app, system);
    }
    // A stack whose frames contribute nothing (native frames without symbols, say) gives way
    // to the message, or every such event would share the empty hash.
    if let Some(st) = &event.stacktrace
        && let Some(system) = frames_values(&st.frames, &event.platform, false)
    {
        let app = frames_values(&st.frames, &event.platform, true);
        return stack_variants(app.map(|v| (v, true)), Some((system, true)));
    }
    match event.message_template.as_ref().or(event.message.as_ref()) {
        Some(message) => vec![vec![message.clone()]],
        None => Vec::new(),
    }
}

/// App and system variants; a variant without a contributing stack gives way to one with.
fn stack_variants(app: Option<(Values, bool)>, system: Option<(Values, bool)>) -> Vec<Values> {
    let any_stack =
        app.as_ref().is_some_and(|(_, s)| *s) || system.as_ref().is_some_and(|(_, s)| *s);
    let mut out = Vec::new();
    for (values, has_stack) in [app, system].into_iter().flatten() {
        if (has_stack || !any_stack) && !out.contains(&values) {
            out.push(values);
        }
    }
    out
}

/// Values of a chain of exceptions, and whether any stack frame contributed.
fn exception_values(
    exceptions: &[Exception],
    platform: &str,
    app_only: bool,
) -> Option<(Values, bool)> {
    let mut values = Vec::new();
    let mut any_stack = false;
    for exception in exceptions {
        let frames = frames_values(exception.frames(), platform, app_only);
        let has_stack = frames.is_some();
        any_stack |= has_stack;
        values.extend(frames.unwrap_or_default());
        if !exception.is_synthetic()
            && let Some(ty) = &exception.ty
        {
            values.push(ty.clone());
        }
        if !has_stack && let Some(value) = &exception.value {
            values.push(value.clone());
        }
    }
    (!values.is_empty()).then_some((values, any_stack))
}

/// Values of the frames that contribute (in-app ones only for the app variant).
fn frames_values(frames: &[Frame], platform: &str, app_only: bool) -> Option<Values> {
    let values: Values = frames
        .iter()
        .filter(|f| !app_only || f.in_app == Some(true))
        .flat_map(|f| frame_values(f, platform))
        .collect();
    (!values.is_empty()).then_some(values)
}

/// A frame contributes its module (else lower-cased file name), its function and, for
/// platforms that send source, its context line (GROUPING.md §5, first approximation).
fn frame_values(frame: &Frame, platform: &str) -> Vec<String> {
    let platform = frame.platform.as_deref().unwrap_or(platform);
    let js = matches!(platform, "javascript" | "node");
    let mut values = Vec::with_capacity(3);
    // A file name served from a URL changes with every deploy of a hashed bundle: it does not
    // contribute (GROUPING.md §5); the function and context line do.
    let url_file = frame.abs_path.as_deref().is_some_and(|p| {
        ["http:", "https:", "blob:", "applewebdata:"]
            .iter()
            .any(|scheme| p.starts_with(scheme))
    });
    let location = frame
        .module
        .clone()
        .or_else(|| {
            frame
                .filename
                .as_deref()
                .filter(|_| !url_file)
                .map(|f| basename(f).to_lowercase())
        })
        .filter(|l| !matches!(l.as_str(), "<anonymous>" | "[native code]"));
    values.extend(location);
    let function = frame
        .function
        .as_deref()
        .or(frame.raw_function.as_deref())
        .map(|f| {
            // JS `Object.handler` / `Foo.handler` → `handler`.
            if js {
                f.rsplit('.').next().unwrap_or(f)
            } else {
                f
            }
        });
    if let Some(f) =
        function.filter(|f| !matches!(*f, "" | "?" | "<anonymous>" | "<anonymous function>"))
    {
        values.push(f.to_owned());
    }
    if matches!(platform, "javascript" | "node" | "python" | "php" | "ruby")
        && let Some(line) = frame.context_line.as_deref().filter(|l| l.len() <= 120)
    {
        let collapsed = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if !collapsed.is_empty() {
            values.push(collapsed);
        }
    }
    values
}

fn basename(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

#[cfg(test)]
mod tests;

//! Title, culprit and metadata of an event, as Sentry derives them.
//!
//! ```text
//! error:   "ValueError: invalid literal for int()"   culprit "app.views in handle" (python)
//!                                                    culprit "handle(app/views)"   (javascript)
//! message: "Order 1001 failed"                       culprit = transaction, else ""
//! ```

use serde_json::{Value, json};

use super::strategies::Input;
use crate::normalize::NormalizedEvent;
use crate::protocol::event::Frame;

const MAX_TITLE_CHARS: usize = 256;
const MAX_CULPRIT_CHARS: usize = 200;

/// `input` holds the stacks as the stack-trace rules classified them (in-app decides the
/// crash frame and the culprit, as in Sentry).
pub fn describe(event: &NormalizedEvent, input: &Input<'_>) -> (String, String, Value) {
    let culprit = event
        .culprit
        .clone()
        .or_else(|| event.transaction.clone())
        .or_else(|| generated_culprit(event, input))
        .or_else(|| event.request_url.clone())
        .unwrap_or_default();
    let culprit = truncate(&culprit, MAX_CULPRIT_CHARS);

    // Sentry's main exception: the one `main_exception_id` names, else the last.
    let main_index = input
        .main_exception
        .get()
        .unwrap_or(input.exceptions.len().saturating_sub(1));
    let Some(main) = input.exceptions.get(main_index) else {
        let title = event
            .message
            .as_deref()
            .and_then(first_line)
            .map(|l| truncate(l, MAX_TITLE_CHARS))
            .unwrap_or_else(|| "<unlabeled event>".to_owned());
        return (title.clone(), culprit, json!({ "title": title }));
    };

    let main_frames = input
        .exception_stacks
        .get(main_index)
        .and_then(Option::as_ref)
        .map_or(main.frames(), |s| s.frames.as_slice());
    let crash = crash_frame(main_frames);
    let value = main.value.and_then(first_line);
    let title = if main.is_synthetic() {
        // JS captureMessage sends a synthetic exception beside the message; a captured
        // non-Error object says what it was in the value.
        event
            .message
            .as_deref()
            .and_then(first_line)
            .or(value)
            .or_else(|| crash.and_then(|f| f.function).filter(|f| *f != "?"))
            .map(str::to_owned)
            .unwrap_or_else(|| "<unknown>".to_owned())
    } else {
        let ty = main.ty.unwrap_or("Error");
        match value {
            Some(v) => format!("{ty}: {v}"),
            None => ty.to_owned(),
        }
    };
    let culprit = if main.is_synthetic() && event.culprit.is_none() && event.transaction.is_none() {
        String::new()
    } else {
        culprit
    };
    let mut metadata = serde_json::Map::new();
    if !main.is_synthetic() {
        metadata.insert("type".into(), json!(main.ty.unwrap_or("Error")));
    }
    if let Some(v) = &main.value {
        metadata.insert("value".into(), json!(truncate(v, 1024)));
    }
    if let Some(f) = crash {
        if let Some(filename) = &f.filename {
            metadata.insert("filename".into(), json!(filename));
        }
        if let Some(function) = &f.function {
            metadata.insert("function".into(), json!(function));
        }
    }
    (
        truncate(&title, MAX_TITLE_CHARS),
        culprit,
        Value::Object(metadata),
    )
}

/// The last in-app frame with a function, else the last frame.
fn crash_frame<'f, 'a>(frames: &'f [Frame<'a>]) -> Option<&'f Frame<'a>> {
    frames
        .iter()
        .rev()
        .find(|f| f.in_app == Some(true) && f.function.is_some())
        .or(frames.last())
}

/// From the crash frame backwards: the first in-app frame, else the top frame.
fn generated_culprit(event: &NormalizedEvent, input: &Input<'_>) -> Option<String> {
    let frames = input
        .exception_stacks
        .iter()
        .rev()
        .flatten()
        .map(|s| s.frames.as_slice())
        .find(|f| !f.is_empty())
        .or_else(|| {
            input
                .stacktrace
                .as_ref()
                .or_else(|| input.crashed_thread_stack())
                .map(|s| s.frames.as_slice())
        })?;
    let frame = frames
        .iter()
        .rev()
        .find(|f| f.in_app == Some(true))
        .or(frames.last())?;
    let platform = frame.platform.unwrap_or(&event.platform);
    let function = frame.function.unwrap_or("?");
    let location = frame.module.or(frame.filename);
    Some(match platform {
        "native" | "cocoa" | "objc" | "swift" | "c" => function.to_owned(),
        "javascript" | "node" => format!("{function}({})", location.unwrap_or("?")),
        _ => format!("{} in {function}", location.unwrap_or("?")),
    })
}

fn first_line(s: &str) -> Option<&str> {
    s.lines().map(str::trim).find(|l| !l.is_empty())
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

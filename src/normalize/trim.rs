//! Relay's string trims: a field longer than its limit plus a small allowance is cut to the
//! limit, ending in `...`; frames past 250 per stack are dropped from the oldest end. Besides
//! keeping stored events small, these bound the grouping work an event can ask for: every
//! string a rule or a hash reads has a known length.
//!
//! ```text
//! frame.function / raw_function   512 (+20)      exception.type     256 (+20)
//! frame.symbol                    512            exception.value   8192 (+200)
//! frame.filename / abs_path       256 (+40)      exception.module   256 (+20)
//! frame.module / package         1024 (+100)¹    breadcrumb.message 8192 (+200)
//! frames per stack trace          250 (the newest)  exceptions per event 100 (the newest)
//! ```
//! ¹ Relay leaves these uncapped; Snag caps them as a summary, far above any real path.

use serde_json::{Map, Value};

/// A field's limit in characters and the allowance past it before it is cut.
#[derive(Debug, Clone, Copy)]
pub struct MaxChars {
    pub limit: usize,
    pub allowance: usize,
}

const fn max(limit: usize, allowance: usize) -> MaxChars {
    MaxChars { limit, allowance }
}

pub const FUNCTION: MaxChars = max(512, 20);
pub const SYMBOL: MaxChars = max(512, 0);
pub const PATH: MaxChars = max(256, 40);
pub const SUMMARY: MaxChars = max(1024, 100);
pub const TYPE: MaxChars = max(256, 20);
pub const MESSAGE: MaxChars = max(8192, 200);

/// Frames kept per stack trace (Relay keeps the newest 250).
pub const MAX_FRAMES: usize = 250;
/// Exceptions kept per event (the newest, i.e. the last: the one raised and its nearest causes).
pub const MAX_EXCEPTIONS: usize = 100;

const FRAME_FIELDS: [(&str, MaxChars); 7] = [
    ("function", FUNCTION),
    ("raw_function", FUNCTION),
    ("symbol", SYMBOL),
    ("filename", PATH),
    ("abs_path", PATH),
    ("module", SUMMARY),
    ("package", SUMMARY),
];

/// `s` cut to `max.limit` characters (the last three being `...`) when it is longer than the
/// limit plus the allowance; `None` when it is short enough.
pub fn cut(s: &str, max: MaxChars) -> Option<String> {
    // Longer than limit + allowance, or nothing to do (no more bytes than that: no more chars).
    if s.len() <= max.limit + max.allowance {
        return None;
    }
    s.char_indices().nth(max.limit + max.allowance)?;
    let end = s
        .char_indices()
        .nth(max.limit.saturating_sub(3))
        .map_or(s.len(), |(i, _)| i);
    Some(format!("{}...", &s[..end]))
}

/// Cuts the string field `name` of `object` if it is too long.
pub fn field(object: &mut Map<String, Value>, name: &str, max: MaxChars) {
    if let Some(Value::String(s)) = object.get_mut(name)
        && let Some(short) = cut(s, max)
    {
        *s = short;
    }
}

/// The newest [`MAX_FRAMES`] frames, each with its strings cut.
pub fn frames(frames: &mut Vec<Value>) {
    if frames.len() > MAX_FRAMES {
        frames.drain(..frames.len() - MAX_FRAMES);
    }
    for frame in frames.iter_mut().filter_map(Value::as_object_mut) {
        for (name, max) in FRAME_FIELDS {
            field(frame, name, max);
        }
    }
}

/// The newest [`MAX_EXCEPTIONS`] exceptions (they are listed oldest cause first).
pub fn exceptions(values: &mut Vec<Value>) {
    if values.len() > MAX_EXCEPTIONS {
        values.drain(..values.len() - MAX_EXCEPTIONS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_the_allowance_nothing_is_cut() {
        let s = "a".repeat(532);
        assert_eq!(cut(&s, FUNCTION), None);
        let long = "é".repeat(533);
        let short = cut(&long, FUNCTION).unwrap();
        assert_eq!(short.chars().count(), 512);
        assert!(short.ends_with("é..."));
    }

    #[test]
    fn stacks_keep_their_newest_frames() {
        let mut list: Vec<Value> = (0..300)
            .map(|i| serde_json::json!({"function": format!("f{i}"), "package": "p".repeat(5000)}))
            .collect();
        frames(&mut list);
        assert_eq!(list.len(), MAX_FRAMES);
        assert_eq!(list[0]["function"], "f50");
        assert_eq!(list[249]["function"], "f299");
        assert_eq!(list[0]["package"].as_str().unwrap().chars().count(), 1024);
    }
}

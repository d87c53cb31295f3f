//! `message`, `logentry` and `sentry.interfaces.Message` → one `logentry`.
//!
//! ```json
//! {"message": "plain"}                                  → {"logentry": {"formatted": "plain"}}
//! {"logentry": {"message": "Failed %s", "params": ["bob"]}} → {"logentry": {"formatted": "Failed bob", "message": "Failed %s", "params": ["bob"]}}
//! ```
//! `logentry.message` survives only as a template that differs from the formatted text.

use serde_json::{Map, Value};

/// Longest message kept, in characters (Relay's limit).
const MAX_MESSAGE_CHARS: usize = 8192;

pub fn normalize_logentry(json: &mut Map<String, Value>) {
    let legacy = json.remove("sentry.interfaces.Message");
    let plain = json.remove("message");
    let mut entry = match json.remove("logentry").or(legacy) {
        Some(Value::Object(map)) => map,
        Some(Value::String(s)) => Map::from_iter([("formatted".to_owned(), Value::String(s))]),
        _ => Map::new(),
    };
    // A top-level `message` string (or object, for old clients) fills what `logentry` lacks.
    match plain {
        Some(Value::String(s))
            if !entry.contains_key("formatted") && !entry.contains_key("message") =>
        {
            entry.insert("formatted".into(), Value::String(s));
        }
        Some(Value::Object(map)) if entry.is_empty() => entry = map,
        _ => {}
    }

    let template = text(entry.get("message"));
    let params = entry.get("params").filter(|p| !p.is_null()).cloned();
    let formatted = text(entry.get("formatted")).or_else(|| match (&template, &params) {
        (Some(t), Some(p)) => Some(format_params(t, p)),
        (Some(t), None) => Some(t.clone()),
        _ => None,
    });
    let Some(formatted) = formatted else {
        return;
    };
    let mut out = Map::new();
    out.insert(
        "formatted".into(),
        Value::String(truncate(formatted.clone())),
    );
    if let Some(t) = template.filter(|t| *t != formatted) {
        out.insert("message".into(), Value::String(truncate(t)));
        if let Some(p) = params {
            out.insert("params".into(), p);
        }
    }
    json.insert("logentry".into(), Value::Object(out));
}

/// A non-empty string (numbers and booleans stringified).
fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn truncate(mut s: String) -> String {
    if let Some((i, _)) = s.char_indices().nth(MAX_MESSAGE_CHARS) {
        s.truncate(i);
        s.push('…');
    }
    s
}

/// printf-style formatting as Python logging does it: `%s`, `%d`, `%r`… take the params in order
/// (or by name from an object with `%(name)s`); `%%` is a literal percent sign.
fn format_params(template: &str, params: &Value) -> String {
    let positional: Vec<&Value> = match params {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => Vec::new(),
        single => vec![single],
    };
    let mut next = positional.into_iter();
    let mut out = String::with_capacity(template.len());
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.peek().copied() {
            Some('%') => {
                chars.next();
                out.push('%');
            }
            Some('(') => {
                chars.next();
                let name: String = chars.by_ref().take_while(|&c| c != ')').collect();
                skip_conversion(&mut chars);
                match params.get(&name) {
                    Some(v) => out.push_str(&display(v)),
                    None => out.push_str(&format!("%({name})s")),
                }
            }
            Some(_) => {
                skip_conversion(&mut chars);
                match next.next() {
                    Some(v) => out.push_str(&display(v)),
                    None => out.push('%'),
                }
            }
            None => out.push('%'),
        }
    }
    out
}

/// Skips flags, width, precision and the conversion letter after a `%`.
fn skip_conversion(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(&c) = chars.peek() {
        chars.next();
        if c.is_ascii_alphabetic() {
            break;
        }
    }
}

fn display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn logentry(event: Value) -> Value {
        let Value::Object(mut map) = event else {
            unreachable!()
        };
        normalize_logentry(&mut map);
        map.get("logentry").cloned().unwrap_or(Value::Null)
    }

    #[test]
    fn plain_message() {
        assert_eq!(
            logentry(json!({"message": "hello"})),
            json!({"formatted": "hello"})
        );
    }

    #[test]
    fn template_with_params() {
        assert_eq!(
            logentry(
                json!({"logentry": {"message": "Order %s for %s failed (%d%%)", "params": ["1001", "bob", 5]}})
            ),
            json!({"formatted": "Order 1001 for bob failed (5%)", "message": "Order %s for %s failed (%d%%)", "params": ["1001", "bob", 5]})
        );
    }

    #[test]
    fn formatted_and_template_from_python_logging() {
        assert_eq!(
            logentry(json!({"logentry": {"message": "x %s", "formatted": "x 1", "params": ["1"]}})),
            json!({"formatted": "x 1", "message": "x %s", "params": ["1"]})
        );
        assert_eq!(
            logentry(json!({"logentry": {"message": "same", "formatted": "same"}})),
            json!({"formatted": "same"})
        );
    }

    #[test]
    fn raven_sends_both_forms() {
        assert_eq!(
            logentry(
                json!({"message": "hi 'x'", "sentry.interfaces.Message": {"message": "hi %r", "params": ["'x'"], "formatted": null}})
            ),
            json!({"formatted": "hi 'x'", "message": "hi %r", "params": ["'x'"]})
        );
    }

    #[test]
    fn named_params_and_missing_params() {
        assert_eq!(
            format_params("%(user)s did %(what)r", &json!({"user": "bob", "what": 3})),
            "bob did 3"
        );
        assert_eq!(format_params("%s and %s", &json!(["a"])), "a and %");
    }

    #[test]
    fn nothing_to_say() {
        assert_eq!(logentry(json!({"message": 12})), Value::Null);
        assert_eq!(logentry(json!({"logentry": {}})), Value::Null);
    }
}

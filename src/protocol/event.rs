//! Typed, lenient views of the parts of an event that grouping and titles read.
//!
//! A field of the wrong type reads as absent instead of failing the event (Relay nulls such
//! fields too): `{"lineno": "12"}` gives `lineno: None`, never an error. The views are read
//! straight from the borrowed JSON, so nothing but the kept strings is copied.
//!
//! ```json
//! {"exception": {"values": [{"type": "ValueError", "value": "bad", "module": "__main__",
//!   "mechanism": {"type": "generic", "handled": true},
//!   "stacktrace": {"frames": [{"filename": "app.py", "function": "main", "lineno": 3, "in_app": true}]}}]}}
//! ```

use serde_json::Value;

fn string(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn boolean(value: &Value, key: &str) -> Option<bool> {
    value.get(key).and_then(Value::as_bool)
}

fn number(value: &Value, key: &str) -> Option<u64> {
    value.get(key).and_then(Value::as_u64)
}

/// The objects of a JSON list (other entries dropped); empty when it is not a list.
pub fn objects(value: Option<&Value>) -> impl Iterator<Item = &Value> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| v.is_object())
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frame {
    pub filename: Option<String>,
    pub abs_path: Option<String>,
    pub function: Option<String>,
    pub raw_function: Option<String>,
    pub module: Option<String>,
    pub package: Option<String>,
    pub platform: Option<String>,
    pub lineno: Option<u64>,
    pub colno: Option<u64>,
    pub context_line: Option<String>,
    pub in_app: Option<bool>,
    /// The SDK or a symbolicator resolved this frame through a source map (`data.sourcemap`).
    pub sourcemap: bool,
}

impl Frame {
    pub fn read(v: &Value) -> Frame {
        Frame {
            filename: string(v, "filename"),
            abs_path: string(v, "abs_path"),
            function: string(v, "function"),
            raw_function: string(v, "raw_function"),
            module: string(v, "module"),
            package: string(v, "package"),
            platform: string(v, "platform"),
            lineno: number(v, "lineno"),
            colno: number(v, "colno"),
            context_line: string(v, "context_line"),
            in_app: boolean(v, "in_app"),
            sourcemap: v
                .get("data")
                .and_then(|d| d.get("sourcemap"))
                .is_some_and(|s| !s.is_null()),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stacktrace {
    pub frames: Vec<Frame>,
}

impl Stacktrace {
    /// `None` unless `v` is an object.
    pub fn read(v: Option<&Value>) -> Option<Stacktrace> {
        let v = v.filter(|v| v.is_object())?;
        Some(Stacktrace {
            frames: objects(v.get("frames")).map(Frame::read).collect(),
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mechanism {
    pub ty: Option<String>,
    pub handled: Option<bool>,
    pub synthetic: Option<bool>,
    /// Exception groups (RFC 0079): this exception's id, its parent's, and whether it is a group.
    pub exception_id: Option<u64>,
    pub parent_id: Option<u64>,
    pub is_exception_group: bool,
    /// Cocoa's `meta.ns_error`: domain and code (as text).
    pub ns_error: Option<(Option<String>, Option<String>)>,
}

impl Mechanism {
    pub fn read(v: Option<&Value>) -> Option<Mechanism> {
        let v = v.filter(|v| v.is_object())?;
        Some(Mechanism {
            ty: string(v, "type"),
            handled: boolean(v, "handled"),
            synthetic: boolean(v, "synthetic"),
            exception_id: number(v, "exception_id"),
            parent_id: number(v, "parent_id"),
            is_exception_group: boolean(v, "is_exception_group").unwrap_or(false),
            ns_error: v
                .get("meta")
                .and_then(|m| m.get("ns_error"))
                .filter(|n| n.is_object())
                .map(|n| {
                    let text = |k: &str| match n.get(k) {
                        Some(Value::String(s)) => Some(s.clone()),
                        Some(Value::Number(x)) => Some(x.to_string()),
                        _ => None,
                    };
                    (text("domain"), text("code"))
                }),
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exception {
    pub ty: Option<String>,
    pub value: Option<String>,
    pub module: Option<String>,
    pub stacktrace: Option<Stacktrace>,
    pub mechanism: Option<Mechanism>,
}

impl Exception {
    pub fn read(v: &Value) -> Exception {
        Exception {
            ty: string(v, "type"),
            value: string(v, "value"),
            module: string(v, "module"),
            stacktrace: Stacktrace::read(v.get("stacktrace")),
            mechanism: Mechanism::read(v.get("mechanism")),
        }
    }

    pub fn is_synthetic(&self) -> bool {
        self.mechanism
            .as_ref()
            .and_then(|m| m.synthetic)
            .unwrap_or(false)
    }

    pub fn frames(&self) -> &[Frame] {
        self.stacktrace
            .as_ref()
            .map(|s| s.frames.as_slice())
            .unwrap_or(&[])
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thread {
    pub stacktrace: Option<Stacktrace>,
    pub crashed: Option<bool>,
    pub current: Option<bool>,
}

impl Thread {
    pub fn read(v: &Value) -> Thread {
        Thread {
            stacktrace: Stacktrace::read(v.get("stacktrace")),
            crashed: boolean(v, "crashed"),
            current: boolean(v, "current"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wrong_types_read_as_absent() {
        let frame = Frame::read(&json!({"function": 3, "lineno": "12", "in_app": true}));
        assert_eq!(frame.function, None);
        assert_eq!(frame.lineno, None);
        assert_eq!(frame.in_app, Some(true));
    }

    #[test]
    fn malformed_frames_are_dropped() {
        let st = Stacktrace::read(Some(&json!({"frames": [1, {"function": "f"}, null]}))).unwrap();
        assert_eq!(st.frames.len(), 1);
        let st = Stacktrace::read(Some(&json!({"frames": "nope"}))).unwrap();
        assert!(st.frames.is_empty());
        assert_eq!(Stacktrace::read(Some(&json!("nope"))), None);
    }

    #[test]
    fn exceptions() {
        let e =
            Exception::read(&json!({"type": "E", "value": 5, "mechanism": {"synthetic": true}}));
        assert_eq!(e.ty.as_deref(), Some("E"));
        assert_eq!(e.value, None);
        assert!(e.is_synthetic());
        assert!(e.frames().is_empty());
    }
}

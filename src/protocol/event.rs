//! Typed, lenient views of the parts of an event that grouping and titles read.
//!
//! A field of the wrong type reads as absent instead of failing the event (Relay nulls such
//! fields too): `{"lineno": "12"}` gives `lineno: None`, never an error. The views borrow
//! their strings from the JSON: reading a stack trace copies nothing.
//!
//! ```json
//! {"exception": {"values": [{"type": "ValueError", "value": "bad", "module": "__main__",
//!   "mechanism": {"type": "generic", "handled": true},
//!   "stacktrace": {"frames": [{"filename": "app.py", "function": "main", "lineno": 3, "in_app": true}]}}]}}
//! ```

use serde_json::Value;

fn string<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
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

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Frame<'a> {
    pub filename: Option<&'a str>,
    pub abs_path: Option<&'a str>,
    pub function: Option<&'a str>,
    pub raw_function: Option<&'a str>,
    pub module: Option<&'a str>,
    pub package: Option<&'a str>,
    pub platform: Option<&'a str>,
    pub lineno: Option<u64>,
    pub colno: Option<u64>,
    pub context_line: Option<&'a str>,
    pub in_app: Option<bool>,
    /// The SDK or a symbolicator resolved this frame through a source map (`data.sourcemap`).
    pub sourcemap: bool,
}

impl<'a> Frame<'a> {
    /// One pass over the frame's fields (frames are most of an event: this is hot).
    pub fn read(v: &'a Value) -> Frame<'a> {
        let mut frame = Frame::default();
        let Some(fields) = v.as_object() else {
            return frame;
        };
        for (key, value) in fields {
            let text = || value.as_str();
            match key.as_str() {
                "filename" => frame.filename = text(),
                "abs_path" => frame.abs_path = text(),
                "function" => frame.function = text(),
                "raw_function" => frame.raw_function = text(),
                "module" => frame.module = text(),
                "package" => frame.package = text(),
                "platform" => frame.platform = text(),
                "lineno" => frame.lineno = value.as_u64(),
                "colno" => frame.colno = value.as_u64(),
                "context_line" => frame.context_line = text(),
                "in_app" => frame.in_app = value.as_bool(),
                "data" => {
                    frame.sourcemap = value.get("sourcemap").is_some_and(|s| !s.is_null());
                }
                _ => {}
            }
        }
        frame
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stacktrace<'a> {
    pub frames: Vec<Frame<'a>>,
}

impl<'a> Stacktrace<'a> {
    /// `None` unless `v` is an object.
    pub fn read(v: Option<&'a Value>) -> Option<Stacktrace<'a>> {
        let v = v.filter(|v| v.is_object())?;
        Some(Stacktrace {
            frames: objects(v.get("frames")).map(Frame::read).collect(),
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mechanism<'a> {
    pub ty: Option<&'a str>,
    /// Where a chained exception came from (`cause`, `__context__`, `InnerException`…).
    pub source: Option<&'a str>,
    pub handled: Option<bool>,
    pub synthetic: Option<bool>,
    /// Exception groups (RFC 0079): this exception's id, its parent's, and whether it is a group.
    pub exception_id: Option<u64>,
    pub parent_id: Option<u64>,
    pub is_exception_group: bool,
    /// Cocoa's `meta.ns_error`: domain and code (as text).
    pub ns_error: Option<(Option<String>, Option<String>)>,
}

impl<'a> Mechanism<'a> {
    pub fn read(v: Option<&'a Value>) -> Option<Mechanism<'a>> {
        let v = v.filter(|v| v.is_object())?;
        Some(Mechanism {
            ty: string(v, "type"),
            source: string(v, "source"),
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
pub struct Exception<'a> {
    pub ty: Option<&'a str>,
    pub value: Option<&'a str>,
    pub module: Option<&'a str>,
    pub stacktrace: Option<Stacktrace<'a>>,
    pub mechanism: Option<Mechanism<'a>>,
}

impl<'a> Exception<'a> {
    pub fn read(v: &'a Value) -> Exception<'a> {
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

    pub fn frames(&self) -> &[Frame<'a>] {
        self.stacktrace
            .as_ref()
            .map(|s| s.frames.as_slice())
            .unwrap_or(&[])
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thread<'a> {
    pub stacktrace: Option<Stacktrace<'a>>,
    pub crashed: Option<bool>,
    pub current: Option<bool>,
}

impl<'a> Thread<'a> {
    pub fn read(v: &'a Value) -> Thread<'a> {
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
        let json = json!({"function": 3, "lineno": "12", "in_app": true});
        let frame = Frame::read(&json);
        assert_eq!(frame.function, None);
        assert_eq!(frame.lineno, None);
        assert_eq!(frame.in_app, Some(true));
    }

    #[test]
    fn malformed_frames_are_dropped() {
        let json = json!({"frames": [1, {"function": "f"}, null]});
        let st = Stacktrace::read(Some(&json)).unwrap();
        assert_eq!(st.frames.len(), 1);
        let json = json!({"frames": "nope"});
        let st = Stacktrace::read(Some(&json)).unwrap();
        assert!(st.frames.is_empty());
        assert_eq!(Stacktrace::read(Some(&json!("nope"))), None);
    }

    #[test]
    fn exceptions() {
        let json = json!({"type": "E", "value": 5, "mechanism": {"synthetic": true}});
        let e = Exception::read(&json);
        assert_eq!(e.ty, Some("E"));
        assert_eq!(e.value, None);
        assert!(e.is_synthetic());
        assert!(e.frames().is_empty());
    }
}

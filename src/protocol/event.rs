//! Typed, lenient views of the parts of an event that grouping and titles read.
//!
//! A field of the wrong type reads as absent instead of failing the event (Relay nulls such
//! fields too): `{"lineno": "12"}` gives `lineno: None`, never an error.
//!
//! ```json
//! {"exception": {"values": [{"type": "ValueError", "value": "bad", "module": "__main__",
//!   "mechanism": {"type": "generic", "handled": true},
//!   "stacktrace": {"frames": [{"filename": "app.py", "function": "main", "lineno": 3, "in_app": true}]}}]}}
//! ```

use serde::{Deserialize, Deserializer, de::DeserializeOwned};
use serde_json::Value;

/// Deserializes `T`, or `None` when the value has another shape.
fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = Value::deserialize(deserializer)?;
    Ok(T::deserialize(value).ok())
}

/// A list whose malformed entries are dropped.
fn lenient_list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    match Value::deserialize(deserializer)? {
        Value::Array(items) => Ok(items
            .into_iter()
            .filter_map(|v| T::deserialize(v).ok())
            .collect()),
        _ => Ok(Vec::new()),
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Frame {
    #[serde(deserialize_with = "lenient")]
    pub filename: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub abs_path: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub function: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub raw_function: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub module: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub package: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub platform: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub lineno: Option<u64>,
    #[serde(deserialize_with = "lenient")]
    pub colno: Option<u64>,
    #[serde(deserialize_with = "lenient")]
    pub context_line: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub in_app: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Stacktrace {
    #[serde(deserialize_with = "lenient_list")]
    pub frames: Vec<Frame>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Mechanism {
    #[serde(rename = "type", deserialize_with = "lenient")]
    pub ty: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub handled: Option<bool>,
    #[serde(deserialize_with = "lenient")]
    pub synthetic: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Exception {
    #[serde(rename = "type", deserialize_with = "lenient")]
    pub ty: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub value: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub module: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub stacktrace: Option<Stacktrace>,
    #[serde(deserialize_with = "lenient")]
    pub mechanism: Option<Mechanism>,
}

impl Exception {
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

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Thread {
    #[serde(deserialize_with = "lenient")]
    pub stacktrace: Option<Stacktrace>,
    #[serde(deserialize_with = "lenient")]
    pub crashed: Option<bool>,
    #[serde(deserialize_with = "lenient")]
    pub current: Option<bool>,
}

/// Reads `T` from a JSON value leniently (`None` when the shape is wrong).
pub fn read<T: DeserializeOwned>(value: Option<&Value>) -> Option<T> {
    value.and_then(|v| T::deserialize(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wrong_types_read_as_absent() {
        let frame: Frame = read(Some(
            &json!({"function": 3, "lineno": "12", "in_app": true}),
        ))
        .unwrap();
        assert_eq!(frame.function, None);
        assert_eq!(frame.lineno, None);
        assert_eq!(frame.in_app, Some(true));
    }

    #[test]
    fn malformed_frames_are_dropped() {
        let st: Stacktrace = read(Some(&json!({"frames": [1, {"function": "f"}, null]}))).unwrap();
        assert_eq!(st.frames.len(), 1);
        let st: Stacktrace = read(Some(&json!({"frames": "nope"}))).unwrap();
        assert!(st.frames.is_empty());
    }
}

//! An event payload's JSON, read and written with its bulky, never-inspected parts passed through.
//!
//! Nothing in the ingest looks inside a frame's source context and local variables, nor the
//! event's `modules`, `extra` and `debug_meta`, yet they hold most of a typical event's values:
//!
//! ```json
//! {"exception": {"values": [{"stacktrace": {"frames": [
//!     {"function": "handle", "context_line": "…", "pre_context": ["…"], "post_context": ["…"],
//!      "vars": {"order_id": "'10023'"}}]}}]},
//!  "modules": {"django": "5.1"}, "extra": {…}, "debug_meta": {"images": […]}}
//! ```
//! [`parse`] checks each of those values but keeps it as its JSON text instead of building a
//! tree of it (no allocation per string, map and key): in the tree it is a string that starts
//! with [`PASSTHROUGH`]. [`to_vec`] writes that text back in its place. Everything else becomes
//! a plain `serde_json::Value`, as `serde_json::from_slice` would make it.
//!
//! The writer checks a passed-through text again before writing it as JSON, because
//! normalization moves values (an aliased `sentry.interfaces.Stacktrace` becomes `stacktrace`),
//! and a client's own string could arrive in such a place looking like one: then it is written
//! as the string it is.

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value};

/// Starts a string that holds passed-through JSON text (no JSON text starts with it).
const PASSTHROUGH: char = '\0';

/// How deep the stored JSON may nest: serde_json reads at most 128 levels back.
const MAX_DEPTH: usize = 120;

/// Parses an event payload (see the module docs). Rejects invalid UTF-8 anywhere, like
/// `serde_json::from_slice` does inside strings, and JSON nested deeper than serde_json reads.
pub fn parse(payload: &[u8]) -> Result<Value, serde_json::Error> {
    // Checking the whole payload at once is cheaper than checking it string by string.
    match std::str::from_utf8(payload) {
        Ok(text) => parse_from(&mut serde_json::Deserializer::from_str(text)),
        // The slice reader reports where the bad byte is.
        Err(_) => parse_from(&mut serde_json::Deserializer::from_slice(payload)),
    }
}

fn parse_from<'de, R: serde_json::de::Read<'de>>(
    de: &mut serde_json::Deserializer<R>,
) -> Result<Value, serde_json::Error> {
    let value = Seed {
        place: Place::Root,
        depth: 0,
    }
    .deserialize(&mut *de)?;
    de.end()?;
    Ok(value)
}

/// Writes a tree from [`parse`] (or built in code) as compact JSON.
pub fn to_vec(json: &Map<String, Value>) -> Vec<u8> {
    let mut out = Vec::with_capacity(4096);
    write_object(&mut out, json, Place::Root, 1);
    out
}

/// Where in an event a value sits, as far as passing through goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Root,
    Plain,
    Stacktrace,
    Frames,
    Frame,
}

enum Field {
    PassThrough,
    Nested(Place),
}

impl Place {
    fn field(self, key: &str) -> Field {
        match (self, key) {
            (Place::Root, "modules" | "extra" | "debug_meta")
            | (Place::Frame, "pre_context" | "post_context" | "vars") => Field::PassThrough,
            (Place::Stacktrace, "frames") => Field::Nested(Place::Frames),
            (_, "stacktrace" | "raw_stacktrace") => Field::Nested(Place::Stacktrace),
            _ => Field::Nested(Place::Plain),
        }
    }

    fn element(self) -> Place {
        match self {
            Place::Frames => Place::Frame,
            _ => Place::Plain,
        }
    }
}

/// One value to read: where it is and how many containers enclose it.
#[derive(Clone, Copy)]
struct Seed {
    place: Place,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Seed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        Ok(Number::from_f64(n).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = Seed {
            place: self.place.element(),
            depth: self.depth + 1,
        };
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        // Sorted once and built in bulk: cheaper than a search per key.
        let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(8).min(64));
        while let Some(key) = map.next_key::<String>()? {
            let value = match self.place.field(&key) {
                Field::PassThrough => {
                    let raw: &RawValue = map.next_value()?;
                    let text = raw.get();
                    if self.depth + 1 + nesting(text) > MAX_DEPTH {
                        return Err(serde::de::Error::custom("recursion limit exceeded"));
                    }
                    let mut kept = String::with_capacity(text.len() + 1);
                    kept.push(PASSTHROUGH);
                    kept.push_str(text);
                    Value::String(kept)
                }
                Field::Nested(place) => map.next_value_seed(Seed {
                    place,
                    depth: self.depth + 1,
                })?,
            };
            fields.push((key, value));
        }
        Ok(Value::Object(fields.into_iter().collect()))
    }
}

/// How many containers deep valid JSON text nests (brackets inside strings do not count).
fn nesting(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &b in text.as_bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

fn write(out: &mut Vec<u8>, value: &Value, place: Place, depth: usize) {
    match value {
        Value::Object(map) => write_object(out, map, place, depth + 1),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(out, item, place.element(), depth + 1);
            }
            out.push(b']');
        }
        scalar => serde_json::to_writer(&mut *out, scalar).expect("writing to memory"),
    }
}

/// `depth` counts this object.
fn write_object(out: &mut Vec<u8>, map: &Map<String, Value>, place: Place, depth: usize) {
    out.push(b'{');
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, key).expect("writing to memory");
        out.push(b':');
        match place.field(key) {
            Field::PassThrough => match passed_through(value, depth) {
                Some(text) => out.extend_from_slice(text.as_bytes()),
                None => write(out, value, Place::Plain, depth),
            },
            Field::Nested(inner) => write(out, value, inner, depth),
        }
    }
    out.push(b'}');
}

/// The JSON text [`parse`] kept for `value`, checked (see the module docs).
fn passed_through(value: &Value, depth: usize) -> Option<&str> {
    let text = value.as_str()?.strip_prefix(PASSTHROUGH)?;
    let valid = serde_json::from_str::<IgnoredAny>(text).is_ok()
        && !text.starts_with(char::is_whitespace)
        && depth + nesting(text) <= MAX_DEPTH;
    valid.then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(text: &str) -> Value {
        let parsed = parse(text.as_bytes()).expect("valid");
        let Value::Object(map) = parsed else {
            panic!("an object")
        };
        serde_json::from_slice(&to_vec(&map)).expect("written JSON is valid")
    }

    #[test]
    fn passes_bulky_parts_through_and_writes_them_back_unchanged() {
        let event = json!({
            "exception": {"values": [{"type": "E", "stacktrace": {"frames": [
                {"function": "f", "pre_context": ["a", "b\"]"], "post_context": [],
                 "vars": {"x": {"y": [1, 2.5, null, true]}, "s": "\u{1}{"}}]}}]},
            "threads": {"values": [{"stacktrace": {"frames": [{"vars": "text"}]}}]},
            "modules": {"django": "5.1"}, "extra": "just text", "debug_meta": {"images": []},
            "tags": {"vars": "v", "modules": "m"},
            "contexts": {"extra": {"vars": 1}},
            "n": 18446744073709551615u64, "f": -1.5e300,
        });
        let parsed = parse(event.to_string().as_bytes()).unwrap();
        let frame = &parsed["exception"]["values"][0]["stacktrace"]["frames"][0];
        assert!(frame["vars"].as_str().unwrap().starts_with(PASSTHROUGH));
        assert!(
            frame["pre_context"]
                .as_str()
                .unwrap()
                .starts_with(PASSTHROUGH)
        );
        assert_eq!(frame["function"], "f");
        assert!(parsed["modules"].as_str().unwrap().starts_with(PASSTHROUGH));
        assert!(
            parsed["threads"]["values"][0]["stacktrace"]["frames"][0]["vars"]
                .as_str()
                .unwrap()
                .starts_with(PASSTHROUGH)
        );
        // Only in their places: a tag or a context of the same name is an ordinary value.
        assert_eq!(parsed["tags"]["vars"], "v");
        assert_eq!(parsed["contexts"]["extra"], json!({"vars": 1}));
        assert_eq!(round_trip(&event.to_string()), event);
    }

    #[test]
    fn a_clients_string_moved_into_a_passthrough_place_stays_a_string() {
        for forged in ["\0{\"a\":1", "\0{\"a\":1}", "\0 1", "\0"] {
            let mut map = Map::new();
            map.insert("modules".into(), Value::String(forged.into()));
            let written: Value = serde_json::from_slice(&to_vec(&map)).unwrap();
            if forged == "\0{\"a\":1}" {
                // Valid JSON text in its place is JSON, as if the client had sent it so.
                assert_eq!(written["modules"], json!({"a": 1}));
            } else {
                assert_eq!(written["modules"], forged, "{forged:?}");
            }
        }
    }

    #[test]
    fn nesting_is_bounded_inside_passed_through_parts_too() {
        let deep = |n: usize| format!("{{\"extra\":{}1{}}}", "[".repeat(n), "]".repeat(n));
        assert!(parse(deep(100).as_bytes()).is_ok());
        let err = parse(deep(200).as_bytes()).unwrap_err();
        assert!(err.to_string().contains("recursion limit"), "{err}");
        // Outside those parts serde_json's own limit holds.
        let plain = format!("{{\"a\":{}1{}}}", "[".repeat(200), "]".repeat(200));
        assert!(parse(plain.as_bytes()).is_err());
        assert_eq!(nesting(r#"{"a": "[[[{\"", "b": [{}]}"#), 3);
    }

    #[test]
    fn same_values_as_serde_json_everywhere_else() {
        for text in [
            r#"{"a": [1, -2, 3.25, 1e400, "x\u00e9\n", {"b": null}], "c": {"d": false}}"#,
            r#"{"a": 1, "a": 2}"#,
            r#"[1, {"stacktrace": 5}]"#,
            r#""text""#,
        ] {
            let ours = parse(text.as_bytes());
            let theirs: Result<Value, _> = serde_json::from_str(text);
            assert_eq!(ours.is_ok(), theirs.is_ok(), "{text}");
            if let (Ok(a), Ok(b)) = (ours, theirs) {
                assert_eq!(a, b, "{text}");
            }
        }
        assert!(parse(b"{\"a\": \"\xff\"}").is_err());
        assert!(parse(b"{\"a\": 1} x").is_err());
        assert!(parse(b"{\"a\": ").is_err());
    }
}

//! Normalization as a Sentry user sees it.
//!
//! * Every event captured from a real SDK (`tests/fixtures/sdk/<group>/*.json`) is normalized and
//!   grouped, and one compact summary per capture is snapshotted (`snapshots/`).
//! * Hand-written payloads in the odd shapes old or unusual clients send are snapshotted whole.
//! * Plain unit tests pin the rules a snapshot shows poorly (times, ids, errors, threads).

use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::Serialize;
use serde_json::{Value, json};

use super::{Context, NormalizeError, NormalizedEvent, normalize};
use crate::grouping::{self, Grouping};
use crate::protocol::parse_event_id;

/// Receive time of every event in these tests: 2026-11-22T01:55:00Z, inside the captures' minutes.
const RECEIVED_MS: i64 = 1_795_312_500_000;

pub(crate) fn context(envelope_event_id: Option<&str>) -> Context {
    Context {
        envelope_event_id: envelope_event_id.and_then(crate::protocol::EventId::parse),
        received_ms: RECEIVED_MS,
        client_ip: Some("127.0.0.1".into()),
    }
}

fn normalized(raw: Value) -> NormalizedEvent {
    normalize(raw, &context(None)).expect("an object normalizes")
}

/// What a Sentry user would see of an event: its fields, its exceptions and its issue.
#[derive(Serialize)]
struct Summary {
    event_id: String,
    timestamp_ms: i64,
    level: String,
    platform: String,
    release: Option<String>,
    environment: Option<String>,
    transaction: Option<String>,
    message: Option<String>,
    message_template: Option<String>,
    user_key: Option<String>,
    tags: Vec<(String, String)>,
    fingerprint: Option<Vec<String>>,
    exceptions: Vec<ExceptionSummary>,
    /// Frames of the top-level (or thread) stacktrace.
    stacktrace_frames: Option<usize>,
    title: String,
    culprit: String,
    issue_type: &'static str,
    metadata: Value,
    hashes: Vec<String>,
}

#[derive(Serialize)]
struct ExceptionSummary {
    #[serde(rename = "type")]
    ty: Option<String>,
    value: Option<String>,
    synthetic: bool,
    frames: usize,
    in_app_frames: usize,
}

fn summary(event: &NormalizedEvent, grouping: Grouping, generated_id: bool) -> Summary {
    Summary {
        event_id: if generated_id {
            "<generated>".into()
        } else {
            event.event_id.to_string()
        },
        timestamp_ms: event.timestamp_ms,
        level: event.level.clone(),
        platform: event.platform.clone(),
        release: event.release.clone(),
        environment: event.environment.clone(),
        transaction: event.transaction.clone(),
        message: event.message.clone(),
        message_template: event.message_template.clone(),
        user_key: event.user_key.clone(),
        tags: event.tags.clone(),
        fingerprint: event.fingerprint.clone(),
        exceptions: event
            .exceptions()
            .iter()
            .map(|e| ExceptionSummary {
                ty: e.ty.map(str::to_owned),
                value: e.value.map(str::to_owned),
                synthetic: e.is_synthetic(),
                frames: e.frames().len(),
                in_app_frames: e.frames().iter().filter(|f| f.in_app == Some(true)).count(),
            })
            .collect(),
        stacktrace_frames: event.stacktrace().as_ref().map(|s| s.frames.len()),
        title: grouping.title,
        culprit: grouping.culprit,
        issue_type: grouping.issue_type,
        metadata: grouping.metadata,
        hashes: grouping.hashes,
    }
}

/// Invariants every normalized event keeps, whatever it was sent as.
fn check_invariants(name: &str, event: &NormalizedEvent, grouping: &Grouping) {
    let is_hex32 = |s: &str| s.len() == 32 && s.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'));
    let id = event.event_id.to_string();
    assert!(is_hex32(&id), "{name}: {id}");
    assert_eq!(event.str_field("event_id"), Some(id.as_str()));
    assert_eq!(
        event.json["timestamp"].as_f64(),
        Some(event.timestamp_ms as f64 / 1000.0),
        "{name}"
    );
    assert_eq!(
        event.json["received"].as_f64(),
        Some(RECEIVED_MS as f64 / 1000.0)
    );
    assert!(
        ["fatal", "error", "warning", "info", "debug"].contains(&event.level.as_str()),
        "{name}: level {}",
        event.level
    );
    assert_eq!(event.str_field("level"), Some(event.level.as_str()));
    assert_eq!(event.str_field("platform"), Some(event.platform.as_str()));
    assert!(!grouping.hashes.is_empty(), "{name}");
    assert!(grouping.hashes.iter().all(|h| is_hex32(h)), "{name}");
    assert!(!grouping.title.is_empty(), "{name}");
}

// ---------------------------------------------------------------------------------------------
// Real SDK captures
// ---------------------------------------------------------------------------------------------

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sdk")
}

/// One event payload found in a capture.
pub(crate) struct CapturedEvent {
    /// `<group>__<file stem>`.
    pub(crate) name: String,
    pub(crate) payload: Value,
    pub(crate) envelope_event_id: Option<String>,
}

/// Every capture holding an event: an envelope `event` item, or a `/store/` body.
pub(crate) fn captured_events() -> Vec<CapturedEvent> {
    let mut files = Vec::new();
    for group in std::fs::read_dir(fixtures_dir()).expect("fixtures dir") {
        let group = group.expect("dir entry").path();
        if !group.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&group).expect("group dir") {
            let file = file.expect("dir entry").path();
            if file.extension().is_some_and(|e| e == "json") {
                files.push(file);
            }
        }
    }
    files.sort();
    files
        .iter()
        .filter_map(|path| {
            let text = std::fs::read_to_string(path).expect("read capture");
            let capture: Value = serde_json::from_str(&text).expect("capture is JSON");
            let (payload, envelope_event_id) = event_payload(&capture)?;
            let group = path.parent()?.file_name()?.to_str()?;
            let stem = path.file_stem()?.to_str()?;
            Some(CapturedEvent {
                name: format!("{group}__{stem}"),
                payload,
                envelope_event_id,
            })
        })
        .collect()
}

fn event_payload(capture: &Value) -> Option<(Value, Option<String>)> {
    if let Some(envelope) = capture.get("envelope").filter(|e| e.is_object()) {
        let header_id = envelope
            .pointer("/header/event_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let item =
            envelope.get("items")?.as_array()?.iter().find(|item| {
                item.pointer("/headers/type").and_then(Value::as_str) == Some("event")
            })?;
        let payload = item.get("payload_json").or_else(|| item.get("payload"))?;
        let payload = match payload {
            Value::String(text) => serde_json::from_str(text).expect("event item is JSON"),
            other => other.clone(),
        };
        return Some((payload, header_id));
    }
    let path = capture.get("path")?.as_str()?;
    if !path.ends_with("/store/") {
        return None;
    }
    let text = match capture["body_text_if_utf8_after_decompression"].as_str() {
        Some(text) => text.to_owned(),
        None => inflate_store_body(capture),
    };
    Some((
        serde_json::from_str(&text).expect("store body is JSON"),
        None,
    ))
}

/// Raven's `deflate` bodies are zlib streams.
fn inflate_store_body(capture: &Value) -> String {
    assert_eq!(
        capture["content_encoding"], "deflate",
        "undecodable store body"
    );
    let raw = base64::engine::general_purpose::STANDARD
        .decode(capture["body_b64"].as_str().expect("body_b64"))
        .expect("body_b64 is base64");
    let mut text = String::new();
    flate2::read::ZlibDecoder::new(raw.as_slice())
        .read_to_string(&mut text)
        .expect("zlib body");
    text
}

#[test]
fn sdk_captures() {
    let events = captured_events();
    // 42 envelope events and 4 store requests at the time of writing.
    assert!(events.len() >= 46, "only {} captured events", events.len());
    for captured in events {
        let had_id = captured
            .envelope_event_id
            .as_deref()
            .and_then(parse_event_id)
            .is_some()
            || captured
                .payload
                .get("event_id")
                .and_then(Value::as_str)
                .and_then(parse_event_id)
                .is_some();
        let event = normalize(
            captured.payload,
            &context(captured.envelope_event_id.as_deref()),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", captured.name));
        let grouping = grouping::group(&event);
        check_invariants(&captured.name, &event, &grouping);
        insta::assert_json_snapshot!(captured.name, summary(&event, grouping, !had_id));
    }
}

// ---------------------------------------------------------------------------------------------
// Hand-written shapes
// ---------------------------------------------------------------------------------------------

/// The summary plus the whole normalized JSON, for shapes no current SDK sends.
#[derive(Serialize)]
struct Handwritten {
    summary: Summary,
    normalized: serde_json::Map<String, Value>,
}

fn handwritten(raw: Value) -> Handwritten {
    let event = normalized(raw);
    let grouping = grouping::group(&event);
    check_invariants("handwritten", &event, &grouping);
    Handwritten {
        summary: summary(&event, grouping, false),
        normalized: event.json,
    }
}

#[test]
fn handwritten_legacy_message_interface() {
    insta::assert_json_snapshot!(
        "handwritten__legacy_message_interface",
        handwritten(json!({
            "event_id": "6e1f0c2a9b8d4c7e8f0a1b2c3d4e5f60",
            "timestamp": 1_795_312_450.25,
            "platform": "python",
            "level": 40,
            "logger": "app.billing",
            "sentry.interfaces.Message": {
                "message": "Charge %s failed for %s",
                "params": ["ch_123", "bob"]
            },
            "tags": [["route", "/billing"], ["attempt", 3], ["retried", false], ["broken"]],
            "breadcrumbs": [
                {"category": "http", "message": "POST /charge"},
                "not a breadcrumb",
                {"category": "log", "message": "retrying"}
            ],
            "user": {"username": "bob", "ip_address": "{{auto}}"}
        }))
    );
}

#[test]
fn handwritten_single_exception_value_without_type() {
    insta::assert_json_snapshot!(
        "handwritten__single_exception_value_without_type",
        handwritten(json!({
            "event_id": "0b7e4a6f2c3d4e5f8a9b0c1d2e3f4a5b",
            "timestamp": "2026-11-22T01:54:10.5Z",
            "platform": "python",
            "exception": {
                "value": "ValueError: x",
                "stacktrace": {"frames": [
                    {"filename": "app/main.py", "abs_path": "/srv/app/main.py", "module": "app.main",
                     "function": "run", "lineno": 8, "in_app": true},
                    {"filename": "app/parse.py", "abs_path": "/srv/app/parse.py", "module": "app.parse",
                     "function": "parse", "lineno": 21, "in_app": true,
                     "context_line": "    raise ValueError(\"x\")"}
                ]}
            }
        }))
    );
}

#[test]
fn handwritten_frames_with_only_abs_path_urls() {
    insta::assert_json_snapshot!(
        "handwritten__frames_with_only_abs_path_urls",
        handwritten(json!({
            "event_id": "4c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f",
            "platform": "javascript",
            "request": {"url": "https://shop.example.com/cart?step=2"},
            "exception": {"values": [{
                "type": "TypeError",
                "value": "Cannot read properties of undefined (reading 'price')",
                "mechanism": {"type": "onerror", "handled": false},
                "stacktrace": {"frames": [
                    {"abs_path": "https://cdn.example.com/vendor.js?v=9", "function": "dispatch",
                     "lineno": 1, "colno": 900, "in_app": false},
                    {"abs_path": "https://shop.example.com/static/js/cart.js#L3", "function": "Cart.total",
                     "lineno": 3, "colno": 17, "in_app": true},
                    {"abs_path": "https://shop.example.com/", "function": "?", "in_app": false}
                ]}
            }]}
        }))
    );
}

#[test]
fn handwritten_fingerprint_default_only() {
    insta::assert_json_snapshot!(
        "handwritten__fingerprint_default_only",
        handwritten(json!({
            "event_id": "9a8b7c6d5e4f40312a1b0c9d8e7f6a5b",
            "platform": "python",
            "fingerprint": ["{{ default }}"],
            "exception": {"values": [{
                "type": "KeyError",
                "value": "'sku'",
                "stacktrace": {"frames": [
                    {"module": "shop.cart", "filename": "shop/cart.py", "function": "add", "in_app": true}
                ]}
            }]}
        }))
    );
}

#[test]
fn handwritten_fingerprint_hybrid() {
    insta::assert_json_snapshot!(
        "handwritten__fingerprint_hybrid",
        handwritten(json!({
            "event_id": "1f2e3d4c5b6a47988a7b6c5d4e3f2a1b",
            "platform": "python",
            "fingerprint": ["{{ default }}", "{{ tags.tenant }}", 7],
            "tags": {"tenant": "acme"},
            "exception": {"values": [{
                "type": "KeyError",
                "value": "'sku'",
                "stacktrace": {"frames": [
                    {"module": "shop.cart", "filename": "shop/cart.py", "function": "add", "in_app": true},
                    {"module": "dict", "filename": "dict.py", "function": "__getitem__", "in_app": false}
                ]}
            }]}
        }))
    );
}

// ---------------------------------------------------------------------------------------------
// Unit tests
// ---------------------------------------------------------------------------------------------

#[test]
fn timestamp_too_far_in_the_future_becomes_the_receive_time() {
    let two_minutes_ahead = (RECEIVED_MS + 120_000) as f64 / 1000.0;
    let event = normalized(json!({"timestamp": two_minutes_ahead}));
    assert_eq!(event.timestamp_ms, RECEIVED_MS);
    assert_eq!(event.json["timestamp"], json!(1_795_312_500.0));
    assert_eq!(event.json["received"], json!(1_795_312_500.0));

    // A little clock skew is tolerated.
    let thirty_seconds_ahead = (RECEIVED_MS + 30_000) as f64 / 1000.0;
    let event = normalized(json!({"timestamp": thirty_seconds_ahead}));
    assert_eq!(event.timestamp_ms, RECEIVED_MS + 30_000);
    assert_eq!(event.json["timestamp"], json!(1_795_312_530.0));
}

#[test]
fn timestamp_in_the_past_is_kept() {
    let event = normalized(json!({"timestamp": "2026-11-22T01:53:37.577Z"}));
    assert_eq!(event.timestamp_ms, 1_795_312_417_577);
    assert_eq!(event.json["timestamp"], json!(1_795_312_417.577));
    let event = normalized(json!({"timestamp": "not a time"}));
    assert_eq!(event.timestamp_ms, RECEIVED_MS);
}

#[test]
fn nil_envelope_id_falls_back_to_the_payload_id() {
    let raw = json!({"event_id": "EC654614-9C9D-4AD3-B16D-33CC116E163B"});
    let event = normalize(raw, &context(Some("00000000-0000-0000-0000-000000000000"))).unwrap();
    assert_eq!(
        event.event_id.to_string(),
        "ec6546149c9d4ad3b16d33cc116e163b"
    );
    assert_eq!(
        event.str_field("event_id"),
        Some("ec6546149c9d4ad3b16d33cc116e163b")
    );
}

#[test]
fn envelope_id_wins_over_the_payload_id() {
    let raw = json!({"event_id": "089012f6c0f34b7f978087e4a07296e8"});
    let event = normalize(raw, &context(Some("9ec79c33-ec99-42ab-8353-589fcb2e04dc"))).unwrap();
    assert_eq!(
        event.event_id.to_string(),
        "9ec79c33ec9942ab8353589fcb2e04dc"
    );
    assert_eq!(
        event.str_field("event_id"),
        Some("9ec79c33ec9942ab8353589fcb2e04dc")
    );
}

#[test]
fn missing_or_invalid_ids_get_a_fresh_one() {
    let a = normalize(json!({"event_id": "nope"}), &context(Some("also nope"))).unwrap();
    let b = normalize(json!({}), &context(None)).unwrap();
    for event in [&a, &b] {
        let id = event.event_id.to_string();
        assert_eq!(id.len(), 32);
        assert!(parse_event_id(&id).is_some());
        assert_eq!(event.str_field("event_id"), Some(id.as_str()));
    }
    assert_ne!(a.event_id, b.event_id);
}

#[test]
fn non_object_payload_is_rejected() {
    for raw in [
        json!([{"message": "in a list"}]),
        json!("message"),
        json!(42),
        json!(null),
        json!(true),
    ] {
        assert_eq!(
            normalize(raw.clone(), &context(None)).err(),
            Some(NormalizeError::NotAnObject),
            "{raw}"
        );
    }
}

#[test]
fn defaults_for_an_empty_event() {
    let event = normalized(json!({}));
    assert_eq!(event.level, "error");
    assert_eq!(event.platform, "other");
    assert_eq!(event.timestamp_ms, RECEIVED_MS);
    assert_eq!(event.received_ms, RECEIVED_MS);
    assert_eq!(event.message, None);
    assert!(event.exceptions().is_empty());
    assert_eq!(event.stacktrace(), None);
    assert!(event.tags.is_empty());
    assert_eq!(event.user_key, None);
}

/// A thread with a one-frame stack whose function names the thread.
fn thread(name: &str, crashed: bool, current: bool) -> Value {
    json!({
        "id": name,
        "crashed": crashed,
        "current": current,
        "stacktrace": {"frames": [{"function": name}]}
    })
}

fn stack_function(raw: Value) -> Option<String> {
    let event = normalized(raw);
    event
        .stacktrace()
        .and_then(|s| s.frames.first().and_then(|f| f.function.map(str::to_owned)))
}

#[test]
fn thread_stack_prefers_the_crashed_thread() {
    let threads = json!({"values": [
        thread("first", false, false),
        thread("current", false, true),
        thread("crashed", true, false),
    ]});
    assert_eq!(
        stack_function(json!({"threads": threads})).as_deref(),
        Some("crashed")
    );
}

#[test]
fn thread_stack_prefers_current_over_first() {
    let threads = json!({"values": [
        thread("first", false, false),
        thread("current", false, true),
    ]});
    assert_eq!(
        stack_function(json!({"threads": threads})).as_deref(),
        Some("current")
    );
}

#[test]
fn thread_stack_falls_back_to_the_first_with_frames() {
    // Threads as a bare list (normalized into `{"values": [..]}`), a crashed thread without frames.
    let threads = json!([
        {"id": "no stack", "crashed": true},
        {"id": "empty", "current": true, "stacktrace": {"frames": []}},
        thread("first", false, false),
        thread("second", false, false),
    ]);
    assert_eq!(
        stack_function(json!({"threads": threads})).as_deref(),
        Some("first")
    );
    assert_eq!(stack_function(json!({"threads": {"values": []}})), None);
}

#[test]
fn top_level_stacktrace_wins_over_threads() {
    let raw = json!({
        "stacktrace": {"frames": [{"function": "top_level"}]},
        "threads": {"values": [thread("crashed", true, false)]}
    });
    assert_eq!(stack_function(raw).as_deref(), Some("top_level"));
    let legacy = json!({
        "sentry.interfaces.Stacktrace": {"frames": [{"function": "legacy"}]},
        "threads": {"values": [thread("crashed", true, false)]}
    });
    assert_eq!(stack_function(legacy).as_deref(), Some("legacy"));
}

#[test]
fn thread_frames_get_their_paths_filled() {
    let event = normalized(json!({"threads": {"values": [{
        "crashed": true,
        "stacktrace": {"frames": [{"abs_path": "https://example.com/app.js", "function": "f"}]}
    }]}}));
    let frame = &event.stacktrace().expect("thread stack").frames[0];
    assert_eq!(frame.filename, Some("/app.js"));
    assert_eq!(
        event.json["threads"]["values"][0]["stacktrace"]["frames"][0]["filename"],
        "/app.js"
    );
}

#[test]
fn message_and_template_fields() {
    let event = normalized(json!({
        "logentry": {"message": "Order %s failed", "params": ["1001"]}
    }));
    assert_eq!(event.message.as_deref(), Some("Order 1001 failed"));
    assert_eq!(event.message_template.as_deref(), Some("Order %s failed"));
    let event = normalized(json!({"message": "plain"}));
    assert_eq!(event.message.as_deref(), Some("plain"));
    assert_eq!(event.message_template, None);
}

#[test]
fn string_fields_are_trimmed_bounded_or_dropped() {
    let event = normalized(json!({
        "release": "  backend@1.2.3 ",
        "environment": "",
        "transaction": 42,
        "server_name": {"not": "a string"},
        "culprit": "x".repeat(250),
        "platform": "  node  ",
        "request": {"url": "https://example.com/a?b=c"}
    }));
    assert_eq!(event.release.as_deref(), Some("backend@1.2.3"));
    assert_eq!(event.environment, None);
    assert!(!event.json.contains_key("environment"));
    assert_eq!(event.transaction.as_deref(), Some("42"));
    assert!(!event.json.contains_key("server_name"));
    assert_eq!(event.culprit.as_deref().map(str::len), Some(200));
    assert_eq!(event.platform, "node");
    assert_eq!(
        event.request_url.as_deref(),
        Some("https://example.com/a?b=c")
    );
}

#[test]
fn a_release_sentry_could_not_name_is_dropped_as_relay_drops_it() {
    for bad in ["latest", "a/b", "..", "line\nbreak"] {
        let event = normalized(json!({"release": bad}));
        assert_eq!(event.release, None, "{bad:?}");
        assert!(!event.json.contains_key("release"));
    }
    assert_eq!(
        normalized(json!({"release": "shop@2.0 beta"}))
            .release
            .as_deref(),
        Some("shop@2.0 beta")
    );
}

#[test]
fn unknown_fields_are_kept_unchanged() {
    let extra = json!({"nested": [1, {"a": null}], "s": "v"});
    let event = normalized(json!({"extra": extra, "contexts": {"os": {"name": "Linux"}}}));
    assert_eq!(event.json["extra"], extra);
    assert_eq!(event.json["contexts"], json!({"os": {"name": "Linux"}}));
}

//! Grouping, titles and culprits of hand-written events, each normalized first as ingest does.

use serde_json::{Value, json};

use super::{Grouping, group, hash_values};

fn hash(values: &[&str]) -> String {
    hash_values(values)
}
use crate::normalize::{Context, NormalizedEvent, normalize};

const RECEIVED_MS: i64 = 1_795_312_500_000;
/// md5 of nothing: the hash of an event where nothing contributes.
const FALLBACK_HASH: &str = "d41d8cd98f00b204e9800998ecf8427e";

fn event(raw: Value) -> NormalizedEvent {
    let ctx = Context {
        envelope_event_id: None,
        received_ms: RECEIVED_MS,
        client_ip: None,
    };
    normalize(raw, &ctx).expect("an object normalizes")
}

fn grouped(raw: Value) -> Grouping {
    group(&event(raw))
}

/// A Python frame; the file name follows the module.
fn py_frame(module: &str, function: &str, in_app: bool) -> Value {
    json!({
        "module": module,
        "filename": format!("{}.py", module.replace('.', "/")),
        "abs_path": format!("/srv/{}.py", module.replace('.', "/")),
        "function": function,
        "lineno": 10,
        "in_app": in_app,
    })
}

fn py_error(ty: &str, value: &str, frames: Vec<Value>) -> Value {
    json!({
        "platform": "python",
        "exception": {"values": [{"type": ty, "value": value, "stacktrace": {"frames": frames}}]}
    })
}

/// A browser frame: a URL, a line and a column, no context.
fn js_frame(url: &str, function: &str, in_app: bool) -> Value {
    json!({"filename": url, "function": function, "lineno": 3, "colno": 7, "in_app": in_app})
}

fn message(text: &str) -> Value {
    json!({"platform": "python", "message": text})
}

fn with(mut raw: Value, key: &str, value: Value) -> Value {
    raw.as_object_mut()
        .expect("an object")
        .insert(key.into(), value);
    raw
}

fn assert_disjoint(a: &Grouping, b: &Grouping) {
    assert!(
        a.hashes.iter().all(|h| !b.hashes.contains(h)),
        "{:?} and {:?} share a hash",
        a.hashes,
        b.hashes
    );
}

// ---------------------------------------------------------------------------------------------
// Exceptions
// ---------------------------------------------------------------------------------------------

#[test]
fn same_error_from_two_call_sites_splits() {
    let from_orders = grouped(py_error(
        "ValueError",
        "invalid literal for int() with base 10: 'x'",
        vec![
            py_frame("app.main", "main", true),
            py_frame("app.orders", "create_order", true),
            py_frame("app.parse", "parse_int", true),
        ],
    ));
    let from_refunds = grouped(py_error(
        "ValueError",
        "invalid literal for int() with base 10: 'x'",
        vec![
            py_frame("app.main", "main", true),
            py_frame("app.refunds", "create_refund", true),
            py_frame("app.parse", "parse_int", true),
        ],
    ));
    assert_disjoint(&from_orders, &from_refunds);
    // All frames are in-app, so the system variant equals the app one and is dropped.
    assert_eq!(
        from_orders.hashes,
        vec![hash(&[
            "app.main",
            "main",
            "app.orders",
            "create_order",
            "app.parse",
            "parse_int",
            "ValueError"
        ])]
    );
    assert_eq!(from_orders.title, from_refunds.title);
}

#[test]
fn same_stack_with_different_values_groups_together() {
    let frames = || {
        vec![
            py_frame("app.views", "handle", true),
            py_frame("app.parse", "parse_int", true),
        ]
    };
    let a = grouped(py_error("ValueError", "bad input 'a'", frames()));
    let b = grouped(py_error("ValueError", "something else entirely", frames()));
    assert_eq!(a.hashes, b.hashes);
    assert_eq!(
        a.hashes,
        vec![hash(&[
            "app.views",
            "handle",
            "app.parse",
            "parse_int",
            "ValueError"
        ])]
    );
    // The titles still tell them apart.
    assert_eq!(a.title, "ValueError: bad input 'a'");
    assert_eq!(b.title, "ValueError: something else entirely");
}

#[test]
fn different_types_on_the_same_stack_split() {
    let frames = || vec![py_frame("app.views", "handle", true)];
    let a = grouped(py_error("ValueError", "bad", frames()));
    let b = grouped(py_error("TypeError", "bad", frames()));
    assert_disjoint(&a, &b);
}

#[test]
fn exception_without_stack_groups_by_type_and_value() {
    let a =
        grouped(json!({"exception": [{"type": "OuterError", "value": "outer operation failed"}]}));
    let b = grouped(json!({"exception": [{"type": "OuterError", "value": "another failure"}]}));
    assert_eq!(
        a.hashes,
        vec![hash(&["OuterError", "outer operation failed"])]
    );
    assert_eq!(b.hashes, vec![hash(&["OuterError", "another failure"])]);
    assert_disjoint(&a, &b);
}

#[test]
fn frames_that_contribute_nothing_leave_type_and_value() {
    // Anonymous functions in anonymous files say nothing about where the error came from.
    let raw = |value: &str| {
        json!({"platform": "node", "exception": {"values": [{
            "type": "TypeError",
            "value": value,
            "stacktrace": {"frames": [
                {"filename": "<anonymous>", "function": "?", "in_app": true},
                {"filename": "<anonymous>", "function": "<anonymous>", "in_app": true}
            ]}
        }]}})
    };
    let a = grouped(raw("x is undefined"));
    let b = grouped(raw("y is undefined"));
    assert_eq!(a.hashes, vec![hash(&["TypeError", "x is undefined"])]);
    assert_disjoint(&a, &b);
}

#[test]
fn no_in_app_frames_group_by_the_system_stack_and_type() {
    // Sentry drops the app variant (type + value) when another variant has a contributing
    // stack, so the value does not split events whose whole stack is library code.
    let frames = || {
        vec![
            py_frame("django.core.handlers", "inner", false),
            py_frame("json.decoder", "raw_decode", false),
        ]
    };
    let a = grouped(py_error(
        "JSONDecodeError",
        "Expecting value: line 1",
        frames(),
    ));
    let b = grouped(py_error(
        "JSONDecodeError",
        "Expecting value: line 9",
        frames(),
    ));
    let system = hash(&[
        "django.core.handlers",
        "inner",
        "json.decoder",
        "raw_decode",
        "JSONDecodeError",
    ]);
    assert_eq!(a.hashes, vec![system.clone()]);
    assert_eq!(b.hashes, vec![system]);
    // A different library stack is a different issue.
    let c = grouped(py_error(
        "JSONDecodeError",
        "Expecting value: line 1",
        vec![py_frame("json.decoder", "decode", false)],
    ));
    assert_disjoint(&a, &c);
}

#[test]
fn frames_without_in_app_count_as_system_frames() {
    let raw = json!({"platform": "python", "exception": [{
        "type": "KeyError",
        "value": "'x'",
        "stacktrace": {"frames": [{"module": "app.views", "function": "handle"}]}
    }]});
    assert_eq!(
        grouped(raw).hashes,
        vec![hash(&["app.views", "handle", "KeyError"])]
    );
}

#[test]
fn app_hash_comes_before_the_system_hash() {
    let g = grouped(py_error(
        "KeyError",
        "'sku'",
        vec![
            py_frame("app.cart", "add", true),
            py_frame("collections", "__getitem__", false),
        ],
    ));
    assert_eq!(
        g.hashes,
        vec![
            hash(&["app.cart", "add", "KeyError"]),
            hash(&["app.cart", "add", "collections", "__getitem__", "KeyError"]),
        ]
    );
}

#[test]
fn chained_exceptions_hash_every_link_cause_first() {
    let chain = |cause_type: &str| {
        json!({"platform": "python", "exception": {"values": [
            {"type": cause_type, "value": "connection refused", "stacktrace": {"frames": [
                py_frame("app.db", "connect", true)
            ]}},
            {"type": "DatabaseError", "value": "could not load user 1234", "stacktrace": {"frames": [
                py_frame("app.views", "profile", true),
                py_frame("app.db", "load_user", true)
            ]}}
        ]}})
    };
    let g = grouped(chain("ConnectionError"));
    assert_eq!(
        g.hashes,
        vec![hash(&[
            "app.db",
            "connect",
            "ConnectionError",
            "app.views",
            "profile",
            "app.db",
            "load_user",
            "DatabaseError",
        ])]
    );
    // The exception actually raised (the last) names the issue.
    assert_eq!(g.title, "DatabaseError: could not load user 1234");
    assert_eq!(g.culprit, "app.db in load_user");
    assert_eq!(g.issue_type, "error");
    // A different cause is a different issue.
    assert_disjoint(&g, &grouped(chain("TimeoutError")));
}

#[test]
fn chains_with_exception_ids_hash_from_the_root_down() {
    // sentry-javascript marks `cause` chains with ids (cause 1 under root 0): a well-formed
    // tree, so the root's first-child path is hashed, the root first (RFC 0079 as Sentry
    // applies it); sentry-python 3.x chains, and broken trees, are hashed as sent.
    let chain = |platform: &str, sdk_version: &str, cause: Value, main: Value| {
        let frames = |f: &str| json!({"frames": [py_frame("app.db", f, true)]});
        json!({"platform": platform, "sdk": {"name": "test", "version": sdk_version},
        "exception": {"values": [
            {"type": "ConnectionError", "value": "refused", "mechanism": cause, "stacktrace": frames("connect")},
            {"type": "DatabaseError", "value": "failed", "mechanism": main, "stacktrace": frames("load")}
        ]}})
    };
    let ids = (
        json!({"type": "chained", "source": "cause", "exception_id": 1, "parent_id": 0}),
        json!({"type": "generic", "exception_id": 0}),
    );
    let root_first = hash(&[
        "app.db",
        "load",
        "DatabaseError",
        "app.db",
        "connect",
        "ConnectionError",
    ]);
    let as_sent = hash(&[
        "app.db",
        "connect",
        "ConnectionError",
        "app.db",
        "load",
        "DatabaseError",
    ]);
    let hashes = |platform: &str, version: &str, cause: &Value, main: &Value| {
        grouped(chain(platform, version, cause.clone(), main.clone())).hashes
    };
    assert_eq!(
        hashes("node", "8.0.0", &ids.0, &ids.1),
        vec![root_first.clone()]
    );
    assert_eq!(hashes("python", "2.75.0", &ids.0, &ids.1), vec![root_first]);
    assert_eq!(
        hashes("python", "3.0.0", &ids.0, &ids.1),
        vec![as_sent.clone()]
    );
    // Broken trees: an exception that is its own parent, a repeated id, a missing id.
    let own_parent = json!({"exception_id": 1, "parent_id": 1});
    assert_eq!(
        hashes("node", "8.0.0", &own_parent, &ids.1),
        vec![as_sent.clone()]
    );
    assert_eq!(
        hashes("node", "8.0.0", &ids.1, &ids.1),
        vec![as_sent.clone()]
    );
    assert_eq!(hashes("node", "8.0.0", &json!({}), &ids.1), vec![as_sent]);
}

/// An exception without a stack: `(type, value, mechanism)`.
fn linked(ty: &str, value: &str, mechanism: Value) -> Value {
    json!({"type": ty, "value": value, "mechanism": mechanism})
}

fn ids(id: u64, parent: Option<u64>, group: bool) -> Value {
    json!({"type": "chained", "exception_id": id, "parent_id": parent, "is_exception_group": group})
}

#[test]
fn broken_exception_group_trees_hash_as_sent() {
    // Sentry's cases (`exception-groups-bad-*`), with Sentry's current answers: each tree
    // below is broken, so the exceptions are hashed in payload order, type then value.
    let as_sent = |values: &[Value]| {
        let mut parts = Vec::new();
        for v in values {
            parts.push(v["type"].as_str().unwrap().to_owned());
            parts.push(v["value"].as_str().unwrap().to_owned());
        }
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        hash(&parts)
    };
    let cases: Vec<(&str, Vec<Value>)> = vec![
        (
            "a cycle beside the root: no top-level exception",
            vec![
                linked("System.Exception", "inner", ids(2, Some(1), false)),
                linked("MyApp.Exception", "test", ids(1, Some(2), false)),
                linked("System.AggregateException", "errors", ids(0, None, true)),
            ],
        ),
        (
            "every exception marked as a group",
            vec![
                linked("InnerException", "nope", ids(1, Some(0), true)),
                linked("System.AggregateException", "errors", ids(0, None, true)),
            ],
        ),
        (
            "the root is its own parent",
            vec![
                linked("ValueError", "inner", ids(1, Some(0), false)),
                linked("ExceptionGroup", "errors", ids(0, Some(0), true)),
            ],
        ),
        (
            "no root",
            vec![
                linked("ValueError", "inner", ids(1, Some(2), false)),
                linked("ExceptionGroup", "errors", ids(2, None, true)),
            ],
        ),
        (
            "a repeated id",
            vec![
                linked("ValueError", "inner", ids(1, Some(0), false)),
                linked("KeyError", "inner", ids(1, Some(0), false)),
                linked("ExceptionGroup", "errors", ids(0, None, true)),
            ],
        ),
        (
            "a cycle through the root: Sentry's recursion fails and it keeps the list",
            vec![
                linked("ValueError", "inner", ids(2, Some(0), false)),
                linked("ExceptionGroup", "nested", ids(1, Some(0), true)),
                linked("ExceptionGroup", "errors", ids(0, Some(1), true)),
            ],
        ),
    ];
    for (case, values) in cases {
        let raw = json!({"platform": "csharp", "exception": {"values": values}});
        assert_eq!(
            grouped(raw.clone()).hashes,
            vec![as_sent(&values)],
            "{case}"
        );
        // `snag grouping` says why.
        let explained = super::explain(&event(raw), &Default::default());
        let chain = &explained["values"]["app"]["component"]["values"][0];
        assert_eq!(chain["id"], "chained-exception", "{case}");
        assert!(
            chain["hint"].as_str().unwrap().ends_with("hashed as sent"),
            "{case}: {chain}"
        );
    }

    // A child whose parent is missing is left out of a tree that is otherwise whole.
    let g = grouped(json!({"platform": "csharp", "exception": {"values": [
        linked("KeyError", "orphan", ids(2, Some(7), false)),
        linked("ValueError", "inner", ids(1, Some(0), false)),
        linked("ExceptionGroup", "errors", ids(0, None, true)),
    ]}}));
    assert_eq!(g.hashes, vec![hash(&["ValueError", "inner"])]);
    assert_eq!(g.title, "ValueError: inner");

    // The first path from the one distinct exception runs into a cycle: hashed as sent, but
    // Sentry had already named that exception the main one, so it titles the issue.
    let values = vec![
        linked("KeyError", "second", ids(2, Some(1), false)),
        linked("ValueError", "first", ids(1, Some(0), false)),
        linked("ExceptionGroup", "errors", ids(0, Some(2), true)),
    ];
    let g = grouped(json!({"platform": "csharp", "exception": {"values": values}}));
    assert_eq!(g.hashes, vec![as_sent(&values)]);
    assert_eq!(g.title, "ValueError: first");
}

#[test]
fn react_and_rxjava_wrappers_give_the_title_to_the_wrapped_error() {
    // React 19's recoverable error carries the real one as its `cause`.
    let recoverable = "There was an error while hydrating but React was able to recover by instead client rendering from the nearest Suspense boundary.";
    let g = grouped(json!({"platform": "javascript", "exception": {"values": [
        linked("TypeError", "x is undefined", json!({"type": "chained", "source": "cause", "exception_id": 1, "parent_id": 0})),
        linked("Error", recoverable, json!({"type": "generic", "exception_id": 0})),
    ]}}));
    assert_eq!(g.title, "TypeError: x is undefined");
    // Hashed all the same: the root first, then its cause.
    assert_eq!(
        g.hashes,
        vec![hash(&["Error", recoverable, "TypeError", "x is undefined"])]
    );

    let rx = |module: &str| {
        grouped(json!({"platform": "java", "exception": {"values": [
            linked("IllegalStateException", "boom", json!({"type": "chained", "exception_id": 1, "parent_id": 0})),
            {"type": "OnErrorNotImplementedException", "value": "boom", "module": module,
             "mechanism": {"type": "UncaughtExceptionHandler", "exception_id": 0}},
        ]}}))
    };
    assert_eq!(
        rx("io.reactivex.rxjava3.exceptions").title,
        "IllegalStateException: boom"
    );
    assert_eq!(
        rx("com.example").title,
        "OnErrorNotImplementedException: boom"
    );
}

#[test]
fn template_errors_group_by_template_file_and_line() {
    // raven-python's Django client sends the failing template beside the message.
    let template_error = |message: &str, line: &str| {
        json!({"platform": "python", "message": message,
               "sentry.interfaces.Template": {"filename": "orders/Detail.html",
                   "abs_path": "/srv/app/templates/orders/Detail.html", "lineno": 12,
                   "pre_context": ["{% block body %}"], "context_line": line, "post_context": []}})
    };
    let a = grouped(template_error(
        "Invalid filter: 'money'",
        "{{ total|money }}",
    ));
    // Hashed as sent (no lowercasing), beating the message.
    assert_eq!(
        a.hashes,
        vec![hash(&["orders/Detail.html", "{{ total|money }}"])]
    );
    assert_eq!(a.title, "Invalid filter: 'money'");
    let b = grouped(template_error(
        "Invalid filter: 'cash'",
        "{{ total|money }}",
    ));
    assert_eq!(a.hashes, b.hashes);
    assert_disjoint(
        &a,
        &grouped(template_error("Invalid filter: 'money'", "{{ tax|money }}")),
    );
    // A stack trace ranks above the template.
    let with_stack = with(
        template_error("Invalid filter: 'money'", "{{ total|money }}"),
        "stacktrace",
        json!({"frames": [py_frame("app.views", "render_order", true)]}),
    );
    assert_eq!(
        grouped(with_stack).hashes,
        vec![hash(&["app.views", "render_order"])]
    );
}

#[test]
fn a_group_of_one_distinct_exception_is_titled_by_it() {
    // Sentry's `main_exception_id`: a group that reduces to one distinct exception gives the
    // issue that exception's title and crash frame, not the group's.
    let group = |values: Vec<(&str, &str, Value)>| {
        let values: Vec<Value> = values
            .into_iter()
            .map(|(ty, function, mechanism)| {
                json!({"type": ty, "value": format!("{ty} raised"), "mechanism": mechanism,
                       "stacktrace": {"frames": [py_frame("app.jobs", function, true)]}})
            })
            .collect();
        grouped(
            json!({"platform": "python", "sdk": {"name": "sentry.python", "version": "2.19.0"},
                       "exception": {"values": values}}),
        )
    };
    let child = |id: u64| json!({"type": "chained", "exception_id": id, "parent_id": 0});
    let root = json!({"type": "generic", "exception_id": 0, "is_exception_group": true});
    let one_kind = group(vec![
        ("ValueError", "parse", child(1)),
        ("ValueError", "parse", child(2)),
        ("ExceptionGroup", "run_all", root.clone()),
    ]);
    assert_eq!(one_kind.title, "ValueError: ValueError raised");
    assert_eq!(one_kind.metadata["function"], "parse");
    let two_kinds = group(vec![
        ("ValueError", "parse", child(1)),
        ("KeyError", "lookup", child(2)),
        ("ExceptionGroup", "run_all", root),
    ]);
    assert_eq!(two_kinds.title, "ExceptionGroup: ExceptionGroup raised");
    assert_eq!(two_kinds.metadata["function"], "run_all");
}

#[test]
fn chained_cause_without_stack_contributes_type_and_value() {
    let g = grouped(json!({"platform": "python", "exception": {"values": [
        {"type": "OSError", "value": "disk full"},
        {"type": "RuntimeError", "value": "save failed", "stacktrace": {"frames": [
            py_frame("app.store", "save", true)
        ]}}
    ]}}));
    // As Sentry: a link without a stack is only part of the app variant's chain, so the
    // system variant (the rest of the chain) differs and is kept as a second hash.
    assert_eq!(
        g.hashes,
        vec![
            hash(&["OSError", "disk full", "app.store", "save", "RuntimeError"]),
            hash(&["app.store", "save", "RuntimeError"]),
        ]
    );
}

#[test]
fn synthetic_exception_groups_by_its_stack_not_its_type() {
    // JS captureMessage with attachStacktrace: a synthetic exception carrying the message.
    let synthetic = |ty: Option<&str>, value: &str, function: &str| {
        json!({"platform": "javascript", "message": value, "exception": {"values": [{
            "type": ty,
            "value": value,
            "mechanism": {"type": "generic", "synthetic": true},
            "stacktrace": {"frames": [
                js_frame("http://localhost:8000/static/vendor.js", "dispatch", false),
                js_frame("http://localhost:8000/static/app.js", function, true)
            ]}
        }]}})
    };
    let a = grouped(synthetic(None, "hello", "Object.sendReport"));
    let b = grouped(synthetic(Some("Error"), "goodbye", "Object.sendReport"));
    assert_eq!(a.hashes, b.hashes);
    assert_eq!(
        a.hashes,
        // URL file names do not contribute (GROUPING.md §5).
        vec![hash(&["sendReport"]), hash(&["dispatch", "sendReport"])]
    );
    let elsewhere = grouped(synthetic(None, "hello", "Object.sendOther"));
    assert_disjoint(&a, &elsewhere);
    assert_eq!(a.title, "hello");
    assert_eq!(a.culprit, "");
    assert_eq!(a.issue_type, "error");
    assert_eq!(
        a.metadata,
        json!({"value": "hello", "filename": "/static/app.js", "function": "Object.sendReport"})
    );
}

#[test]
fn javascript_functions_drop_their_receiver_and_python_ones_keep_it() {
    let js = grouped(json!({"platform": "javascript", "exception": [{
        "type": "Error",
        "stacktrace": {"frames": [js_frame("https://example.com/a/Main.js", "Foo.bar.baz", true)]}
    }]}));
    // The URL file name does not contribute, the cleaned function does.
    assert_eq!(js.hashes, vec![hash(&["baz", "Error"])]);
    let py = grouped(py_error(
        "Error",
        "x",
        vec![py_frame("app.models", "User.save", true)],
    ));
    assert_eq!(py.hashes, vec![hash(&["app.models", "User.save", "Error"])]);
}

#[test]
fn url_file_names_do_not_contribute() {
    // Sentry (GROUPING.md §5): a frame's file name does not contribute when abs_path is a URL.
    let bundle = |url: &str| {
        grouped(json!({"platform": "javascript", "exception": [{
            "type": "TypeError",
            "value": "x is undefined",
            "stacktrace": {"frames": [js_frame(url, "renderCart", true)]}
        }]}))
    };
    let before = bundle("https://shop.example.com/static/js/main.3f9a2c.js");
    let after = bundle("https://shop.example.com/static/js/main.7b1e0d.js");
    assert_eq!(before.hashes, after.hashes);
    assert_eq!(before.hashes, vec![hash(&["renderCart", "TypeError"])]);
}

#[test]
fn context_lines_contribute_for_python_but_not_native() {
    let frame = json!({"module": "app.views", "function": "handle", "in_app": true,
                       "context_line": "    return   int(value)  "});
    let py = grouped(json!({"platform": "python", "exception": [{
        "type": "ValueError", "stacktrace": {"frames": [frame.clone()]}
    }]}));
    assert_eq!(
        py.hashes,
        vec![hash(&[
            "app.views",
            "handle",
            "return int(value)",
            "ValueError"
        ])]
    );
    let native = grouped(json!({"platform": "native", "exception": [{
        "type": "SIGSEGV", "stacktrace": {"frames": [frame]}
    }]}));
    assert_eq!(
        native.hashes,
        vec![hash(&["app.views", "handle", "SIGSEGV"])]
    );
    // Lines longer than 120 characters are ignored.
    let long = grouped(json!({"platform": "python", "exception": [{
        "type": "ValueError", "stacktrace": {"frames": [
            {"module": "app.views", "function": "handle", "in_app": true, "context_line": "x".repeat(121)}
        ]}
    }]}));
    assert_eq!(
        long.hashes,
        vec![hash(&["app.views", "handle", "ValueError"])]
    );
}

// ---------------------------------------------------------------------------------------------
// Messages and the fallback
// ---------------------------------------------------------------------------------------------

#[test]
fn messages_group_by_their_template() {
    let logged = |param: &str| {
        json!({"platform": "python", "logentry": {
            "message": "Failed to process order %s",
            "params": [param]
        }})
    };
    let a = grouped(logged("1001"));
    let b = grouped(logged("1002"));
    assert_eq!(a.hashes, b.hashes);
    assert_eq!(a.hashes, vec![hash(&["Failed to process order %s"])]);
    assert_eq!(a.title, "Failed to process order 1001");
    assert_eq!(b.title, "Failed to process order 1002");
    assert_eq!(a.issue_type, "default");
}

#[test]
fn different_plain_messages_split() {
    let a = grouped(message("disk is full"));
    let b = grouped(message("connection reset by peer"));
    assert_eq!(a.hashes, vec![hash(&["disk is full"])]);
    assert_eq!(b.hashes, vec![hash(&["connection reset by peer"])]);
    assert_disjoint(&a, &b);
    assert_eq!(grouped(message("disk is full")).hashes, a.hashes);
}

#[test]
fn a_stack_beats_the_message() {
    let raw = |text: &str| {
        with(
            message(text),
            "stacktrace",
            json!({"frames": [py_frame("app.jobs", "nightly", true)]}),
        )
    };
    let a = grouped(raw("report sent"));
    let b = grouped(raw("report skipped"));
    assert_eq!(a.hashes, vec![hash(&["app.jobs", "nightly"])]);
    assert_eq!(a.hashes, b.hashes);
    assert_eq!(a.title, "report sent");
    assert_eq!(a.issue_type, "default");
    assert_eq!(a.culprit, "app.jobs in nightly");
}

#[test]
fn message_with_a_stack_that_contributes_nothing_groups_by_message() {
    // e.g. a stripped native binary: frames with only instruction addresses.
    let raw = |text: &str| {
        with(
            json!({"platform": "native", "message": text}),
            "stacktrace",
            json!({"frames": [{"instruction_addr": "0x1000"}, {"instruction_addr": "0x2000"}]}),
        )
    };
    let a = grouped(raw("disk is full"));
    let b = grouped(raw("connection reset by peer"));
    assert_eq!(a.hashes, vec![hash(&["disk is full"])]);
    assert_disjoint(&a, &b);
    // The same with an empty stack.
    let empty = with(message("disk is full"), "stacktrace", json!({"frames": []}));
    assert_eq!(grouped(empty).hashes, vec![hash(&["disk is full"])]);
}

#[test]
fn an_empty_event_gets_the_fallback() {
    let g = grouped(json!({}));
    assert_eq!(g.hashes, vec![FALLBACK_HASH.to_owned()]);
    assert_eq!(hash(&[]), FALLBACK_HASH);
    assert_eq!(g.title, "<unlabeled event>");
    assert_eq!(g.culprit, "");
    assert_eq!(g.issue_type, "default");
    assert_eq!(g.metadata, json!({"title": "<unlabeled event>"}));
}

// ---------------------------------------------------------------------------------------------
// Fingerprints
// ---------------------------------------------------------------------------------------------

#[test]
fn hash_is_md5_of_the_concatenation() {
    assert_eq!(hash(&["a", "b"]), "187ef4436122d1cc2f40dc2b92f0eba0");
    assert_eq!(hash(&["ab"]), "187ef4436122d1cc2f40dc2b92f0eba0");
    assert_eq!(
        hash_values([String::from("foo")]),
        "acbd18db4cc2f85cedef654fccc4a4d8"
    );
}

#[test]
fn custom_fingerprint_replaces_everything() {
    let a = grouped(with(
        py_error("ValueError", "x", vec![py_frame("app.a", "f", true)]),
        "fingerprint",
        json!(["a", "b"]),
    ));
    let b = grouped(with(message("unrelated"), "fingerprint", json!(["a", "b"])));
    assert_eq!(
        a.hashes,
        vec!["187ef4436122d1cc2f40dc2b92f0eba0".to_owned()]
    );
    assert_eq!(a.hashes, vec![hash(&["ab"])]);
    assert_eq!(b.hashes, a.hashes);
    // Titles are not touched by fingerprints.
    assert_eq!(a.title, "ValueError: x");
    assert_eq!(b.title, "unrelated");
}

#[test]
fn default_fingerprint_alone_is_like_none() {
    let error = || {
        py_error(
            "ValueError",
            "x",
            vec![py_frame("app.a", "f", true), py_frame("lib.b", "g", false)],
        )
    };
    let plain = grouped(error());
    assert_eq!(plain.hashes.len(), 2);
    for fingerprint in [json!(["{{ default }}"]), json!(["{{default}}"])] {
        assert_eq!(
            grouped(with(error(), "fingerprint", fingerprint.clone())).hashes,
            plain.hashes,
            "{fingerprint}"
        );
    }
    assert_eq!(
        grouped(with(
            message("disk is full"),
            "fingerprint",
            json!(["{{ default }}"])
        ))
        .hashes,
        grouped(message("disk is full")).hashes
    );
}

#[test]
fn hybrid_fingerprint_extends_each_default_variant() {
    let error = || {
        py_error(
            "ValueError",
            "x",
            vec![py_frame("app.a", "f", true), py_frame("lib.b", "g", false)],
        )
    };
    let plain = grouped(error());
    let hybrid = grouped(with(error(), "fingerprint", json!(["{{ default }}", "x"])));
    assert_disjoint(&plain, &hybrid);
    assert_eq!(
        hybrid.hashes,
        vec![
            hash(&["app.a", "f", "ValueError", "x"]),
            hash(&["app.a", "f", "lib.b", "g", "ValueError", "x"]),
        ]
    );
    // The order of the parts matters.
    let before = grouped(with(error(), "fingerprint", json!(["x", "{{ default }}"])));
    assert_eq!(before.hashes[0], hash(&["x", "app.a", "f", "ValueError"]));
    // A message event's only variant is its template.
    let msg = grouped(with(
        message("disk is full"),
        "fingerprint",
        json!(["{{ default }}", "x"]),
    ));
    assert_eq!(msg.hashes, vec![hash(&["disk is full", "x"])]);
}

#[test]
fn fingerprint_variables_resolve_against_the_event() {
    let error = || {
        py_error(
            "ValueError",
            "bad amount",
            vec![
                py_frame("app.views", "checkout", true),
                py_frame("decimal", "quantize", false),
            ],
        )
    };
    let fp = json!(["{{ type }}", "{{ tags.route }}"]);
    assert_eq!(
        grouped(with(error(), "fingerprint", fp.clone())).hashes,
        vec![hash(&["ValueError", "<no-value-for-tag-route>"])]
    );
    let tagged = with(
        with(error(), "fingerprint", fp),
        "tags",
        json!({"route": "/checkout"}),
    );
    assert_eq!(
        grouped(tagged).hashes,
        vec![hash(&["ValueError", "/checkout"])]
    );
    // The crash frame is the last in-app frame of the main exception.
    let frame_vars = json!([
        "{{ function }}",
        "{{ module }}",
        "{{ stack.filename }}",
        "{{ path }}"
    ]);
    assert_eq!(
        grouped(with(error(), "fingerprint", frame_vars)).hashes,
        vec![hash(&[
            "checkout",
            "app.views",
            "app/views.py",
            "/srv/app/views.py"
        ])]
    );
    let misc = json!([
        "{{ error.type }}",
        "{{ value }}",
        "{{ message }}",
        "{{ level }}"
    ]);
    assert_eq!(
        grouped(with(error(), "fingerprint", misc)).hashes,
        vec![hash(&["ValueError", "bad amount", "bad amount", "error"])]
    );
}

#[test]
fn tag_variables_keep_the_tag_name_case() {
    let raw = |user: &str| {
        json!({
            "message": "quota exceeded",
            "tags": {"tenantId": user},
            "fingerprint": ["quota", "{{ tags.tenantId }}"]
        })
    };
    assert_eq!(grouped(raw("acme")).hashes, vec![hash(&["quota", "acme"])]);
    assert_disjoint(&grouped(raw("acme")), &grouped(raw("globex")));
}

#[test]
fn missing_fingerprint_variables_get_placeholders() {
    let fp = json!([
        "{{ type }}",
        "{{ value }}",
        "{{ transaction }}",
        "{{ function }}",
        "{{ stack.module }}",
        "{{ logger }}",
        "{{ tags.route }}"
    ]);
    assert_eq!(
        grouped(with(message("disk is full"), "fingerprint", fp)).hashes,
        vec![hash(&[
            "<no-type>",
            "<no-value>",
            "<no-transaction>",
            "<no-function>",
            "<no-module>",
            "<no-logger>",
            "<no-value-for-tag-route>",
        ])]
    );
}

#[test]
fn unknown_fingerprint_variables_stay_literal() {
    assert_eq!(
        grouped(with(
            message("m"),
            "fingerprint",
            json!(["{{ nonsense }}", "x"])
        ))
        .hashes,
        vec![hash(&["{{ nonsense }}", "x"])]
    );
}

// ---------------------------------------------------------------------------------------------
// Titles
// ---------------------------------------------------------------------------------------------

#[test]
fn title_is_type_and_first_line_of_value() {
    let g = grouped(json!({"exception": [{
        "type": "ValueError",
        "value": "\n  invalid literal for int()  \nwith base 10: 'x'"
    }]}));
    assert_eq!(g.title, "ValueError: invalid literal for int()");
    assert_eq!(
        g.metadata,
        json!({"type": "ValueError", "value": "\n  invalid literal for int()  \nwith base 10: 'x'"})
    );
}

#[test]
fn title_is_the_type_alone_without_a_value() {
    assert_eq!(
        grouped(json!({"exception": [{"type": "StopIteration"}]})).title,
        "StopIteration"
    );
    assert_eq!(
        grouped(json!({"exception": [{"type": "StopIteration", "value": ""}]})).title,
        "StopIteration"
    );
}

#[test]
fn title_without_a_type_says_error() {
    let g = grouped(json!({"exception": [{"value": "something broke"}]}));
    assert_eq!(g.title, "Error: something broke");
    assert_eq!(
        g.metadata,
        json!({"type": "Error", "value": "something broke"})
    );
    // A value shaped like `Type: message` gives its type (Relay's rule).
    let g = grouped(json!({"exception": [{"value": "ValueError: x"}]}));
    assert_eq!(g.title, "ValueError: x");
}

#[test]
fn synthetic_title_is_the_message() {
    let synthetic = |extra: Value| {
        let mut raw = json!({"platform": "javascript", "exception": [{
            "type": "Error",
            "mechanism": {"synthetic": true},
            "stacktrace": {"frames": [js_frame("https://example.com/app.js", "report", true)]}
        }]});
        for (k, v) in extra.as_object().unwrap() {
            if k == "value" {
                raw["exception"][0]["value"] = v.clone();
            } else {
                raw[k] = v.clone();
            }
        }
        grouped(raw)
    };
    assert_eq!(
        synthetic(json!({"message": "hello\nworld", "value": "ignored"})).title,
        "hello"
    );
    // A captured non-Error object says what it was in the value.
    assert_eq!(
        synthetic(json!({"value": "Object captured as exception with keys: code"})).title,
        "Object captured as exception with keys: code"
    );
    assert_eq!(synthetic(json!({})).title, "report");
}

#[test]
fn message_title_is_truncated_to_256_characters() {
    let long = "é".repeat(300);
    let g = grouped(message(&long));
    let expected = format!("{}…", "é".repeat(256));
    assert_eq!(g.title, expected);
    assert_eq!(g.metadata, json!({"title": expected}));
    // Exactly 256 characters stay whole.
    assert_eq!(grouped(message(&"é".repeat(256))).title, "é".repeat(256));
    // Only the first line counts.
    assert_eq!(
        grouped(message("\n\n  first line \nsecond line")).title,
        "first line"
    );
}

#[test]
fn error_title_is_truncated_to_256_characters() {
    let g = grouped(json!({"exception": [{"type": "ValueError", "value": "v".repeat(300)}]}));
    assert_eq!(g.title, format!("ValueError: {}…", "v".repeat(244)));
    assert_eq!(g.title.chars().count(), 257);
}

#[test]
fn error_metadata_comes_from_the_crash_frame() {
    let g = grouped(py_error(
        "KeyError",
        "'sku'",
        vec![
            py_frame("app.cart", "add", true),
            py_frame("app.cart", "lookup", true),
            py_frame("collections", "__getitem__", false),
        ],
    ));
    assert_eq!(
        g.metadata,
        json!({"type": "KeyError", "value": "'sku'", "filename": "app/cart.py", "function": "lookup"})
    );
}

// ---------------------------------------------------------------------------------------------
// Culprits
// ---------------------------------------------------------------------------------------------

#[test]
fn python_culprit_is_module_in_function() {
    let g = grouped(py_error(
        "KeyError",
        "'sku'",
        vec![
            py_frame("app.main", "main", true),
            py_frame("app.cart", "add", true),
            py_frame("collections", "__getitem__", false),
        ],
    ));
    // The last in-app frame, not the library frame that raised.
    assert_eq!(g.culprit, "app.cart in add");
    // Without a module, the file name.
    let g = grouped(
        json!({"platform": "python", "exception": [{"type": "E", "stacktrace": {"frames": [
            {"filename": "app/cart.py", "function": "add", "in_app": true}
        ]}}]}),
    );
    assert_eq!(g.culprit, "app/cart.py in add");
    // Without in-app frames, the crash frame.
    let g = grouped(py_error(
        "KeyError",
        "'sku'",
        vec![
            py_frame("django.core", "inner", false),
            py_frame("collections", "__getitem__", false),
        ],
    ));
    assert_eq!(g.culprit, "collections in __getitem__");
}

#[test]
fn javascript_culprit_is_function_of_file() {
    let g = grouped(json!({"platform": "javascript", "exception": [{
        "type": "TypeError",
        "value": "x is undefined",
        "stacktrace": {"frames": [
            js_frame("https://shop.example.com/static/app.js?v=2", "Object.handleClick", true),
            js_frame("https://cdn.example.com/react-dom.js", "callCallback", false)
        ]}
    }]}));
    assert_eq!(g.culprit, "Object.handleClick(/static/app.js)");
    let g = grouped(json!({"platform": "node", "exception": [{
        "type": "TypeError",
        "stacktrace": {"frames": [
            {"filename": "/srv/app/handlers.js", "module": "handlers", "function": "onRequest", "in_app": true}
        ]}
    }]}));
    assert_eq!(g.culprit, "onRequest(handlers)");
}

#[test]
fn native_culprit_is_the_function() {
    let g = grouped(json!({"platform": "native", "exception": [{
        "type": "SIGSEGV",
        "stacktrace": {"frames": [
            {"function": "main", "package": "/usr/bin/app", "in_app": true},
            {"function": "crash_here", "package": "/usr/bin/app", "filename": "crash.c", "in_app": true},
            {"function": "memcpy", "package": "/lib/libc.so.6", "in_app": false}
        ]}
    }]}));
    assert_eq!(g.culprit, "crash_here");
}

#[test]
fn frame_platform_beats_event_platform_for_the_culprit() {
    let g = grouped(json!({"platform": "python", "exception": [{
        "type": "Error",
        "stacktrace": {"frames": [
            {"platform": "javascript", "filename": "/static/app.js", "function": "render", "in_app": true}
        ]}
    }]}));
    assert_eq!(g.culprit, "render(/static/app.js)");
}

#[test]
fn long_generated_culprit_is_truncated() {
    let function = "f".repeat(250);
    let g = grouped(json!({"platform": "native", "exception": [{
        "type": "SIGABRT",
        "stacktrace": {"frames": [{"function": function, "in_app": true}]}
    }]}));
    assert_eq!(g.culprit, format!("{}…", "f".repeat(200)));
}

#[test]
fn transaction_wins_over_frames() {
    let g = grouped(with(
        py_error("KeyError", "'sku'", vec![py_frame("app.cart", "add", true)]),
        "transaction",
        json!("/api/cart/{id}"),
    ));
    assert_eq!(g.culprit, "/api/cart/{id}");
    let g = grouped(with(message("m"), "transaction", json!("nightly-report")));
    assert_eq!(g.culprit, "nightly-report");
}

#[test]
fn client_culprit_wins_over_everything() {
    let raw = with(
        with(
            py_error("KeyError", "'sku'", vec![py_frame("app.cart", "add", true)]),
            "transaction",
            json!("/api/cart/{id}"),
        ),
        "culprit",
        json!("  my.custom culprit "),
    );
    assert_eq!(grouped(raw).culprit, "my.custom culprit");
    let synthetic = json!({"platform": "javascript", "culprit": "from the client", "exception": [{
        "value": "hello",
        "mechanism": {"synthetic": true},
        "stacktrace": {"frames": [js_frame("https://example.com/app.js", "report", true)]}
    }]});
    assert_eq!(grouped(synthetic).culprit, "from the client");
}

#[test]
fn synthetic_exceptions_have_no_generated_culprit() {
    let raw = json!({"platform": "javascript", "request": {"url": "https://example.com/page"}, "exception": [{
        "value": "hello",
        "mechanism": {"synthetic": true},
        "stacktrace": {"frames": [js_frame("https://example.com/app.js", "report", true)]}
    }]});
    assert_eq!(grouped(raw.clone()).culprit, "");
    assert_eq!(
        grouped(with(raw, "transaction", json!("/page"))).culprit,
        "/page"
    );
}

#[test]
fn culprit_falls_back_to_the_request_url() {
    let raw = with(
        message("m"),
        "request",
        json!({"url": "https://example.com/page?q=1"}),
    );
    assert_eq!(grouped(raw).culprit, "https://example.com/page?q=1");
    assert_eq!(grouped(message("m")).culprit, "");
}

#[test]
fn cached_rule_outcomes_never_cross_rule_lists() {
    // The same stack under rules that hide a frame, then (the list dropped, a new one parsed)
    // under rules that do not: the per-thread cache must not answer for the wrong list.
    let raw = py_error(
        "KeyError",
        "k",
        vec![
            py_frame("app.a", "log_it", true),
            py_frame("app.b", "run", true),
        ],
    );
    let hidden = {
        let rules = super::ProjectRules::parse("stack.function:log_it -group\n", "").unwrap();
        super::group_with(&event(raw.clone()), &rules).hashes
    };
    let shown = {
        let rules = super::ProjectRules::parse("stack.function:other -group\n", "").unwrap();
        super::group_with(&event(raw.clone()), &rules).hashes
    };
    assert_ne!(hidden, shown);
    assert_eq!(shown, group(&event(raw)).hashes);
}

// ---------------------------------------------------------------------------------------------
// Native frames (newstyle:2023-01-11): trimmed functions, file names beside them, no package
//
// The expected hashes are computed here by hand: the contributing values are listed in tree
// order and hashed as md5 of their concatenation (UTF-8, no separators). An exception hashes
// [stacktrace, type, value]; the value does not count when the stack trace does.
// ---------------------------------------------------------------------------------------------

/// The captured event of one SDK fixture (the repository's copy under `tests/fixtures/sdk`).
fn captured(name: &str) -> NormalizedEvent {
    let captured = crate::normalize::tests::captured_events()
        .into_iter()
        .find(|c| c.name == name)
        .expect("the capture exists");
    normalize(
        captured.payload,
        &crate::normalize::tests::context(captured.envelope_event_id.as_deref()),
    )
    .expect("captured events normalize")
}

#[test]
fn rust_panic_groups_by_its_app_frames_with_their_file_names() {
    let event = captured("rust__04-envelope-event+session-panic_crashed");
    // Frames caller first. `<unknown>` (in-app): its function is ignored, nothing else is
    // known. `_start`, `std::*`, `__rust_try`, `core::panicking::panic_fmt` are not in-app (the
    // SDK's flag or `std::*`/`core::*`/`__rust_*` -app); everything after panic_fmt towards the
    // crash is made -app by `{std,core}::panicking::panic_fmt -app ^-app`. The two libc frames
    // keep their file names (lowercased basenames) in front of their functions.
    let app = [
        "libc-start.c",
        "__libc_start_main_impl",
        "libc_start_call_main.h",
        "__libc_start_call_main",
        "main",
        "rustsdk::main",
        "rustsdk::do_panic",
        // exception type; the value "rust driver panic: x=7" gives way to the stack
        "panic",
    ];
    let grouping = group(&event);
    assert_eq!(grouping.hashes[0], hash(&app));
    assert_eq!(grouping.hashes[0], "d9a2ed66cdff612e7b15604b2580d583");
    assert_eq!(grouping.culprit, "rustsdk::do_panic");

    // The system variant hashes trimmed names: `<sentry_panic::PanicIntegration as
    // sentry_core::integration::Integration>::setup::{{closure}}::{{closure}}` is hashed as
    // `sentry_panic::PanicIntegration::setup::{{closure}}::{{closure}}`.
    let explained = super::explain(&event, &super::ProjectRules::default());
    let system: Vec<&str> = explained["values"]["system"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(system.contains(&"sentry_panic::PanicIntegration::setup::{{closure}}::{{closure}}"));
    assert!(system.contains(&"std::sys::backtrace::__rust_end_short_backtrace::<T>"));
    assert_eq!(grouping.hashes[1], hash(&system));
}

#[test]
fn native_event_from_sentry_cli_groups_by_file_and_function() {
    // `sentry-cli send-event` of a JSON file: platform native, one frame without `in_app`
    // (so not in-app: the app variant has no stack and gives way to the system variant).
    let event = captured("sentry-cli__04-envelope-event-cli_event_json");
    let system = ["app.py", "main", "ValueError"];
    assert_eq!(group(&event).hashes, vec![hash(&system)]);
    assert_eq!(hash(&system), "96d29038f0321856d15a76f1fdd81809");
}

/// A C++ crash as a native SDK reports it: full signatures, file paths, binaries.
fn cpp_crash() -> Value {
    json!({"platform": "native", "exception": {"values": [{
        "type": "std::runtime_error", "value": "card 4242 declined",
        "stacktrace": {"frames": [
            {"function": "main", "filename": "main.cpp", "package": "/usr/bin/shop", "in_app": true},
            {"function": "Shop::Cart::checkout(std::vector<Item, std::allocator<Item> > const&) const",
             "filename": "/src/shop/Cart.cpp", "package": "/usr/bin/shop", "in_app": true},
            {"function": "void (anonymous namespace)::charge<Card>(Card&, int)",
             "filename": "Payment.cpp", "package": "/usr/bin/shop", "in_app": true},
            // No symbol nor file: the binary alone does not count (no package fallback).
            {"package": "/usr/bin/shop", "instruction_addr": "0x1a2b", "in_app": true}
        ]}
    }]}})
}

#[test]
fn cpp_frames_group_by_file_and_trimmed_function() {
    let event = event(cpp_crash());
    let app = [
        "main.cpp",
        "main",
        "cart.cpp",
        "Shop::Cart::checkout",
        "payment.cpp",
        "(anonymous namespace)::charge<T>",
        "std::runtime_error",
    ];
    let grouping = group(&event);
    // Every frame is in-app: the system variant hashes the same and is dropped.
    assert_eq!(grouping.hashes, vec![hash(&app)]);
    // The crash frame of the metadata is the last in-app frame with a function.
    assert_eq!(
        grouping.metadata["function"],
        "(anonymous namespace)::charge<T>"
    );

    // The stored event keeps the symbol as `raw_function`, and the explanation says it was cut.
    let frame = &event.json["exception"]["values"][0]["stacktrace"]["frames"][1];
    assert_eq!(frame["function"], "Shop::Cart::checkout");
    assert_eq!(
        frame["raw_function"],
        "Shop::Cart::checkout(std::vector<Item, std::allocator<Item> > const&) const"
    );
    let explained = super::explain(&event, &super::ProjectRules::default());
    let frames = &explained["values"]["app"]["component"]["values"][0]["values"][0]["values"];
    assert_eq!(frames[1]["values"][2]["values"][0], "Shop::Cart::checkout");
    assert_eq!(frames[1]["values"][2]["hint"], "trimmed native function");
    assert_eq!(frames[0]["values"][2].get("hint"), None);
}

#[test]
fn the_same_function_from_another_file_is_another_issue() {
    // newstyle:2023-01-11 keeps native file names (only `mobile:2021-02-12` discarded them).
    let mut moved = cpp_crash();
    moved["exception"]["values"][0]["stacktrace"]["frames"][2]["filename"] = json!("Billing.cpp");
    assert_ne!(grouped(cpp_crash()).hashes, grouped(moved).hashes);

    // Argument lists and return types do not split issues: they are trimmed away.
    let mut overload = cpp_crash();
    overload["exception"]["values"][0]["stacktrace"]["frames"][2]["function"] =
        json!("int (anonymous namespace)::charge<Voucher>(Voucher const&)");
    assert_eq!(grouped(cpp_crash()).hashes, grouped(overload).hashes);
}

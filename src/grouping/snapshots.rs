//! Snapshots of how events group: every variant, its hash and the values it hashed.
//!
//! * every event captured from a real SDK (`tests/fixtures/sdk`);
//! * hand-written events of each platform, one per strategy and frame rule.

use serde_json::{Value, json};

use super::{ProjectRules, explain};
use crate::normalize::tests::{captured_events, context};
use crate::normalize::{NormalizedEvent, normalize};

/// The explanation without the component trees (the values say what was hashed).
fn explained(event: &NormalizedEvent, rules: &ProjectRules) -> Value {
    let mut explained = explain(event, rules);
    if let Some(values) = explained["values"].as_object_mut() {
        for detail in values.values_mut() {
            if let Some(d) = detail.as_object_mut() {
                d.remove("component");
            }
        }
    }
    explained
}

fn grouping_of(raw: Value, rules: &ProjectRules) -> Value {
    explained(&normalize(raw, &context(None)).expect("an event"), rules)
}

fn grouping(raw: Value) -> Value {
    grouping_of(raw, &ProjectRules::default())
}

#[test]
fn sdk_captures() {
    for captured in captured_events() {
        let event = normalize(
            captured.payload,
            &context(captured.envelope_event_id.as_deref()),
        )
        .expect("captured events normalize");
        insta::assert_json_snapshot!(
            format!("capture__{}", captured.name),
            explained(&event, &ProjectRules::default())
        );
    }
}

#[test]
fn python_in_app_frames_context_lines_and_library_frames() {
    insta::assert_json_snapshot!(grouping(
        json!({"platform": "python", "exception": {"values": [{
        "type": "ValueError", "value": "invalid literal for int() with base 10: 'x42'",
        "stacktrace": {"frames": [
            json!({"module": "django.core.handlers.base", "filename": "django/core/handlers/base.py",
                   "abs_path": "/srv/venv/lib/python3.12/site-packages/django/core/handlers/base.py",
                   "function": "_get_response", "context_line": "response = wrapped_callback(request)", "in_app": true}),
            json!({"module": "shop.views", "filename": "shop/views.py", "abs_path": "/srv/shop/views.py",
                   "function": "order", "context_line": "    qty = int(request.GET['qty'])  ", "in_app": true})
        ]}}]}})
    ));
}

#[test]
fn node_functions_lose_their_receiver_and_node_internals_are_ignored() {
    insta::assert_json_snapshot!(grouping(
        json!({"platform": "node", "exception": {"values": [{
        "type": "TypeError", "value": "Cannot read properties of undefined (reading 'id')",
        "stacktrace": {"frames": [
            json!({"filename": "node:internal/process/task_queues", "function": "process.processTicksAndRejections", "in_app": false}),
            json!({"filename": "/app/node_modules/express/lib/router/layer.js", "module": "express.lib.router:layer", "function": "Layer.handle", "in_app": false}),
            json!({"filename": "/app/src/routes/users.js", "module": "routes:users", "function": "Object.getUser",
                   "context_line": "  return user.id;", "in_app": true})
        ]}}]}})
    ));
}

#[test]
fn browser_url_files_eval_frames_and_minified_functions() {
    insta::assert_json_snapshot!(grouping(
        json!({"platform": "javascript", "exception": {"values": [{
        "type": "Error", "value": "Request failed with status code 500",
        "stacktrace": {"frames": [
            json!({"abs_path": "https://shop.example.com/static/js/main.3f2a1c.js", "function": "?", "lineno": 1, "colno": 4242, "in_app": true}),
            json!({"abs_path": "[native code]", "function": "Array.forEach", "in_app": true}),
            json!({"abs_path": "https://shop.example.com/static/js/main.3f2a1c.js", "function": "eval", "in_app": true}),
            json!({"abs_path": "https://shop.example.com/static/js/main.3f2a1c.js", "function": "t.handleClick",
                   "context_line": "throw new Error(e)", "in_app": true})
        ]}}]}})
    ));
}

#[test]
fn java_lambdas_and_generated_classes() {
    insta::assert_json_snapshot!(grouping(
        json!({"platform": "java", "exception": {"values": [{
        "type": "IllegalStateException", "module": "java.lang", "value": "order 42 already shipped",
        "stacktrace": {"frames": [
            json!({"module": "org.springframework.web.servlet.FrameworkServlet", "function": "service", "filename": "FrameworkServlet.java"}),
            json!({"module": "com.shop.OrderController$$EnhancerBySpringCGLIB$$9f3b2a1c", "function": "ship", "filename": "<generated>", "in_app": true}),
            json!({"module": "com.shop.OrderService", "function": "lambda$ship$0", "filename": "OrderService.java", "in_app": true}),
            json!({"module": "com.shop.OrderService", "function": "ship", "filename": "OrderService.java", "in_app": true})
        ]}}]}})
    ));
}

#[test]
fn go_module_cache_frames_are_not_in_app() {
    insta::assert_json_snapshot!(grouping(
        json!({"platform": "go", "exception": {"values": [{
        "type": "*errors.errorString", "value": "sql: no rows in result set",
        "stacktrace": {"frames": [
            json!({"module": "github.com/gin-gonic/gin", "function": "(*Context).Next",
                   "abs_path": "/root/go/pkg/mod/github.com/gin-gonic/gin@v1.9.1/context.go", "filename": "context.go", "in_app": true}),
            json!({"module": "shop/api", "function": "GetOrder", "abs_path": "/src/shop/api/orders.go", "filename": "orders.go", "in_app": true})
        ]}}]}})
    ));
}

#[test]
fn ruby_blocks_and_erb_templates() {
    insta::assert_json_snapshot!(grouping(
        json!({"platform": "ruby", "exception": {"values": [{
        "type": "NoMethodError", "value": "undefined method `name' for nil:NilClass",
        "stacktrace": {"frames": [
            json!({"filename": "app/controllers/orders_controller.rb", "function": "block (2 levels) in show", "in_app": true,
                   "context_line": "      render :show"}),
            json!({"filename": "app/views/orders/show.html.erb", "function": "_app_views_orders_show_html_erb__3125474830_26540", "in_app": true,
                   "context_line": "<%= @order.customer.name %>"})
        ]}}]}})
    ));
}

#[test]
fn php_anonymous_classes() {
    insta::assert_json_snapshot!(grouping(
        json!({"platform": "php", "exception": {"values": [{
        "type": "RuntimeException", "value": "Payment gateway timeout after 30s",
        "stacktrace": {"frames": [
            json!({"filename": "/var/www/vendor/laravel/framework/src/Pipeline.php", "function": "Illuminate\\Pipeline\\Pipeline::handle", "in_app": false}),
            json!({"filename": "/var/www/app/Payments.php", "function": "class@anonymous/var/www/app/Payments.php:12$0::charge", "in_app": true}),
            json!({"filename": "/var/www/app/Payments.php", "function": "[Anonymous function]", "in_app": true})
        ]}}]}})
    ));
}

#[test]
fn rust_panic_machinery_is_ignored() {
    insta::assert_json_snapshot!(grouping(
        json!({"platform": "native", "exception": {"values": [{
        "type": "panic", "value": "called `Option::unwrap()` on a `None` value", "mechanism": {"type": "panic", "handled": false},
        "stacktrace": {"frames": [
            json!({"function": "main", "package": "/usr/bin/shop"}),
            json!({"function": "shop::orders::ship", "filename": "orders.rs", "abs_path": "/src/orders.rs", "package": "/usr/bin/shop"}),
            json!({"function": "core::panicking::panic_fmt", "package": "/usr/bin/shop"}),
            json!({"function": "std::panicking::begin_panic", "package": "/usr/bin/shop"})
        ]}}]}})
    ));
}

#[test]
fn native_recursion_symbols_and_packages() {
    insta::assert_json_snapshot!(grouping(
        json!({"platform": "native", "threads": {"values": [{
        "crashed": true, "stacktrace": {"frames": [
            json!({"function": "start", "package": "/usr/lib/system/libdyld.dylib", "instruction_addr": "0x1"}),
            json!({"function": "render", "package": "/Applications/Shop.app/Contents/MacOS/Shop", "lineno": 10}),
            json!({"function": "render", "package": "/Applications/Shop.app/Contents/MacOS/Shop", "lineno": 10}),
            json!({"package": "/Applications/Shop.app/Contents/MacOS/Shop", "instruction_addr": "0x2"})
        ]}}, {"crashed": false, "stacktrace": {"frames": [json!({"function": "idle"})]}}]}})
    ));
}

#[test]
fn messages_are_parameterized_and_templates_win() {
    insta::assert_json_snapshot!(grouping(json!({"platform": "python", "logentry": {
        "message": "Order %s failed for %s", "formatted": "Order 1001 failed for bob@example.com"}})));
    insta::assert_json_snapshot!(grouping(json!({"platform": "other",
        "message": "Timeout after 3000ms talking to 10.0.0.12:5432 (request 9f8b7c6d-1234-4abc-9def-0123456789ab)"})));
}

#[test]
fn fingerprints_checksums_and_rules() {
    let error = json!({"platform": "javascript", "exception": {"values": [{"type": "ChunkLoadError", "value": "Loading chunk 7 failed."}]}});
    insta::assert_json_snapshot!(grouping(error.clone()));
    let mut custom = error.clone();
    custom["fingerprint"] = json!(["{{ default }}", "{{ level }}", "{{ tags.route }}"]);
    custom["exception"]["values"][0]["type"] = json!("TypeError");
    insta::assert_json_snapshot!(grouping(custom));
    insta::assert_json_snapshot!(grouping(json!({"checksum": "not a hash", "message": "x"})));
    let rules = ProjectRules::parse(
        "stack.function:log_* -group\n",
        "error.type:DatabaseError -> database-error title=\"Database is down ({{ error.value }})\"\n",
    )
    .expect("rules parse");
    insta::assert_json_snapshot!(grouping_of(
        json!({"platform": "python", "exception": {"values": [{"type": "DatabaseError", "value": "timeout"}]}}),
        &rules
    ));
}

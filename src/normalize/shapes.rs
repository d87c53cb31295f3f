//! Canonical shapes for fields SDKs send in several forms.
//!
//! ```text
//! exception:   [..] | {"values": [..]} | {single exception} | sentry.interfaces.Exception → {"values": [..]}
//! breadcrumbs: [..] | {"values": [..]}                                                → {"values": [..]}
//! tags:        {"k": "v"} | [["k", "v"]]                                              → [["k", "v"]]
//! frames:      filename/abs_path filled from each other; URLs give their path as filename;
//!              native and C# function names trimmed (function_names.rs)
//! ```

use serde_json::{Map, Value};

use super::{function_names, trim};

/// Relay's limits for tag keys and values, in characters.
const MAX_TAG_KEY_CHARS: usize = 200;
const MAX_TAG_VALUE_CHARS: usize = 200;
/// Tags kept per event; the rest are dropped.
const MAX_TAGS: usize = 100;

/// A string field, trimmed, non-empty and at most `max` characters (longer ones are cut).
pub fn bounded_string(value: Option<&Value>, max: usize) -> Option<String> {
    let s = match value? {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    if s.is_empty() {
        return None;
    }
    Some(match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_owned(),
        None => s,
    })
}

/// `exception` in any accepted shape → `{"values": [..]}`; removed when there is none.
pub fn normalize_exceptions(json: &mut Map<String, Value>, platform: &str) {
    let raw = json.remove("exception");
    let legacy = json.remove("sentry.interfaces.Exception");
    let values = match raw.or(legacy) {
        Some(Value::Array(list)) => list,
        Some(Value::Object(mut map)) => match map.remove("values") {
            Some(Value::Array(list)) => list,
            _ if map.contains_key("type") || map.contains_key("value") => vec![Value::Object(map)],
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    let mut values: Vec<Value> = values.into_iter().filter(Value::is_object).collect();
    trim::exceptions(&mut values);
    for exception in values.iter_mut().filter_map(Value::as_object_mut) {
        normalize_exception(exception, platform);
    }
    if !values.is_empty() {
        let mut container = Map::new();
        container.insert("values".into(), Value::Array(values));
        json.insert("exception".into(), Value::Object(container));
    }
}

fn normalize_exception(exception: &mut Map<String, Value>, platform: &str) {
    // `{"value": "ValueError: bad"}` without a type: split as Relay does.
    let has_type = exception
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| !t.is_empty());
    if !has_type
        && let Some(Value::String(value)) = exception.get("value")
        && let Some((ty, rest)) = value.split_once(':')
        && !ty.is_empty()
        && ty.chars().all(|c| c.is_alphanumeric() || c == '_')
    {
        let (ty, rest) = (ty.to_owned(), rest.trim().to_owned());
        exception.insert("type".into(), Value::String(ty));
        exception.insert("value".into(), Value::String(rest));
    }
    trim::field(exception, "type", trim::TYPE);
    trim::field(exception, "value", trim::MESSAGE);
    trim::field(exception, "module", trim::TYPE);
    for key in ["stacktrace", "raw_stacktrace"] {
        if let Some(st) = exception.get_mut(key) {
            normalize_stacktrace(st, platform);
        }
    }
}

/// An interface sent under its legacy name (`sentry.interfaces.Template`) moves to its
/// name (`template`) unless that is present too; an interface that is not an object is dropped.
pub fn rename_legacy_interface(json: &mut Map<String, Value>, legacy: &str, name: &str) {
    if let Some(value) = json.remove(legacy)
        && !json.contains_key(name)
    {
        json.insert(name.into(), value);
    }
    if json.get(name).is_some_and(|v| !v.is_object()) {
        json.remove(name);
    }
}

/// Top-level `stacktrace` (or its legacy name) with normalized frames.
pub fn normalize_top_stacktrace(json: &mut Map<String, Value>, platform: &str) {
    rename_legacy_interface(json, "sentry.interfaces.Stacktrace", "stacktrace");
    if let Some(st) = json.get_mut("stacktrace") {
        normalize_stacktrace(st, platform);
    }
    if let Some(threads) = json
        .get_mut("threads")
        .and_then(|t| t.get_mut("values"))
        .and_then(Value::as_array_mut)
    {
        for thread in threads {
            if let Some(st) = thread.get_mut("stacktrace") {
                normalize_stacktrace(st, platform);
            }
        }
    }
}

/// Frames as Relay stores them, then with Sentry's trimmed function names (which Sentry
/// stores too: what rules, fingerprints and titles read is the trimmed name).
fn normalize_stacktrace(stacktrace: &mut Value, platform: &str) {
    let Some(frames) = stacktrace.get_mut("frames").and_then(Value::as_array_mut) else {
        return;
    };
    frames.retain(Value::is_object);
    trim::frames(frames);
    for frame in frames.iter_mut().filter_map(Value::as_object_mut) {
        normalize_frame_paths(frame);
        function_names::trim_frame(frame, platform);
    }
}

/// Relay's rule: `abs_path` defaults to `filename`; `filename` defaults to `abs_path`, or to the
/// path part of it when it is a URL.
fn normalize_frame_paths(frame: &mut Map<String, Value>) {
    let filename = non_empty(frame.get("filename"));
    let abs_path = non_empty(frame.get("abs_path"));
    match (filename, abs_path) {
        (Some(filename), None) => {
            let path = url_path(&filename).unwrap_or_else(|| filename.clone());
            frame.insert("abs_path".into(), Value::String(filename));
            frame.insert("filename".into(), Value::String(path));
        }
        (None, Some(abs_path)) => {
            let path = url_path(&abs_path).unwrap_or(abs_path);
            frame.insert("filename".into(), Value::String(path));
        }
        _ => {}
    }
}

fn non_empty(value: Option<&Value>) -> Option<String> {
    value
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// `https://host/static/app.js?v=1` → `/static/app.js`; `None` for non-URLs and bare hosts.
pub fn url_path(s: &str) -> Option<String> {
    let rest = ["file:", "http:", "https:", "applewebdata:"]
        .iter()
        .find_map(|scheme| s.strip_prefix(scheme))?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path_start = rest.find('/')?;
    let path = &rest[path_start..];
    let path = path.split(['?', '#']).next().unwrap_or(path);
    (!path.is_empty() && path != "/").then(|| path.to_owned())
}

/// `name` as a list or `{"values": list}` (or a legacy alias) → `{"values": list}`.
pub fn normalize_values_container(json: &mut Map<String, Value>, name: &str, aliases: &[&str]) {
    let mut raw = json.remove(name);
    for alias in aliases {
        let legacy = json.remove(*alias);
        raw = raw.or(legacy);
    }
    let list = match raw {
        Some(Value::Array(list)) => list,
        Some(Value::Object(mut map)) => match map.remove("values") {
            Some(Value::Array(list)) => list,
            _ => return,
        },
        _ => return,
    };
    let mut container = Map::new();
    container.insert(
        "values".into(),
        Value::Array(list.into_iter().filter(Value::is_object).collect()),
    );
    json.insert(name.into(), Value::Object(container));
}

/// The user's IP address as Relay fills it in, so that "users" counts what Sentry counts:
/// `{{auto}}` (in `user.ip_address` or `request.env.REMOTE_ADDR`) is the client's address; a
/// user without an address gets the request's `REMOTE_ADDR` (web frameworks send it), else the
/// client's address when the SDK asks for it (`sdk.settings.infer_ip: auto`) or, unless it says
/// `never`, on the platforms that always meant it (javascript, cocoa, objc). `user` must be an
/// object.
pub fn normalize_user(json: &mut Map<String, Value>, client_ip: Option<&str>) {
    let infer_ip = json
        .get("sdk")
        .and_then(|s| s.get("settings"))
        .and_then(|s| s.get("infer_ip"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let platform_infers = matches!(
        json.get("platform").and_then(Value::as_str),
        Some("javascript" | "cocoa" | "objc")
    );
    let infer_from_client = match infer_ip.as_deref() {
        Some("auto") => true,
        Some("never") => false,
        _ => platform_infers,
    };
    let remote_addr = json
        .get_mut("request")
        .and_then(|r| r.get_mut("env"))
        .and_then(|env| env.get_mut("REMOTE_ADDR"));
    if let Some(addr) = remote_addr
        && addr.as_str() == Some("{{auto}}")
    {
        *addr = client_ip.map_or(Value::Null, |ip| Value::String(ip.to_owned()));
    }
    let http_ip = json
        .get("request")
        .and_then(|r| r.pointer("/env/REMOTE_ADDR"))
        .and_then(Value::as_str)
        .filter(|ip| ip.parse::<std::net::IpAddr>().is_ok())
        .map(str::to_owned);

    let mut user = match json.remove("user") {
        Some(Value::Object(map)) => map,
        _ if http_ip.is_some() || (infer_from_client && client_ip.is_some()) => Map::new(),
        _ => return,
    };
    if user.get("ip_address").and_then(Value::as_str) == Some("{{auto}}") {
        match client_ip {
            Some(ip) => user.insert("ip_address".into(), Value::String(ip.to_owned())),
            None => user.remove("ip_address"),
        };
    }
    if user.get("ip_address").is_none_or(Value::is_null) {
        let inferred =
            http_ip.or_else(|| client_ip.filter(|_| infer_from_client).map(str::to_owned));
        if let Some(ip) = inferred {
            user.insert("ip_address".into(), Value::String(ip));
        }
    }
    if !user.is_empty() {
        json.insert("user".into(), Value::Object(user));
    }
}

/// Sentry's `user` tag: the first of id, email, username, IP, with its kind as prefix.
pub fn user_key(user: Option<&Value>) -> Option<String> {
    let user = user?.as_object()?;
    ["id", "email", "username", "ip_address"]
        .iter()
        .find_map(|field| {
            let value = bounded_string(user.get(*field), MAX_TAG_VALUE_CHARS - 10)?;
            let kind = if *field == "ip_address" { "ip" } else { field };
            Some(format!("{kind}:{value}"))
        })
}

/// `tags` as an object or a list of pairs → a list of `[key, value]` string pairs, which it
/// also returns. Values are stringified (`true` → `True`, as Relay), keys trimmed with spaces
/// replaced by `-`; empty or over-long tags are dropped.
pub fn normalize_tags(json: &mut Map<String, Value>) -> Vec<(String, String)> {
    let pairs: Vec<(String, Value)> = match json.remove("tags") {
        Some(Value::Object(map)) => map.into_iter().collect(),
        Some(Value::Array(list)) => list
            .into_iter()
            .filter_map(|pair| match pair {
                Value::Array(mut kv) if kv.len() == 2 => {
                    let value = kv.pop()?;
                    let key = kv.pop()?.as_str()?.to_owned();
                    Some((key, value))
                }
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut tags: Vec<(String, String)> = Vec::new();
    for (key, value) in pairs {
        let key = key.trim().replace(' ', "-");
        let value = match value {
            Value::String(s) => s.trim().to_owned(),
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            Value::Number(n) => n.to_string(),
            _ => continue,
        };
        let ok = !key.is_empty()
            && !value.is_empty()
            && key.chars().count() <= MAX_TAG_KEY_CHARS
            && value.chars().count() <= MAX_TAG_VALUE_CHARS
            && !value.contains('\n');
        if tags.len() < MAX_TAGS && ok && !tags.iter().any(|(k, _)| *k == key) {
            tags.push((key, value));
        }
    }
    if !tags.is_empty() {
        let list = tags
            .iter()
            .map(|(k, v)| Value::Array(vec![Value::String(k.clone()), Value::String(v.clone())]))
            .collect();
        json.insert("tags".into(), Value::Array(list));
    }
    tags
}

/// `fingerprint` as a non-empty list of strings (numbers stringified), else removed.
pub fn normalize_fingerprint(json: &mut Map<String, Value>) -> Option<Vec<String>> {
    let parts: Vec<String> = match json.remove("fingerprint") {
        Some(Value::Array(list)) => list
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        _ => return None,
    };
    if parts.is_empty() {
        return None;
    }
    json.insert(
        "fingerprint".into(),
        Value::Array(parts.iter().cloned().map(Value::String).collect()),
    );
    Some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn exception_shapes() {
        for input in [
            json!({"exception": {"values": [{"type": "E", "value": "v"}]}}),
            json!({"exception": [{"type": "E", "value": "v"}]}),
            json!({"exception": {"type": "E", "value": "v"}}),
            json!({"sentry.interfaces.Exception": {"values": [{"type": "E", "value": "v"}]}}),
        ] {
            let mut json = obj(input);
            normalize_exceptions(&mut json, "python");
            assert_eq!(
                json.get("exception"),
                Some(&json!({"values": [{"type": "E", "value": "v"}]}))
            );
        }
        let mut json = obj(json!({"exception": {}}));
        normalize_exceptions(&mut json, "python");
        assert!(!json.contains_key("exception"));
    }

    #[test]
    fn type_from_value() {
        let mut json = obj(
            json!({"exception": [{"value": "ValueError: bad thing"}, {"value": "no type here"}]}),
        );
        normalize_exceptions(&mut json, "python");
        assert_eq!(
            json["exception"]["values"],
            json!([{"type": "ValueError", "value": "bad thing"}, {"value": "no type here"}])
        );
    }

    #[test]
    fn frame_paths() {
        let mut json = obj(
            json!({"exception": [{"type": "E", "stacktrace": {"frames": [
                {"abs_path": "https://cdn.example.com/static/app.js?v=3", "function": "f"},
                {"filename": "/srv/app/main.js"},
                {"filename": "app.py", "abs_path": "/srv/app.py"},
                "garbage"
            ]}}]}),
        );
        normalize_exceptions(&mut json, "python");
        assert_eq!(
            json["exception"]["values"][0]["stacktrace"]["frames"],
            json!([
                {"abs_path": "https://cdn.example.com/static/app.js?v=3", "filename": "/static/app.js", "function": "f"},
                {"filename": "/srv/app/main.js", "abs_path": "/srv/app/main.js"},
                {"filename": "app.py", "abs_path": "/srv/app.py"}
            ])
        );
    }

    #[test]
    fn url_paths() {
        assert_eq!(url_path("http://host/a/b.js#x").as_deref(), Some("/a/b.js"));
        assert_eq!(url_path("file:///srv/x.js").as_deref(), Some("/srv/x.js"));
        assert_eq!(url_path("https://host/"), None);
        assert_eq!(url_path("https://host"), None);
        assert_eq!(url_path("/srv/x.js"), None);
    }

    #[test]
    fn breadcrumb_shapes() {
        for input in [
            json!({"breadcrumbs": [{"message": "a"}]}),
            json!({"breadcrumbs": {"values": [{"message": "a"}]}}),
        ] {
            let mut json = obj(input);
            normalize_values_container(&mut json, "breadcrumbs", &[]);
            assert_eq!(json["breadcrumbs"], json!({"values": [{"message": "a"}]}));
        }
    }

    #[test]
    fn tag_shapes() {
        let mut json =
            obj(json!({"tags": {"a b": "x", "flag": true, "n": 42, "empty": "", "obj": {}}}));
        let tags = normalize_tags(&mut json);
        assert_eq!(
            tags,
            vec![
                ("a-b".into(), "x".into()),
                ("flag".into(), "True".into()),
                ("n".into(), "42".into())
            ]
        );
        let mut json =
            obj(json!({"tags": [["k", "v"], ["bad"], ["k", "again"], ["long", "x".repeat(201)]]}));
        assert_eq!(normalize_tags(&mut json), vec![("k".into(), "v".into())]);
        assert_eq!(json["tags"], json!([["k", "v"]]));
    }

    #[test]
    fn users() {
        let mut json = obj(json!({"user": {"id": 42, "ip_address": "{{auto}}"}}));
        normalize_user(&mut json, Some("10.1.2.3"));
        assert_eq!(json["user"], json!({"id": 42, "ip_address": "10.1.2.3"}));
        assert_eq!(user_key(json.get("user")).as_deref(), Some("id:42"));
        let mut json = obj(json!({"sdk": {"settings": {"infer_ip": "auto"}}}));
        normalize_user(&mut json, Some("127.0.0.1"));
        assert_eq!(user_key(json.get("user")).as_deref(), Some("ip:127.0.0.1"));
        assert_eq!(
            user_key(Some(&json!({"email": "a@b.c", "username": "a"}))).as_deref(),
            Some("email:a@b.c")
        );
        assert_eq!(user_key(Some(&json!("bob"))), None);
    }

    #[test]
    fn users_get_the_address_relay_gives_them() {
        let ip = |raw: Value| {
            let mut json = obj(raw);
            normalize_user(&mut json, Some("203.0.113.9"));
            json.get("user").and_then(|u| u.get("ip_address")).cloned()
        };
        // A web framework's request (Python with send_default_pii): the REMOTE_ADDR.
        let wsgi = json!({"platform": "python", "request": {"env": {"REMOTE_ADDR": "10.0.0.7"}}});
        assert_eq!(ip(wsgi), Some(json!("10.0.0.7")));
        let with_user = json!({"platform": "python", "user": {"id": "u1"},
                               "request": {"env": {"REMOTE_ADDR": "10.0.0.7"}}});
        assert_eq!(ip(with_user), Some(json!("10.0.0.7")));
        let auto = json!({"platform": "python", "request": {"env": {"REMOTE_ADDR": "{{auto}}"}}});
        assert_eq!(ip(auto), Some(json!("203.0.113.9")));
        // An address the SDK gave wins; a REMOTE_ADDR that is not an address is not used.
        let given = json!({"user": {"ip_address": "192.0.2.1"}, "request": {"env": {"REMOTE_ADDR": "10.0.0.7"}}});
        assert_eq!(ip(given), Some(json!("192.0.2.1")));
        let junk =
            json!({"platform": "python", "request": {"env": {"REMOTE_ADDR": "unix:/tmp/s"}}});
        assert_eq!(ip(junk), None);
        // The client's address: browsers and Apple platforms, unless the SDK says never.
        assert_eq!(
            ip(json!({"platform": "javascript"})),
            Some(json!("203.0.113.9"))
        );
        assert_eq!(
            ip(json!({"platform": "cocoa", "user": {"id": "u1"}})),
            Some(json!("203.0.113.9"))
        );
        assert_eq!(ip(json!({"platform": "python"})), None);
        let never = json!({"platform": "javascript", "sdk": {"settings": {"infer_ip": "never"}}});
        assert_eq!(ip(never), None);
    }

    #[test]
    fn fingerprints() {
        let mut json = obj(json!({"fingerprint": ["{{ default }}", 42, null]}));
        assert_eq!(
            normalize_fingerprint(&mut json),
            Some(vec!["{{ default }}".into(), "42".into()])
        );
        let mut json = obj(json!({"fingerprint": "nope"}));
        assert_eq!(normalize_fingerprint(&mut json), None);
        assert!(!json.contains_key("fingerprint"));
    }
}

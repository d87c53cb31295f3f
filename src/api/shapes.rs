//! Sentry's JSON shapes for `/api/0/` (WEBAPI.md): ids and `count` as strings, `userCount` a
//! number, ISO timestamps with `Z`, camelCase keys, absolute `permalink`s. Pure functions.

use serde_json::{Map, Value, json};

use crate::crons::incident::EnvStatus;
use crate::store::ProjectId;
use crate::store::activity::Activity;
use crate::store::events::{StoredEvent, StoredIssue};
use crate::store::issue_state::Substatus;
use crate::store::monitors::{Monitor, MonitorEnvironment, StoredCheckIn};
use crate::store::projects::{Project, ProjectKey};
use crate::store::quotas::ProjectQuotas;
use crate::store::releases::{Deploy, Release};
use crate::store::retention::ProjectUsage;
use crate::store::users::User;

/// `2026-11-22T10:04:05.123Z` from unix milliseconds.
pub fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

pub fn organization(slug: &str, created_ms: i64, base_url: &str) -> Value {
    json!({
        "id": "1", "slug": slug, "name": slug, "dateCreated": iso(created_ms),
        "isEarlyAdopter": false, "require2FA": false, "requireEmailVerification": false,
        "features": [], "avatar": {"avatarType": "letter_avatar", "avatarUuid": null},
        "status": {"id": "active", "name": "active"},
        "links": {"organizationUrl": base_url, "regionUrl": base_url},
    })
}

pub fn project_ref(p: &Project) -> Value {
    json!({"id": p.id.to_string(), "name": p.name, "slug": p.name, "platform": null})
}

/// A project; `storage` (not Sentry's) tells what retention has left of it.
pub fn project(p: &Project, usage: Option<&ProjectUsage>) -> Value {
    let team = json!({"id": "1", "name": "everyone", "slug": "everyone"});
    let usage = usage.cloned().unwrap_or_else(|| ProjectUsage::empty(p.id));
    json!({
        "storage": {
            "events": usage.events, "eventBytes": usage.event_bytes,
            "attachments": usage.attachments, "attachmentBytes": usage.attachment_bytes,
        },
        "id": p.id.to_string(), "slug": p.name, "name": p.name, "platform": null,
        "dateCreated": iso(p.created_at), "isBookmarked": false, "isMember": true,
        "hasAccess": true, "features": [], "firstEvent": null, "environments": [],
        "platforms": [], "hasUserReports": false, "status": "active",
        "team": team, "teams": [team],
    })
}

pub fn key(k: &ProjectKey, dsn: &str, created_ms: i64) -> Value {
    let secret = dsn.replacen(
        &format!("{}@", k.public_key),
        &format!("{}:{}@", k.public_key, k.secret_key),
        1,
    );
    json!({
        "id": k.public_key, "name": "Default", "label": "Default",
        "public": k.public_key, "secret": k.secret_key, "projectId": k.project_id,
        "isActive": k.active, "dateCreated": iso(created_ms),
        "rateLimit": k.rate_limit().map(|l| json!({"count": l.count, "window": l.window_secs})),
        "dsn": {"public": dsn, "secret": secret},
    })
}

/// A project's caps (Snag's; null: none).
pub fn quotas(q: &ProjectQuotas) -> Value {
    json!({"dailyEvents": q.daily_events, "attachmentBytes": q.attachment_bytes})
}

/// `[[bucket start, unix seconds], count]` pairs, oldest first.
pub fn series(counts: &[i64], now_ms: i64, bucket_ms: i64) -> Value {
    let n = counts.len() as i64;
    let current = now_ms.div_euclid(bucket_ms) * bucket_ms;
    Value::Array(
        counts
            .iter()
            .enumerate()
            .map(|(i, c)| json!([(current - (n - 1 - i as i64) * bucket_ms) / 1000, c]))
            .collect(),
    )
}

/// A Snag user as Sentry's API shows an account (`/auth/`, assignees): the email is the name.
pub fn account(u: &User) -> Value {
    json!({
        "id": u.id.to_string(), "name": u.email, "username": u.email, "email": u.email,
        "isActive": true, "hasPasswordAuth": true, "isManaged": false, "isSuperuser": u.is_admin,
        "isStaff": false, "has2fa": false, "avatarUrl": null,
        "avatar": {"avatarType": "letter_avatar", "avatarUuid": null},
        "emails": [{"id": u.id.to_string(), "email": u.email, "is_verified": true}],
        "identities": [], "permissions": [], "experiments": {}, "options": {},
    })
}

/// A release as Sentry shows it (no commits nor authors: Snag keeps none).
pub fn release(r: &Release, projects: &[(ProjectId, String)], last_deploy: Option<Value>) -> Value {
    let short = r
        .version
        .rsplit_once('@')
        .map_or(r.version.as_str(), |(_, v)| v);
    let projects: Vec<Value> = projects
        .iter()
        .map(|(id, slug)| {
            json!({"id": id.get(), "slug": slug, "name": slug, "platform": null, "platforms": [],
                   "newGroups": r.new_issues, "hasHealthData": false})
        })
        .collect();
    json!({
        "id": r.id, "version": r.version, "shortVersion": short, "ref": r.reference, "url": r.url,
        "status": r.status, "dateCreated": iso(r.date_created),
        "dateReleased": r.date_released.map(iso), "firstEvent": r.first_event.map(iso),
        "lastEvent": r.last_event.map(iso), "newGroups": r.new_issues, "deployCount": r.deploys,
        "lastDeploy": last_deploy, "commitCount": 0, "lastCommit": null, "authors": [],
        "owner": null, "data": {}, "projects": projects, "versionInfo": null,
        "currentProjectMeta": {}, "userAgent": null,
    })
}

pub fn deploy(d: &Deploy) -> Value {
    json!({"id": d.id.to_string(), "environment": d.environment, "name": d.name, "url": d.url,
           "dateStarted": d.date_started.map(iso), "dateFinished": iso(d.date_finished)})
}

/// One entry of an issue's activity as Sentry shows it (times in its data as ISO dates).
pub fn activity(a: &Activity) -> Value {
    let mut data = a.data();
    if let Some(until) = data.get("ignoreUntil").and_then(Value::as_i64) {
        data["ignoreUntil"] = json!(iso(until));
    }
    let user = a.user_id.zip(a.user_email.as_ref()).map(|(id, email)| {
        json!({"id": id.to_string(), "name": email, "username": email, "email": email})
    });
    json!({"id": a.id.to_string(), "type": a.kind, "data": data,
           "dateCreated": iso(a.created_at), "user": user})
}

/// An issue's `assignedTo` as Sentry shows it.
pub fn assignee(u: &User) -> Value {
    json!({"type": "user", "id": u.id.to_string(), "name": u.email, "email": u.email})
}

/// What Sentry says beside an ignored issue's status.
fn status_details(i: &StoredIssue) -> Value {
    if let Some(version) = &i.resolved_in_release {
        return json!({"inRelease": version, "actor": null});
    }
    match (i.substatus, i.ignored_until) {
        (_, Some(until)) => json!({"ignoreUntil": iso(until), "ignoreCount": null,
            "ignoreWindow": null, "ignoreUserCount": null, "ignoreUserWindow": null, "actor": null}),
        (Substatus::ArchivedUntilEscalating, _) => json!({"ignoreUntilEscalating": true}),
        _ => json!({}),
    }
}

/// Sentry's `type` of an issue: a monitor's failures are a generic issue.
fn issue_type(i: &StoredIssue) -> &str {
    match i.issue_type.as_str() {
        crate::crons::occurrence::ISSUE_TYPE => "generic",
        other => other,
    }
}

/// Sentry's `issueCategory` of an issue: `cron` for a monitor's failures.
fn issue_category(i: &StoredIssue) -> &'static str {
    match i.issue_type.as_str() {
        crate::crons::occurrence::ISSUE_TYPE => "cron",
        _ => "error",
    }
}

/// An issue as the list and detail endpoints show it (`stats` added by the caller).
pub fn issue(i: &StoredIssue, p: &Project, base_url: &str, org: &str) -> Value {
    let metadata: Value = serde_json::from_str(&i.metadata).unwrap_or_else(|_| json!({}));
    json!({
        "id": i.id.to_string(),
        "shortId": format!("{}-{}", p.name.to_uppercase(), i.short_id),
        "title": i.title, "culprit": i.culprit,
        "permalink": format!("{}/issues/{}", base_url.trim_end_matches('/'), i.id),
        "level": i.level, "status": i.status, "statusDetails": status_details(i), "substatus": i.substatus,
        "type": issue_type(i), "issueType": i.issue_type, "issueCategory": issue_category(i),
        "platform": i.platform, "logger": null, "metadata": metadata,
        "count": i.times_seen.to_string(), "userCount": i.users_seen,
        "firstSeen": iso(i.first_seen), "lastSeen": iso(i.last_seen),
        "firstRelease": i.first_release.as_ref().map(|v| json!({"version": v})),
        "lastRelease": i.last_release.as_ref().map(|v| json!({"version": v})),
        "numComments": 0,
        "assignedTo": i.assignee_id.zip(i.assignee_email.as_ref()).map(|(id, email)| {
            json!({"type": "user", "id": id.to_string(), "name": email, "email": email})
        }), "isBookmarked": false, "isPublic": false,
        "isSubscribed": false, "hasSeen": false, "shareId": null, "subscriptionDetails": null,
        "annotations": [], "isUnhandled": false,
        "project": project_ref(p),
        "organization": {"slug": org},
    })
}

/// A cron monitor, with its environments (error first, then ok, then active; the newest
/// check-in first among equals) and its project's JSON.
pub fn monitor(m: &Monitor, project: Value, environments: &[&MonitorEnvironment]) -> Value {
    let mut environments = environments.to_vec();
    environments.sort_by_key(|e| (status_rank(e.status.0), std::cmp::Reverse(e.last_checkin)));
    let environments: Vec<Value> = environments
        .iter()
        .map(|e| monitor_environment(m, e))
        .collect();
    json!({
        "id": m.guid, "slug": m.slug, "name": m.name,
        "status": if m.disabled { "disabled" } else { "active" },
        "isMuted": m.is_muted, "type": "cron_job", "dateCreated": iso(m.created_at),
        "project": project, "owner": null, "config": m.config.to_json(),
        "environments": environments,
    })
}

fn status_rank(status: EnvStatus) -> u8 {
    match status {
        EnvStatus::Error => 0,
        EnvStatus::Ok => 1,
        EnvStatus::Active => 2,
    }
}

/// A monitor's state in one environment; `disabled` with the monitor.
fn monitor_environment(m: &Monitor, e: &MonitorEnvironment) -> Value {
    let incident = e.incident_started.map(|started| {
        json!({"startingTimestamp": iso(started), "resolvingTimestamp": null, "brokenNotice": null})
    });
    json!({
        "name": e.environment,
        "status": if m.disabled { "disabled" } else { e.status.0.as_str() },
        "isMuted": m.is_muted, "dateCreated": iso(e.created_at),
        "lastCheckIn": e.last_checkin.map(iso), "nextCheckIn": e.next_checkin.map(iso),
        "nextCheckInLatest": e.next_checkin_latest.map(iso), "activeIncident": incident,
    })
}

/// A monitor's run in `environment`; `config` is the monitor's (Snag keeps no copy per run).
pub fn check_in(environment: &str, c: &StoredCheckIn, config: &Value) -> Value {
    json!({
        "id": c.guid, "environment": environment, "status": c.status.0.as_str(),
        "duration": c.duration, "dateCreated": iso(c.date_added), "dateAdded": iso(c.date_added),
        "dateUpdated": iso(c.date_updated), "expectedTime": c.expected_time.map(iso),
        "monitorConfig": config,
    })
}

/// The event's indexed tags (its fields Sentry promotes to tags, then its own) as
/// `[{"key", "value"}]`, by key as Sentry lists them.
fn tags(json: &Value) -> Value {
    let Some(event) = json.as_object() else {
        return json!([]);
    };
    let mut tags = crate::normalize::indexed_tags(event);
    tags.sort_by(|a, b| a.0.cmp(&b.0));
    Value::Array(
        tags.into_iter()
            .map(|(key, value)| json!({"key": key, "value": value}))
            .collect(),
    )
}

/// The event's user with Sentry's string fields (SDKs send numeric ids too; sentry-cli reads
/// strings).
fn user(user: Option<&Value>) -> Value {
    let Some(user) = user.and_then(Value::as_object) else {
        return Value::Null;
    };
    let text = |k: &str| match user.get(k) {
        Some(Value::String(s)) => Value::String(s.clone()),
        Some(Value::Number(n)) => Value::String(n.to_string()),
        _ => Value::Null,
    };
    json!({"id": text("id"), "email": text("email"), "username": text("username"),
           "ip_address": text("ip_address"), "name": text("name"), "data": null})
}

fn message(json: &Value) -> String {
    let entry = json.get("logentry");
    entry
        .and_then(|l| l.get("formatted"))
        .or_else(|| entry.and_then(|l| l.get("message")))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

/// An event in a list (`full = false`), or in full with its `entries`.
pub fn event(e: &StoredEvent, json: &Value, issue: Option<&StoredIssue>, full: bool) -> Value {
    let is_error = json.get("exception").is_some();
    let mut out = json!({
        "id": e.event_id, "eventID": e.event_id,
        "groupID": e.issue_id.to_string(), "projectID": e.project_id.to_string(),
        "event.type": if is_error { "error" } else { "default" },
        "type": if is_error { "error" } else { "default" },
        "platform": e.platform, "title": e.title, "message": message(json),
        "culprit": issue.map(|i| i.culprit.as_str()).unwrap_or(""),
        "location": null, "crashFile": null,
        "dateCreated": iso(e.timestamp), "dateReceived": iso(e.received),
        "user": user(json.get("user")),
        "tags": tags(json),
    });
    if full {
        let map = out.as_object_mut().expect("an object");
        map.insert("entries".into(), Value::Array(entries(json)));
        for key in ["contexts", "sdk", "release", "dist", "environment"] {
            let value = json.get(key).cloned().unwrap_or(Value::Null);
            let value = match (key, value) {
                ("release", Value::String(v)) => json!({"version": v}),
                (_, v) => v,
            };
            map.insert(key.into(), value);
        }
        map.insert(
            "metadata".into(),
            issue
                .and_then(|i| serde_json::from_str(&i.metadata).ok())
                .unwrap_or_else(|| json!({})),
        );
        map.insert("errors".into(), json!([]));
        map.insert(
            "context".into(),
            json.get("extra").cloned().unwrap_or_else(|| json!({})),
        );
        map.insert(
            "packages".into(),
            json.get("modules").cloned().unwrap_or_else(|| json!({})),
        );
    }
    out
}

/// Sentry's `entries`: exception, stacktrace, threads, message, breadcrumbs, request.
fn entries(json: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(values) = json.pointer("/exception/values").and_then(Value::as_array) {
        let values: Vec<Value> = values
            .iter()
            .map(|e| {
                let mut e = e.clone();
                if let Some(st) = e.get_mut("stacktrace") {
                    *st = stacktrace(st);
                }
                e
            })
            .collect();
        out.push(json!({"type": "exception", "data": {"values": values, "hasSystemFrames": true}}));
    }
    if let Some(st) = json.get("stacktrace") {
        out.push(json!({"type": "stacktrace", "data": stacktrace(st)}));
    }
    if let Some(threads) = json.pointer("/threads/values").and_then(Value::as_array) {
        let values: Vec<Value> = threads
            .iter()
            .map(|t| {
                let mut t = t.clone();
                if let Some(st) = t.get_mut("stacktrace") {
                    *st = stacktrace(st);
                }
                t
            })
            .collect();
        out.push(json!({"type": "threads", "data": {"values": values}}));
    }
    if let Some(entry) = json.get("logentry") {
        out.push(json!({"type": "message", "data": entry}));
    }
    if let Some(crumbs) = json.get("breadcrumbs") {
        out.push(json!({"type": "breadcrumbs", "data": crumbs}));
    }
    if let Some(request) = json.get("request").filter(|r| r.is_object()) {
        out.push(json!({"type": "request", "data": request_entry(request)}));
    }
    out
}

/// Sentry's request entry: headers, query and cookies as lists of `[name, value]` pairs
/// (header names in Relay's `Title-Case`), whatever shape the SDK sent them in.
fn request_entry(request: &Value) -> Value {
    let text = |key: &str| request.get(key).cloned().unwrap_or(Value::Null);
    let headers: Vec<(String, String)> = pairs(request.get("headers"), None)
        .into_iter()
        .map(|(name, value)| (title_case(&name), value))
        .collect();
    let content_type = headers
        .iter()
        .find(|(name, _)| name == "Content-Type")
        .map(|(_, v)| v.split(';').next().unwrap_or("").trim().to_owned());
    let query = request.get("query_string").or_else(|| request.get("query"));
    json!({
        "method": text("method"),
        "url": text("url"),
        "query": pairs(query, Some('&')),
        "fragment": text("fragment"),
        "data": text("data"),
        "headers": headers,
        "cookies": pairs(request.get("cookies"), Some(';')),
        "env": text("env"),
        "inferredContentType": content_type,
    })
}

/// `{"a": "1"}`, `[["a", "1"]]`, or text: a query string (`separator` `&`) or cookies (`;`).
fn pairs(value: Option<&Value>, separator: Option<char>) -> Vec<(String, String)> {
    let as_text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    match value {
        Some(Value::Object(map)) => map.iter().map(|(k, v)| (k.clone(), as_text(v))).collect(),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|pair| match pair.as_array()?.as_slice() {
                [k, v] => Some((as_text(k), as_text(v))),
                _ => None,
            })
            .collect(),
        // A query string, decoded as a form is.
        Some(Value::String(s)) if separator == Some('&') => {
            url::form_urlencoded::parse(s.trim_start_matches('?').as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        }
        // A `Cookie` header: `a=1; b=2`.
        Some(Value::String(s)) if separator == Some(';') => s
            .split(';')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| {
                let (k, v) = part.split_once('=').unwrap_or((part, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// `content-type` → `Content-Type`, as Relay normalizes header names (the first letter of
/// each part uppercased, the rest left as sent).
fn title_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut start = true;
    for c in name.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = c == '-';
    }
    out
}

/// Frames with the API's camelCase keys and `context: [[lineno, line], …]`.
fn stacktrace(st: &Value) -> Value {
    let frames: Vec<Value> = st
        .get("frames")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .map(|f| {
            let mut out = Map::new();
            for (from, to) in [
                ("filename", "filename"),
                ("abs_path", "absPath"),
                ("module", "module"),
                ("function", "function"),
                ("lineno", "lineNo"),
                ("colno", "colNo"),
                ("in_app", "inApp"),
                ("vars", "vars"),
                ("package", "package"),
                ("platform", "platform"),
                ("instruction_addr", "instructionAddr"),
            ] {
                out.insert(to.into(), f.get(from).cloned().unwrap_or(Value::Null));
            }
            let line = f.get("lineno").and_then(Value::as_i64);
            let lines = |key: &str| -> Vec<Value> {
                f.get(key)
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            };
            let (pre, post) = (lines("pre_context"), lines("post_context"));
            let mut context = Vec::new();
            if let (Some(line), Some(current)) = (line, f.get("context_line")) {
                // Line numbers are the sender's: saturate rather than overflow.
                let first = line.saturating_sub(pre.len() as i64);
                for (i, l) in pre
                    .iter()
                    .chain(std::iter::once(current))
                    .chain(&post)
                    .enumerate()
                {
                    context.push(json!([first.saturating_add(i as i64), l]));
                }
            }
            out.insert("context".into(), Value::Array(context));
            Value::Object(out)
        })
        .collect();
    json!({"frames": frames, "framesOmitted": null, "hasSystemFrames": true, "registers": null})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_entries_hold_lists_of_pairs_as_sentry_gives_them() {
        // What the Python SDK's WSGI integration sends.
        let entry = request_entry(&json!({"method": "GET", "url": "http://shop.test/cart",
            "query_string": "id=7&q=red%20shoes&q=blue", "cookies": "session=abc; theme=dark",
            "headers": {"content-type": "application/json; charset=utf-8", "x-request-ID": "r1"},
            "env": {"REMOTE_ADDR": "10.0.0.7"}}));
        assert_eq!(
            entry["query"],
            json!([["id", "7"], ["q", "red shoes"], ["q", "blue"]])
        );
        assert_eq!(
            entry["headers"],
            json!([
                ["Content-Type", "application/json; charset=utf-8"],
                ["X-Request-ID", "r1"]
            ])
        );
        assert_eq!(
            entry["cookies"],
            json!([["session", "abc"], ["theme", "dark"]])
        );
        assert_eq!(entry["inferredContentType"], "application/json");
        assert_eq!(entry["env"]["REMOTE_ADDR"], "10.0.0.7");
        // Pairs and objects are taken as they are; anything else is no pairs.
        let entry = request_entry(&json!({"query_string": [["a", "1"], ["b"], "c"],
            "cookies": {"k": 1}, "headers": "not headers"}));
        assert_eq!(entry["query"], json!([["a", "1"]]));
        assert_eq!(entry["cookies"], json!([["k", "1"]]));
        assert_eq!(entry["headers"], json!([]));
        assert_eq!(entry["inferredContentType"], Value::Null);
    }

    #[test]
    fn frames_get_camel_case_and_numbered_context() {
        let st = json!({"frames": [{"filename": "a.py", "abs_path": "/a.py", "lineno": 12, "in_app": true,
            "pre_context": ["x", "y"], "context_line": "boom()", "post_context": ["z"]}]});
        let out = stacktrace(&st);
        let frame = &out["frames"][0];
        assert_eq!(frame["absPath"], "/a.py");
        assert_eq!(frame["lineNo"], 12);
        assert_eq!(frame["inApp"], true);
        assert_eq!(
            frame["context"],
            json!([[10, "x"], [11, "y"], [12, "boom()"], [13, "z"]])
        );
    }

    #[test]
    fn users_get_string_fields_and_huge_lines_saturate() {
        assert_eq!(user(Some(&json!({"id": 42, "email": "a@b.c"})))["id"], "42");
        assert_eq!(user(Some(&json!("nope"))), Value::Null);
        let st = json!({"frames": [{"lineno": i64::MAX, "context_line": "x", "post_context": ["y"],
                                    "pre_context": []}, {"lineno": i64::MIN, "context_line": "x", "pre_context": ["w"]}]});
        let out = stacktrace(&st);
        assert_eq!(
            out["frames"][0]["context"],
            json!([[i64::MAX, "x"], [i64::MAX, "y"]])
        );
        assert_eq!(
            out["frames"][1]["context"],
            json!([[i64::MIN, "w"], [i64::MIN + 1, "x"]])
        );
    }

    #[test]
    fn series_and_timestamps() {
        assert_eq!(iso(1_795_312_455_775), "2026-11-22T01:54:15.775Z");
        let s = series(&[1, 2, 3], 7_200_000 + 5, 3_600_000);
        assert_eq!(s, json!([[0, 1], [3600, 2], [7200, 3]]));
    }
}

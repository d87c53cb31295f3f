//! The REST API (`/api/0/`): the real sentry-cli against a running Snag, then every endpoint of
//! the OpenAPI document, tokens and scopes, and malformed input.

use serde_json::{Value, json};
use snag::store::{IssueId, ProjectId};

use crate::helpers::{TestApp, event_envelope, post_envelope, send_raw, spawn_app};

fn sentry_cli() -> String {
    crate::helpers::npm_tool("sentry-cli", "sentry-cli")
}

pub(crate) fn error_event(i: usize) -> Value {
    json!({
        "event_id": uuid::Uuid::new_v4().simple().to_string(),
        "platform": "python",
        "tags": {"deploy": "blue"},
        "user": {"id": "u1"},
        "exception": {"values": [{"type": "LookupError", "value": format!("missing key {i}"),
            "stacktrace": {"frames": [{"module": "shop.cart", "function": format!("step_{i}"),
                                       "lineno": 3, "in_app": true}]}}]}
    })
}

/// Snag with project `shop` (id 1, key `publickey`), `issues` issues, and a full token that
/// acts for `dev@shop.test`.
pub(crate) async fn app_with_issues(issues: usize) -> (TestApp, String) {
    let app = spawn_app().await;
    app.project("shop", ProjectId(1), "publickey").await;
    for i in 0..issues {
        let r = post_envelope(&app, 1, "publickey", &event_envelope(&error_event(i))).await;
        assert_eq!(r.status, 200);
    }
    let token = full_token(&app).await;
    (app, token)
}

/// A full token that acts for a new admin, `dev@shop.test`.
pub(crate) async fn full_token(app: &TestApp) -> String {
    let dev = app
        .store
        .create_user("dev@shop.test", "correct horse battery", true)
        .await
        .unwrap();
    let (token, _) = app
        .store
        .create_token("tests", &[], Some(dev.id))
        .await
        .unwrap();
    token
}

async fn cli(app: &TestApp, token: &str, args: &[&str]) -> String {
    let (ok, out) = cli_outcome(app, token, args).await;
    assert!(ok, "sentry-cli {args:?}: {out}");
    out
}

/// Whether sentry-cli succeeded, and what it printed (stdout, then stderr).
pub(crate) async fn cli_outcome(app: &TestApp, token: &str, args: &[&str]) -> (bool, String) {
    let out = tokio::process::Command::new(sentry_cli())
        .args(args)
        .env("SENTRY_URL", format!("http://127.0.0.1:{}", app.port))
        .env("SENTRY_AUTH_TOKEN", token)
        .env("SENTRY_ORG", "snag")
        .env(
            "SENTRY_DSN",
            format!("http://publickey@127.0.0.1:{}/1", app.port),
        )
        .env_remove("SENTRY_PROJECT")
        .output()
        .await
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), printed)
}

/// A request with a bearer token; the status and the JSON answer.
pub(crate) async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, Value) {
    let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
    if let Some(t) = token {
        headers.push(("Authorization".to_owned(), format!("Bearer {t}")));
    }
    let r = send_raw(app.port, method, path, &headers, body.as_bytes(), false).await;
    let json = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, json)
}

#[tokio::test]
async fn sentry_cli_lists_pages_changes_status_and_finds_what_it_sent() {
    let (app, token) = app_with_issues(105).await;
    let out = cli(&app, &token, &["organizations", "list"]).await;
    assert!(out.contains("| snag"), "{out}");
    let out = cli(&app, &token, &["projects", "list"]).await;
    assert!(out.contains("| shop"), "{out}");
    // 105 issues: two pages of 100.
    let out = cli(
        &app,
        &token,
        &["issues", "list", "-p", "shop", "--pages", "3"],
    )
    .await;
    assert_eq!(out.matches("LookupError").count(), 105, "{out}");
    let out = cli(
        &app,
        &token,
        &[
            "issues",
            "list",
            "-p",
            "shop",
            "--query",
            "\"missing key 42\"",
        ],
    )
    .await;
    assert_eq!(out.matches("LookupError").count(), 1, "{out}");
    assert!(out.contains("missing key 42"));

    let id = app.store.list_issues(ProjectId(1)).await.unwrap()[0]
        .id
        .to_string();
    let status = |app: &TestApp| {
        let id: IssueId = id.parse().unwrap();
        let store = app.store.clone();
        async move { store.get_issue(id).await.unwrap().unwrap().status }
    };
    cli(
        &app,
        &token,
        &["issues", "resolve", "-p", "shop", "-i", &id],
    )
    .await;
    assert_eq!(status(&app).await.as_str(), "resolved");
    cli(&app, &token, &["issues", "mute", "-p", "shop", "-i", &id]).await;
    assert_eq!(status(&app).await.as_str(), "ignored");
    cli(
        &app,
        &token,
        &["issues", "unresolve", "-p", "shop", "-i", &id],
    )
    .await;
    assert_eq!(status(&app).await.as_str(), "unresolved");

    let out = cli(&app, &token, &["events", "list", "-p", "shop"]).await;
    assert!(out.contains("LookupError: missing key"), "{out}");
    let out = cli(&app, &token, &["send-event", "-m", "hello from sentry-cli"]).await;
    let event_id = out
        .lines()
        .find_map(|l| l.strip_prefix("Event id: "))
        .expect("the sent event's id")
        .replace('-', "");
    let (status, event) = call(
        &app,
        "GET",
        &format!("/api/0/projects/snag/shop/events/{event_id}/"),
        Some(&token),
        "",
    )
    .await;
    assert_eq!(status, 200, "{event}");
    assert_eq!(event["eventID"], event_id.as_str());
    assert_eq!(event["title"], "hello from sentry-cli");
    app.stop().await;
}

/// The monitor the endpoint test creates.
const MONITOR: &str = r#"{"project": "shop", "name": "Nightly", "slug": "nightly",
    "config": {"schedule_type": "crontab", "schedule": "0 2 * * *"}}"#;

#[tokio::test]
async fn every_documented_endpoint_answers_with_sentrys_types() {
    let (app, token) = app_with_issues(3).await;
    let issue_id = app.store.list_issues(ProjectId(1)).await.unwrap()[0].id;
    let event = app
        .store
        .issue_edge_event(issue_id, false)
        .await
        .unwrap()
        .unwrap()
        .event_id;
    let issue = issue_id.to_string();
    let short_id = format!(
        "SHOP-{}",
        app.store
            .get_issue(issue_id)
            .await
            .unwrap()
            .unwrap()
            .short_id
    );
    // An attachment of the event (attachments may come after their event).
    let body = format!(
        "{{\"event_id\":\"{event}\"}}\n\
         {{\"type\":\"attachment\",\"length\":5,\"filename\":\"a.txt\"}}\nhello\n"
    );
    let r = post_envelope(&app, 1, "publickey", body.as_bytes()).await;
    assert_eq!(r.status, 200);
    let (_, listed) = call(
        &app,
        "GET",
        &format!("/api/0/projects/snag/shop/events/{event}/attachments/"),
        Some(&token),
        "",
    )
    .await;
    let attachment = listed[0]["id"].as_str().unwrap().to_owned();
    for (method, path, _, _) in snag::api::openapi::ENDPOINTS {
        let path = path
            .replace("{attachment_id}", &attachment)
            .replace("{short_id}", &short_id)
            .replace("{org}", "snag")
            .replace("{project}", "shop")
            .replace("{issue_id}", &issue)
            .replace("{event_id}", &event)
            .replace("{key}", "deploy")
            .replace("{key_id}", "publickey")
            .replace("{monitor_slug}", "nightly");
        let mut path = path.replace("{version}", "shop%402.0");
        if path.ends_with("/organizations/snag/events/") || path.ends_with("/events/validate/") {
            path.push_str("?field=title&field=count()");
        } else if path.ends_with("/stats_v2/") {
            path.push_str("?field=sum(quantity)&groupBy=outcome&category=error");
        } else if path.ends_with("/trace-logs/") {
            path.push_str("?traceId=0123456789abcdef0123456789abcdef");
        }
        let monitors = path.contains("/monitors/");
        if monitors && *method == "delete" && app.store.monitor("nightly").await.unwrap().is_none()
        {
            // Deleted through the organization already: again, to delete it through its project.
            let (status, json) = call(
                &app,
                "POST",
                "/api/0/organizations/snag/monitors/",
                Some(&token),
                MONITOR,
            )
            .await;
            assert_eq!(status, 201, "{json}");
        }
        let body = if monitors && *method == "post" {
            MONITOR
        } else if monitors && *method == "put" {
            r#"{"isMuted": true}"#
        } else if path.ends_with("/releases/") && *method == "post" {
            r#"{"version": "shop@2.0", "projects": ["shop"]}"#
        } else if path.ends_with("/deploys/") {
            r#"{"environment": "production"}"#
        } else if path.contains("/releases/") && *method == "put" {
            r#"{"dateReleased": "2026-12-01T10:00:00Z"}"#
        } else if *method == "post" {
            r#"{"text": "seen on the checkout page"}"#
        } else if *method == "put" {
            if path.ends_with("/keys/publickey/") {
                r#"{"rateLimit": {"count": 1000, "window": 60}}"#
            } else if path.ends_with("/projects/snag/shop/") {
                r#"{"quotas": {"dailyEvents": 100000}}"#
            } else if path.contains("alert-settings") {
                r#"{"spikeMinCount": 12}"#
            } else if path.contains("grouping-rules") {
                r#"{"fingerprintRules": "error.type:LookupError -> lookups"}"#
            } else {
                r#"{"status": "resolved"}"#
            }
        } else {
            ""
        };
        let (status, json) = call(&app, &method.to_uppercase(), &path, Some(&token), body).await;
        let expected = match *method {
            _ if path.ends_with("/autofix/") => 403,
            "post" => 201,
            "delete" if monitors => 202,
            "delete" => 204,
            _ => 200,
        };
        assert_eq!(status, expected, "{method} {path}: {json}");
    }

    // Sentry's types: ids and count are strings, userCount a number, permalink a URL.
    let (_, list) = call(
        &app,
        "GET",
        "/api/0/projects/snag/shop/issues/?query=&statsPeriod=24h",
        Some(&token),
        "",
    )
    .await;
    let first = &list[0];
    assert!(first["id"].is_string() && first["count"].is_string());
    assert_eq!(first["userCount"], 1);
    assert!(
        first["permalink"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert_eq!(first["stats"]["24h"].as_array().unwrap().len(), 24);
    assert_eq!(first["project"]["slug"], "shop");
    let (_, detail) = call(
        &app,
        "GET",
        &format!("/api/0/issues/{issue}/"),
        Some(&token),
        "",
    )
    .await;
    assert_eq!(detail["stats"]["30d"].as_array().unwrap().len(), 30);
    assert!(
        detail["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["key"] == "deploy")
    );
    let (_, latest) = call(
        &app,
        "GET",
        &format!("/api/0/issues/{issue}/events/latest/"),
        Some(&token),
        "",
    )
    .await;
    let frame = &latest["entries"][0]["data"]["values"][0]["stacktrace"]["frames"][0];
    assert_eq!(frame["lineNo"], 3);
    assert_eq!(frame["inApp"], true);
    let (status, by_short) = call(&app, "GET", "/api/0/issues/SHOP-1/", Some(&token), "").await;
    assert_eq!(
        (status, by_short["shortId"].as_str()),
        (200, Some("SHOP-1"))
    );
    let (_, all) = call(
        &app,
        "GET",
        "/api/0/organizations/snag/issues/?project=-1&statsPeriod=1w&groupStatsPeriod=24h&query=",
        Some(&token),
        "",
    )
    .await;
    assert_eq!(all.as_array().unwrap().len(), 3, "{all}");
    assert_eq!(all[0]["stats"]["24h"].as_array().unwrap().len(), 24);
    let (_, settings) = call(
        &app,
        "GET",
        "/api/0/projects/snag/shop/alert-settings/",
        Some(&token),
        "",
    )
    .await;
    assert_eq!(settings["spikeMinCount"], 12);
    let (_, keys) = call(
        &app,
        "GET",
        "/api/0/projects/snag/shop/keys/",
        Some(&token),
        "",
    )
    .await;
    assert_eq!(
        keys[0]["dsn"]["public"],
        format!("http://publickey@127.0.0.1:{}/1", app.port)
    );
    app.stop().await;
}

#[tokio::test]
async fn tokens_scopes_pages_and_bad_input_get_clear_answers() {
    let (app, token) = app_with_issues(5).await;
    let (reader, _) = app
        .store
        .create_token(
            "read only",
            &["event:read".to_owned(), "project:read".to_owned()],
            None,
        )
        .await
        .unwrap();
    let issues = "/api/0/projects/snag/shop/issues/";
    let (status, body) = call(&app, "GET", issues, None, "").await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (401, Some("Authentication credentials were not provided."))
    );
    let (status, body) = call(&app, "GET", issues, Some("snag_not_a_token"), "").await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (401, Some("Invalid token"))
    );
    assert_eq!(call(&app, "GET", issues, Some(&reader), "").await.0, 200);
    let (status, body) = call(
        &app,
        "PUT",
        issues,
        Some(&reader),
        r#"{"status": "resolved"}"#,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body["detail"].is_string());
    let (_, root) = call(&app, "GET", "/api/0/", Some(&reader), "").await;
    assert_eq!(
        root["auth"]["scopes"],
        json!(["event:read", "project:read"])
    );
    assert_eq!(
        call(&app, "GET", "/api/0/", None, "").await.1["auth"],
        Value::Null
    );

    // Pages of 2: Link header cursors, and the end says results="false".
    let r = send_raw(
        app.port,
        "GET",
        &format!("{issues}?per_page=2&cursor=0:4:0"),
        &[("Authorization".to_owned(), format!("Bearer {token}"))],
        b"",
        false,
    )
    .await;
    let link = r.header("link").unwrap().to_owned();
    assert!(
        link.contains("rel=\"next\"; results=\"false\"; cursor=\"0:6:0\""),
        "{link}"
    );
    assert!(
        link.contains("rel=\"previous\"; results=\"true\"; cursor=\"0:2:1\""),
        "{link}"
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&r.body)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );

    for (method, path, body, expected) in [
        ("GET", format!("{issues}?cursor=garbage"), "", 400),
        ("GET", format!("{issues}?per_page=0"), "", 400),
        ("GET", format!("{issues}?statsPeriod=7y"), "", 400),
        ("GET", format!("{issues}?sort=sideways"), "", 400),
        ("PUT", issues.to_owned(), "{not json", 400),
        ("PUT", issues.to_owned(), r#"{"status": "exploded"}"#, 400),
        ("PUT", issues.to_owned(), "[]", 400),
        ("PUT", "/api/0/issues/1/".to_owned(), r#"{}"#, 400),
        (
            "PUT",
            "/api/0/projects/snag/shop/alert-settings/".to_owned(),
            r#"{"spikeRatio": -2}"#,
            400,
        ),
        (
            "PUT",
            "/api/0/projects/snag/shop/alert-settings/".to_owned(),
            r#"{"webhookUrl": "javascript:x"}"#,
            400,
        ),
        (
            "PUT",
            "/api/0/projects/snag/shop/grouping-rules/".to_owned(),
            r#"{"stacktraceRules": "stack.function:x +nonsense"}"#,
            400,
        ),
        ("GET", "/api/0/organizations/other/".to_owned(), "", 404),
        (
            "GET",
            "/api/0/projects/snag/nope/issues/".to_owned(),
            "",
            404,
        ),
        ("GET", "/api/0/issues/999999/".to_owned(), "", 404),
        ("GET", "/api/0/issues/abc/".to_owned(), "", 404),
        ("GET", "/api/0/issues/1/events/notanid/".to_owned(), "", 404),
        ("GET", "/api/0/nothing/here/".to_owned(), "", 404),
        ("GET", format!("{issues}?per_page=%FF"), "", 400),
        (
            "GET",
            format!("{issues}?cursor=0:9223372036854775807:0"),
            "",
            400,
        ),
    ] {
        let (status, json) = call(&app, method, &path, Some(&token), body).await;
        assert_eq!(status, expected, "{method} {path} {body}: {json}");
        assert!(json["detail"].is_string(), "{method} {path}: {json}");
    }
    // Bulk changes touch only the ids asked for, of this project; none matching answers 204.
    let ids: Vec<IssueId> = app
        .store
        .list_issues(ProjectId(1))
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    let (status, _) = call(
        &app,
        "PUT",
        &format!("{issues}?id={}&id={}", ids[0], ids[1]),
        Some(&token),
        r#"{"status": "resolved"}"#,
    )
    .await;
    assert_eq!(status, 200);
    let resolved = app
        .store
        .list_issues(ProjectId(1))
        .await
        .unwrap()
        .iter()
        .filter(|i| i.status.as_str() == "resolved")
        .count();
    assert_eq!(resolved, 2);
    assert_eq!(
        call(
            &app,
            "PUT",
            &format!("{issues}?id=999999"),
            Some(&token),
            r#"{"status": "resolved"}"#
        )
        .await
        .0,
        204
    );
    app.stop().await;
}

#[tokio::test]
async fn a_corrupt_stored_event_answers_an_opaque_500_not_a_client_error() {
    let (app, token) = app_with_issues(1).await;
    // A zstd frame header and nothing after it.
    if crate::helpers::on_postgres() {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&app.database_url)
            .await
            .unwrap();
        sqlx::query("UPDATE events SET data = decode('28b52ffd00', 'hex')")
            .execute(&mut conn)
            .await
            .unwrap();
    } else {
        let path = app.database_url.trim_start_matches("sqlite://").to_owned();
        rusqlite::Connection::open(path)
            .unwrap()
            .execute("UPDATE events SET data = x'28b52ffd00'", [])
            .unwrap();
    }
    let (status, body) = call(
        &app,
        "GET",
        "/api/0/issues/1/events/latest/",
        Some(&token),
        "",
    )
    .await;
    // The server's fault: a 500 that says nothing of the cause (the log has it).
    assert_eq!((status, &body), (500, &json!({"detail": "Internal Error"})));
    app.stop().await;
}

#[tokio::test]
async fn organization_issue_routes_short_ids_and_filters_answer_what_was_asked() {
    let app = spawn_app().await;
    app.project("shop", ProjectId(1), "publickey").await;
    let (token, _) = app.store.create_token("tests", &[], None).await.unwrap();
    // One issue with events in two environments and two releases.
    for (environment, release) in [
        ("production", "shop@1.0"),
        ("production", "shop@1.1"),
        ("staging", "shop@1.1"),
    ] {
        let mut event = error_event(0);
        event["environment"] = json!(environment);
        event["release"] = json!(release);
        let r = post_envelope(&app, 1, "publickey", &event_envelope(&event)).await;
        assert_eq!(r.status, 200);
    }
    let issue = app.store.list_issues(ProjectId(1)).await.unwrap()[0].clone();
    let org_issue = format!("/api/0/organizations/snag/issues/{}", issue.id);
    let get = |path: String| {
        let (app, token) = (&app, &token);
        async move { call(app, "GET", &path, Some(token), "").await }
    };

    // The routes Sentry's newer clients call, by number and by short id.
    let short_id = format!("SHOP-{}", issue.short_id);
    for path in [
        format!("{org_issue}/"),
        format!("/api/0/organizations/snag/issues/{short_id}/"),
        format!("{org_issue}/events/latest/"),
        format!("{org_issue}/tags/environment/"),
    ] {
        let (status, body) = get(path.clone()).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (_, tag) = get(format!("{org_issue}/tags/environment/")).await;
    assert_eq!(tag["totalValues"], 3);
    let (status, _) = get(format!("/api/0/organizations/other/issues/{}/", issue.id)).await;
    assert_eq!(status, 404);
    // Tag keys across the organization, with how many events carry them (once the writer
    // has folded its pending tag rows, every quarter second).
    let mut environment = None;
    for _ in 0..50 {
        let (_, keys) = get("/api/0/organizations/snag/tags/?project=1".into()).await;
        environment = keys
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["key"] == "environment")
            .map(|k| k["totalValues"].clone());
        if environment.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(environment, Some(json!(3)));
    let (status, found) = get(format!("/api/0/organizations/snag/shortids/{short_id}/")).await;
    assert_eq!(status, 200);
    assert_eq!(found["groupId"], issue.id.to_string());
    assert_eq!(found["shortId"], short_id);
    assert_eq!(found["projectSlug"], "shop");
    assert_eq!(found["group"]["id"], issue.id.to_string());
    let (status, _) = get("/api/0/organizations/snag/shortids/SHOP-999/".into()).await;
    assert_eq!(status, 404);

    // An update through the organization route.
    let (status, updated) = call(
        &app,
        "PUT",
        &format!("{org_issue}/"),
        Some(&token),
        r#"{"status": "resolved"}"#,
    )
    .await;
    assert_eq!(
        (status, updated["status"].as_str()),
        (200, Some("resolved"))
    );

    // Issue events honour the query, the environment and the time range.
    let count = |body: &Value| body.as_array().map(Vec::len).unwrap_or(usize::MAX);
    for (query, expected) in [
        ("", 3),
        ("?query=environment:staging", 1),
        ("?environment=production", 2),
        ("?query=release:shop@1.1", 2),
        ("?query=environment:production%20release:shop@1.1", 1),
        ("?query=level:warning", 0),
        ("?statsPeriod=1h", 3),
        ("?start=2001-01-01T00:00:00&end=2001-01-02T00:00:00", 0),
    ] {
        let (status, body) = get(format!("{org_issue}/events/{query}")).await;
        assert_eq!((status, count(&body)), (200, expected), "{query}: {body}");
    }
    for query in [
        "?query=user.email:a@b.c",
        "?statsPeriod=fortnight",
        "?start=2001-01-01T00:00:00",
        "?query=environment:staging&environment=production",
    ] {
        let (status, body) = get(format!("/api/0/issues/{}/events/{query}", issue.id)).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body["detail"].is_string(), "{query}: {body}");
    }

    // The organization's issue list takes a time range (issues seen in it) and `auto` stats.
    let list = "/api/0/organizations/snag/issues/?query=";
    for (range, expected) in [
        ("&statsPeriod=14d", 1),
        ("&start=2001-01-01T00:00:00&end=2001-01-02T00:00:00", 0),
        ("&statsPeriod=24h&groupStatsPeriod=auto", 1),
        // Several environments: issues seen in any of them.
        ("&environment=qa&environment=staging", 1),
        ("&environment=qa&environment=dev", 0),
    ] {
        let (status, body) = get(format!("{list}{range}")).await;
        assert_eq!((status, count(&body)), (200, expected), "{range}: {body}");
    }
    let (_, body) = get(format!("{list}&statsPeriod=24h&groupStatsPeriod=auto")).await;
    assert_eq!(body[0]["stats"]["auto"].as_array().unwrap().len(), 24);
    let (status, _) = get(format!("{list}&statsPeriod=later")).await;
    assert_eq!(status, 400);
    app.stop().await;
}

#[tokio::test]
async fn an_issue_ignored_for_a_while_comes_back_when_its_time_is_up() {
    let (app, token) = app_with_issues(1).await;
    let issue = app.store.list_issues(ProjectId(1)).await.unwrap()[0].id;
    let path = format!("/api/0/issues/{issue}/");
    let put = |body: &'static str| {
        let (app, token, path) = (&app, &token, &path);
        async move { call(app, "PUT", path, Some(token), body).await }
    };
    let before = snag::store::now_ms();
    let (status, ignored) =
        put(r#"{"status": "ignored", "statusDetails": {"ignoreDuration": 60}}"#).await;
    assert_eq!(status, 200, "{ignored}");
    assert_eq!(ignored["status"], "ignored");
    assert_eq!(ignored["substatus"], "archived_until_condition_met");
    let until = ignored["statusDetails"]["ignoreUntil"].as_str().unwrap();
    let until_ms = chrono::DateTime::parse_from_rfc3339(until)
        .unwrap()
        .timestamp_millis();
    assert!(
        (before + 60 * 60_000..before + 61 * 60_000).contains(&until_ms),
        "{until}"
    );

    // Not yet: a round before the time leaves it ignored; the first round after brings it back.
    let roll_ups = snag::store::upkeep::RollUps::new(app.store.clone(), &app.config.web);
    assert_eq!(
        roll_ups.run_once(until_ms - 1).await.unwrap().ignores_ended,
        0
    );
    let (_, still) = call(&app, "GET", &path, Some(&token), "").await;
    assert_eq!(still["status"], "ignored");
    assert_eq!(roll_ups.run_once(until_ms).await.unwrap().ignores_ended, 1);
    let (_, back) = call(&app, "GET", &path, Some(&token), "").await;
    assert_eq!(
        (back["status"].as_str(), back["substatus"].as_str()),
        (Some("unresolved"), Some("ongoing"))
    );
    assert_eq!(back["statusDetails"], json!({}));

    // Ignoring forever after a timed ignore clears the time; what Snag cannot honour is a 400.
    put(r#"{"status": "ignored", "ignoreDuration": 5}"#).await;
    let (_, forever) = put(r#"{"status": "ignored"}"#).await;
    assert_eq!(forever["substatus"], "archived_forever");
    assert_eq!(
        roll_ups
            .run_once(until_ms + 3_600_000)
            .await
            .unwrap()
            .ignores_ended,
        0
    );
    for body in [
        r#"{"status": "ignored", "statusDetails": {"ignoreCount": 100}}"#,
        r#"{"status": "ignored", "statusDetails": {"ignoreDuration": -5}}"#,
        r#"{"status": "ignored", "statusDetails": {"ignoreUntil": "2001-01-01T00:00:00Z"}}"#,
    ] {
        let (status, answer) = put(body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer["detail"].is_string());
    }
    app.stop().await;
}

#[tokio::test]
async fn issues_are_assigned_to_users_and_found_by_assignee() {
    let (app, token) = app_with_issues(3).await;
    let other = app
        .store
        .create_user("ops@shop.test", "correct horse battery", false)
        .await
        .unwrap();
    let (userless, _) = app.store.create_token("ci", &[], None).await.unwrap();
    let ids: Vec<IssueId> = app
        .store
        .list_issues(ProjectId(1))
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    let put = |path: String, body: &'static str| {
        let (app, token) = (&app, &token);
        async move { call(app, "PUT", &path, Some(token), body).await }
    };

    // Who the token acts for.
    let (status, me) = call(&app, "GET", "/api/0/auth/", Some(&token), "").await;
    assert_eq!((status, me["email"].as_str()), (200, Some("dev@shop.test")));
    let (_, index) = call(&app, "GET", "/api/0/", Some(&token), "").await;
    assert_eq!(index["user"]["email"], "dev@shop.test");
    let (status, body) = call(&app, "GET", "/api/0/auth/", Some(&userless), "").await;
    assert_eq!(status, 400, "{body}");

    // A PUT with only assignedTo (Sentry's clients send that), by "me", email and user id.
    let (status, issue) = put(
        format!("/api/0/issues/{}/", ids[0]),
        r#"{"assignedTo": "me"}"#,
    )
    .await;
    assert_eq!(status, 200, "{issue}");
    assert_eq!(issue["assignedTo"]["email"], "dev@shop.test");
    assert_eq!(issue["assignedTo"]["type"], "user");
    assert_eq!(issue["status"], "unresolved");
    let path = format!("/api/0/organizations/snag/issues/{}/", ids[1]);
    let (_, issue) = put(
        path,
        r#"{"assignedTo": "ops@shop.test", "status": "resolved"}"#,
    )
    .await;
    assert_eq!(issue["assignedTo"]["email"], "ops@shop.test");
    assert_eq!(issue["status"], "resolved");
    let body = format!(r#"{{"assignedTo": "user:{}"}}"#, other.id);
    let (status, bulk) = call(
        &app,
        "PUT",
        &format!("/api/0/projects/snag/shop/issues/?id={}", ids[2]),
        Some(&token),
        &body,
    )
    .await;
    assert_eq!(
        (status, bulk["assignedTo"]["email"].as_str()),
        (200, Some("ops@shop.test"))
    );

    // Found by assignee.
    let count = |query: &str| {
        let (app, token, query) = (&app, &token, query.to_owned());
        async move {
            let path = format!("/api/0/projects/snag/shop/issues/?query={query}");
            let (status, body) = call(app, "GET", &path, Some(token), "").await;
            assert_eq!(status, 200, "{query}: {body}");
            body.as_array().unwrap().len()
        }
    };
    assert_eq!(count("is:all%20assigned:me").await, 1);
    assert_eq!(count("is:all%20assigned:ops@shop.test").await, 2);
    assert_eq!(count("is:all%20is:assigned").await, 3);
    assert_eq!(count("is:all%20is:unassigned").await, 0);

    // Unassigned again; what cannot be assigned is a 400.
    let (_, issue) = put(
        format!("/api/0/issues/{}/", ids[0]),
        r#"{"assignedTo": null}"#,
    )
    .await;
    assert_eq!(issue["assignedTo"], Value::Null);
    assert_eq!(count("is:all%20is:unassigned").await, 1);
    for body in [
        r#"{"assignedTo": "nobody@else.test"}"#,
        r#"{"assignedTo": "team:1"}"#,
        r#"{"assignedTo": 42}"#,
        r#"{}"#,
    ] {
        let (status, answer) = put(format!("/api/0/issues/{}/", ids[0]), body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer["detail"].is_string());
    }
    let path = "/api/0/projects/snag/shop/issues/?query=assigned:me";
    let (status, _) = call(&app, "GET", path, Some(&userless), "").await;
    assert_eq!(status, 400);
    app.stop().await;
}

#[tokio::test]
async fn the_activity_log_and_notes_say_who_did_what() {
    let (app, token) = app_with_issues(1).await;
    let issue = app.store.list_issues(ProjectId(1)).await.unwrap()[0].id;
    let base = format!("/api/0/organizations/snag/issues/{issue}");
    let call_as = |method: &'static str, path: String, body: &'static str| {
        let (app, token) = (&app, &token);
        async move { call(app, method, &path, Some(token), body).await }
    };
    let put = |body: &'static str| call_as("PUT", format!("{base}/"), body);
    put(r#"{"status": "resolved"}"#).await;
    // A status or an assignee the issue already has changes nothing and records nothing.
    put(r#"{"status": "resolved"}"#).await;
    put(r#"{"assignedTo": "me"}"#).await;
    put(r#"{"assignedTo": "dev@shop.test"}"#).await;
    put(r#"{"status": "ignored", "ignoreDuration": 30}"#).await;
    let (status, note) = call_as(
        "POST",
        format!("{base}/comments/"),
        r#"{"text": "  retried by hand  "}"#,
    )
    .await;
    assert_eq!(status, 201, "{note}");
    assert_eq!(note["type"], "note");
    assert_eq!(note["data"]["text"], "retried by hand");
    assert_eq!(note["user"]["email"], "dev@shop.test");

    let (status, body) = call_as("GET", format!("{base}/activities/"), "").await;
    assert_eq!(status, 200);
    let kinds: Vec<&str> = body["activity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "note",
            "set_ignored",
            "assigned",
            "set_resolved",
            "first_seen"
        ]
    );
    let ignored = &body["activity"][1];
    assert!(
        ignored["data"]["ignoreUntil"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(ignored["user"]["email"], "dev@shop.test");
    assert_eq!(
        body["activity"][2]["data"]["assigneeEmail"],
        "dev@shop.test"
    );
    let (_, detail) = call_as("GET", format!("/api/0/issues/{issue}/"), "").await;
    assert_eq!(detail["activity"], body["activity"]);
    let (_, notes) = call_as("GET", format!("/api/0/issues/{issue}/comments/"), "").await;
    assert_eq!(notes.as_array().unwrap().len(), 1);
    let (_, same) = call_as("GET", format!("{base}/notes/"), "").await;
    assert_eq!(same, notes, "notes/ is comments/");

    for body in [r#"{"text": "   "}"#, r#"{"note": "x"}"#, "[]"] {
        let (status, answer) = call_as("POST", format!("{base}/comments/"), body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer["detail"].is_string());
    }
    app.stop().await;
}

#[tokio::test]
async fn one_team_holds_every_project_and_every_user() {
    let (app, token) = app_with_issues(0).await;
    let get = |path: &'static str| {
        let (app, token) = (&app, &token);
        async move { call(app, "GET", path, Some(token), "").await }
    };
    let (status, teams) = get("/api/0/organizations/snag/teams/").await;
    assert_eq!(status, 200);
    assert_eq!(teams[0]["slug"], "everyone");
    assert_eq!(teams[0]["memberCount"], 1);
    assert_eq!(teams[0]["projects"][0]["slug"], "shop");
    let (_, projects) = get("/api/0/teams/snag/everyone/projects/").await;
    assert_eq!(projects[0]["slug"], "shop");
    let (_, members) = get("/api/0/organizations/snag/members/").await;
    assert_eq!(members[0]["email"], "dev@shop.test");
    assert_eq!(members[0]["role"], "owner");
    let (_, tags) = get("/api/0/organizations/snag/tags/").await;
    assert_eq!(tags, json!([]), "no events yet");
    let (_, repos) = get("/api/0/organizations/snag/repos/").await;
    assert_eq!(repos, json!([]));
    for path in [
        "/api/0/teams/snag/backend/",
        "/api/0/teams/other/everyone/projects/",
    ] {
        assert_eq!(get(path).await.0, 404, "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn sentry_cli_manages_releases_and_deploys_and_issues_resolve_in_the_next_release() {
    let (app, token) = app_with_issues(0).await;
    // An event names release shop@1.0: the release exists from then on.
    let in_release = |release: &str| {
        let mut event = error_event(7);
        event["release"] = json!(release);
        event
    };
    let r = post_envelope(
        &app,
        1,
        "publickey",
        &event_envelope(&in_release("shop@1.0")),
    )
    .await;
    assert_eq!(r.status, 200);
    let out = cli(&app, &token, &["releases", "list", "-p", "shop"]).await;
    assert!(out.contains("shop@1.0"), "{out}");

    for version in ["shop@1.1", "web 2.0 beta"] {
        cli(&app, &token, &["releases", "new", version, "-p", "shop"]).await;
        let (ok, out) = cli_outcome(
            &app,
            &token,
            &["releases", "set-commits", version, "--auto"],
        )
        .await;
        assert!(
            !ok && !out.contains("panicked"),
            "set-commits fails cleanly: {out}"
        );
        cli(&app, &token, &["releases", "finalize", version]).await;
        cli(
            &app,
            &token,
            &[
                "deploys",
                "new",
                "-r",
                version,
                "-e",
                "production",
                "-n",
                "blue",
            ],
        )
        .await;
        let out = cli(&app, &token, &["deploys", "list", "-r", version]).await;
        assert!(out.contains("production"), "{out}");
        let out = cli(&app, &token, &["releases", "info", version]).await;
        assert!(out.contains(version), "{out}");
        let release = app.store.release(version).await.unwrap().unwrap();
        assert!(release.date_released.is_some(), "finalized");
        assert_eq!(release.deploys, 1);
    }
    let (status, info) = call(
        &app,
        "GET",
        "/api/0/organizations/snag/releases/shop%401.0/",
        Some(&token),
        "",
    )
    .await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["newGroups"], 1);
    assert_eq!(info["projects"][0]["slug"], "shop");
    assert!(info["firstEvent"].is_string() && info["dateReleased"].is_null());
    let (ok, out) = cli_outcome(&app, &token, &["releases", "info", "shop@9.9"]).await;
    assert!(!ok, "{out}");
    cli(&app, &token, &["releases", "archive", "web 2.0 beta"]).await;
    let out = cli(&app, &token, &["releases", "list", "-p", "shop"]).await;
    assert!(
        !out.contains("web 2.0"),
        "archived releases are left out: {out}"
    );
    cli(&app, &token, &["releases", "delete", "web 2.0 beta"]).await;
    assert!(app.store.release("web 2.0 beta").await.unwrap().is_none());

    // Resolved in the next release (after shop@1.1, the newest): an event of shop@1.0 or
    // shop@1.1 leaves it resolved; one of a release made later regresses it.
    let issue = app.store.list_issues(ProjectId(1)).await.unwrap()[0].id;
    let id = issue.to_string();
    cli(
        &app,
        &token,
        &[
            "issues",
            "resolve",
            "-p",
            "shop",
            "-i",
            &id,
            "--next-release",
        ],
    )
    .await;
    let stored = app.store.get_issue(issue).await.unwrap().unwrap();
    assert_eq!(stored.status.as_str(), "resolved");
    assert_eq!(stored.resolved_in_release.as_deref(), Some("shop@1.1"));
    for old in ["shop@1.0", "shop@1.1"] {
        post_envelope(&app, 1, "publickey", &event_envelope(&in_release(old))).await;
        let stored = app.store.get_issue(issue).await.unwrap().unwrap();
        assert_eq!(stored.status.as_str(), "resolved", "an event of {old}");
    }
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    post_envelope(
        &app,
        1,
        "publickey",
        &event_envelope(&in_release("shop@1.2")),
    )
    .await;
    let stored = app.store.get_issue(issue).await.unwrap().unwrap();
    assert_eq!(
        (stored.status.as_str(), stored.substatus.as_str()),
        ("unresolved", "regressed")
    );

    // In a named release, by the API; a release that does not exist is a 400.
    let path = format!("/api/0/issues/{issue}/");
    let body = r#"{"status": "resolved", "statusDetails": {"inRelease": "shop@1.2"}}"#;
    let (status, answer) = call(&app, "PUT", &path, Some(&token), body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["statusDetails"]["inRelease"], "shop@1.2");
    let body = r#"{"status": "resolved", "statusDetails": {"inRelease": "shop@7"}}"#;
    assert_eq!(call(&app, "PUT", &path, Some(&token), body).await.0, 400);
    app.stop().await;
}

#[tokio::test]
async fn user_feedback_and_attachments_are_listed_and_downloaded() {
    let (app, token) = app_with_issues(0).await;
    let event = "cccccccccccccccccccccccccccccccc";
    let message = json!({"message": "with files"}).to_string();
    let report = json!({"event_id": event, "name": "Ann", "email": "ann@example.com",
                        "comments": "it crashed"})
    .to_string();
    let body = format!(
        "{{\"event_id\":\"{event}\"}}\n\
         {{\"type\":\"attachment\",\"length\":11,\"filename\":\"log.txt\",\"content_type\":\"text/plain\"}}\nhello\nworld\n\
         {{\"type\":\"event\"}}\n{message}\n\
         {{\"type\":\"user_report\"}}\n{report}\n"
    );
    assert_eq!(
        post_envelope(&app, 1, "publickey", body.as_bytes())
            .await
            .status,
        200
    );

    let get = |path: String| {
        let (app, token) = (&app, &token);
        async move { call(app, "GET", &path, Some(token), "").await }
    };
    let (status, feedback) = get("/api/0/projects/snag/shop/user-feedback/".into()).await;
    assert_eq!(status, 200);
    assert_eq!(feedback[0]["eventID"], event);
    assert_eq!(feedback[0]["comments"], "it crashed");
    assert_eq!(feedback[0]["email"], "ann@example.com");
    let issue = app.store.list_issues(ProjectId(1)).await.unwrap()[0].id;
    let (status, about) = get(format!("/api/0/issues/{issue}/user-reports/")).await;
    assert_eq!(status, 200);
    assert_eq!(
        about, feedback,
        "the issue's event is the one the feedback is about"
    );
    let base = format!("/api/0/projects/snag/shop/events/{event}/attachments/");
    let (status, listed) = get(base.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(listed[0]["name"], "log.txt");
    assert_eq!(listed[0]["mimetype"], "text/plain");
    assert_eq!(listed[0]["size"], 11);
    let id = listed[0]["id"].as_str().unwrap();
    let headers = [("Authorization".to_owned(), format!("Bearer {token}"))];
    let download = crate::helpers::send_raw(
        app.port,
        "GET",
        &format!("{base}{id}/?download=1"),
        &headers,
        b"",
        false,
    )
    .await;
    assert_eq!(download.status, 200);
    assert_eq!(download.body, b"hello\nworld");
    let (status, _) = get(format!("{base}999/")).await;
    assert_eq!(status, 404);
    let (status, _) = get("/api/0/projects/snag/shop/events/not-an-id/attachments/".into()).await;
    assert_eq!(status, 404);
    app.stop().await;
}

#[tokio::test]
async fn release_endpoints_refuse_bad_input_with_a_clear_answer() {
    let (app, token) = app_with_issues(0).await;
    let send = |method: &'static str, path: String, body: String| {
        let (app, token) = (&app, &token);
        async move { call(app, method, &path, Some(token), &body).await }
    };
    let releases = "/api/0/organizations/snag/releases/".to_owned();
    let (status, _) = send(
        "POST",
        releases.clone(),
        r#"{"version": "shop@1.0", "projects": ["shop"]}"#.into(),
    )
    .await;
    assert_eq!(status, 201);
    for (method, path, body) in [
        ("POST", releases.clone(), "not json".to_owned()),
        ("POST", releases.clone(), "{}".to_owned()),
        (
            "POST",
            releases.clone(),
            r#"{"version": 7, "projects": ["shop"]}"#.to_owned(),
        ),
        (
            "POST",
            releases.clone(),
            r#"{"version": "latest", "projects": ["shop"]}"#.to_owned(),
        ),
        (
            "POST",
            releases.clone(),
            r#"{"version": "a/b", "projects": ["shop"]}"#.to_owned(),
        ),
        (
            "POST",
            releases.clone(),
            json!({"version": "v".repeat(251), "projects": ["shop"]}).to_string(),
        ),
        (
            "POST",
            releases.clone(),
            r#"{"version": "shop@2.0"}"#.to_owned(),
        ),
        (
            "POST",
            releases.clone(),
            r#"{"version": "shop@2.0", "projects": ["nope"]}"#.to_owned(),
        ),
        (
            "POST",
            releases.clone(),
            r#"{"version": "shop@2.0", "projects": "shop"}"#.to_owned(),
        ),
        (
            "POST",
            releases.clone(),
            r#"{"version": "shop@2.0", "projects": ["shop"], "commits": []}"#.to_owned(),
        ),
        (
            "PUT",
            format!("{releases}shop%401.0/"),
            r#"{"dateReleased": "yesterday"}"#.to_owned(),
        ),
        (
            "PUT",
            format!("{releases}shop%401.0/"),
            r#"{"status": "deleted"}"#.to_owned(),
        ),
        (
            "PUT",
            format!("{releases}shop%401.0/"),
            r#"{"ref": 12}"#.to_owned(),
        ),
        (
            "POST",
            format!("{releases}shop%401.0/deploys/"),
            "{}".to_owned(),
        ),
        (
            "POST",
            format!("{releases}shop%401.0/deploys/"),
            r#"{"environment": "prod/eu"}"#.to_owned(),
        ),
        (
            "POST",
            format!("{releases}shop%401.0/deploys/"),
            json!({"environment": "e".repeat(65)}).to_string(),
        ),
        (
            "POST",
            format!("{releases}shop%401.0/deploys/"),
            r#"{"environment": "production", "dateFinished": "soon"}"#.to_owned(),
        ),
        ("GET", format!("{releases}?per_page=0"), String::new()),
        ("GET", format!("{releases}?project=nope"), String::new()),
    ] {
        let (status, body) = send(method, path.clone(), body.clone()).await;
        assert_eq!(status, 400, "{method} {path} {body}");
        assert!(
            body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{method} {path}: {body}"
        );
    }
    for (method, path) in [
        ("GET", format!("{releases}shop%409.9/")),
        ("PUT", format!("{releases}shop%409.9/")),
        ("DELETE", format!("{releases}shop%409.9/")),
        ("GET", format!("{releases}shop%409.9/deploys/")),
        ("POST", format!("{releases}shop%409.9/deploys/")),
        ("GET", "/api/0/projects/snag/nope/releases/".to_owned()),
    ] {
        let (status, body) = send(
            method,
            path.clone(),
            r#"{"environment": "production"}"#.into(),
        )
        .await;
        assert_eq!(status, 404, "{method} {path}: {body}");
    }
    // Nothing of the above was made or changed.
    let (_, listed) = send("GET", releases.clone(), String::new()).await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["dateReleased"], Value::Null);
    app.stop().await;
}

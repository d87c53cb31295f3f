//! The cron monitor endpoints of `/api/0/` against a running Snag: create, list with filters
//! and pages, read, change, the check-ins that HTTP check-ins recorded, delete; the issue a
//! monitor's failure opens read as Sentry's; bad input and missing scopes answered clearly.

use serde_json::{Value, json};
use snag::store::ProjectId;

use crate::helpers::{TestApp, send_raw, spawn_app};
use crate::rest::{call, full_token};

const MONITORS: &str = "/api/0/organizations/snag/monitors/";

/// Snag with projects `jobs` (id 5, key `jobkey`) and `shop` (id 1), and a full token.
async fn app_with_projects() -> (TestApp, String) {
    let app = spawn_app().await;
    app.project("jobs", ProjectId(5), "jobkey").await;
    app.project("shop", ProjectId(1), "publickey").await;
    let token = full_token(&app).await;
    (app, token)
}

/// A `GET` with the token: status, JSON and `Link` header.
pub(crate) async fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value, String) {
    let headers = [("Authorization".to_owned(), format!("Bearer {token}"))];
    let r = send_raw(app.port, "GET", path, &headers, b"", false).await;
    let json = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    let link = r.header("Link").unwrap_or_default().to_owned();
    (r.status, json, link)
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, json) = call(app, "POST", MONITORS, Some(token), &body.to_string()).await;
    assert_eq!(status, 201, "{body}: {json}");
    json
}

async fn put(app: &TestApp, token: &str, slug: &str, body: Value) -> (u16, Value) {
    let path = format!("{MONITORS}{slug}/");
    call(app, "PUT", &path, Some(token), &body.to_string()).await
}

/// An HTTP check-in of project 5, as a shell script sends one.
async fn check_in(app: &TestApp, slug: &str, query: &str) {
    let target = format!("/api/5/cron/{slug}/jobkey/?{query}");
    let r = send_raw(app.port, "GET", &target, &[], b"", false).await;
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
}

fn slugs(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| m["slug"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn monitors_are_created_listed_changed_and_deleted() {
    let (app, token) = app_with_projects().await;

    // Created with the API's config; the slug made from the name.
    let nightly = create(
        &app,
        &token,
        json!({"project": "jobs", "name": "Nightly Invoices", "type": "cron_job",
               "config": {"schedule_type": "crontab", "schedule": "0 2 * * *",
                          "timezone": "Europe/Vienna", "checkin_margin": 5}}),
    )
    .await;
    assert_eq!(nightly["slug"], "nightly-invoices");
    assert_eq!(nightly["name"], "Nightly Invoices");
    assert_eq!(nightly["id"].as_str().unwrap().len(), 32);
    assert_eq!(
        (&nightly["status"], &nightly["isMuted"], &nightly["type"]),
        (&json!("active"), &json!(false), &json!("cron_job"))
    );
    assert!(nightly["dateCreated"].as_str().unwrap().ends_with('Z'));
    assert_eq!(nightly["project"]["slug"], "jobs");
    assert_eq!(nightly["project"]["id"], "5");
    assert_eq!(nightly["owner"], Value::Null);
    assert_eq!(nightly["environments"], json!([]));
    let config = &nightly["config"];
    assert_eq!(
        (
            &config["schedule_type"],
            &config["schedule"],
            &config["timezone"]
        ),
        (
            &json!("crontab"),
            &json!("0 2 * * *"),
            &json!("Europe/Vienna")
        )
    );
    assert_eq!(
        (&config["checkin_margin"], &config["max_runtime"]),
        (&json!(5), &json!(30))
    );
    // The same name again gets the next free slug; a taken slug given is refused, as Sentry.
    let again = create(
        &app,
        &token,
        json!({"project": 5, "name": "Nightly Invoices", "config": {"schedule": "@daily"}}),
    )
    .await;
    assert_eq!(again["slug"], "nightly-invoices-2");
    let (status, body) = call(
        &app,
        "POST",
        MONITORS,
        Some(&token),
        &json!({"project": "jobs", "name": "x", "slug": "nightly-invoices",
                "config": {"schedule": "@daily"}})
        .to_string(),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("exists already"));
    // The SDK's form of a config, muted and disabled from the start.
    let backup = create(
        &app,
        &token,
        json!({"project": "shop", "name": "Backup", "slug": "backup", "isMuted": true,
               "status": "disabled",
               "config": {"schedule": {"type": "interval", "value": 2, "unit": "hour"}}}),
    )
    .await;
    assert_eq!(backup["config"]["schedule"], json!([2, "hour"]));
    assert_eq!(backup["config"]["schedule_type"], "interval");
    assert_eq!(
        (&backup["isMuted"], &backup["status"]),
        (&json!(true), &json!("disabled"))
    );

    // Runs by HTTP: ok in production, an error in staging opens an incident there.
    check_in(&app, "nightly-invoices", "status=ok").await;
    check_in(&app, "nightly-invoices", "status=error&environment=staging").await;

    // The list: the monitor in error first, then by name; paged; filtered.
    let (status, list, link) = get(&app, &token, MONITORS).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(
        slugs(&list),
        ["nightly-invoices", "backup", "nightly-invoices-2"]
    );
    assert!(link.contains("rel=\"next\"; results=\"false\""), "{link}");
    let (_, page, link) = get(&app, &token, &format!("{MONITORS}?per_page=2")).await;
    assert_eq!(slugs(&page), ["nightly-invoices", "backup"]);
    assert!(link.contains("rel=\"next\"; results=\"true\""), "{link}");
    let (_, page, link) = get(&app, &token, &format!("{MONITORS}?per_page=2&cursor=0:2:0")).await;
    assert_eq!(slugs(&page), ["nightly-invoices-2"]);
    assert!(link.contains("rel=\"next\"; results=\"false\""), "{link}");
    for (query, expected) in [
        ("project=1", vec!["backup"]),
        ("project=5", vec!["nightly-invoices", "nightly-invoices-2"]),
        (
            "project=5&project=1",
            vec!["nightly-invoices", "backup", "nightly-invoices-2"],
        ),
        (
            "project=-1",
            vec!["nightly-invoices", "backup", "nightly-invoices-2"],
        ),
        ("query=BACK", vec!["backup"]),
        ("query=invoices-2", vec!["nightly-invoices-2"]),
        ("query=nothing%25like", vec![]),
        ("environment=production", vec!["nightly-invoices"]),
    ] {
        let (status, list, _) = get(&app, &token, &format!("{MONITORS}?{query}")).await;
        assert_eq!(status, 200, "{query}: {list}");
        assert_eq!(slugs(&list), expected, "{query}");
    }
    // Only the environments asked for are shown.
    let (_, list, _) = get(&app, &token, &format!("{MONITORS}?environment=staging")).await;
    let envs = &list[0]["environments"];
    assert_eq!(envs.as_array().unwrap().len(), 1, "{envs}");
    assert_eq!(
        (&envs[0]["name"], &envs[0]["status"]),
        (&json!("staging"), &json!("error"))
    );
    assert!(envs[0]["activeIncident"]["startingTimestamp"].is_string());
    assert_eq!(envs[0]["activeIncident"]["resolvingTimestamp"], Value::Null);

    // The detail: environments in error first; through the project only when it is its own.
    let (status, detail, _) = get(&app, &token, &format!("{MONITORS}nightly-invoices/")).await;
    assert_eq!(status, 200, "{detail}");
    let envs = detail["environments"].as_array().unwrap();
    assert_eq!(envs.len(), 2);
    assert_eq!(
        (&envs[0]["name"], &envs[1]["name"]),
        (&json!("staging"), &json!("production"))
    );
    let production = &envs[1];
    assert_eq!(production["status"], "ok");
    assert_eq!(production["isMuted"], false);
    assert_eq!(production["activeIncident"], Value::Null);
    for key in [
        "lastCheckIn",
        "nextCheckIn",
        "nextCheckInLatest",
        "dateCreated",
    ] {
        assert!(production[key].as_str().unwrap().ends_with('Z'), "{key}");
    }
    let (status, _, _) = get(
        &app,
        &token,
        "/api/0/projects/snag/jobs/monitors/nightly-invoices/",
    )
    .await;
    assert_eq!(status, 200);
    let (status, body, _) = get(
        &app,
        &token,
        "/api/0/projects/snag/shop/monitors/nightly-invoices/",
    )
    .await;
    assert_eq!(status, 404);
    assert!(body["detail"].is_string());

    // The issue its failure opened reads as Sentry's crons issue.
    let issue = wait_for_issue(&app, ProjectId(5)).await;
    let (_, issue, _) = get(&app, &token, &format!("/api/0/issues/{issue}/")).await;
    assert_eq!(
        (&issue["issueCategory"], &issue["issueType"], &issue["type"]),
        (
            &json!("cron"),
            &json!("monitor_check_in_failure"),
            &json!("generic")
        )
    );

    // Its check-ins: newest first, by environment and time range.
    let checkins = format!("{MONITORS}nightly-invoices/checkins/");
    let (status, runs, _) = get(&app, &token, &checkins).await;
    assert_eq!(status, 200, "{runs}");
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(
        (&runs[0]["environment"], &runs[0]["status"]),
        (&json!("staging"), &json!("error"))
    );
    assert_eq!(
        (&runs[1]["environment"], &runs[1]["status"]),
        (&json!("production"), &json!("ok"))
    );
    assert_eq!(runs[0]["id"].as_str().unwrap().len(), 32);
    assert_eq!(runs[0]["duration"], Value::Null);
    assert!(runs[0]["dateCreated"].as_str().unwrap().ends_with('Z'));
    assert!(runs[0].get("expectedTime").is_some());
    assert_eq!(runs[0]["monitorConfig"]["schedule"], "0 2 * * *");
    for (query, expected) in [
        ("environment=production", vec!["ok"]),
        (
            "environment=staging&environment=production",
            vec!["error", "ok"],
        ),
        ("statsPeriod=1h", vec!["error", "ok"]),
        ("start=2020-01-01T00:00:00&end=2020-01-02T00:00:00", vec![]),
        ("per_page=1", vec!["error"]),
        ("per_page=1&cursor=0:1:0", vec!["ok"]),
    ] {
        let (status, runs, _) = get(&app, &token, &format!("{checkins}?{query}")).await;
        assert_eq!(status, 200, "{query}: {runs}");
        let statuses: Vec<&str> = runs
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, expected, "{query}");
    }
    let (_, _, link) = get(&app, &token, &format!("{checkins}?per_page=1")).await;
    assert!(link.contains("rel=\"next\"; results=\"true\""), "{link}");
    let (status, runs, _) = get(
        &app,
        &token,
        "/api/0/projects/snag/jobs/monitors/nightly-invoices/checkins/?environment=staging",
    )
    .await;
    assert_eq!((status, runs.as_array().unwrap().len()), (200, 1));

    // Partial changes: what is not given stays; a config replaces the one before as a whole.
    let (status, muted) = put(&app, &token, "nightly-invoices", json!({"isMuted": true})).await;
    assert_eq!(status, 200, "{muted}");
    assert_eq!(muted["isMuted"], true);
    assert_eq!(muted["name"], "Nightly Invoices");
    assert_eq!(muted["config"]["timezone"], "Europe/Vienna");
    assert_eq!(muted["environments"][0]["isMuted"], true);
    let (status, changed) = put(
        &app,
        &token,
        "nightly-invoices",
        json!({"name": "Invoices", "config": {"schedule_type": "interval", "schedule": [30, "minute"]}}),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["name"], "Invoices");
    assert_eq!(changed["config"]["schedule"], json!([30, "minute"]));
    assert_eq!(changed["config"]["timezone"], "UTC");
    assert_eq!(changed["isMuted"], true);
    let (_, detail, _) = get(&app, &token, &format!("{MONITORS}nightly-invoices/")).await;
    assert_eq!(detail["config"]["schedule_type"], "interval");
    // A new slug: the old one is gone.
    let (status, renamed) = put(
        &app,
        &token,
        "nightly-invoices",
        json!({"slug": "invoices"}),
    )
    .await;
    assert_eq!(
        (status, &renamed["slug"]),
        (200, &json!("invoices")),
        "{renamed}"
    );
    let (status, _, _) = get(&app, &token, &format!("{MONITORS}nightly-invoices/")).await;
    assert_eq!(status, 404);
    let (status, body) = put(&app, &token, "invoices", json!({"slug": "backup"})).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = put(&app, &token, "invoices", json!({"project": "shop"})).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("another project"));
    // Through its project, and disabled: every environment says so.
    let (status, disabled) = call(
        &app,
        "PUT",
        "/api/0/projects/snag/jobs/monitors/invoices/",
        Some(&token),
        r#"{"status": "disabled"}"#,
    )
    .await;
    assert_eq!(status, 200, "{disabled}");
    assert_eq!(disabled["status"], "disabled");
    assert!(
        disabled["environments"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["status"] == "disabled")
    );

    // Deleted: 202, then gone with its runs; not through another project.
    let (status, _) = call(
        &app,
        "DELETE",
        "/api/0/projects/snag/jobs/monitors/backup/",
        Some(&token),
        "",
    )
    .await;
    assert_eq!(status, 404);
    let (status, body) = call(
        &app,
        "DELETE",
        &format!("{MONITORS}invoices/?environment=staging"),
        Some(&token),
        "",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = call(
        &app,
        "DELETE",
        &format!("{MONITORS}invoices/"),
        Some(&token),
        "",
    )
    .await;
    assert_eq!(status, 202);
    for path in [
        format!("{MONITORS}invoices/"),
        format!("{MONITORS}invoices/checkins/"),
    ] {
        let (status, body, _) = get(&app, &token, &path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["detail"], "The requested resource does not exist");
    }
    let (_, list, _) = get(&app, &token, MONITORS).await;
    assert_eq!(slugs(&list), ["backup", "nightly-invoices-2"]);
    app.stop().await;
}

/// The id of the first issue of `project`, once the writer stored it.
async fn wait_for_issue(app: &TestApp, project: ProjectId) -> String {
    for _ in 0..100 {
        if let Some(issue) = app.store.list_issues(project).await.unwrap().first() {
            return issue.id.to_string();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no issue");
}

#[tokio::test]
async fn bad_input_and_missing_scopes_get_clear_answers() {
    let (app, token) = app_with_projects().await;
    create(
        &app,
        &token,
        json!({"project": "jobs", "name": "Nightly", "config": {"schedule": "@daily"}}),
    )
    .await;
    let crontab = json!({"schedule_type": "crontab", "schedule": "0 2 * * *"});
    for (body, says) in [
        (json!({"project": "jobs", "name": "x"}), "config"),
        (
            json!({"project": "jobs", "name": "x", "config": {"schedule": "61 * * * *"}}),
            "invalid config",
        ),
        (
            json!({"project": "jobs", "name": "x",
                   "config": {"schedule": "@daily", "timezone": "Mars/Olympus"}}),
            "Mars/Olympus",
        ),
        (
            json!({"project": "nowhere", "name": "x", "config": crontab}),
            "no project",
        ),
        (json!({"name": "x", "config": crontab}), "project"),
        (json!({"project": "jobs", "config": crontab}), "name"),
        (
            json!({"project": "jobs", "name": "x", "type": "heartbeat", "config": crontab}),
            "type",
        ),
        (
            json!({"project": "jobs", "name": "x", "slug": "Bad Slug", "config": crontab}),
            "slug",
        ),
        (
            json!({"project": "jobs", "name": "x", "status": "paused", "config": crontab}),
            "status",
        ),
        (json!(["not", "an", "object"]), "object"),
    ] {
        let (status, json) = call(&app, "POST", MONITORS, Some(&token), &body.to_string()).await;
        assert_eq!(status, 400, "{body}: {json}");
        let detail = json["detail"].as_str().unwrap();
        assert!(detail.contains(says), "{body}: {detail}");
    }
    let (status, json) = call(&app, "POST", MONITORS, Some(&token), "{not json").await;
    assert_eq!((status, json["detail"].is_string()), (400, true));
    let (status, json) = put(
        &app,
        &token,
        "nightly",
        json!({"config": {"schedule": "nope"}}),
    )
    .await;
    assert_eq!(status, 400, "{json}");
    let (status, json) = put(&app, &token, "nowhere", json!({"isMuted": true})).await;
    assert_eq!(status, 404, "{json}");
    for query in [
        "statsPeriod=forever",
        "start=2026-01-01T00:00:00",
        "cursor=nonsense",
    ] {
        let path = format!("{MONITORS}nightly/checkins/?{query}");
        let (status, json, _) = get(&app, &token, &path).await;
        assert_eq!(status, 400, "{query}: {json}");
        assert!(json["detail"].is_string());
    }
    let (status, _, _) = get(&app, &token, &format!("{MONITORS}?project=shop")).await;
    assert_eq!(status, 400);

    // Scopes: org:read lists through the organization, project:read reads through the
    // project, project:write changes, project:admin deletes.
    let (reader, _) = app
        .store
        .create_token("read", &["project:read".to_owned()], None)
        .await
        .unwrap();
    let (org_reader, _) = app
        .store
        .create_token("org", &["org:read".to_owned()], None)
        .await
        .unwrap();
    let (writer, _) = app
        .store
        .create_token("write", &["project:write".to_owned()], None)
        .await
        .unwrap();
    let (status, json, _) = get(&app, &reader, MONITORS).await;
    assert_eq!(status, 403, "{json}");
    assert!(json["detail"].is_string());
    let (status, _, _) = get(&app, &reader, "/api/0/projects/snag/jobs/monitors/nightly/").await;
    assert_eq!(status, 200);
    let (status, _, _) = get(&app, &org_reader, MONITORS).await;
    assert_eq!(status, 200);
    let body = json!({"project": "jobs", "name": "y", "config": crontab}).to_string();
    let (status, _) = call(&app, "POST", MONITORS, Some(&org_reader), &body).await;
    assert_eq!(status, 403);
    let (status, _) = call(&app, "POST", MONITORS, Some(&reader), &body).await;
    assert_eq!(status, 403);
    let (status, _) = put(&app, &org_reader, "nightly", json!({"isMuted": true})).await;
    assert_eq!(status, 403);
    let (status, json) = put(&app, &writer, "nightly", json!({"isMuted": true})).await;
    assert_eq!(status, 200, "{json}");
    let (status, _) = call(
        &app,
        "DELETE",
        &format!("{MONITORS}nightly/"),
        Some(&writer),
        "",
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = call(&app, "GET", MONITORS, None, "").await;
    assert_eq!(status, 401);
    app.stop().await;
}

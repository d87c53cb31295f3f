//! Event search and charts across the organization (`/organizations/{org}/events/`,
//! `events/validate/`, `events-stats/`, `events-timeseries/`), and Grafana's Sentry data
//! source replayed: the requests it builds, byte for byte, answered correctly.

use serde_json::{Value, json};
use snag::store::ProjectId;

use crate::helpers::{TestApp, event_envelope, post_envelope};
use crate::rest::{app_with_issues, call, error_event};

const HOUR_MS: i64 = 3_600_000;

/// `2026-12-03T17:00:00`: Grafana's naive UTC times.
fn naive(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

/// The start of the hour three hours ago: events are sent at fixed minutes after it.
fn three_hours_ago() -> i64 {
    let now = chrono::Utc::now().timestamp_millis();
    (now / HOUR_MS - 3) * HOUR_MS
}

async fn send(app: &TestApp, event: &Value) {
    let r = post_envelope(app, 1, "publickey", &event_envelope(event)).await;
    assert_eq!(r.status, 200);
}

async fn get(app: &TestApp, token: &str, path: String) -> (u16, Value) {
    call(app, "GET", &path, Some(token), "").await
}

#[tokio::test]
async fn event_search_answers_fields_aggregates_and_filters_as_sentry_does() {
    let (app, token) = app_with_issues(2).await;
    for (environment, user) in [
        ("production", "u1"),
        ("production", "u2"),
        ("staging", "u1"),
    ] {
        let mut event = error_event(0);
        event["environment"] = json!(environment);
        event["user"] = json!({"id": user});
        assert_eq!(
            post_envelope(&app, 1, "publickey", &event_envelope(&event))
                .await
                .status,
            200
        );
    }
    let short = |i: usize| {
        let (app, i) = (&app, i);
        async move {
            let issues = app.store.list_issues(ProjectId(1)).await.unwrap();
            let issue = issues
                .iter()
                .find(|x| x.title.ends_with(&format!("missing key {i}")))
                .unwrap();
            format!("SHOP-{}", issue.short_id)
        }
    };
    let key0 = short(0).await;
    let search = |q: String| {
        let (app, token) = (&app, &token);
        let q = if q.contains("dataset=") {
            q
        } else {
            format!("dataset=errors&{q}")
        };
        async move {
            let path = format!("/api/0/organizations/snag/events/?{q}");
            call(app, "GET", &path, Some(token), "").await
        }
    };

    // Rows: the newest first, by default; dates as ISO, types in meta.
    let (status, body) =
        search("field=id&field=title&field=timestamp&field=environment".into()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"].as_array().unwrap().len(), 5);
    assert_eq!(body["data"][0]["environment"], "staging");
    assert!(
        body["data"][0]["timestamp"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(body["meta"]["fields"]["timestamp"], "date");

    // Aggregates grouped by the other fields, sorted by count.
    let (_, body) = search(
        "field=issue&field=count()&field=count_unique(user)&field=last_seen()&sort=-count()".into(),
    )
    .await;
    assert_eq!(body["data"][0]["issue"], key0.as_str());
    assert_eq!(body["data"][0]["count()"], 4);
    assert_eq!(body["data"][0]["count_unique(user)"], 2);
    assert_eq!(body["meta"]["fields"]["count()"], "integer");
    assert_eq!(body["data"].as_array().unwrap().len(), 2);

    // Filters: issue, environment, user, a range; the page size.
    let q = format!("field=id&query=issue:{key0}%20environment:production");
    assert_eq!(search(q).await.1["data"].as_array().unwrap().len(), 2);
    let (_, body) = search("field=count()&query=environment:staging".into()).await;
    assert_eq!(body["data"][0]["count()"], 1);
    let (_, body) =
        search("field=count()&start=2001-01-01T00:00:00&end=2001-01-02T00:00:00".into()).await;
    assert_eq!(body["data"][0]["count()"], 0);
    let (_, body) = search("field=id&per_page=2".into()).await;
    assert_eq!(body["data"].as_array().unwrap().len(), 2);

    // What cannot be honoured says so.
    for q in [
        "field=p95(transaction.duration)",
        "field=id&query=!level:error",
        "field=id&project=1&query=project:other",
        "field=id&cursor=0:10001:0",
        "dataset=transactions&field=id",
        "field=id&sort=-count()",
        "field=id&query=is:unresolved",
        "",
    ] {
        let (status, body) = search(q.into()).await;
        assert_eq!(status, 400, "{q}: {body}");
        assert!(body["detail"].is_string(), "{q}");
    }
    app.stop().await;
}

#[tokio::test]
async fn event_fields_tags_and_validation_answer_as_sentry_does() {
    let (app, token) = app_with_issues(0).await;
    let now = chrono::Utc::now().timestamp_millis();
    for (seconds_ago, browser, email, ty) in [
        (3, "Chrome", "ada@shop.test", "KeyError"),
        (2, "Chrome", "bob@shop.test", "KeyError"),
        (1, "Firefox", "ada@shop.test", "ValueError"),
    ] {
        let mut event = error_event(0);
        event["timestamp"] = json!((now - seconds_ago * 1000) as f64 / 1000.0);
        event["user"] = json!({"id": 7, "email": email});
        event["contexts"] = json!({"browser": {"name": browser},
                                   "trace": {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7"}});
        event["exception"]["values"][0]["type"] = json!(ty);
        send(&app, &event).await;
    }
    let search = |q: &str| {
        get(
            &app,
            &token,
            format!("/api/0/organizations/snag/events/?{q}"),
        )
    };

    // Fields only the event holds: lists for the exception, text for the rest.
    let (status, body) = search("field=id&field=timestamp&field=error.type&field=user.email&field=trace&field=browser.name&field=tags[deploy]&sort=-timestamp").await;
    assert_eq!(status, 200, "{body}");
    let newest = &body["data"][0];
    assert_eq!(newest["error.type"], json!(["ValueError"]));
    assert_eq!(newest["user.email"], "ada@shop.test");
    assert_eq!(newest["trace"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(newest["browser.name"], "Firefox");
    assert_eq!(newest["tags[deploy]"], "blue");
    assert_eq!(body["meta"]["fields"]["error.type"], "array");

    // Grouped by a tag, and filtered by an event field: read from the events.
    let (status, body) =
        search("field=browser.name&field=count()&field=count_unique(user)&sort=-count()").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"],
        json!([{"browser.name": "Chrome", "count()": 2, "count_unique(user)": 1},
               {"browser.name": "Firefox", "count()": 1, "count_unique(user)": 1}])
    );
    let (_, body) =
        search("field=user.email&field=count()&query=error.type:KeyError&sort=user.email").await;
    assert_eq!(
        body["data"],
        json!([{"user.email": "ada@shop.test", "count()": 1}, {"user.email": "bob@shop.test", "count()": 1}])
    );
    let (_, body) = search("field=id&field=user.email&query=error.type:KeyError").await;
    let keys: Vec<&String> = body["data"][0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["id", "user.email"], "only what was asked for");
    let (_, body) = search("field=id&query=browser.name:Safari").await;
    assert_eq!(body["data"], json!([]));

    // Validation: every part said valid, or which part is not, with a 400.
    let validate = |q: &str| {
        get(
            &app,
            &token,
            format!("/api/0/organizations/snag/events/validate/?{q}"),
        )
    };
    let (status, body) = validate("dataset=errors&field=title&field=count()&query=level:error%20browser.name:Chrome&orderby=-count()&project=1&statsPeriod=14d").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["valid"], true);
    assert_eq!(
        body["field"][1],
        json!({"name": "count()", "valid": true, "attrType": "number", "error": null})
    );
    assert_eq!(body["query"]["fields"][0]["name"], "browser.name");
    assert_eq!(body["projects"], json!([{"valid": true, "error": null}]));
    let (status, body) = validate(
        "dataset=errors&field=title&field=p99(x)&query=is:unresolved&orderby=-timestamp&project=99",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["valid"], false);
    assert_eq!(body["field"][0]["valid"], true);
    assert_eq!(body["field"][1]["valid"], false);
    assert!(
        body["field"][1]["error"]
            .as_str()
            .unwrap()
            .contains("unknown field")
    );
    assert_eq!(body["query"]["valid"], false);
    assert_eq!(body["orderby"][0]["valid"], false);
    assert_eq!(body["projects"][0]["valid"], false);
    let (status, body) = validate("dataset=spans&field=id").await;
    assert_eq!(status, 400);
    assert_eq!(body["dataset"][0]["valid"], false);
    app.stop().await;
}

#[tokio::test]
async fn charts_count_events_per_bucket_overall_and_for_the_top_groups() {
    let (app, token) = app_with_issues(0).await;
    let start = three_hours_ago();
    // Two events of 1.0 in the first hour (two users), one of 2.0 in the second, none in the third.
    for (minutes, release, user) in [
        (10, "shop@1.0", "u1"),
        (20, "shop@1.0", "u2"),
        (90, "shop@2.0", "u1"),
    ] {
        let mut event = error_event(0);
        event["timestamp"] = json!((start + minutes * 60_000) as f64 / 1000.0);
        event["release"] = json!(release);
        event["user"] = json!({"id": user});
        send(&app, &event).await;
    }
    let range = format!(
        "start={}Z&end={}Z",
        naive(start),
        naive(start + 3 * HOUR_MS)
    );
    let stats = |q: String| {
        get(
            &app,
            &token,
            format!("/api/0/organizations/snag/events-stats/?{range}&{q}"),
        )
    };
    let secs = |hours: i64| (start + hours * HOUR_MS) / 1000;

    let (status, body) = stats("yAxis=count()&interval=1h".into()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"],
        json!([[secs(0), [{"count": 2}]], [secs(1), [{"count": 1}]], [secs(2), [{"count": 0}]]])
    );
    assert_eq!(body["start"], secs(0));

    let (_, body) = stats("yAxis=count()&yAxis=count_unique(user)&interval=1h".into()).await;
    assert_eq!(
        body["count_unique(user)"]["data"][0],
        json!([secs(0), [{"count": 2}]])
    );
    assert_eq!(body["count()"]["order"], 0);

    let (status, body) = stats("field=release&field=count()&yAxis=count()&topEvents=5&sort=-count()&excludeOther=1&interval=60m".into()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["shop@1.0"]["order"], 0);
    assert_eq!(
        body["shop@1.0"]["data"][0],
        json!([secs(0), [{"count": 2}]])
    );
    assert_eq!(
        body["shop@2.0"]["data"][1],
        json!([secs(1), [{"count": 1}]])
    );
    assert!(body.get("Other").is_none());
    // Other only when there are more groups than the top ones.
    let (_, body) =
        stats("field=release&field=count()&yAxis=count()&topEvents=5&interval=1h".into()).await;
    assert!(body.get("Other").is_none(), "{body}");
    let (_, body) =
        stats("field=release&field=count()&yAxis=count()&topEvents=1&interval=1h".into()).await;
    assert_eq!(body["Other"]["data"][1], json!([secs(1), [{"count": 1}]]));
    assert_eq!(body["Other"]["order"], 1);

    let (status, body) = get(&app, &token, format!(
        "/api/0/organizations/snag/events-timeseries/?dataset=discover&{range}&excludeOther=1&groupBy=release&interval=3600&topEvents=5&yAxis=count()"
    )).await;
    assert_eq!(status, 200, "{body}");
    let series = body["timeSeries"].as_array().unwrap();
    assert_eq!(series.len(), 2);
    assert_eq!(
        series[0]["groupBy"],
        json!([{"key": "release", "value": "shop@1.0"}])
    );
    assert_eq!(
        series[0]["values"][0],
        json!({"timestamp": start, "value": 2, "incomplete": false})
    );
    assert_eq!(series[0]["meta"]["interval"], 3_600_000);
    assert_eq!(body["meta"]["start"].as_f64(), Some(start as f64));

    // What a chart cannot be is said.
    for q in [
        "yAxis=last_seen()",
        "yAxis=count()&interval=1s&statsPeriod=90d",
        "yAxis=count()&topEvents=3",
        "yAxis=count_unique(user)&field=release&topEvents=1",
        "yAxis=count()&interval=soon",
        "yAxis=count()&statsPeriod=9223372036854775s",
        "yAxis=count()&interval=9223372036854775s",
        "yAxis=count()&interval=1m&statsPeriod=7d&field=release&topEvents=10",
        "yAxis=count()&yAxis=count()&yAxis=count_unique(user)&yAxis=count_unique(issue)&yAxis=last_seen()&yAxis=first_seen()",
    ] {
        let (status, body) = get(
            &app,
            &token,
            format!("/api/0/organizations/snag/events-stats/?{q}"),
        )
        .await;
        assert_eq!(status, 400, "{q}: {body}");
        assert!(body["detail"].is_string(), "{q}");
    }
    app.stop().await;
}

/// A query string as Go's `url.Values.Encode` writes it (Grafana's data source is Go): keys
/// sorted, repeated keys in order, everything but `A-Za-z0-9-_.~` escaped, spaces as `+`.
fn go_query(pairs: &[(&str, &str)]) -> String {
    let escape = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_owned(),
                b => format!("%{b:02X}"),
            })
            .collect()
    };
    let mut pairs = pairs.to_vec();
    pairs.sort_by_key(|(k, _)| *k);
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Grafana's Sentry data source (grafana/sentry-datasource, `pkg/sentry/`), replayed: the
/// resource calls its editors make, and each query type with a dashboard's time range, built
/// as the plugin builds them (naive UTC times for issues, events and stats, `Z` times for
/// charts, Go's query encoding).
#[tokio::test]
async fn grafanas_sentry_data_source_gets_correct_answers_within_the_dashboard_range() {
    let app = crate::helpers::spawn_app_with(|c| {
        c.workers.outcome_flush_interval = std::time::Duration::from_millis(100);
    })
    .await;
    app.project("shop", ProjectId(1), "publickey").await;
    app.project("limited", ProjectId(2), "limitedkey").await;
    let token = crate::rest::full_token(&app).await;
    let start = three_hours_ago();
    let end = start + 2 * HOUR_MS;
    // In the dashboard's range: three production events of two releases; after it, one more
    // error of another issue.
    for (minutes, release) in [(10, "shop@1.0"), (20, "shop@1.0"), (90, "shop@2.0")] {
        let mut event = error_event(0);
        event["timestamp"] = json!((start + minutes * 60_000) as f64 / 1000.0);
        event["release"] = json!(release);
        event["environment"] = json!("production");
        send(&app, &event).await;
    }
    send(&app, &error_event(1)).await;
    let grafana = |path: &str, pairs: &[(&str, &str)]| {
        let url = format!("/api/0/organizations/snag/{path}?{}", go_query(pairs));
        get(&app, &token, url)
    };
    let (from, to) = (naive(start), naive(end));
    let (from_z, to_z) = (format!("{from}Z"), format!("{to}Z"));

    // The editors' lists: organizations, projects, teams, a team's projects, tag keys.
    let (status, orgs) = get(&app, &token, "/api/0/organizations/".into()).await;
    assert_eq!((status, orgs[0]["slug"].as_str()), (200, Some("snag")));
    let (_, projects) = get(&app, &token, "/api/0/organizations/snag/projects/".into()).await;
    assert_eq!(projects[0]["id"], "1");
    assert_eq!(projects[0]["slug"], "shop");
    let (_, teams) = get(&app, &token, "/api/0/organizations/snag/teams/".into()).await;
    let team = teams[0]["slug"].as_str().unwrap().to_owned();
    let (_, team_projects) = get(&app, &token, format!("/api/0/teams/snag/{team}/projects/")).await;
    assert_eq!(team_projects[0]["slug"], "shop");
    let (_, tags) = get(&app, &token, "/api/0/organizations/snag/tags/".into()).await;
    let release = tags
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == "release");
    assert!(
        release.is_some_and(|t| t["name"].is_string() && t["totalValues"].is_number()),
        "{tags}"
    );

    // Issues: only the one seen within the range.
    let (status, issues) = grafana(
        "issues/",
        &[
            ("query", "is:unresolved"),
            ("start", &from),
            ("end", &to),
            ("limit", "10000"),
            ("project", "1"),
            ("environment", "production"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{issues}");
    assert_eq!(issues.as_array().unwrap().len(), 1, "{issues}");
    assert_eq!(issues[0]["title"], "LookupError: missing key 0");

    // Events: the three of the range, newest first.
    let (status, events) = grafana(
        "events/",
        &[
            ("query", ""),
            ("start", &from),
            ("end", &to),
            ("sort", "-timestamp"),
            ("per_page", "100"),
            ("field", "id"),
            ("field", "title"),
            ("field", "timestamp"),
            ("field", "release"),
            ("project", "1"),
            ("environment", "production"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{events}");
    let releases: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["release"].as_str().unwrap())
        .collect();
    assert_eq!(releases, ["shop@2.0", "shop@1.0", "shop@1.0"]);

    // Events Stats grouped by release (the legacy route): the top releases per hour.
    let (status, stats) = grafana(
        "events-stats/",
        &[
            ("query", ""),
            ("start", &from_z),
            ("end", &to_z),
            ("interval", "60m"),
            ("partial", "1"),
            ("excludeOther", "1"),
            ("sort", "-count()"),
            ("topEvents", "5"),
            ("field", "count()"),
            ("field", "release"),
            ("yAxis", "count()"),
            ("project", "1"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{stats}");
    let counts = |series: &Value| -> Vec<i64> {
        series["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p[1][0]["count"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(counts(&stats["shop@1.0"]), [2, 0]);
    assert_eq!(counts(&stats["shop@2.0"]), [0, 1]);

    // Events Stats ungrouped (the time-series route, interval in seconds).
    let (status, series) = grafana(
        "events-timeseries/",
        &[
            ("dataset", "discover"),
            ("query", ""),
            ("start", &from_z),
            ("end", &to_z),
            ("interval", "3600"),
            ("excludeOther", "1"),
            ("yAxis", "count()"),
            ("project", "1"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{series}");
    let values: Vec<(i64, i64)> = series["timeSeries"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["timestamp"].as_i64().unwrap(),
                v["value"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(values, [(start, 2), (start + HOUR_MS, 1)]);

    // Releases and a release's deploys.
    let (_, releases) = get(
        &app,
        &token,
        format!(
            "/api/0/organizations/snag/releases/?{}",
            go_query(&[("per_page", "100"), ("project", "1")])
        ),
    )
    .await;
    assert_eq!(releases.as_array().unwrap().len(), 2, "{releases}");
    let (status, _) = get(
        &app,
        &token,
        "/api/0/organizations/snag/releases/shop@1.0/deploys/?per_page=100".into(),
    )
    .await;
    assert_eq!(status, 200);

    // Stats: what became of what was sent, by outcome. Project 2's key takes one event an
    // hour and refuses the next ones; a body that is not JSON is invalid.
    let (status, _) = call(
        &app,
        "PUT",
        "/api/0/projects/snag/limited/keys/limitedkey/",
        Some(&token),
        r#"{"rateLimit": {"count": 1, "window": 3600}}"#,
    )
    .await;
    assert_eq!(status, 200);
    let mut answers = Vec::new();
    for i in 0..3 {
        answers.push(
            post_envelope(&app, 2, "limitedkey", &event_envelope(&error_event(10 + i)))
                .await
                .status,
        );
    }
    assert_eq!(answers, [200, 429, 429]);
    let not_json = b"{}\n{\"type\":\"event\",\"length\":9}\nnot json!\n";
    assert_eq!(
        post_envelope(&app, 2, "limitedkey", not_json).await.status,
        400
    );
    // A stranger naming the project counts for nothing.
    let r = post_envelope(&app, 2, "notthekey", &event_envelope(&error_event(20))).await;
    assert_eq!(r.status, 401);
    let (now_from, now_to) = (naive(start), naive(start + 4 * HOUR_MS));
    let by_outcome = || async {
        let (status, stats) = grafana(
            "stats_v2/",
            &[
                ("start", &now_from),
                ("end", &now_to),
                ("interval", "1h"),
                ("category", "error"),
                ("field", "sum(quantity)"),
                ("groupBy", "outcome"),
                ("project", "2"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{stats}");
        let total = |outcome: &str| {
            stats["groups"]
                .as_array()
                .unwrap()
                .iter()
                .find(|g| g["by"]["outcome"] == outcome)
                .map_or(0, |g| g["totals"]["sum(quantity)"].as_i64().unwrap())
        };
        (
            total("accepted"),
            total("rate_limited"),
            total("invalid"),
            stats,
        )
    };
    let mut found = by_outcome().await;
    for _ in 0..50 {
        if (found.0, found.1, found.2) == (1, 2, 1) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        found = by_outcome().await;
    }
    assert_eq!((found.0, found.1, found.2), (1, 2, 1), "{}", found.3);
    let intervals = found.3["intervals"].as_array().unwrap();
    assert_eq!(intervals.len(), 4);
    assert_eq!(intervals[0], format!("{}Z", naive(start)));
    let series = &found.3["groups"][0]["series"]["sum(quantity)"];
    assert_eq!(series.as_array().unwrap().len(), 4);

    // Stats without a category, or of a field Sentry does not have, are refused.
    for pairs in [
        vec![("field", "sum(quantity)"), ("groupBy", "outcome")],
        vec![("field", "count()"), ("category", "error")],
        vec![("field", "sum(quantity)"), ("category", "bananas")],
        vec![
            ("field", "sum(quantity)"),
            ("category", "error"),
            ("interval", "7m"),
        ],
        vec![
            ("field", "sum(quantity)"),
            ("category", "error"),
            ("interval", "2d"),
        ],
        vec![
            ("field", "sum(quantity)"),
            ("category", "error"),
            ("interval", "106751991167d"),
        ],
    ] {
        let (status, body) = grafana("stats_v2/", &pairs).await;
        assert_eq!(status, 400, "{pairs:?}: {body}");
        assert!(body["detail"].is_string());
    }
    app.stop().await;
}

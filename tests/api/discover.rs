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
        "dataset=logs&field=id",
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

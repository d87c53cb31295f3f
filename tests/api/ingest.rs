//! The ingest path end to end: encodings, endpoints, ids, grouping, counters.

use serde_json::json;
use snag::store::ProjectId;

use crate::helpers::{event_envelope, gzip, post_envelope, send_raw, spawn_app};

fn auth() -> Vec<(String, String)> {
    vec![(
        "X-Sentry-Auth".to_owned(),
        "Sentry sentry_key=k1, sentry_version=7".to_owned(),
    )]
}

#[tokio::test]
async fn every_content_encoding_is_decoded() {
    use std::io::Write;
    let app = spawn_app().await;
    app.project("p", ProjectId(1), "k1").await;
    let body = |tag: &str| {
        event_envelope(&json!({"message": format!("encoded with {tag}"), "level": "info"}))
    };
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    zlib.write_all(&body("deflate")).unwrap();
    let mut raw_deflate =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    raw_deflate.write_all(&body("raw deflate")).unwrap();
    let cases: Vec<(&str, Option<&str>, Vec<u8>)> = vec![
        ("identity", None, body("identity")),
        ("gzip", Some("gzip"), gzip(&body("gzip"))),
        ("x-gzip", Some("x-gzip"), gzip(&body("x-gzip"))),
        (
            "gzip without header",
            None,
            gzip(&body("gzip without header")),
        ),
        ("deflate", Some("deflate"), zlib.finish().unwrap()),
        (
            "raw deflate",
            Some("deflate"),
            raw_deflate.finish().unwrap(),
        ),
        (
            "zstd",
            Some("zstd"),
            zstd::bulk::compress(&body("zstd"), 3).unwrap(),
        ),
        ("empty encoding", Some(""), body("empty encoding")),
        ("UTF-8 encoding", Some("UTF-8"), body("UTF-8 encoding")),
    ];
    for (tag, encoding, payload) in cases {
        let mut headers = auth();
        if let Some(e) = encoding {
            headers.push(("Content-Encoding".into(), e.into()));
        }
        let response = send_raw(
            app.port,
            "POST",
            "/api/1/envelope",
            &headers,
            &payload,
            tag == "gzip",
        )
        .await;
        assert_eq!(
            response.status,
            200,
            "{tag}: {}",
            String::from_utf8_lossy(&response.body)
        );
    }
    let titles: Vec<String> = app
        .store
        .list_issues(ProjectId(1))
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.title)
        .collect();
    assert_eq!(titles.len(), 9, "{titles:?}");
    assert!(titles.contains(&"encoded with raw deflate".to_owned()));
    app.stop().await;
}

#[tokio::test]
async fn the_store_endpoint_takes_json_base64_zlib_and_envelopes() {
    use base64::Engine;
    use std::io::Write;
    let app = spawn_app().await;
    app.project("p", ProjectId(1), "k1").await;
    let event = json!({"event_id": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "message": "from store", "level": 30});
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    zlib.write_all(event.to_string().as_bytes()).unwrap();
    let encoded = base64::engine::general_purpose::STANDARD.encode(zlib.finish().unwrap());
    let response = send_raw(
        app.port,
        "POST",
        "/api/1/store/",
        &auth(),
        encoded.as_bytes(),
        false,
    )
    .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["id"], "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    let stored = app
        .store
        .get_event(ProjectId(1), "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.level, "warning");

    let mut headers = auth();
    headers.push((
        "Content-Type".into(),
        "application/x-sentry-envelope".into(),
    ));
    let envelope = event_envelope(
        &json!({"event_id": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "message": "envelope on store"}),
    );
    let response = send_raw(app.port, "POST", "/api/1/store", &headers, &envelope, false).await;
    assert_eq!(response.status, 200);
    assert!(
        app.store
            .get_event(ProjectId(1), "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
            .await
            .unwrap()
            .is_some()
    );

    let response = send_raw(
        app.port,
        "POST",
        "/api/1/store/",
        &auth(),
        b"{\"message\": \"plain json\"}",
        false,
    )
    .await;
    assert_eq!(response.status, 200);
    let response = send_raw(app.port, "POST", "/api/1/store/", &auth(), b"   ", false).await;
    assert_eq!(response.status, 400);
    app.stop().await;
}

#[tokio::test]
async fn event_ids_header_wins_duplicates_are_stored_once() {
    let app = spawn_app().await;
    app.project("p", ProjectId(1), "k1").await;
    let payload =
        json!({"event_id": "11111111111111111111111111111111", "message": "dup"}).to_string();
    let body = format!(
        "{{\"event_id\":\"22222222-2222-2222-2222-222222222222\"}}\n{{\"type\":\"event\",\"length\":{}}}\n{payload}\n",
        payload.len()
    );
    for _ in 0..3 {
        let response = post_envelope(&app, 1, "k1", body.as_bytes()).await;
        assert_eq!(response.status, 200);
        assert_eq!(response.json()["id"], "22222222222222222222222222222222");
    }
    assert_eq!(
        app.store.event_ids(ProjectId(1)).await.unwrap(),
        vec!["22222222222222222222222222222222".to_owned()]
    );
    let issues = app.store.list_issues(ProjectId(1)).await.unwrap();
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].times_seen, 1, "an SDK retry must not count twice");

    // No id anywhere (or the nil UUID): Snag makes one.
    let body = "{\"event_id\":\"00000000-0000-0000-0000-000000000000\"}\n{\"type\":\"event\"}\n{\"message\":\"anonymous\"}";
    let response = post_envelope(&app, 1, "k1", body.as_bytes()).await;
    let id = response.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    assert!(
        app.store
            .get_event(ProjectId(1), &id)
            .await
            .unwrap()
            .is_some()
    );
    app.stop().await;
}

#[tokio::test]
async fn issues_count_events_users_tags_and_minutes() {
    let app = spawn_app().await;
    app.project("p", ProjectId(1), "k1").await;
    let error = |user: &str, tier: &str| {
        json!({
            "platform": "python",
            "release": "app@1.0",
            "environment": "production",
            "tags": [["tier", tier]],
            "user": {"id": user},
            "exception": {"values": [{"type": "KeyError", "value": format!("'{user}'"),
                "stacktrace": {"frames": [{"module": "app.views", "function": "lookup", "filename": "app/views.py", "in_app": true, "context_line": "return users[name]"}]}}]}
        })
    };
    for (user, tier) in [
        ("u1", "gold"),
        ("u2", "gold"),
        ("u1", "free"),
        ("u3", "gold"),
    ] {
        assert_eq!(
            post_envelope(&app, 1, "k1", &event_envelope(&error(user, tier)))
                .await
                .status,
            200
        );
    }
    let issues = app.store.list_issues(ProjectId(1)).await.unwrap();
    assert_eq!(
        issues.len(),
        1,
        "same stack, same type: one issue despite different values"
    );
    let issue = &issues[0];
    assert_eq!(issue.times_seen, 4);
    assert_eq!(issue.users_seen, 3);
    assert_eq!(issue.title, "KeyError: 'u3'");
    assert_eq!(issue.culprit, "app.views in lookup");
    assert_eq!(issue.first_release.as_deref(), Some("app@1.0"));
    assert_eq!(app.store.issue_minute_total(issue.id).await.unwrap(), 4);
    let tags = app.store.issue_tags(issue.id).await.unwrap();
    let count = |tags: &[snag::store::events::TagCount], k: &str, v: &str| {
        tags.iter()
            .find(|t| t.key == k && t.value == v)
            .map(|t| t.count)
    };
    assert_eq!(count(&tags, "tier", "gold"), Some(3));
    assert_eq!(count(&tags, "tier", "free"), Some(1));
    assert_eq!(count(&tags, "environment", "production"), Some(4));
    assert_eq!(count(&tags, "user", "id:u1"), Some(2));
    assert_eq!(count(&tags, "level", "error"), Some(4));

    // Tag rows are folded into per-issue counts every quarter second (here, with the writer
    // idle, on their own), and the counts stay the same.
    let response = post_envelope(&app, 1, "k1", &event_envelope(&error("u4", "free"))).await;
    assert_eq!(response.status, 200);
    let folded = async {
        while app.store.pending_tag_rows().await.unwrap() > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(5), folded)
        .await
        .expect("pending tag rows are folded while the writer is idle");
    let tags = app.store.issue_tags(issue.id).await.unwrap();
    assert_eq!(count(&tags, "tier", "gold"), Some(3));
    assert_eq!(count(&tags, "tier", "free"), Some(2));
    assert_eq!(count(&tags, "user", "id:u4"), Some(1));
    assert_eq!(count(&tags, "environment", "production"), Some(5));

    // An event from an hour ago moves first_seen back, and last_seen stays.
    let before = &app.store.list_issues(ProjectId(1)).await.unwrap()[0];
    let mut late = error("u5", "free");
    let hour_ago = chrono::Utc::now() - chrono::Duration::hours(1);
    late["timestamp"] = json!(hour_ago.timestamp());
    let response = post_envelope(&app, 1, "k1", &event_envelope(&late)).await;
    assert_eq!(response.status, 200);
    let after = &app.store.list_issues(ProjectId(1)).await.unwrap()[0];
    assert_eq!(after.first_seen, hour_ago.timestamp() * 1000);
    assert_eq!(after.last_seen, before.last_seen);
    assert_eq!(after.times_seen, 6);
    app.stop().await;
}

#[tokio::test]
async fn fingerprints_split_and_merge_issues() {
    let app = spawn_app().await;
    app.project("p", ProjectId(1), "k1").await;
    let send = |message: &str, fingerprint: serde_json::Value| {
        let mut event = json!({"message": message});
        if !fingerprint.is_null() {
            event["fingerprint"] = fingerprint;
        }
        event_envelope(&event)
    };
    for body in [
        send("db timeout on shard 1", json!(["database-timeout"])),
        send("db timeout on shard 2", json!(["database-timeout"])),
        send("checkout failed", json!(["{{ default }}", "eu"])),
        send("checkout failed", json!(["{{ default }}", "us"])),
        send("checkout failed", json!(["{{ default }}"])),
        send("checkout failed", serde_json::Value::Null),
    ] {
        assert_eq!(post_envelope(&app, 1, "k1", &body).await.status, 200);
    }
    let mut counts: Vec<i64> = app
        .store
        .list_issues(ProjectId(1))
        .await
        .unwrap()
        .iter()
        .map(|i| i.times_seen)
        .collect();
    counts.sort();
    assert_eq!(
        counts,
        vec![1, 1, 2, 2],
        "database-timeout x2, eu, us, default x2"
    );
    app.stop().await;
}

#[tokio::test]
async fn attachments_and_user_reports_are_stored_with_their_event() {
    let app = spawn_app().await;
    app.project("p", ProjectId(1), "k1").await;
    let event = json!({"message": "with files"}).to_string();
    let report = json!({"event_id": "cccccccccccccccccccccccccccccccc", "name": "Ann", "email": "ann@example.com", "comments": "it crashed"}).to_string();
    let body = format!(
        "{{\"event_id\":\"cccccccccccccccccccccccccccccccc\"}}\n\
         {{\"type\":\"attachment\",\"length\":11,\"filename\":\"log.txt\",\"content_type\":\"text/plain\"}}\nhello\nworld\n\
         {{\"type\":\"event\"}}\n{event}\n\
         {{\"type\":\"user_report\"}}\n{report}\n\
         {{\"type\":\"attachment\",\"length\":3,\"filename\":\"dump.bin\",\"attachment_type\":\"event.minidump\"}}\n\x00\x01\x02"
    );
    let response = post_envelope(&app, 1, "k1", body.as_bytes()).await;
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    let attachments = app
        .store
        .event_attachments(ProjectId(1), "cccccccccccccccccccccccccccccccc")
        .await
        .unwrap();
    let listed: Vec<(&str, &str, i64)> = attachments
        .iter()
        .map(|a| (a.filename.as_str(), a.attachment_type.as_str(), a.size))
        .collect();
    assert_eq!(
        listed,
        [
            ("log.txt", "event.attachment", 11),
            ("dump.bin", "event.minidump", 3)
        ]
    );
    let event = "cccccccccccccccccccccccccccccccc";
    for (n, bytes) in [b"hello\nworld".to_vec(), vec![0, 1, 2]]
        .into_iter()
        .enumerate()
    {
        let attachment = app
            .store
            .event_attachment(ProjectId(1), event, n as i64)
            .await;
        assert_eq!(attachment.unwrap().unwrap().data, bytes);
    }
    let reports = app.store.user_reports(ProjectId(1)).await.unwrap();
    assert_eq!(
        reports,
        vec![snag::store::events::UserReport {
            event_id: Some(event.into()),
            name: Some("Ann".into()),
            email: Some("ann@example.com".into()),
            comments: "it crashed".into()
        }]
    );

    // An attachment over the limit is refused whole.
    let big = vec![b'x'; 21 << 20];
    let mut body = b"{\"event_id\":\"dddddddddddddddddddddddddddddddd\"}\n".to_vec();
    body.extend_from_slice(
        format!("{{\"type\":\"attachment\",\"length\":{}}}\n", big.len()).as_bytes(),
    );
    body.extend_from_slice(&big);
    let response = post_envelope(&app, 1, "k1", &body).await;
    assert_eq!(response.status, 413);
    assert!(
        response.json()["detail"]
            .as_str()
            .unwrap()
            .contains("'attachment'")
    );
    app.stop().await;
}

#[tokio::test]
async fn stored_events_keep_every_field_in_canonical_form() {
    let app = spawn_app().await;
    app.project("p", ProjectId(1), "k1").await;
    let when = chrono::Utc::now() - chrono::Duration::hours(1);
    let event = json!({
        "event_id": "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
        "timestamp": when.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "level": 50,
        "logentry": {"message": "Order %s failed", "params": ["7"]},
        "breadcrumbs": [{"message": "clicked"}],
        "tags": {"a": 1},
        "exception": [{"value": "ValueError: nope", "stacktrace": {"frames": [
            {"function": "f", "pre_context": ["a", "b"], "post_context": [],
             "vars": {"x": {"y": [1, 2.5, null]}, "s": "\u{0}{"}}
        ]}}],
        "sentry.interfaces.Stacktrace": {"frames": [{"function": "g", "vars": "\u{0}{\"a\""}]},
        "modules": {"django": "5.1"},
        "extra": {"nested": {"deep": [true]}},
        "custom_field": {"kept": true}
    });
    assert_eq!(
        post_envelope(&app, 1, "k1", &event_envelope(&event))
            .await
            .status,
        200
    );
    let stored = app
        .store
        .get_event(ProjectId(1), "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee")
        .await
        .unwrap()
        .unwrap();
    let json = stored.json().unwrap();
    assert_eq!(json["level"], "fatal");
    assert_eq!(
        json["logentry"],
        json!({"formatted": "Order 7 failed", "message": "Order %s failed", "params": ["7"]})
    );
    assert_eq!(
        json["breadcrumbs"],
        json!({"values": [{"message": "clicked"}]})
    );
    assert_eq!(json["tags"], json!([["a", "1"]]));
    assert_eq!(json["exception"]["values"][0]["type"], "ValueError");
    assert_eq!(json["exception"]["values"][0]["value"], "nope");
    // Source context, locals, modules and extra come back exactly as sent (they are passed
    // through unparsed); a client's string that looks like such a part stays a string.
    assert_eq!(
        json["exception"]["values"][0]["stacktrace"]["frames"][0],
        event["exception"][0]["stacktrace"]["frames"][0]
    );
    assert_eq!(json["stacktrace"]["frames"][0]["vars"], "\u{0}{\"a\"");
    assert_eq!(json["modules"], event["modules"]);
    assert_eq!(json["extra"], event["extra"]);
    assert_eq!(json["custom_field"], json!({"kept": true}));
    assert_eq!(stored.timestamp, when.timestamp_millis());
    app.stop().await;
}

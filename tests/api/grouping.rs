//! Grouping through the real server: SDK captures sent again group with themselves, another
//! call site splits, and a project's own rules (set with `snag project rules`) apply at ingest.

use serde_json::{Value, json};
use snag::store::{IssueId, ProjectId};

use crate::helpers::{event_envelope, fixtures_dir, post_envelope, run_snag, spawn_app};

/// The event payloads of every captured event envelope of an SDK.
pub fn captured_events(group: &str) -> Vec<(String, Value)> {
    let mut files: Vec<_> = std::fs::read_dir(fixtures_dir().join(group))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains("-envelope-event"))
        })
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|path| {
            let capture: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let body = capture["body_text_if_utf8_after_decompression"].as_str()?;
            // header, item header, event payload
            let payload = body.lines().nth(2)?;
            let event: Value = serde_json::from_str(payload).ok()?;
            Some((path.display().to_string(), event))
        })
        .collect()
}

fn fresh_id(mut event: Value) -> Value {
    event["event_id"] = json!(uuid::Uuid::new_v4().simple().to_string());
    event
}

async fn issue_of(app: &crate::helpers::TestApp, project: ProjectId, event: &Value) -> IssueId {
    let id = event["event_id"].as_str().unwrap();
    app.store
        .get_event(project, id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("event {id} not stored"))
        .issue_id
}

#[tokio::test]
async fn sdk_events_group_with_themselves_and_split_by_call_site() {
    let app = spawn_app().await;
    app.project("sdks", ProjectId(1), "publickey").await;
    let mut issues_by_capture = Vec::new();
    for group in ["python", "node", "browser"] {
        let events = captured_events(group);
        assert!(!events.is_empty(), "no event captures for {group}");
        for (name, event) in events {
            let (first, second) = (fresh_id(event.clone()), fresh_id(event.clone()));
            for e in [&first, &second] {
                let r = post_envelope(&app, 1, "publickey", &event_envelope(e)).await;
                assert_eq!(
                    r.status,
                    200,
                    "{name}: {}",
                    String::from_utf8_lossy(&r.body)
                );
            }
            let issue = issue_of(&app, ProjectId(1), &first).await;
            assert_eq!(issue, issue_of(&app, ProjectId(1), &second).await, "{name}");
            issues_by_capture.push((name, issue));
        }
    }
    // The Python chained exception raised from another function is another issue.
    let (_, chained) = captured_events("python")
        .into_iter()
        .find(|(n, _)| n.contains("chained_exception"))
        .expect("the python chained exception capture");
    let mut elsewhere = fresh_id(chained.clone());
    let values = elsewhere["exception"]["values"].as_array_mut().unwrap();
    let frames = values
        .last_mut()
        .unwrap()
        .pointer_mut("/stacktrace/frames")
        .and_then(Value::as_array_mut)
        .unwrap();
    frames.last_mut().unwrap()["function"] = json!("another_call_site");
    let r = post_envelope(&app, 1, "publickey", &event_envelope(&elsewhere)).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let same = fresh_id(chained);
    post_envelope(&app, 1, "publickey", &event_envelope(&same)).await;
    assert_ne!(
        issue_of(&app, ProjectId(1), &elsewhere).await,
        issue_of(&app, ProjectId(1), &same).await
    );
    app.stop().await;
}

#[tokio::test]
async fn project_rules_set_by_the_cli_apply_at_ingest() {
    let app = spawn_app().await;
    app.project("rules", ProjectId(2), "rulekey").await;
    let dir = tempfile::tempdir().unwrap();
    let fingerprints = dir.path().join("fingerprints.txt");
    std::fs::write(
        &fingerprints,
        "# every database error is one issue\nerror.type:DatabaseError -> database-error\n",
    )
    .unwrap();
    let stack = dir.path().join("stack.txt");
    std::fs::write(&stack, "stack.function:log_* -group\n").unwrap();

    let frame = |function: &str| json!({"module": "app.db", "function": function, "in_app": true});
    let error = |ty: &str, function: &str| {
        fresh_id(json!({"platform": "python", "exception": {"values": [
            {"type": ty, "value": "boom", "stacktrace": {"frames": [frame("main"), frame(function)]}}
        ]}}))
    };

    // Two database errors and two errors in logging helpers, each pair from two call sites.
    let send = async |app: &crate::helpers::TestApp| {
        let events = [
            error("DatabaseError", "load"),
            error("DatabaseError", "save"),
            error("KeyError", "log_write"),
            error("KeyError", "log_flush"),
        ];
        for e in &events {
            let r = post_envelope(app, 2, "rulekey", &event_envelope(e)).await;
            assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        }
        events
    };

    // Before the rules: two call sites, two issues.
    let [a, b, c, d] = send(&app).await;
    assert_ne!(
        issue_of(&app, ProjectId(2), &a).await,
        issue_of(&app, ProjectId(2), &b).await
    );
    assert_ne!(
        issue_of(&app, ProjectId(2), &c).await,
        issue_of(&app, ProjectId(2), &d).await
    );

    // A rule file that does not parse is refused, with the line.
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "error.type:X ->\n").unwrap();
    let (ok, _, stderr) = run_snag(
        &app.database_url,
        &[
            "project",
            "rules",
            "rules",
            "--fingerprint-rules",
            bad.to_str().unwrap(),
        ],
    )
    .await;
    assert!(!ok && stderr.contains("line 1"), "{stderr}");

    let (ok, stdout, stderr) = run_snag(
        &app.database_url,
        &[
            "project",
            "rules",
            "rules",
            "--fingerprint-rules",
            fingerprints.to_str().unwrap(),
            "--stacktrace-rules",
            stack.to_str().unwrap(),
        ],
    )
    .await;
    assert!(ok, "{stdout}{stderr}");
    // The server reads a project's rules again within its key cache time; a fresh server
    // (as after a restart) sees them at once.
    let app2 = crate::helpers::spawn_app_on(&app.database_url).await;
    let [a, b, c, d] = send(&app2).await;
    assert_eq!(
        issue_of(&app2, ProjectId(2), &a).await,
        issue_of(&app2, ProjectId(2), &b).await
    );
    assert_eq!(
        issue_of(&app2, ProjectId(2), &c).await,
        issue_of(&app2, ProjectId(2), &d).await
    );
    app2.stop().await;
    app.stop().await;
}

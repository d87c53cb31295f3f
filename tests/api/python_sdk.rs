//! The real Python sentry-sdk (installed by .ci/run from PyPI) against a real Snag.

use snag::store::ProjectId;
use std::collections::HashMap;

use serde_json::Value;

use crate::helpers::spawn_app;

pub fn python() -> String {
    std::env::var("SNAG_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// Runs `tests/e2e/python_sdk.py` against `dsn`: the event ids it prints, and its stderr.
pub async fn run_script(dsn: &str) -> (Value, String) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/python_sdk.py");
    let output = tokio::process::Command::new(python())
        .arg(script)
        .arg(dsn)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    let ids = serde_json::from_slice(&output.stdout).expect("the script prints its event ids");
    (ids, stderr)
}

#[tokio::test]
async fn python_sdk_chained_exception_message_and_logging_error_are_stored() {
    let probe = std::process::Command::new(python())
        .args(["-c", "import sentry_sdk"])
        .output();
    let installed = probe.as_ref().is_ok_and(|o| o.status.success());
    assert!(
        installed,
        "this test needs the Python sentry-sdk: `pip install sentry-sdk` (.ci/run installs it): {probe:?}"
    );
    let app = spawn_app().await;
    app.project("python", ProjectId(1), "pythonkey").await;
    let dsn = format!("http://pythonkey@127.0.0.1:{}/1", app.port);
    let (ids, stderr) = run_script(&dsn).await;
    let sent: Vec<String> = serde_json::from_value(ids["sent"].clone()).unwrap();
    assert_eq!(sent.len(), 6, "{ids}");

    let mut by_id = HashMap::new();
    for id in &sent {
        let event = app
            .store
            .get_event(ProjectId(1), id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("event {id} not stored; sdk said: {stderr}"));
        by_id.insert(id.clone(), event);
    }
    let chained = &by_id[ids["chained"].as_str().unwrap()];
    let json = chained.json().unwrap();
    let types: Vec<&str> = json["exception"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["ConnectionError", "DatabaseError"],
        "cause first, raised exception last"
    );
    assert_eq!(chained.release.as_deref(), Some("e2e@1.0.0"));
    assert_eq!(chained.environment.as_deref(), Some("e2e"));
    assert_eq!(chained.user_key.as_deref(), Some("id:user-42"));
    let issue = app
        .store
        .get_issue(chained.issue_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(issue.title, "DatabaseError: could not load user 1234");
    assert_eq!(issue.culprit, "__main__ in load_user");
    assert_eq!(issue.issue_type, "error");

    let message = &by_id[ids["message"].as_str().unwrap()];
    assert_eq!(message.level, "warning");
    assert_eq!(message.title, "e2e message from python");

    let logged = by_id
        .values()
        .find(|e| e.json().unwrap()["logger"] == "e2e.orders")
        .expect("the logging event");
    let json = logged.json().unwrap();
    assert_eq!(
        json["logentry"]["message"],
        "Failed to process order %s for %s"
    );
    assert_eq!(
        json["logentry"]["formatted"],
        "Failed to process order 1001 for bob"
    );
    assert_eq!(logged.level, "error");

    // The same error from the same call site groups; from another call site it splits.
    let issue_of = |id: &Value| by_id[id.as_str().unwrap()].issue_id;
    let web = ids["declined_web"].as_array().unwrap();
    let api = ids["declined_api"].as_array().unwrap();
    assert_eq!(issue_of(&web[0]), issue_of(&web[1]), "{ids}");
    assert_ne!(issue_of(&web[0]), issue_of(&api[0]), "{ids}");

    let issues = app.store.list_issues(ProjectId(1)).await.unwrap();
    assert_eq!(
        issues.len(),
        5,
        "{:?}",
        issues.iter().map(|i| &i.title).collect::<Vec<_>>()
    );
    let tags = app.store.issue_tags(issue.id).await.unwrap();
    assert!(
        tags.iter()
            .any(|t| t.key == "suite" && t.value == "python-e2e"),
        "{tags:?}"
    );
    app.stop().await;
}

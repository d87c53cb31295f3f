//! Sentry's own MCP server (`@sentry/mcp-server`, pinned in tests/e2e/package.json) against a
//! real Snag holding what the real Python SDK sent: the tools an AI assistant calls to read and
//! triage errors, spoken to over stdio (JSON-RPC, one message a line).

use serde_json::{Value, json};
use snag::store::ProjectId;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::helpers::{TestApp, post_envelope, spawn_app};
use crate::python_sdk::python;

fn sentry_mcp() -> String {
    crate::helpers::npm_tool("sentry-mcp", "Sentry's MCP server")
}

/// The MCP server as a child process, initialized.
struct Mcp {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    stdout: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    next_id: u64,
}

impl Mcp {
    async fn start(app: &TestApp, token: &str) -> Mcp {
        let mut child = tokio::process::Command::new(sentry_mcp())
            .arg(format!("--host=127.0.0.1:{}", app.port))
            .arg("--insecure-http")
            .arg(format!("--access-token={token}"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start the MCP server");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut mcp = Mcp {
            child,
            stdin,
            stdout,
            next_id: 0,
        };
        let init = json!({"protocolVersion": "2025-06-18", "capabilities": {},
                          "clientInfo": {"name": "snag-tests", "version": "1"}});
        mcp.request("initialize", init).await;
        mcp.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        mcp
    }

    async fn send(&mut self, message: Value) {
        let mut line = message.to_string();
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    async fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        let wait = tokio::time::timeout(std::time::Duration::from_secs(30), async {
            loop {
                let line = self
                    .stdout
                    .next_line()
                    .await
                    .unwrap()
                    .expect("the MCP server answers");
                let message: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
                if message["id"] == id {
                    return message;
                }
            }
        });
        wait.await.expect("an answer within 30 s")
    }

    /// A tool's text answer; the call must succeed.
    async fn call(&mut self, tool: &str, arguments: Value) -> String {
        let answer = self
            .request(
                "tools/call",
                json!({"name": tool, "arguments": arguments.clone()}),
            )
            .await;
        let result = &answer["result"];
        let text: String = result["content"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["text"].as_str())
            .collect();
        assert!(
            result["isError"] != true && answer["error"].is_null(),
            "{tool} {arguments}: {answer}"
        );
        text
    }

    /// A tool's answer through `execute_sentry_tool`, error or not: whether it failed, and its
    /// text.
    async fn try_execute(&mut self, tool: &str, arguments: Value) -> (bool, String) {
        let answer = self
            .request(
                "tools/call",
                json!({"name": "execute_sentry_tool", "arguments": {"name": tool, "arguments": arguments}}),
            )
            .await;
        let result = &answer["result"];
        let text: String = result["content"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["text"].as_str())
            .collect();
        (
            result["isError"] == true || !answer["error"].is_null(),
            format!("{text}{}", answer["error"]),
        )
    }

    /// One of the tools the server lists behind `execute_sentry_tool`.
    async fn execute(&mut self, tool: &str, arguments: Value) -> String {
        self.call(
            "execute_sentry_tool",
            json!({"name": tool, "arguments": arguments}),
        )
        .await
    }
}

#[tokio::test]
async fn sentrys_mcp_server_reads_and_triages_what_the_python_sdk_sent() {
    let app = spawn_app().await;
    app.project("python", ProjectId(1), "pythonkey").await;
    let dev = app
        .store
        .create_user("dev@example.com", "correct horse battery", true)
        .await
        .unwrap();
    let (token, _) = app
        .store
        .create_token("mcp", &[], Some(dev.id))
        .await
        .unwrap();
    let dsn = format!("http://pythonkey@127.0.0.1:{}/1", app.port);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/python_sdk.py");
    let sent = tokio::process::Command::new(python())
        .arg(script)
        .arg(&dsn)
        .output()
        .await
        .unwrap();
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let issues = app.store.list_issues(ProjectId(1)).await.unwrap();
    let database_error = issues
        .iter()
        .find(|i| i.title.starts_with("DatabaseError"))
        .expect("the SDK's chained exception is an issue");
    let short_id = format!("PYTHON-{}", database_error.short_id);

    let mut mcp = Mcp::start(&app, &token).await;
    let tools = mcp.request("tools/list", json!({})).await;
    assert!(
        tools["result"]["tools"].as_array().unwrap().len() >= 5,
        "{tools}"
    );

    let text = mcp.call("find_organizations", json!({})).await;
    assert!(text.contains("\"snag\""), "{text}");
    let text = mcp
        .call("find_projects", json!({"organizationSlug": "snag"}))
        .await;
    assert!(text.contains("\"python\""), "{text}");
    let text = mcp.execute("whoami", json!({})).await;
    assert!(text.contains("dev@example.com"), "{text}");
    let text = mcp
        .execute("find_teams", json!({"organizationSlug": "snag"}))
        .await;
    assert!(text.contains("everyone"), "{text}");
    let text = mcp
        .execute(
            "find_dsns",
            json!({"organizationSlug": "snag", "projectSlug": "python"}),
        )
        .await;
    assert!(text.contains(&dsn), "{text}");
    let text = mcp
        .execute("find_releases", json!({"organizationSlug": "snag"}))
        .await;
    assert!(
        text.contains("1.0.0"),
        "the SDK's release e2e@1.0.0: {text}"
    );

    // Issue search and details, by short id.
    let text = mcp
        .call(
            "search_issues",
            json!({"organizationSlug": "snag", "query": "is:unresolved"}),
        )
        .await;
    assert!(text.contains(&short_id), "{text}");
    let text = mcp
        .execute(
            "get_issue_details",
            json!({"organizationSlug": "snag", "issueId": short_id}),
        )
        .await;
    assert!(text.contains("DatabaseError"), "{text}");
    assert!(text.contains("**Status**: unresolved"), "{text}");
    let text = mcp
        .execute(
            "get_issue_tag_values",
            json!({"organizationSlug": "snag", "issueId": short_id, "tagKey": "environment"}),
        )
        .await;
    assert!(text.contains("\"e2e\""), "{text}");
    let text = mcp
        .execute(
            "search_issue_events",
            json!({"organizationSlug": "snag", "issueId": short_id, "query": "environment:e2e"}),
        )
        .await;
    assert!(text.contains("Found 1"), "{text}");
    let text = mcp
        .execute(
            "search_issue_events",
            json!({"organizationSlug": "snag", "issueId": short_id, "query": "environment:staging"}),
        )
        .await;
    assert!(
        !text.contains("Found 1"),
        "another environment's events: {text}"
    );

    // Event search as an assistant runs it: validated first, then answered from the events.
    let text = mcp
        .execute(
            "search_events",
            json!({"organizationSlug": "snag", "dataset": "errors",
                   "query": "environment:e2e level:error", "sort": "-timestamp"}),
        )
        .await;
    assert!(text.contains("DatabaseError"), "{text}");
    assert!(text.contains(&short_id), "{text}");
    let text = mcp
        .execute(
            "search_events",
            json!({"organizationSlug": "snag", "dataset": "errors",
                   "query": "error.type:DatabaseError", "fields": ["issue", "count()"],
                   "sort": "-count()"}),
        )
        .await;
    assert!(
        text.contains(&short_id) && text.contains("count()"),
        "{text}"
    );
    // Logs, as the assistant searches them (validated first, then the logs dataset).
    let lines = [
        crate::logs::log_line(
            2_000,
            "5c9a1c24191a40d486d2cf547bb59096",
            "error",
            "payment 42 declined",
            &[("logger.name", "shop.payments")],
        ),
        crate::logs::log_line(
            1_000,
            "5c9a1c24191a40d486d2cf547bb59096",
            "info",
            "cart 7 opened",
            &[("logger.name", "shop.cart")],
        ),
    ];
    let r = post_envelope(
        &app,
        1,
        "pythonkey",
        &crate::logs::log_item_envelope(&lines),
    )
    .await;
    assert_eq!(r.status, 200);
    let text = mcp
        .execute(
            "search_events",
            json!({"organizationSlug": "snag", "dataset": "logs", "projectSlug": "python",
                   "query": "severity:error logger.name:shop.payments"}),
        )
        .await;
    assert!(
        text.contains("payment 42 declined") && !text.contains("cart 7"),
        "{text}"
    );

    // Triage: resolved, then assigned.
    mcp.call(
        "update_issue",
        json!({"organizationSlug": "snag", "issueId": short_id, "status": "resolved"}),
    )
    .await;
    let text = mcp
        .call(
            "update_issue",
            json!({"organizationSlug": "snag", "issueId": short_id,
                   "assignedTo": format!("user:{}", dev.id)}),
        )
        .await;
    assert!(text.contains("dev@example.com"), "{text}");
    let stored = app
        .store
        .get_issue(database_error.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status.as_str(), "resolved");
    assert_eq!(stored.assignee_id, Some(dev.id));
    let kinds: Vec<String> = app
        .store
        .issue_activity(database_error.id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.kind)
        .collect();
    assert_eq!(kinds, ["assigned", "set_resolved"]);
    let text = mcp
        .execute(
            "get_issue_activity",
            json!({"organizationSlug": "snag", "issueId": short_id}),
        )
        .await;
    assert!(
        text.contains("set_resolved by dev@example.com") && text.contains("assigned"),
        "{text}"
    );
    let text = mcp
        .execute(
            "get_issue_breadcrumbs",
            json!({"organizationSlug": "snag", "issueId": short_id}),
        )
        .await;
    assert!(text.contains("Breadcrumbs for"), "{text}");

    // By its number too; notes and user feedback; the release the SDK named.
    let text = mcp
        .execute(
            "get_issue_details",
            json!({"organizationSlug": "snag", "issueId": database_error.id.to_string()}),
        )
        .await;
    assert!(text.contains(&format!("# Issue {short_id}")), "{text}");
    let text = mcp
        .execute(
            "add_issue_note",
            json!({"organizationSlug": "snag", "issueId": short_id, "text": "seen on checkout"}),
        )
        .await;
    assert!(text.contains("seen on checkout"), "{text}");
    let notes = app.store.issue_activity(database_error.id).await.unwrap();
    assert!(notes.iter().any(|a| a.kind == "note"), "{notes:?}");
    // A user's feedback and a log file about the SDK's event, sent after it as SDKs do.
    let chained: Value = serde_json::from_slice(&sent.stdout).unwrap();
    let event_id = chained["chained"].as_str().unwrap().to_owned();
    let report = json!({"event_id": event_id, "name": "Ada", "email": "ada@example.com",
                        "comments": "the profile page is blank"})
    .to_string();
    let body = format!(
        "{{\"event_id\":\"{event_id}\"}}\n{{\"type\":\"user_report\"}}\n{report}\n\
         {{\"type\":\"attachment\",\"length\":5,\"filename\":\"db.log\"}}\nerror\n"
    );
    let r = crate::helpers::post_envelope(&app, 1, "pythonkey", body.as_bytes()).await;
    assert_eq!(r.status, 200);
    let text = mcp
        .execute(
            "get_issue_user_reports",
            json!({"organizationSlug": "snag", "issueId": short_id}),
        )
        .await;
    assert!(text.contains("the profile page is blank"), "{text}");
    let text = mcp
        .execute(
            "get_event_attachment",
            json!({"organizationSlug": "snag", "projectSlug": "python", "eventId": event_id}),
        )
        .await;
    assert!(text.contains("db.log"), "{text}");
    let text = mcp
        .execute(
            "get_release_details",
            json!({"organizationSlug": "snag", "releaseVersion": "e2e@1.0.0"}),
        )
        .await;
    assert!(text.contains("e2e@1.0.0"), "{text}");

    // Seer is not there, and says so as Sentry does with the feature off.
    let (failed, text) = mcp
        .try_execute(
            "analyze_issue_with_seer",
            json!({"organizationSlug": "snag", "issueId": short_id}),
        )
        .await;
    assert!(
        failed && text.contains("AI Autofix is not enabled"),
        "{text}"
    );

    mcp.child.kill().await.ok();
    app.stop().await;
}

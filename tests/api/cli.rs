//! The command line as a new user meets it: serve, then create and list projects beside it.

use serde_json::json;

use crate::helpers::{ServerProcess, event_envelope, run_snag, send_raw};

#[tokio::test]
async fn serve_creates_a_default_project_and_project_create_works_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("data/snag.db").display());
    let mut server = ServerProcess::start(&db).await;
    let dsn_line = server
        .stdout
        .iter()
        .find(|l| l.starts_with("DSN: "))
        .expect("serve prints the default DSN");
    assert!(
        dsn_line.ends_with(&format!("@127.0.0.1:{}/1", server.port)),
        "{dsn_line}"
    );
    assert!(
        server
            .stdout
            .iter()
            .any(|l| l.contains("Created project 'default'"))
    );
    let health = send_raw(server.port, "GET", "/healthz", &[], b"", false).await;
    assert_eq!(health.status, 200);

    // A second project, created by another process while the server runs, works at once.
    let base = format!("http://127.0.0.1:{}", server.port);
    let (ok, stdout, stderr) =
        run_snag(&db, &["--base-url", &base, "project", "create", "web-shop"]).await;
    assert!(ok, "{stderr}");
    let dsn = stdout.lines().last().unwrap().trim().to_owned();
    let (key, project) = dsn
        .strip_prefix("http://")
        .and_then(|r| r.split_once('@'))
        .map(|(k, rest)| (k.to_owned(), rest.rsplit('/').next().unwrap().to_owned()))
        .expect("DSN shape");
    assert_eq!(
        dsn,
        format!("http://{key}@127.0.0.1:{}/{project}", server.port)
    );
    let headers = vec![(
        "X-Sentry-Auth".to_owned(),
        format!("Sentry sentry_key={key}"),
    )];
    let body = event_envelope(&json!({"message": "hello from the new project"}));
    let response = send_raw(
        server.port,
        "POST",
        &format!("/api/{project}/envelope/"),
        &headers,
        &body,
        false,
    )
    .await;
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );

    let (ok, stdout, _) = run_snag(&db, &["--base-url", &base, "project", "list"]).await;
    assert!(ok);
    assert!(
        stdout.contains("default") && stdout.contains(&dsn),
        "{stdout}"
    );

    let (ok, _, stderr) = run_snag(&db, &["project", "create", "Bad Name"]).await;
    assert!(!ok);
    assert!(stderr.contains("invalid project name"), "{stderr}");
    let (ok, _, stderr) = run_snag(&db, &["project", "create", "web-shop"]).await;
    assert!(!ok);
    assert!(stderr.contains("already exists"), "{stderr}");
    server.child.start_kill().unwrap();
    server.child.wait().await.unwrap();

    // A restart keeps the data and does not create a second default project.
    let mut again = ServerProcess::start(&db).await;
    assert!(!again.stdout.iter().any(|l| l.contains("Created project")));
    again.child.start_kill().unwrap();
}

#[tokio::test]
async fn bad_configuration_is_a_readable_error() {
    let (ok, _, stderr) = run_snag("mysql://nowhere/db", &["project", "list"]).await;
    assert!(!ok);
    assert!(stderr.contains("unsupported database URL"), "{stderr}");
    // A PostgreSQL server that is not there: which one, never the password.
    let url = "postgres://snag:secret-word@nowhere.invalid:6543/snag";
    let (ok, _, stderr) = run_snag(url, &["project", "list"]).await;
    assert!(!ok);
    assert!(
        stderr.contains("cannot connect to PostgreSQL at nowhere.invalid:6543/snag"),
        "{stderr}"
    );
    assert!(!stderr.contains("secret-word"), "{stderr}");
    let (ok, _, stderr) = run_snag("sqlite::memory:", &["serve", "--bind", "not-an-address"]).await;
    assert!(!ok);
    assert!(
        stderr.contains("cannot listen on not-an-address"),
        "{stderr}"
    );
}

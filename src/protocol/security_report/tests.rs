use serde_json::{Value, json};

use super::*;

fn event(report: Value) -> Result<Map<String, Value>, ReportError> {
    let report = report.as_object().unwrap().clone();
    to_event(&report, kind(&report)?, &Context::default())
}

fn csp(body: Value) -> Map<String, Value> {
    event(json!({ "csp-report": body })).unwrap()
}

fn title(event: &Map<String, Value>) -> &str {
    event["logentry"]["formatted"].as_str().unwrap()
}

fn tags(event: &Map<String, Value>) -> Vec<(String, String)> {
    event["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t[0].as_str().unwrap().to_owned(),
                t[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// What headless Chromium 156 posted for an inline script under `script-src 'self'`
/// (tests/fixtures/sdk/browser-csp/01-security-csp_inline.json).
const CHROMIUM_INLINE: &str = r#"{"csp-report":{"document-uri":"http://127.0.0.1:42349/inline.html","referrer":"","violated-directive":"script-src-elem","effective-directive":"script-src-elem","original-policy":"script-src 'self'; report-uri http://127.0.0.1:42349/api/1/security/?sentry_key=publickey&sentry_environment=capture","disposition":"enforce","blocked-uri":"inline","line-number":1,"column-number":58,"source-file":"http://127.0.0.1:42349/inline.html","status-code":200,"script-sample":""}}"#;

#[test]
fn a_chromium_report_becomes_a_csp_event() {
    let reports = reports(CHROMIUM_INLINE.as_bytes()).unwrap();
    let ctx = Context {
        release: Some("shop@1.2".into()),
        environment: Some("production".into()),
        origin: Some("http://127.0.0.1:42349".into()),
        user_agent: vec![("User-Agent".into(), "HeadlessChrome/156".into())],
    };
    let event = to_event(&reports[0], Kind::Csp, &ctx).unwrap();
    insta::assert_json_snapshot!(Value::Object(event), @r#"
    {
      "csp": {
        "blocked_uri": "inline",
        "column_number": 58,
        "disposition": "enforce",
        "document_uri": "http://127.0.0.1:42349/inline.html",
        "effective_directive": "script-src-elem",
        "line_number": 1,
        "original_policy": "script-src 'self'; report-uri http://127.0.0.1:42349/api/1/security/?sentry_key=publickey&sentry_environment=capture",
        "referrer": "",
        "script_sample": "",
        "source_file": "http://127.0.0.1:42349/inline.html",
        "status_code": 200,
        "violated_directive": "script-src-elem"
      },
      "culprit": "script-src-elem",
      "environment": "production",
      "logentry": {
        "formatted": "Blocked 'script' from 'inline:'"
      },
      "logger": "csp",
      "release": "shop@1.2",
      "request": {
        "headers": [
          [
            "Origin",
            "http://127.0.0.1:42349"
          ],
          [
            "User-Agent",
            "HeadlessChrome/156"
          ]
        ],
        "url": "http://127.0.0.1:42349/inline.html"
      },
      "tags": [
        [
          "effective-directive",
          "script-src-elem"
        ],
        [
          "blocked-uri",
          "inline"
        ]
      ],
      "type": "csp",
      "user": {
        "ip_address": "{{auto}}"
      }
    }
    "#);
}

#[test]
fn csp_titles_follow_relay() {
    let cases = [
        (
            "img-src",
            Some("http://google.com/foo"),
            "Blocked 'image' from 'google.com'",
        ),
        ("style-src", Some(""), "Blocked inline 'style'"),
        (
            "script-src",
            None,
            "Blocked unsafe (eval() or inline) 'script'",
        ),
        (
            "script-src",
            Some("inline"),
            "Blocked unsafe inline 'script'",
        ),
        ("script-src", Some("eval"), "Blocked unsafe eval() 'script'"),
        (
            "script-src",
            Some("'self'"),
            "Blocked unsafe (eval() or inline) 'script'",
        ),
        (
            "script-src",
            Some("data:text/plain;base64,SGVsbG8="),
            "Blocked 'script' from 'data:'",
        ),
        ("script-src", Some("data"), "Blocked 'script' from 'data:'"),
        (
            "script-src",
            Some("INLINE"),
            "Blocked 'script' from 'INLINE:'",
        ),
        (
            "style-src",
            Some("inline"),
            "Blocked 'style' from 'inline:'",
        ),
        (
            "style-src-elem",
            Some("http://fonts.google.com/foo"),
            "Blocked 'style' from 'fonts.google.com'",
        ),
        (
            "style-src-elem",
            Some("self"),
            "Blocked 'style' or 'link' element",
        ),
        ("style-src-attr", Some(""), "Blocked style attribute"),
        (
            "script-src-elem",
            Some("http://cdn.ajaxapis.com/foo"),
            "Blocked 'script' from 'cdn.ajaxapis.com'",
        ),
        (
            "script-src-elem",
            Some(""),
            "Blocked inline script attribute",
        ),
        (
            "script-src-attr",
            Some("eval"),
            "Blocked inline script attribute from 'eval:'",
        ),
        (
            "script-src-attr",
            Some("'self'"),
            "Blocked unsafe 'script' element",
        ),
        (
            "style-src",
            Some("http://notlocalhost:8000/lol.css"),
            "Blocked 'style' from 'notlocalhost:8000'",
        ),
        (
            "form-action",
            Some("https://evil.example/post"),
            "Blocked 'form' action to 'evil.example'",
        ),
        (
            "default-src",
            Some("http://evilhackerscripts.com"),
            "Blocked 'default-src' from 'evilhackerscripts.com'",
        ),
        (
            "frame-ancestors",
            Some(""),
            "Blocked inline 'frame-ancestors'",
        ),
    ];
    for (directive, blocked, expected) in cases {
        let mut body =
            json!({"document-uri": "http://example.com/foo", "effective-directive": directive});
        if let Some(blocked) = blocked {
            body["blocked-uri"] = json!(blocked);
        }
        assert_eq!(title(&csp(body)), expected, "{directive} {blocked:?}");
    }
}

#[test]
fn the_reporting_api_shape_is_the_same_report_in_camel_case() {
    let body = json!([
        {"type": "csp-violation", "age": 0, "url": "https://shop.example/",
         "user_agent": "Mozilla/5.0",
         "body": {"documentURL": "https://shop.example/", "blockedURL": "https://evil.example/x.js",
                  "effectiveDirective": "script-src-elem", "disposition": "enforce",
                  "originalPolicy": "script-src 'self'; report-to csp", "statusCode": 200,
                  "sample": "", "lineNumber": "3", "sourceFile": "https://shop.example/"}},
        {"type": "deprecation", "body": {"id": "x"}}
    ]);
    let reports = reports(body.to_string().as_bytes()).unwrap();
    assert_eq!(reports.len(), 2);
    assert_eq!(kind(&reports[1]), Err(ReportError::Unsupported));
    let event = to_event(&reports[0], kind(&reports[0]).unwrap(), &Context::default()).unwrap();
    assert_eq!(title(&event), "Blocked 'script' from 'evil.example'");
    assert_eq!(event["csp"]["line_number"], 3);
    assert_eq!(event["csp"]["script_sample"], "");
    assert_eq!(event["csp"]["violated_directive"], "");
    assert_eq!(event["culprit"], "");
    assert_eq!(
        tags(&event),
        [
            ("effective-directive".into(), "script-src-elem".into()),
            ("blocked-uri".into(), "https://evil.example/x.js".into()),
            ("blocked-host".into(), "evil.example".into()),
        ]
    );
}

#[test]
fn culprits_name_the_documents_origin_self() {
    let culprit = |document: &str, violated: &str| {
        csp(
            json!({"document-uri": document, "violated-directive": violated,
                   "effective-directive": "style-src"}),
        )["culprit"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let doc = "http://example.com/foo";
    assert_eq!(
        culprit(doc, "style-src http://cdn.example.com"),
        "style-src http://cdn.example.com"
    );
    assert_eq!(
        culprit(doc, "style-src cdn.example.com"),
        "style-src cdn.example.com"
    );
    assert_eq!(
        culprit(doc, "style-src http://example.com"),
        "style-src 'self'"
    );
    assert_eq!(
        culprit(doc, "style-src http://example2.com example.com"),
        "style-src http://example2.com 'self'"
    );
    assert_eq!(
        culprit("example.com", "style-src example2.com"),
        "style-src example2.com"
    );
    assert_eq!(
        culprit(doc, "script-src 'self' 'unsafe-eval'"),
        "script-src 'self' 'unsafe-eval'"
    );
    assert_eq!(
        culprit("chrome-extension://abc/page", "style-src cdn.example.com"),
        "style-src chrome-extension://cdn.example.com"
    );
}

#[test]
fn directives_fall_back_to_the_violated_one_and_must_be_known() {
    // Firefox sends no effective directive.
    let event = csp(
        json!({"violated-directive": "default-src 'self'", "blocked-uri": "https://a.example/"}),
    );
    assert_eq!(event["csp"]["effective_directive"], "default-src");
    // CSP2 appends the source list; an unknown name falls back too.
    let event =
        csp(json!({"effective-directive": "script-src 'unsafe-eval'", "blocked-uri": "inline"}));
    assert_eq!(title(&event), "Blocked unsafe inline 'script'");
    let event = csp(json!({"effective-directive": "not-a-directive",
                           "violated-directive": "script-src 'unsafe-inline'", "blocked-uri": "eval"}));
    assert_eq!(title(&event), "Blocked unsafe eval() 'script'");
    for body in [
        json!({"blocked-uri": "inline"}),
        json!({"effective-directive": "not-a-directive", "violated-directive": "also-not"}),
        json!({"violated-directive": "'unsafe-inline'"}),
    ] {
        assert!(matches!(event_of(body), Err(ReportError::Invalid(_))));
    }
}

fn event_of(body: Value) -> Result<Map<String, Value>, ReportError> {
    event(json!({ "csp-report": body }))
}

#[test]
fn stripe_urls_are_tagged_without_their_query_and_numbers_may_be_text() {
    let event = csp(json!({"document-uri": "https://example.com",
        "blocked-uri": "https://api.stripe.com/v1/tokens?card[number]=xxx",
        "effective-directive": "script-src", "status-code": "200"}));
    assert_eq!(tags(&event)[1].1, "https://api.stripe.com/v1/tokens");
    assert_eq!(tags(&event)[2].1, "api.stripe.com");
    assert_eq!(event["csp"]["status_code"], 200);
    // Negative or non-numeric counts make the report invalid, as in Relay.
    assert!(event_of(json!({"effective-directive": "img-src", "line-number": -1})).is_err());
    assert!(event_of(json!({"effective-directive": "img-src", "status-code": "ok"})).is_err());
}

#[test]
fn normalized_uris() {
    use super::csp::normalize_uri;
    assert_eq!(normalize_uri(""), "'self'");
    assert_eq!(normalize_uri("self"), "'self'");
    assert_eq!(normalize_uri("data"), "data:");
    assert_eq!(normalize_uri("http"), "http://");
    assert_eq!(normalize_uri("http://notlocalhost/"), "notlocalhost");
    assert_eq!(
        normalize_uri("https://notlocalhost/lol.css"),
        "notlocalhost"
    );
    assert_eq!(normalize_uri("data://notlocalhost/"), "data://notlocalhost");
    assert_eq!(
        normalize_uri("http://notlocalhost:8000/lol.css"),
        "notlocalhost:8000"
    );
    assert_eq!(normalize_uri("xyz://notlocalhost/"), "xyz://notlocalhost");
    assert_eq!(normalize_uri("blob:https://shop.example/uuid"), "blob:");
}

#[test]
fn hpkp_reports() {
    let event = event(json!({
        "date-time": "2014-04-06T13:00:50Z", "hostname": "www.example.com", "port": 443,
        "effective-expiration-date": "2014-05-01T12:40:50Z", "include-subdomains": false,
        "served-certificate-chain": ["-----BEGIN CERTIFICATE-----"],
        "validated-certificate-chain": ["-----BEGIN CERTIFICATE-----"],
        "known-pins": ["pin-sha256=\"d6qzRu9zOECb90Uez27xWltNsj0e1Md7GkYYkVoZWmM=\""]
    }))
    .unwrap();
    assert_eq!(event["type"], "hpkp");
    assert_eq!(
        title(&event),
        "Public key pinning validation failed for 'www.example.com'"
    );
    assert!(event.get("culprit").is_none());
    assert_eq!(event["request"]["url"], "www.example.com");
    assert_eq!(
        tags(&event),
        [
            ("hostname".into(), "www.example.com".into()),
            ("port".into(), "443".into()),
            ("include-subdomains".into(), "false".into()),
        ]
    );
    assert_eq!(event["hpkp"]["date_time"], "2014-04-06T13:00:50+00:00");
    assert_eq!(event["hpkp"]["known_pins"].as_array().unwrap().len(), 1);
    // No known pins: not an HPKP report at all.
    assert_eq!(
        kind(json!({"hostname": "x"}).as_object().unwrap()),
        Err(ReportError::UnknownType)
    );
}

#[test]
fn expect_ct_and_expect_staple_reports() {
    let event = event(json!({"expect-ct-report": {
        "date-time": "2014-04-06T13:00:50Z", "hostname": "www.example.com", "port": 443,
        "scheme": "https", "effective-expiration-date": "2014-05-01T12:40:50Z",
        "served-certificate-chain": ["-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----"],
        "scts": [{"version": 1, "status": "invalid", "source": "embedded", "serialized_sct": "ABCD=="}],
        "failure-mode": "enforce", "test-report": false
    }}))
    .unwrap();
    assert_eq!(event["type"], "expectct");
    assert_eq!(title(&event), "Expect-CT failed for 'www.example.com'");
    assert_eq!(event["culprit"], "www.example.com");
    assert_eq!(event["expectct"]["scts"][0]["status"], "invalid");
    assert_eq!(event["expectct"]["failure_mode"], "enforce");
    assert_eq!(tags(&event).len(), 2);

    let event = super::tests::event(json!({"expect-staple-report": {
        "date-time": "2014-04-06T13:00:50Z", "hostname": "www.example.com", "port": 443,
        "response-status": "ERROR_RESPONSE", "cert-status": "REVOKED",
        "effective-expiration-date": "2014-05-01T12:40:50Z"
    }}))
    .unwrap();
    assert_eq!(event["type"], "expectstaple");
    assert_eq!(title(&event), "Expect-Staple failed for 'www.example.com'");
    assert_eq!(
        tags(&event),
        [
            ("hostname".into(), "www.example.com".into()),
            ("port".into(), "443".into()),
            ("response_status".into(), "ERROR_RESPONSE".into()),
            ("cert_status".into(), "REVOKED".into()),
        ]
    );
    let bad = super::tests::event(
        json!({"expect-staple-report": {"hostname": "h", "cert-status": "MAYBE"}}),
    );
    assert!(matches!(bad, Err(ReportError::Invalid(_))));
}

#[test]
fn bodies_that_are_no_reports() {
    assert!(matches!(reports(b"{"), Err(ReportError::Json(_))));
    assert!(matches!(reports(b"\"x\""), Err(ReportError::Invalid(_))));
    assert!(matches!(reports(b"[1]"), Err(ReportError::Invalid(_))));
    assert_eq!(
        kind(json!({"something": 1}).as_object().unwrap()),
        Err(ReportError::UnknownType)
    );
    assert!(is_report_content_type("application/csp-report"));
    assert!(is_report_content_type(
        "application/reports+json; charset=utf-8"
    ));
    assert!(is_report_content_type("Application/JSON"));
    assert!(!is_report_content_type("text/plain"));
    assert!(!is_report_content_type("application/x-www-form-urlencoded"));
}

//! Sentry's security-report strategies (`csp:v1`, `hpkp:v1`, `expect-staple:v1`,
//! `expect-ct:v1`): one `default` variant, chosen by the interface the event carries.
//!
//! ```text
//! csp
//! ├─ salt "script-src-elem"                     (the effective directive)
//! ├─ violation (ignored because it's not a local script violation)
//! └─ uri "evil.example"                         (the normalized blocked URI)
//!
//! csp, for script-src blocked on the document's own origin with 'unsafe-inline' named:
//! ├─ salt "script-src"
//! ├─ violation "'unsafe-inline'"
//! └─ uri "'self'" (ignored because violation takes precedence)
//!
//! hpkp / expect-ct / expect-staple
//! ├─ salt "hpkp"
//! └─ hostname "shop.example"
//! ```
//! They score below the exception, thread and stack-trace strategies and above `message`,
//! whose `logentry` (the report's title) they take precedence over.

use serde_json::{Value, json};

use super::component::Component;
use crate::normalize::NormalizedEvent;
use crate::protocol::security_report::{Kind, normalize_uri};

/// The interfaces by Sentry's strategy score, highest first.
const BY_SCORE: [Kind; 4] = [Kind::Csp, Kind::Hpkp, Kind::ExpectStaple, Kind::ExpectCt];

/// The security report an event carries (its interface), if any.
pub fn report(event: &NormalizedEvent) -> Option<(Kind, &serde_json::Map<String, Value>)> {
    BY_SCORE.into_iter().find_map(|kind| {
        event
            .json
            .get(kind.event_type())
            .and_then(Value::as_object)
            .map(|interface| (kind, interface))
    })
}

/// The strategy's name (as precedence hints say it) and its component.
pub fn strategy(event: &NormalizedEvent) -> Option<(&'static str, Component<'_>)> {
    let (kind, interface) = report(event)?;
    let text = |key: &str| interface.get(key).and_then(Value::as_str);
    let component = match kind {
        Kind::Csp => {
            let directive = text("effective_directive").unwrap_or_default();
            let uri = normalize_uri(text("blocked_uri").unwrap_or_default());
            let mut violation = Component::new("violation");
            let mut uri_component = Component::text("uri", uri.to_string());
            match local_script_violation(directive, text("violated_directive"), &uri) {
                Some(ty) => {
                    violation = Component::text("violation", format!("'{ty}'"));
                    uri_component
                        .set_contributes(false, "ignored because violation takes precedence");
                }
                None => violation
                    .set_contributes(false, "ignored because it's not a local script violation"),
            }
            Component::with_children(
                "csp",
                vec![Component::text("salt", directive), violation, uri_component],
            )
        }
        Kind::Hpkp | Kind::ExpectCt | Kind::ExpectStaple => {
            let id = salt(kind);
            let mut hostname = Component::new("hostname");
            if let Some(h) = text("hostname") {
                hostname = Component::text("hostname", h);
            }
            Component::with_children(id, vec![Component::text("salt", id), hostname])
        }
    };
    Some((kind.event_type(), component))
}

fn salt(kind: Kind) -> &'static str {
    match kind {
        Kind::Csp => "csp",
        Kind::Hpkp => "hpkp",
        Kind::ExpectCt => "expect-ct",
        Kind::ExpectStaple => "expect-staple",
    }
}

/// Sentry's `local_script_violation_type`: a `script-src` violation by the document itself,
/// with the permission its directive names.
fn local_script_violation(
    directive: &str,
    violated: Option<&str>,
    normalized_uri: &str,
) -> Option<&'static str> {
    let violated = violated.filter(|v| !v.is_empty())?;
    if directive != "script-src" || normalized_uri != "'self'" {
        return None;
    }
    if violated.contains("'unsafe-inline'") {
        Some("unsafe-inline")
    } else if violated.contains("'unsafe-eval'") {
        Some("unsafe-eval")
    } else {
        None
    }
}

/// Sentry's metadata of a security event: its message, and the normalized blocked URI and
/// directive (CSP) or the origin, the hostname (the others).
pub fn metadata(event: &NormalizedEvent, title: &str) -> Option<(&'static str, Value)> {
    let (kind, interface) = report(event)?;
    let text = |key: &str| interface.get(key).and_then(Value::as_str);
    let metadata = match kind {
        Kind::Csp => json!({
            "message": title,
            "uri": normalize_uri(text("blocked_uri").unwrap_or_default()),
            "directive": text("effective_directive"),
        }),
        _ => json!({ "message": title, "origin": text("hostname") }),
    };
    Some((kind.event_type(), metadata))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::grouping::{ProjectRules, explain, group};
    use crate::normalize::{Context, NormalizedEvent, normalize};
    use crate::protocol::security_report::{self, Context as ReportContext};

    fn report_event(report: serde_json::Value) -> NormalizedEvent {
        let report = report.as_object().unwrap().clone();
        let kind = security_report::kind(&report).unwrap();
        let event = security_report::to_event(&report, kind, &ReportContext::default()).unwrap();
        normalize(serde_json::Value::Object(event), &Context::default()).unwrap()
    }

    fn csp(body: serde_json::Value) -> NormalizedEvent {
        report_event(json!({ "csp-report": body }))
    }

    fn values(event: &NormalizedEvent) -> Vec<String> {
        let explained = explain(event, &ProjectRules::default());
        explained["values"]["default"]["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn csp_groups_by_directive_and_blocked_host() {
        let a = csp(json!({"document-uri": "https://shop.example/a",
            "effective-directive": "script-src-elem", "violated-directive": "script-src-elem",
            "blocked-uri": "https://evil.example/one.js?x=1"}));
        let b = csp(json!({"document-uri": "https://shop.example/b",
            "effective-directive": "script-src-elem", "violated-directive": "script-src-elem",
            "blocked-uri": "https://evil.example/two.js"}));
        assert_eq!(values(&a), ["script-src-elem", "evil.example"]);
        let (ga, gb) = (group(&a), group(&b));
        assert_eq!(ga.hashes, gb.hashes);
        assert_eq!(
            ga.hashes,
            [crate::grouping::hash_values([
                "script-src-elem",
                "evil.example"
            ])]
        );
        assert_eq!(ga.title, "Blocked 'script' from 'evil.example'");
        assert_eq!(ga.culprit, "script-src-elem");
        assert_eq!(ga.issue_type, "csp");
        assert_eq!(
            ga.metadata,
            json!({"message": "Blocked 'script' from 'evil.example'", "uri": "evil.example",
                   "directive": "script-src-elem"})
        );
        // Another host, or another directive: another issue.
        let c = csp(json!({"effective-directive": "script-src-elem",
            "blocked-uri": "https://other.example/one.js"}));
        let d = csp(json!({"effective-directive": "img-src",
            "blocked-uri": "https://evil.example/one.png"}));
        assert_ne!(group(&c).hashes, ga.hashes);
        assert_ne!(group(&d).hashes, ga.hashes);
    }

    #[test]
    fn chromium_inline_scripts_group_by_the_inline_marker() {
        let event = csp(json!({"document-uri": "http://127.0.0.1:1/inline.html",
            "violated-directive": "script-src-elem", "effective-directive": "script-src-elem",
            "blocked-uri": "inline", "line-number": 1}));
        assert_eq!(values(&event), ["script-src-elem", "inline:"]);
        let explained = explain(&event, &ProjectRules::default());
        let message = &explained["values"]["default"]["component"]["values"][1];
        assert_eq!(message["id"], "message");
        assert_eq!(message["contributes"], false);
        assert_eq!(message["hint"], "csp takes precedence");
    }

    #[test]
    fn local_script_violations_hash_the_permission_not_the_uri() {
        let event = csp(json!({"document-uri": "http://example.com/",
            "effective-directive": "script-src", "blocked-uri": "self",
            "violated-directive": "script-src 'self' 'unsafe-eval'"}));
        assert_eq!(values(&event), ["script-src", "'unsafe-eval'"]);
        let explained = explain(&event, &ProjectRules::default());
        let tree = &explained["values"]["default"]["component"]["values"][0];
        assert_eq!(
            tree["values"][2]["hint"],
            "ignored because violation takes precedence"
        );
        // Without a permission named, the URI counts: 'self'.
        let event = csp(
            json!({"effective-directive": "script-src", "blocked-uri": "",
            "violated-directive": "script-src 'self'"}),
        );
        assert_eq!(values(&event), ["script-src", "'self'"]);
    }

    #[test]
    fn certificate_reports_group_by_hostname() {
        let hpkp = report_event(json!({"hostname": "www.example.com", "port": 443,
            "known-pins": []}));
        assert_eq!(values(&hpkp), ["hpkp", "www.example.com"]);
        let g = group(&hpkp);
        assert_eq!(
            g.title,
            "Public key pinning validation failed for 'www.example.com'"
        );
        // No culprit of its own: Sentry shows the request's URL, the hostname.
        assert_eq!(g.culprit, "www.example.com");
        assert_eq!(g.issue_type, "hpkp");
        assert_eq!(
            g.metadata,
            json!({"message": "Public key pinning validation failed for 'www.example.com'",
                   "origin": "www.example.com"})
        );
        let ct = report_event(json!({"expect-ct-report": {"hostname": "www.example.com"}}));
        assert_eq!(values(&ct), ["expect-ct", "www.example.com"]);
        assert_eq!(group(&ct).issue_type, "expectct");
        let staple = report_event(json!({"expect-staple-report": {"hostname": "www.example.com"}}));
        assert_eq!(values(&staple), ["expect-staple", "www.example.com"]);
    }
}

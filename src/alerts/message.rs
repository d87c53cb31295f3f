//! What an alert email says: subject, text and HTML parts. Pure.
//!
//! ```text
//! Subject: [Snag] shop SHOP-12 - DatabaseError: could not load user 1234
//! Spiking: 42 events in the last 5 minutes, 12 times the usual rate.
//! Level: error · Culprit: app.users in load_user · First seen … · Events 1,204 · Users 88
//! Top in-app frame: users.py in load_user
//! http://snag.example.com/issues/12
//! ```

use crate::store::alerts::AlertIssue;
use crate::web::format::utc;

/// Why an alert fires.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    New,
    Regression,
    Spike {
        count: i64,
        usual: f64,
    },
    /// A spike on an issue ignored until it escalates: it is back.
    Escalating {
        count: i64,
        usual: f64,
    },
    Frequency {
        count: i64,
        minutes: i64,
    },
}

impl Reason {
    pub fn rule(&self) -> &'static str {
        match self {
            Reason::New => "new",
            Reason::Regression => "regression",
            Reason::Spike { .. } => "spike",
            Reason::Escalating { .. } => "escalating",
            Reason::Frequency { .. } => "frequency",
        }
    }

    /// One sentence for people.
    pub fn describe(&self) -> String {
        let times = |count: i64, usual: f64| {
            let ratio = count as f64 / usual.max(f64::MIN_POSITIVE);
            if ratio >= 10.0 {
                format!("{ratio:.0} times")
            } else {
                format!("{ratio:.1} times")
            }
        };
        match self {
            Reason::New => "A new issue: first seen just now.".into(),
            Reason::Regression => {
                "Regressed: the issue was resolved and has been seen again.".into()
            }
            Reason::Spike { count, usual } => format!(
                "Spiking: {count} events in the last 5 minutes, {} the usual rate (about {usual:.1} per 5 minutes).",
                times(*count, *usual)
            ),
            Reason::Escalating { count, usual } => format!(
                "Escalating: the issue was ignored until it escalates, and had {count} events in the last 5 minutes, {} the usual rate.",
                times(*count, *usual)
            ),
            Reason::Frequency { count, minutes } => {
                format!("More than {count} events in {minutes} minutes.")
            }
        }
    }
}

/// Subject, text and HTML of the email about `issue`.
pub fn compose(issue: &AlertIssue, reason: &Reason, link: &str) -> (String, String, String) {
    let short_id = format!("{}-{}", issue.project.to_uppercase(), issue.short_id);
    let subject = format!(
        "[Snag] {} {short_id} - {}",
        issue.project,
        one_line(&issue.title, 200)
    );
    let frame = top_frame(&issue.metadata);
    let rows: Vec<(&str, String)> = [
        ("Project", issue.project.clone()),
        ("Level", issue.level.clone()),
        ("Culprit", issue.culprit.clone()),
        ("First seen", utc(issue.first_seen)),
        ("Last seen", utc(issue.last_seen)),
        ("Events", issue.times_seen.to_string()),
        ("Users", issue.users_seen.to_string()),
        ("Top in-app frame", frame.unwrap_or_default()),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect();

    let mut text = format!("{}\n\n{}\n{}\n\n", issue.title, reason.describe(), link);
    for (k, v) in &rows {
        text.push_str(&format!("{k}: {v}\n"));
    }
    text.push_str("\n-- \nSnag alerts for this project are set on its Projects page.\n");

    let mut html = format!(
        "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;color:#1d1d22\">\
         <p style=\"color:#6b6b76;margin:0\">{} · {}</p>\
         <h2 style=\"margin:.25rem 0\"><a href=\"{}\">{}</a></h2><p><strong>{}</strong></p>\
         <table cellpadding=\"4\" style=\"border-collapse:collapse\">",
        escape(&issue.project),
        escape(&short_id),
        escape(link),
        escape(&issue.title),
        escape(&reason.describe())
    );
    for (k, v) in &rows {
        html.push_str(&format!(
            "<tr><th align=\"left\" style=\"color:#6b6b76;font-weight:normal\">{}</th><td>{}</td></tr>",
            escape(k),
            escape(v)
        ));
    }
    html.push_str(&format!(
        "</table><p><a href=\"{}\">Open the issue in Snag</a></p></body></html>",
        escape(link)
    ));
    (subject, text, html)
}

/// The JSON a project's webhook receives: `text` for chat tools that show one line, and the
/// issue's fields for those that want more.
pub fn webhook_payload(issue: &AlertIssue, reason: &Reason, link: &str) -> String {
    let short_id = format!("{}-{}", issue.project.to_uppercase(), issue.short_id);
    serde_json::json!({
        "text": format!("[{}] {short_id} {}: {} {link}", issue.project, one_line(&issue.title, 200), reason.describe()),
        "rule": reason.rule(),
        "reason": reason.describe(),
        "project": issue.project,
        "issue": {
            "id": issue.id.to_string(),
            "shortId": short_id,
            "title": issue.title,
            "culprit": issue.culprit,
            "level": issue.level,
            "status": issue.status,
            "count": issue.times_seen.to_string(),
            "userCount": issue.users_seen,
            "firstSeen": utc(issue.first_seen),
            "lastSeen": utc(issue.last_seen),
            "permalink": link,
        },
    })
    .to_string()
}

/// `filename in function` of the crash frame kept in the issue's metadata.
fn top_frame(metadata: &str) -> Option<String> {
    let meta: serde_json::Value = serde_json::from_str(metadata).ok()?;
    let file = meta.get("filename").and_then(|v| v.as_str());
    let function = meta.get("function").and_then(|v| v.as_str());
    match (file, function) {
        (Some(f), Some(func)) => Some(format!("{f} in {func}")),
        (Some(f), None) => Some(f.to_owned()),
        (None, Some(func)) => Some(func.to_owned()),
        (None, None) => None,
    }
}

/// The first line, at most `max` characters: subjects cannot hold newlines.
fn one_line(s: &str, max: usize) -> String {
    s.lines().next().unwrap_or("").chars().take(max).collect()
}

/// HTML text escaping (event data is attacker-controlled, mail clients render HTML).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue() -> AlertIssue {
        AlertIssue {
            id: 12,
            project_id: 1,
            project: "shop".into(),
            short_id: 12,
            title: "DatabaseError: <script>x</script>\nsecond line".into(),
            culprit: "app.users in load_user".into(),
            level: "error".into(),
            status: "unresolved".into(),
            substatus: "new".into(),
            first_seen: 1_795_312_455_000,
            last_seen: 1_795_312_455_000,
            times_seen: 1204,
            users_seen: 88,
            metadata: r#"{"filename": "users.py", "function": "load_user"}"#.into(),
            regressed_at: None,
        }
    }

    #[test]
    fn subject_body_and_escaping() {
        let reason = Reason::Spike {
            count: 42,
            usual: 3.5,
        };
        let (subject, text, html) = compose(&issue(), &reason, "http://snag.test/issues/12");
        assert_eq!(
            subject,
            "[Snag] shop SHOP-12 - DatabaseError: <script>x</script>"
        );
        assert!(text.contains("Spiking: 42 events in the last 5 minutes, 12 times the usual rate"));
        assert!(text.contains("http://snag.test/issues/12"));
        assert!(text.contains("Top in-app frame: users.py in load_user"));
        assert!(text.contains("Events: 1204"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("href=\"http://snag.test/issues/12\""));
    }

    #[test]
    fn webhook_payloads_carry_the_issue() {
        let payload = webhook_payload(&issue(), &Reason::New, "http://snag.test/issues/12");
        let v: serde_json::Value = serde_json::from_str(&payload).unwrap();
        assert_eq!(v["rule"], "new");
        assert_eq!(v["issue"]["shortId"], "SHOP-12");
        assert_eq!(v["issue"]["count"], "1204");
        assert_eq!(v["issue"]["permalink"], "http://snag.test/issues/12");
        assert!(
            v["text"]
                .as_str()
                .unwrap()
                .starts_with("[shop] SHOP-12 DatabaseError")
        );
    }

    #[test]
    fn reasons_read_well() {
        assert_eq!(Reason::New.rule(), "new");
        assert!(Reason::Regression.describe().starts_with("Regressed"));
        let r = Reason::Spike {
            count: 10,
            usual: 2.0,
        }
        .describe();
        assert!(r.contains("5.0 times"), "{r}");
        assert!(
            Reason::Frequency {
                count: 100,
                minutes: 10
            }
            .describe()
            .contains("More than 100 events in 10 minutes")
        );
    }
}

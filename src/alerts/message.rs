//! What an alert email says: subject, text and HTML parts. Pure.
//!
//! ```text
//! Subject: [Snag] shop SHOP-12 - DatabaseError: could not load user 1234
//! Spiking: 42 events in the last 5 minutes, 12 times the usual rate.
//! Level: error · Culprit: app.users in load_user · First seen … · Events 1,204 · Users 88
//! Top in-app frame: users.py in load_user
//! http://snag.example.com/issues/12
//! ```

use askama::Template;

use crate::format::utc;
use crate::store::alerts::AlertIssue;

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

#[derive(askama::Template)]
#[template(path = "alert_email.html")]
struct HtmlEmail<'a> {
    project: &'a str,
    short_id: &'a str,
    link: &'a str,
    title: &'a str,
    reason: String,
    rows: &'a [(&'a str, String)],
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
        ("Level", issue.level.to_string()),
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

    // Mail clients render the HTML part: event text goes through askama's escaping.
    let html = HtmlEmail {
        project: &issue.project,
        short_id: &short_id,
        link,
        title: &issue.title,
        reason: reason.describe(),
        rows: &rows,
    }
    .render()
    .unwrap_or_default();
    (subject, text, html)
}

/// The JSON a project's webhook receives: `text` for chat tools that show one line, and the
/// issue's fields for those that want more.
pub fn webhook_payload(issue: &AlertIssue, reason: &Reason, link: &str) -> String {
    let short_id = format!("{}-{}", issue.project.to_uppercase(), issue.short_id);
    // The title is the event's text, written by whoever sent it: inert as chat markup.
    let title = chat_text(&one_line(&issue.title, 200));
    serde_json::json!({
        "text": format!("[{}] {short_id} {title}: {} {link}", issue.project, reason.describe()),
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

/// Text that chat tools show as written: Slack's `<url|label>`, `<!channel>` and entities are
/// escaped as Slack asks (`&amp;`, `&lt;`, `&gt;`); Markdown links `[label](url)` and
/// `@everyone`/`@here` mentions (Discord, Mattermost, Teams) are broken by a zero-width space.
pub fn chat_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            ']' if chars.peek() == Some(&'(') => out.push_str("]\u{200b}"),
            '@' => out.push_str("@\u{200b}"),
            c => out.push(c),
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::issue_state::{Level, Status, Substatus};
    use crate::store::{IssueId, ProjectId};

    fn issue() -> AlertIssue {
        AlertIssue {
            id: IssueId(12),
            project_id: ProjectId(1),
            project: "shop".into(),
            short_id: 12,
            title: "DatabaseError: <script>x</script>\nsecond line".into(),
            culprit: "app.users in load_user".into(),
            level: Level::Error,
            status: Status::Unresolved,
            substatus: Substatus::New,
            first_seen: 1_795_312_455_000,
            last_seen: 1_795_312_455_000,
            times_seen: 1204,
            users_seen: 88,
            metadata: r#"{"filename": "users.py", "function": "load_user"}"#.into(),
            regressed_at: None,
            assignee_email: None,
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
        assert!(html.contains("&#60;script&#62;"));
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
    fn chat_markup_in_event_text_is_inert() {
        let mut hostile = issue();
        hostile.title =
            "Error <https://evil.example|Reset your password> [click](https://evil.example) @everyone <!channel> a&b".into();
        let payload = webhook_payload(&hostile, &Reason::New, "http://snag.test/issues/12");
        let v: serde_json::Value = serde_json::from_str(&payload).unwrap();
        let text = v["text"].as_str().unwrap();
        assert!(!text.contains("<https://evil"), "{text}");
        assert!(
            text.contains("&lt;https://evil.example|Reset your password&gt;"),
            "{text}"
        );
        assert!(!text.contains("](https"), "{text}");
        assert!(!text.contains("@everyone"), "{text}");
        assert!(!text.contains("<!channel>"), "{text}");
        assert!(text.contains("a&amp;b"), "{text}");
        // The link Snag adds itself stays a link.
        assert!(text.ends_with(" http://snag.test/issues/12"), "{text}");
        // The structured fields keep the title as sent.
        assert_eq!(v["issue"]["title"], hostile.title.as_str());
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

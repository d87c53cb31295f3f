//! Sentry-style issue search: `is:unresolved level:error release:"shop@2.4" has:user timeout`.
//!
//! ```text
//! is:unresolved|resolved|ignored|all   status (default: unresolved)
//! level:error                          issue level
//! has:user                             seen by at least one user
//! KEY:VALUE, KEY:"VALUE WITH SPACES"   a tag of one of its events (release, environment, os.name…)
//! anything else                        words of the title or culprit
//! ```

use crate::store::issues::IssueFilter;

/// The query shown when none is given, as in Sentry.
pub const DEFAULT_QUERY: &str = "is:unresolved";

/// Splits a query into terms; double quotes keep spaces (`release:"a b"`, `"two words"`).
fn terms(query: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in query.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The filter a query asks for (the project is the caller's).
pub fn parse(query: &str) -> IssueFilter {
    let mut filter = IssueFilter {
        status: Some("unresolved".into()),
        ..IssueFilter::default()
    };
    for term in terms(query) {
        // `key:value`, but a URL (`https://…`) is text.
        let Some((key, value)) = term.split_once(':').filter(|(k, v)| {
            !k.is_empty()
                && !v.is_empty()
                && !v.starts_with("//")
                && k.chars().all(|c| c.is_alphanumeric() || "._-".contains(c))
        }) else {
            filter.text.push(term);
            continue;
        };
        match (key, value) {
            ("is", "unresolved" | "resolved" | "ignored") => filter.status = Some(value.into()),
            ("is", "archived") => filter.status = Some("ignored".into()),
            ("is", "all" | "any") => filter.status = None,
            ("level", level) => filter.level = Some(level.to_lowercase()),
            ("has", "user") => filter.has_user = true,
            ("is" | "has", _) => filter.text.push(term.clone()),
            (key, value) => filter.tags.push((key.to_owned(), value.to_owned())),
        }
    }
    filter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_filters_and_words() {
        let f = parse(
            r#"is:resolved level:ERROR release:"shop@2.4 beta" has:user environment:prod timeout db"#,
        );
        assert_eq!(f.status.as_deref(), Some("resolved"));
        assert_eq!(f.level.as_deref(), Some("error"));
        assert!(f.has_user);
        assert_eq!(
            f.tags,
            vec![
                ("release".to_owned(), "shop@2.4 beta".to_owned()),
                ("environment".to_owned(), "prod".to_owned())
            ]
        );
        assert_eq!(f.text, vec!["timeout", "db"]);
    }

    #[test]
    fn defaults_and_odd_input() {
        assert_eq!(parse("").status.as_deref(), Some("unresolved"));
        assert_eq!(parse("is:all").status, None);
        let f = parse(r#"http://x.io/a ":" "two words" is:nonsense <script>"#);
        assert_eq!(
            f.text,
            vec!["http://x.io/a", ":", "two words", "is:nonsense", "<script>"]
        );
        assert!(f.tags.is_empty());
    }
}

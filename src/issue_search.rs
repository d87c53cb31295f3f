//! The issue search language, Sentry's: `is:unresolved level:error release:"shop@2.4" has:user
//! timeout`, parsed into an [`IssueFilter`]. The issue list page, the REST API's issue lists and
//! bulk updates all read it.
//!
//! ```text
//! is:unresolved|resolved|ignored|all   status (default: unresolved)
//! level:error                          issue level
//! has:user                             seen by at least one user
//! is:assigned|unassigned, assigned:me|none|EMAIL   who it is assigned to
//! first-release:VERSION               first seen in that release
//! trace:TRACE_ID                       one of its events is of that trace
//! KEY:VALUE, KEY:"VALUE WITH SPACES"   a tag of one of its events (release, environment, os.name…)
//! anything else                        words of the title or culprit
//! ```
//! At most [`MAX_TERMS`] terms of at most [`MAX_TERM_CHARS`] characters each: every term is a
//! condition of the query, and a longer one matches nothing a tag or title can hold.

use crate::store::issue_state::Status;
use crate::store::issues::{AssigneeFilter, IssueFilter};

/// The query shown when none is given, as in Sentry.
pub const DEFAULT_QUERY: &str = "is:unresolved";

pub const MAX_TERMS: usize = 20;
pub const MAX_TERM_CHARS: usize = 200;

/// A query too large to run; its text says why and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    #[error("a search may have at most {MAX_TERMS} terms")]
    TooManyTerms,
    #[error("a search term may have at most {MAX_TERM_CHARS} characters")]
    TermTooLong,
}

/// Splits a query into terms; double quotes keep spaces (`release:"a b"`, `"two words"`).
pub(crate) fn terms(query: &str) -> Vec<String> {
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
pub fn parse(query: &str) -> Result<IssueFilter, SearchError> {
    let mut filter = IssueFilter {
        status: Some(Status::Unresolved),
        ..IssueFilter::default()
    };
    let terms = terms(query);
    if terms.len() > MAX_TERMS {
        return Err(SearchError::TooManyTerms);
    }
    if terms.iter().any(|t| t.chars().count() > MAX_TERM_CHARS) {
        return Err(SearchError::TermTooLong);
    }
    for term in terms {
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
            ("is", "unresolved") => filter.status = Some(Status::Unresolved),
            ("is", "resolved") => filter.status = Some(Status::Resolved),
            ("is", "ignored" | "archived") => filter.status = Some(Status::Ignored),
            ("is", "all" | "any") => filter.status = None,
            ("is", "assigned") => filter.assignee = Some(AssigneeFilter::Anybody),
            ("is", "unassigned") | ("assigned", "none") => {
                filter.assignee = Some(AssigneeFilter::Nobody)
            }
            ("assigned", "me") => filter.assignee = Some(AssigneeFilter::Me),
            ("first-release" | "firstRelease", version) => {
                filter.first_release = Some(version.to_owned())
            }
            ("assigned", email) => filter.assignee = Some(AssigneeFilter::Email(email.to_owned())),
            ("trace", trace) => filter.trace_id = Some(trace.to_lowercase().replace('-', "")),
            ("level", level) => filter.level = Some(level.to_lowercase()),
            ("has", "user") => filter.has_user = true,
            ("is" | "has", _) => filter.text.push(term.clone()),
            (key, value) => filter.tags.push((key.to_owned(), value.to_owned())),
        }
    }
    Ok(filter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_filters_and_words() {
        let f = parse(
            r#"is:resolved level:ERROR release:"shop@2.4 beta" has:user environment:prod timeout db"#,
        )
        .unwrap();
        assert_eq!(f.status, Some(Status::Resolved));
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
        assert_eq!(parse("").unwrap().status, Some(Status::Unresolved));
        assert_eq!(parse("is:all").unwrap().status, None);
        let f = parse(r#"http://x.io/a ":" "two words" is:nonsense <script>"#).unwrap();
        assert_eq!(
            f.text,
            vec!["http://x.io/a", ":", "two words", "is:nonsense", "<script>"]
        );
        assert!(f.tags.is_empty());
    }

    #[test]
    fn oversized_queries_are_refused() {
        let many = "word ".repeat(MAX_TERMS + 1);
        assert_eq!(parse(&many).unwrap_err(), SearchError::TooManyTerms);
        assert!(parse(&"word ".repeat(MAX_TERMS)).is_ok());
        let long = "x".repeat(MAX_TERM_CHARS + 1);
        assert_eq!(parse(&long).unwrap_err(), SearchError::TermTooLong);
        assert_eq!(
            parse(&format!("release:\"{long}\"")).unwrap_err(),
            SearchError::TermTooLong
        );
    }
}

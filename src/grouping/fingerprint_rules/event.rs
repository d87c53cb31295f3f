//! What fingerprint rules see of an event, and the tags and SDK name Sentry derives for them.

use std::borrow::Cow;

use crate::grouping::rule_input::{RuleException, RuleFrame};

/// What the rules see of an event. Build it from the normalized event *after* stack-trace
/// normalization (function trimming, in-app rules), as Sentry does.
#[derive(Debug, Clone, Default)]
pub struct RuleEvent<'a> {
    /// Event `platform` (decides `family`).
    pub platform: Option<&'a str>,
    /// `logentry.formatted`.
    pub message: Option<&'a str>,
    /// `exception.values`, in event order.
    pub exceptions: Vec<RuleException<'a>>,
    /// Sentry's `find_stack_frames`: the frames of every exception's stacktrace (in order); if
    /// no exception has frames, the top-level stacktrace; else the crashing thread's (the only
    /// thread, else the only `crashed` one, else the only `current` one).
    pub frames: Vec<RuleFrame<'a>>,
    pub logger: Option<&'a str>,
    pub level: Option<&'a str>,
    /// Event tags; the last entry wins for duplicate keys. Sentry derives `level`, `logger`,
    /// `environment` and `transaction` tags before grouping: see [`with_derived_tags`].
    pub tags: Cow<'a, [(String, String)]>,
    /// Raw `sdk.name`; normalized with [`normalize_sdk_tag`] when matched.
    pub sdk_name: Option<&'a str>,
    pub release: Option<&'a str>,
}

/// The tags as Sentry's `_pull_out_data` leaves them before grouping: the event's tags plus
/// `level`, `logger`, `environment` and `transaction` (these win over sent tags of that name).
pub fn with_derived_tags(
    tags: &[(String, String)],
    level: &str,
    logger: Option<&str>,
    environment: Option<&str>,
    transaction: Option<&str>,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = tags.to_vec();
    let mut set = |key: &str, value: &str| {
        out.retain(|(k, _)| k != key);
        out.push((key.to_owned(), value.to_owned()));
    };
    set("level", level);
    for (key, value) in [
        ("logger", logger),
        ("environment", environment),
        ("transaction", transaction),
    ] {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            set(key, v);
        }
    }
    out
}

const KNOWN_SDK_TAGS: &[&str] = &[
    "sentry.cocoa",
    "sentry.dart",
    "sentry.dotnet",
    "sentry.elixir",
    "sentry.go",
    "sentry.java",
    "sentry.javascript.angular",
    "sentry.javascript.browser",
    "sentry.javascript.capacitor",
    "sentry.javascript.cordova",
    "sentry.javascript.deno",
    "sentry.javascript.electron",
    "sentry.javascript.ember",
    "sentry.javascript.gatsby",
    "sentry.javascript.nextjs",
    "sentry.javascript.node",
    "sentry.javascript.react",
    "sentry.javascript.react.native",
    "sentry.javascript.remix",
    "sentry.javascript.serverless",
    "sentry.javascript.svelte",
    "sentry.javascript.sveltekit",
    "sentry.javascript.vue",
    "sentry.kubernetes",
    "sentry.native.android",
    "sentry.native.dotnet",
    "sentry.native.unity",
    "sentry.native.unreal",
    "sentry.objc",
    "sentry.perl",
    "sentry.php",
    "sentry.python",
    "sentry.ruby",
    "sentry.rust",
    "sentry.swift",
];

const SYNONYMOUS_SDK_TAGS: &[(&str, &str)] = &[
    // (sic: Sentry's table has this typo, so `sentry.cordova` ends up as `other`.)
    ("sentry.cordova", "sentery.javascript.cordova"),
    ("sentry.electron", "sentry.javascript.electron"),
    ("sentry.javascript.angular.ivy", "sentry.javascript.angular"),
    (
        "sentry.javascript.node.experimental",
        "sentry.javascript.node",
    ),
    ("sentry.javascript.react.expo", "sentry.javascript.react"),
    (
        "sentry.javascript.react.native.expo",
        "sentry.javascript.react.native",
    ),
    ("sentry.laravel", "sentry.php.laravel"),
    ("sentry.react", "sentry.javascript.react"),
    ("sentry.symfony", "sentry.php.symfony"),
    ("sentry.unity", "sentry.native.unity"),
];

/// Sentry's `normalize_sdk_tag` (`utils/tag_normalization.py`): `sentry-python` → `sentry.python`,
/// `sentry.python.django` → `sentry.python`, unknown SDKs → `other`.
pub fn normalize_sdk_tag(name: &str) -> String {
    let mut tag = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if c.is_alphanumeric() {
            tag.push(c);
            in_run = false;
        } else if !in_run {
            tag.push('.');
            in_run = true;
        }
    }
    if let Some((_, to)) = SYNONYMOUS_SDK_TAGS.iter().find(|(from, _)| *from == tag) {
        tag = (*to).to_owned();
    }
    if !tag.starts_with("sentry.") {
        return "other".to_owned();
    }
    let parts: Vec<&str> = tag.split('.').collect();
    let keep = match parts[1] {
        "javascript" => parts.len(),
        "native" => 3,
        _ => 2,
    };
    let tag = parts[..keep.min(parts.len())].join(".");
    if KNOWN_SDK_TAGS.contains(&tag.as_str()) {
        tag
    } else {
        "other".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_normalization() {
        assert_eq!(normalize_sdk_tag("sentry.python.flask"), "sentry.python");
        assert_eq!(normalize_sdk_tag("sentry-ruby"), "sentry.ruby");
        assert_eq!(normalize_sdk_tag("sentry.react"), "sentry.javascript.react");
        assert_eq!(
            normalize_sdk_tag("sentry.javascript.react.native"),
            "sentry.javascript.react.native"
        );
        assert_eq!(
            normalize_sdk_tag("sentry.native.unity.x"),
            "sentry.native.unity"
        );
        assert_eq!(normalize_sdk_tag("sentry.cordova"), "other");
        assert_eq!(normalize_sdk_tag("raven-js"), "other");
        assert_eq!(normalize_sdk_tag("other"), "other");
    }

    #[test]
    fn derived_tags_override() {
        let tags = vec![("transaction".to_owned(), "sent".to_owned())];
        let out = with_derived_tags(&tags, "error", Some("log"), None, Some("/t"));
        assert_eq!(
            out,
            [
                ("level".to_owned(), "error".to_owned()),
                ("logger".to_owned(), "log".to_owned()),
                ("transaction".to_owned(), "/t".to_owned()),
            ]
        );
    }
}

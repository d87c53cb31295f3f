//! What both rule languages (stack-trace rules and fingerprint rules) see of an event: frames
//! and exceptions borrowed from it, the platform family, and Sentry's spelling of booleans.

use crate::protocol::event::{Exception, Frame};

/// The behaviour family of a platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Family {
    Native,
    JavaScript,
    #[default]
    Other,
}

impl Family {
    /// Sentry's `get_behavior_family_for_platform` (use the frame's platform, else the event's).
    pub fn from_platform(platform: &str) -> Family {
        match platform {
            "objc" | "cocoa" | "swift" | "native" | "c" => Family::Native,
            "javascript" | "node" => Family::JavaScript,
            _ => Family::Other,
        }
    }

    /// The name rules write in `family:` matchers.
    pub fn name(self) -> &'static str {
        match self {
            Family::Native => "native",
            Family::JavaScript => "javascript",
            Family::Other => "other",
        }
    }
}

/// One frame as rules see it. Borrowed from the event: grouping runs on the ingest path, and
/// the rules only read a frame (stack-trace rules also set `in_app` and `category`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleFrame<'a> {
    pub family: Family,
    /// The name Sentry matches on: the (already trimmed) `function`, else `raw_function`;
    /// missing or empty is seen as `<unknown>`.
    pub function: Option<&'a str>,
    pub module: Option<&'a str>,
    pub package: Option<&'a str>,
    pub abs_path: Option<&'a str>,
    pub filename: Option<&'a str>,
    pub in_app: Option<bool>,
    /// Set by the stack-trace rules' `category=` (borrowed from the rule).
    pub category: Option<&'a str>,
}

#[cfg(test)]
impl<'a> RuleFrame<'a> {
    /// A frame of `family` that only has a function name (the rule tests' building block).
    pub fn named(family: Family, function: &'a str) -> RuleFrame<'a> {
        RuleFrame {
            family,
            function: Some(function),
            ..RuleFrame::default()
        }
    }

    /// A native frame that only has a function name.
    pub fn native(function: &'a str) -> RuleFrame<'a> {
        RuleFrame::named(Family::Native, function)
    }
}

impl<'a> RuleFrame<'a> {
    /// `frame` of an event on `platform`, before any rule ran on it.
    pub fn of(frame: &Frame<'a>, platform: &str) -> RuleFrame<'a> {
        RuleFrame {
            family: Family::from_platform(frame.platform.unwrap_or(platform)),
            function: frame.function.or(frame.raw_function),
            module: frame.module,
            package: frame.package,
            abs_path: frame.abs_path,
            filename: frame.filename,
            in_app: frame.in_app,
            category: None,
        }
    }
}

/// One exception as rules see it (`mechanism` is the mechanism's type).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleException<'a> {
    pub ty: Option<&'a str>,
    pub value: Option<&'a str>,
    pub mechanism: Option<&'a str>,
}

impl<'a> RuleException<'a> {
    pub fn of(exception: &Exception<'a>) -> RuleException<'a> {
        RuleException {
            ty: exception.ty,
            value: exception.value,
            mechanism: exception.mechanism.as_ref().and_then(|m| m.ty),
        }
    }
}

/// Sentry's booleans in rule values (`app:yes`): `1`, `yes`, `true` and `0`, `no`, `false`,
/// exactly so (fingerprint rules lowercase the value first).
pub fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "yes" | "true" => Some(true),
        "0" | "no" | "false" => Some(false),
        _ => None,
    }
}

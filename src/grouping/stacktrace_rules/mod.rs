//! Stack trace rules ("enhancements"): the small line-based language Sentry uses to mark
//! frames in-app or not, to give them a category, and to decide which frames take part in
//! grouping. Snag parses and applies it exactly like Sentry's grouping config
//! `newstyle:2023-01-11` does.
//!
//! # Syntax
//!
//! One rule per line: `[caller] matchers [callee] actions [# comment]`. Blank lines and lines
//! starting with `#` are ignored.
//!
//! ```text
//! # Python libraries are not the user's code.
//! path:**/site-packages/**                            -app
//! # Frames above a Rust panic are panic machinery; so is the panic function itself.
//! family:native function:std::panicking::begin_panic  ^-group -group ^-app -app
//! # A malloc helper called by malloc only groups as malloc.
//! [ category:malloc ] | category:malloc               category=internals
//! # Ignore a wrapper when it calls our logger.
//! function:wrap* | [ module:myapp.log* ]              -group
//! error.type:TimeoutError !app:yes                    max-frames=3
//! function:"?[[]Sentry*"                              -app -group
//! ```
//!
//! Matchers (all must match; `!` negates one; values may be `"quoted"`, with `\"` and `\\`):
//!
//! | matcher | tests |
//! |---|---|
//! | `family:native,javascript,other,all` | the frame's platform family |
//! | `path:GLOB` (`stack.abs_path`) | `abs_path`, else `filename`; path glob |
//! | `package:GLOB` (`stack.package`) | `package`; path glob |
//! | `module:GLOB` (`stack.module`) | `module`; plain glob |
//! | `function:GLOB` (`stack.function`) | `function`, `<unknown>` when missing; plain glob |
//! | `category:GLOB` | the category set by an earlier `category=` rule |
//! | `app:yes` / `app:no` (`1/true`, `0/false`) | the frame's current in-app flag (missing = no) |
//! | `error.type:`, `error.value:`, `error.mechanism:` GLOB | the exception (missing = `<unknown>`) |
//!
//! `[ m ] |` before the frame matchers tests the *caller* (previous frame, index − 1) and
//! `| [ m ]` after them the *callee* (next frame, index + 1). Frames are in payload order:
//! index 0 is the outermost caller, the last frame is where the crash happened.
//!
//! Globs follow Rust's `globset` (which Sentry's enhancer uses): `*`, `?`, `[abc]`, `[!a-z]`,
//! `{a,b}`, `\` escapes. Path globs (`path`, `package`) are case-insensitive, turn `\` into
//! `/`, keep `*` and `?` inside one path segment, and let `**` cross segments only as `**/`,
//! `/**/` or `/**` (elsewhere `**` is just `*`); a value without a leading `/` is also
//! tried with one. Plain globs are case-sensitive and `*` matches anything.
//!
//! Actions:
//!
//! * `+app` / `-app`: set in-app; `+group` / `-group`: make the frame (not) contribute to
//!   grouping. Prefix `^` applies the flag to all frames towards the crash (higher indices),
//!   `v` to all frames towards the callers (lower indices), never to the matched frame.
//! * `category=NAME` sets the frame's category (visible to later rules).
//! * `max-frames=N`: only the N contributing frames closest to the crash count.
//!   `min-frames=N`: a stack with fewer than N contributing frames does not contribute.
//! * `invert-stacktrace=yes|no` is accepted and ignored (legacy).
//!
//! # Semantics (as in Sentry)
//!
//! [`Rules::classify`] runs the rules that set `+app`/`-app`/`category=` in order; for each
//! rule all matching frames are found first, then its actions are applied, so later rules see
//! earlier changes and the last matching rule wins. Results override the client's `in_app`.
//! [`Rules::grouping`] then evaluates `+group`/`-group` and `max-frames`/`min-frames` against
//! the classified frames (last matching rule wins), and [`Rules::assemble`] combines those with
//! the frames' own contribution state the way Sentry assembles a stacktrace component.

mod engine;
mod parse;
#[cfg(test)]
mod reference_tests;

use std::fmt;
use std::sync::LazyLock;

use super::glob::Glob;
use super::rule_input::Family;
use parse::parse_rule;

/// A family's bit in a rule's family mask.
pub(super) fn family_bit(family: Family) -> u8 {
    match family {
        Family::Other => FAMILY_OTHER,
        Family::Native => FAMILY_NATIVE,
        Family::JavaScript => FAMILY_JAVASCRIPT,
    }
}

const FAMILY_OTHER: u8 = 0b001;
const FAMILY_NATIVE: u8 = 0b010;
const FAMILY_JAVASCRIPT: u8 = 0b100;
const FAMILY_ALL: u8 = 0b111;

/// A rule that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// 1-based line number in the rule text.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stack trace rules, line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for RuleError {}

/// Result of the grouping pass over one stack trace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackGrouping {
    /// Per frame: the last `+group`/`-group` that reached it and that rule's hint.
    pub frames: Vec<Option<(bool, String)>>,
    /// From the last matching `max-frames=` rule (`None` when unset or 0).
    pub max_frames: Option<usize>,
    /// From the last matching `min-frames=` rule (`None` when unset or 0).
    pub min_frames: Option<usize>,
}

/// One frame of an assembled stack trace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrameOutcome {
    pub contributes: bool,
    /// Set when a rule changed the frame's contribution.
    pub hint: Option<String>,
}

/// A stack trace after rules, `max-frames` and `min-frames` (Sentry's stacktrace component).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackOutcome {
    pub frames: Vec<FrameOutcome>,
    pub contributes: bool,
    /// Set when `min-frames` discarded the stack.
    pub hint: Option<String>,
}

/// A parsed list of stack trace rules, applied in order.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    rules: Vec<Rule>,
    /// Unique per parsed list (a copy keeps it: same rules), so that outcomes cached for one
    /// list are never taken for another, even one allocated where a dropped list was.
    id: u64,
}

fn next_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

static BUILTIN: LazyLock<Rules> = LazyLock::new(|| {
    Rules::parse(include_str!("../builtin_rules.txt")).expect("built-in stack trace rules parse")
});

impl Rules {
    /// Parses rule text; the error names the first bad line.
    pub fn parse(text: &str) -> Result<Rules, RuleError> {
        let mut rules = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let rule = parse_rule(line).map_err(|message| RuleError {
                line: n + 1,
                message,
            })?;
            rules.push(rule);
        }
        Ok(Rules {
            rules,
            id: next_id(),
        })
    }

    /// Snag's built-in table (`builtin_rules.txt`), parsed once.
    pub fn builtin() -> &'static Rules {
        &BUILTIN
    }

    /// `self` followed by `project`'s rules, which therefore win.
    pub fn extended(&self, project: &Rules) -> Rules {
        Rules {
            rules: self.rules.iter().chain(&project.rules).cloned().collect(),
            id: next_id(),
        }
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Identifies this list of rules (see the field).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Whether any rule reads the exception (`error.type:` …), so that its outcome for a
    /// stack also depends on the exception.
    pub fn reads_exception(&self) -> bool {
        self.rules.iter().any(|r| {
            r.matchers
                .iter()
                .any(|m| matches!(m.kind, Kind::Exception(..)))
        })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

#[derive(Debug, Clone)]
struct Rule {
    matchers: Vec<Matcher>,
    actions: Vec<Action>,
    /// Canonical text, used in hints.
    text: String,
}

#[derive(Debug, Clone)]
struct Matcher {
    negated: bool,
    offset: Offset,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Offset {
    Own,
    Caller,
    Callee,
}

#[derive(Debug, Clone)]
enum Kind {
    Family(u8),
    App(bool),
    Field(Field, Glob),
    Exception(ExcField, Glob),
}

#[derive(Debug, Clone, Copy)]
enum Field {
    Function,
    Module,
    Path,
    Package,
    Category,
}

#[derive(Debug, Clone, Copy)]
enum ExcField {
    Type,
    Value,
    Mechanism,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Range {
    /// `^`: towards the crash.
    Up,
    /// `v`: towards the callers.
    Down,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FlagKind {
    App,
    Group,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Action {
    Flag {
        range: Option<Range>,
        flag: bool,
        kind: FlagKind,
    },
    Category(String),
    MaxFrames(usize),
    MinFrames(usize),
    /// Legacy; parsed and ignored.
    InvertStacktrace(bool),
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Flag { range, flag, kind } => {
                let range = match range {
                    Some(Range::Up) => "^",
                    Some(Range::Down) => "v",
                    None => "",
                };
                let kind = match kind {
                    FlagKind::App => "app",
                    FlagKind::Group => "group",
                };
                write!(f, "{range}{}{kind}", if *flag { "+" } else { "-" })
            }
            Action::Category(c) => write!(f, "category={c}"),
            Action::MaxFrames(v) => write!(f, "max-frames={v}"),
            Action::MinFrames(v) => write!(f, "min-frames={v}"),
            Action::InvertStacktrace(v) => write!(f, "invert-stacktrace={v}"),
        }
    }
}

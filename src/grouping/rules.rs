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

use std::fmt;
use std::sync::LazyLock;

use super::glob::{Glob, GlobOptions};
use super::rule_input::{Family, RuleException, RuleFrame, parse_bool};

/// A family's bit in a rule's family mask.
fn family_bit(family: Family) -> u8 {
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
    Rules::parse(include_str!("builtin_rules.txt")).expect("built-in stack trace rules parse")
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

    /// Modification pass: sets `in_app` and `category` on each frame (frames in payload
    /// order: caller first, crash last). Frames no rule touches keep their `in_app`, which
    /// may stay `None` (Sentry then treats it as `false`).
    pub fn classify<'a>(
        &'a self,
        frames: &mut [RuleFrame<'a>],
        exception: Option<&RuleException<'_>>,
    ) {
        self.classify_with_hints(frames, exception);
    }

    /// [`Rules::classify`], also returning per frame a hint such as
    /// `marked out of app by stack trace rule (path:**/vendor/** -app)` when a rule changed
    /// the frame's in-app flag.
    pub fn classify_with_hints<'a>(
        &'a self,
        frames: &mut [RuleFrame<'a>],
        exception: Option<&RuleException<'_>>,
    ) -> Vec<Option<String>> {
        let mut views: Vec<View> = frames.iter().map(View::new).collect();
        let n = views.len();
        let families = views.iter().fold(0, |mask, v| mask | v.family);
        // (rule index, flag) of the last app action that reached each frame.
        let mut last_app: Vec<Option<(usize, bool)>> = vec![None; n];
        let mut hits = Vec::with_capacity(n);
        for (ri, rule) in self.rules.iter().enumerate() {
            if rule.families() & families == 0
                || !rule.is_classifier()
                || !rule.matches_exception(exception)
            {
                continue;
            }
            // All matches first, then the actions: one rule's changes must not affect
            // which frames that same rule matches (Sentry does the same).
            hits.extend((0..n).filter(|&i| rule.matches_frame(&views, i)));
            for idx in hits.drain(..) {
                for action in &rule.actions {
                    match action {
                        Action::Flag {
                            kind: FlagKind::App,
                            flag,
                            range,
                        } => {
                            for j in range_indices(*range, idx, n) {
                                views[j].in_app = Some(*flag);
                                last_app[j] = Some((ri, *flag));
                            }
                        }
                        Action::Category(c) => views[idx].category = Some(c),
                        _ => {}
                    }
                }
            }
        }
        let mut hints = Vec::with_capacity(n);
        for ((frame, view), last) in frames.iter_mut().zip(views).zip(last_app) {
            let hint = match last {
                Some((ri, flag)) if view.in_app != frame.in_app && view.in_app == Some(flag) => {
                    Some(format!(
                        "marked {} by stack trace rule ({})",
                        if flag { "in-app" } else { "out of app" },
                        self.rules[ri].text
                    ))
                }
                _ => None,
            };
            hints.push(hint);
            frame.in_app = view.in_app;
            frame.category = view.category;
        }
        hints
    }

    /// Grouping pass for one variant's frames (after [`Rules::classify`]): per frame the last
    /// `+group`/`-group` decision with its hint (`ignored by stack trace rule (…)` /
    /// `un-ignored by stack trace rule (…)`), plus `max-frames` / `min-frames`.
    pub fn grouping(
        &self,
        frames: &[RuleFrame],
        exception: Option<&RuleException>,
    ) -> StackGrouping {
        let run = self.run_updaters(frames, exception);
        let mut out = vec![None; frames.len()];
        for &(idx, flag, ri) in &run.events {
            out[idx] = Some((flag, group_hint(flag, &self.rules[ri].text)));
        }
        StackGrouping {
            frames: out,
            max_frames: run.max_frames.map(|(v, _)| v).filter(|&v| v > 0),
            min_frames: run.min_frames.map(|(v, _)| v).filter(|&v| v > 0),
        }
    }

    /// Sentry's `assemble_stacktrace_component` for one variant. `initial[i]` is whether frame
    /// `i` contributes before rules (it has contributing values, is not recursion, …; in the
    /// app variant Sentry also starts out-of-app frames at `false`). Order: group rules, then
    /// `max-frames` (keeps the contributing frames nearest the crash), then `min-frames`.
    /// With `app_variant`, frames not in-app never contribute, whatever `+group` said
    /// (their hint is left `None` for the caller's "non app frame" text).
    pub fn assemble(
        &self,
        frames: &[RuleFrame],
        exception: Option<&RuleException>,
        initial: &[bool],
        app_variant: bool,
    ) -> StackOutcome {
        let run = self.run_updaters(frames, exception);
        let mut out: Vec<FrameOutcome> = (0..frames.len())
            .map(|i| FrameOutcome {
                contributes: initial.get(i).copied().unwrap_or(false),
                hint: None,
            })
            .collect();
        for &(idx, flag, ri) in &run.events {
            // Like Sentry, only an actual change records the rule in the hint.
            if out[idx].contributes != flag {
                out[idx] = FrameOutcome {
                    contributes: flag,
                    hint: Some(group_hint(flag, &self.rules[ri].text)),
                };
            }
        }
        if let Some((max, ri)) = run.max_frames.filter(|&(v, _)| v > 0) {
            let mut seen = 0;
            for frame in out.iter_mut().rev().filter(|f| f.contributes) {
                seen += 1;
                if seen > max {
                    frame.contributes = false;
                    frame.hint = Some(format!(
                        "ignored because only {max} {} considered by stack trace rule ({})",
                        if max == 1 { "frame is" } else { "frames are" },
                        self.rules[ri].text
                    ));
                }
            }
        }
        let mut hint = None;
        let mut discarded = false;
        if let Some((min, ri)) = run.min_frames.filter(|&(v, _)| v > 0) {
            let total = out.iter().filter(|f| f.contributes).count();
            if total > 0 && total < min {
                discarded = true;
                hint = Some(format!(
                    "discarded because stack trace only contains {total} frame{} which is under \
                     the configured threshold by stack trace rule ({})",
                    if total == 1 { "" } else { "s" },
                    self.rules[ri].text
                ));
            }
        }
        if app_variant {
            for (frame, outcome) in frames.iter().zip(out.iter_mut()) {
                if frame.in_app != Some(true) {
                    *outcome = FrameOutcome::default();
                }
            }
        }
        // Counted after the app-variant override: a stack whose only contributing frames are
        // out-of-app frames does not contribute to the app variant (fixture
        // contributing_system_frames has app = null).
        let contributes = !discarded && out.iter().any(|f| f.contributes);
        StackOutcome {
            frames: out,
            contributes,
            hint,
        }
    }

    /// Evaluates the rules with `+group`/`-group`/`max-frames`/`min-frames`, in order.
    fn run_updaters(&self, frames: &[RuleFrame], exception: Option<&RuleException>) -> Run {
        let views: Vec<View> = frames.iter().map(View::new).collect();
        let n = views.len();
        let families = views.iter().fold(0, |mask, v| mask | v.family);
        let mut run = Run::default();
        for (ri, rule) in self.rules.iter().enumerate() {
            if rule.families() & families == 0
                || !rule.is_updater()
                || !rule.matches_exception(exception)
            {
                continue;
            }
            for idx in 0..n {
                if !rule.matches_frame(&views, idx) {
                    continue;
                }
                for action in &rule.actions {
                    match action {
                        Action::Flag {
                            kind: FlagKind::Group,
                            flag,
                            range,
                        } => run
                            .events
                            .extend(range_indices(*range, idx, n).map(|j| (j, *flag, ri))),
                        Action::MaxFrames(v) => run.max_frames = Some((*v, ri)),
                        Action::MinFrames(v) => run.min_frames = Some((*v, ri)),
                        _ => {}
                    }
                }
            }
        }
        run
    }
}

fn group_hint(flag: bool, rule: &str) -> String {
    format!(
        "{} by stack trace rule ({rule})",
        if flag { "un-ignored" } else { "ignored" }
    )
}

/// Group decisions in rule order plus the stack variables with the rule that set them.
#[derive(Default)]
struct Run {
    events: Vec<(usize, bool, usize)>,
    max_frames: Option<(usize, usize)>,
    min_frames: Option<(usize, usize)>,
}

/// `^` = frames after `idx` (towards the crash), `v` = frames before it, none = `idx` itself.
fn range_indices(range: Option<Range>, idx: usize, n: usize) -> std::ops::Range<usize> {
    match range {
        None => idx..idx + 1,
        Some(Range::Up) => idx + 1..n,
        Some(Range::Down) => 0..idx,
    }
}

/// A frame as matchers see it (Sentry's `create_match_frame`), path-like values normalized
/// once for all the rules' path globs.
struct View<'a> {
    family: u8,
    function: &'a str,
    module: Option<&'a str>,
    package: Option<String>,
    path: Option<String>,
    in_app: Option<bool>,
    category: Option<&'a str>,
}

impl<'a> View<'a> {
    fn new(f: &RuleFrame<'a>) -> View<'a> {
        let nonempty = |s: Option<&'a str>| s.filter(|s| !s.is_empty());
        View {
            family: family_bit(f.family),
            function: nonempty(f.function).unwrap_or("<unknown>"),
            module: f.module,
            package: f.package.map(normalize_path),
            path: nonempty(f.abs_path)
                .or_else(|| nonempty(f.filename))
                .map(normalize_path),
            in_app: f.in_app,
            category: f.category,
        }
    }
}

/// Path-like values are matched lowercased with `/` separators.
fn normalize_path(s: &str) -> String {
    GlobOptions::STACK_PATH.normalize(s).into_owned()
}

#[derive(Debug, Clone)]
struct Rule {
    matchers: Vec<Matcher>,
    actions: Vec<Action>,
    /// Canonical text, used in hints.
    text: String,
}

impl Rule {
    /// The families of frames this rule can match on its own frame (a `family:` matcher
    /// restricts it); a whole stack of other families skips the rule at once.
    fn families(&self) -> u8 {
        self.matchers
            .iter()
            .filter(|m| !m.negated && m.offset == Offset::Own)
            .fold(
                FAMILY_OTHER | FAMILY_NATIVE | FAMILY_JAVASCRIPT,
                |mask, m| match m.kind {
                    Kind::Family(bits) => mask & bits,
                    _ => mask,
                },
            )
    }

    fn is_classifier(&self) -> bool {
        self.actions.iter().any(|a| {
            matches!(
                a,
                Action::Flag {
                    kind: FlagKind::App,
                    ..
                } | Action::Category(_)
            )
        })
    }

    fn is_updater(&self) -> bool {
        self.actions.iter().any(|a| {
            matches!(
                a,
                Action::Flag {
                    kind: FlagKind::Group,
                    ..
                } | Action::MaxFrames(_)
                    | Action::MinFrames(_)
            )
        })
    }

    fn matches_exception(&self, exception: Option<&RuleException<'_>>) -> bool {
        self.matchers.iter().all(|m| match &m.kind {
            Kind::Exception(field, glob) => {
                let value = exception.and_then(|e| match field {
                    ExcField::Type => e.ty,
                    ExcField::Value => e.value,
                    ExcField::Mechanism => e.mechanism,
                });
                m.negated ^ glob.is_match(value.unwrap_or("<unknown>"))
            }
            _ => true,
        })
    }

    fn matches_frame(&self, views: &[View], idx: usize) -> bool {
        self.matchers.iter().all(|m| m.matches_frame(views, idx))
    }
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

impl Matcher {
    fn matches_frame(&self, views: &[View], idx: usize) -> bool {
        if matches!(self.kind, Kind::Exception(..)) {
            return true;
        }
        let target = match self.offset {
            Offset::Own => Some(idx),
            Offset::Caller => idx.checked_sub(1),
            Offset::Callee => Some(idx + 1),
        };
        // A missing neighbour fails even a negated matcher.
        let Some(view) = target.and_then(|t| views.get(t)) else {
            return false;
        };
        let hit = match &self.kind {
            Kind::Family(bits) => bits & view.family != 0,
            Kind::App(expected) => view.in_app.unwrap_or(false) == *expected,
            Kind::Field(field, glob) => {
                let value = match field {
                    Field::Function => Some(view.function),
                    Field::Module => view.module,
                    Field::Path => view.path.as_deref(),
                    Field::Package => view.package.as_deref(),
                    Field::Category => view.category,
                };
                value.is_some_and(|v| glob.is_match_normalized(v))
            }
            Kind::Exception(..) => true,
        };
        self.negated ^ hit
    }
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

// ---------------------------------------------------------------------------------------------
// Parser (one trimmed, non-comment line at a time)
// ---------------------------------------------------------------------------------------------

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.bump();
        }
        &self.s[start..self.pos]
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected `{c}` {}", self.near()))
        }
    }

    /// "near `…`" / "at end of line", for error messages.
    fn near(&self) -> String {
        let rest = &self.s[self.pos..];
        if rest.is_empty() {
            "at end of line".to_owned()
        } else {
            let snippet: String = rest.chars().take(30).collect();
            format!("near `{snippet}`")
        }
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

fn parse_rule(line: &str) -> Result<Rule, String> {
    let mut cur = Cursor { s: line, pos: 0 };
    let mut matchers = Vec::new();
    let mut text: Vec<String> = Vec::new();

    cur.skip_ws();
    if cur.eat('[') {
        cur.skip_ws();
        let (m, desc) = parse_matcher(&mut cur, Offset::Caller)?
            .ok_or_else(|| format!("expected a matcher after `[` {}", cur.near()))?;
        cur.skip_ws();
        cur.expect(']')?;
        cur.skip_ws();
        cur.expect('|')?;
        matchers.push(m);
        text.push(format!("[ {desc} ] |"));
    }
    let mut own = 0;
    loop {
        cur.skip_ws();
        match parse_matcher(&mut cur, Offset::Own)? {
            Some((m, desc)) => {
                matchers.push(m);
                text.push(desc);
                own += 1;
            }
            None => break,
        }
    }
    if own == 0 {
        return Err(format!(
            "expected a matcher such as `function:NAME` {}",
            cur.near()
        ));
    }
    cur.skip_ws();
    if cur.eat('|') {
        cur.skip_ws();
        cur.expect('[')?;
        cur.skip_ws();
        let (m, desc) = parse_matcher(&mut cur, Offset::Callee)?
            .ok_or_else(|| format!("expected a matcher after `| [` {}", cur.near()))?;
        cur.skip_ws();
        cur.expect(']')?;
        matchers.push(m);
        text.push(format!("| [ {desc} ]"));
    }

    let mut actions = Vec::new();
    loop {
        cur.skip_ws();
        match cur.peek() {
            None | Some('#') => break,
            Some(_) => {
                let action = parse_action(&mut cur)?;
                text.push(action.to_string());
                actions.push(action);
            }
        }
    }
    if actions.is_empty() {
        return Err("a rule needs at least one action such as `-app` or `-group`".to_owned());
    }
    Ok(Rule {
        matchers,
        actions,
        text: text.join(" "),
    })
}

/// `Ok(None)` when the input is not a `[!]key:value` matcher (the caller tries actions).
fn parse_matcher(
    cur: &mut Cursor<'_>,
    offset: Offset,
) -> Result<Option<(Matcher, String)>, String> {
    let start = cur.pos;
    let negated = cur.eat('!');
    let key = if cur.eat('"') {
        let key = cur.take_while(|c| is_ident_char(c) || c == ':' || c == ' ');
        if !cur.eat('"') {
            cur.pos = start;
            return Ok(None);
        }
        key
    } else {
        cur.take_while(is_ident_char)
    };
    if key.is_empty() || !cur.eat(':') {
        cur.pos = start;
        return Ok(None);
    }
    let raw = if cur.peek() == Some('"') {
        parse_quoted(cur)?
    } else {
        unescape(cur.take_while(|c| !c.is_whitespace()))
    };
    if raw.is_empty() {
        return Err(format!("missing value after `{key}:`"));
    }
    let (canonical, kind) = matcher_kind(key, &raw)?;
    if matches!(kind, Kind::Exception(..)) && offset != Offset::Own {
        return Err(format!(
            "`{key}` cannot be used as caller or callee matcher"
        ));
    }
    // Sentry's matcher description: canonical key, value quoted when it contains spaces.
    let shown = if raw.split_whitespace().collect::<Vec<_>>() == [raw.as_str()] {
        raw.clone()
    } else {
        format!("\"{raw}\"")
    };
    let desc = format!("{}{canonical}:{shown}", if negated { "!" } else { "" });
    Ok(Some((
        Matcher {
            negated,
            offset,
            kind,
        },
        desc,
    )))
}

/// A `"…"` value; `\"` and `\\` are unescaped, other backslashes stay for the glob.
fn parse_quoted(cur: &mut Cursor<'_>) -> Result<String, String> {
    cur.bump();
    let mut out = String::new();
    loop {
        match cur.bump() {
            None => return Err("unterminated quoted value".to_owned()),
            Some('"') => return Ok(out),
            Some('\\') => match cur.bump() {
                Some(c @ ('"' | '\\')) => out.push(c),
                Some(c) => {
                    out.push('\\');
                    out.push(c);
                }
                None => return Err("unterminated quoted value".to_owned()),
            },
            Some(c) => out.push(c),
        }
    }
}

/// Unquoted values only collapse `\\` (as Sentry's Rust parser does).
fn unescape(s: &str) -> String {
    s.replace("\\\\", "\\")
}

fn matcher_kind(key: &str, raw: &str) -> Result<(&'static str, Kind), String> {
    let glob = |path_like| {
        let options = if path_like {
            GlobOptions::STACK_PATH
        } else {
            GlobOptions::STACK_PLAIN
        };
        Glob::new(raw, options).map_err(|e| format!("bad pattern `{raw}`: {e}"))
    };
    Ok(match key {
        "family" => {
            let mut bits = 0;
            for name in raw.split(',') {
                bits |= match name {
                    "native" => FAMILY_NATIVE,
                    "javascript" => FAMILY_JAVASCRIPT,
                    "other" => FAMILY_OTHER,
                    "all" => FAMILY_ALL,
                    _ => {
                        return Err(format!(
                            "unknown family `{name}` (expected native, javascript, other or all)"
                        ));
                    }
                };
            }
            ("family", Kind::Family(bits))
        }
        "app" => {
            (
                "app",
                Kind::App(parse_bool(raw).ok_or_else(|| {
                    format!("invalid value `{raw}` for `app` (expected yes or no)")
                })?),
            )
        }
        "function" | "stack.function" => ("function", Kind::Field(Field::Function, glob(false)?)),
        "module" | "stack.module" => ("module", Kind::Field(Field::Module, glob(false)?)),
        "path" | "stack.abs_path" => ("path", Kind::Field(Field::Path, glob(true)?)),
        "package" | "stack.package" => ("package", Kind::Field(Field::Package, glob(true)?)),
        "category" => ("category", Kind::Field(Field::Category, glob(false)?)),
        "error.type" => ("type", Kind::Exception(ExcField::Type, glob(false)?)),
        "error.value" => ("value", Kind::Exception(ExcField::Value, glob(false)?)),
        "error.mechanism" => (
            "mechanism",
            Kind::Exception(ExcField::Mechanism, glob(false)?),
        ),
        _ => {
            return Err(format!(
                "unknown matcher `{key}` (expected family, path, package, module, function, \
                 category, app, error.type, error.value, error.mechanism or a stack.* alias)"
            ));
        }
    })
}

fn parse_action(cur: &mut Cursor<'_>) -> Result<Action, String> {
    let start = cur.pos;
    let rest = &cur.s[cur.pos..];
    let range = if rest.starts_with('^') {
        Some(Range::Up)
    } else if rest.starts_with("v+") || rest.starts_with("v-") {
        Some(Range::Down)
    } else {
        None
    };
    if range.is_some() {
        cur.bump();
    }
    if let Some(sign @ ('+' | '-')) = cur.peek() {
        cur.bump();
        let rest = &cur.s[cur.pos..];
        let kind = if rest.starts_with("group") {
            cur.pos += "group".len();
            FlagKind::Group
        } else if rest.starts_with("app") {
            cur.pos += "app".len();
            FlagKind::App
        } else {
            cur.pos = start;
            return Err(format!(
                "expected `{sign}app` or `{sign}group` {}",
                cur.near()
            ));
        };
        return Ok(Action::Flag {
            range,
            flag: sign == '+',
            kind,
        });
    }
    if range.is_some() {
        cur.pos = start;
        return Err(format!(
            "expected `+` or `-` after the range marker {}",
            cur.near()
        ));
    }
    let name = cur.take_while(|c| c.is_ascii_lowercase() || c == '-');
    let known = matches!(
        name,
        "category" | "max-frames" | "min-frames" | "invert-stacktrace"
    );
    cur.skip_ws();
    if !known || !cur.eat('=') {
        cur.pos = start;
        return Err(format!(
            "expected an action (+app, -app, +group, -group, category=, max-frames=, \
             min-frames=) {}",
            cur.near()
        ));
    }
    cur.skip_ws();
    let value = cur.take_while(is_ident_char);
    if value.is_empty() {
        return Err(format!("missing value after `{name}=`"));
    }
    Ok(match name {
        "category" => Action::Category(value.to_owned()),
        "invert-stacktrace" => Action::InvertStacktrace(
            parse_bool(value).ok_or_else(|| format!("invalid value `{value}` for `{name}`"))?,
        ),
        _ => {
            let n: usize = value
                .parse()
                .map_err(|_| format!("`{name}` needs a number, got `{value}`"))?;
            if name == "max-frames" {
                Action::MaxFrames(n)
            } else {
                Action::MinFrames(n)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(family: Family, function: &str) -> RuleFrame<'_> {
        RuleFrame {
            family,
            function: Some(function),
            ..RuleFrame::default()
        }
    }

    fn native(function: &str) -> RuleFrame<'_> {
        frame(Family::Native, function)
    }

    fn err(text: &str) -> RuleError {
        Rules::parse(text).expect_err(text)
    }

    fn in_app(frames: &[RuleFrame]) -> Vec<Option<bool>> {
        frames.iter().map(|f| f.in_app).collect()
    }

    fn decisions(g: &StackGrouping) -> Vec<Option<bool>> {
        g.frames
            .iter()
            .map(|d| d.as_ref().map(|(c, _)| *c))
            .collect()
    }

    // --- parsing ------------------------------------------------------------------------------

    #[test]
    fn parses_every_syntax_element() {
        let text = r#"
# comment line

family:native,javascript path:**/a/** package:/usr/** module:foo.* function:bar* -app
stack.function:x stack.module:y stack.abs_path:z stack.package:w +app
app:yes category:ui error.type:Foo* error.value:"a b" error.mechanism:onerror +group
!function:_purecall family:all -group   # trailing comment
[ category:malloc ] | category:malloc category=internals
category:system | [ !category:system ] category=indirection
[ app:no ] | function:f | [ app:yes ] ^-group v+app max-frames=3 min-frames = 2
function:"?[[]Sentry*" invert-stacktrace=yes
"function":q -app
"#;
        let rules = Rules::parse(text).unwrap();
        assert_eq!(rules.len(), 9);
        let texts: Vec<&str> = rules.rules.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(
            texts[2],
            "app:yes category:ui type:Foo* value:\"a b\" mechanism:onerror +group"
        );
        assert_eq!(
            texts[6],
            "[ app:no ] | function:f | [ app:yes ] ^-group v+app max-frames=3 min-frames=2"
        );
        assert_eq!(texts[7], "function:?[[]Sentry* invert-stacktrace=true");
        let r = &rules.rules[6];
        assert_eq!(r.matchers[0].offset, Offset::Caller);
        assert_eq!(r.matchers[2].offset, Offset::Callee);
        assert_eq!(
            r.actions[..2],
            [
                Action::Flag {
                    range: Some(Range::Up),
                    flag: false,
                    kind: FlagKind::Group
                },
                Action::Flag {
                    range: Some(Range::Down),
                    flag: true,
                    kind: FlagKind::App
                }
            ]
        );
        assert!(rules.rules[3].matchers[0].negated);
    }

    #[test]
    fn quoted_values_unescape_quotes_and_backslashes() {
        let rules = Rules::parse(
            "function:\"*::\\\\{dtor\\\\}\" category=dtor\nfunction:\"say \\\"hi\\\"\" -app",
        )
        .unwrap();
        let mut frames = vec![native("Foo::{dtor}"), native("say \"hi\"")];
        frames[1].in_app = Some(true);
        rules.classify(&mut frames, None);
        assert_eq!(frames[0].category, Some("dtor"));
        assert_eq!(frames[1].in_app, Some(false));
    }

    #[test]
    fn errors_name_the_line_and_reason() {
        let e = err("path:**/a/** -app\n\nfunction:foo +application");
        assert_eq!(e.line, 3);
        assert!(e.message.contains("+app"), "{e}");
        assert!(
            e.to_string().starts_with("stack trace rules, line 3:"),
            "{e}"
        );

        for (text, needle) in [
            ("function:foo", "at least one action"),
            ("-app", "expected a matcher"),
            ("colour:red -app", "unknown matcher `colour`"),
            ("family:java -app", "unknown family"),
            ("app:maybe -app", "invalid value `maybe`"),
            ("function: -app", "missing value"),
            ("function:\"abc -app", "unterminated"),
            ("function:a max-frames=x", "needs a number"),
            ("function:a category=", "missing value"),
            ("function:a ^app", "expected `+` or `-`"),
            ("function:a frobnicate", "expected an action"),
            ("[ function:a | function:b -app", "expected `]`"),
            ("[ function:a ] function:b -app", "expected `|`"),
            ("function:b | function:c -app", "expected `[`"),
            ("[ error.type:X ] | function:b -app", "caller or callee"),
            ("function:a[b -app", "unclosed `[`"),
            ("function:{a,{b}} -app", "nested"),
            ("function:a} -app", "without `{`"),
            ("function:{a -app", "unclosed `{`"),
            ("function:[z-a] -app", "invalid range"),
            ("module:foo\\ -app", "dangling"),
            ("function:a +prefix", "expected `+app` or `+group`"),
        ] {
            let e = err(text);
            assert_eq!(e.line, 1);
            assert!(e.message.contains(needle), "{text:?}: {e}");
        }
    }

    #[test]
    fn builtin_table_parses() {
        assert!(Rules::builtin().len() > 90);
    }

    #[test]
    #[ignore = "needs Sentry's grouping cases: SNAG_GROUPING_FIXTURES (scripts/test sets it and runs these)"]
    fn every_line_of_sentrys_reference_file_parses() {
        let text = reference_rules();
        let rules = Rules::parse(&text).unwrap();
        let expected = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .count();
        assert_eq!(rules.len(), expected);
    }

    // --- classify -----------------------------------------------------------------------------

    #[test]
    fn classify_last_rule_wins_and_overrides_the_client() {
        let rules = Rules::parse("function:a* -app\nfunction:ab +app\nfunction:c -app").unwrap();
        let mut frames = vec![native("ab"), native("ac"), native("c"), native("d")];
        frames[2].in_app = Some(true);
        frames[3].in_app = Some(true);
        let hints = rules.classify_with_hints(&mut frames, None);
        assert_eq!(
            in_app(&frames),
            [Some(true), Some(false), Some(false), Some(true)]
        );
        assert_eq!(
            hints[0].as_deref(),
            Some("marked in-app by stack trace rule (function:ab +app)")
        );
        assert_eq!(
            hints[2].as_deref(),
            Some("marked out of app by stack trace rule (function:c -app)")
        );
        assert_eq!(hints[3], None);
    }

    #[test]
    fn classify_categories_feed_later_rules_but_not_the_same_rule() {
        // Both malloc frames are matched before the rule rewrites the first one.
        let rules = Rules::parse(
            "function:malloc* category=malloc\n\
             [ category:malloc ] | category:malloc category=internals\n\
             category:internals -app",
        )
        .unwrap();
        let mut frames = vec![native("malloc"), native("malloc_a"), native("malloc_b")];
        rules.classify(&mut frames, None);
        let cats: Vec<_> = frames.iter().map(|f| f.category).collect();
        assert_eq!(cats, [Some("malloc"), Some("internals"), Some("internals")]);
        assert_eq!(in_app(&frames), [None, Some(false), Some(false)]);
    }

    #[test]
    fn classify_ranges_and_app_matcher() {
        let rules =
            Rules::parse("function:mid ^-app v+app\napp:no function:x category=lib").unwrap();
        let mut frames = vec![
            native("x"),
            native("x"),
            native("mid"),
            native("x"),
            native("x"),
        ];
        frames[2].in_app = Some(true);
        rules.classify(&mut frames, None);
        assert_eq!(
            in_app(&frames),
            [Some(true), Some(true), Some(true), Some(false), Some(false)]
        );
        let cats: Vec<_> = frames.iter().map(|f| f.category).collect();
        assert_eq!(cats, [None, None, None, Some("lib"), Some("lib")]);
    }

    #[test]
    fn family_and_exception_matchers() {
        let rules = Rules::parse(
            "family:javascript function:f -app\n\
             family:other,native error.type:Timeout* function:f category=t\n\
             !error.mechanism:generic function:g -app",
        )
        .unwrap();
        let exc = RuleException {
            ty: Some("TimeoutError"),
            mechanism: Some("onerror"),
            ..RuleException::default()
        };
        let mut frames = vec![
            frame(Family::JavaScript, "f"),
            frame(Family::Other, "f"),
            frame(Family::Native, "g"),
        ];
        rules.classify(&mut frames, Some(&exc));
        assert_eq!(in_app(&frames), [Some(false), None, Some(false)]);
        assert_eq!(frames[1].category, Some("t"));

        // Without exception data the fields are `<unknown>`.
        let mut frames = vec![frame(Family::Other, "f")];
        rules.classify(&mut frames, None);
        assert_eq!(frames[0].category, None);
        let unknown = Rules::parse("error.type:<unknown> function:f -app").unwrap();
        unknown.classify(&mut frames, None);
        assert_eq!(frames[0].in_app, Some(false));
    }

    #[test]
    fn path_falls_back_to_filename_and_function_to_unknown() {
        let rules = Rules::parse(
            "path:**/vendor/** -app\nfunction:<unknown> category=u\n!module:x* category=m",
        )
        .unwrap();
        let mut frames = vec![
            RuleFrame {
                abs_path: Some(""),
                filename: Some("App\\Vendor\\lib.php"),
                in_app: Some(true),
                ..RuleFrame::default()
            },
            RuleFrame {
                function: Some("f"),
                module: Some("xy"),
                ..RuleFrame::default()
            },
        ];
        rules.classify(&mut frames, None);
        assert_eq!(frames[0].in_app, Some(false));
        assert_eq!(
            frames[0].category,
            Some("m"),
            "missing module matches a negation"
        );
        assert_eq!(frames[1].category, None);
    }

    #[test]
    fn caller_and_callee_context() {
        let rules = Rules::parse(
            "[ function:a ] | function:b category=after_a\n\
             function:b | [ function:c ] category=before_c\n\
             [ !function:zzz ] | function:first category=has_caller",
        )
        .unwrap();
        let mut frames = vec![
            native("first"),
            native("a"),
            native("b"),
            native("b"),
            native("c"),
        ];
        rules.classify(&mut frames, None);
        let cats: Vec<_> = frames.iter().map(|f| f.category).collect();
        // Index 0 has no caller, so even the negated caller matcher fails there.
        assert_eq!(cats, [None, None, Some("after_a"), Some("before_c"), None]);
    }

    // --- grouping -----------------------------------------------------------------------------

    #[test]
    fn grouping_ranges_last_rule_wins_and_hints() {
        let rules = Rules::parse(
            "function:t* -group v-group\nfunction:t2 +group\nfunction:crash ^-group\ncategory:x max-frames=2",
        )
        .unwrap();
        let frames = vec![
            native("a"),
            native("t1"),
            native("t2"),
            native("crash"),
            native("b"),
        ];
        let g = rules.grouping(&frames, None);
        assert_eq!(
            decisions(&g),
            [Some(false), Some(false), Some(true), None, Some(false)]
        );
        assert_eq!(
            g.frames[0].as_ref().unwrap().1,
            "ignored by stack trace rule (function:t* -group v-group)"
        );
        assert_eq!(
            g.frames[2].as_ref().unwrap().1,
            "un-ignored by stack trace rule (function:t2 +group)"
        );
        assert_eq!(g.max_frames, None, "max-frames rule matched no frame");
    }

    #[test]
    fn grouping_ignores_classifier_only_rules_and_uses_classified_state() {
        let rules =
            Rules::parse("function:a category=c\ncategory:c -group\napp:no -group").unwrap();
        let mut frames = vec![native("a"), native("b")];
        frames[1].in_app = Some(true);
        rules.classify(&mut frames, None);
        let g = rules.grouping(&frames, None);
        assert_eq!(decisions(&g), [Some(false), None]);
    }

    #[test]
    fn max_frames_keeps_the_frames_nearest_the_crash() {
        let rules = Rules::parse("function:* max-frames=2").unwrap();
        let frames: Vec<RuleFrame> = ["a", "b", "c", "d"].iter().map(|f| native(f)).collect();
        let g = rules.grouping(&frames, None);
        assert_eq!(g.max_frames, Some(2));
        let out = rules.assemble(&frames, None, &[true, true, false, true], false);
        let c: Vec<bool> = out.frames.iter().map(|f| f.contributes).collect();
        assert_eq!(c, [false, true, false, true]);
        assert_eq!(
            out.frames[0].hint.as_deref(),
            Some(
                "ignored because only 2 frames are considered by stack trace rule (function:* max-frames=2)"
            )
        );
        assert!(out.contributes);
    }

    #[test]
    fn min_frames_discards_short_stacks() {
        let rules = Rules::parse("function:* min-frames=3\nfunction:b -group").unwrap();
        let frames: Vec<RuleFrame> = ["a", "b", "c"].iter().map(|f| native(f)).collect();
        assert_eq!(rules.grouping(&frames, None).min_frames, Some(3));
        let out = rules.assemble(&frames, None, &[true; 3], false);
        assert!(!out.contributes);
        assert_eq!(
            out.hint.as_deref(),
            Some(
                "discarded because stack trace only contains 2 frames which is under the \
                 configured threshold by stack trace rule (function:* min-frames=3)"
            )
        );
        // No contributing frame at all: nothing to discard, the stack simply does not count.
        let out = rules.assemble(&frames, None, &[false; 3], false);
        assert!(!out.contributes && out.hint.is_none());
        // A later min-frames=0 turns it off again.
        let off = rules.extended(&Rules::parse("function:* min-frames=0").unwrap());
        assert!(off.assemble(&frames, None, &[true; 3], false).contributes);
    }

    #[test]
    fn assemble_hints_only_on_change() {
        let rules = Rules::parse("function:a -group\nfunction:a -group").unwrap();
        let frames = vec![native("a")];
        let out = rules.assemble(&frames, None, &[false], false);
        assert_eq!(out.frames[0], FrameOutcome::default());
        let out = rules.assemble(&frames, None, &[true], false);
        assert_eq!(
            out.frames[0].hint.as_deref(),
            Some("ignored by stack trace rule (function:a -group)")
        );
    }

    /// Sentry fixtures contributing_system_frames / contributing_system_and_app_frames: an
    /// out-of-app frame with `+group` contributes to the system variant only.
    #[test]
    fn app_variant_never_counts_out_of_app_frames() {
        let project = Rules::parse(
            "stack.function:runApp -app -group \n stack.function:handleRequest -app +group \n \
             stack.function:recordMetrics +app -group",
        )
        .unwrap();
        let rules = Rules::builtin().extended(&project);
        let mut frames: Vec<RuleFrame> = ["runApp", "handleRequest", "recordMetrics"]
            .iter()
            .map(|f| frame(Family::JavaScript, f))
            .collect();
        rules.classify(&mut frames, None);
        assert_eq!(in_app(&frames), [Some(false), Some(false), Some(true)]);
        let system = rules.assemble(&frames, None, &[true; 3], false);
        let c: Vec<bool> = system.frames.iter().map(|f| f.contributes).collect();
        assert_eq!(c, [false, true, false]);
        assert!(system.contributes);
        // App variant: Sentry starts out-of-app frames as non-contributing.
        let initial: Vec<bool> = frames.iter().map(|f| f.in_app == Some(true)).collect();
        let app = rules.assemble(&frames, None, &initial, true);
        assert!(app.frames.iter().all(|f| !f.contributes));
        assert!(!app.contributes);
    }

    // --- the built-in table against Sentry's ------------------------------------------------

    /// Sentry's grouping cases (FSL test data, never copied here). The tests that need them are
    /// ignored by default and fail, not pass, when run without them.
    fn fixtures_dir() -> std::path::PathBuf {
        std::env::var_os("SNAG_GROUPING_FIXTURES")
            .expect(
                "SNAG_GROUPING_FIXTURES must name Sentry's grouping cases (scripts/test sets it)",
            )
            .into()
    }

    fn reference_rules() -> String {
        let path = fixtures_dir().join("sentry-builtin-rules-all-platforms@2023-01-11.txt");
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    }

    /// in_app (missing = false), category, system-variant and app-variant contribution.
    type Outcome = Vec<(bool, Option<String>, bool, bool)>;

    fn outcome<'a>(
        rules: &'a Rules,
        mut frames: Vec<RuleFrame<'a>>,
        exception: Option<&RuleException<'_>>,
    ) -> Outcome {
        rules.classify(&mut frames, exception);
        let all = vec![true; frames.len()];
        let system = rules.assemble(&frames, exception, &all, false);
        let initial: Vec<bool> = frames.iter().map(|f| f.in_app == Some(true)).collect();
        let app = rules.assemble(&frames, exception, &initial, true);
        frames
            .into_iter()
            .zip(system.frames.iter().zip(&app.frames))
            .map(|(f, (s, a))| {
                (
                    f.in_app.unwrap_or(false),
                    f.category.map(str::to_owned),
                    s.contributes,
                    a.contributes,
                )
            })
            .collect()
    }

    fn json_str<'e>(v: &'e serde_json::Value, key: &str) -> Option<&'e str> {
        v.get(key).and_then(|s| s.as_str())
    }

    type FixtureStack<'e> = (Vec<RuleFrame<'e>>, Option<RuleException<'e>>);

    /// Stacks (with their exception) of one fixture event, as rule frames.
    fn fixture_stacks<'e>(event: &'e serde_json::Value) -> Vec<FixtureStack<'e>> {
        let platform = json_str(event, "platform").unwrap_or("other");
        let to_frames = |st: &'e serde_json::Value| -> Vec<RuleFrame<'e>> {
            let frames = st.get("frames").and_then(|f| f.as_array());
            frames
                .into_iter()
                .flatten()
                .map(|f| RuleFrame {
                    family: Family::from_platform(json_str(f, "platform").unwrap_or(platform)),
                    function: json_str(f, "function"),
                    module: json_str(f, "module"),
                    package: json_str(f, "package"),
                    abs_path: json_str(f, "abs_path"),
                    filename: json_str(f, "filename"),
                    in_app: f.get("in_app").and_then(|b| b.as_bool()),
                    category: None,
                })
                .collect()
        };
        let mut out = Vec::new();
        let excs = event
            .pointer("/exception/values")
            .and_then(|v| v.as_array());
        for exc in excs.into_iter().flatten() {
            if let Some(st) = exc.get("stacktrace") {
                let e = RuleException {
                    ty: json_str(exc, "type"),
                    value: json_str(exc, "value"),
                    mechanism: exc.pointer("/mechanism/type").and_then(|s| s.as_str()),
                };
                out.push((to_frames(st), Some(e)));
            }
        }
        if let Some(st) = event.get("stacktrace") {
            out.push((to_frames(st), None));
        }
        let threads = event.pointer("/threads/values").and_then(|v| v.as_array());
        for t in threads.into_iter().flatten() {
            if let Some(st) = t.get("stacktrace") {
                out.push((to_frames(st), None));
            }
        }
        out
    }

    #[test]
    #[ignore = "needs Sentry's grouping cases: SNAG_GROUPING_FIXTURES (scripts/test sets it and runs these)"]
    fn builtin_table_behaves_like_sentrys_on_the_fixture_events() {
        let (dir, reference) = (fixtures_dir(), reference_rules());
        let reference = Rules::parse(&reference).unwrap();
        let mut compared = 0;
        for entry in std::fs::read_dir(dir.join("inputs")).unwrap() {
            let path = entry.unwrap().path();
            let event: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let project = Rules::parse(
                event
                    .pointer("/_grouping/enhancements")
                    .and_then(|s| s.as_str())
                    .unwrap_or(""),
            )
            .unwrap();
            for (frames, exc) in fixture_stacks(&event) {
                let want = outcome(&reference.extended(&project), frames.clone(), exc.as_ref());
                let got = outcome(&Rules::builtin().extended(&project), frames, exc.as_ref());
                assert_eq!(got, want, "{}", path.display());
                compared += 1;
            }
        }
        assert!(compared >= 30, "compared {compared} stacks");
    }

    /// Hand-made stacks touching every part of the built-in table, one frame per line:
    /// `family | function | module | package | abs_path`, stacks separated by blank lines.
    const SYNTHETIC_STACKS: &str = r#"
N | _main |  |  |
N | std::rt::lang_start_internal |  | std |
N | ___rust_maybe_catch_panic |  |  |
N | app::main |  | app |
N | std::panicking::begin_panic |  | std |
N | std::panicking::rust_panic_with_hook |  | std |
N | __rust_start_panic |  |  |
N | core::panicking::panic_fmt |  |  |
N | rust_begin_unwind |  |  |

N | start |  | /usr/lib/system/libdyld.dylib |
N | main |  | /var/containers/Bundle/Application/X/My.app/My |
N | UIApplicationMain |  | /System/Library/PrivateFrameworks/UIKitCore.framework/UIKitCore |
N | UIApplicationMain |  | UIKitCore |
N | -[UIApplication _run] |  | UIKitCore |
N | GSEventRunModal |  | GraphicsServices |
N | CFRunLoopRunSpecific |  | /System/Library/Frameworks/CoreFoundation.framework/CoreFoundation |
N | __CFRunLoopRun |  | CoreFoundation |
N | _dispatch_main_queue_callback_4CF |  | libdispatch.dylib |
N | _dispatch_call_block_and_release |  | /usr/lib/system/libdispatch.dylib |
N | __26-[Foo bar]_block_invoke |  | /var/containers/Bundle/Application/X/My.app/My |
N | @callee_guaranteed |  | /var/containers/Bundle/Application/X/My.app/My |
N | closure |  | My |
N | -[NSISEngine solve] |  | Foundation |
N | objc_exception_throw |  | /usr/lib/libobjc.A.dylib |
N | _CFThrowFormattedException |  | CoreFoundation |
N | +[SentrySDK capture] |  | /private/var/containers/Bundle/Application/X/My.app/Frameworks/Sentry.framework/Sentry |
N | kscrash_foo |  |  |
N | sentrycrashcm_x |  |  |
N | <unknown> |  | /usr/lib/system/libsystem_pthread.dylib |
N |  |  | /usr/lib/system/libsystem_c.dylib |
N | _pthread_start |  | /usr/lib/system/libsystem_pthread.dylib |
N | thread_start |  | /usr/lib/system/libsystem_pthread.dylib |
N | malloc |  | /usr/lib/system/libsystem_malloc.dylib |
N | _malloc_zone_malloc |  | /usr/lib/system/libsystem_malloc.dylib |
N | swift_release |  | /Users/me/Library/Developer/CoreSimulator/Devices/X/data/Containers/Bundle/Application/Y/My.app/Frameworks/libswiftCore.dylib |
N | foo.cold.1 |  | My |
N | gldFinish |  | /System/Library/Frameworks/OpenGL.framework/Versions/A/OpenGL |
N | glDraw |  | /System/Library/Frameworks/OpenGL.framework/Versions/A/Libraries/libGL.dylib |
N | gpusGenerateCrashLog |  | /System/Library/PrivateFrameworks/GPUSupport.framework/GPUSupport |
N | gpusKillClientExt |  | /System/Library/PrivateFrameworks/GPUSupport.framework/GPUSupport |
N | _sigtramp |  | /usr/lib/system/libsystem_platform.dylib |
N | abort |  | /usr/lib/system/libsystem_c.dylib |
N | __pthread_kill |  | /usr/lib/system/libsystem_kernel.dylib |

N | RtlUserThreadStart |  | C:\Windows\System32\ntdll.dll |
N | BaseThreadInitThunk |  | C:\Windows\System32\kernel32.dll |
N | invoke_main |  | C:\app\app.exe |
N | wWinMain |  | C:\app\app.exe |
N | std::vector<int>::push_back |  | C:\app\app.exe |
N | std::_Allocate |  | C:\app\app.exe |
N | std::allocator_traits<x>::allocate |  | C:\app\app.exe |
N | Foo::operator()(int) |  | C:\app\app.exe |
N | Foo::{dtor} |  | C:\app\app.exe |
N | Foo::{dtor} |  | C:\app\app.exe |
N | boost::detail::function::functor_manager<x> |  | C:\app\app.exe |
N | nvDriverEntry |  | C:\WINDOWS\System32\DriverStore\FileRepository\nv\nvwgf2umx.dll |
N | nvOther |  | C:\WINDOWS\System32\DriverStore\FileRepository\nv\nvwgf2umx.dll |
N | cuLaunchKernelCUDA |  | C:\Windows\System32\nvcuda.dll |
N | wglSwapBuffers |  | C:\Windows\SYSTEM32\OPENGL32.dll |
N | RtlpAllocateHeapInternal |  | C:\Windows\System32\ntdll.dll |
N | RtlFreeHeap |  | C:\Windows\System32\ntdll.dll |
N | free |  | C:\Windows\System32\ucrtbase.dll |
N | _purecall |  | C:\Windows\System32\ucrtbase.dll |
N | abort |  | C:\Windows\System32\ucrtbase.dll |
N | raise |  | C:\Windows\System32\ucrtbase.dll |
N | _CxxThrowException |  | C:\Windows\System32\vcruntime140.dll |
N | RaiseException |  | C:\Windows\System32\KERNELBASE.dll |
N | RtlExitUserThread |  | C:\Windows\System32\ntdll.dll |
N | crashpad::CrashpadClient::Dump |  | C:\app\app.exe |
N | google_breakpad::ExceptionHandler::WriteMinidumpWithException |  | C:\app\app.exe |
N | exit |  | C:\Windows\System32\ucrtbase.dll |

N | __libc_start_main |  | /lib/x86_64-linux-gnu/libc.so.6 |
N | main |  | /home/me/app |
N | __foo_block_invoke |  | /opt/lib/libfoo.so |
N | std::vector<int>::insert |  | /home/me/app |
N | memcpy |  | /usr/lib/libc.so.6 |
N | memset |  | /usr/lib/libc.so.6 |
N | main |  | /home/me/app |
N | dlopen |  | /usr/lib/libdl.so |
N | pthread_mutex_lock |  | /usr/local/lib/libpthread.so |
N | art::jit::Jit::Compile |  | /apex/com.android.art/lib64/libart.so |
N | art_quick_invoke |  | /apex/com.android.art/lib64/libart.so |
N | android::OpenNativeLibrary |  | /system/lib/libnativeloader.so |
N | eglSwap |  | /vendor/lib/libGLESv2_adreno.so |
N | AudioTrack::x |  | /system/lib/libmedia.so |
N | main |  | linux-gate.so.1 |
N | dart_fn |  | /data/app/com.x/lib/arm64/libapp.so |

O | main | com.android.internal.os.ZygoteInit |  |
O | run | com.android.internal.os.RuntimeInit$MethodAndArgsCaller |  |
O | invoke | java.lang.reflect.Method |  |
O | main | android.app.ActivityThread |  |
O | loop | android.os.Looper |  |
O | dispatchMessage | android.os.Handler |  |
O | handleMessage | android.app.ActivityThread$H |  |
O | layout | android.view.View |  |
O | onClick | androidx.appcompat.widget.AppCompatButton |  |
O | run | androidx.work.impl.utils.ForceStopRunnable |  |
O | query | android.database.sqlite.SQLiteDatabase |  |
O | loadLibrary | java.lang.System |  |
O | runWorker | java.util.concurrent.ThreadPoolExecutor |  |
O | doFilter | org.springframework.web.filter.OncePerRequestFilter |  |
O | invoke | org.apache.catalina.core.StandardWrapperValve |  |
O | handle | com.example.Controller |  |
O | capture | io.sentry.Hub |  |
O | invokeSuspend | kotlinx.coroutines.DispatchedTask |  |
O | resumeWith | kotlin.coroutines.jvm.internal.BaseContinuationImpl |  |
O | channelRead | io.netty.channel.AbstractChannelHandlerContext |  |
O | route | io.ktor.server.Routing |  |
O | apply | scala.Function1 |  |
O | receive | akka.actor.Actor |  |
O | bind0 | sun.nio.ch.Net |  |
O | parse | com.fasterxml.jackson.databind.ObjectMapper |  |
O | x | dalvik.system.VMStack |  |
O | y | newrelic |  |

J | processTicksAndRejections | task_queues |  | node:internal/process/task_queues
J | runMicrotasks |  |  |
J | handle | express.lib.router |  | /srv/app/node_modules/express/lib/router/index.js
J | render |  |  | https://unpkg.com/react-dom@18/umd/react-dom.production.min.js
J | q |  |  | https://cdnjs.cloudflare.com/ajax/libs/x.js
J | q |  |  | https://cdn.jsdelivr.net/npm/x.js
J | q |  |  | https://esm.run/d3
J | q | unpkg/react |  |
J | asyncToGenerator | @babel/runtime/helpers/asyncToGenerator |  |
J | listener | core-js/internals/task |  |
J | wrap | regenerator-runtime/runtime |  |
J | __awaiter | tslib/tslib.es6 |  |
J | _callSuper |  |  |
J | onClick | app/components/button |  | webpack:///./app/components/button.jsx
J | track |  |  | https://cdn.example.com/LogRocket/logger.js
J | reportError |  |  | /app/report.js
J | boom |  |  | /app/boom.js
J | _asyncStartSync |  |  | org-dartlang-sdk:///lib/_internal/js_runtime/lib/async_patch.dart
J | build | package:flutter/src/packages/flutter/widgets |  |
J | nextTick |  |  |

O | get_response | django.core.handlers.base |  | /usr/lib/python3/site-packages/django/core/handlers/base.py
O | run | apt |  | /usr/lib/python3/dist-packages/apt/x.py
O | handle |  |  | C:\www\app\vendor\laravel\framework\src\x.php
O | FuncJob.Run | github.com/robfig/cron/v3 |  | /go/pkg/mod/github.com/robfig/cron/v3@v3.0.0/cron.go
N | main |  | /data/app/com.x/lib/arm64/libapp.so | lib/main.dart
N | x |  | /data/app/com.x/lib/arm64/libapp.so | lib/ui/hooks.dart
N | y |  |  | /home/me/.pub-cache/hosted/pub.dev/http/lib/x.dart
N | z |  |  | package:flutter/src/packages/flutter/lib/src/widgets/framework.dart
O | capture |  |  | package:sentry/src/hub.dart
O | capture |  |  | package:sentry_link/src/x.dart
O | capture |  |  | package:sentry_isar/src/x.dart
O | x |  |  | /opt/newrelic-agent/lib/x.py

N | main |  | /home/me/game |
N | AActor::Tick |  | /home/me/game |
N | UE::Logging::Private::BasicFatalLog |  | /home/me/game |
N | FOutputDevice::Log |  | /home/me/game |

N | main |  | /home/me/game |
N | Check::Impl::ExecCheckImplInternal |  | /home/me/game |
N | FDebug::CheckVerifyFailedImpl |  | /home/me/game |
N | FDebug::CheckVerifyFailedImpl2 |  | /home/me/game |
N | FDebug::CheckVerifyFailedImpl2V |  | /home/me/game |
N | FDebug::DumpStack |  | /home/me/game |

N | main |  | /home/me/game |
N | Foo::operator()(int) |  | /home/me/game |
N | FDebug::OptionallyLogFormattedEnsureMessageReturningFalse |  | /home/me/game |
N | DispatchCheckVerify<bool> |  | /home/me/game |
N | UE::Assert::Private::ExecCheckImplInternalA |  | /home/me/game |

N | AGame::Report |  | /home/me/game |
N | USentrySubsystem::CaptureMessageWithScope |  | /home/me/game |
N | USentrySubsystem::CaptureMessage |  | /home/me/game |
N | AGame::Report2 |  | /home/me/game |
N | USentrySubsystem::CaptureEventWithScope |  | /home/me/game |
N | USentrySubsystem::CaptureEvent |  | /home/me/game |
N | USentrySubsystem::execCaptureEvent |  | /home/me/game |
N | Inner |  | /home/me/game |

N | main |  | /home/me/game |
N | FDebug::CheckVerifyFailedImpl |  | /home/me/game |
N | Check |  | /home/me/game |
N | UE::Logging::Private::BasicFatalLog |  | /home/me/game |
N | Log |  | /home/me/game |

N | AGame::Report |  | /home/me/game |
N | USentrySubsystem::CaptureMessageWithScope |  | /home/me/game |
N | USentrySubsystem::CaptureMessage |  | /home/me/game |
N | Inner |  | /home/me/game |

N | main |  | /home/me/game |
N | DispatchCheckVerify<int> |  | /home/me/game |
N | Check |  | /home/me/game |
N | FDebug::OptionallyLogFormattedEnsureMessageReturningFalse |  | /home/me/game |
N | Log |  | /home/me/game |

N | f |  | /var/containers/bundle/application/z |
N | f |  | /private/var/containers/bundle/application/z |
N | f |  | /q/containers/bundle/application/z |
N | f |  | /q/developer/coresimulator/devices/z |
N | f |  | .app/contents/z |
N | f |  | /users/z |
N | UE::Logging::Private::BasicFatalLog |  |  |
N | FDebug::CheckVerifyFailedImpl |  |  |
O | ::Impl::ExecCheckImplInternal |  |  |
O | FDebug::CheckVerifyFailedImpl2 |  |  |

N | FDebug::OptionallyLogFormattedEnsureMessageReturningFalse |  |  |
N | DispatchCheckVerify |  |  |
N | UE::Assert::Private::ExecCheckImplInternal |  |  |
N | USentrySubsystem::CaptureMessage |  |  |
N | USentrySubsystem::CaptureMessageWithScope |  |  |
N | USentrySubsystem::CaptureEvent |  |  |
N | USentrySubsystem::CaptureEventWithScope |  |  |
N | USentrySubsystem::execCapture |  |  |
N | f |  | /lib/z |
N | f |  | /usr/lib/z |

N | f |  | linux-gate.so |
N | f |  | /q/frameworks/libswift.dylib |
N | f |  | /q/frameworks/sentry.framework/z |
N | f |  | /q/frameworks/sentryswift.framework/z |
N | f |  | /q/frameworks/kscrash.framework/z |
N | f |  |  | /usr/local/lib/z
N | f |  |  | /usr/local/cellar/z
N | std:: |  |  |
N | core:: |  |  |
N | alloc:: |  |  |

N | __rust_ |  |  |
N | rust_begin_unwind |  |  |
N | std::panicking::begin_panic |  |  |
N | core::panicking::begin_panic |  |  |
N | failure::backtrace::Backtrace::new |  |  |
N | error_chain::make_backtrace |  |  |
N | __cxa_throw |  |  |
N | _CxxThrowException |  |  |
N | __assert_rtn |  |  |
N | _NSRaiseError |  |  |

N | std::panicking::panic_fmt |  |  |
N | core::panicking::panic_fmt |  |  |
N | _mh_execute_header |  |  |
N | google_breakpad:: |  |  |
N | kscm_ |  |  |
N | kscrash_ |  |  |
N | sentrycrashcm_ |  |  |
N | sentrycrash_ |  |  |
N | +[KSCrash |  |  |
N | +[RNSentry |  |  |

N | +[Sentry |  |  |
N | __[Sentry |  |  |
N | google_breakpad::ExceptionHandler::SignalHandler |  |  |
N | google_breakpad::ExceptionHandler::WriteMinidumpWithException |  |  |
N | f |  | /data/app/z | /q/.dart
J | f |  |  | org-dartlang-sdk:///z
J | f | /q/packages/flutter/z |  |
N | f |  |  | /q/packages/flutter/z
N | f |  |  | lib/ui/hooks.dart
N | f |  |  | lib/ui/platform_dispatcher.dart

N | f |  |  | /q/.pub-cache/z
O | f |  |  | package:sentry/z
O | f |  |  | package:sentry_flutter/z
O | f |  |  | package:sentry_logging/z
O | f |  |  | package:sentry_dio/z
O | f |  |  | package:sentry_file/z
O | f |  |  | package:sentry_hive/z
O | f |  |  | package:sentry_isar/z
O | f |  |  | package:sentry_sqflite/z
O | f |  |  | package:sentry_drift/z

O | f |  |  | package:sentry_link/z
O | f |  |  | package:sentry_firebase_remote_config/z
N | f |  | /system/library/frameworks/z |
N | f |  | c:/windows/z |
N | f |  | /system/z |
N | f |  | /vendor/z |
N | f |  | /q/libart.so |
N | f |  | corefoundation |
N | f |  | foundation |
N | f |  | cfnetwork |

N | f |  | iokit |
N | f |  | quartzcore |
N | f |  | iomobileframebuffer |
N | f |  | webkit |
N | f |  | libdispatch.dylib |
N | f |  | libobjc |
N | f |  | libsystem |
N | memset |  |  |
N | memcpy |  |  |
N | memcmp |  |  |

N | __memcpy |  |  |
O | f |  | /apex/com.android./lib/z |
O | f | dalvik.system. |  |
O | f | com.android. |  |
O | f | com.lenovo.lsf. |  |
O | f | com.lenovo.payplus. |  |
N | boost:: |  |  |
O | f | java. |  |
O | f | javax.crypto. |  |
O | f | com.google.crypto. |  |

O | f | com.google.android. |  |
O | f | android. |  |
O | f | androidx. |  |
O | f | android.os. |  |
N | f |  | uikit |
N | f |  | uikitcore |
N | f |  | swiftui |
N | f |  | attributegraph |
N | f |  | coreautolayout |
N | f |  | graphicsservices |

N | -[NSISEngine |  |  |
O | f | android.view. |  |
O | f | android.text. |  |
O | f | android.widget. |  |
O | f | android.app.Dialog |  |
O | f | androidx..widget. |  |
O | f | com.google.android.material. |  |
O | handleMessage |  |  |
O | run |  |  |
N | art::jit:: |  |  |

N | f |  | /system/lib/libmedia.so |
N | f |  | /system/lib/libaudioclient.so |
N | f |  | audiotoolbox |
N | f |  | libaudiotoolboxutility.dylib |
N | std::_ |  |  |
N | __swift_ |  |  |
N | block_destroy_helper |  |  |
N | _block_invoke |  |  |
N | wWinMain |  |  |
N | invoke_main |  |  |

N | BaseThreadInitThunk |  |  |
N | RtlUserThreadStart |  |  |
N | thread_start |  |  |
N | _pthread_start |  |  |
N | __pthread_start |  |  |
N | _pthread_body |  |  |
N | _pthread_wqthread |  |  |
N | start_wqthread |  |  |
N | _dispatch_worker_thread2 |  |  |
N | boost::::thread_proxy |  |  |

N | TppWorkerThread |  |  |
N | TppWorkpExecuteCallback |  |  |
N | RtlpTpWorkCallback |  |  |
N | start |  | /usr/lib/system/z |
N | start |  | libdyld.dylib |
N | UIApplicationMain |  | uikit |
N | UIApplicationMain |  | uikitcore |
N | <unknown> |  | /usr/lib/system/libsystem_pthread.dylib |
O | call | android.os. |  |
O | loop | android.os.Looper |  |

O | dispatchMessage | android.os.Handler |  |
O | handleCallback | android.os.Handler |  |
O | main | android.app.ActivityThread |  |
O | handleMessage | android.app.ActivityThread |  |
O | layout | android.view.View |  |
O | runWorker | java.util.concurrent.ThreadPoolExecutor |  |
N | f |  | /q/libsystem_malloc.dylib |
N | malloc |  |  |
N | malloc_base |  |  |
N | RtlpAllocateHeapInternal |  |  |

N | std::::allocator_traits |  |  |
N | ::operator() |  |  |
N | <lambda> |  |  |
N | destructor' |  |  |
N | __dynamic_cast |  |  |
N | boost::function |  |  |
N | boost::_bi:: |  |  |
N | boost::detail::function::functor_manager |  |  |
N | Array.subscript. |  |  |
O | f | java.lang.reflect. |  |

O | f | androidx.work.impl.utils.ForceStopRunnable |  |
O | getMethod | java.lang.Class |  |
N | ::{dtor} |  |  |
N | exit |  |  |
N | RtlExitUserProcess |  |  |
N | ExitProcessImplementation |  |  |
N | RtlExitUserThread |  |  |
N | _sigtramp |  |  |
N | RtlpExecuteHandlerForException |  |  |
N | DispatchHookW |  |  |

N | execute_onexit_table |  |  |
N | abort |  |  |
N | raise |  |  |
N | std::terminate |  |  |
N | TppRaiseInvalidParameter |  |  |
N | RaiseException |  |  |
N | RaiseComPlusException |  |  |
N | _CFThrowFormattedException |  |  |
N | objc_exception_throw |  |  |
N | AG::precondition_failure |  |  |

N | f |  | c:/windows/system32/driverstore/z |
N | f |  | c:/program files/nvidia corporation/z |
N | f |  | /q/nvcuda.dll |
N | f |  | /system/library/extensions/appleintelgraphicsgldriver.bundle/z |
N | f |  | /system/library/extensions/geforcegldriver.bundle/z |
N | f |  | /system/library/extensions/amdradeon/z |
N | f |  | /system/library/privateframeworks/gpusupport.framework/z |
N | f |  | libgpusupportmercury.dylib |
N | f |  | agxgldriver |
N | CUDA |  |  |

N | free |  |  |
N | RtlFreeHeap |  |  |
N | RtlFreeUnicodeString |  |  |
N | std::_Deallocate |  |  |
N | objc_release |  |  |
N | _swift_release_dealloc |  |  |
N | _CFRelease |  |  |
N | f |  | c:/windows/system32/opengl32.dll |
N | f |  | /system/library/frameworks/opengl.framework/z |
N | f |  | /system/library/frameworks/opencl.framework/z |

N | f |  | opengles |
N | f |  | glengine |
N | f |  | /system/lib/libegl.so |
N | f |  | /system/lib/libskia.so |
N | f |  | /q/libgles.so |
N | f |  | /q/libesxgles.so |
N | gpusGenerateCrashLog |  | /system/library/privateframeworks/gpusupport.framework/z |
N | gpusKillClientExt |  |  |
N | crashpad:: |  |  |
O | f | cn.gundam.sdk. |  |

O | f | com.lenovo.payplus.analytics. |  |
O | f |  | /q/libbugly.so |
N | dlopen |  |  |
N | dladdr |  |  |
N | ImageLoaderMachO::findClosestSymbol |  |  |
N | android::OpenNativeLibrary |  | /system/lib/libnativeloader.so |
O | loadLibrary | java.lang.System |  |
O | loadLibrary | java.lang.Runtime |  |
N | pthread_mutex_lock |  |  |
N | _ |  |  |

N | <unknown> |  |  |
N | _INTERNAL |  |  |
N | closure |  |  |
N | Collection.map<T> |  |  |
N | Array.subscript.getter |  |  |
N | Array._getElement |  |  |
N | _ArrayBuffer._nativeTypeChecked.getter |  |  |
N | range |  |  |
N | @callee_guaranteed |  |  |
N | .cold.1 |  |  |

O | f |  |  | /q/vendor/z
O | f |  |  | /q/site-packages/z
O | f |  |  | /q/dist-packages/z
O | f |  |  | /q/node_modules/z
O | f |  |  | /q/go/pkg/mod/z
O | f |  |  | https://unpkg.com/z
O | f |  |  | https://cdnjs.cloudflare.com/z
O | f |  |  | https://cdn.jsdelivr.net/z
O | f |  |  | https://esm.run/z
O | f | unpkg/z |  |

O | f | kotlin. |  |
O | f | kotlinx. |  |
O | f | io.ktor. |  |
O | f | io.netty. |  |
J | reportError |  |  |
O | f | @babel/z |  |
O | f | core-js/z |  |
O | f | regenerator-runtime/z |  |
O | f | tslib/z |  |
O | f | io.sentry. |  |

O | f | newrelic |  |
J | _callSuper |  |  |
O | processTicksAndRejections |  |  |
O | runMicrotasks |  |  |
O | runNextTicks |  |  |
O | queueMicrotask |  |  |
O | nextTick |  |  |
O | f |  |  | /q/newrelic/z
O | f |  |  | /q/logrocket/z
O | f | jdk. |  |

O | f | sun. |  |
O | f | com.sun. |  |
O | f | com.fasterxml. |  |
O | f | com.microsoft. |  |
O | f | org.springframework. |  |
O | f | org.apache. |  |
O | f | org.glassfish. |  |
O | f | org.jboss. |  |
O | f | org.jdesktop. |  |
O | f | org.postgresql. |  |

O | f | org.web3j. |  |
O | f | io.opentelemetry. |  |
O | f | reactor.core. |  |
O | f | scala. |  |
O | f | akka. |  |
O | f | feign. |  |
O | f | oauth. |  |
"#;

    fn synthetic_stacks() -> Vec<Vec<RuleFrame<'static>>> {
        SYNTHETIC_STACKS
            .trim()
            .split("\n\n")
            .map(|stack| {
                stack
                    .lines()
                    .map(|line| {
                        let mut cols = line.split('|').map(str::trim);
                        let family = match cols.next() {
                            Some("N") => Family::Native,
                            Some("J") => Family::JavaScript,
                            _ => Family::Other,
                        };
                        let mut next = || cols.next().filter(|s| !s.is_empty());
                        RuleFrame {
                            family,
                            function: next(),
                            module: next(),
                            package: next(),
                            abs_path: next(),
                            ..RuleFrame::default()
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// The hand-made stacks plus stacks shuffled together from their frames (a fixed
    /// pseudo-random sequence), so that the neighbour rules meet many category pairs.
    fn synthetic_and_mixed_stacks() -> Vec<Vec<RuleFrame<'static>>> {
        let stacks = synthetic_stacks();
        let pool: Vec<RuleFrame> = stacks.iter().flatten().cloned().collect();
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |bound: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize % bound
        };
        let mut out = stacks.clone();
        for _ in 0..600 {
            let len = 2 + next(9);
            out.push((0..len).map(|_| pool[next(pool.len())]).collect());
        }
        out
    }

    #[test]
    #[ignore = "needs Sentry's grouping cases: SNAG_GROUPING_FIXTURES (scripts/test sets it and runs these)"]
    fn builtin_table_behaves_like_sentrys_on_synthetic_stacks() {
        let reference = reference_rules();
        let reference = Rules::parse(&reference).unwrap();
        for frames in synthetic_and_mixed_stacks() {
            // Client in_app true, false and unset, to exercise +app as well as -app.
            for client in [Some(true), Some(false), None] {
                let frames: Vec<RuleFrame> = frames
                    .iter()
                    .cloned()
                    .map(|f| RuleFrame {
                        in_app: client,
                        ..f
                    })
                    .collect();
                let want = outcome(&reference, frames.clone(), None);
                let got = outcome(Rules::builtin(), frames.clone(), None);
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    assert_eq!(g, w, "frame {i} {:?} (client in_app {client:?})", frames[i]);
                }
            }
        }
    }
}

//! Applying stack-trace rules: the classify pass (in-app, category), the grouping pass
//! (`+group`/`-group`, `max-frames`, `min-frames`) and Sentry's assembly of a stack trace.

use super::{
    Action, ExcField, FAMILY_JAVASCRIPT, FAMILY_NATIVE, FAMILY_OTHER, Field, FlagKind,
    FrameOutcome, Kind, Matcher, Offset, Range, Rule, Rules, StackGrouping, StackOutcome,
    family_bit,
};
use crate::grouping::glob::GlobOptions;
use crate::grouping::rule_input::{RuleException, RuleFrame};

impl Rules {
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

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::*;
    use crate::grouping::rule_input::Family;

    fn in_app(frames: &[RuleFrame]) -> Vec<Option<bool>> {
        frames.iter().map(|f| f.in_app).collect()
    }

    fn decisions(g: &StackGrouping) -> Vec<Option<bool>> {
        g.frames
            .iter()
            .map(|d| d.as_ref().map(|(c, _)| *c))
            .collect()
    }

    // --- classify -----------------------------------------------------------------------------

    #[test]
    fn classify_last_rule_wins_and_overrides_the_client() {
        let rules = Rules::parse("function:a* -app\nfunction:ab +app\nfunction:c -app").unwrap();
        let mut frames = vec![
            RuleFrame::native("ab"),
            RuleFrame::native("ac"),
            RuleFrame::native("c"),
            RuleFrame::native("d"),
        ];
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
        let mut frames = vec![
            RuleFrame::native("malloc"),
            RuleFrame::native("malloc_a"),
            RuleFrame::native("malloc_b"),
        ];
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
            RuleFrame::native("x"),
            RuleFrame::native("x"),
            RuleFrame::native("mid"),
            RuleFrame::native("x"),
            RuleFrame::native("x"),
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
            RuleFrame::named(Family::JavaScript, "f"),
            RuleFrame::named(Family::Other, "f"),
            RuleFrame::named(Family::Native, "g"),
        ];
        rules.classify(&mut frames, Some(&exc));
        assert_eq!(in_app(&frames), [Some(false), None, Some(false)]);
        assert_eq!(frames[1].category, Some("t"));

        // Without exception data the fields are `<unknown>`.
        let mut frames = vec![RuleFrame::named(Family::Other, "f")];
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
            RuleFrame::native("first"),
            RuleFrame::native("a"),
            RuleFrame::native("b"),
            RuleFrame::native("b"),
            RuleFrame::native("c"),
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
            RuleFrame::native("a"),
            RuleFrame::native("t1"),
            RuleFrame::native("t2"),
            RuleFrame::native("crash"),
            RuleFrame::native("b"),
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
        let mut frames = vec![RuleFrame::native("a"), RuleFrame::native("b")];
        frames[1].in_app = Some(true);
        rules.classify(&mut frames, None);
        let g = rules.grouping(&frames, None);
        assert_eq!(decisions(&g), [Some(false), None]);
    }

    #[test]
    fn max_frames_keeps_the_frames_nearest_the_crash() {
        let rules = Rules::parse("function:* max-frames=2").unwrap();
        let frames: Vec<RuleFrame> = ["a", "b", "c", "d"]
            .iter()
            .map(|f| RuleFrame::native(f))
            .collect();
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
        let frames: Vec<RuleFrame> = ["a", "b", "c"]
            .iter()
            .map(|f| RuleFrame::native(f))
            .collect();
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
        let frames = vec![RuleFrame::native("a")];
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
            .map(|f| RuleFrame::named(Family::JavaScript, f))
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
}

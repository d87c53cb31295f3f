//! Sentry's grouping strategies (`newstyle:2023-01-11`) and how their variants combine.
//!
//! ```text
//! strategy (first with a contributing variant wins)   variants
//! chained-exception   exception.values              app, system
//! threads             threads.values (exactly one)  app, system
//! stacktrace          stacktrace                    app, system
//! template            template                      default
//! message             logentry                      default
//! ```
//! `app` counts in-app frames only, `system` every frame; `system` is dropped when its hash
//! equals `app`'s, and a variant without a contributing stack trace gives way to one with.

use std::collections::BTreeMap;

use super::component::Component;
use super::frames;
use super::parameterize::normalize_message;
use super::rule_input::Family;
use super::stacktrace_rules::{Rules, StackGrouping};
use crate::normalize::NormalizedEvent;
use crate::protocol::event::{Exception, Frame, Stacktrace, Thread, objects};

/// Variant name → root component, for the strategies that produced one.
pub type Variants<'a> = BTreeMap<&'static str, Component<'a>>;

/// A stack trace after the stack-trace rules classified its frames (in-app, category).
#[derive(Debug, Clone)]
pub struct ClassifiedStack<'a> {
    pub frames: Vec<Frame<'a>>,
    /// The grouping rules' decisions (the same for both variants).
    decisions: std::sync::Arc<StackGrouping>,
}

/// The event as the strategies read it: stacks classified once, up front.
pub struct Input<'a> {
    pub event: &'a NormalizedEvent,
    /// Oldest cause first; the exception actually raised is last.
    pub exceptions: Vec<Exception<'a>>,
    /// Per exception, its classified stack (`None` without a `stacktrace`).
    pub exception_stacks: Vec<Option<ClassifiedStack<'a>>>,
    pub stacktrace: Option<ClassifiedStack<'a>>,
    pub threads: Vec<(Thread<'a>, Option<ClassifiedStack<'a>>)>,
    /// Sentry's `main_exception_id`, as an index into `exceptions`: set by the exception-group
    /// filter when a group holds one distinct exception, which then titles the issue.
    pub main_exception: std::cell::Cell<Option<usize>>,
}

impl<'a> Input<'a> {
    pub fn new(event: &'a NormalizedEvent, rules: &'a Rules) -> Input<'a> {
        let exceptions = event.exceptions();
        let exception_stacks = exceptions
            .iter()
            .map(|e| {
                e.stacktrace
                    .as_ref()
                    .map(|s| classify(s, &event.platform, rules, Some(e)))
            })
            .collect();
        let stacktrace = Stacktrace::read(event.json.get("stacktrace"))
            .map(|s| classify(&s, &event.platform, rules, None));
        let threads = objects(event.json.get("threads").and_then(|t| t.get("values")))
            .map(Thread::read)
            .map(|t| {
                let stack = t
                    .stacktrace
                    .as_ref()
                    .map(|s| classify(s, &event.platform, rules, None));
                (t, stack)
            })
            .collect();
        Input {
            event,
            exceptions,
            exception_stacks,
            stacktrace,
            threads,
            main_exception: std::cell::Cell::new(None),
        }
    }
}

impl<'a> Input<'a> {
    /// The stack of the only thread, else of the only crashed one, else of the only current one.
    pub fn crashed_thread_stack(&self) -> Option<&ClassifiedStack<'a>> {
        let only = |filter: &dyn Fn(&Thread) -> bool| {
            let chosen: Vec<_> = self.threads.iter().filter(|(t, _)| filter(t)).collect();
            match chosen.as_slice() {
                [(_, stack)] => Some(stack.as_ref()),
                _ => None,
            }
        };
        only(&|_| true)
            .or_else(|| only(&|t| t.crashed == Some(true)))
            .or_else(|| only(&|t| t.current == Some(true)))
            .flatten()
    }
}

/// Applies the in-app and category rules; frames no rule and no client marked are not in-app.
fn classify<'a>(
    stack: &Stacktrace<'a>,
    platform: &str,
    rules: &Rules,
    exception: Option<&Exception<'_>>,
) -> ClassifiedStack<'a> {
    let mut frames = stack.frames.clone();
    for frame in &mut frames {
        let frame_platform = frame.platform.unwrap_or(platform);
        // JavaScript file names group without their query string.
        if Family::from_platform(frame_platform) == Family::JavaScript
            && let Some(f) = &mut frame.filename
            && let Some(at) = f.find('?')
        {
            *f = &f[..at];
        }
    }
    let (in_app, decisions) = rule_cache::outcome(rules, &frames, platform, exception);
    for (frame, in_app) in frames.iter_mut().zip(in_app) {
        frame.in_app = Some(in_app);
    }
    ClassifiedStack { frames, decisions }
}

mod rule_cache;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    App,
    System,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::App => "app",
            Variant::System => "system",
        }
    }
}

/// The stacktrace component of one variant.
fn stacktrace_component<'a>(
    input: &Input<'a>,
    stack: &ClassifiedStack<'a>,
    variant: Variant,
    mut components: Vec<Component<'a>>,
) -> Component<'a> {
    let platform = input.event.platform.as_str();
    let decisions = &stack.decisions;
    if variant == Variant::App {
        for (component, frame) in components.iter_mut().zip(&stack.frames) {
            if frame.in_app != Some(true) {
                component.set_contributes(false, "non app frame");
            }
        }
    }
    if let [frame] = stack.frames.as_slice()
        && components[0].contributes()
        && Family::from_platform(frame.platform.unwrap_or(platform)) == Family::JavaScript
        && frame.function.is_none()
        && is_url(frame.abs_path)
    {
        components[0].set_contributes(false, "ignored single non-URL JavaScript frame");
    }

    for ((component, decision), frame) in components
        .iter_mut()
        .zip(&decisions.frames)
        .zip(&stack.frames)
    {
        // `+group` does not bring a frame that is not in-app into the app variant.
        let app_only = variant == Variant::App && frame.in_app != Some(true);
        if let Some((contributes, hint)) = decision
            && *contributes != component.contributes()
            && !(app_only && *contributes)
        {
            component.set_contributes(*contributes, hint.clone());
        }
    }
    let mut stacktrace = Component::new("stacktrace");
    if let Some(max) = decisions.max_frames {
        let mut kept = 0;
        for component in components.iter_mut().rev() {
            if component.contributes() {
                if kept >= max {
                    component.set_contributes(
                        false,
                        format!("ignored because only {max} frames are considered"),
                    );
                } else {
                    kept += 1;
                }
            }
        }
    }
    let contributing = components.iter().filter(|c| c.contributes()).count();
    stacktrace.values = components
        .into_iter()
        .map(super::component::Node::Child)
        .collect();
    if let Some(min) = decisions.min_frames
        && contributing > 0
        && contributing < min
    {
        stacktrace.set_contributes(
            false,
            format!(
                "discarded because stack trace only contains {contributing} frames which is less than {min}"
            ),
        );
    }
    stacktrace
}

fn is_url(path: Option<&str>) -> bool {
    path.is_some_and(|p| {
        ["blob:", "file:", "http:", "https:", "applewebdata:"]
            .iter()
            .any(|s| p.starts_with(s))
    })
}

/// App and system stacktrace variants of one stack.
fn stack_variants<'a>(
    input: &Input<'a>,
    stack: &ClassifiedStack<'a>,
) -> Vec<(Variant, Component<'a>)> {
    // Each frame's component once; the app variant marks its copy.
    let platform = input.event.platform.as_str();
    let mut previous: Option<&Frame> = None;
    let components: Vec<Component<'a>> = stack
        .frames
        .iter()
        .map(|frame| {
            let recursion = frames::is_recursion(frame, previous);
            previous = Some(frame);
            frames::frame_component(frame, platform, recursion)
        })
        .collect();
    let system = stacktrace_component(input, stack, Variant::System, components.clone());
    let app = stacktrace_component(input, stack, Variant::App, components);
    vec![(Variant::System, system), (Variant::App, app)]
}

/// One exception's components per variant (only `app` when it has no stack trace).
fn exception_variants<'a>(input: &Input<'a>, index: usize) -> Vec<(Variant, Component<'a>)> {
    let exception = &input.exceptions[index];
    let stacks = match &input.exception_stacks[index] {
        Some(stack) => stack_variants(input, stack),
        None => vec![(Variant::App, Component::new("stacktrace"))],
    };
    let synthetic = exception.is_synthetic();
    let ns_error = exception
        .mechanism
        .as_ref()
        .and_then(|m| m.ns_error.clone());
    stacks
        .into_iter()
        .map(|(variant, stacktrace)| {
            let mut ty = Component::new("type");
            if let Some(t) = &exception.ty {
                ty = Component::text("type", *t);
            }
            if synthetic {
                ty.set_contributes(false, "ignored because exception is synthetic");
            }
            let ns_error = ns_error.as_ref().map(|(domain, code)| {
                let mut c = Component::new("ns-error");
                c.values = [domain, code]
                    .into_iter()
                    .flatten()
                    .map(|s| super::component::Node::Text(s.clone().into()))
                    .collect();
                c
            });
            let mut value = Component::new("value");
            if let Some(raw) = &exception.value
                && stacktrace.contributes()
            {
                // Not hashed: the stack takes precedence (no need to parameterize it).
                value = Component::text("value", *raw);
            } else if let Some(raw) = &exception.value {
                let normalized = normalize_message(raw);
                if !normalized.is_empty() {
                    let changed = normalized != *raw;
                    value = Component::text("value", normalized);
                    if changed {
                        value.hint = Some("stripped event-specific values".into());
                    }
                }
            }
            if stacktrace.contributes() && value.contributes() {
                value.set_contributes(false, "ignored because stacktrace takes precedence");
            }
            if ns_error.as_ref().is_some_and(Component::contributes) && value.contributes() {
                value.set_contributes(false, "ignored because ns-error info takes precedence");
            }
            let mut children = vec![stacktrace, ty];
            children.extend(ns_error);
            children.push(value);
            (variant, Component::with_children("exception", children))
        })
        .collect()
}

/// The chained-exception strategy (single exceptions too).
fn chained_exception<'a>(input: &Input<'a>) -> Vec<(Variant, Component<'a>)> {
    let count = input.exceptions.len();
    if count == 0 {
        return Vec::new();
    }
    let per_exception: Vec<Vec<(Variant, Component<'a>)>> =
        (0..count).map(|i| exception_variants(input, i)).collect();
    let python_sdk_3 = input.event.platform == "python"
        && input
            .event
            .json
            .get("sdk")
            .and_then(|sdk| sdk.get("version"))
            .and_then(serde_json::Value::as_str)
            .is_some_and(|v| v.starts_with('3'));
    let chosen = exception_groups::filter(&input.exceptions, &per_exception, python_sdk_3);
    input.main_exception.set(chosen.main);
    let mut per_exception: Vec<Option<Vec<(Variant, Component<'a>)>>> =
        per_exception.into_iter().map(Some).collect();
    let explain = |component: &mut Component<'_>| {
        if let Some(why) = chosen.why
            && component.hint.is_none()
        {
            component.hint = Some(why.into());
        }
    };
    if let [only] = chosen.hashed.as_slice() {
        let mut variants = per_exception[*only].take().unwrap_or_default();
        variants.iter_mut().for_each(|(_, c)| explain(c));
        return variants;
    }
    if let Some(main) = exception_groups::main_override(&input.exceptions, &chosen.hashed) {
        input.main_exception.set(Some(main));
    }
    let mut system = Vec::new();
    let mut app = Vec::new();
    for &i in &chosen.hashed {
        // A path may name an exception twice only in a broken tree; it is hashed once.
        for (variant, component) in per_exception[i].take().unwrap_or_default() {
            match variant {
                Variant::System => system.push(component),
                Variant::App => app.push(component),
            }
        }
    }
    [(Variant::System, system), (Variant::App, app)]
        .into_iter()
        .filter(|(_, children)| !children.is_empty())
        .map(|(v, children)| {
            let mut chain = Component::with_children("chained-exception", children);
            explain(&mut chain);
            (v, chain)
        })
        .collect()
}

/// The threads strategy: the crashed thread, else the current one, else the only one.
fn threads<'a>(input: &Input<'a>) -> Vec<(Variant, Component<'a>)> {
    if input.event.json.get("threads").is_none() || input.threads.is_empty() {
        return Vec::new();
    }
    let pick = |filter: &dyn Fn(&Thread) -> bool| -> Option<Vec<(Variant, Component<'a>)>> {
        let chosen: Vec<_> = input.threads.iter().filter(|(t, _)| filter(t)).collect();
        let [(_, stack)] = chosen.as_slice() else {
            return None;
        };
        Some(match stack {
            Some(stack) => stack_variants(input, stack)
                .into_iter()
                .map(|(v, c)| (v, Component::with_children("threads", vec![c])))
                .collect(),
            None => {
                let mut c = Component::new("threads");
                c.set_contributes(false, "thread has no stack trace");
                vec![(Variant::App, c)]
            }
        })
    };
    pick(&|t| t.crashed == Some(true))
        .or_else(|| pick(&|t| t.current == Some(true)))
        .or_else(|| pick(&|_| true))
        .unwrap_or_else(|| {
            let mut c = Component::new("threads");
            c.set_contributes(false, "ignored because does not contain exactly one thread");
            vec![(Variant::App, c)]
        })
}

fn stacktrace<'a>(input: &Input<'a>) -> Vec<(Variant, Component<'a>)> {
    match &input.stacktrace {
        Some(stack) => stack_variants(input, stack),
        None => Vec::new(),
    }
}

fn message<'a>(input: &Input<'a>) -> Option<Component<'a>> {
    let event = input.event;
    let raw = event
        .message_template
        .as_deref()
        .or(event.message.as_deref())?;
    let normalized = normalize_message(raw);
    let mut c = Component::text("message", normalized.clone());
    if normalized != raw {
        c.hint = Some("stripped event-specific values".into());
    }
    Some(c)
}

/// Sentry's per-strategy post-processing of app/system variants: the mandatory system variant
/// not contributing silences app; system equal to app is dropped; a variant without a
/// contributing stack trace gives way to one with.
fn finish_stack_variants(
    mut variants: Vec<(Variant, Component<'_>)>,
) -> Vec<(Variant, Component<'_>)> {
    let system_contributes = variants
        .iter()
        .find(|(v, _)| *v == Variant::System)
        .map(|(_, c)| c.contributes());
    if system_contributes == Some(false) {
        for (v, c) in &mut variants {
            if *v == Variant::App && c.contributes() {
                c.set_contributes(false, "ignored because system variant is not used");
            }
        }
    }
    let same_as_app = {
        let app = variants
            .iter()
            .find(|(v, _)| *v == Variant::App)
            .map(|(_, c)| c);
        let system = variants
            .iter()
            .find(|(v, _)| *v == Variant::System)
            .map(|(_, c)| c);
        matches!((app, system), (Some(a), Some(s))
            if a.contributes() && s.contributes() && a.contributing_values() == s.contributing_values())
    };
    if same_as_app {
        for (v, c) in &mut variants {
            if *v == Variant::System {
                c.set_contributes(false, "ignored because hash matches app variant");
            }
        }
    }
    let with_stack: Vec<Variant> = variants
        .iter()
        .filter(|(_, c)| c.has_contributing("stacktrace"))
        .map(|(v, _)| *v)
        .collect();
    if let [only] = with_stack.as_slice() {
        let hint = format!(
            "ignored because this variant does not have a contributing stacktrace, but the {} variant does",
            only.name()
        );
        for (v, c) in &mut variants {
            if !with_stack.contains(v) && c.contributes() {
                c.set_contributes(false, hint.clone());
            }
        }
    }
    variants
}

/// Every strategy's components per variant; the first strategy that contributes wins and
/// the others' components are kept but marked as not contributing.
pub fn strategy_variants<'a>(input: &Input<'a>) -> Variants<'a> {
    // Sentry's scores: stacks (2000, 1900, 1800), template (1100), security reports (1000 to
    // 1003), message (0).
    let default_only = |c: Option<Component<'a>>| c.map(|c| ("default", c)).into_iter().collect();
    let security = super::security::strategy(input.event);
    let strategies: Vec<(&str, Vec<(&'static str, Component<'a>)>)> = vec![
        (
            "exception",
            named(finish_stack_variants(chained_exception(input))),
        ),
        ("threads", named(finish_stack_variants(threads(input)))),
        (
            "stack-trace",
            named(finish_stack_variants(stacktrace(input))),
        ),
        (
            "template",
            default_only(template::template(input.event.json.get("template"))),
        ),
        (
            security.as_ref().map_or("security", |(name, _)| *name),
            default_only(security.map(|(_, c)| c)),
        ),
        ("message", default_only(message(input))),
    ];
    let mut winner: Option<(&str, String)> = None;
    let mut per_variant: BTreeMap<&'static str, Vec<Component<'a>>> = BTreeMap::new();
    for (strategy, variants) in strategies {
        if winner.is_none() && variants.iter().any(|(_, c)| c.contributes()) {
            let names: Vec<&str> = {
                let mut n: Vec<&str> = variants
                    .iter()
                    .filter(|(_, c)| c.contributes())
                    .map(|(n, _)| *n)
                    .collect();
                n.sort();
                n
            };
            // "exception of app and system take precedence"; "template takes precedence".
            let hint = if names == ["default"] {
                format!("{strategy} takes precedence")
            } else {
                format!(
                    "{} take{} precedence",
                    names
                        .iter()
                        .map(|n| format!("{strategy} of {n}"))
                        .collect::<Vec<_>>()
                        .join(" and "),
                    if names.len() == 1 { "s" } else { "" }
                )
            };
            winner = Some((strategy, hint));
            for (name, c) in variants {
                per_variant.entry(name).or_default().push(c);
            }
            continue;
        }
        for (name, mut c) in variants {
            if let Some((_, hint)) = &winner
                && c.contributes()
            {
                c.set_contributes(false, hint.clone());
            }
            per_variant.entry(name).or_default().push(c);
        }
    }
    per_variant
        .into_iter()
        .map(|(name, children)| (name, Component::with_children(name, children)))
        .collect()
}

fn named(variants: Vec<(Variant, Component<'_>)>) -> Vec<(&'static str, Component<'_>)> {
    // App first, as Sentry lists it.
    let mut out: Vec<(&'static str, Component<'_>)> =
        variants.into_iter().map(|(v, c)| (v.name(), c)).collect();
    out.sort_by_key(|(n, _)| *n != "app");
    out
}

mod exception_groups;
mod template;

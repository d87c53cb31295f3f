//! Exception groups (RFC 0079): which exceptions of `exception.values` are hashed, and which
//! one titles the issue.
//!
//! ```text
//! values (payload order)                          mechanism                     hashed
//! ValueError "a"                                  id 1, parent 0                ValueError "a"
//! ValueError "a"                                  id 2, parent 0                  (one distinct: it
//! ExceptionGroup                                  id 0, group                      titles the issue)
//!
//! ValueError / KeyError / ExceptionGroup          ids 1, 2 under group 0        KeyError, ValueError,
//!                                                                               ExceptionGroup
//! ```
//!
//! A broken tree is hashed as sent, as Sentry does today: an exception without a mechanism
//! or id, a repeated id, an exception that is its own parent, no root (id 0), a root whose
//! descendants are all groups or none (a cycle beside the root), and a cycle reached from
//! the root (Sentry's recursion fails there and it falls back to the list as sent, keeping a
//! `main_exception_id` it had already set). Sentry before late 2025 hashed the root alone when
//! no top-level exception was found; events it grouped then may form a new issue here.

use std::collections::HashMap;

use super::{Component, Variant};
use crate::protocol::event::Exception;

/// What the filter keeps: indexes into `exceptions` in hash order, and the index of the
/// exception Sentry's `main_exception_id` names (it titles the issue).
#[derive(Debug, PartialEq, Eq)]
pub struct Chosen {
    pub hashed: Vec<usize>,
    pub main: Option<usize>,
    /// What the filter did, for `snag grouping` (`None`: no tree to look at).
    pub why: Option<&'static str>,
}

impl Chosen {
    fn all(exceptions: &[Exception], main: Option<usize>, why: Option<&'static str>) -> Chosen {
        Chosen {
            hashed: (0..exceptions.len()).collect(),
            main,
            why,
        }
    }
}

/// Filters `exceptions` (with their per-variant components, for telling copies apart).
/// `python_sdk_3`: Sentry leaves events of the Python SDK 3.x as sent (that SDK began sending
/// ids for plain chains, which would have moved their hashes).
pub fn filter(
    exceptions: &[Exception],
    components: &[Vec<(Variant, Component<'_>)>],
    python_sdk_3: bool,
) -> Chosen {
    if exceptions.len() <= 1 {
        return Chosen::all(exceptions, None, None);
    }
    if python_sdk_3 {
        let why = "exception groups of the Python SDK 3.x are hashed as sent";
        return Chosen::all(exceptions, None, Some(why));
    }
    let Some(tree) = Tree::build(exceptions) else {
        let why = "no exception tree (an exception without an id, a repeated id, or its own parent): hashed as sent";
        return Chosen::all(exceptions, None, Some(why));
    };
    let Some(root) = tree.index_of(0) else {
        let why = "no root exception (id 0): hashed as sent";
        return Chosen::all(exceptions, None, Some(why));
    };
    let Some(mut tops) = tree.top_level(root) else {
        let why = "the exception tree has a cycle: hashed as sent";
        return Chosen::all(exceptions, None, Some(why));
    };
    if tops.is_empty() {
        let why = "no exception under the root that is not a group: hashed as sent";
        return Chosen::all(exceptions, None, Some(why));
    }
    // By type, descending; `sort_by` is stable like Python's `sorted`.
    tops.sort_by(|&a, &b| type_name(&exceptions[b]).cmp(type_name(&exceptions[a])));
    let key =
        |i: usize| -> Vec<Option<String>> { components[i].iter().map(|(_, c)| c.hash()).collect() };
    let mut distinct: Vec<usize> = Vec::new();
    for i in tops {
        if distinct.last().is_none_or(|&last| key(last) != key(i)) {
            distinct.push(i);
        }
    }
    if let [main] = distinct.as_slice() {
        // Sentry reads `main_exception_id` for truth: the root's id 0 titles nothing.
        let main_id = exception_id(&exceptions[*main]);
        let main = Some(*main).filter(|_| main_id != Some(0));
        return match tree.first_path(distinct[0]) {
            Some(path) => Chosen {
                hashed: path,
                main,
                why: Some(
                    "exception tree: its one distinct top-level exception and that one's first children",
                ),
            },
            None => Chosen::all(
                exceptions,
                main,
                Some("the exception tree has a cycle: hashed as sent"),
            ),
        };
    }
    distinct.push(root);
    Chosen {
        hashed: distinct,
        main: None,
        why: Some("exception group: its distinct top-level exceptions, then the group"),
    }
}

/// Sentry's exceptions to its "last one titles the issue" rule, looked at when more than one
/// exception is hashed: React 19's recoverable errors carry the real one as their `cause`,
/// and RxJava wraps the real one in a framework exception.
pub fn main_override(exceptions: &[Exception], hashed: &[usize]) -> Option<usize> {
    let chosen: Vec<&Exception> = hashed.iter().map(|&i| &exceptions[i]).collect();
    let id = react_cause(&chosen).or_else(|| rxjava_inner(&chosen))?;
    // Sentry checks the id for truth: 0 (the root) never overrides.
    if id == 0 {
        return None;
    }
    exceptions.iter().position(|e| exception_id(e) == Some(id))
}

const REACT_RECOVERABLE: [&str; 2] = [
    "There was an error during concurrent rendering but React was able to recover by instead synchronously rendering the entire root.",
    "There was an error while hydrating but React was able to recover by instead client rendering from the nearest Suspense boundary.",
];

fn react_cause(chosen: &[&Exception]) -> Option<u64> {
    let (first, last) = (chosen.first()?, chosen.last()?);
    let recoverable = first.ty == Some("Error")
        && first.value.is_some_and(|v| REACT_RECOVERABLE.contains(&v))
        && last.mechanism.as_ref().and_then(|m| m.source) == Some("cause");
    if recoverable {
        exception_id(last)
    } else {
        None
    }
}

const RXJAVA_WRAPPERS: [&str; 3] = [
    "OnErrorNotImplementedException",
    "CompositeException",
    "UndeliverableException",
];

fn rxjava_inner(chosen: &[&Exception]) -> Option<u64> {
    let wrapper = chosen.iter().find(|e| {
        e.module == Some("io.reactivex.rxjava3.exceptions")
            && e.ty.is_some_and(|t| RXJAVA_WRAPPERS.contains(&t))
            && e.mechanism.as_ref().and_then(|m| m.ty) == Some("UncaughtExceptionHandler")
    })?;
    let wrapper_id = exception_id(wrapper)?;
    chosen
        .iter()
        .find(|e| e.mechanism.as_ref().and_then(|m| m.parent_id) == Some(wrapper_id))
        .and_then(|e| exception_id(e))
}

fn exception_id(e: &Exception) -> Option<u64> {
    e.mechanism.as_ref().and_then(|m| m.exception_id)
}

fn type_name<'a>(e: &Exception<'a>) -> &'a str {
    // Python's `str(None)`.
    e.ty.unwrap_or("None")
}

/// The tree the mechanisms describe: every exception has an id, no id repeats, none is its
/// own parent.
struct Tree<'e, 'a> {
    exceptions: &'e [Exception<'a>],
    by_id: HashMap<u64, usize>,
    /// Children in the order Sentry collects them: payload order reversed.
    children: HashMap<u64, Vec<usize>>,
}

impl<'e, 'a> Tree<'e, 'a> {
    fn build(exceptions: &'e [Exception<'a>]) -> Option<Tree<'e, 'a>> {
        let mut by_id = HashMap::new();
        let mut children: HashMap<u64, Vec<usize>> = HashMap::new();
        for (i, e) in exceptions.iter().enumerate().rev() {
            let m = e.mechanism.as_ref()?;
            let id = m.exception_id?;
            if m.parent_id == Some(id) || by_id.insert(id, i).is_some() {
                return None;
            }
            if let Some(parent) = m.parent_id {
                children.entry(parent).or_default().push(i);
            }
        }
        Some(Tree {
            exceptions,
            by_id,
            children,
        })
    }

    fn index_of(&self, id: u64) -> Option<usize> {
        self.by_id.get(&id).copied()
    }

    fn children(&self, i: usize) -> &[usize] {
        exception_id(&self.exceptions[i])
            .and_then(|id| self.children.get(&id))
            .map_or(&[], Vec::as_slice)
    }

    fn is_group(&self, i: usize) -> bool {
        self.exceptions[i]
            .mechanism
            .as_ref()
            .is_some_and(|m| m.is_exception_group)
    }

    /// The first non-group descendants of `root` (itself when it is not a group), depth first;
    /// `None` when the walk comes back to an exception it passed (a cycle).
    fn top_level(&self, root: usize) -> Option<Vec<usize>> {
        let mut out = Vec::new();
        let mut visited = vec![false; self.exceptions.len()];
        let mut stack = vec![root];
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut visited[i], true) {
                return None;
            }
            if self.is_group(i) {
                stack.extend(self.children(i).iter().rev());
            } else {
                out.push(i);
            }
        }
        Some(out)
    }

    /// `from` and its first child, that child's first child, and so on; `None` on a cycle.
    fn first_path(&self, from: usize) -> Option<Vec<usize>> {
        let mut path = vec![from];
        let mut current = from;
        while let Some(&first) = self.children(current).first() {
            if path.contains(&first) {
                return None;
            }
            path.push(first);
            current = first;
        }
        Some(path)
    }
}

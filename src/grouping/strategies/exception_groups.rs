//! Exception groups (RFC 0079): which exceptions of `exception.values` are hashed.

use std::collections::HashMap;

use super::{Component, Variant};
use crate::protocol::event::Exception;

/// Indexes into `exceptions` to hash, in order, and the main exception when the tree
/// reduces to one distinct exception. Follows RFC 0079 as Sentry applies it: a
/// well-formed tree of `mechanism.exception_id`/`parent_id` (JavaScript sends one for every
/// `cause` chain, group or not) is reduced to its distinct top-level exceptions; a broken
/// tree (an exception without an id, a repeated id, an exception that is its own parent, no
/// root) is hashed as sent. `python_sdk_3`: Sentry leaves events of the Python SDK 3.x as
/// sent (that SDK began sending ids for plain chains, which would have moved their hashes).
pub fn filter(
    exceptions: &[Exception],
    components: &[Vec<(Variant, Component<'_>)>],
    python_sdk_3: bool,
) -> (Vec<usize>, Option<usize>) {
    let all = || ((0..exceptions.len()).collect(), None);
    if exceptions.len() <= 1 || python_sdk_3 {
        return all();
    }
    // id → (index, children in the order Sentry collects them: payload order reversed)
    let mut by_id: HashMap<u64, usize> = HashMap::new();
    let mut children: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, e) in exceptions.iter().enumerate().rev() {
        let Some(m) = &e.mechanism else {
            return all();
        };
        let Some(id) = m.exception_id else {
            return all();
        };
        if m.parent_id == Some(id) || by_id.insert(id, i).is_some() {
            return all();
        }
        if let Some(parent) = m.parent_id {
            children.entry(parent).or_default().push(i);
        }
    }
    let Some(&root) = by_id.get(&0) else {
        return all();
    };
    let is_group = |i: usize| {
        exceptions[i]
            .mechanism
            .as_ref()
            .is_some_and(|m| m.is_exception_group)
    };
    let id_of = |i: usize| {
        exceptions[i]
            .mechanism
            .as_ref()
            .and_then(|m| m.exception_id)
            .unwrap_or(0)
    };
    fn top_level(
        i: usize,
        is_group: &dyn Fn(usize) -> bool,
        id_of: &dyn Fn(usize) -> u64,
        children: &HashMap<u64, Vec<usize>>,
        depth: usize,
        out: &mut Vec<usize>,
    ) {
        if !is_group(i) {
            out.push(i);
            return;
        }
        if depth > 64 {
            return;
        }
        for &c in children.get(&id_of(i)).map(Vec::as_slice).unwrap_or(&[]) {
            top_level(c, is_group, id_of, children, depth + 1, out);
        }
    }
    let mut tops = Vec::new();
    top_level(root, &is_group, &id_of, &children, 0, &mut tops);
    if tops.is_empty() {
        return all();
    }
    tops.sort_by(|a, b| {
        let ty = |i: usize| exceptions[i].ty.unwrap_or("None");
        ty(*b).cmp(ty(*a))
    });
    let key =
        |i: usize| -> Vec<Option<String>> { components[i].iter().map(|(_, c)| c.hash()).collect() };
    let mut distinct: Vec<usize> = Vec::new();
    for i in tops {
        if distinct.last().is_none_or(|&last| key(last) != key(i)) {
            distinct.push(i);
        }
    }
    if let [main] = distinct.as_slice() {
        // The main exception and its first-child path.
        let mut path = vec![*main];
        let mut current = *main;
        while let Some(&first) = children.get(&id_of(current)).and_then(|c| c.first()) {
            if path.contains(&first) {
                break;
            }
            path.push(first);
            current = first;
        }
        return (path, Some(*main));
    }
    distinct.push(root);
    (distinct, None)
}

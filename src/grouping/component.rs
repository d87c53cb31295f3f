//! Grouping components: the tree of values a variant hashes, as Sentry builds it.
//!
//! ```text
//! app (contributes)
//! └─ exception
//!    ├─ stacktrace
//!    │  ├─ frame: module "app.views" · filename "views.py" (module takes precedence) · function "handle"
//!    │  └─ frame (non app frame)
//!    ├─ type "ValueError"
//!    └─ value "bad <int>" (ignored because stacktrace takes precedence)
//! ```
//! A variant's hash is the md5 of the values of every contributing component, depth first,
//! concatenated without separators; a variant that does not contribute has no hash.

use std::borrow::Cow;

use md5::{Digest, Md5};
use serde_json::{Value, json};

/// One node: a kind (`frame`, `type`, …), literal values or child components, and whether it
/// counts, with the reason when it does not (or how a value was cleaned).
#[derive(Debug, Clone, PartialEq)]
pub struct Component<'a> {
    pub id: &'static str,
    /// The first literal value. Most components are one value: kept inline, not in `values`
    /// (a frame's components are built twice, for both variants).
    text: Option<Cow<'a, str>>,
    /// Further values, after `text`.
    pub values: Vec<Node<'a>>,
    contributes: Option<bool>,
    /// Mostly fixed text: borrowed, so that grouping an event does not allocate its hints.
    pub hint: Option<Cow<'static, str>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Node<'a> {
    /// Mostly borrowed from the event: building a variant twice copies no text.
    Text(Cow<'a, str>),
    Child(Component<'a>),
}

impl<'a> Component<'a> {
    pub fn new(id: &'static str) -> Component<'a> {
        Component {
            id,
            text: None,
            values: Vec::new(),
            contributes: None,
            hint: None,
        }
    }

    /// A component of one literal value.
    pub fn text(id: &'static str, value: impl Into<Cow<'a, str>>) -> Component<'a> {
        let mut c = Component::new(id);
        c.text = Some(value.into());
        c
    }

    pub fn with_children(id: &'static str, children: Vec<Component<'a>>) -> Component<'a> {
        let mut c = Component::new(id);
        c.values = children.into_iter().map(Node::Child).collect();
        c
    }

    /// Whether this node counts: as set, else (for a node never decided) whether it has a
    /// literal value or a contributing child.
    pub fn contributes(&self) -> bool {
        self.contributes.unwrap_or_else(|| {
            self.text.is_some()
                || self.values.iter().any(|v| match v {
                    Node::Text(_) => true,
                    Node::Child(c) => c.contributes(),
                })
        })
    }

    /// Marks the node as (not) counting, with the reason.
    pub fn set_contributes(&mut self, contributes: bool, hint: impl Into<Cow<'static, str>>) {
        self.contributes = Some(contributes);
        let hint = hint.into();
        if !hint.is_empty() {
            self.hint = Some(hint);
        }
    }

    /// Replaces the literal values, keeping why (a cleaned name, say).
    pub fn replace_text(&mut self, value: impl Into<Cow<'a, str>>, hint: &'static str) {
        self.text = Some(value.into());
        self.values.clear();
        self.hint = Some(hint.into());
    }

    pub fn children(&self) -> impl Iterator<Item = &Component<'a>> {
        self.values.iter().filter_map(|v| match v {
            Node::Child(c) => Some(c),
            Node::Text(_) => None,
        })
    }

    /// True if a contributing component of kind `id` is in this tree.
    pub fn has_contributing(&self, id: &str) -> bool {
        self.contributes()
            && self
                .children()
                .any(|c| (c.id == id && c.contributes()) || c.has_contributing(id))
    }

    /// The contributing literal values, depth first (what the hash is made of).
    pub fn contributing_values(&self) -> Vec<Cow<'a, str>> {
        let mut out = Vec::new();
        self.collect_values(&mut out);
        out
    }

    fn collect_values(&self, out: &mut Vec<Cow<'a, str>>) {
        if !self.contributes() {
            return;
        }
        out.extend(self.text.iter().cloned());
        for v in &self.values {
            match v {
                Node::Text(t) => out.push(t.clone()),
                Node::Child(c) => c.collect_values(out),
            }
        }
    }

    /// The variant hash, `None` when nothing contributes.
    pub fn hash(&self) -> Option<String> {
        self.contributes()
            .then(|| hash_values(self.contributing_values()))
    }

    /// The tree as JSON, for `snag grouping` (why an event grouped the way it did).
    pub fn to_json(&self) -> Value {
        let values: Vec<Value> = self
            .text
            .iter()
            .map(|t| json!(t))
            .chain(self.values.iter().map(|v| match v {
                Node::Text(t) => json!(t),
                Node::Child(c) => c.to_json(),
            }))
            .collect();
        let mut out = json!({"id": self.id, "contributes": self.contributes(), "values": values});
        if let Some(hint) = &self.hint {
            out["hint"] = json!(hint);
        }
        out
    }
}

/// md5 hex of the values concatenated, as Sentry's `hash_from_values`.
pub fn hash_values<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> String {
    let mut md5 = Md5::new();
    for v in values {
        md5.update(v.as_ref().as_bytes());
    }
    hex::encode(md5.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_concatenate_contributing_values() {
        let mut frame = Component::with_children(
            "frame",
            vec![
                Component::text("filename", "foo.py"),
                Component::text("context-line", "foo bar"),
            ],
        );
        let mut ignored = Component::text("function", "f");
        ignored.set_contributes(false, "ignored");
        frame.values.push(Node::Child(ignored));
        // Sentry's own check: md5("foo.py" + "foo bar").
        assert_eq!(frame.hash().unwrap(), "60e0a667027bef0d0b7c4882891df7e8");
        assert_eq!(hash_values::<&str>([]), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn empty_components_do_not_contribute() {
        let c = Component::with_children("stacktrace", vec![Component::new("frame")]);
        assert!(!c.contributes());
        assert_eq!(c.hash(), None);
    }
}

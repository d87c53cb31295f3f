//! Sentry's `template:v1` strategy: a template error (Django's, as raven-python and the
//! `template` interface send it) groups by the template file and the line that failed.
//!
//! ```text
//! "template": {"filename": "orders/detail.html", "abs_path": "/srv/app/templates/orders/detail.html",
//!              "lineno": 12, "context_line": "{{ order.total|money }}", ...}
//! default
//! └─ template
//!    ├─ filename "orders/detail.html"
//!    └─ context-line "{{ order.total|money }}"
//! ```
//! Unlike a stack frame's, both values are hashed as sent: no base name, no lowercasing, no
//! whitespace folding. It ranks below stack traces and above the message.

use serde_json::Value;

use crate::grouping::component::Component;

/// The `template` component of an event's template interface, if it has one.
pub fn template(interface: Option<&Value>) -> Option<Component<'_>> {
    let interface = interface.filter(|t| t.is_object())?;
    let field = |id: &'static str, key: &str| match interface.get(key).and_then(Value::as_str) {
        Some(text) => Component::text(id, text),
        None => Component::new(id),
    };
    Some(Component::with_children(
        "template",
        vec![
            field("filename", "filename"),
            field("context-line", "context_line"),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn hashes_file_and_line_as_sent() {
        let interface = json!({"filename": "Orders/Detail.html", "abs_path": "/srv/t/Orders/Detail.html",
                               "lineno": 12, "context_line": "  {{ order.total|money }}"});
        let c = template(Some(&interface)).unwrap();
        assert!(c.contributes());
        assert_eq!(
            c.contributing_values(),
            vec!["Orders/Detail.html", "  {{ order.total|money }}"]
        );
    }

    #[test]
    fn an_empty_or_missing_interface_does_not_contribute() {
        assert!(!template(Some(&json!({"lineno": 3}))).unwrap().contributes());
        assert!(template(Some(&json!("broken"))).is_none());
        assert!(template(None).is_none());
    }
}

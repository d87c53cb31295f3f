//! CSP violation reports: title, culprit, tags and the `csp` interface, as Relay makes them.
//!
//! ```text
//! effective-directive script-src-elem, blocked-uri https://evil.example/x.js
//!   → "Blocked 'script' from 'evil.example'", tags blocked-uri, blocked-host evil.example
//! effective-directive script-src, blocked-uri inline → "Blocked unsafe inline 'script'"
//! effective-directive style-src, blocked-uri ""      → "Blocked inline 'style'"
//! violated-directive "style-src http://example.com" on http://example.com/foo
//!   → culprit "style-src 'self'"
//! ```

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use super::{Parts, ReportError, count_field, string_field};

/// The directives Relay knows; a report naming none of them is refused.
const DIRECTIVES: [&str; 32] = [
    "base-uri",
    "child-src",
    "connect-src",
    "default-src",
    "fenced-frame-src",
    "font-src",
    "form-action",
    "frame-ancestors",
    "frame-src",
    "img-src",
    "manifest-src",
    "media-src",
    "object-src",
    "plugin-types",
    "prefetch-src",
    "referrer",
    "script-src",
    "script-src-attr",
    "script-src-elem",
    "style-src",
    "style-src-elem",
    "style-src-attr",
    "upgrade-insecure-requests",
    "worker-src",
    "sandbox",
    "navigate-to",
    "report-uri",
    "report-to",
    "block-all-mixed-content",
    "require-sri-for",
    "require-trusted-types-for",
    "trusted-types",
];

/// The fields of a report, under each spelling: `csp-report` (kebab-case), the Reporting API's
/// body (camelCase), and the interface's own (snake_case).
const EFFECTIVE: &[&str] = &[
    "effective-directive",
    "effectiveDirective",
    "effective_directive",
];
const BLOCKED: &[&str] = &["blocked-uri", "blockedURL", "blocked_uri"];
const DOCUMENT: &[&str] = &["document-uri", "documentURL", "document_uri"];
const POLICY: &[&str] = &["original-policy", "originalPolicy", "original_policy"];
const REFERRER: &[&str] = &["referrer"];
const STATUS: &[&str] = &["status-code", "statusCode", "status_code"];
const VIOLATED: &[&str] = &[
    "violated-directive",
    "violatedDirective",
    "violated_directive",
];
const SOURCE: &[&str] = &["source-file", "sourceFile", "source_file"];
const LINE: &[&str] = &["line-number", "lineNumber", "line_number"];
const COLUMN: &[&str] = &["column-number", "columnNumber", "column_number"];
const SAMPLE: &[&str] = &["script-sample", "scriptSample", "sample", "script_sample"];
const DISPOSITION: &[&str] = &["disposition"];

const KNOWN: [&[&str]; 12] = [
    EFFECTIVE,
    BLOCKED,
    DOCUMENT,
    POLICY,
    REFERRER,
    STATUS,
    VIOLATED,
    SOURCE,
    LINE,
    COLUMN,
    SAMPLE,
    DISPOSITION,
];

/// One CSP report body (the object under `csp-report`, or a Reporting API report's `body`).
pub(super) fn event_parts(raw: &Map<String, Value>) -> Result<Parts, ReportError> {
    // An absent blocked URI means the document itself.
    let blocked_uri = string_field(raw, BLOCKED)?.unwrap_or_else(|| "self".to_owned());
    let violated = string_field(raw, VIOLATED)?.unwrap_or_default();
    let document_uri = string_field(raw, DOCUMENT)?;
    let referrer = string_field(raw, REFERRER)?;
    let directive = effective_directive(string_field(raw, EFFECTIVE)?.as_deref(), &violated)?;

    let mut interface = Map::new();
    interface.insert("effective_directive".into(), json!(directive));
    interface.insert("blocked_uri".into(), json!(blocked_uri));
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            interface.insert(key.into(), value);
        }
    };
    put("document_uri", document_uri.clone().map(Value::from));
    put(
        "original_policy",
        string_field(raw, POLICY)?.map(Value::from),
    );
    put("referrer", referrer.clone().map(Value::from));
    put("status_code", count_field(raw, STATUS)?.map(Value::from));
    put("violated_directive", Some(json!(violated)));
    put("source_file", string_field(raw, SOURCE)?.map(Value::from));
    put("line_number", count_field(raw, LINE)?.map(Value::from));
    put("column_number", count_field(raw, COLUMN)?.map(Value::from));
    put("script_sample", string_field(raw, SAMPLE)?.map(Value::from));
    put(
        "disposition",
        string_field(raw, DISPOSITION)?.map(Value::from),
    );
    for (key, value) in raw {
        if !KNOWN.iter().any(|names| names.contains(&key.as_str())) {
            interface.insert(key.clone(), value.clone());
        }
    }

    let mut tags = vec![
        ("effective-directive", directive.to_owned()),
        ("blocked-uri", sanitized_blocked_uri(&blocked_uri)),
    ];
    if let Ok(url) = url::Url::parse(&blocked_uri)
        && matches!(url.scheme(), "http" | "https")
        && let Some(host) = url.host_str()
    {
        tags.push(("blocked-host", host.to_owned()));
    }
    Ok(Parts {
        message: message(directive, &blocked_uri),
        culprit: Some(culprit(&violated, document_uri.as_deref().unwrap_or(""))),
        tags,
        url: document_uri,
        referrer,
        interface,
    })
}

/// The effective directive, else (Firefox sends none) the violated one's first word; each may
/// carry the policy's source list after the name (CSP2).
fn effective_directive(
    effective: Option<&str>,
    violated: &str,
) -> Result<&'static str, ReportError> {
    let known = |raw: &str| {
        let name = raw.split_once(' ').map_or(raw, |(name, _)| name);
        DIRECTIVES.iter().copied().find(|d| *d == name)
    };
    effective
        .and_then(known)
        .or_else(|| known(violated))
        .ok_or_else(|| ReportError::invalid("no known effective or violated directive"))
}

/// `''`, `self` and `'self'` all mean the document's own origin.
pub fn is_local(uri: &str) -> bool {
    matches!(uri, "" | "self" | "'self'")
}

/// Sentry's normalized blocked URI: `'self'` for the document, the host (and port) of an
/// http(s) URL, `scheme:` (or `scheme://host`) for the rest; a bare word is taken for a
/// scheme (`data` → `data:`, `inline` → `inline:`).
pub fn normalize_uri(value: &str) -> Cow<'_, str> {
    if is_local(value) {
        return Cow::Borrowed("'self'");
    }
    if !value.contains(':') {
        return Cow::Owned(unsplit(value, ""));
    }
    let Ok(url) = url::Url::parse(value) else {
        return Cow::Borrowed(value);
    };
    let host = url.host_str().unwrap_or_default();
    let normalized = match url.scheme() {
        "http" | "https" => host.to_owned(),
        scheme => unsplit(scheme, host),
    };
    Cow::Owned(match url.port() {
        Some(port) => format!("{normalized}:{port}"),
        None => normalized,
    })
}

/// Python's `urlunsplit((scheme, host, "", "", ""))`, quirks included: schemes that carry a
/// host get `//` even without one.
fn unsplit(scheme: &str, host: &str) -> String {
    const WITH_HOST: [&str; 24] = [
        "ftp", "http", "gopher", "nntp", "telnet", "imap", "wais", "file", "mms", "https", "shttp",
        "snews", "prospero", "rtsp", "rtspu", "rsync", "svn", "svn+ssh", "sftp", "nfs", "git",
        "git+ssh", "ws", "wss",
    ];
    if !host.is_empty() || WITH_HOST.contains(&scheme) {
        format!("{scheme}://{host}")
    } else if !scheme.is_empty() {
        format!("{scheme}:{host}")
    } else {
        String::new()
    }
}

/// The event's title.
fn message(directive: &str, blocked_uri: &str) -> String {
    // CSP3 names the blocked script exactly: `inline` or `eval`.
    if directive == "script-src" {
        match blocked_uri {
            "inline" => return "Blocked unsafe inline 'script'".into(),
            "eval" => return "Blocked unsafe eval() 'script'".into(),
            _ => {}
        }
    }
    if is_local(blocked_uri) {
        return match directive {
            "child-src" => "Blocked inline 'child'".into(),
            "connect-src" => "Blocked inline 'connect'".into(),
            "font-src" => "Blocked inline 'font'".into(),
            "img-src" => "Blocked inline 'image'".into(),
            "manifest-src" => "Blocked inline 'manifest'".into(),
            "media-src" => "Blocked inline 'media'".into(),
            "object-src" => "Blocked inline 'object'".into(),
            "script-src-attr" => "Blocked unsafe 'script' element".into(),
            "script-src-elem" => "Blocked inline script attribute".into(),
            "style-src" => "Blocked inline 'style'".into(),
            "style-src-elem" => "Blocked 'style' or 'link' element".into(),
            "style-src-attr" => "Blocked style attribute".into(),
            "script-src" => "Blocked unsafe (eval() or inline) 'script'".into(),
            other => format!("Blocked inline '{other}'"),
        };
    }
    let uri = normalize_uri(blocked_uri);
    match directive {
        "child-src" => format!("Blocked 'child' from '{uri}'"),
        "connect-src" => format!("Blocked 'connect' from '{uri}'"),
        "font-src" => format!("Blocked 'font' from '{uri}'"),
        "form-action" => format!("Blocked 'form' action to '{uri}'"),
        "img-src" => format!("Blocked 'image' from '{uri}'"),
        "manifest-src" => format!("Blocked 'manifest' from '{uri}'"),
        "media-src" => format!("Blocked 'media' from '{uri}'"),
        "object-src" => format!("Blocked 'object' from '{uri}'"),
        "script-src" | "script-src-elem" => format!("Blocked 'script' from '{uri}'"),
        "script-src-attr" => format!("Blocked inline script attribute from '{uri}'"),
        "style-src" | "style-src-elem" => format!("Blocked 'style' from '{uri}'"),
        "style-src-attr" => format!("Blocked style attribute from '{uri}'"),
        other => format!("Blocked '{other}' from '{uri}'"),
    }
}

/// The violated directive, its sources that name the document's origin written `'self'`.
fn culprit(violated: &str, document_uri: &str) -> String {
    let mut words = violated.split_ascii_whitespace();
    let Some(name) = words.next() else {
        return String::new();
    };
    let document = normalize_uri(document_uri);
    let mut culprit = name.to_owned();
    for source in words {
        culprit.push(' ');
        culprit.push_str(&normalize_source(source, &document, document_uri));
    }
    culprit
}

/// One source of a violated directive, as Sentry shows it.
fn normalize_source<'a>(value: &'a str, document: &str, document_uri: &str) -> Cow<'a, str> {
    if matches!(
        value,
        "'none'" | "'self'" | "'unsafe-inline'" | "'unsafe-eval'"
    ) {
        return Cow::Borrowed(value);
    }
    let schemes = [
        "data:",
        "mediastream:",
        "blob:",
        "filesystem:",
        "http:",
        "https:",
        "file:",
    ];
    if schemes.iter().any(|s| value.starts_with(s)) {
        // Firefox spells `'self'` out as the document's origin.
        return if normalize_uri(value) == document {
            Cow::Borrowed("'self'")
        } else {
            Cow::Borrowed(value)
        };
    }
    if value == document {
        return Cow::Borrowed("'self'");
    }
    // A source without a scheme has the document's; only unusual schemes are written out.
    match document_uri.split_once(':').map(|(scheme, _)| scheme) {
        None | Some("http" | "https") => Cow::Borrowed(value),
        Some(scheme) => Cow::Owned(unsplit(scheme, value)),
    }
}

/// Stripe puts card data in query strings: its URLs are tagged without them.
fn sanitized_blocked_uri(uri: &str) -> String {
    if uri.starts_with("https://api.stripe.com/")
        && let Some(at) = uri.find(['#', '?'])
    {
        return uri[..at].to_owned();
    }
    uri.to_owned()
}

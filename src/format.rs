//! Small pure text helpers the web UI, the REST API and alerts share: URL encoding, UTC
//! times, links that are safe to show, and reading one field of decoded pairs.

/// A field of a form or query string read as pairs (forms with repeated fields: `ids`,
/// `scope`; query strings with repeated `id` or `project`).
pub fn field<'f>(form: &'f [(String, String)], name: &str) -> Option<&'f str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `application/x-www-form-urlencoded` encoding of one value (for links built from queries).
pub fn url_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// UTC `2026-11-22 10:04:05` from unix milliseconds.
pub fn utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// `url` (trimmed) if it may become a link: `http://` or `https://` only, never
/// `javascript:`, `data:` or scheme-relative `//host`.
pub fn safe_link(url: &str) -> Option<String> {
    let url = url.trim();
    let has = |scheme: &str| {
        url.get(..scheme.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
    };
    (has("http://") || has("https://")).then(|| url.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_links() {
        assert_eq!(
            safe_link("https://x.io/a").as_deref(),
            Some("https://x.io/a")
        );
        assert_eq!(safe_link("HTTP://X").as_deref(), Some("HTTP://X"));
        assert_eq!(
            safe_link("  https://x.io ").as_deref(),
            Some("https://x.io")
        );
        for bad in [
            "javascript:alert(1)",
            " javascript:x",
            "JaVaScRiPt:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "//evil.com",
            "/relative",
            "http:/x",
            "httpx://x",
            "",
            "é",
        ] {
            assert_eq!(safe_link(bad), None, "{bad}");
        }
    }
}

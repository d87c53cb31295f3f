//! Secrets: settings that must not show up in logs ([`Secret`]), and comparing secrets (CSRF
//! tokens, the metrics token) without telling by the time taken how much of a guess was right.

/// A setting that holds a secret (a token, a URL with a password): `Debug` prints
/// `[redacted]`, so printing a `Config` leaks nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret(s.to_owned())
    }
}

/// Whether `given` equals `expected`, in time that depends only on their lengths.
pub fn same_secret(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_do_not_print() {
        let url = super::Secret::from("smtps://user:hunter2@mail.example.com");
        assert_eq!(format!("{url:?}"), "[redacted]");
        assert_eq!(url.expose(), "smtps://user:hunter2@mail.example.com");
        let mut config = crate::Config::for_tests("sqlite::memory:");
        config.mail.smtp_url = Some(url);
        config.metrics_token = Some("metrics-secret".into());
        let printed = format!("{config:?}");
        assert!(!printed.contains("hunter2") && !printed.contains("metrics-secret"));
    }

    #[test]
    fn equal_only_when_equal() {
        assert!(super::same_secret("abc", "abc"));
        assert!(!super::same_secret("abd", "abc"));
        assert!(!super::same_secret("ab", "abc"));
        assert!(!super::same_secret("", "abc"));
    }
}

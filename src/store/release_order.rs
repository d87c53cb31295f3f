//! Which of two releases is the later one, as Sentry decides whether an issue resolved in a
//! release regressed: by semantic version when both are `package@version` releases with a
//! semantic version, else by the order the releases were created (the caller's fallback).
//!
//! ```text
//! shop@2.10.0   vs shop@2.9.1      → later (2.10 > 2.9, whichever was created first)
//! shop@1.2      vs shop@1.2.0-rc.1 → later (a missing part is 0; a pre-release comes before)
//! app@1.4.0+42  vs app@1.4.0+41    → later (then the build: none < a number < other text)
//! app@1.2.3.10  vs app@1.2.3.9     → later (a fourth part, the revision)
//! web-4f2a9c    vs 1.0             → unknown: compare when each was created
//! ```
//! Sentry also asks that the project's last releases all follow semver; Snag looks only at
//! the two versions compared.

use std::cmp::Ordering;

use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;

/// The SQL function `snag_release_later(a, b)`: 1 when release `a` is later than `b`, 0 when
/// not, NULL when either is not a semantic version.
pub const SQL_FUNCTION: &str = "snag_release_later";

/// A release's place among semantic versions.
#[derive(Debug, PartialEq, Eq)]
struct Version {
    numbers: [u64; 4],
    pre: semver::Prerelease,
    build: Build,
}

/// A build after `+`, as Sentry orders them: none, then numbers (by value), then any other text.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Build {
    None,
    Number(u64),
    Text(String),
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let pre = match (self.pre.is_empty(), other.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => self.pre.cmp(&other.pre),
        };
        self.numbers
            .cmp(&other.numbers)
            .then(pre)
            .then_with(|| self.build.cmp(&other.build))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The version of a `package@version` release, when it is semantic (one to four numbers, an
/// optional pre-release after `-` and build after `+`).
fn semantic(release: &str) -> Option<Version> {
    let (_, version) = release.split_once('@')?;
    let (version, build) = match version.split_once('+') {
        Some((version, build)) => (version, Some(build)),
        None => (version, None),
    };
    let (core, pre) = match version.split_once('-') {
        Some((core, pre)) => (
            core,
            semver::Prerelease::new(pre)
                .ok()
                .filter(|p| !p.is_empty())?,
        ),
        None => (version, semver::Prerelease::EMPTY),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let mut numbers = [0u64; 4];
    for (slot, part) in numbers.iter_mut().zip(&parts) {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = part.parse().ok()?;
    }
    let build = match build {
        None => Build::None,
        Some("") => return None,
        Some(b) => b
            .parse()
            .map_or_else(|_| Build::Text(b.to_owned()), Build::Number),
    };
    Some(Version {
        numbers,
        pre,
        build,
    })
}

/// Whether release `a` is later than `b`; `None` when the versions do not say.
pub fn later(a: &str, b: &str) -> Option<bool> {
    Some(semantic(a)? > semantic(b)?)
}

/// Makes [`SQL_FUNCTION`] callable on `conn`.
pub fn install(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        SQL_FUNCTION,
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let a: Option<String> = ctx.get(0)?;
            let b: Option<String> = ctx.get(1)?;
            Ok(match (a, b) {
                (Some(a), Some(b)) => later(&a, &b),
                _ => None,
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semantic_versions_order_by_their_numbers_then_pre_release_then_build() {
        assert_eq!(later("shop@2.10.0", "shop@2.9.1"), Some(true));
        assert_eq!(later("shop@2.9.1", "shop@2.10.0"), Some(false));
        assert_eq!(later("shop@1.2", "shop@1.2.0-rc.1"), Some(true));
        assert_eq!(later("shop@1.2.0-rc.2", "shop@1.2.0-rc.10"), Some(false));
        assert_eq!(later("shop@3", "shop@2.99.99"), Some(true));
        assert_eq!(later("app@1.2.3.10", "app@1.2.3.9"), Some(true));
        assert_eq!(later("app@1.4.0+42", "app@1.4.0+41"), Some(true));
        assert_eq!(later("app@1.4.0+42", "app@1.4.0"), Some(true));
        assert_eq!(later("app@1.4.0+abc", "app@1.4.0+99"), Some(true));
        assert_eq!(later("app@1.4.0+9", "app@1.4.0+10"), Some(false));
        assert_eq!(later("shop@1.0.0", "shop@1.0.0"), Some(false));
    }

    #[test]
    fn other_versions_leave_it_to_creation_order() {
        for (a, b) in [
            ("web-4f2a9c", "shop@1.0"),
            ("1.0", "1.1"),
            ("shop@1..2", "shop@1.2"),
            ("shop@", "shop@1"),
            ("shop@1.x", "shop@1.0"),
            ("shop@1.2.3.4.5", "shop@1.0"),
            ("shop@1.0-", "shop@1.0"),
        ] {
            assert_eq!(later(a, b), None, "{a} vs {b}");
        }
    }

    #[test]
    fn sql_can_ask() {
        let conn = Connection::open_in_memory().unwrap();
        install(&conn).unwrap();
        let ask = |sql: &str| -> Option<bool> { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(
            ask("SELECT snag_release_later('a@2.10', 'a@2.9')"),
            Some(true)
        );
        assert_eq!(ask("SELECT snag_release_later('abc', 'a@2.9')"), None);
        assert_eq!(ask("SELECT snag_release_later(NULL, 'a@2.9')"), None);
    }
}

//! Which of two releases is the later one, as Sentry decides whether an issue resolved in a
//! release regressed: by semantic version when both versions are one, else by the order the
//! releases were created (the caller's fallback).
//!
//! ```text
//! shop@2.10.0  vs shop@2.9.1     → later (semver: 10 > 9, where creation order may say otherwise)
//! 1.2          vs 1.2.0-rc.1     → later (a missing part is 0; a pre-release comes before)
//! web-4f2a9c   vs 1.0            → unknown: compare when each was created
//! ```
//! A version is what follows the last `@` (Sentry's `package@version`), with a build after `+`
//! ignored for order, as semver does.

use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;

/// The SQL function `snag_release_later(a, b)`: 1 when release `a` is later than `b`, 0 when
/// not, NULL when either is not a semantic version.
pub const SQL_FUNCTION: &str = "snag_release_later";

/// The version of a release as semver, when it is one (`1`, `1.2` and `1.2.3` with optional
/// pre-release and build).
fn semantic(release: &str) -> Option<semver::Version> {
    let version = release.rsplit('@').next().unwrap_or(release);
    let version = version.strip_prefix('v').unwrap_or(version);
    let core_end = version.find(['-', '+']).unwrap_or(version.len());
    let (core, rest) = version.split_at(core_end);
    let parts = core.split('.').count();
    if core.is_empty()
        || parts > 3
        || !core
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let padded = format!("{core}{}{rest}", ".0".repeat(3 - parts));
    semver::Version::parse(&padded).ok()
}

/// Whether release `a` is later than `b`; `None` when the versions do not say.
pub fn later(a: &str, b: &str) -> Option<bool> {
    Some(semantic(a)?.cmp_precedence(&semantic(b)?).is_gt())
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
    fn semantic_versions_order_by_their_numbers() {
        assert_eq!(later("shop@2.10.0", "shop@2.9.1"), Some(true));
        assert_eq!(later("shop@2.9.1", "shop@2.10.0"), Some(false));
        assert_eq!(later("1.2", "1.2.0-rc.1"), Some(true));
        assert_eq!(later("1.2.0-rc.2", "1.2.0-rc.10"), Some(false));
        assert_eq!(later("v3", "2.99.99"), Some(true));
        assert_eq!(
            later("1.0.0+build.7", "1.0.0+build.3"),
            Some(false),
            "the build does not order"
        );
        assert_eq!(later("1.0.0", "1.0.0"), Some(false));
    }

    #[test]
    fn other_versions_leave_it_to_creation_order() {
        for (a, b) in [
            ("web-4f2a9c", "1.0"),
            ("1.0", "2026.12.03.1"),
            ("1..2", "1.2"),
            ("", "1"),
            ("1.x", "1.0"),
        ] {
            assert_eq!(later(a, b), None, "{a} vs {b}");
        }
    }

    #[test]
    fn sql_can_ask() {
        let conn = Connection::open_in_memory().unwrap();
        install(&conn).unwrap();
        let ask = |sql: &str| -> Option<bool> { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(ask("SELECT snag_release_later('2.10', '2.9')"), Some(true));
        assert_eq!(ask("SELECT snag_release_later('abc', '2.9')"), None);
        assert_eq!(ask("SELECT snag_release_later(NULL, '2.9')"), None);
    }
}

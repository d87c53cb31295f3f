//! Glob matching against long inputs: the time per input character must stay flat as the
//! input grows (linear matching), for patterns that make backtracking matchers quadratic or
//! exponential. A benchmark, not a test: `cargo bench --bench globs` prints the table the
//! README shows.

use std::time::{Duration, Instant};

use snag::grouping::glob::{Glob, GlobOptions};

/// Patterns known to hurt naive matchers, the unit their input repeats and the tail it ends
/// with: the tail carries every literal of the pattern (so no prefilter turns the input away)
/// and makes the match fail at the very end (so the whole input is walked).
const CASES: [(&str, bool, &str, &str); 6] = [
    // The built-in rule that took 21.7 s on a 250,000-character package before.
    ("**.app/Contents/**", true, "a", ".app/Contents"),
    ("*a*a*a*a*a*a*a*a*b", false, "a", "bc"),
    ("**/**/**/**/**/x", true, "a/", "xy"),
    ("*?*?*?*?*?*?z", false, "ab", "zq"),
    ("{*a*,*b*,*c*}*d", false, "abc", "de"),
    ("**/*.py", true, "dir/", "x.pyc"),
];

fn time(mut f: impl FnMut() -> bool) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        std::hint::black_box(f());
        best = best.min(start.elapsed());
    }
    best
}

fn main() {
    println!(
        "| pattern | engine | ns per character at 1,000 / 10,000 / 100,000 / 250,000 characters |"
    );
    println!("|---|---|---|");
    for (pattern, path, unit, tail) in CASES {
        for engine in ["stack-trace rules", "fingerprint rules"] {
            let mut cells = Vec::new();
            for len in [1_000usize, 10_000, 100_000, 250_000] {
                let value = unit.repeat(len / unit.len()) + tail;
                let options = match (engine, path) {
                    ("stack-trace rules", true) => GlobOptions::STACK_PATH,
                    ("stack-trace rules", false) => GlobOptions::STACK_PLAIN,
                    (_, true) => GlobOptions::FINGERPRINT_PATH,
                    (_, false) => GlobOptions::FINGERPRINT_CASELESS,
                };
                // Compiled each time, as a rule text would be, and the value normalized.
                let took = time(|| Glob::new(pattern, options).unwrap().is_match(&value));
                cells.push(format!("{:.1}", took.as_nanos() as f64 / len as f64));
            }
            println!("| `{pattern}` | {engine} | {} |", cells.join(" / "));
        }
    }
}

//! Glob matching against long inputs: the time per input character must stay flat as the
//! input grows (linear matching), for patterns that make backtracking matchers quadratic or
//! exponential. A benchmark, not a test: `cargo bench --bench globs` prints the table the
//! README shows.

use std::time::{Duration, Instant};

use snag::grouping::{fingerprint_rules, rules};

/// Patterns known to hurt naive matchers, with the input each is matched against (repeated).
const CASES: [(&str, bool, &str); 6] = [
    // The built-in rule that took 21.7 s on a 250,000-character package before.
    ("**.app/Contents/**", true, "a"),
    ("*a*a*a*a*a*a*a*a*b", false, "a"),
    ("**/**/**/**/**/x", true, "a/"),
    ("*?*?*?*?*?*?z", false, "ab"),
    ("{*a*,*b*,*c*}*d", false, "abc"),
    ("**/*.py", true, "dir/"),
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
    for (pattern, path, unit) in CASES {
        for engine in ["stack-trace rules", "fingerprint rules"] {
            let mut cells = Vec::new();
            for len in [1_000usize, 10_000, 100_000, 250_000] {
                let value = unit.repeat(len / unit.len());
                let took = match engine {
                    "stack-trace rules" => {
                        time(|| rules::glob_is_match(pattern, path, &value).unwrap())
                    }
                    _ => time(|| {
                        fingerprint_rules::glob_is_match(pattern, path, &value).unwrap_or(false)
                    }),
                };
                cells.push(format!("{:.1}", took.as_nanos() as f64 / len as f64));
            }
            println!("| `{pattern}` | {engine} | {} |", cells.join(" / "));
        }
    }
}

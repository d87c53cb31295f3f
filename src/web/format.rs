//! Small pure formatting helpers only pages use: relative times, counts, sparklines and charts
//! (URL encoding and UTC times, which the API and alerts use too, are in [`crate::format`]).

/// "just now", "5 minutes ago", "3 days ago"… from unix milliseconds.
pub fn ago(then_ms: i64, now_ms: i64) -> String {
    let seconds = (now_ms - then_ms).max(0) / 1000;
    let (n, unit) = match seconds {
        0..60 => return "just now".into(),
        60..3600 => (seconds / 60, "minute"),
        3600..86_400 => (seconds / 3600, "hour"),
        86_400..2_592_000 => (seconds / 86_400, "day"),
        2_592_000..31_536_000 => (seconds / 2_592_000, "month"),
        _ => (seconds / 31_536_000, "year"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// 1234 → "1.2k", 5_600_000 → "5.6M".
pub fn count(n: i64) -> String {
    match n {
        ..1000 => n.to_string(),
        1000..1_000_000 => format!("{:.1}k", n as f64 / 1e3).replace(".0k", "k"),
        _ => format!("{:.1}M", n as f64 / 1e6).replace(".0M", "M"),
    }
}

/// One bar of a chart, in the SVG's coordinates (`viewBox="0 0 {width} {height}"`).
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    /// Tooltip: the bucket's count and when.
    pub label: String,
}

/// Bars for `counts` (oldest first) in a `width` × `height` box, the tallest filling it; empty
/// buckets get a 1-unit stub so the axis stays visible.
pub fn bars(counts: &[i64], width: f64, height: f64, labels: &[String]) -> Vec<Bar> {
    let max = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let slot = width / counts.len().max(1) as f64;
    counts
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let h = if n == 0 {
                1.0
            } else {
                (n as f64 / max * height).max(2.0)
            };
            // One decimal is plenty for an SVG coordinate and keeps the markup short.
            let round = |v: f64| (v * 10.0).round() / 10.0;
            Bar {
                x: round(i as f64 * slot + slot * 0.1),
                y: round(height - h),
                width: round(slot * 0.8),
                height: round(h),
                label: match labels.get(i) {
                    Some(l) => format!("{n} events, {l}"),
                    None => format!("{n} events"),
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        let now = 1_800_000_000_000;
        assert_eq!(ago(now - 5_000, now), "just now");
        assert_eq!(ago(now - 60_000, now), "1 minute ago");
        assert_eq!(ago(now - 3 * 3_600_000, now), "3 hours ago");
        assert_eq!(ago(now - 40 * 86_400_000, now), "1 month ago");
        assert_eq!(ago(now + 10_000, now), "just now");
    }

    #[test]
    fn counts_and_bars() {
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1k");
        assert_eq!(count(1250), "1.2k");
        assert_eq!(count(5_600_000), "5.6M");
        let b = bars(&[0, 5, 10], 30.0, 10.0, &[]);
        assert_eq!(b.len(), 3);
        assert_eq!((b[2].y, b[2].height), (0.0, 10.0));
        assert_eq!(b[0].height, 1.0);
        assert_eq!(b[1].height, 5.0);
        assert!(bars(&[], 10.0, 10.0, &[]).is_empty());
    }
}

//! A monitor's timeline: its runs over the last 24 hours, 7 days or 30 days in equal buckets,
//! each marked by the worst of its runs, with their counts and mean duration, as Sentry's
//! crons timeline shows them.
//!
//! ```text
//! span   buckets   each
//! 24h    24        1 hour
//! 7d     56        3 hours
//! 30d    60        12 hours
//! ```
//!
//! Built from the hourly tallies (`monitor_hours`), so a month of minute runs of a thousand
//! monitors is read as hours, never as runs.

use super::check_in::CheckInStatus;
use crate::store::monitors::HourTally;
use crate::time::HOUR_MS;

/// How far back a timeline looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Span {
    #[default]
    Day,
    Week,
    Month,
}

impl Span {
    pub const ALL: [Span; 3] = [Span::Day, Span::Week, Span::Month];

    /// `24h`, `7d` or `30d` (anything else: the default, a day).
    pub fn parse(s: &str) -> Span {
        Span::ALL
            .into_iter()
            .find(|span| span.as_str() == s)
            .unwrap_or_default()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Span::Day => "24h",
            Span::Week => "7d",
            Span::Month => "30d",
        }
    }

    /// Hours per mark.
    pub fn bucket_hours(self) -> i64 {
        match self {
            Span::Day => 1,
            Span::Week => 3,
            Span::Month => 12,
        }
    }

    fn buckets(self) -> i64 {
        match self {
            Span::Day => 24,
            Span::Week => 56,
            Span::Month => 60,
        }
    }

    /// The first hour the timeline shows, ending with the hour of `now_ms`.
    pub fn first_hour(self, now_ms: i64) -> i64 {
        now_ms.div_euclid(HOUR_MS) + 1 - self.buckets() * self.bucket_hours()
    }
}

/// The runs of one bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mark {
    pub start_ms: i64,
    pub end_ms: i64,
    /// Runs by status, in [`CheckInStatus::ALL`]'s order.
    pub counts: [i64; 5],
    pub duration_sum: i64,
    pub duration_count: i64,
    pub duration_max: i64,
}

impl Mark {
    /// The status the bucket shows: the worst of its runs (none: no run).
    pub fn worst(&self) -> Option<CheckInStatus> {
        [
            CheckInStatus::Error,
            CheckInStatus::Timeout,
            CheckInStatus::Missed,
            CheckInStatus::InProgress,
            CheckInStatus::Ok,
        ]
        .into_iter()
        .find(|s| self.count(*s) > 0)
    }

    pub fn count(&self, status: CheckInStatus) -> i64 {
        let at = CheckInStatus::ALL
            .iter()
            .position(|s| *s == status)
            .expect("every status");
        self.counts[at]
    }

    /// The mean duration of the runs that reported one, in ms.
    pub fn mean_duration(&self) -> Option<i64> {
        (self.duration_count > 0).then(|| self.duration_sum / self.duration_count)
    }

    /// "3 ok, 1 missed" (or "no runs").
    pub fn summary(&self) -> String {
        let parts: Vec<String> = CheckInStatus::ALL
            .into_iter()
            .filter(|s| self.count(*s) > 0)
            .map(|s| format!("{} {}", self.count(s), s.as_str().replace('_', " ")))
            .collect();
        if parts.is_empty() {
            "no runs".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

/// The marks of `span` ending now, from the tallies of one or more environments.
pub fn marks(span: Span, now_ms: i64, tallies: &[HourTally]) -> Vec<Mark> {
    let first = span.first_hour(now_ms);
    let per = span.bucket_hours();
    let mut marks: Vec<Mark> = (0..span.buckets())
        .map(|n| Mark {
            start_ms: (first + n * per) * HOUR_MS,
            end_ms: (first + (n + 1) * per) * HOUR_MS,
            ..Mark::default()
        })
        .collect();
    for t in tallies {
        let Ok(at) = usize::try_from((t.hour - first).div_euclid(per)) else {
            continue;
        };
        let Some(mark) = marks.get_mut(at) else {
            continue;
        };
        for (slot, n) in
            mark.counts
                .iter_mut()
                .zip([t.ok, t.error, t.missed, t.timeout, t.in_progress])
        {
            *slot += n;
        }
        mark.duration_sum += t.duration_sum;
        mark.duration_count += t.duration_count;
        mark.duration_max = mark.duration_max.max(t.duration_max);
    }
    marks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(hour: i64, ok: i64, missed: i64, duration: i64) -> HourTally {
        HourTally {
            hour,
            ok,
            missed,
            duration_sum: duration * ok,
            duration_count: ok,
            duration_max: duration,
            ..HourTally::default()
        }
    }

    #[test]
    fn a_day_has_an_hour_per_mark_ending_with_the_current_hour() {
        let now = 1_000 * HOUR_MS + 30 * 60_000;
        let marks = marks(
            Span::Day,
            now,
            &[
                tally(1_000, 2, 0, 500),
                tally(977, 1, 1, 100),
                tally(976, 9, 0, 1),
            ],
        );
        assert_eq!(marks.len(), 24);
        assert_eq!(marks[0].start_ms, 977 * HOUR_MS);
        assert_eq!(marks[23].end_ms, 1_001 * HOUR_MS);
        assert_eq!(marks[23].worst(), Some(CheckInStatus::Ok));
        assert_eq!(marks[23].mean_duration(), Some(500));
        assert_eq!(marks[0].worst(), Some(CheckInStatus::Missed));
        assert_eq!(marks[0].summary(), "1 ok, 1 missed");
        assert_eq!(marks[5].worst(), None);
        assert_eq!(marks[5].summary(), "no runs");
    }

    #[test]
    fn longer_spans_add_hours_into_wider_marks() {
        let now = 1_000 * HOUR_MS;
        let week = marks(
            Span::Week,
            now,
            &[
                tally(1_000, 1, 0, 10),
                tally(999, 1, 0, 30),
                tally(998, 0, 1, 0),
            ],
        );
        assert_eq!(week.len(), 56);
        let last = &week[55];
        assert_eq!(
            (
                last.count(CheckInStatus::Ok),
                last.count(CheckInStatus::Missed)
            ),
            (2, 1)
        );
        assert_eq!((last.mean_duration(), last.duration_max), (Some(20), 30));
        assert_eq!(marks(Span::Month, now, &[]).len(), 60);
        assert_eq!(Span::parse("30d"), Span::Month);
        assert_eq!(Span::parse("nonsense"), Span::Day);
    }
}

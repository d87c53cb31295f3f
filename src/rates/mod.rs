//! Issue rates and the spike detector (DESIGN.md §5, ALERTS.md §5), and the quotas ingest
//! answers 429 with ([`quota`]). Pure and clock-injected: callers pass minute counts and the
//! current minute.
//!
//! ```text
//! minute counts ──▶ Window { current: c (last 5 min), baseline: λ = max(λ1h, λ24h, 0.2) }
//!               ──▶ spike ⇔ c ≥ min_count ∧ c ≥ ratio·λ ∧ (c − λ)/√λ ≥ z
//! condition over time ──▶ Episode: fire once, then cool down and re-arm only after the
//!                         condition was false once (a sustained new level alerts once)
//! ```

pub mod quota;

use crate::time;

/// Minute buckets are kept this long (then rolled up into hours): spike detection reads 25 h.
pub const MINUTES_KEPT: i64 = 48 * 60;

/// Minutes in the current window.
pub const WINDOW_MINUTES: i64 = 5;
/// Expected count per window never below this (about one event every 25 minutes).
const BASELINE_FLOOR: f64 = 0.2;

/// Counts around `now_minute` from an issue's minute buckets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Events in the last 5 minutes, the current (partial) minute included.
    pub current: i64,
    /// Expected events per 5-minute window: the larger of the previous hour's and the previous
    /// day's mean (over the part of them the issue existed), at least [`BASELINE_FLOOR`].
    pub baseline: f64,
    /// Minutes the issue existed before the current window (capped at a day).
    pub history_minutes: i64,
}

/// An issue needs this much history before its rate can be called a spike: before that it is
/// new (and the new-issue alert has told).
pub const MIN_HISTORY_MINUTES: i64 = 60;

impl Window {
    /// `minutes`: (minute, count) pairs in any order; those outside the last 25 hours are
    /// ignored. `first_minute`: when the issue was first seen.
    pub fn at(minutes: &[(i64, i64)], now_minute: i64, first_minute: i64) -> Window {
        let window_start = now_minute - WINDOW_MINUTES + 1;
        let (mut current, mut hour, mut day) = (0, 0, 0);
        for &(minute, count) in minutes {
            if minute > now_minute {
                continue;
            }
            if minute >= window_start {
                current += count;
            } else if minute >= window_start - time::MINUTES_PER_DAY {
                day += count;
                if minute >= window_start - 60 {
                    hour += count;
                }
            }
        }
        let history_minutes = (window_start - first_minute).clamp(0, time::MINUTES_PER_DAY);
        let per_window = |total: i64, span: i64| {
            let span = span.min(history_minutes);
            if span == 0 {
                0.0
            } else {
                total as f64 * WINDOW_MINUTES as f64 / span as f64
            }
        };
        Window {
            current,
            baseline: per_window(hour, 60)
                .max(per_window(day, time::MINUTES_PER_DAY))
                .max(BASELINE_FLOOR),
            history_minutes,
        }
    }

    /// How many times the usual rate the current window is.
    pub fn ratio(&self) -> f64 {
        self.current as f64 / self.baseline
    }
}

/// A project's spike thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpikeThresholds {
    pub min_count: i64,
    pub ratio: f64,
    pub z: f64,
}

impl Default for SpikeThresholds {
    fn default() -> Self {
        SpikeThresholds {
            min_count: 10,
            ratio: 4.0,
            z: 4.0,
        }
    }
}

/// The spike condition: enough events, several times the baseline, and far in its Poisson tail.
pub fn is_spike(window: Window, t: SpikeThresholds) -> bool {
    let (c, lambda) = (window.current as f64, window.baseline);
    window.history_minutes >= MIN_HISTORY_MINUTES
        && window.current >= t.min_count
        && c >= t.ratio * lambda
        && (c - lambda) / lambda.sqrt() >= t.z
}

/// "More than `count` events in `minutes` minutes".
pub fn more_than(minutes_counts: &[(i64, i64)], now_minute: i64, count: i64, minutes: i64) -> bool {
    let start = now_minute - minutes + 1;
    let seen: i64 = minutes_counts
        .iter()
        .filter(|(m, _)| (start..=now_minute).contains(m))
        .map(|(_, n)| n)
        .sum();
    seen > count
}

/// Where a rate rule stands for one issue: when it last fired, and whether it may fire again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Episode {
    pub last_fired_ms: Option<i64>,
    /// False from a firing until the condition has been false once.
    pub armed: bool,
}

impl Default for Episode {
    fn default() -> Self {
        Episode {
            last_fired_ms: None,
            armed: true,
        }
    }
}

impl Episode {
    /// The rule's condition now: whether to alert, and the state to keep.
    pub fn step(self, condition: bool, now_ms: i64, cooldown_ms: i64) -> (bool, Episode) {
        if !condition {
            return (
                false,
                Episode {
                    armed: true,
                    ..self
                },
            );
        }
        let cooled = self
            .last_fired_ms
            .is_none_or(|at| now_ms - at >= cooldown_ms);
        if self.armed && cooled {
            (
                true,
                Episode {
                    last_fired_ms: Some(now_ms),
                    armed: false,
                },
            )
        } else {
            (false, self)
        }
    }
}

#[cfg(test)]
mod tests;

//! The detector against simulated traffic: seeded Poisson arrivals, minute by minute.

use super::*;

/// xorshift64*: a small seeded generator, enough for simulated arrivals.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Poisson(λ) by Knuth's method for small λ, a rounded normal for large.
    fn poisson(&mut self, lambda: f64) -> i64 {
        if lambda > 30.0 {
            let (u1, u2) = (self.uniform().max(1e-12), self.uniform());
            let normal = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            return (lambda + normal * lambda.sqrt()).round().max(0.0) as i64;
        }
        let limit = (-lambda).exp();
        let (mut k, mut p) = (0, 1.0);
        loop {
            p *= self.uniform();
            if p <= limit {
                return k;
            }
            k += 1;
        }
    }
}

/// Minute by minute over `minutes`, the rate per minute given by `rate(minute)`; returns the
/// minutes (from the start) at which the spike alert fired.
fn simulate(seed: u64, minutes: i64, rate: impl Fn(i64) -> f64) -> Vec<i64> {
    let mut rng = Rng(seed);
    let mut counts: std::collections::VecDeque<(i64, i64)> = Default::default();
    let mut episode = Episode::default();
    let mut fired = Vec::new();
    for minute in 0..minutes {
        let n = rng.poisson(rate(minute));
        if n > 0 {
            counts.push_back((minute, n));
        }
        while counts.front().is_some_and(|(m, _)| *m < minute - 25 * 60) {
            counts.pop_front();
        }
        let buckets: Vec<(i64, i64)> = counts.iter().copied().collect();
        let spike = is_spike(Window::at(&buckets, minute, 0), SpikeThresholds::default());
        let (fire, next) = episode.step(spike, minute * 60_000, 30 * 60_000);
        episode = next;
        if fire {
            fired.push(minute);
        }
    }
    fired
}

const DAY: i64 = 24 * 60;

#[test]
fn steady_rates_never_alert() {
    for (seed, rate) in [
        (1, 0.01),
        (2, 0.1),
        (3, 1.0),
        (4, 5.0),
        (5, 20.0),
        (6, 100.0),
    ] {
        let fired = simulate(seed, 3 * DAY, |_| rate);
        assert!(fired.is_empty(), "{rate}/min alerted at {fired:?}");
    }
}

#[test]
fn a_daily_cycle_does_not_alert() {
    let fired = simulate(7, 3 * DAY, |m| {
        2.5 + 2.0 * (m as f64 * 2.0 * std::f64::consts::PI / DAY as f64).sin()
    });
    assert!(fired.is_empty(), "{fired:?}");
}

#[test]
fn a_tenfold_jump_is_caught_within_two_minutes_and_alerts_once() {
    let onset = 2 * DAY;
    let fired = simulate(8, 2 * DAY + 6 * 60, |m| if m < onset { 1.0 } else { 10.0 });
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert!(fired[0] >= onset && fired[0] <= onset + 2, "{fired:?}");
}

#[test]
fn a_silent_issue_bursting_is_caught_at_once() {
    // Seen once a day ago, quiet since: its first burst is a spike.
    let onset = DAY;
    let fired = simulate(9, DAY + 30, |m| {
        if (onset..onset + 5).contains(&m) {
            20.0
        } else {
            0.0
        }
    });
    assert_eq!(fired, vec![onset]);
}

#[test]
fn a_sustained_new_level_alerts_once() {
    let fired = simulate(10, 4 * DAY, |m| if m < DAY { 0.02 } else { 3.0 });
    assert_eq!(fired.len(), 1, "{fired:?}");
}

#[test]
fn windows_and_baselines() {
    // 5 in the current window, 60 over the hour before (5 per window), 10 more that day.
    let mut minutes = vec![(1000, 5)];
    minutes.extend((0..60).map(|i| (995 - i, 1)));
    minutes.push((100, 10));
    minutes.push((1001, 99)); // the future is ignored
    let w = Window::at(&minutes, 1000, 0);
    assert_eq!(w.current, 5);
    assert!((w.baseline - 5.0).abs() < 1e-9);
    assert!((w.ratio() - 1.0).abs() < 1e-9);
    assert_eq!(Window::at(&[], 1000, 0).baseline, 0.2);
    // An issue 30 minutes old: its hour's mean is over those 30 minutes, and it is too young
    // to spike.
    let young = Window::at(&[(980, 30), (1000, 12)], 1000, 966);
    assert_eq!(young.history_minutes, 30);
    assert!((young.baseline - 5.0).abs() < 1e-9);
    assert!(!is_spike(young, SpikeThresholds::default()));
    assert!(more_than(&[(998, 3), (1000, 3)], 1000, 5, 5));
    assert!(!more_than(&[(990, 3), (1000, 3)], 1000, 5, 5));
}

#[test]
fn cooldown_and_re_arming() {
    let cool = 30 * 60_000;
    let e = Episode::default();
    let (fire, e) = e.step(true, 0, cool);
    assert!(fire);
    // Still spiking: silent, whatever the time.
    let (fire, e) = e.step(true, 60 * 60_000, cool);
    assert!(!fire);
    // Quiet once re-arms, but the cooldown still holds...
    let (_, e) = e.step(false, 10 * 60_000, cool);
    let (fire, e) = e.step(true, 20 * 60_000, cool);
    assert!(!fire);
    // ...until it has passed.
    let (fire, _) = e.step(true, 31 * 60_000, cool);
    assert!(fire);
}

//! When a monitor's failures open an issue and when its recoveries resolve it, as Sentry
//! decides (its `failure_issue_threshold` and `recovery_threshold`).
//!
//! ```text
//! env status   check-in    last N finished runs          becomes
//! active / ok  failure     all failures (N = failures)   error: the incident opens (issue event)
//! active / ok  failure     fewer, or an ok among them    as it was
//! error        failure     –                             error: another event of the same issue
//! error        ok          all ok (N = recoveries)       ok: the issue is resolved
//! error        ok          otherwise                     error
//! active / ok  ok          –                             ok
//! ```
//!
//! A run still in progress is neither: it is left out of the last N.

use super::check_in::CheckInStatus;

/// A monitor's state in one environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvStatus {
    /// No run finished yet.
    Active,
    Ok,
    /// An incident is open.
    Error,
}

impl EnvStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EnvStatus::Active => "active",
            EnvStatus::Ok => "ok",
            EnvStatus::Error => "error",
        }
    }

    pub fn parse(status: &str) -> EnvStatus {
        match status {
            "ok" => EnvStatus::Ok,
            "error" => EnvStatus::Error,
            _ => EnvStatus::Active,
        }
    }
}

/// What a finished run does to the monitor's incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// No incident changes; the environment's status becomes this.
    Becomes(EnvStatus),
    /// The failures reached the threshold: an incident opens.
    Open,
    /// One more failure of the open incident.
    Continue,
    /// The recoveries reached the threshold: the incident ends.
    Recover,
}

/// What the run that just finished with `status` does, given the environment's status, its
/// thresholds and its newest finished runs (newest first, this one included).
pub fn after_run(
    env: EnvStatus,
    status: CheckInStatus,
    failure_threshold: u32,
    recovery_threshold: u32,
    newest_first: &[CheckInStatus],
) -> Transition {
    let last = |n: u32| {
        newest_first
            .iter()
            .filter(|s| **s != CheckInStatus::InProgress)
            .take(n as usize)
    };
    let full = |n: u32| last(n).count() >= n as usize;
    match (env, status.is_failure()) {
        (EnvStatus::Error, true) => Transition::Continue,
        (_, true) if full(failure_threshold) && last(failure_threshold).all(|s| s.is_failure()) => {
            Transition::Open
        }
        (env, true) => Transition::Becomes(env),
        (EnvStatus::Error, false)
            if full(recovery_threshold)
                && last(recovery_threshold).all(|s| *s == CheckInStatus::Ok) =>
        {
            Transition::Recover
        }
        (EnvStatus::Error, false) => Transition::Becomes(EnvStatus::Error),
        (_, false) => Transition::Becomes(EnvStatus::Ok),
    }
}

/// Why the monitor failed, in Sentry's words: "A missed check-in was detected", or the count
/// of each kind of failure ("2 missed and 1 error check-ins detected").
pub fn failure_reason(failures: &[CheckInStatus]) -> String {
    let count = |kind: CheckInStatus| failures.iter().filter(|s| **s == kind).count();
    let kinds: Vec<(usize, &str)> = [
        CheckInStatus::Missed,
        CheckInStatus::Timeout,
        CheckInStatus::Error,
    ]
    .into_iter()
    .map(|kind| (count(kind), kind.as_str()))
    .filter(|(n, _)| *n > 0)
    .collect();
    match kinds.as_slice() {
        [(1, kind)] => {
            let article = if *kind == "error" { "An" } else { "A" };
            format!("{article} {kind} check-in was detected")
        }
        [] => "A failed check-in was detected".to_owned(),
        many => {
            let parts: Vec<String> = many.iter().map(|(n, k)| format!("{n} {k}")).collect();
            let (last, rest) = parts.split_last().expect("not empty");
            if rest.is_empty() {
                format!("{last} check-ins detected")
            } else {
                format!("{} and {last} check-ins detected", rest.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::CheckInStatus::{Error, InProgress, Missed, Ok, Timeout};
    use super::*;

    #[test]
    fn failures_open_an_incident_at_the_threshold() {
        assert_eq!(
            after_run(EnvStatus::Active, Error, 1, 1, &[Error]),
            Transition::Open
        );
        assert_eq!(
            after_run(EnvStatus::Ok, Missed, 1, 1, &[Missed, Ok]),
            Transition::Open
        );
        // Two needed: one failure is not enough, an ok between breaks the run.
        assert_eq!(
            after_run(EnvStatus::Ok, Error, 2, 1, &[Error, Ok, Error]),
            Transition::Becomes(EnvStatus::Ok)
        );
        assert_eq!(
            after_run(EnvStatus::Active, Error, 2, 1, &[Error]),
            Transition::Becomes(EnvStatus::Active)
        );
        // A run still in progress does not count either way.
        assert_eq!(
            after_run(
                EnvStatus::Ok,
                Timeout,
                2,
                1,
                &[Timeout, InProgress, Error, Ok]
            ),
            Transition::Open
        );
        assert_eq!(
            after_run(EnvStatus::Error, Error, 2, 1, &[Error, Ok]),
            Transition::Continue
        );
    }

    #[test]
    fn oks_resolve_an_incident_at_the_threshold() {
        assert_eq!(
            after_run(EnvStatus::Error, Ok, 1, 1, &[Ok, Error]),
            Transition::Recover
        );
        assert_eq!(
            after_run(EnvStatus::Error, Ok, 1, 2, &[Ok, Error]),
            Transition::Becomes(EnvStatus::Error)
        );
        assert_eq!(
            after_run(EnvStatus::Error, Ok, 1, 2, &[Ok, InProgress, Ok, Error]),
            Transition::Recover
        );
        assert_eq!(
            after_run(EnvStatus::Active, Ok, 1, 3, &[Ok]),
            Transition::Becomes(EnvStatus::Ok)
        );
    }

    #[test]
    fn reasons_read_as_sentrys() {
        assert_eq!(failure_reason(&[Missed]), "A missed check-in was detected");
        assert_eq!(failure_reason(&[Error]), "An error check-in was detected");
        assert_eq!(
            failure_reason(&[Timeout]),
            "A timeout check-in was detected"
        );
        assert_eq!(
            failure_reason(&[Missed, Error, Missed]),
            "2 missed and 1 error check-ins detected"
        );
        assert_eq!(
            failure_reason(&[Error, Error]),
            "2 error check-ins detected"
        );
        assert_eq!(
            failure_reason(&[Missed, Timeout, Error]),
            "1 missed, 1 timeout and 1 error check-ins detected"
        );
    }
}

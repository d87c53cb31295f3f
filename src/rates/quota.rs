//! Quotas at ingest, counted in memory (the daily count is read back from the database after a
//! restart). Pure and clock-injected: callers pass the time.
//!
//! When several nodes share the database ([`Quotas::shared`]), each counts in memory against
//! shares it takes from the database's count of the window or day (all nodes together):
//! [`Refused::NeedShare`] tells the caller to take one (`Store::take_quota`, a few percent of
//! the limit at a time) and hand the answer to [`Quotas::add_share`]. The nodes together never
//! pass a limit; a node's unused share is at most a few percent of it at the window's end.
//!
//! ```text
//! event    ── key rate limit: N per window, fixed windows aligned to the epoch (as Relay's)
//!          └─ project daily cap: N per UTC day
//!             past either: 429, Retry-After = seconds to the window's end,
//!             X-Sentry-Rate-Limits: <secs>:default;error;security:key:key_quota
//!                                   <secs>:default;error;security:project:project_quota
//! attachment ─ project cap on stored bytes: the attachments are dropped,
//!             <secs>:attachment:project:attachment_quota
//! items Snag does not keep (transaction, span, profile, replay, …):
//!             200, <an hour>:transaction;span;…:organization:not_stored, so SDKs stop sending
//! ```

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::protocol::rate_limits::{RateLimit, Scope};
use crate::store::ProjectId;
use crate::store::quotas::KeyRateLimit;

/// Relay's error categories: what a key's or a project's event quota counts.
const EVENT_CATEGORIES: [&str; 3] = ["default", "error", "security"];

const DAY_SECS: i64 = 86_400;

/// How long SDKs are told to hold back what Snag does not keep, and attachments past their
/// project's cap (space comes back only as retention deletes).
pub const HOLD_BACK_SECS: u64 = 3_600;

/// An event taken from the quotas, to give back if it is not stored after all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    key: Option<(String, i64)>,
    day: Option<(ProjectId, i64)>,
}

#[derive(Debug, Default)]
pub struct Quotas {
    /// Per public key: (window number, events taken in it).
    windows: Mutex<HashMap<String, (i64, u64)>>,
    /// Per project: (UTC day number, events taken that day).
    days: Mutex<HashMap<ProjectId, (i64, u64)>>,
    /// Shares of the nodes' common counts this node holds, when nodes share the database.
    shares: Option<Mutex<HashMap<Share, Held>>>,
}

/// What a shared count is kept for: a key's rate-limit window or a project's day.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Share {
    Key(String),
    Day(ProjectId),
}

impl Share {
    /// The name of its count in the database.
    pub fn scope(&self) -> String {
        match self {
            Share::Key(key) => format!("key:{key}"),
            Share::Day(project) => format!("day:{project}"),
        }
    }
}

/// A node's share of one window (or day): events it may take, and whether the common count
/// has nothing left to give.
#[derive(Debug, Clone, Copy)]
struct Held {
    slot: i64,
    granted: u64,
    exhausted: bool,
}

/// A share to take from the database before this event can be counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedShare {
    pub share: Share,
    /// The window (or day) number.
    pub slot: i64,
    /// How many to ask for, and the limit of all nodes together.
    pub want: u64,
    pub limit: u64,
    /// When the window ends (unix seconds): its count can go then.
    pub ends_secs: i64,
}

/// Why an event was not taken.
#[derive(Debug, Clone, PartialEq)]
pub enum Refused {
    /// Past a limit: answer with it.
    Limited(RateLimit),
    /// This node's share is spent: take another, then ask again.
    NeedShare(NeedShare),
}

impl Refused {
    /// The limit, when it is one.
    pub fn limited(self) -> Option<RateLimit> {
        match self {
            Refused::Limited(limit) => Some(limit),
            Refused::NeedShare(_) => None,
        }
    }
}

/// How much of a shared limit a node takes at once: a fortieth, so that three nodes leave at
/// most 7.5% unused at a window's end, and a node asks the database once per 2.5% of it.
fn share_size(limit: u64) -> u64 {
    (limit / 40).max(1)
}

impl Quotas {
    /// Quotas for a node that shares its database with others.
    pub fn shared() -> Quotas {
        Quotas {
            shares: Some(Mutex::default()),
            ..Quotas::default()
        }
    }

    /// Whether nodes share the counts ([`Quotas::shared`]).
    pub fn is_shared(&self) -> bool {
        self.shares.is_some()
    }

    /// Adds what the database granted of `need` to this node's share (none granted: the
    /// window's limit is reached for every node).
    pub fn add_share(&self, need: &NeedShare, granted: u64) {
        let Some(shares) = &self.shares else {
            return;
        };
        let mut shares = shares.lock().unwrap_or_else(PoisonError::into_inner);
        let held = shares.entry(need.share.clone()).or_insert(Held {
            slot: need.slot,
            granted: 0,
            exhausted: false,
        });
        if held.slot != need.slot {
            *held = Held {
                slot: need.slot,
                granted: 0,
                exhausted: false,
            };
        }
        held.granted += granted;
        held.exhausted |= granted < need.want;
    }

    /// Whether `used` events of `share`'s `slot` may become one more: locally past `limit`
    /// is a refusal; when shared, past this node's share asks for another (or is refused
    /// when the common count is spent).
    fn check(
        &self,
        share: Share,
        slot: i64,
        used: u64,
        limit: u64,
        ends_secs: i64,
        refusal: impl FnOnce() -> RateLimit,
    ) -> Result<(), Refused> {
        if used >= limit {
            return Err(Refused::Limited(refusal()));
        }
        let Some(shares) = &self.shares else {
            return Ok(());
        };
        let held = shares
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&share)
            .copied()
            .filter(|h| h.slot == slot);
        match held {
            Some(h) if used < h.granted => Ok(()),
            Some(h) if h.exhausted => Err(Refused::Limited(refusal())),
            _ => Err(Refused::NeedShare(NeedShare {
                share,
                slot,
                want: share_size(limit),
                limit,
                ends_secs,
            })),
        }
    }

    /// Whether the project's count of `day` (unix days) is known here; if not, the caller
    /// reads it from the database and passes it to [`Quotas::seed_day`].
    pub fn knows_day(&self, project_id: ProjectId, now_secs: i64) -> bool {
        let day = now_secs.div_euclid(DAY_SECS);
        self.days
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&project_id)
            .is_some_and(|(d, _)| *d == day)
    }

    /// Starts the project's day at `received` events (unless another request did meanwhile).
    pub fn seed_day(&self, project_id: ProjectId, now_secs: i64, received: u64) {
        let day = now_secs.div_euclid(DAY_SECS);
        let mut days = self.days.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = days.entry(project_id).or_insert((day, received));
        if entry.0 != day {
            *entry = (day, received);
        }
    }

    /// Takes one event from the key's rate limit and the project's daily cap, from both or
    /// from neither; past either, the limit to answer with.
    pub fn take_event(
        &self,
        public_key: &str,
        rate: Option<KeyRateLimit>,
        project_id: ProjectId,
        daily_cap: Option<u64>,
        now_secs: i64,
    ) -> Result<Taken, Refused> {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let mut days = self.days.lock().unwrap_or_else(PoisonError::into_inner);
        let mut taken = Taken {
            key: None,
            day: None,
        };
        if let Some(rate) = rate {
            let window = rate.window_secs as i64;
            let slot = now_secs.div_euclid(window);
            let used = match windows.get(public_key) {
                Some((s, used)) if *s == slot => *used,
                _ => 0,
            };
            self.check(
                Share::Key(public_key.to_owned()),
                slot,
                used,
                rate.count,
                (slot + 1) * window,
                || event_limit(window, now_secs, Scope::Key, "key_quota"),
            )?;
            taken.key = Some((public_key.to_owned(), slot));
        }
        if let Some(cap) = daily_cap {
            let day = now_secs.div_euclid(DAY_SECS);
            let used = match days.get(&project_id) {
                Some((d, used)) if *d == day => *used,
                _ => 0,
            };
            self.check(
                Share::Day(project_id),
                day,
                used,
                cap,
                (day + 1) * DAY_SECS,
                || event_limit(DAY_SECS, now_secs, Scope::Project, "project_quota"),
            )?;
            taken.day = Some((project_id, day));
        }
        if let Some((key, slot)) = &taken.key {
            let entry = windows.entry(key.clone()).or_insert((*slot, 0));
            if entry.0 != *slot {
                *entry = (*slot, 0);
            }
            entry.1 += 1;
        }
        if let Some((project, day)) = taken.day {
            let entry = days.entry(project).or_insert((day, 0));
            if entry.0 != day {
                *entry = (day, 0);
            }
            entry.1 += 1;
        }
        Ok(taken)
    }

    /// Gives back an event that was taken but not stored (its write failed).
    pub fn give_back(&self, taken: Taken) {
        if let Some((key, slot)) = taken.key
            && let Some(entry) = self
                .windows
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_mut(&key)
            && entry.0 == slot
        {
            entry.1 = entry.1.saturating_sub(1);
        }
        if let Some((project, day)) = taken.day
            && let Some(entry) = self
                .days
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_mut(&project)
            && entry.0 == day
        {
            entry.1 = entry.1.saturating_sub(1);
        }
    }
}

/// The answer to an event past a quota of `window` seconds: wait until the window ends.
fn event_limit(window: i64, now_secs: i64, scope: Scope, reason: &'static str) -> RateLimit {
    RateLimit {
        retry_after_secs: (window - now_secs.rem_euclid(window)).max(1) as u64,
        categories: EVENT_CATEGORIES.to_vec(),
        scope,
        reason,
    }
}

/// Whether `incoming` attachment bytes fit the project's cap beside the `stored` ones.
pub fn attachments_fit(cap: Option<u64>, stored: u64, incoming: u64) -> Result<(), RateLimit> {
    match cap {
        Some(cap) if stored.saturating_add(incoming) > cap => Err(RateLimit {
            retry_after_secs: HOLD_BACK_SECS,
            categories: vec!["attachment"],
            scope: Scope::Project,
            reason: "attachment_quota",
        }),
        _ => Ok(()),
    }
}

/// The limit that tells SDKs to stop sending data of `categories`, which Snag does not keep.
pub fn not_stored(categories: &[&'static str]) -> Option<RateLimit> {
    let mut categories = categories.to_vec();
    categories.sort_unstable();
    categories.dedup();
    if categories.is_empty() {
        return None;
    }
    Some(RateLimit {
        retry_after_secs: HOLD_BACK_SECS,
        categories,
        scope: Scope::Organization,
        reason: "not_stored",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEN_PER_MINUTE: Option<KeyRateLimit> = Some(KeyRateLimit {
        count: 10,
        window_secs: 60,
    });

    #[test]
    fn a_key_takes_its_count_per_window_then_waits_for_the_next() {
        let q = Quotas::default();
        let start = 1_799_999_940; // a window's first second (a multiple of 60)
        for _ in 0..10 {
            assert!(
                q.take_event("k", TEN_PER_MINUTE, ProjectId(1), None, start + 5)
                    .is_ok()
            );
        }
        let limit = q
            .take_event("k", TEN_PER_MINUTE, ProjectId(1), None, start + 15)
            .unwrap_err()
            .limited()
            .unwrap();
        assert_eq!(limit.to_string(), "45:default;error;security:key:key_quota");
        // Another key has its own window; the next window starts over.
        assert!(
            q.take_event("other", TEN_PER_MINUTE, ProjectId(1), None, start + 15)
                .is_ok()
        );
        assert!(
            q.take_event("k", TEN_PER_MINUTE, ProjectId(1), None, start + 60)
                .is_ok()
        );
    }

    #[test]
    fn the_daily_cap_counts_from_what_the_database_says_and_takes_both_or_neither() {
        let q = Quotas::default();
        let noon = 1_800_000_000 / DAY_SECS * DAY_SECS + DAY_SECS / 2;
        assert!(!q.knows_day(ProjectId(1), noon));
        q.seed_day(ProjectId(1), noon, 4);
        assert!(q.knows_day(ProjectId(1), noon));
        assert!(q.take_event("k", None, ProjectId(1), Some(5), noon).is_ok());
        let limit = q
            .take_event("k", TEN_PER_MINUTE, ProjectId(1), Some(5), noon)
            .unwrap_err()
            .limited()
            .unwrap();
        assert_eq!(limit.reason, "project_quota");
        assert_eq!(limit.retry_after_secs, (DAY_SECS / 2) as u64);
        // The key's window was not charged for the refused event.
        for _ in 0..10 {
            assert!(
                q.take_event("k", TEN_PER_MINUTE, ProjectId(2), None, noon)
                    .is_ok()
            );
        }
        // A given-back event can be taken again; a new day starts at zero.
        let taken = q
            .take_event("j", None, ProjectId(3), Some(1), noon)
            .unwrap();
        assert!(
            q.take_event("j", None, ProjectId(3), Some(1), noon)
                .is_err()
        );
        q.give_back(taken);
        assert!(q.take_event("j", None, ProjectId(3), Some(1), noon).is_ok());
        assert!(
            q.take_event("j", None, ProjectId(3), Some(1), noon + DAY_SECS)
                .is_ok()
        );
    }

    #[test]
    fn shared_quotas_count_against_shares_of_the_common_count() {
        let q = Quotas::shared();
        let start = 1_799_999_940;
        let eighty = Some(KeyRateLimit {
            count: 80,
            window_secs: 60,
        });
        let take = || q.take_event("k", eighty, ProjectId(1), None, start);
        // No share yet: ask the database for a fortieth of the limit.
        let Err(Refused::NeedShare(need)) = take() else {
            panic!("a share is needed first")
        };
        assert_eq!(need.share, Share::Key("k".into()));
        assert_eq!((need.slot, need.want, need.limit), (start / 60, 2, 80));
        assert_eq!(need.ends_secs, start + 60);
        q.add_share(&need, 2);
        assert!(take().is_ok());
        assert!(take().is_ok());
        // Spent: another share; the common count had only one left.
        let Err(Refused::NeedShare(again)) = take() else {
            panic!("the share is spent")
        };
        q.add_share(&again, 1);
        assert!(take().is_ok());
        let limit = take()
            .unwrap_err()
            .limited()
            .expect("the common count is spent");
        assert_eq!(limit.reason, "key_quota");
        // The next window starts without a share.
        assert!(matches!(
            q.take_event("k", eighty, ProjectId(1), None, start + 60),
            Err(Refused::NeedShare(_))
        ));
    }

    #[test]
    fn attachments_past_the_cap_and_data_not_kept_are_limited_by_category() {
        assert!(attachments_fit(None, 10, 10).is_ok());
        assert!(attachments_fit(Some(20), 10, 10).is_ok());
        let over = attachments_fit(Some(20), 10, 11).unwrap_err();
        assert_eq!(over.to_string(), "3600:attachment:project:attachment_quota");
        assert_eq!(not_stored(&[]), None);
        assert_eq!(
            not_stored(&["transaction", "span", "transaction"])
                .unwrap()
                .to_string(),
            "3600:span;transaction:organization:not_stored"
        );
    }
}

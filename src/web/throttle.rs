//! Sign-in throttling: failed attempts slow down the one who makes them, never lock an
//! account out for everyone.
//!
//! ```text
//! key (client address, email)   3 failures free, then 1 s, 2 s, 4 s … up to 5 min between tries
//! key (client address)         20 failures free, then the same doubling (guessing many emails)
//! ```
//! A key is forgotten an hour after its last failure, or at once after a success. The client
//! address is the peer's, or behind a trusted reverse proxy the one it forwards.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::HttpRequest;

const FREE_PER_ACCOUNT: u32 = 3;
const FREE_PER_ADDRESS: u32 = 20;
const MAX_DELAY: Duration = Duration::from_secs(5 * 60);
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// Keys kept at most; a flood of addresses cannot grow the map without bound.
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    /// When the next attempt may be made, given the failures counted so far.
    fn next_allowed(&self, free: u32) -> Instant {
        match self.count.checked_sub(free) {
            None => self.last,
            Some(over) => {
                let delay = Duration::from_secs(1u64 << over.min(16)).min(MAX_DELAY);
                self.last + delay
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(IpAddr, String),
    Address(IpAddr),
}

impl Key {
    fn free(&self) -> u32 {
        match self {
            Key::Account(..) => FREE_PER_ACCOUNT,
            Key::Address(_) => FREE_PER_ADDRESS,
        }
    }
}

/// Failed sign-ins per (address, email) and per address.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<Key, Failures>>,
}

/// An attempt that may go ahead; report how it went with [`LoginLimiter::failed`] or
/// [`LoginLimiter::succeeded`].
#[derive(Debug)]
pub struct Attempt {
    keys: [Key; 2],
}

impl LoginLimiter {
    /// `Ok` when `client` may try `email` now; else how long to wait. The attempt counts as
    /// a failure until it is reported as a success, so parallel guesses cannot all slip in
    /// before the first is counted.
    pub fn attempt(&self, client: IpAddr, email: &str, now: Instant) -> Result<Attempt, Duration> {
        let keys = [
            Key::Account(client, email.trim().to_lowercase()),
            Key::Address(client),
        ];
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let wait = keys
            .iter()
            .filter_map(|k| failures.get(k).map(|f| f.next_allowed(k.free())))
            .max()
            .and_then(|at| at.checked_duration_since(now))
            .filter(|d| !d.is_zero());
        if let Some(wait) = wait {
            return Err(wait);
        }
        if failures.len() + keys.len() > MAX_KEYS {
            failures.retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
            if failures.len() + keys.len() > MAX_KEYS {
                // Only keys that hold somebody back are worth keeping then.
                failures.retain(|k, f| f.next_allowed(k.free()) > now);
            }
            if failures.len() + keys.len() > MAX_KEYS {
                failures.clear();
            }
        }
        for key in &keys {
            let entry = failures.entry(key.clone()).or_insert(Failures {
                count: 0,
                last: now,
            });
            if now.duration_since(entry.last) >= FORGET_AFTER {
                entry.count = 0;
            }
            entry.count = entry.count.saturating_add(1);
            entry.last = now;
        }
        Ok(Attempt { keys })
    }

    /// The password was right: this client's failures for this account are forgotten (and
    /// one failure less counts against its address).
    pub fn succeeded(&self, attempt: Attempt) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let [account, address] = attempt.keys;
        failures.remove(&account);
        if let Some(f) = failures.get_mut(&address) {
            f.count = f.count.saturating_sub(1);
        }
    }
}

/// The address a request comes from: the peer's, or when the peer is a trusted proxy, the
/// nearest address in `X-Forwarded-For` that is not one.
pub fn client_address(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> IpAddr {
    let peer = req
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    if !trusted_proxies.contains(&peer) {
        return peer;
    }
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|a| a.trim().parse::<IpAddr>())
        .collect::<Vec<_>>();
    // From the nearest hop outwards: the first that is not a proxy of ours is the client.
    for hop in forwarded.iter().rev() {
        match hop {
            Ok(ip) if trusted_proxies.contains(ip) => continue,
            Ok(ip) => return *ip,
            Err(_) => return peer,
        }
    }
    peer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn delays_grow_for_the_one_who_fails_and_nobody_else() {
        let limiter = LoginLimiter::default();
        let t0 = Instant::now();
        for _ in 0..FREE_PER_ACCOUNT {
            limiter.attempt(ip(1), "ada@example.com", t0).unwrap();
        }
        // The next try from there must wait a second, then two, then four…
        assert_eq!(
            limiter.attempt(ip(1), "ada@example.com", t0).unwrap_err(),
            Duration::from_secs(1)
        );
        let t1 = t0 + Duration::from_secs(1);
        limiter.attempt(ip(1), "ADA@example.com ", t1).unwrap();
        assert_eq!(
            limiter.attempt(ip(1), "ada@example.com", t1).unwrap_err(),
            Duration::from_secs(2)
        );
        // Ada herself, elsewhere, signs in at once; so does the attacker for another account.
        let ada = limiter.attempt(ip(2), "ada@example.com", t1).unwrap();
        limiter.succeeded(ada);
        limiter.attempt(ip(1), "bob@example.com", t1).unwrap();
        // Delays stop growing at five minutes.
        let mut t = t1;
        for _ in 0..30 {
            t += MAX_DELAY;
            limiter.attempt(ip(1), "ada@example.com", t).unwrap();
        }
        assert_eq!(
            limiter.attempt(ip(1), "ada@example.com", t).unwrap_err(),
            MAX_DELAY
        );
        // An hour later it is forgotten.
        let later = t + FORGET_AFTER;
        limiter.attempt(ip(1), "ada@example.com", later).unwrap();
        limiter.attempt(ip(1), "ada@example.com", later).unwrap();
    }

    #[test]
    fn guessing_many_accounts_from_one_address_slows_down_too() {
        let limiter = LoginLimiter::default();
        let t0 = Instant::now();
        for n in 0..FREE_PER_ADDRESS {
            limiter
                .attempt(ip(9), &format!("user{n}@example.com"), t0)
                .unwrap();
        }
        assert!(limiter.attempt(ip(9), "new@example.com", t0).is_err());
        assert!(limiter.attempt(ip(8), "new@example.com", t0).is_ok());
    }

    #[test]
    fn a_success_forgets_that_accounts_failures() {
        let limiter = LoginLimiter::default();
        let t0 = Instant::now();
        for _ in 0..FREE_PER_ACCOUNT - 1 {
            limiter.attempt(ip(1), "ada@example.com", t0).unwrap();
        }
        let ok = limiter.attempt(ip(1), "ada@example.com", t0).unwrap();
        limiter.succeeded(ok);
        for _ in 0..FREE_PER_ACCOUNT {
            limiter.attempt(ip(1), "ada@example.com", t0).unwrap();
        }
    }

    #[test]
    fn the_map_stays_bounded() {
        let limiter = LoginLimiter::default();
        let t0 = Instant::now();
        for n in 0..(MAX_KEYS as u32 / 2 + 10) {
            let client = IpAddr::from(std::net::Ipv6Addr::from(u128::from(n)));
            limiter.attempt(client, "ada@example.com", t0).unwrap();
        }
        assert!(limiter.failures.lock().unwrap().len() <= MAX_KEYS);
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        use actix_web::test::TestRequest;
        let proxy = ip(100);
        let req = TestRequest::default()
            .peer_addr((proxy, 4000).into())
            .insert_header(("X-Forwarded-For", "203.0.113.7, 192.0.2.100"))
            .to_http_request();
        assert_eq!(
            client_address(&req, &[proxy]),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_address(&req, &[]), proxy);
        let spoofed = TestRequest::default()
            .peer_addr((ip(5), 4000).into())
            .insert_header(("X-Forwarded-For", "203.0.113.7"))
            .to_http_request();
        assert_eq!(client_address(&spoofed, &[proxy]), ip(5));
        let garbage = TestRequest::default()
            .peer_addr((proxy, 4000).into())
            .insert_header(("X-Forwarded-For", "not-an-address"))
            .to_http_request();
        assert_eq!(client_address(&garbage, &[proxy]), proxy);
    }
}

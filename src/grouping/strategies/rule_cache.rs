//! What the stack-trace rules decide depends only on the stack (and maybe the exception), and
//! the events of one issue repeat the same stacks: each thread remembers recent outcomes.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use super::{Exception, Family, Frame};
use super::{Rules, StackGrouping};
use crate::grouping::rule_input::{RuleException, RuleFrame};

/// The stack as the key was written, in-app per frame, and the decisions.
type Outcome = (Vec<u8>, Vec<bool>, Arc<StackGrouping>);

/// Enough for the hot stacks of a busy server (a few MB per thread at most); cleared
/// whole when full.
const CAPACITY: usize = 1024;

struct Cache {
    /// Random per thread: which stacks share a slot cannot be chosen from outside.
    seed: u64,
    outcomes: HashMap<u64, Outcome>,
    /// The key of the stack being looked up (reused: no allocation on a hit).
    key: Vec<u8>,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache {
        seed: RandomState::new().hash_one(0u8),
        outcomes: HashMap::new(),
        key: Vec::new(),
    });
}

/// Everything the rules read, length-prefixed so that no two stacks write the same bytes.
fn write_key(
    out: &mut Vec<u8>,
    rules: &Rules,
    frames: &[Frame<'_>],
    platform: &str,
    exception: Option<&Exception<'_>>,
) {
    fn text(out: &mut Vec<u8>, s: Option<&str>) {
        match s {
            Some(s) => {
                out.extend_from_slice(&(s.len() as u64 + 1).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            None => out.extend_from_slice(&0u64.to_le_bytes()),
        }
    }
    out.clear();
    // The rules themselves: the built-in table or one project's.
    out.extend_from_slice(&rules.id().to_le_bytes());
    for f in frames {
        for field in [
            f.function.or(f.raw_function),
            f.module,
            f.package,
            f.abs_path,
            f.filename,
        ] {
            text(out, field);
        }
        out.push(Family::from_platform(f.platform.unwrap_or(platform)) as u8);
        out.push(match f.in_app {
            None => 0,
            Some(false) => 1,
            Some(true) => 2,
        });
    }
    if rules.reads_exception()
        && let Some(e) = exception
    {
        for field in [e.ty, e.value, e.mechanism.as_ref().and_then(|m| m.ty)] {
            text(out, field);
        }
    }
}

/// A multiply-rotate hash over 8-byte words: SipHash over a whole stack cost more than
/// the lookup saves. Collisions are harmless (the stored key is compared), and at worst
/// make two stacks evict each other.
fn fast_hash(seed: u64, bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = seed ^ (bytes.len() as u64).wrapping_mul(K);
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        h = (h ^ w).wrapping_mul(K).rotate_left(29);
    }
    let mut tail = [0u8; 8];
    tail[..words.remainder().len()].copy_from_slice(words.remainder());
    h = (h ^ u64::from_le_bytes(tail)).wrapping_mul(K);
    h ^ (h >> 32)
}

/// Whether each frame is in-app after the rules, and the grouping decisions; from the
/// cache when this stack was seen before with these rules.
pub fn outcome(
    rules: &Rules,
    frames: &[Frame<'_>],
    platform: &str,
    exception: Option<&Exception<'_>>,
) -> (Vec<bool>, Arc<StackGrouping>) {
    CACHE.with(|cache| {
        let cache = &mut *cache.borrow_mut();
        write_key(&mut cache.key, rules, frames, platform, exception);
        let hash = fast_hash(cache.seed, &cache.key);
        if let Some((key, in_app, grouping)) = cache.outcomes.get(&hash)
            && *key == cache.key
        {
            return (in_app.clone(), grouping.clone());
        }
        let mut rule_frames: Vec<RuleFrame> =
            frames.iter().map(|f| RuleFrame::of(f, platform)).collect();
        let exception = exception.map(RuleException::of);
        rules.classify(&mut rule_frames, exception.as_ref());
        let grouping = Arc::new(rules.grouping(&rule_frames, exception.as_ref()));
        if cache.outcomes.len() >= CAPACITY {
            cache.outcomes.clear();
        }
        let in_app: Vec<bool> = rule_frames
            .iter()
            .map(|f| f.in_app.unwrap_or(false))
            .collect();
        cache
            .outcomes
            .insert(hash, (cache.key.clone(), in_app.clone(), grouping.clone()));
        (in_app, grouping)
    })
}

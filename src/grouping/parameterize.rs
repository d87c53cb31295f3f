//! Message normalization for grouping: Sentry's `normalize_message_for_grouping`.
//!
//! Two steps, exactly as Sentry does them:
//!
//! 1. **Trim**: keep the first two lines that are not blank (Python `str.splitlines()` line
//!    breaks, Python `str.strip()` whitespace), join them with `\n`, and append `...` if the
//!    result differs from the input (also when only blank lines or a trailing newline were dropped).
//! 2. **Parameterize**: one left-to-right pass; at every position the patterns are tried in
//!    Sentry's priority order and the first one that matches is replaced by its placeholder:
//!    `email, url, hostname, ip, traceparent, uuid, sha1, md5, date, duration, swift_txn_id, hex,
//!    git_sha, float, int, quoted_str, bool` → `<email>`, `<url>`, `<hostname>`, … . This is what
//!    Python's `re.sub` does with Sentry's combined `(?P<email>…)|(?P<url>…)|…` regex, including
//!    the per-pattern boundary rules (`\b`, `(?<!\w)-`, `(?<==)`, …), which are evaluated on the
//!    original text, and Python's Unicode notions of `\w`, `\d` and `\s`.
//!
//! Examples (input → output):
//!
//! | input | output |
//! |---|---|
//! | `testing testing 1, 2, 3` | `testing testing <int>, <int>, <int>` |
//! | `Loading chunk 158 failed.\n(timeout: https://example.com/static/js/158.abc.chunk.js)` | `Loading chunk <int> failed.\n(timeout: <url>` |
//! | `Charlie didn't bring 2 balls back!` | `Charlie didn't bring <int> balls back!` |
//! | `mail maisey@dogsaregreat.com from 11.21.12.31` | `mail <email> from <ip>` |
//! | `Blocked 'font' from 'www.time.co'` | `Blocked 'font' from '<hostname>'` |
//! | `0.0.0.0:80` | `<ip>:<int>` |
//! | `id 7c1811ed-e98f-4c9c-a9f9-58c757ff494f` | `id <uuid>` |
//! | `at 2024-02-20T22:16:36, took 1.234s` | `at <date>, took <duration>` |
//! | `ptr 0xdeadbeef, 9af8, 12345678, commit a93c7d2` | `ptr <hex>, <hex>, <hex>, commit <git_sha>` |
//! | `value: -17502, ratio 0.23` | `value: <int>, ratio <float>` |
//! | `b='1' a=True` | `b=<quoted_str> a=<bool>` |
//! | `first\n\n  \nsecond\nthird` | `first\nsecond...` |
//!
//! Non-matches worth knowing: `cafe`, `deadbee`, `9af` (too short / no digit), `commit cabcafe`
//! (git SHAs need a digit and a letter), `Option::unwrap()` (not an IPv6 address), `True` without
//! a preceding `=`, and `1.2.3` (`<float>.<int>`, there is no version pattern).
//!
//! **Which Sentry version.** The patterns follow getsentry/sentry
//! `src/sentry/grouping/parameterization.py` as of late 2025 (the version whose `hex` pattern has
//! the 4–6-character mixed digit/letter form plus the 8–128-character form, with `traceparent`,
//! `swift_txn_id` and `git_sha`, `int` = `(\b|(?<!\w)-)\d{1,7}\b`, and no replacement callbacks),
//! and the trimming of `src/sentry/grouping/strategies/message.py`
//! (`normalize_message_for_grouping`). The grouping config id `newstyle:2023-01-11` did not change
//! when these regexes changed, so older/newer Sentry servers can differ in corner cases.
//!
//! **Left out / known deviations.**
//! * The hostname TLD list is Sentry's top-100 list (99 entries, upper- or lower-case), as in Sentry.
//! * The newest Sentry (2026) changed the `ip` pattern again (it accepts CIDR suffixes and more
//!   compressed forms) and validates IP matches (`is_valid_ip`, re-running the patterns one by one
//!   when a match is rejected). Here, by the late-2025 rules: `fc00::/7` → `<ip>/<int>`,
//!   `::ffff:192.168.1.1` → `<ip>.<float>.<int>`, `2012:d157::cbe:908:2013` → `<ip>:<int>:<int>`
//!   (Sentry 2026: `<ip>` for all three).
//! * Older Sentry (2024) had no `traceparent`/`swift_txn_id`/`git_sha`, only `0x…` hex and
//!   `int` = `-\d+\b|\b\d+\b`, so e.g. `deadbeef` stayed and `HTTP/1.1-8080` gave `HTTP/<float><int>`.
//! * Sentry's experimental patterns and the tiktoken-based `uniq_id` experiment (only for some
//!   sentry.io projects, never self-hosted) are not implemented.
//! * `\w` uses Rust's `char::is_alphanumeric` for non-ASCII characters; Python's `str.isalnum`
//!   excludes the combining marks with the Other_Alphabetic property (e.g. Devanagari vowel signs)
//!   and characters newer than its Unicode version, which only matters where such a character
//!   touches a digit or a hex word. `\d` (Unicode decimal digits) and `\s` (Python `isspace`)
//!   are exact.
//!
//! Checked by differential fuzzing against Python `re` running that version's combined regex
//! (≈500k random and mutated inputs, no difference). Work is linear in the input length: every
//! unbounded scan is either consumed by the match or cached (email local part, hostname label
//! chains, digit runs, closing-quote/paren searches).
//!
//! **Why one file, and no `regex` crate.** Sentry's patterns are one combined regex whose
//! boundaries use lookbehind and lookahead (`(?<!\w)-`, `(?<==)`, `(?<!\d)`, `(?![\d:])`),
//! which the `regex` crate does not support; so each pattern is a hand-written matcher. They
//! share the character classes, the boundary tests and the one left-to-right pass that tries
//! them in priority order, and stay together in this file next to the table they implement.

use std::borrow::Cow;

/// Sentry's `normalize_message_for_grouping`: first two non-blank lines, `...` if trimmed,
/// then placeholders.
pub fn normalize_message(message: &str) -> String {
    let trimmed = trim_message(message);
    parameterize(&trimmed)
}

/// Only the placeholder step (no line trimming), Sentry's `Parameterizer.parameterize`.
pub fn parameterize(input: &str) -> String {
    let mut sc = Scanner::new(input);
    let b = input.as_bytes();
    let n = b.len();
    let mut out = String::with_capacity(n + 16);
    let mut copied = 0;
    let mut i = 0;
    while i < n {
        if let Some((end, ph)) = sc.try_at(i) {
            out.push_str(&input[copied..i]);
            out.push_str(ph);
            copied = end;
            i = end;
        } else {
            i += utf8_len(b[i]);
        }
    }
    out.push_str(&input[copied.min(n)..]);
    out
}

/// Python `str.splitlines()` + keep the first two lines with non-whitespace content.
fn trim_message(message: &str) -> Cow<'_, str> {
    let mut kept: [&str; 2] = ["", ""];
    let mut count = 0;
    let mut start = 0;
    let mut iter = message.char_indices().peekable();
    fn push<'m>(kept: &mut [&'m str; 2], line: &'m str, count: &mut usize) {
        if *count < 2 && line.chars().any(|c| !is_py_space(c)) {
            kept[*count] = line;
            *count += 1;
        }
    }
    while let Some((idx, c)) = iter.next() {
        if is_line_break(c) {
            push(&mut kept, &message[start..idx], &mut count);
            let mut next = idx + c.len_utf8();
            if c == '\r'
                && let Some(&(_, '\n')) = iter.peek()
            {
                iter.next();
                next += 1;
            }
            start = next;
            if count == 2 {
                break;
            }
        }
    }
    if count < 2 && start < message.len() {
        push(&mut kept, &message[start..], &mut count);
    }
    let trimmed_is_same = match count {
        0 => message.is_empty(),
        1 => kept[0].len() == message.len(),
        _ => false,
    };
    if trimmed_is_same {
        return Cow::Borrowed(message);
    }
    let mut s = String::with_capacity(message.len().min(kept[0].len() + kept[1].len() + 4));
    s.push_str(kept[0]);
    if count == 2 {
        s.push('\n');
        s.push_str(kept[1]);
        if s.len() == message.len() && s == message {
            return Cow::Borrowed(message);
        }
    }
    s.push_str("...");
    Cow::Owned(s)
}

fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r'
            | '\x0b'
            | '\x0c'
            | '\x1c'
            | '\x1d'
            | '\x1e'
            | '\u{85}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// Python `str.isspace()` / regex `\s` for `str` patterns.
fn is_py_space(c: char) -> bool {
    if c.is_ascii() {
        matches!(c, ' ' | '\t'..='\r' | '\x1c'..='\x1f')
    } else {
        c.is_whitespace()
    }
}

/// Python regex `\w` (approximation for non-ASCII, see module docs).
fn is_py_word(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || c == '_'
    } else {
        c.is_alphanumeric()
    }
}

/// Unicode decimal digits (general category Nd), Python's `\d` for `str` patterns.
const ND_RANGES: [(u32, u32); 62] = [
    (0x30, 0x39),
    (0x660, 0x669),
    (0x6F0, 0x6F9),
    (0x7C0, 0x7C9),
    (0x966, 0x96F),
    (0x9E6, 0x9EF),
    (0xA66, 0xA6F),
    (0xAE6, 0xAEF),
    (0xB66, 0xB6F),
    (0xBE6, 0xBEF),
    (0xC66, 0xC6F),
    (0xCE6, 0xCEF),
    (0xD66, 0xD6F),
    (0xDE6, 0xDEF),
    (0xE50, 0xE59),
    (0xED0, 0xED9),
    (0xF20, 0xF29),
    (0x1040, 0x1049),
    (0x1090, 0x1099),
    (0x17E0, 0x17E9),
    (0x1810, 0x1819),
    (0x1946, 0x194F),
    (0x19D0, 0x19D9),
    (0x1A80, 0x1A89),
    (0x1A90, 0x1A99),
    (0x1B50, 0x1B59),
    (0x1BB0, 0x1BB9),
    (0x1C40, 0x1C49),
    (0x1C50, 0x1C59),
    (0xA620, 0xA629),
    (0xA8D0, 0xA8D9),
    (0xA900, 0xA909),
    (0xA9D0, 0xA9D9),
    (0xA9F0, 0xA9F9),
    (0xAA50, 0xAA59),
    (0xABF0, 0xABF9),
    (0xFF10, 0xFF19),
    (0x104A0, 0x104A9),
    (0x10D30, 0x10D39),
    (0x11066, 0x1106F),
    (0x110F0, 0x110F9),
    (0x11136, 0x1113F),
    (0x111D0, 0x111D9),
    (0x112F0, 0x112F9),
    (0x11450, 0x11459),
    (0x114D0, 0x114D9),
    (0x11650, 0x11659),
    (0x116C0, 0x116C9),
    (0x11730, 0x11739),
    (0x118E0, 0x118E9),
    (0x11950, 0x11959),
    (0x11C50, 0x11C59),
    (0x11D50, 0x11D59),
    (0x11DA0, 0x11DA9),
    (0x16A60, 0x16A69),
    (0x16AC0, 0x16AC9),
    (0x16B50, 0x16B59),
    (0x1D7CE, 0x1D7FF),
    (0x1E140, 0x1E149),
    (0x1E2F0, 0x1E2F9),
    (0x1E950, 0x1E959),
    (0x1FBF0, 0x1FBF9),
];

fn is_py_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    let v = c as u32;
    let idx = ND_RANGES.partition_point(|&(lo, _)| lo <= v);
    idx > 0 && v <= ND_RANGES[idx - 1].1
}

/// Sentry's "top 100" TLDs (the pattern lists each in upper and in lower case).
const TLDS: [&str; 99] = [
    "ae", "al", "app", "ar", "at", "au", "be", "bg", "biz", "br", "by", "ca", "cat", "cc", "cf",
    "ch", "cl", "club", "cn", "co", "com", "cz", "de", "dk", "edu", "ee", "es", "eu", "fi", "fm",
    "fr", "ga", "gov", "gq", "gr", "hk", "hr", "hu", "id", "ie", "il", "in", "info", "io", "ir",
    "is", "it", "jobs", "jp", "kr", "kz", "la", "link", "lt", "lv", "ly", "me", "mobi", "ms", "mx",
    "my", "net", "news", "ng", "nl", "no", "nz", "online", "org", "pe", "ph", "pl", "pro", "pt",
    "ro", "rs", "ru", "sa", "se", "sg", "si", "site", "sk", "th", "tips", "tk", "to", "tr", "tv",
    "tw", "ua", "ug", "uk", "us", "vn", "wiki", "xxx", "xyz", "za",
];

const WEEKDAYS: [&[u8]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];
const WEEKDAYS_LONG: [&[u8]; 7] = [
    b"Sunday",
    b"Monday",
    b"Tuesday",
    b"Wednesday",
    b"Thursday",
    b"Friday",
    b"Saturday",
];
const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

fn utf8_len(lead: u8) -> usize {
    match lead {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xFF => 4,
        _ => 1, // continuation byte: never a start position, but keep progressing
    }
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}
fn is_lhex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}
fn is_uhex(b: u8) -> bool {
    b.is_ascii_digit() || (b'A'..=b'F').contains(&b)
}

/// Caches that keep the scan linear on adversarial input.
struct Scanner<'a> {
    s: &'a str,
    b: &'a [u8],
    /// Email cannot start anywhere before this position (inside a local-part run already tried).
    email_dead_until: usize,
    /// Hostname label chain already walked: chain positions in `host_lo..=host_hi` give `host_res`.
    host_lo: usize,
    host_hi: usize,
    host_res: Option<usize>,
    host_valid: bool,
    /// `find_from` caches for `'`, `"`, `)` and `)`-or-newline searches.
    find_cache: [(usize, Option<usize>); 4],
    /// Last `\d+` run computed by `digit_run_end`: `(start, end)`.
    digit_run: (usize, usize),
}

impl<'a> Scanner<'a> {
    fn new(s: &'a str) -> Self {
        Scanner {
            s,
            b: s.as_bytes(),
            email_dead_until: 0,
            host_lo: 0,
            host_hi: 0,
            host_res: None,
            host_valid: false,
            find_cache: [(usize::MAX, None); 4],
            digit_run: (0, 0),
        }
    }

    // ---- character-level helpers -------------------------------------------------------

    #[inline]
    fn byte(&self, i: usize) -> Option<u8> {
        self.b.get(i).copied()
    }
    #[inline]
    fn is(&self, i: usize, f: fn(u8) -> bool) -> bool {
        self.byte(i).is_some_and(f)
    }
    #[inline]
    fn eq(&self, i: usize, c: u8) -> bool {
        self.byte(i) == Some(c)
    }
    #[inline]
    fn lit(&self, i: usize, l: &[u8]) -> Option<usize> {
        if self.b.get(i..i + l.len()) == Some(l) {
            Some(i + l.len())
        } else {
            None
        }
    }
    fn lit_any(&self, i: usize, list: &[&[u8]]) -> Option<usize> {
        list.iter().find_map(|l| self.lit(i, l))
    }
    #[inline]
    fn ch_at(&self, i: usize) -> Option<char> {
        match self.byte(i) {
            Some(c) if c < 0x80 => Some(c as char),
            Some(_) => self.s.get(i..).and_then(|t| t.chars().next()),
            None => None,
        }
    }
    #[inline]
    fn ch_before(&self, i: usize) -> Option<char> {
        if i == 0 {
            return None;
        }
        match self.byte(i - 1) {
            Some(c) if c < 0x80 => Some(c as char),
            _ => self.s.get(..i).and_then(|t| t.chars().next_back()),
        }
    }
    #[inline]
    fn word_at(&self, i: usize) -> bool {
        self.ch_at(i).is_some_and(is_py_word)
    }
    #[inline]
    fn word_before(&self, i: usize) -> bool {
        self.ch_before(i).is_some_and(is_py_word)
    }
    /// `\b`
    #[inline]
    fn bnd(&self, i: usize) -> bool {
        self.word_before(i) != self.word_at(i)
    }
    /// One `\d`; returns the position after it.
    #[inline]
    fn digit(&self, i: usize) -> Option<usize> {
        match self.ch_at(i) {
            Some(c) if is_py_digit(c) => Some(i + c.len_utf8()),
            _ => None,
        }
    }
    fn digit_before(&self, i: usize) -> bool {
        self.ch_before(i).is_some_and(is_py_digit)
    }
    /// Exactly `k` `\d`.
    fn digits_exact(&self, mut i: usize, k: usize) -> Option<usize> {
        for _ in 0..k {
            i = self.digit(i)?;
        }
        Some(i)
    }
    /// `\d{lo,hi}` greedy, with nothing after it that could match a digit: the whole run must
    /// fit (longer runs fail).
    fn digits_full(&self, mut i: usize, lo: usize, hi: usize) -> Option<usize> {
        let mut k = 0;
        while let Some(j) = self.digit(i) {
            k += 1;
            if k > hi {
                return None;
            }
            i = j;
        }
        if k >= lo { Some(i) } else { None }
    }
    /// End of the `\d+` run starting at `i` (None if no digit at `i`). Cached, because the
    /// `duration` pattern tries `\d+` at every position of a digit run (no leading `\b`).
    fn digit_run_end(&mut self, i: usize) -> Option<usize> {
        let (lo, end) = self.digit_run;
        if lo <= i && i < end {
            return Some(end);
        }
        let e = self.digits_greedy(i, 1, usize::MAX)?;
        self.digit_run = (i, e);
        Some(e)
    }
    /// `\d{lo,hi}` greedy with no constraint after it.
    fn digits_greedy(&self, mut i: usize, lo: usize, hi: usize) -> Option<usize> {
        let mut k = 0;
        while k < hi {
            match self.digit(i) {
                Some(j) => {
                    i = j;
                    k += 1;
                }
                None => break,
            }
        }
        if k >= lo { Some(i) } else { None }
    }
    /// One `\s`.
    #[inline]
    fn space(&self, i: usize) -> Option<usize> {
        match self.ch_at(i) {
            Some(c) if is_py_space(c) => Some(i + c.len_utf8()),
            _ => None,
        }
    }
    /// `\s+` (greedy; always followed by a non-space token in our patterns).
    fn spaces(&self, mut i: usize) -> Option<usize> {
        let start = i;
        while let Some(j) = self.space(i) {
            i = j;
        }
        if i > start { Some(i) } else { None }
    }
    /// One ASCII byte from a class.
    #[inline]
    fn cls(&self, i: usize, f: fn(u8) -> bool) -> Option<usize> {
        if self.is(i, f) { Some(i + 1) } else { None }
    }
    fn range(&self, i: usize, lo: u8, hi: u8) -> Option<usize> {
        match self.byte(i) {
            Some(c) if (lo..=hi).contains(&c) => Some(i + 1),
            _ => None,
        }
    }
    fn opt(&self, i: usize, c: u8) -> usize {
        if self.eq(i, c) { i + 1 } else { i }
    }
    /// Count of ASCII bytes from `i` satisfying `f`, capped at `cap` (returns `cap` if longer).
    fn run(&self, i: usize, cap: usize, f: fn(u8) -> bool) -> usize {
        let mut k = 0;
        while k < cap && self.is(i + k, f) {
            k += 1;
        }
        k
    }
    /// First position `>= from` holding `target` (`kind` 0..=2), or `)`/`\n` (`kind` 3).
    fn find_from(&mut self, kind: usize, from: usize) -> Option<usize> {
        let (cf, cr) = self.find_cache[kind];
        if cf != usize::MAX && from >= cf && cr.is_none_or(|r| r >= from) {
            return cr;
        }
        let hay = self.b.get(from..).unwrap_or(&[]);
        let r = match kind {
            0 => hay.iter().position(|&c| c == b'\''),
            1 => hay.iter().position(|&c| c == b'"'),
            2 => hay.iter().position(|&c| c == b')'),
            _ => hay.iter().position(|&c| c == b')' || c == b'\n'),
        }
        .map(|p| p + from);
        self.find_cache[kind] = (from, r);
        r
    }

    // ---- dispatcher ---------------------------------------------------------------------

    fn try_at(&mut self, i: usize) -> Option<(usize, &'static str)> {
        let c = self.b[i];
        // Fast path: inside an ASCII word, a lowercase letter (other than the `d` that may start
        // `datetime.datetime(`) can only start an email, and that was already ruled out.
        if c.is_ascii_lowercase()
            && c != b'd'
            && i > 0
            && i < self.email_dead_until
            && self.b[i - 1].is_ascii_alphanumeric()
        {
            return None;
        }
        if let Some(e) = self.email(i) {
            return Some((e, "<email>"));
        }
        let bnd = self.bnd(i);
        if bnd
            && matches!(c, b'w' | b'h' | b'f')
            && let Some(e) = self.url(i)
        {
            return Some((e, "<url>"));
        }
        if bnd
            && (c.is_ascii_alphanumeric() || c == b'-')
            && let Some(e) = self.hostname(i)
        {
            return Some((e, "<hostname>"));
        }
        if (c == b':' || c.is_ascii_alphanumeric())
            && let Some(e) = self.ip(i, bnd)
        {
            return Some((e, "<ip>"));
        }
        if bnd && is_hex(c) {
            if let Some(e) = self.traceparent(i) {
                return Some((e, "<traceparent>"));
            }
            let r = self.run(i, 41, is_hex);
            if r >= 8
                && let Some(e) = self.uuid(i)
            {
                return Some((e, "<uuid>"));
            }
            if r == 40 && !self.word_at(i + 40) {
                return Some((i + 40, "<sha1>"));
            }
            if r == 32 && !self.word_at(i + 32) {
                return Some((i + 32, "<md5>"));
            }
        }
        if c >= 0x80 || c.is_ascii_alphanumeric() {
            if let Some(e) = self.date(i, bnd) {
                return Some((e, "<date>"));
            }
            if let Some(e) = self.duration(i, bnd) {
                return Some((e, "<duration>"));
            }
        }
        if bnd
            && c == b't'
            && let Some(e) = self.swift_txn_id(i)
        {
            return Some((e, "<swift_txn_id>"));
        }
        if (is_hex(c) || c == b'-')
            && let Some(e) = self.hex(i, bnd)
        {
            return Some((e, "<hex>"));
        }
        if bnd
            && is_lhex(c)
            && let Some(e) = self.git_sha(i)
        {
            return Some((e, "<git_sha>"));
        }
        if c == b'-' || c >= 0x80 || c.is_ascii_digit() {
            if let Some(e) = self.float(i, bnd) {
                return Some((e, "<float>"));
            }
            if let Some(e) = self.int(i, bnd) {
                return Some((e, "<int>"));
            }
        }
        if i > 0 && self.b[i - 1] == b'=' {
            if let Some(e) = self.quoted_str(i) {
                return Some((e, "<quoted_str>"));
            }
            if let Some(e) = self.lit_any(i, &[b"True", b"true", b"False", b"false"]) {
                return Some((e, "<bool>"));
            }
        }
        None
    }

    // ---- patterns ------------------------------------------------------------------------

    /// `[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*`
    fn email(&mut self, i: usize) -> Option<usize> {
        fn local(c: u8) -> bool {
            c.is_ascii_alphanumeric() || b".!#$%&'*+/=?^_`{|}~-".contains(&c)
        }
        fn dom(c: u8) -> bool {
            c.is_ascii_alphanumeric() || c == b'-'
        }
        if i < self.email_dead_until || !self.is(i, local) {
            return None;
        }
        let mut j = i;
        while self.is(j, local) {
            j += 1;
        }
        let at = j;
        let fail = |sc: &mut Self| {
            sc.email_dead_until = at;
            None
        };
        if !self.eq(at, b'@') {
            return fail(self);
        }
        let d = self.run(at + 1, usize::MAX, dom);
        if d == 0 {
            return fail(self);
        }
        let mut e = at + 1 + d;
        while self.eq(e, b'.') {
            let k = self.run(e + 1, usize::MAX, dom);
            if k == 0 {
                break;
            }
            e += 1 + k;
        }
        Some(e)
    }

    /// `\b(wss?|https?|ftp)://[^\s/$.?#].[^\s]*`
    fn url(&self, i: usize) -> Option<usize> {
        let p = [&b"wss"[..], b"ws", b"https", b"http", b"ftp"]
            .iter()
            .find_map(|s| self.lit(i, s).and_then(|p| self.lit(p, b"://")))?;
        let c = self.ch_at(p)?;
        if is_py_space(c) || "/$.?#".contains(c) {
            return None;
        }
        let p = p + c.len_utf8();
        let c = self.ch_at(p)?;
        if c == '\n' {
            return None;
        }
        let mut p = p + c.len_utf8();
        while let Some(c) = self.ch_at(p) {
            if is_py_space(c) {
                break;
            }
            p += c.len_utf8();
        }
        Some(p)
    }

    /// `\b([a-zA-Z0-9\-]{1,63}\.)+?(TLD|tld)\b`
    fn hostname(&mut self, i: usize) -> Option<usize> {
        let p1 = self.host_label(i)?;
        if self.host_valid && p1 >= self.host_lo && p1 <= self.host_hi {
            return self.host_res;
        }
        let mut p = p1;
        let res = loop {
            if let Some(e) = self.tld(p) {
                break Some(e);
            }
            match self.host_label(p) {
                Some(q) => p = q,
                None => break None,
            }
        };
        self.host_lo = p1;
        self.host_hi = p;
        self.host_res = res;
        self.host_valid = true;
        res
    }
    fn host_label(&self, p: usize) -> Option<usize> {
        let k = self.run(p, 64, |c| c.is_ascii_alphanumeric() || c == b'-');
        if (1..=63).contains(&k) && self.eq(p + k, b'.') {
            Some(p + k + 1)
        } else {
            None
        }
    }
    fn tld(&self, p: usize) -> Option<usize> {
        let k = self.run(p, 7, |c| c.is_ascii_alphabetic());
        if !(2..=6).contains(&k) || self.word_at(p + k) {
            return None;
        }
        let w = &self.b[p..p + k];
        let lower = w.iter().all(|c| c.is_ascii_lowercase());
        let upper = w.iter().all(|c| c.is_ascii_uppercase());
        if !(lower || upper) {
            return None;
        }
        let mut buf = [0u8; 6];
        for (d, s) in buf.iter_mut().zip(w) {
            *d = s.to_ascii_lowercase();
        }
        let key = &buf[..k];
        if TLDS.iter().any(|t| t.as_bytes() == key) {
            Some(p + k)
        } else {
            None
        }
    }

    // -- ip --

    /// `[0-9a-fA-F]{1,4}` that is not followed by another hex digit.
    fn h(&self, p: usize) -> Option<usize> {
        let k = self.run(p, 5, is_hex);
        if (1..=4).contains(&k) {
            Some(p + k)
        } else {
            None
        }
    }
    /// `(?![0-9a-zA-Z])`
    fn la(&self, p: usize) -> bool {
        !self.is(p, |c| c.is_ascii_alphanumeric())
    }
    /// Positions after 1..=max `h:` groups starting at p (index 0 = p itself).
    fn groups(&self, p: usize, max: usize) -> ([usize; 8], usize) {
        let mut g = [p; 8];
        let mut m = 0;
        while m < max {
            match self.h(g[m]) {
                Some(e) if self.eq(e, b':') => {
                    g[m + 1] = e + 1;
                    m += 1;
                }
                _ => break,
            }
        }
        (g, m)
    }
    /// `(:h){1,max}` greedy then the `(?![0-9a-zA-Z])` lookahead, with backtracking.
    fn colon_groups_la(&self, p: usize, max: usize) -> Option<usize> {
        let mut c = [p; 8];
        let mut m = 0;
        while m < max {
            if !self.eq(c[m], b':') {
                break;
            }
            match self.h(c[m] + 1) {
                Some(e) => {
                    c[m + 1] = e;
                    m += 1;
                }
                None => break,
            }
        }
        (1..=m).rev().map(|j| c[j]).find(|&e| self.la(e))
    }
    /// `((25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}[0-9])\.){3}(25[0-5]|…)` where the last octet is
    /// always followed by an assertion that rejects a further ASCII digit.
    fn ipv4(&self, mut p: usize) -> Option<usize> {
        for k in 0..4 {
            let r = self.run(p, 4, |c| c.is_ascii_digit());
            let ok = match r {
                1 | 2 => true,
                3 => {
                    let v = (self.b[p] - b'0') as u32 * 100
                        + (self.b[p + 1] - b'0') as u32 * 10
                        + (self.b[p + 2] - b'0') as u32;
                    (100..=255).contains(&v)
                }
                _ => false,
            };
            if !ok {
                return None;
            }
            p += r;
            if k < 3 {
                if !self.eq(p, b'.') {
                    return None;
                }
                p += 1;
            }
        }
        Some(p)
    }
    fn ip(&self, i: usize, bnd: bool) -> Option<usize> {
        // (?<![0-9a-zA-Z_]) ( … ) (?![0-9a-zA-Z])
        let lb_ok = i == 0 || !(self.b[i - 1].is_ascii_alphanumeric() || self.b[i - 1] == b'_');
        if lb_ok && let Some(e) = self.ip6(i) {
            return Some(e);
        }
        // \b ipv4 \b
        if bnd
            && self.is(i, |c| c.is_ascii_digit())
            && let Some(e) = self.ipv4(i)
            && !self.word_at(e)
        {
            return Some(e);
        }
        None
    }
    fn ip6(&self, i: usize) -> Option<usize> {
        let (g, m) = self.groups(i, 7);
        if m >= 1 {
            // ([h]:){7}h
            if m == 7
                && let Some(e) = self.h(g[7])
                && self.la(e)
            {
                return Some(e);
            }
            // (h:){1,7}:
            for k in (1..=m.min(7)).rev() {
                if self.eq(g[k], b':') && self.la(g[k] + 1) {
                    return Some(g[k] + 1);
                }
            }
            // (h:){1,6}:h
            for k in (1..=m.min(6)).rev() {
                if self.eq(g[k], b':')
                    && let Some(e) = self.h(g[k] + 1)
                    && self.la(e)
                {
                    return Some(e);
                }
            }
            // (h:){1,a}(:h){1,c}
            for (a, c) in [(5, 2), (4, 3), (3, 4), (2, 5)] {
                for k in (1..=m.min(a)).rev() {
                    if let Some(e) = self.colon_groups_la(g[k], c) {
                        return Some(e);
                    }
                }
            }
            // h:((:h){1,6})
            if let Some(e) = self.colon_groups_la(g[1], 6) {
                return Some(e);
            }
        }
        if self.eq(i, b':') {
            // :((:h){1,7}|:)
            if let Some(e) = self.colon_groups_la(i + 1, 7) {
                return Some(e);
            }
            if self.eq(i + 1, b':') && self.la(i + 2) {
                return Some(i + 2);
            }
        }
        // fe80:(:[0-9a-fA-F]{0,4}){0,4}%[0-9a-zA-Z]{1,}
        if let Some(mut q) = self.lit(i, b"fe80:") {
            let mut cnt = 0;
            let mut ok = true;
            while cnt < 4 && self.eq(q, b':') {
                let k = self.run(q + 1, 5, is_hex);
                if k > 4 {
                    ok = false;
                    break;
                }
                q += 1 + k;
                cnt += 1;
            }
            if ok && self.eq(q, b'%') {
                let k = self.run(q + 1, usize::MAX, |c| c.is_ascii_alphanumeric());
                if k > 0 {
                    return Some(q + 1 + k);
                }
            }
        }
        // ::(ffff(:0{1,4}){0,1}:){0,1} ipv4
        if let Some(q) = self.lit(i, b"::") {
            let mut starts = [None; 3];
            if let Some(r) = self.lit(q, b"ffff")
                && self.eq(r, b':')
            {
                let z = self.run(r + 1, 5, |c| c == b'0');
                if (1..=4).contains(&z) && self.eq(r + 1 + z, b':') {
                    starts[0] = Some(r + 2 + z);
                }
                starts[1] = Some(r + 1);
            }
            starts[2] = Some(q);
            for s in starts.into_iter().flatten() {
                if let Some(e) = self.ipv4(s)
                    && self.la(e)
                {
                    return Some(e);
                }
            }
        }
        // (h:){1,4}: ipv4 \b
        for k in (1..=m.min(4)).rev() {
            if self.eq(g[k], b':')
                && let Some(e) = self.ipv4(g[k] + 1)
                && !self.word_at(e)
                && self.la(e)
            {
                return Some(e);
            }
        }
        None
    }

    /// `\b00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]\b | \b1-[0-9a-f]{8}-[0-9a-f]{24}\b`
    fn traceparent(&self, i: usize) -> Option<usize> {
        let lh = |p: usize, k: usize| -> Option<usize> {
            if self.run(p, k, is_lhex) == k {
                Some(p + k)
            } else {
                None
            }
        };
        let t1 = || -> Option<usize> {
            let p = self.lit(i, b"00-")?;
            let p = self.lit(lh(p, 32)?, b"-")?;
            let p = self.lit(lh(p, 16)?, b"-0")?;
            let p = self.cls(p, |c| c == b'0' || c == b'1')?;
            if self.word_at(p) { None } else { Some(p) }
        };
        let t2 = || -> Option<usize> {
            let p = self.lit(i, b"1-")?;
            let p = self.lit(lh(p, 8)?, b"-")?;
            let p = lh(p, 24)?;
            if self.word_at(p) { None } else { Some(p) }
        };
        t1().or_else(t2)
    }

    /// `\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b`
    fn uuid(&self, i: usize) -> Option<usize> {
        let mut p = i;
        for (idx, k) in [8usize, 4, 4, 4, 12].into_iter().enumerate() {
            if idx > 0 {
                p = self.lit(p, b"-")?;
            }
            if self.run(p, k, is_hex) != k {
                return None;
            }
            p += k;
        }
        if self.word_at(p) { None } else { Some(p) }
    }

    // -- date --

    fn date(&mut self, i: usize, bnd: bool) -> Option<usize> {
        let c = self.b[i];
        let digit_start = self.digit(i).is_some();
        if c.is_ascii_uppercase() {
            if let Some(e) = self.d_rfc822(i) {
                return Some(e);
            }
            if let Some(e) = self.d_month_day_year(i) {
                return Some(e);
            }
            if let Some(e) = self.d_rfc850(i) {
                return Some(e);
            }
        }
        if digit_start && let Some(e) = self.d_rfc3339(i) {
            return Some(e);
        }
        if c.is_ascii_uppercase()
            && let Some(e) = self.d_js(i)
        {
            return Some(e);
        }
        if digit_start {
            if let Some(e) = self.d_datetime(i, true) {
                return Some(e);
            }
            if let Some(e) = self.d_datetime(i, false) {
                return Some(e);
            }
            if !self.digit_before(i) {
                if let Some(e) = self.d_kitchen(i, true) {
                    return Some(e);
                }
                if let Some(e) = self.d_kitchen(i, false) {
                    return Some(e);
                }
            }
            // \d{4}-[01]\d-[0-3]\d
            let plain_date = || -> Option<usize> {
                let p = self.lit(self.digits_exact(i, 4)?, b"-")?;
                let p = self.digit(self.range(p, b'0', b'1')?)?;
                let p = self.lit(p, b"-")?;
                self.digit(self.range(p, b'0', b'3')?)
            };
            if let Some(e) = plain_date() {
                return Some(e);
            }
            // [0-2]\d:[0-5]\d:[0-5]\d
            let time = || -> Option<usize> {
                let p = self.lit(self.digit(self.range(i, b'0', b'2')?)?, b":")?;
                let p = self.lit(self.digit(self.range(p, b'0', b'5')?)?, b":")?;
                self.digit(self.range(p, b'0', b'5')?)
            };
            if let Some(e) = time() {
                return Some(e);
            }
        }
        if bnd {
            if c.is_ascii_uppercase()
                && let Some(e) = self.d_old1(i)
            {
                return Some(e);
            }
            if let Some(e) = self.d_old2(i) {
                return Some(e);
            }
        }
        if c == b'd' {
            return self.d_datetime_repr(i);
        }
        None
    }

    /// `[-\+]\d{2}[0-5]\d | UT | GMT | (E|C|M|P)(ST|DT) | [A-IK-Z]`
    fn tz_tail(&self, p: usize, numeric: bool) -> Option<usize> {
        if numeric
            && matches!(self.byte(p), Some(b'+' | b'-'))
            && let Some(e) = self
                .digits_exact(p + 1, 2)
                .and_then(|q| self.range(q, b'0', b'5'))
                .and_then(|q| self.digit(q))
        {
            return Some(e);
        }
        if let Some(e) = self.lit_any(p, &[b"UT", b"GMT"]) {
            return Some(e);
        }
        if matches!(self.byte(p), Some(b'E' | b'C' | b'M' | b'P'))
            && let Some(e) = self.lit_any(p + 1, &[b"ST", b"DT"])
        {
            return Some(e);
        }
        self.cls(p, |c| c.is_ascii_uppercase() && c != b'J')
    }

    /// RFC822/1123: `Wkd,\s\d{1,2}\sMon\s\d{2,4}\s\d{1,2}:\d{1,2}(:\d{1,2})?\s(tz)`
    fn d_rfc822(&self, i: usize) -> Option<usize> {
        let p = self.lit(self.lit_any(i, &WEEKDAYS)?, b",")?;
        let p = self.digits_full(self.space(p)?, 1, 2)?;
        let p = self.lit_any(self.space(p)?, &MONTHS)?;
        let p = self.digits_full(self.space(p)?, 2, 4)?;
        let p = self.digits_full(self.space(p)?, 1, 2)?;
        let m = self.digits_full(self.lit(p, b":")?, 1, 2)?;
        let with_secs = self
            .lit(m, b":")
            .and_then(|q| self.digits_full(q, 1, 2))
            .and_then(|q| self.space(q))
            .and_then(|q| self.tz_tail(q, true));
        with_secs.or_else(|| self.tz_tail(self.space(m)?, true))
    }

    /// `((Wkd)\s)?Mon\s[0-3]\d,\s\d{2,4}`
    fn d_month_day_year(&self, i: usize) -> Option<usize> {
        let rest = |p: usize| -> Option<usize> {
            let p = self.space(self.lit_any(p, &MONTHS)?)?;
            let p = self.digit(self.range(p, b'0', b'3')?)?;
            let p = self.space(self.lit(p, b",")?)?;
            self.digits_greedy(p, 2, 4)
        };
        self.lit_any(i, &WEEKDAYS)
            .and_then(|p| self.space(p))
            .and_then(rest)
            .or_else(|| rest(i))
    }

    /// RFC850: `Weekday,\s\d{2}-Mon-\d{2}\s\d{2}:\d{2}:\d{2}\s(tz letters)`
    fn d_rfc850(&self, i: usize) -> Option<usize> {
        let rest = |p: usize| -> Option<usize> {
            let p = self.lit(p, b",")?;
            let p = self.lit(self.digits_exact(self.space(p)?, 2)?, b"-")?;
            let p = self.lit(self.lit_any(p, &MONTHS)?, b"-")?;
            let p = self.digits_exact(self.digits_exact(p, 2).and_then(|q| self.space(q))?, 2)?;
            let p = self.digits_exact(self.lit(p, b":")?, 2)?;
            let p = self.digits_exact(self.lit(p, b":")?, 2)?;
            self.tz_tail(self.space(p)?, false)
        };
        for k in 0..7 {
            if let Some(p) = self.lit(i, WEEKDAYS[k]) {
                if let Some(e) = rest(p) {
                    return Some(e);
                }
                if let Some(e) = self.lit(i, WEEKDAYS_LONG[k]).and_then(rest) {
                    return Some(e);
                }
            }
        }
        None
    }

    /// `\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z?([+-]?\d{2}:\d{2})?`
    fn d_rfc3339(&self, i: usize) -> Option<usize> {
        let p = self.lit(self.digits_exact(i, 4)?, b"-")?;
        let p = self.lit(self.digits_exact(p, 2)?, b"-")?;
        let p = self.lit(self.digits_exact(p, 2)?, b"T")?;
        let p = self.lit(self.digits_exact(p, 2)?, b":")?;
        let p = self.lit(self.digits_exact(p, 2)?, b":")?;
        let mut p = self.digits_exact(p, 2)?;
        if self.eq(p, b'.')
            && let Some(q) = self.digits_greedy(p + 1, 1, usize::MAX)
        {
            p = q;
        }
        p = self.opt(p, b'Z');
        let off = |q: usize| -> Option<usize> {
            let q = self.lit(self.digits_exact(q, 2)?, b":")?;
            self.digits_exact(q, 2)
        };
        if matches!(self.byte(p), Some(b'+' | b'-'))
            && let Some(e) = off(p + 1)
        {
            return Some(e);
        }
        Some(off(p).unwrap_or(p))
    }

    /// JavaScript `Date.toString()`:
    /// `Wkd\sMon\s\d{2}\s\d{4}\s\d{2}:\d{2}:\d{2}\sGMT[+-]\d{4}(?:\s\([^)]+\))?`
    fn d_js(&mut self, i: usize) -> Option<usize> {
        let p = self.space(self.lit_any(i, &WEEKDAYS)?)?;
        let p = self.space(self.lit_any(p, &MONTHS)?)?;
        let p = self.space(self.digits_exact(p, 2)?)?;
        let p = self.space(self.digits_exact(p, 4)?)?;
        let p = self.lit(self.digits_exact(p, 2)?, b":")?;
        let p = self.lit(self.digits_exact(p, 2)?, b":")?;
        let p = self.lit(self.space(self.digits_exact(p, 2)?)?, b"GMT")?;
        let p = self.digits_exact(self.cls(p, |c| c == b'+' || c == b'-')?, 4)?;
        if let Some(q) = self.space(p)
            && self.eq(q, b'(')
            && let Some(close) = self.find_from(2, q + 1)
            && close > q + 1
        {
            return Some(close + 1);
        }
        Some(p)
    }

    /// `\d{4}-?[01]\d-?[0-3]\d[\sT][0-2]\d:?[0-5]\d` then seconds variants, with (`tz`) or
    /// without a `([+-][0-2]\d:?[0-5]\d|Z)` offset.
    fn d_datetime(&self, i: usize, tz: bool) -> Option<usize> {
        let p = self.digits_exact(i, 4)?;
        let p = self.opt(p, b'-');
        let p = self.digit(self.range(p, b'0', b'1')?)?;
        let p = self.opt(p, b'-');
        let p = self.digit(self.range(p, b'0', b'3')?)?;
        let p = if self.eq(p, b'T') {
            p + 1
        } else {
            self.space(p)?
        };
        let p = self.digit(self.range(p, b'0', b'2')?)?;
        let p = self.opt(p, b':');
        let mins = self.digit(self.range(p, b'0', b'5')?)?;
        let secs = {
            let q = self.opt(mins, b':');
            self.range(q, b'0', b'5').and_then(|q| self.digit(q))
        };
        let frac = secs
            .and_then(|s| self.lit(s, b"."))
            .and_then(|q| self.digits_greedy(q, 1, usize::MAX));
        if tz {
            let off = |q: usize| -> Option<usize> {
                if self.eq(q, b'Z') {
                    return Some(q + 1);
                }
                let q = self.cls(q, |c| c == b'+' || c == b'-')?;
                let q = self.digit(self.range(q, b'0', b'2')?)?;
                let q = self.opt(q, b':');
                self.digit(self.range(q, b'0', b'5')?)
            };
            // The `+`/`-` branch is tried before `Z`, but they can't both match.
            frac.and_then(off)
                .or_else(|| secs.and_then(off))
                .or_else(|| off(mins))
        } else {
            Some(frac.or(secs).unwrap_or(mins))
        }
    }

    /// Kitchen times. 12-hour: `(?<!\d)([1-9]|1[0-2]):[0-5]\d(:[0-5]\d)?(?![\d:])(?:\s?[aApP][Mm])?`;
    /// 24-hour: `(?<!\d)(0?\d|1\d|2[0-3]):[0-5]\d(:[0-5]\d)?(?![\d:])`.
    fn d_kitchen(&self, i: usize, twelve: bool) -> Option<usize> {
        let mut hours: [Option<usize>; 4] = [None; 4];
        if twelve {
            hours[0] = self.range(i, b'1', b'9');
            hours[1] = self.lit(i, b"1").and_then(|p| self.range(p, b'0', b'2'));
        } else {
            hours[0] = self.lit(i, b"0").and_then(|p| self.digit(p));
            hours[1] = self.digit(i);
            hours[2] = self.lit(i, b"1").and_then(|p| self.digit(p));
            hours[3] = self.lit(i, b"2").and_then(|p| self.range(p, b'0', b'3'));
        }
        let not_digit_colon = |p: usize| !self.eq(p, b':') && self.digit(p).is_none();
        for h in hours.into_iter().flatten() {
            let Some(m) = self
                .lit(h, b":")
                .and_then(|p| self.range(p, b'0', b'5'))
                .and_then(|p| self.digit(p))
            else {
                continue;
            };
            let secs = self
                .lit(m, b":")
                .and_then(|p| self.range(p, b'0', b'5'))
                .and_then(|p| self.digit(p))
                .filter(|&s| not_digit_colon(s));
            let Some(t) = secs.or(if not_digit_colon(m) { Some(m) } else { None }) else {
                continue;
            };
            if !twelve {
                return Some(t);
            }
            let ampm = |p: usize| -> Option<usize> {
                let p = self.cls(p, |c| matches!(c, b'a' | b'A' | b'p' | b'P'))?;
                self.cls(p, |c| c == b'm' || c == b'M')
            };
            return Some(
                self.space(t)
                    .and_then(ampm)
                    .or_else(|| ampm(t))
                    .unwrap_or(t),
            );
        }
        None
    }

    /// `\b(?:(Wkd)\s+)?(Mon)\s+(\d{1,2})\s+(\d{2}:\d{2}:\d{2})\s+\d{4}`
    fn d_old1(&self, i: usize) -> Option<usize> {
        let rest = |p: usize| -> Option<usize> {
            let p = self.spaces(self.lit_any(p, &MONTHS)?)?;
            let p = self.spaces(self.digits_full(p, 1, 2)?)?;
            let p = self.lit(self.digits_exact(p, 2)?, b":")?;
            let p = self.lit(self.digits_exact(p, 2)?, b":")?;
            let p = self.spaces(self.digits_exact(p, 2)?)?;
            self.digits_exact(p, 4)
        };
        self.lit_any(i, &WEEKDAYS)
            .and_then(|p| self.spaces(p))
            .and_then(rest)
            .or_else(|| rest(i))
    }

    /// `\b(?:(Wkd),\s+)?(0[1-9]|[1-2]?\d|3[01])\s+(Mon)\s+(19\d{2}|[2-9]\d{3})\s+`
    /// `(2[0-3]|[0-1]\d):([0-5]\d)(?::(60|[0-5]\d))?\s+(tz)`
    fn d_old2(&self, i: usize) -> Option<usize> {
        let after_day = |p: usize| -> Option<usize> {
            let p = self.spaces(self.lit_any(self.spaces(p)?, &MONTHS)?)?;
            let y = self
                .lit(p, b"19")
                .and_then(|q| self.digits_exact(q, 2))
                .or_else(|| {
                    self.range(p, b'2', b'9')
                        .and_then(|q| self.digits_exact(q, 3))
                })?;
            let p = self.spaces(y)?;
            let h = self
                .lit(p, b"2")
                .and_then(|q| self.range(q, b'0', b'3'))
                .or_else(|| self.range(p, b'0', b'1').and_then(|q| self.digit(q)))?;
            let m = self.digit(self.range(self.lit(h, b":")?, b'0', b'5')?)?;
            let with_secs = self
                .lit(m, b":")
                .and_then(|q| {
                    self.lit(q, b"60")
                        .or_else(|| self.range(q, b'0', b'5').and_then(|r| self.digit(r)))
                })
                .and_then(|q| self.spaces(q))
                .and_then(|q| self.tz_tail(q, true));
            with_secs.or_else(|| self.tz_tail(self.spaces(m)?, true))
        };
        let day = |p: usize| -> Option<usize> {
            let cands = [
                self.lit(p, b"0").and_then(|q| self.range(q, b'1', b'9')),
                self.range(p, b'1', b'2').and_then(|q| self.digit(q)),
                self.digit(p),
                self.lit(p, b"3").and_then(|q| self.range(q, b'0', b'1')),
            ];
            cands.into_iter().flatten().find_map(after_day)
        };
        self.lit_any(i, &WEEKDAYS)
            .and_then(|p| self.lit(p, b","))
            .and_then(|p| self.spaces(p))
            .and_then(day)
            .or_else(|| day(i))
    }

    /// `datetime.datetime\(.*?\)`
    fn d_datetime_repr(&mut self, i: usize) -> Option<usize> {
        let p = self.lit(i, b"datetime")?;
        let c = self.ch_at(p)?;
        if c == '\n' {
            return None;
        }
        let p = self.lit(p + c.len_utf8(), b"datetime(")?;
        let e = self.find_from(3, p)?;
        if self.b[e] == b')' { Some(e + 1) } else { None }
    }

    /// `\b(\d+ms) | (\d+(\.\d+)?s)\b`
    fn duration(&mut self, i: usize, bnd: bool) -> Option<usize> {
        let d = self.digit_run_end(i)?;
        if bnd && let Some(e) = self.lit(d, b"ms") {
            return Some(e);
        }
        let frac = match self.lit(d, b".") {
            Some(q) => self.digit_run_end(q),
            None => None,
        };
        for p in [frac, Some(d)].into_iter().flatten() {
            if let Some(e) = self.lit(p, b"s")
                && !self.word_at(e)
            {
                return Some(e);
            }
        }
        None
    }

    /// `\btx[0-9a-f]{21}-[0-9a-f]{10}\S*`
    fn swift_txn_id(&self, i: usize) -> Option<usize> {
        let p = self.lit(i, b"tx")?;
        if self.run(p, 21, is_lhex) != 21 || !self.eq(p + 21, b'-') {
            return None;
        }
        let p = p + 22;
        if self.run(p, 10, is_lhex) != 10 {
            return None;
        }
        let mut p = p + 10;
        while let Some(c) = self.ch_at(p) {
            if is_py_space(c) {
                break;
            }
            p += c.len_utf8();
        }
        Some(p)
    }

    /// `\b0[xX][0-9a-fA-F]+\b | (\b|(?<!\w)-)(4-6 mixed | 8-128 same-case hex)\b`
    fn hex(&self, i: usize, bnd: bool) -> Option<usize> {
        if bnd && self.eq(i, b'0') && matches!(self.byte(i + 1), Some(b'x' | b'X')) {
            let k = self.run(i + 2, usize::MAX, is_hex);
            if k > 0 && !self.word_at(i + 2 + k) {
                return Some(i + 2 + k);
            }
        }
        let body = |q: usize| -> Option<usize> {
            for (f, letter) in [
                (
                    is_lhex as fn(u8) -> bool,
                    (|c: u8| (b'a'..=b'f').contains(&c)) as fn(u8) -> bool,
                ),
                (is_uhex, |c: u8| (b'A'..=b'F').contains(&c)),
            ] {
                let r = self.run(q, 7, f);
                if (4..=6).contains(&r) && !self.word_at(q + r) {
                    let w = &self.b[q..q + r];
                    if w.iter().any(|c| c.is_ascii_digit()) && w.iter().any(|&c| letter(c)) {
                        return Some(q + r);
                    }
                }
            }
            for f in [is_lhex as fn(u8) -> bool, is_uhex] {
                let r = self.run(q, 129, f);
                if (8..=128).contains(&r) && !self.word_at(q + r) {
                    return Some(q + r);
                }
            }
            None
        };
        if bnd && let Some(e) = body(i) {
            return Some(e);
        }
        if self.eq(i, b'-') && !self.word_before(i) {
            return body(i + 1);
        }
        None
    }

    /// `\b(?=[a-f]*[0-9])(?=[0-9]*[a-f])[0-9a-f]{7}\b`
    fn git_sha(&self, i: usize) -> Option<usize> {
        if self.run(i, 7, is_lhex) != 7 || self.word_at(i + 7) {
            return None;
        }
        let w = &self.b[i..i + 7];
        if w.iter().any(|c| c.is_ascii_digit()) && w.iter().any(|c| c.is_ascii_lowercase()) {
            Some(i + 7)
        } else {
            None
        }
    }

    /// `-\d+\.\d+\b | \b\d+\.\d+\b`
    fn float(&self, i: usize, bnd: bool) -> Option<usize> {
        let body = |q: usize| -> Option<usize> {
            let p = self.lit(self.digits_greedy(q, 1, usize::MAX)?, b".")?;
            let e = self.digits_greedy(p, 1, usize::MAX)?;
            if self.word_at(e) { None } else { Some(e) }
        };
        if self.eq(i, b'-')
            && let Some(e) = body(i + 1)
        {
            return Some(e);
        }
        if bnd { body(i) } else { None }
    }

    /// `(\b|(?<!\w)-)\d{1,7}\b`
    fn int(&self, i: usize, bnd: bool) -> Option<usize> {
        let body = |q: usize| -> Option<usize> {
            let e = self.digits_full(q, 1, 7)?;
            if self.word_at(e) { None } else { Some(e) }
        };
        if bnd && let Some(e) = body(i) {
            return Some(e);
        }
        if self.eq(i, b'-') && !self.word_before(i) {
            body(i + 1)
        } else {
            None
        }
    }

    /// `(?<==)('([^']+)' | "([^"]+)")`
    fn quoted_str(&mut self, i: usize) -> Option<usize> {
        let kind = match self.byte(i)? {
            b'\'' => 0,
            b'"' => 1,
            _ => return None,
        };
        let close = self.find_from(kind, i + 1)?;
        if close > i + 1 { Some(close + 1) } else { None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> String {
        parameterize(s)
    }

    /// Sentry's own test table (tests/sentry/grouping/test_parameterization.py): each case also
    /// holds with a prefix and/or suffix.
    #[test]
    fn sentry_standard_cases() {
        let cases: &[(&str, &str)] = &[
            ("maisey@dogsaregreat.com", "<email>"),
            ("maisey.thedog@dogsaregreat.com", "<email>"),
            ("maisey+thedog@dogsaregreat.com", "<email>"),
            ("http://dogsaregreat.com", "<url>"),
            ("http://dogs.squirrelchasers.net", "<url>"),
            ("http://dogsaregreat.com/adopt/dont/shop", "<url>"),
            ("http://dogsaregreat.com/adopt/dont/shop/", "<url>"),
            ("http://dogsaregreat.com/adopt/dont/shop.js", "<url>"),
            (
                "http://dogsaregreat.com/adopt/dont/shop.js?command=sit&trick=spin",
                "<url>",
            ),
            (
                "http://dogsaregreat.com/adopt/dont/shop.html#shelters",
                "<url>",
            ),
            ("http://charlie:s3cretSqu1rrel@dogsaregreat.com:10", "<url>"),
            ("http://localhost:8000", "<url>"),
            ("http://11.21.12.31", "<url>"),
            ("http://11.21.12.31:12", "<url>"),
            ("http://2001:db8::1", "<url>"),
            ("http://[2001:db8::1]:80", "<url>"),
            ("dogsaregreat.com", "<hostname>"),
            ("dogs.squirrelchasers.net", "<hostname>"),
            ("11.21.12.31", "<ip>"),
            ("::", "<ip>"),
            ("::1", "<ip>"),
            ("1121:0c03:1231:130d:0000:16da:0908:da07", "<ip>"),
            ("Option::unwrap()", "Option::unwrap()"),
            ("Bee::buzz()", "Bee::buzz()"),
            (
                "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                "traceparent: <traceparent>",
            ),
            ("12345:6:789", "<int>:<int>:<int>"),
            ("123:4:56789", "<int>:<int>:<int>"),
            ("1-67891233-abcdef012345678912345678", "<traceparent>"),
            (
                "abc1-67891233-abcdef012345678912345678",
                "<hex>-<hex>-<hex>",
            ),
            ("7c1811ed-e98f-4c9c-a9f9-58c757ff494f", "<uuid>"),
            (
                "bea691f2-2e25-4bec-6838-e0c44b03d60a/7c1811ed-e98f-4c9c-a9f9-58c757ff494f",
                "<uuid>/<uuid>",
            ),
            ("5fc35719b9cf96ec602dbc748ff31c587a46961d", "<sha1>"),
            ("0751007cd28df267e8e051b51f918c60", "<md5>"),
            ("2024-02-20T22:16:36", "<date>"),
            ("Mon, 02 Jan 06 15:04 MST", "<date>"),
            ("Mon, 02 Jan 06 15:04 -0700", "<date>"),
            ("Mon, 02-Jan-06 15:04:05 MST", "<date>"),
            ("Monday, 02-Jan-06 15:04:05 MST", "<date>"),
            ("Mon, 02 Jan 2006 15:04:05 MST", "<date>"),
            ("Mon, 02 Jan 2006 15:04:05 -0700", "<date>"),
            (
                "Mon Jan 02 2006 14:04:05 GMT-0800 (Pacific Standard Time)",
                "<date>",
            ),
            ("Mon Jan 02 2006 14:04:05 GMT+0000 (UTC)", "<date>"),
            (
                "Mon Jan 02 2006 14:04:05 GMT+0800 (Pacific Standard Time)",
                "<date>",
            ),
            ("Mon Jan 02 2006 14:04:05 GMT-0800", "<date>"),
            ("Mon Jan 02 2006 14:04:05 GMT+0000", "<date>"),
            ("Mon Jan 02 2006 14:04:05 GMT+0800", "<date>"),
            ("2006-01-02T15:04:05Z07:00", "<date>"),
            ("2006-01-02T15:04:05Z", "<date>"),
            ("2006-01-02T15:04:05.999999999Z07:00", "<date>"),
            ("2006-01-02T15:04:05.999999999Z", "<date>"),
            ("2006-01-02", "<date>"),
            ("Jan 18, 2019", "<date>"),
            ("2006-01-02 15:04:05", "<date>"),
            ("2006-01-02 15:04:05Z", "<date>"),
            ("2006-01-02 15:04:05+01:00", "<date>"),
            ("2006-01-02T15:04:05", "<date>"),
            ("2006-01-02T15:04:05Z", "<date>"),
            ("2006-01-02T15:04:05+01:00", "<date>"),
            ("20060102 150405", "<date>"),
            ("20060102 150405Z", "<date>"),
            ("20060102 150405+0100", "<date>"),
            ("20060102T150405", "<date>"),
            ("20060102T150405Z", "<date>"),
            ("20060102T150405+0100", "<date>"),
            ("11:21", "<date>"),
            ("12:31:12", "<date>"),
            ("11:21:12 AM", "<date>"),
            ("12:31:12 pm", "<date>"),
            ("11:21PM", "<date>"),
            ("12:31 PM", "<date>"),
            ("11:21pm", "<date>"),
            ("12:31 pm", "<date>"),
            ("23:21", "<date>"),
            ("23:21:12", "<date>"),
            ("09:08", "<date>"),
            ("9:08", "<date>"),
            ("00:31", "<date>"),
            ("0:12", "<date>"),
            ("908:31", "<int>:<int>"),
            ("11:2112", "<int>:<int>"),
            ("31:21", "<int>:<int>"),
            ("12:99", "<int>:<int>"),
            ("15:04:05", "<date>"),
            ("Mon Jan 02, 1999", "<date>"),
            ("20240220 11:55:33.546593", "<date>"),
            ("2024-02-23 02:13:53.418", "<date>"),
            (
                "datetime.datetime(2025, 6, 24, 18, 33, 0, 447640)",
                "<date>",
            ),
            ("0ms", "<duration>"),
            ("1ms", "<duration>"),
            ("10ms", "<duration>"),
            ("1000000ms", "<duration>"),
            ("0s", "<duration>"),
            ("0.100s", "<duration>"),
            ("1.234s", "<duration>"),
            ("10s", "<duration>"),
            ("100.0000s", "<duration>"),
            ("tx274a77a8975c4a66aeb24-0052d95365", "<swift_txn_id>"),
            (
                "tx274a77a8975c4a66aeb24-0052d95365-cluster01",
                "<swift_txn_id>",
            ),
            ("ab274a77a8975c4a66aeb24-0052d95365", "<hex>-<hex>"),
            ("0x9af8", "<hex>"),
            ("0x9AF8", "<hex>"),
            ("0x9af8c3be", "<hex>"),
            ("0x9AF8C3BE", "<hex>"),
            ("0x9af8c3be3a", "<hex>"),
            ("0x9AF8C3BE3A", "<hex>"),
            ("0x9af8c3be3a1231fe", "<hex>"),
            ("0x9AF8C3BE3A1231FE", "<hex>"),
            ("0x9af8c3be3a1231fe1121acb1", "<hex>"),
            ("0x9AF8C3BE3A1231FE1121ACB1", "<hex>"),
            ("0xdeadbeef", "<hex>"),
            ("0xDEADBEEF", "<hex>"),
            ("9af", "9af"),
            ("9AF", "9AF"),
            ("9af8", "<hex>"),
            ("9AF8", "<hex>"),
            ("9af8c3be", "<hex>"),
            ("9AF8C3BE", "<hex>"),
            ("9af8c3be3a", "<hex>"),
            ("9AF8C3BE3A", "<hex>"),
            ("9af8c3be3a1231fe", "<hex>"),
            ("9AF8C3BE3A1231FE", "<hex>"),
            ("9af8c3be3a1231fe1121acb1", "<hex>"),
            ("9AF8C3BE3A1231FE1121ACB1", "<hex>"),
            ("deadbee", "deadbee"),
            ("DEADBEE", "DEADBEE"),
            ("deadbeef", "<hex>"),
            ("DEADBEEF", "<hex>"),
            ("cafe 123", "cafe <int>"),
            ("CAFE 123", "CAFE <int>"),
            ("1234567", "<int>"),
            ("-1234567", "<int>"),
            ("12345678", "<hex>"),
            ("-12345678", "<hex>"),
            ("commit a93c7d2", "commit <git_sha>"),
            ("commit cabcafe", "commit cabcafe"),
            ("commit 4150908", "commit <int>"),
            ("0.23", "<float>"),
            ("23", "<int>"),
            ("-23", "<int>"),
            ("0:17502", "<int>:<int>"),
            ("value:-17502", "value:<int>"),
            ("value: -17502", "value: <int>"),
            ("415-908", "<int>-<int>"),
            ("maisey-908", "maisey-<int>"),
            ("{\"msg\" => \"(#239323)", "{\"msg\" => \"(#<int>)"),
            ("2006-01-40", "<int>-<int>-<int>"),
            ("2006-20-02", "<int>-<int>-<int>"),
            ("10000-01-02", "<int>-<int>-<int>"),
            ("2006-01", "<int>-<int>"),
            ("b = '1'", "b = '<int>'"),
            ("b = \"1\"", "b = \"<int>\""),
            ("b='1'", "b=<quoted_str>"),
            ("b=\"1\"", "b=<quoted_str>"),
            ("b=\"0.0.0.0 1 a=True\"", "b=<quoted_str>"),
            ("b='value\"", "b='value\""),
            ("b=\"value'", "b=\"value'"),
            ("a=false", "a=<bool>"),
            ("a=False", "a=<bool>"),
            ("a=true", "a=<bool>"),
            ("a=True", "a=<bool>"),
            ("False", "False"),
            ("true", "true"),
            ("a = False", "a = False"),
            ("a = true", "a = true"),
            ("A quick brown fox", "A quick brown fox"),
            ("0.0.0.0:80", "<ip>:<int>"),
        ];
        let b0 = "b0".repeat(64);
        let bu = "B0".repeat(64);
        let mut all: Vec<(String, String)> = cases
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        all.push((b0, "<hex>".into()));
        all.push((bu, "<hex>".into()));
        for (input, expected) in &all {
            assert_eq!(&p(input), expected, "input {input:?}");
            assert_eq!(
                p(&format!("prefix {input}")),
                format!("prefix {expected}"),
                "{input:?}"
            );
            assert_eq!(
                p(&format!("{input} suffix")),
                format!("{expected} suffix"),
                "{input:?}"
            );
            assert_eq!(
                p(&format!("prefix {input} suffix")),
                format!("prefix {expected} suffix"),
                "{input:?}"
            );
        }
    }

    /// Sentry's "known incorrect" cases: what Sentry actually produces.
    #[test]
    fn sentry_known_quirks() {
        assert_eq!(p("Encoding: utf-8"), "Encoding: utf-<int>");
        assert_eq!(p("4,150,908"), "<int>,<int>,<int>");
        assert_eq!(p("Fee::add() called too early"), "<ip>() called too early");
        assert_eq!(
            p("{\"dogs are great\": true, \"dog_id\": \"greatdog1231\"}"),
            "{\"dogs are great\": true, \"dog_id\": \"greatdog1231\"}"
        );
        assert_eq!(p("invoice k9Mtd2gDcgG"), "invoice k9Mtd2gDcgG");
        assert_eq!(
            p("tcp://charlie:s3cretSqu1rrel@dogsaregreat.com:10 had a problem"),
            "tcp://charlie:<email>:<int> had a problem"
        );
        assert_eq!(p("tcp://dogsaregreat.com:10"), "tcp://<hostname>:<int>");
    }

    /// Cases from Sentry's newest (2026) test table whose expectation changed with its newer `ip`
    /// pattern; these are the late-2025 results (checked against Python `re` with that version's
    /// patterns).
    #[test]
    fn late_2025_ip_behaviour() {
        assert_eq!(p("2012:d157::cbe:908:2013"), "<ip>:<int>:<int>");
        assert_eq!(p("::ffff:192.168.1.1"), "<ip>.<float>.<int>");
        assert_eq!(p("fc00::/7"), "<ip>/<int>");
        assert_eq!(p("12:31:99"), "<int>:<int>:<int>");
    }

    #[test]
    fn older_sentry_cases() {
        assert_eq!(
            p("blah 0x9af8c3b had a problem"),
            "blah <hex> had a problem"
        );
        assert_eq!(
            p("Blocked 'font' from 'www.time.co'"),
            "Blocked 'font' from '<hostname>'"
        );
        assert_eq!(
            p("Blocked 'connect' from 'gggggggdasdwefwewqqqfefwef.com'"),
            "Blocked 'connect' from '<hostname>'"
        );
        assert_eq!(
            p("connection failed after 1ms 23ms 4567890ms"),
            "connection failed after <duration> <duration> <duration>"
        );
        assert_eq!(
            p("connection failed after 1.234s 56s 78.90s"),
            "connection failed after <duration> <duration> <duration>"
        );
        assert_eq!(p("blah 3:04PM had a problem"), "blah <date> had a problem");
        assert_eq!(p("[401,\"\"]"), "[<int>,\"\"]");
        assert_eq!(p("Dog number 1, #1 dog"), "Dog number <int>, #<int> dog");
    }

    #[test]
    fn verified_examples() {
        assert_eq!(
            normalize_message("testing testing 1, 2, 3"),
            "testing testing <int>, <int>, <int>"
        );
        assert_eq!(
            normalize_message(
                "Loading chunk 158 failed.\n(timeout: https://example.com/static/js/158.abc.chunk.js)"
            ),
            "Loading chunk <int> failed.\n(timeout: <url>"
        );
        assert_eq!(
            normalize_message("FailedToFetchError: Charlie didn't bring 2 balls back!"),
            "FailedToFetchError: Charlie didn't bring <int> balls back!"
        );
        assert_eq!(
            normalize_message("That's ball number 6 that Charlie hasn't brought back!"),
            "That's ball number <int> that Charlie hasn't brought back!"
        );
    }

    #[test]
    fn never_panics_on_mixed_unicode() {
        let alphabet: Vec<char> =
            "0123456789abcdefxAFZMT:.-=/'\"()@% _\n\r\u{85}é٣日😀\u{2028}\u{a0}"
                .chars()
                .collect();
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            let mut s = String::new();
            for _ in 0..(state % 24) {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                s.push(alphabet[(state >> 33) as usize % alphabet.len()]);
            }
            let _ = normalize_message(&s);
        }
    }

    #[test]
    fn doc_examples() {
        let cases = [
            (
                "mail maisey@dogsaregreat.com from 11.21.12.31",
                "mail <email> from <ip>",
            ),
            ("id 7c1811ed-e98f-4c9c-a9f9-58c757ff494f", "id <uuid>"),
            (
                "at 2024-02-20T22:16:36, took 1.234s",
                "at <date>, took <duration>",
            ),
            (
                "ptr 0xdeadbeef, 9af8, 12345678, commit a93c7d2",
                "ptr <hex>, <hex>, <hex>, commit <git_sha>",
            ),
            ("value: -17502, ratio 0.23", "value: <int>, ratio <float>"),
            ("b='1' a=True", "b=<quoted_str> a=<bool>"),
            ("first\n\n  \nsecond\nthird", "first\nsecond..."),
            (
                "cafe deadbee 9af commit cabcafe True",
                "cafe deadbee 9af commit cabcafe True",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize_message(input), expected, "{input:?}");
        }
    }

    #[test]
    fn trimming() {
        assert_eq!(normalize_message(""), "");
        assert_eq!(normalize_message("one"), "one");
        assert_eq!(normalize_message("one\n"), "one...");
        assert_eq!(normalize_message("one\ntwo"), "one\ntwo");
        assert_eq!(normalize_message("one\r\ntwo"), "one\ntwo...");
        assert_eq!(normalize_message("one\ntwo\nthree"), "one\ntwo...");
        assert_eq!(normalize_message("\n\n  \none\n\t\ntwo"), "one\ntwo...");
        assert_eq!(normalize_message("   "), "...");
        assert_eq!(normalize_message("a\u{2028}b"), "a\nb...");
        assert_eq!(normalize_message("a\x1fb"), "a\x1fb");
        assert_eq!(normalize_message("x\n\x1f\ny"), "x\ny...");
    }

    #[test]
    fn misc_non_matches_and_unicode() {
        assert_eq!(p("version 1.2.3"), "version <float>.<int>");
        assert_eq!(p("HTTP/1.1-8080"), "HTTP/<float>-<int>");
        assert_eq!(p("x=\u{0663}"), "x=<int>");
        assert_eq!(p("über 12 ünd"), "über <int> ünd");
        assert_eq!(p("é12"), "é12");
        assert_eq!(p("日本語 42 テスト"), "日本語 <int> テスト");
        assert_eq!(p("a=trueish"), "a=<bool>ish");
        assert_eq!(p("Mon, 02 Jan 06 15:04 UTC"), "<date>C");
        assert_eq!(p("fe80::1%eth2"), "<ip>%eth2");
        assert_eq!(p("1.5e10"), "<int>.<hex>");
        // never panics on odd input
        for s in [
            "\u{0}",
            "=",
            "='",
            "=\"",
            "-",
            "::",
            "fe80:",
            "datetime.datetime(",
            "\u{10FFFF}",
        ] {
            let _ = normalize_message(s);
        }
    }
}

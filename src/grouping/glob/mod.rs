//! Globs as Sentry's two rule languages match them: `*`, `?`, `[abc]`, `[!a-z]` (or `[^…]`),
//! one level of `{a,b}`, `\` escapes, and globset's `**`, which crosses `/` only as a leading
//! `**/`, an inner `/**/` or a trailing `/**` (glued to anything else it is two `*`s).
//!
//! Stack-trace rules follow Sentry's enhancer and fingerprint rules follow Relay; both build on
//! globset but differ in a few places, which [`GlobOptions`] names:
//!
//! | | stack-trace rules | fingerprint rules |
//! |---|---|---|
//! | `?`, `*` step over ([`Unit`]) | a char | a byte |
//! | case-insensitive globs ([`Case`]) | Unicode lowercasing | ASCII folding |
//! | stray `}` ([`Syntax`]) | an error | ignored |
//! | empty alternative `{a,}` | kept | dropped |
//! | `**` after a `/` that a `**` took (`a/**/**/b`) | two `*`s | merged into that `**` |
//! | an invalid pattern | an error for the rule text | the caller's matcher never matches |
//!
//! Matching walks the set of live positions token by token: a token costs O(input) however
//! many positions are live, so any pattern matches in time linear in the input.

mod parse;

use std::borrow::Cow;

use parse::Parser;

/// How a pattern is read and matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlobOptions {
    /// Path semantics: `*` and `?` stop at `/` (only `**` crosses it), `\` in pattern and
    /// value is `/`, and a relative value is also tried with a leading `/`.
    pub path: bool,
    pub case: Case,
    pub unit: Unit,
    pub syntax: Syntax,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    Sensitive,
    /// `A` = `a` for ASCII letters only, compared as matched (Relay).
    Ascii,
    /// Pattern and value lowercased (Unicode) before matching (Sentry's enhancer).
    Unicode,
}

/// What `?` and `*` consume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Char,
    /// One byte of the UTF-8 text (Relay's `(?-u)` regex): `caf?` does not match `café`.
    Byte,
}

/// The globset generation each matcher was built on (see the module table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Enhancer,
    Relay,
}

impl GlobOptions {
    /// Stack-trace rules' `path:` and `package:`.
    pub const STACK_PATH: GlobOptions = GlobOptions {
        path: true,
        case: Case::Unicode,
        unit: Unit::Char,
        syntax: Syntax::Enhancer,
    };
    /// Stack-trace rules' other globs (`function:`, `module:`, `category:`, `error.*:`).
    pub const STACK_PLAIN: GlobOptions = GlobOptions {
        path: false,
        case: Case::Sensitive,
        unit: Unit::Char,
        syntax: Syntax::Enhancer,
    };
    /// Fingerprint rules' `path:`, `package:` and `release:`.
    pub const FINGERPRINT_PATH: GlobOptions = GlobOptions {
        path: true,
        case: Case::Ascii,
        unit: Unit::Byte,
        syntax: Syntax::Relay,
    };
    /// Fingerprint rules' `message:`, `value:` and `level:`.
    pub const FINGERPRINT_CASELESS: GlobOptions = GlobOptions {
        path: false,
        case: Case::Ascii,
        unit: Unit::Byte,
        syntax: Syntax::Relay,
    };
    /// Fingerprint rules' other globs (`type:`, `function:`, `module:`, `logger:`, `tags.*:`).
    pub const FINGERPRINT_PLAIN: GlobOptions = GlobOptions {
        path: false,
        case: Case::Sensitive,
        unit: Unit::Byte,
        syntax: Syntax::Relay,
    };

    /// The text as these options match it (Unicode lowercasing, path backslashes). Callers
    /// that test one value against many globs normalize it once and use
    /// [`Glob::is_match_normalized`].
    pub fn normalize<'v>(&self, text: &'v str) -> Cow<'v, str> {
        let mut text = Cow::Borrowed(text);
        if self.case == Case::Unicode {
            text = Cow::Owned(text.to_lowercase());
        }
        if self.path && text.contains('\\') {
            text = Cow::Owned(text.replace('\\', "/"));
        }
        text
    }
}

/// A compiled glob.
#[derive(Debug, Clone)]
pub struct Glob {
    options: GlobOptions,
    /// Alternatives (`{a,b}`) expanded into plain sequences, unless there are too many.
    branches: Vec<Branch>,
}

#[derive(Debug, Clone)]
struct Branch {
    toks: Vec<Tok>,
    /// Its literal runs: a value that lacks one cannot match. Most rules never match most
    /// frames, and this rejects them without walking the pattern.
    runs: Vec<String>,
    /// A direct string test when the branch has a common simple shape (the built-in table's
    /// `{a,b,c}` lists are mostly literals and `prefix*`).
    fast: Fast,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Lit(char),
    /// `?`
    Any,
    /// `*`
    Star,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    /// Leading `**/`: empty, or anything ending in `/`.
    RecPrefix,
    /// Trailing `/**`: `/` then anything.
    RecSuffix,
    /// Inner `/**/`: `/`, or `/…/`.
    RecMiddle,
    /// The whole pattern is `**`.
    Everything,
    /// `{a,b}`, left unexpanded only when expanding would make too many branches.
    Alt(Vec<Vec<Tok>>),
}

/// Upper bound on expanded `{…}` combinations, to keep hostile patterns cheap. The enhancer
/// refuses patterns beyond it; Relay's are matched unexpanded.
const MAX_BRANCHES: usize = 256;

impl Glob {
    /// Compiles `pattern`; the error says why it is not a glob.
    pub fn new(pattern: &str, options: GlobOptions) -> Result<Glob, String> {
        let mut toks = Parser::new(&options.normalize(pattern), options.syntax).parse()?;
        if toks == [Tok::RecPrefix] {
            toks = vec![Tok::Everything];
        }
        let combinations = toks.iter().fold(1usize, |n, t| match t {
            Tok::Alt(alts) => n.saturating_mul(alts.len()),
            _ => n,
        });
        let sequences = if combinations <= MAX_BRANCHES {
            expand(toks)
        } else if options.syntax == Syntax::Enhancer {
            return Err("too many `{…}` alternatives".to_owned());
        } else {
            vec![toks]
        };
        let branches = sequences
            .into_iter()
            .map(|toks| Branch {
                runs: literal_runs(&toks),
                fast: Fast::of(&toks, options.path),
                toks,
            })
            .collect();
        Ok(Glob { options, branches })
    }

    /// Whether `value`, as the event has it, matches. With path options a value not starting
    /// with `/` as given is also tried with one (Relay decides on the value as given: `\x`
    /// is retried as `//x`).
    pub fn is_match(&self, value: &str) -> bool {
        let retry = self.options.path && !value.starts_with('/');
        self.matches(&self.options.normalize(value), retry)
    }

    /// Whether `value`, already passed through [`GlobOptions::normalize`], matches. With path
    /// options a value not starting with `/` after normalizing is also tried with one (the
    /// enhancer normalizes frames first, so `\x` is `/x` and not retried).
    pub fn is_match_normalized(&self, value: &str) -> bool {
        self.matches(value, self.options.path && !value.starts_with('/'))
    }

    /// Any branch matching `value`, or with `retry` also `/` + `value`. Simple branches are
    /// compared directly; the others are pre-filtered by their literal runs, then walked.
    fn matches(&self, value: &str, retry: bool) -> bool {
        let caseless = self.options.case == Case::Ascii;
        let mut slashed: Option<Vec<u8>> = None;
        let mut walk = Walk {
            path: self.options.path,
            caseless,
            bytes: self.options.unit == Unit::Byte,
            bufs: (Vec::new(), Vec::new()),
        };
        for branch in &self.branches {
            match branch.fast.test(value, false, caseless) {
                Some(true) => return true,
                Some(false) => {
                    if retry && branch.fast.test(value, true, caseless) == Some(true) {
                        return true;
                    }
                }
                None => {
                    if !branch.may_match(value, retry, caseless) {
                        continue;
                    }
                    if walk.run(&branch.toks, value.as_bytes()) {
                        return true;
                    }
                    if retry {
                        let s = slashed.get_or_insert_with(|| {
                            let mut s = Vec::with_capacity(value.len() + 1);
                            s.push(b'/');
                            s.extend_from_slice(value.as_bytes());
                            s
                        });
                        if walk.run(&branch.toks, s) {
                            return true;
                        }
                    }
                }
            }
        }
        false
    }
}

impl Branch {
    /// False when one of the literal runs is missing from the value (with `retry`, a run
    /// starting with `/` may also stand for the `/` put in front).
    fn may_match(&self, value: &str, retry: bool, caseless: bool) -> bool {
        self.runs.iter().all(|run| {
            contains(value, run, caseless)
                || (retry
                    && run.starts_with('/')
                    && starts_with(value.as_bytes(), &run.as_bytes()[1..], caseless))
        })
    }
}

fn literal_runs(toks: &[Tok]) -> Vec<String> {
    let mut runs = vec![String::new()];
    for tok in toks {
        match tok {
            Tok::Lit(c) => runs.last_mut().expect("a run").push(*c),
            _ if runs.last().is_some_and(String::is_empty) => {}
            _ => runs.push(String::new()),
        }
    }
    runs.retain(|r| !r.is_empty());
    runs
}

/// Every `{…}` replaced by each of its alternatives in turn.
fn expand(toks: Vec<Tok>) -> Vec<Vec<Tok>> {
    let mut sequences: Vec<Vec<Tok>> = vec![Vec::new()];
    for tok in toks {
        match tok {
            Tok::Alt(alts) => {
                sequences = sequences
                    .iter()
                    .flat_map(|s| {
                        alts.iter()
                            .map(move |a| s.iter().chain(a).cloned().collect())
                    })
                    .collect();
            }
            tok => sequences.iter_mut().for_each(|s| s.push(tok.clone())),
        }
    }
    sequences
}

fn starts_with(value: &[u8], prefix: &[u8], caseless: bool) -> bool {
    value.len() >= prefix.len() && eq(&value[..prefix.len()], prefix, caseless)
}

fn ends_with(value: &[u8], suffix: &[u8], caseless: bool) -> bool {
    value.len() >= suffix.len() && eq(&value[value.len() - suffix.len()..], suffix, caseless)
}

fn contains(value: &str, needle: &str, caseless: bool) -> bool {
    if caseless {
        needle.is_empty()
            || value
                .as_bytes()
                .windows(needle.len())
                .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
    } else {
        value.contains(needle)
    }
}

fn eq(a: &[u8], b: &[u8], caseless: bool) -> bool {
    if caseless {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

/// Simple branch shapes that need no token walk.
#[derive(Debug, Clone)]
enum Fast {
    /// Literal only.
    Exact(String),
    /// `lit*` (plain globs) or `lit/**` (stored with the `/`).
    Prefix(String),
    /// `*lit` (plain globs).
    Suffix(String),
    /// `*lit*` (plain globs).
    Contains(String),
    /// Walk the tokens.
    General,
}

impl Fast {
    fn of(toks: &[Tok], path: bool) -> Fast {
        let lit = |ts: &[Tok]| -> Option<String> {
            ts.iter()
                .map(|t| match t {
                    Tok::Lit(c) => Some(*c),
                    _ => None,
                })
                .collect()
        };
        if let Some(l) = lit(toks) {
            return Fast::Exact(l);
        }
        let n = toks.len();
        match (toks.first(), toks.last()) {
            (_, Some(Tok::RecSuffix)) => match lit(&toks[..n - 1]) {
                Some(l) => Fast::Prefix(l + "/"),
                None => Fast::General,
            },
            // `*` may not cross `/` in path globs: leave those to the token walk.
            _ if path => Fast::General,
            (Some(Tok::Star), Some(Tok::Star)) if n >= 2 => match lit(&toks[1..n - 1]) {
                Some(l) => Fast::Contains(l),
                None => Fast::General,
            },
            (Some(Tok::Star), _) => match lit(&toks[1..]) {
                Some(l) => Fast::Suffix(l),
                None => Fast::General,
            },
            (_, Some(Tok::Star)) => match lit(&toks[..n - 1]) {
                Some(l) => Fast::Prefix(l),
                None => Fast::General,
            },
            _ => Fast::General,
        }
    }

    /// `Some(result)` for a simple shape, tested against `value`, or against `/` + `value`
    /// when `slash` (path globs retry with a leading `/`); `None` for [`Fast::General`].
    fn test(&self, value: &str, slash: bool, caseless: bool) -> Option<bool> {
        let bytes = value.as_bytes();
        // `/` + value, without building it.
        let starts = |p: &str| {
            if slash {
                p.strip_prefix('/')
                    .is_some_and(|rest| starts_with(bytes, rest.as_bytes(), caseless))
                    || p.is_empty()
            } else {
                starts_with(bytes, p.as_bytes(), caseless)
            }
        };
        Some(match self {
            Fast::Exact(l) => {
                if slash {
                    l.strip_prefix('/')
                        .is_some_and(|rest| eq(rest.as_bytes(), bytes, caseless))
                } else {
                    eq(l.as_bytes(), bytes, caseless)
                }
            }
            Fast::Prefix(p) => starts(p),
            // Plain globs never retry with a slash.
            Fast::Suffix(l) => ends_with(bytes, l.as_bytes(), caseless),
            Fast::Contains(l) => contains(value, l, caseless),
            Fast::General => return None,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Matching: set-of-positions walk over the value's bytes
// ---------------------------------------------------------------------------------------------

struct Walk {
    path: bool,
    caseless: bool,
    /// `?` and `*` step over bytes, not chars (positions inside a char are then reachable).
    bytes: bool,
    bufs: (Vec<bool>, Vec<bool>),
}

impl Walk {
    fn run(&mut self, toks: &[Tok], s: &[u8]) -> bool {
        let mut bufs = std::mem::take(&mut self.bufs);
        let (cur, next) = &mut bufs;
        cur.clear();
        cur.resize(s.len() + 1, false);
        cur[0] = true;
        let hit = self.advance(toks, s, cur, next) && cur[s.len()];
        self.bufs = bufs;
        hit
    }

    /// Moves the live positions `cur` past `toks`; false once none is left.
    fn advance(&self, toks: &[Tok], s: &[u8], cur: &mut Vec<bool>, next: &mut Vec<bool>) -> bool {
        for tok in toks {
            next.clear();
            next.resize(s.len() + 1, false);
            match tok {
                Tok::Alt(alts) => {
                    for alt in alts {
                        let (mut c, mut n) = (cur.clone(), Vec::new());
                        if self.advance(alt, s, &mut c, &mut n) {
                            next.iter_mut().zip(&c).for_each(|(x, y)| *x |= y);
                        }
                    }
                }
                tok => self.step(tok, s, cur, next),
            }
            if !next.iter().any(|&x| x) {
                return false;
            }
            std::mem::swap(cur, next);
        }
        true
    }

    /// One token: each costs O(len) however many positions are live (a `*` fills a run
    /// once, not once per start).
    fn step(&self, tok: &Tok, s: &[u8], cur: &[bool], next: &mut [bool]) {
        let n = s.len();
        let sep = |q: usize| self.path && s[q] == b'/';
        // Star: the end of the run filled so far (positions up to it are set).
        let mut filled: Option<usize> = None;
        // `**/`: what it reaches from the first live position includes what any later one
        // reaches, so the scan is done once.
        let mut scanned = false;
        for p in (0..=n).filter(|&p| cur[p]) {
            match tok {
                Tok::Lit(c) => {
                    let mut buf = [0u8; 4];
                    let lit = c.encode_utf8(&mut buf).as_bytes();
                    if starts_with(&s[p..], lit, self.caseless) {
                        next[p + lit.len()] = true;
                    }
                }
                Tok::Any => {
                    if p < n && !sep(p) {
                        next[p + self.unit_len(s, p)] = true;
                    }
                }
                Tok::Class { negated, ranges } => {
                    if p < n {
                        let (c, len) = decode_char(&s[p..]);
                        let hit = |c: char| ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi);
                        let inside = c.is_some_and(|c| {
                            hit(c)
                                || (self.caseless
                                    && c.is_ascii()
                                    && (hit(c.to_ascii_lowercase()) || hit(c.to_ascii_uppercase())))
                        });
                        if inside != *negated {
                            next[p + len] = true;
                        }
                    }
                }
                Tok::Star => {
                    if filled.is_some_and(|end| p <= end) {
                        continue;
                    }
                    // p, then each position up to and including the next `/` (or the end).
                    let mut end = p;
                    next[p] = true;
                    while end < n && !sep(end) {
                        end += self.unit_len(s, end);
                        next[end] = true;
                    }
                    filled = Some(end);
                }
                Tok::Everything => {
                    self.fill_from(s, p, next);
                    break;
                }
                Tok::RecPrefix => {
                    next[p] = true;
                    if !scanned {
                        scanned = true;
                        for q in p..n {
                            if s[q] == b'/' {
                                next[q + 1] = true;
                            }
                        }
                    }
                }
                Tok::RecSuffix => {
                    if s.get(p) == Some(&b'/') {
                        self.fill_from(s, p + 1, next);
                        break;
                    }
                }
                Tok::RecMiddle => {
                    if s.get(p) == Some(&b'/') {
                        next[p + 1] = true;
                        for q in p + 1..n {
                            if s[q] == b'/' {
                                next[q + 1] = true;
                            }
                        }
                        break;
                    }
                }
                Tok::Alt(_) => unreachable!("alternatives are walked by `advance`"),
            }
        }
    }

    /// Bytes from `p` to the next position `?` can stop at.
    fn unit_len(&self, s: &[u8], p: usize) -> usize {
        if self.bytes {
            1
        } else {
            decode_char(&s[p..]).1
        }
    }

    /// Every position from `p` on (every char boundary, when stepping over chars).
    fn fill_from(&self, s: &[u8], p: usize, next: &mut [bool]) {
        for (q, x) in next.iter_mut().enumerate().skip(p) {
            *x |= self.bytes || q == s.len() || !is_continuation(s[q]);
        }
    }
}

fn is_continuation(b: u8) -> bool {
    b & 0xc0 == 0x80
}

/// The char starting at `bytes[0]` and its length; `(None, 1)` inside a multi-byte char.
fn decode_char(bytes: &[u8]) -> (Option<char>, usize) {
    let len = match bytes[0] {
        b if b < 0x80 => 1,
        b if b >= 0xf0 => 4,
        b if b >= 0xe0 => 3,
        b if b >= 0xc0 => 2,
        _ => return (None, 1),
    };
    match bytes.get(..len).and_then(|b| std::str::from_utf8(b).ok()) {
        Some(s) => (s.chars().next(), len),
        None => (None, 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Y` matches, `N` does not, `X` is not a valid pattern.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Expect {
        Y,
        N,
        X,
    }
    use Expect::{N, X, Y};

    /// As the stack-trace rules call it: values normalized up front.
    fn stack(pattern: &str, options: GlobOptions, value: &str) -> Expect {
        match Glob::new(pattern, options) {
            Ok(g) if g.is_match_normalized(&options.normalize(value)) => Y,
            Ok(_) => N,
            Err(_) => X,
        }
    }

    /// As the fingerprint rules call it: values as the event has them.
    fn fingerprint(pattern: &str, options: GlobOptions, value: &str) -> Expect {
        match Glob::new(pattern, options) {
            Ok(g) if g.is_match(value) => Y,
            Ok(_) => N,
            Err(_) => X,
        }
    }

    /// `(pattern, value, stack-trace rules, fingerprint rules)`, case-sensitive plain globs.
    const PLAIN: &[(&str, &str, Expect, Expect)] = &[
        ("std::*", "std::panicking::begin_panic", Y, Y),
        ("std::*", "core::x", N, N),
        ("*::operator()*", "a/b::operator()(int)", Y, Y),
        ("foo?", "foo/", Y, Y),
        ("?[[]Sentry*", "-[SentryClient send]", Y, Y),
        ("?[[]Sentry*", "-[SentrX send]", N, N),
        ("-\\[NSISEngine*", "-[NSISEngine solve]", Y, Y),
        ("*::\\{dtor\\}", "Foo::{dtor}", Y, Y),
        ("[!a-c]x", "dx", Y, Y),
        ("[!a-c]x", "bx", N, N),
        ("[^a-c]x", "bx", N, N),
        ("[a-c]x", "bx", Y, Y),
        ("[]]", "]", Y, Y),
        ("[-a]", "-", Y, Y),
        ("[a-]", "-", Y, Y),
        ("{foo,bar}::*", "bar::baz", Y, Y),
        ("{foo,bar}::*", "baz::baz", N, N),
        ("{foo,bar}.js", "bar.js", Y, Y),
        ("{foo,bar}.js", "baz.js", N, N),
        ("a,b", "a,b", Y, Y),
        ("a\\*b", "a*b", Y, Y),
        ("a\\*b", "axb", N, N),
        ("Foo", "foo", N, N),
        ("Foo*", "foobar", N, N),
        ("foo*", "foobar", Y, Y),
        ("f?o", "foo", Y, Y),
        ("f?o", "fo", N, N),
        ("*", "", Y, Y),
        ("", "", Y, Y),
        ("", "x", N, N),
        ("a*c", "a/b/c", Y, Y),
        ("com.android.*", "com.android.internal.os.ZygoteInit", Y, Y),
        (
            "androidx.*.widget.*",
            "androidx.recyclerview.widget.RV",
            Y,
            Y,
        ),
        (
            "**/packages/flutter/**",
            "package:flutter/src/packages/flutter/x",
            Y,
            Y,
        ),
        // Newlines are ordinary characters.
        ("*", "multi\nline", Y, Y),
        ("a*b", "a\nb", Y, Y),
        ("café", "café", Y, Y),
        // `?` is one char for the enhancer, one byte for Relay (`é` is two).
        ("caf?", "café", Y, N),
        ("caf??", "café", N, Y),
        ("[abc", "a", X, X),
        ("{a,{b}}", "a", X, X),
        ("{a", "a", X, X),
        ("a\\", "a", X, X),
        ("[z-a]", "z", X, X),
        // A stray `}` is an error for the enhancer, dropped by Relay; so are empty
        // alternatives for Relay only.
        ("a}b", "ab", X, Y),
        ("x{a,}", "x", Y, N),
        ("x{a,}", "xa", Y, Y),
        // Relay merges `**` into a `**/` before it; the enhancer reads two `*`s.
        ("a/**/**/b", "a/b", N, Y),
        ("a/**/**/b", "a/x/b", Y, Y),
    ];

    /// Path globs.
    const PATH: &[(&str, &str, Expect, Expect)] = &[
        (
            "**/site-packages/**",
            "/usr/lib/python3/site-packages/a/b.py",
            Y,
            Y,
        ),
        ("**/node_modules/**", "/app/node_modules/x/y.js", Y, Y),
        // `*` and `?` stay in one segment, `**` crosses them next to `/`.
        ("/usr/*/b.py", "/usr/x/y/b.py", N, N),
        ("/usr/*/b.py", "/usr/x/b.py", Y, Y),
        ("*.js", "a/b.js", N, N),
        ("/usr/?", "//", N, N),
        ("/a/**/b", "/a/b", Y, Y),
        ("/a/**/b", "/a/x/y/b", Y, Y),
        ("/a/**/b", "/ab", N, N),
        ("a/**/b", "a/b", Y, Y),
        ("/a/**", "/a/x/y", Y, Y),
        ("/a/**", "/a", N, N),
        ("a/**", "a", N, N),
        ("**", "any/thing", Y, Y),
        ("{**/a,b}", "x/y/a", Y, Y),
        ("x{a/**,b}", "xa/q/r", Y, Y),
        // `**` glued to other characters is just `*`, so it does not cross `/`.
        ("a**b", "axxb", Y, Y),
        ("a**b", "a/b", N, N),
        (
            "**.app/Contents/**",
            "/applications/x.app/contents/macos/x",
            N,
            N,
        ),
        ("**.app/Contents/**", "x.app/contents/macos/x", Y, Y),
        (
            "**https://unpkg.com/**",
            "https://unpkg.com/react@16/umd/r.js",
            Y,
            Y,
        ),
        (
            "org-dartlang-sdk:///**",
            "org-dartlang-sdk:///lib/async.dart",
            Y,
            Y,
        ),
        ("package:sentry/**", "package:sentry/src/hub.dart", Y, Y),
        // Case-insensitive; backslashes are `/` in pattern and value.
        ("*/b.js", "A/B.JS", Y, Y),
        ("C:/Windows/**", "C:\\WINDOWS\\System32\\x.dll", Y, Y),
        ("C:\\Windows\\**", "c:/windows/x.dll", Y, Y),
        ("c:/foo/*", "C:\\foo\\bar.dll", Y, Y),
        ("É", "é", Y, N),
        // A relative value is also tried with a leading slash: Relay decides on the value
        // as given, the enhancer after normalizing (`\x` is `/x` then).
        ("**/node_modules/**", "node_modules/react/index.js", Y, Y),
        ("/lib/**", "lib/x.so", Y, Y),
        ("//x", "\\x", N, Y),
    ];

    /// Fingerprint rules' case-insensitive plain globs (`message:` …).
    const CASELESS: &[(&str, &str, Expect)] = &[
        ("hydration FAILED*", "Hydration failed because…", Y),
        ("[A-C]x", "bX", Y),
        // ASCII-only folding.
        ("É", "é", N),
        ("a*c", "A/B/C", Y),
    ];

    #[test]
    fn both_rule_languages_on_one_table() {
        let tables = [
            (
                PLAIN,
                GlobOptions::STACK_PLAIN,
                GlobOptions::FINGERPRINT_PLAIN,
            ),
            (PATH, GlobOptions::STACK_PATH, GlobOptions::FINGERPRINT_PATH),
        ];
        for (table, stack_options, fingerprint_options) in tables {
            for &(pattern, value, want_stack, want_fingerprint) in table {
                assert_eq!(
                    (
                        stack(pattern, stack_options, value),
                        fingerprint(pattern, fingerprint_options, value)
                    ),
                    (want_stack, want_fingerprint),
                    "{pattern:?} on {value:?} (stack-trace, fingerprint rules; {stack_options:?})"
                );
            }
        }
        for &(pattern, value, want) in CASELESS {
            let got = fingerprint(pattern, GlobOptions::FINGERPRINT_CASELESS, value);
            assert_eq!(got, want, "{pattern:?} on {value:?}");
        }
    }

    #[test]
    fn too_many_alternatives() {
        let pattern = "{a,b}".repeat(9);
        let value = "ab".repeat(4) + "a";
        assert!(Glob::new(&pattern, GlobOptions::STACK_PLAIN).is_err());
        assert!(
            Glob::new(&pattern, GlobOptions::FINGERPRINT_PLAIN)
                .unwrap()
                .is_match(&value)
        );
    }

    /// The built-in rule that once took 21.7 s on a 250,000-character package.
    #[test]
    fn long_inputs_stay_linear() {
        let value = format!("/{}.app/contents", "a".repeat(250_000));
        for options in [GlobOptions::STACK_PATH, GlobOptions::FINGERPRINT_PATH] {
            let glob = Glob::new("**.app/Contents/**", options).unwrap();
            assert!(!glob.is_match(&value));
        }
    }

    /// The tokens' meaning, by plain backtracking: the reference the linear walk must agree
    /// with (ASCII values, so chars and bytes are the same).
    fn naive(toks: &[Tok], s: &[u8], sep: bool, p: usize) -> bool {
        let Some((tok, rest)) = toks.split_first() else {
            return p == s.len();
        };
        let next = |q: usize| naive(rest, s, sep, q);
        let slash_after = |from: usize| (from..s.len()).filter(|&i| s[i] == b'/');
        match tok {
            Tok::Lit(c) => s.get(p) == Some(&(*c as u8)) && next(p + 1),
            Tok::Any => s.get(p).is_some_and(|&c| !(sep && c == b'/')) && next(p + 1),
            Tok::Class { negated, ranges } => {
                s.get(p).is_some_and(|&c| {
                    negated
                        ^ ranges
                            .iter()
                            .any(|&(lo, hi)| lo <= c as char && c as char <= hi)
                }) && next(p + 1)
            }
            Tok::Star => {
                let mut q = p;
                loop {
                    if next(q) {
                        return true;
                    }
                    if q == s.len() || (sep && s[q] == b'/') {
                        return false;
                    }
                    q += 1;
                }
            }
            Tok::Everything => (p..=s.len()).any(next),
            Tok::RecPrefix => next(p) || slash_after(p).any(|i| next(i + 1)),
            Tok::RecSuffix => s.get(p) == Some(&b'/') && (p + 1..=s.len()).any(next),
            Tok::RecMiddle => {
                s.get(p) == Some(&b'/') && (next(p + 1) || slash_after(p + 1).any(|i| next(i + 1)))
            }
            Tok::Alt(alts) => alts.iter().any(|alt| {
                let mut seq = alt.clone();
                seq.extend_from_slice(rest);
                naive(&seq, s, sep, p)
            }),
        }
    }

    #[test]
    fn the_linear_walk_agrees_with_backtracking() {
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut random = |n: usize| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) as usize % n
        };
        let kinds = [
            Tok::Lit('a'),
            Tok::Lit('b'),
            Tok::Lit('/'),
            Tok::Any,
            Tok::Star,
            Tok::Everything,
            Tok::RecPrefix,
            Tok::RecSuffix,
            Tok::RecMiddle,
            Tok::Class {
                negated: true,
                ranges: vec![('a', 'a')],
            },
            Tok::Alt(vec![vec![Tok::Lit('a'), Tok::Star], vec![]]),
        ];
        for _ in 0..20_000 {
            let toks: Vec<Tok> = (0..random(6))
                .map(|_| kinds[random(kinds.len())].clone())
                .collect();
            let s: Vec<u8> = (0..random(12))
                .map(|_| [b'a', b'b', b'/'][random(3)])
                .collect();
            for (path, bytes) in [(false, false), (true, false), (false, true), (true, true)] {
                let mut walk = Walk {
                    path,
                    caseless: false,
                    bytes,
                    bufs: (Vec::new(), Vec::new()),
                };
                assert_eq!(
                    walk.run(&toks, &s),
                    naive(&toks, &s, path, 0),
                    "{toks:?} on {:?} (path: {path})",
                    String::from_utf8_lossy(&s)
                );
            }
        }
    }
}

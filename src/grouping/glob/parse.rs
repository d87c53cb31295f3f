//! globset's pattern syntax, read into tokens for the walk.

use super::{Syntax, Tok};

pub(super) struct Parser {
    chars: Vec<char>,
    /// Next char to read.
    i: usize,
    syntax: Syntax,
    top: Vec<Tok>,
    /// Alternatives of the open `{…}`, the last one being filled.
    alt: Option<Vec<Vec<Tok>>>,
}

impl Parser {
    pub(super) fn new(pattern: &str, syntax: Syntax) -> Parser {
        Parser {
            chars: pattern.chars().collect(),
            i: 0,
            syntax,
            top: Vec::new(),
            alt: None,
        }
    }

    pub(super) fn parse(mut self) -> Result<Vec<Tok>, String> {
        while let Some(c) = self.bump() {
            match c {
                '\\' => {
                    let next = self.bump().ok_or("dangling `\\`")?;
                    self.push(Tok::Lit(next));
                }
                '?' => self.push(Tok::Any),
                '*' => self.star(),
                '[' => self.class()?,
                '{' => {
                    if self.alt.is_some() {
                        return Err("nested `{` alternatives are not supported".to_owned());
                    }
                    self.alt = Some(vec![Vec::new()]);
                }
                '}' => {
                    let alts = match (self.alt.take(), self.syntax) {
                        (None, Syntax::Enhancer) => return Err("`}` without `{`".to_owned()),
                        // An empty `{}` in effect.
                        (None, Syntax::Relay) => vec![Vec::new()],
                        (Some(alts), Syntax::Enhancer) => alts,
                        (Some(mut alts), Syntax::Relay) => {
                            alts.retain(|a| !a.is_empty());
                            if alts.is_empty() {
                                alts.push(Vec::new());
                            }
                            alts
                        }
                    };
                    self.top.push(Tok::Alt(alts));
                }
                ',' => match self.alt.as_mut() {
                    Some(alts) => alts.push(Vec::new()),
                    None => self.push(Tok::Lit(',')),
                },
                c => self.push(Tok::Lit(c)),
            }
        }
        if self.alt.is_some() {
            return Err("unclosed `{`".to_owned());
        }
        Ok(self.top)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    /// The sequence being filled: the open alternative, else the pattern.
    fn seq(&mut self) -> &mut Vec<Tok> {
        match self.alt.as_mut() {
            Some(alts) => alts.last_mut().expect("an alternative is open"),
            None => &mut self.top,
        }
    }

    fn push(&mut self, tok: Tok) {
        self.seq().push(tok);
    }

    /// globset's `parse_star`: `**` is recursive only next to `/` (or at the start).
    fn star(&mut self) {
        // The char before this `*`, as written (Relay's globset looks at chars, not tokens).
        let prev = self.i.checked_sub(2).map(|j| self.chars[j]);
        if self.peek() != Some('*') {
            self.push(Tok::Star);
            return;
        }
        self.i += 1;
        let double = |p: &mut Parser| {
            p.push(Tok::Star);
            p.push(Tok::Star);
        };
        if self.seq().is_empty() {
            match self.peek() {
                None => self.push(Tok::RecPrefix),
                Some('/') => {
                    self.i += 1;
                    self.push(Tok::RecPrefix);
                }
                Some(_) => double(self),
            }
            return;
        }
        let in_alt = self.alt.is_some();
        let after_separator = match self.syntax {
            Syntax::Enhancer => self.seq().last() == Some(&Tok::Lit('/')),
            Syntax::Relay => prev == Some('/') || (in_alt && matches!(prev, Some(',' | '{'))),
        };
        if !after_separator {
            return double(self);
        }
        let is_suffix = match self.peek() {
            None => true,
            Some(',' | '}') if in_alt => true,
            Some('/') => {
                self.i += 1;
                false
            }
            Some(_) => return double(self),
        };
        // The `/` before `**` becomes part of the recursive token; under Relay a `/` that an
        // earlier `**` took merges the two.
        let tok = match self.seq().pop() {
            Some(Tok::RecPrefix) => Tok::RecPrefix,
            Some(Tok::RecSuffix) => Tok::RecSuffix,
            _ if is_suffix => Tok::RecSuffix,
            _ => Tok::RecMiddle,
        };
        self.push(tok);
    }

    /// globset's `parse_class`: `[!…]`/`[^…]` negate, a leading `]` or `-` is literal,
    /// no escapes inside.
    fn class(&mut self) -> Result<(), String> {
        let negated = matches!(self.peek(), Some('!' | '^'));
        if negated {
            self.i += 1;
        }
        let mut ranges: Vec<(char, char)> = Vec::new();
        let mut first = true;
        let mut in_range = false;
        loop {
            let c = self.bump().ok_or("unclosed `[`")?;
            match c {
                ']' if !first => break,
                '-' if !first && !in_range => in_range = true,
                c => {
                    if in_range {
                        let last = ranges.last_mut().expect("a range start exists");
                        if c < last.0 {
                            return Err(format!("invalid range `{}-{c}`", last.0));
                        }
                        last.1 = c;
                    } else {
                        ranges.push((c, c));
                    }
                    in_range = false;
                }
            }
            first = false;
        }
        if in_range {
            ranges.push(('-', '-'));
        }
        self.push(Tok::Class { negated, ranges });
        Ok(())
    }
}

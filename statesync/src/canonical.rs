//! `Debug` renderings made the same in every run: the entries of every map and set are
//! sorted. A `HashMap` or `HashSet` prints its entries in the order of its hash seed, which
//! changes from process to process; a plan, a log line or a snapshot must not.
//!
//! The rendering is rewritten, not the value: any `{...}` group whose contents do not start
//! with a space is a map or a set (`{"a": 1, "b": 2}`, `{1, 2}`), while a struct prints
//! `Name { field: value }`. Its top-level entries, split at `", "` outside strings,
//! characters and brackets, are sorted by their text, runs of digits compared by value (so
//! `{9, 10}` stays in that order). Entries inside are made canonical first.

use std::cmp::Ordering;
use std::str::Chars;

/// The canonical form of a `Debug` rendering (see the module docs).
pub(crate) fn canonical(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut scan = Scan { rest: text.chars() };
    scan.copy_until(None, &mut out, &mut Vec::new());
    out
}

struct Scan<'a> {
    rest: Chars<'a>,
}

impl Scan<'_> {
    /// Copies text to `out` up to `close` (consumed, not copied), rewriting nested groups;
    /// records in `splits` where top-level `", "` separators start. Whether `close` came.
    fn copy_until(
        &mut self,
        close: Option<char>,
        out: &mut String,
        splits: &mut Vec<usize>,
    ) -> bool {
        while let Some(c) = self.rest.next() {
            if Some(c) == close {
                return true;
            }
            match c {
                '"' => self.copy_string(out),
                '\'' => self.copy_char(out),
                '[' | '(' => {
                    out.push(c);
                    let closer = if c == '[' { ']' } else { ')' };
                    if self.copy_until(Some(closer), out, &mut Vec::new()) {
                        out.push(closer);
                    }
                }
                '{' => self.copy_braces(out),
                ',' if self.rest.clone().next() == Some(' ') => {
                    splits.push(out.len());
                    out.push(',');
                }
                _ => out.push(c),
            }
        }
        false
    }

    /// A `{...}` group: a struct body is copied; a map or set has its entries sorted.
    fn copy_braces(&mut self, out: &mut String) {
        let mut inner = String::new();
        let mut splits = Vec::new();
        let closed = self.copy_until(Some('}'), &mut inner, &mut splits);
        out.push('{');
        if inner.starts_with(' ') || splits.is_empty() {
            out.push_str(&inner);
        } else {
            let mut entries = Vec::with_capacity(splits.len() + 1);
            let mut from = 0;
            for at in splits {
                entries.push(inner.get(from..at).unwrap_or_default());
                from = at + 2;
            }
            entries.push(inner.get(from..).unwrap_or_default());
            entries.sort_by(|a, b| natural(a, b));
            out.push_str(&entries.join(", "));
        }
        if closed {
            out.push('}');
        }
    }

    /// A string literal, escapes included, copied as it is.
    fn copy_string(&mut self, out: &mut String) {
        out.push('"');
        while let Some(c) = self.rest.next() {
            out.push(c);
            match c {
                '\\' => {
                    if let Some(escaped) = self.rest.next() {
                        out.push(escaped);
                    }
                }
                '"' => return,
                _ => {}
            }
        }
    }

    /// A character literal (`'a'`, `'\''`, `'\u{1f600}'`), or a lone apostrophe.
    fn copy_char(&mut self, out: &mut String) {
        out.push('\'');
        let mut ahead = self.rest.clone();
        let mut literal = String::new();
        let closed = match ahead.next() {
            Some('\\') => {
                literal.push('\\');
                let mut closed = false;
                for _ in 0..12 {
                    match ahead.next() {
                        Some('\'') if literal.len() > 1 => {
                            closed = true;
                            break;
                        }
                        Some(c) => literal.push(c),
                        None => break,
                    }
                }
                closed
            }
            Some(c) if c != '\'' => {
                literal.push(c);
                ahead.next() == Some('\'')
            }
            _ => false,
        };
        if closed {
            out.push_str(&literal);
            out.push('\'');
            self.rest = ahead;
        }
    }
}

/// Text order, with runs of ASCII digits compared by value.
fn natural(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        let (Some(x), Some(y)) = (a.chars().next(), b.chars().next()) else {
            return a.len().cmp(&b.len());
        };
        if x.is_ascii_digit() && y.is_ascii_digit() {
            let (run_a, rest_a) = digits(a);
            let (run_b, rest_b) = digits(b);
            let (value_a, value_b) = (run_a.trim_start_matches('0'), run_b.trim_start_matches('0'));
            let order = value_a
                .len()
                .cmp(&value_b.len())
                .then_with(|| value_a.cmp(value_b))
                .then_with(|| run_a.len().cmp(&run_b.len()));
            if order != Ordering::Equal {
                return order;
            }
            (a, b) = (rest_a, rest_b);
        } else {
            if x != y {
                return x.cmp(&y);
            }
            (a, b) = (after_first(a), after_first(b));
        }
    }
}

/// The text after its first character.
fn after_first(text: &str) -> &str {
    let mut chars = text.chars();
    chars.next();
    chars.as_str()
}

/// The leading run of ASCII digits and the rest.
fn digits(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text.split_at(end)
}

#[cfg(test)]
mod tests {
    use super::canonical;
    use std::collections::{HashMap, HashSet};

    #[test]
    fn maps_and_sets_are_sorted_structs_and_lists_are_not() {
        assert_eq!(canonical(r#"{"b": 1, "a": 2}"#), r#"{"a": 2, "b": 1}"#);
        assert_eq!(canonical("{10, 9, 100}"), "{9, 10, 100}");
        assert_eq!(canonical("[3, 1, 2]"), "[3, 1, 2]");
        assert_eq!(canonical("S { b: 1, a: 2 }"), "S { b: 1, a: 2 }");
        assert_eq!(canonical("S { m: {2, 1} }"), "S { m: {1, 2} }");
        assert_eq!(
            canonical(r#"{"x, y": {3, 2}, "a": {}}"#),
            r#"{"a": {}, "x, y": {2, 3}}"#
        );
        assert_eq!(canonical(r#"{'}', '\'', 'a'}"#), r#"{'\'', 'a', '}'}"#);
        assert_eq!(canonical(r#"Some("{b, a}")"#), r#"Some("{b, a}")"#);
        assert_eq!(canonical("{unclosed, a"), "{a, unclosed");
        assert_eq!(canonical("it's {b, a}"), "it's {a, b}");
    }

    #[test]
    fn hash_collections_render_alike_whatever_their_seed() {
        let words: HashSet<String> = (0..50).map(|n| format!("w{n}")).collect();
        let map: HashMap<u32, Vec<u8>> = (0..50).map(|n| (n, vec![1, 0])).collect();
        // Every new `RandomState` has other keys: these iterate in another order.
        let again: HashSet<String> = (0..50).rev().map(|n| format!("w{n}")).collect();
        let map_again: HashMap<u32, Vec<u8>> = (0..50).rev().map(|n| (n, vec![1, 0])).collect();
        assert_ne!(format!("{map:?}"), format!("{map_again:?}"));
        assert_eq!(
            canonical(&format!("{words:?}")),
            canonical(&format!("{again:?}"))
        );
        assert_eq!(
            canonical(&format!("{map:?}")),
            canonical(&format!("{map_again:?}"))
        );
        assert!(canonical(&format!("{map:?}")).starts_with("{0: [1, 0], 1: [1, 0], 2: "));
    }
}

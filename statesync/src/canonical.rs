//! `Debug` renderings made the same in every run: the entries of every map and set are
//! sorted. A `HashMap` or `HashSet` prints its entries in the order of its hash seed, which
//! changes from process to process; a plan, a log line or a snapshot must not.
//!
//! The rendering is rewritten, not the value: any `{...}` group whose contents do not start
//! with a space is a map or a set (`{"a": 1, "b": 2}`, `{1, 2}`), while a struct prints
//! `Name { field: value }`. Its top-level entries, split at `", "` outside strings,
//! characters and brackets, are sorted by their text, runs of digits compared by value (so
//! `{9, 10}` stays in that order). Entries inside are made canonical first, down to
//! [`MAX_NESTING`] levels; deeper groups are copied as they are (a hand-written `Debug` can
//! print any run of brackets, and the scan must not recurse without bound).
//!
//! Control characters, line separators and bidirectional controls that a hand-written
//! `Debug` prints raw (outside strings, inside them, or between single quotes) are escaped
//! as a string's `Debug` escapes them, so a value never adds a line to a plan nor reorders
//! it.

use std::cmp::Ordering;
use std::str::Chars;

/// How many levels of nested groups the canonical form rewrites.
pub(crate) const MAX_NESTING: usize = 64;

/// The canonical form of a `Debug` rendering (see the module docs).
pub(crate) fn canonical(text: &str) -> String {
    scanned(text, true)
}

/// A `Debug` rendering with its control characters escaped, its map and set entries left
/// in the order they print: for two values that differ but whose canonical forms are the
/// same (an order-sensitive type that prints like a map), so that sorting never makes a
/// change render as `x -> x`.
pub(crate) fn escaped(text: &str) -> String {
    scanned(text, false)
}

fn scanned(text: &str, sort: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut scan = Scan {
        rest: text.chars(),
        depth: 0,
        sort,
    };
    scan.copy_until(None, &mut out, &mut Vec::new());
    out
}

struct Scan<'a> {
    rest: Chars<'a>,
    /// How many groups the scan is inside.
    depth: usize,
    /// Whether map and set entries are sorted.
    sort: bool,
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
                '[' | '(' | '{' if self.depth >= MAX_NESTING => out.push(c),
                '[' | '(' => {
                    out.push(c);
                    let closer = if c == '[' { ']' } else { ')' };
                    self.depth += 1;
                    if self.copy_until(Some(closer), out, &mut Vec::new()) {
                        out.push(closer);
                    }
                    self.depth -= 1;
                }
                '{' => {
                    self.depth += 1;
                    self.copy_braces(out);
                    self.depth -= 1;
                }
                ',' if self.rest.clone().next() == Some(' ') => {
                    splits.push(out.len());
                    out.push(',');
                }
                _ => push_on_the_line(out, c),
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
        if !self.sort || inner.starts_with(' ') || splits.is_empty() {
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
            match c {
                '\\' => {
                    out.push(c);
                    // After a backslash a hand-written `Debug` printed raw, too.
                    if let Some(escaped) = self.rest.next() {
                        push_on_the_line(out, escaped);
                    }
                }
                '"' => {
                    out.push(c);
                    return;
                }
                // Only a hand-written `Debug` leaves one raw in a string.
                _ => push_on_the_line(out, c),
            }
        }
    }

    /// A character literal (`'a'`, `'\''`, `'\u{1f600}'`), or a lone apostrophe. A
    /// character only a hand-written `Debug` prints raw between quotes (`'\n'` as a real
    /// newline) is escaped, as in a string.
    fn copy_char(&mut self, out: &mut String) {
        out.push('\'');
        let rest = self.rest.as_str();
        if let Some((literal, after)) =
            char_literal_rest(rest).and_then(|len| Some((rest.get(..len)?, rest.get(len..)?)))
        {
            for c in literal.chars() {
                push_on_the_line(out, c);
            }
            self.rest = after.chars();
        }
    }
}

/// How many bytes of `text`, which follows an apostrophe, end the character literal it
/// opens (`a'`, `\''`, `\u{1f600}'`, the closing quote included); `None` when the
/// apostrophe opens none (a hand-written `Debug` printing `O'Brien`).
fn char_literal_rest(text: &str) -> Option<usize> {
    let mut chars = text.char_indices();
    match chars.next()? {
        // An escape: closed by a quote that is not the escaped character, within 12.
        (_, '\\') => chars
            .take(12)
            .find(|&(at, c)| c == '\'' && at > 1)
            .map(|(at, _)| at + 1),
        (_, '\'') => None,
        (_, c) => (chars.next()? == (c.len_utf8(), '\'')).then_some(c.len_utf8() + 1),
    }
}

/// Whether two renderings are alike once the sign of every zero outside strings is
/// dropped (`-0.0` is `0.0`, as `==` has it): how values that are not equal to themselves
/// (holding a `NaN`) are compared.
pub(crate) fn alike_but_zero_signs(a: &str, b: &str) -> bool {
    a == b || without_zero_signs(a) == without_zero_signs(b)
}

/// The text with the `-` of every `-0.0` outside strings left out.
fn without_zero_signs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut rest = text.char_indices().peekable();
    while let Some((at, c)) = rest.next() {
        match c {
            '"' => in_string = !in_string,
            '\\' if in_string => {
                out.push(c);
                if let Some((_, escaped)) = rest.next() {
                    out.push(escaped);
                }
                continue;
            }
            '-' if !in_string && is_zero_at(text, at + 1) => continue,
            '\'' if !in_string => {
                // A char literal ('"', '\'', '\u{0}') is copied whole: its quote starts no
                // string.
                out.push(c);
                let after = text.get(at + 1..).unwrap_or_default();
                let literal = char_literal_rest(after).and_then(|len| after.get(..len));
                for literal_char in literal.unwrap_or_default().chars() {
                    out.push(literal_char);
                    rest.next();
                }
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

/// Whether `0.0` starts at `at` and no digit follows it.
fn is_zero_at(text: &str, at: usize) -> bool {
    text.get(at..).is_some_and(|rest| {
        rest.strip_prefix("0.0")
            .is_some_and(|after| !after.starts_with(|c: char| c.is_ascii_digit() || c == 'e'))
    })
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

/// A character a hand-written `Debug` may print raw that would break or reorder a plan's
/// line: a control character (a newline), a line or paragraph separator (some terminals
/// and editors break lines there), or a bidirectional control (it reorders what follows).
/// Escaped as a string's `Debug` escapes it.
fn breaks_the_line(c: char) -> bool {
    is_line_break(c) || is_bidi_control(c)
}

/// Pushes `c`, escaped if it [breaks the line](breaks_the_line).
fn push_on_the_line(out: &mut String, c: char) {
    if breaks_the_line(c) {
        out.extend(c.escape_debug());
    } else {
        out.push(c);
    }
}

/// A control character (a newline) or Unicode's line or paragraph separator.
pub(crate) fn is_line_break(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// A bidirectional control (Unicode's `Bidi_Control`: the Arabic letter mark and the
/// marks, embeddings, overrides and isolates): shown raw, it reorders the rest of a line.
pub(crate) fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

#[cfg(test)]
mod tests {
    use super::canonical;
    use std::collections::{HashMap, HashSet};

    #[test]
    fn zero_signs_are_dropped_outside_strings_only() {
        use super::alike_but_zero_signs as alike;
        assert!(alike("[-0.0, NaN]", "[0.0, NaN]"));
        assert!(alike("S { a: -0.0 }", "S { a: 0.0 }"));
        assert!(!alike("[-0.05, NaN]", "[0.05, NaN]"));
        assert!(!alike("[-0.0, NaN]", "[1.0, NaN]"));
        assert!(!alike(r#"["-0.0", NaN]"#, r#"["0.0", NaN]"#));
        assert!(!alike(r#"["\"-0.0", NaN]"#, r#"["\"0.0", NaN]"#));
        // A quote in a char literal starts no string.
        assert!(alike(
            r#"[('"', -0.0), ('x', NaN)]"#,
            r#"[('"', 0.0), ('x', NaN)]"#
        ));
        assert!(alike(r"[('\'', -0.0), NaN]", r"[('\'', 0.0), NaN]"));
        assert!(!alike(r#"[('"', "-0.0"), NaN]"#, r#"[('"', "0.0"), NaN]"#));
        // A lone apostrophe (a hand-written `Debug`) opens nothing.
        assert!(alike("[O'Brien, -0.0, NaN]", "[O'Brien, 0.0, NaN]"));
    }

    #[test]
    fn line_separators_and_bidi_controls_printed_raw_are_escaped() {
        use super::escaped;
        // A hand-written `Debug` printing them raw, outside and inside quotes: a plan line
        // is neither broken (some terminals break at U+2028) nor reordered (U+202E).
        assert_eq!(escaped("a\u{2028}b"), "a\\u{2028}b");
        assert_eq!(escaped("\"x\u{202e}y\""), "\"x\\u{202e}y\"");
        assert_eq!(escaped("\"\n\""), "\"\\n\"");
        // Every `Bidi_Control`, the Arabic letter mark included.
        for control in ['\u{61c}', '\u{200e}', '\u{202a}', '\u{2069}'] {
            let escaped = escaped(&format!("x{control}y"));
            assert_eq!(escaped, format!("x\\u{{{:x}}}y", u32::from(control)));
        }
        assert_eq!(escaped("caf\u{e9} \u{1f600}"), "caf\u{e9} \u{1f600}");
        // Between single quotes too, as a hand-written `Debug` may print a label (they were
        // copied raw as a character literal; found by an outside tester).
        assert_eq!(escaped("'\n'"), "'\\n'");
        assert_eq!(escaped("'\u{2028}'"), "'\\u{2028}'");
        assert_eq!(canonical("['\u{202e}', 'a']"), "['\\u{202e}', 'a']");
        assert_eq!(
            escaped(r"'\n'"),
            r"'\n'",
            "an escaped literal stays as it is"
        );
        // After a backslash a hand-written `Debug` printed raw (a Windows path), inside a
        // string: the character after it is escaped too (it was copied raw, so a value
        // could add a forged line to a plan; found by an outside tester).
        assert_eq!(escaped("\"C:\\dir\\\n~ x\""), "\"C:\\dir\\\\n~ x\"");
        assert_eq!(escaped("\"a\\\u{202e}b\""), "\"a\\\\u{202e}b\"");
        assert_eq!(
            escaped(r#""a\"b""#),
            r#""a\"b""#,
            "an escaped quote stays as it is"
        );
    }

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

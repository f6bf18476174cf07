//! Where in a JSON text a byte offset falls, as a path of members and indices: what names
//! the element a value that cannot be stored came from (a NUL character, a `NaN` written
//! as `null`, nesting too deep), in the serde form of a state or a diff.

/// One open container of the path.
struct Open {
    /// An array (`[`), or an object (`{`).
    array: bool,
    /// In an array, the index of the current element.
    index: usize,
    /// In an object, the member whose value is being read (`None` while reading a name).
    member: Option<String>,
    /// In an object, whether the next string is a member's name.
    expects_name: bool,
    /// In an object, where the value of its `key` member starts, while it is read.
    key_from: Option<usize>,
    /// In an object, the text of its `key` member once read (how a diff's element and a
    /// map entry name their model).
    key: Option<String>,
}

impl Open {
    fn new(array: bool) -> Self {
        Self {
            array,
            index: 0,
            member: None,
            expects_name: !array,
            key_from: None,
            key: None,
        }
    }
}

/// How many containers a path shows before it leaves the rest out (a value nested too
/// deep would give one segment per level).
const SHOWN: usize = 24;

/// The path to the byte `offset` of the JSON text `json` (compact, as serde_json writes
/// it): members by name, array elements by index, an element with a `key` member followed
/// by that key (`elements[2] {"name":"a"}.action.update.fields.price`).
pub(crate) fn path_at(json: &str, offset: usize) -> String {
    let bytes = json.as_bytes();
    let mut open: Vec<Open> = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    let mut string_from = 0;
    for (at, &byte) in bytes.iter().enumerate().take(offset) {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => {
                    in_string = false;
                    if let Some(top) = open.last_mut()
                        && top.expects_name
                    {
                        top.member = json.get(string_from..at).map(str::to_owned);
                        top.expects_name = false;
                    }
                }
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => {
                in_string = true;
                string_from = at + 1;
            }
            b'{' | b'[' => open.push(Open::new(byte == b'[')),
            b'}' | b']' => {
                drop(open.pop());
            }
            b',' => {
                if let Some(top) = open.last_mut() {
                    if top.array {
                        top.index += 1;
                    } else {
                        top.expects_name = true;
                        top.member = None;
                    }
                }
            }
            _ => {}
        }
        // The `key` member's value: from the byte after its `:` to the `,` or `}` that
        // closes it at its object's level.
        if let Some(top) = open.last_mut()
            && !top.array
        {
            if byte == b':' && top.member.as_deref() == Some("key") {
                top.key_from = Some(at + 1);
            } else if let Some(from) = top.key_from
                && byte == b','
            {
                top.key = json.get(from..at).map(str::to_owned);
                top.key_from = None;
            }
        }
    }
    render(&open)
}

/// The open containers as a path.
fn render(open: &[Open]) -> String {
    let mut path = String::new();
    for (depth, container) in open.iter().enumerate() {
        if depth == SHOWN {
            path.push_str(&format!(".. ({} levels more)", open.len() - SHOWN));
            break;
        }
        if container.array {
            path.push_str(&format!("[{}]", container.index));
            continue;
        }
        if let Some(key) = &container.key {
            path.push(' ');
            path.push_str(key);
        }
        if let Some(member) = &container.member {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(member);
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::path_at;

    #[test]
    fn names_members_indices_and_the_element_key() {
        let json = r#"{"model":"site","elements":[{"key":{"name":"a"},"action":{"update":{"fields":{"price":{"old":1.5,"new":null}}}}},{"key":{"name":"b"},"action":{"create":{"name":"x\u0000"}}}]}"#;
        let null = json.find("null").unwrap_or_default();
        assert_eq!(
            path_at(json, null),
            r#"elements[0] {"name":"a"}.action.update.fields.price.new"#
        );
        let nul = json.find(r"\u0000").unwrap_or_default();
        assert_eq!(
            path_at(json, nul),
            r#"elements[1] {"name":"b"}.action.create.name"#
        );
        // Inside the key itself, before it is read whole.
        let in_key = json.find(r#""a""#).unwrap_or_default();
        assert_eq!(path_at(json, in_key), "elements[0].key.name");
    }

    #[test]
    fn a_deep_path_is_cut() {
        let json = format!("{}1{}", "[".repeat(100), "]".repeat(100));
        let path = path_at(&json, 100);
        assert!(path.starts_with("[0][0]"), "{path}");
        assert!(path.ends_with(".. (76 levels more)"), "{path}");
    }

    #[test]
    fn escaped_quotes_and_separators_in_strings_are_not_structure() {
        let json = r#"{"a":"x\",[{}]","b":[1,2,3]}"#;
        let three = json.rfind('3').unwrap_or_default();
        assert_eq!(path_at(json, three), "b[2]");
    }
}

//! `statesync-derive` named directly, beside a `statesync` with only the `derive` feature:
//! models whose options belong to the layers left out (sync flags, a `merge_with`
//! function) compile and diff. Before, the derive's own default features emitted the sync
//! and merge impls and the serde of the records, which this runtime does not have: 11
//! errors.

use statesync::{DiffModel, Store};

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(flags = "IGNORE")]
struct Shelf {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    books: Store<Book>,
}

#[derive(statesync_derive::DiffModel, Clone, Debug, PartialEq)]
struct Book {
    #[statesync(id)]
    isbn: u64,
    #[statesync(merge_with = "keep_ours")]
    copies: u32,
}

/// A `merge_with` function: checked even without the `merge` layer.
fn keep_ours(_base: Option<&u32>, ours: &u32, _theirs: &u32) -> Option<u32> {
    Some(*ours)
}

fn main() -> Result<(), statesync::Error> {
    let book = |copies| Book { isbn: 1, copies };
    let old = Shelf {
        name: "a".into(),
        books: Store::try_from_iter([book(1)])?,
    };
    let new = Shelf {
        books: Store::try_from_iter([book(2)])?,
        ..old.clone()
    };
    let diff = old.diff(&new)?;
    assert_eq!(
        diff.to_string(),
        "  shelf[name=a]\n  ~ book[isbn=1] copies: 1 -> 2\n"
    );
    print!("{diff}");
    Ok(())
}

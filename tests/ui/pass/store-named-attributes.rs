// A type of the user's own named `Store` is an attribute like any other, and a `Store` of
// models with its own `eq` is compared as one value on purpose: neither is refused, and
// neither warns, also beside a trait of the user's with a `probe` method for every type.
#![deny(warnings)]
use statesync::DiffModel;

mod shop {
    #[derive(Clone, Debug, PartialEq)]
    pub struct Store<T>(pub Vec<T>);
}

// A trait of the user's whose method every type has, named as the check's could be (it
// broke the check: a reviewer).
trait Probe {
    fn probe(&self) -> u8 {
        0
    }
}

impl<T: ?Sized> Probe for T {}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Track {
    #[statesync(id)]
    number: u32,
}

fn same_length(a: &statesync::Store<Track>, b: &statesync::Store<Track>) -> bool {
    a.len() == b.len()
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Album {
    #[statesync(id)]
    title: String,
    outlets: shop::Store<String>,
    #[statesync(eq = same_length)]
    bonus: statesync::Store<Track>,
    #[statesync(children)]
    tracks: statesync::Store<Track>,
}

fn main() {
    let a = Album {
        title: "a".into(),
        outlets: shop::Store(vec!["x".into()]),
        bonus: statesync::Store::new(),
        tracks: statesync::Store::new(),
    };
    let mut b = a.clone();
    b.outlets.0.push("y".into());
    let diff = a.diff(&b).unwrap();
    assert_eq!(diff.summary().update, 1);
    assert_eq!(diff.probe(), 0);
}

// A `Store` of models without `children` would be compared as one value; it is refused at
// its type (it compiled and diffed the whole store as an attribute: an outside tester).
use statesync::{DiffModel, Store};

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Track {
    #[statesync(id)]
    number: u32,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Album {
    #[statesync(id)]
    title: String,
    tracks: Store<Track>,
}

fn main() {}

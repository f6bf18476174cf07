// `children` on collections whose elements are surely no models: one error each, at the
// type (there were 48 each, at every generated use).
use std::collections::BTreeMap;

use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Switch {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    ports: Vec<u32>,
    #[statesync(children)]
    labels: BTreeMap<String, String>,
    #[statesync(children)]
    pairs: Vec<(String, u32)>,
    #[statesync(children)]
    names: Vec<&'static str>,
    #[statesync(children)]
    maybe: Vec<Option<Seat>>,
    #[statesync(children)]
    shared: Vec<std::sync::Arc<Seat>>,
    #[statesync(children)]
    nested: Vec<Vec<Seat>>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Seat {
    #[statesync(id)]
    row: u32,
}

fn main() {}

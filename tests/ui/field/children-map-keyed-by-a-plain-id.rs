// A map of children keyed by a plain id (a string, a number, a tuple) rather than the
// children's generated key: one error each, at the type (there were 21, some naming serde
// and hooks). A bare name such as `Uuid` is not judged: it may be an alias of the key, or
// the key renamed with `key_type`.
use std::collections::{BTreeMap, HashMap};

use indexmap::IndexMap;

use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Rack {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    by_name: BTreeMap<String, Server>,
    #[statesync(children)]
    by_number: HashMap<u64, Server, std::hash::RandomState>,
    #[statesync(children)]
    by_pair: IndexMap<(u64, u64), Server>,
    // The generated key: fine.
    #[statesync(children)]
    keyed: BTreeMap<ServerKey, Server>,
}

// A generic child: its key is `<T as DiffModel>::Key`, there is no `TKey` to name.
#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Shelf<T: DiffModel + Clone + std::fmt::Debug + PartialEq> {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    items: BTreeMap<String, T>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Server {
    #[statesync(id)]
    name: String,
}

fn main() {}

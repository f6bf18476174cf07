// A map of children keyed by a plain id rather than the children's generated key: one
// error each, at the type (there were 21, some naming serde and hooks).
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
    by_uuid: IndexMap<Uuid, Server>,
    // The generated key: fine.
    #[statesync(children)]
    keyed: BTreeMap<ServerKey, Server>,
}

/// A stand-in for `uuid::Uuid`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Uuid(u128);

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Server {
    #[statesync(id)]
    name: String,
}

fn main() {}

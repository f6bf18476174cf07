// A scoped load built past `Scoped::new`: a model whose key is not among the covered keys
// would be outside the scope, silently not synced. The fields are private (so a model
// cannot be added to `models` past `new` either).
use statesync::scope::Scoped;
use statesync::{DiffModel, Store};

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Site {
    #[statesync(id)]
    name: String,
}

fn main() {
    let found = Store::try_from_iter([Site { name: "lon".into() }]).unwrap();
    let _ = Scoped { models: found, covers: Vec::new() };
}

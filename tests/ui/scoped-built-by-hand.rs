// A scoped load built past `Scoped::new`: a model added without its key in the covered
// keys would be outside the scope, silently not synced. The fields are private.
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
    let mut load = Scoped::new(Store::new(), [SiteKey { name: "nyc".into() }]);
    let _ = load.models.insert(Site { name: "ams".into() });
}

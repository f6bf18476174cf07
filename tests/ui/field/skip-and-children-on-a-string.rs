// `skip` and `children` on a field that is no collection: one error, for the clash (the
// field also drew "`children` needs a collection").
use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Port {
    #[statesync(id)]
    name: String,
    #[statesync(skip, children)]
    note: String,
}

fn main() {}

use statesync::DiffModel;

// Names beginning with `__` are the derive's own: a parameter of the model may not take one.
#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Shelf<'__de, __V: Clone + std::fmt::Debug + PartialEq> {
    #[statesync(id)]
    name: String,
    item: __V,
    label: &'__de str,
}

fn main() {}

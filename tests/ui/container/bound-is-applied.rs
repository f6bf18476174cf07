use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(bound = "T: Clone + std::fmt::Debug + PartialEq + Default")]
struct Bounded<T> {
    value: T,
}

#[derive(Clone, Debug, PartialEq)]
struct NoDefault;

fn main() {
    let a = Bounded { value: NoDefault };
    // The declared bound asks for `Default`: this model is not a `DiffModel`.
    let _ = a.diff(&a.clone());
}

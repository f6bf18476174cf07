use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(bound = "T: +")]
struct Device<T> {
    value: T,
}

fn main() {}

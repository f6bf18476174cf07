use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Device {
    #[statesync(id, id)]
    name: String,
    #[statesync(rename = "a")]
    #[statesync(rename = "b")]
    role: String,
}

fn main() {}

use statesync::DiffModel;

// A bad value does not hide the next mistake in the same attribute.
#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Device {
    #[statesync(id)]
    name: String,
    #[statesync(merge = "loudest", renmae = "x")]
    role: String,
    #[statesync(rename = 5, eq = 7)]
    rack: u8,
}

fn main() {}

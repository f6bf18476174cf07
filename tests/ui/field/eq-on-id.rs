use statesync::DiffModel;

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Device {
    #[statesync(id, eq = same)]
    name: String,
}

fn main() {}

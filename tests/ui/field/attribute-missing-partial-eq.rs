use statesync::DiffModel;

#[derive(Clone, Debug)]
struct Opaque(u8);

#[derive(DiffModel, Clone, Debug)]
struct Device {
    #[statesync(id)]
    name: String,
    blob: Opaque,
}

impl PartialEq for Device {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

fn main() {}

// An attribute whose type lacks `Debug` (the record of changes and the runtime's visitors
// need it) is underlined at the field, not at the derive.
use statesync::DiffModel;

#[derive(Clone, PartialEq)]
pub struct Blob(Vec<u8>);

#[derive(DiffModel, Clone, PartialEq)]
pub struct Device {
    #[statesync(id)]
    pub name: String,
    pub blob: Blob,
}

fn main() {}

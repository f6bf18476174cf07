use statesync::DiffModel;

#[derive(DiffModel, Clone, Copy)]
union Device {
    id: u32,
    raw: f32,
}

fn main() {}

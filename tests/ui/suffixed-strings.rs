// A suffix on a string value is refused, on the struct and on a field, each once.
use statesync::DiffModel;

#[derive(DiffModel, Clone)]
#[statesync(name = "port"x)]
pub struct Port {
    #[statesync(id)]
    pub name: String,
    #[statesync(rename = "speed"_mbps)]
    pub speed: u32,
}

fn main() {}

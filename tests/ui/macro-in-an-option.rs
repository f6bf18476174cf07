// A macro where a string is expected is one error that says macros are not expanded there.
use statesync::DiffModel;

#[derive(DiffModel, Clone)]
#[statesync(name = stringify!(port))]
pub struct Port {
    #[statesync(id)]
    pub name: String,
    #[statesync(rename = concat!("spe", "ed"))]
    pub speed: u32,
}

fn main() {}

use statesync::DiffModel;

// The user's own type holds the key type's default name. Beside an unrelated mistake, the
// derive still names its key type `PortId`: the one error is the mistake.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortKey(u32);

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(key_type = "PortId", nmae = "port")]
struct Port {
    #[statesync(id)]
    number: u32,
    speed: u32,
}

fn main() {
    let _: Option<PortId> = None;
}

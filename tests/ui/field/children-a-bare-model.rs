// One child model where a collection belongs (a device with one chassis): one error, at
// the field (it was 35, one per generated use of the type).
use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Chassis {
    #[statesync(id)]
    serial: String,
    slots: u8,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Device {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    chassis: Chassis,
}

fn main() {}

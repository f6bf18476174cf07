use statesync::{DiffModel, Store};
use statesync_suite::inventory::*;

fn iface(device: &str, name: &str, mtu: u32) -> Interface {
    Interface { device: device.into(), name: name.into(), description: String::new(), enabled: true, mtu, mode: "access".into(), vlans: vec![10] }
}

#[test]
fn quick() {
    let mut old = Device { site: "s".into(), name: "sw1".into(), role: "leaf".into(), model: "m".into(), serial: "1".into(), interfaces: Store::try_from_iter([iface("sw1", "et-1", 1500), iface("sw1", "et-2", 1500)]).unwrap() };
    let mut new = old.clone();
    new.role = "spine".into();
    new.interfaces.get_mut(&InterfaceKey { device: "sw1".into(), name: "et-1".into() }).unwrap().mtu = 9000;
    new.interfaces.remove(&InterfaceKey { device: "sw1".into(), name: "et-2".into() });
    new.interfaces.insert(iface("sw1", "et-3", 1500)).unwrap();
    let d = old.diff(&new).unwrap();
    println!("{d}");
    println!("{}", d.summary());
    println!("{}", serde_json::to_string(&d).unwrap());
    old.apply(&d).unwrap();
    assert!(old.diff(&new).unwrap().is_empty());
    assert_eq!(old, new);
}

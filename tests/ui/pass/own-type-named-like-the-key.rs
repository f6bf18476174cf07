//! A user's own type holds the name the key type would get (`PortKey`), and so do the
//! user's `PortField` and `SiteChildDiffs`: the struct names the generated types instead.
use statesync::{DiffModel, Store};

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortKey(u32);

impl std::fmt::Display for PortKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

pub struct PortField;
pub struct SiteChildDiffs;

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(key_type = "PortId", field_type = "PortAttribute", changes_type = "PortEdits")]
pub struct Port {
    #[statesync(id)]
    key: PortKey,
    speed: u32,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(child_diffs_type = "SiteChildren")]
pub struct Site {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    ports: Store<Port>,
}

fn main() {
    let port = Port { key: PortKey(1), speed: 10 };
    let id: PortId = port.key();
    assert_eq!(id.to_string(), "key=1");
    assert_eq!(PortAttribute::Speed.name(), "speed");
    let mut faster = port.clone();
    faster.speed = 100;
    let edits: PortEdits = port.diff_fields(&faster);
    assert!(edits.speed.is_some());
    let old = Site { name: "a".into(), ports: Store::try_from_iter([port]).expect("one port") };
    let mut new = old.clone();
    new.ports = Store::try_from_iter([faster]).expect("one port");
    let diff = old.diff(&new).expect("diffs");
    assert_eq!(diff.to_string(), "  site[name=a]\n  ~ port[key=1] speed: 10 -> 100\n");
    let _: Option<&SiteChildren> = None;
    let _ = (PortField, SiteChildDiffs);
}

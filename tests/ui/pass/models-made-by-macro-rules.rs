//! Models written through `macro_rules!`: the struct passed through as tokens under a
//! derive the macro adds, and a derive passed in around fields the macro adds. The
//! generated code's own names (`self`, its locals) resolve however the field tokens came.

use statesync::DiffModel;

macro_rules! model {
    ($($tokens:tt)*) => {
        #[derive(DiffModel, Clone, Debug, PartialEq)]
        $($tokens)*
    };
}

model! {
    #[statesync(version = "revision")]
    pub struct Port {
        #[statesync(id)]
        pub name: String,
        #[statesync(merge = "max")]
        pub mtu: u32,
        pub revision: u64,
    }
}

model! {
    pub struct Switch {
        #[statesync(id)]
        pub name: String,
        pub role: String,
        #[statesync(children)]
        pub ports: Vec<Port>,
    }
}

macro_rules! entity {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($field:ident: $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        $vis struct $name {
            #[statesync(id)]
            pub id: u64,
            #[statesync(merge = "union")]
            pub tags: Vec<String>,
            $(pub $field: $ty,)*
        }
    };
}

entity! {
    #[derive(DiffModel, Clone, Debug, PartialEq)]
    #[statesync(merge = "newest", version = "stamp")]
    pub struct Device { role: String, stamp: u64 }
}

fn main() {
    let old = Switch {
        name: "s1".into(),
        role: "leaf".into(),
        ports: vec![Port { name: "p1".into(), mtu: 1500, revision: 1 }],
    };
    let mut new = old.clone();
    new.ports[0].mtu = 9000;
    let diff = old.diff(&new).unwrap();
    assert_eq!(diff.summary().update, 1);
    let mut applied = old.clone();
    applied.apply(&diff).unwrap();
    assert_eq!(applied, new);
    assert_eq!(format!("{}", old.key()), "name=s1");

    let device = Device { id: 1, tags: vec!["a".into()], role: "spine".into(), stamp: 2 };
    let mut other = device.clone();
    other.role = "leaf".into();
    assert_eq!(device.diff(&other).unwrap().summary().update, 1);
}

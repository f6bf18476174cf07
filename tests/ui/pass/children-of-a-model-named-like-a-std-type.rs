// Children whose model is named like a standard type (`Option`, a generic `Cell<V>` or
// `Arc<W>`): taken for the user's models, not refused (only primitives, `String`, the
// prelude's generic types, standard types written with their path, tuples and references
// are surely no models).
mod models {
    use statesync::{DiffModel, Store};

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    pub struct Option {
        #[statesync(id)]
        pub code: u32,
    }

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    pub struct Cell<V: Clone + std::fmt::Debug + PartialEq> {
        #[statesync(id)]
        pub row: u32,
        pub value: V,
    }

    /// A graph's edge.
    #[derive(DiffModel, Clone, Debug, PartialEq)]
    pub struct Arc<W: Clone + std::fmt::Debug + PartialEq + 'static> {
        #[statesync(id)]
        pub from: u32,
        #[statesync(id)]
        pub to: u32,
        pub weight: W,
    }

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    pub struct Menu {
        #[statesync(id)]
        pub name: String,
        #[statesync(children)]
        pub options: Store<Option>,
        #[statesync(children)]
        pub cells: Vec<Cell<f64>>,
        #[statesync(children)]
        pub arcs: Store<Arc<u32>>,
    }
}

mod shipping {
    use statesync::DiffModel;

    /// A parcel, named like the prelude's `Box` and reached through its module.
    #[derive(DiffModel, Clone, Debug, PartialEq)]
    pub struct Box<C: Clone + std::fmt::Debug + PartialEq + 'static> {
        #[statesync(id)]
        pub label: std::string::String,
        pub content: C,
    }

    /// A guitar string, reached through its module.
    #[derive(DiffModel, Clone, Debug, PartialEq)]
    pub struct String {
        #[statesync(id)]
        pub note: u8,
    }
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Depot {
    #[statesync(id)]
    name: std::string::String,
    #[statesync(children)]
    boxes: Vec<shipping::Box<u32>>,
    #[statesync(children)]
    strings: statesync::Store<crate::shipping::String>,
}

use statesync::DiffModel;

fn main() {
    let depot = Depot {
        name: "d".into(),
        boxes: Vec::new(),
        strings: statesync::Store::new(),
    };
    assert!(depot.diff(&depot.clone()).is_ok_and(|diff| diff.is_empty()));
    let menu = models::Menu {
        name: "m".into(),
        options: statesync::Store::new(),
        cells: vec![models::Cell { row: 1, value: 0.5 }],
        arcs: statesync::Store::new(),
    };
    assert!(menu.diff(&menu.clone()).is_ok_and(|diff| diff.is_empty()));
}

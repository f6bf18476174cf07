// Children whose model is named like a standard type (`Option`, a generic `Cell<V>`): taken
// for the user's models, not refused (only primitives, `String`, tuples and references are
// surely no models).
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

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    pub struct Menu {
        #[statesync(id)]
        pub name: String,
        #[statesync(children)]
        pub options: Store<Option>,
        #[statesync(children)]
        pub cells: Vec<Cell<f64>>,
    }
}

use statesync::DiffModel;

fn main() {
    let menu = models::Menu {
        name: "m".into(),
        options: statesync::Store::new(),
        cells: vec![models::Cell { row: 1, value: 0.5 }],
    };
    assert!(menu.diff(&menu.clone()).is_ok_and(|diff| diff.is_empty()));
}

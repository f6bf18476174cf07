// Children whose model is named like a standard type (`Option`, `Cell`): a standard type
// would have its parameters, so these are taken for the user's models, not refused.
mod models {
    use statesync::{DiffModel, Store};

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    pub struct Option {
        #[statesync(id)]
        pub code: u32,
    }

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    pub struct Cell {
        #[statesync(id)]
        pub row: u32,
    }

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    pub struct Menu {
        #[statesync(id)]
        pub name: String,
        #[statesync(children)]
        pub options: Store<Option>,
        #[statesync(children)]
        pub cells: Vec<Cell>,
    }
}

use statesync::DiffModel;

fn main() {
    let menu = models::Menu {
        name: "m".into(),
        options: statesync::Store::new(),
        cells: vec![models::Cell { row: 1 }],
    };
    assert!(menu.diff(&menu.clone()).is_ok_and(|diff| diff.is_empty()));
}

use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(sync_models = "")]
struct Folder {
    #[statesync(id)]
    name: String,
}

fn main() {}

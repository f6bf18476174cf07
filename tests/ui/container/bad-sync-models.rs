use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(sync_models = "Folder,, File")]
struct Folder {
    #[statesync(id)]
    name: String,
}

fn main() {}

// `version` naming a field whose name is a keyword, written as a plain string (`"type"`)
// or raw (`"r#type"`): both name the field `r#type`.
use statesync::DiffModel;
use statesync::merge::MergeModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(version = "type", merge = "newest")]
struct Plain {
    #[statesync(id)]
    id: u32,
    r#type: u64,
    text: String,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(version = "r#type", merge = "newest")]
struct Raw {
    #[statesync(id)]
    id: u32,
    r#type: u64,
}

fn main() {
    assert_eq!(Plain::VERSION_FIELD, Some("type"));
    assert_eq!(Raw::VERSION_FIELD, Some("type"));
}

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

// A field that needs no `r#`, written with it in the option or on the field.
#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(version = "r#rev", merge = "newest")]
struct OptionWritesRaw {
    #[statesync(id)]
    id: u32,
    rev: u64,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(version = "rev", merge = "newest")]
struct FieldWrittenRaw {
    #[statesync(id)]
    id: u32,
    r#rev: u64,
}

// `gen`, reserved in edition 2024 (this case's): the field is `r#gen`, the option may say
// `"gen"`, which parses as an identifier all the same.
#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(version = "gen", merge = "newest")]
struct Generation {
    #[statesync(id)]
    id: u32,
    r#gen: u64,
}

fn main() {
    assert_eq!(Generation::VERSION_FIELD, Some("gen"));
    assert_eq!(OptionWritesRaw::VERSION_FIELD, Some("rev"));
    assert_eq!(FieldWrittenRaw::VERSION_FIELD, Some("rev"));
    assert_eq!(Plain::VERSION_FIELD, Some("type"));
    assert_eq!(Raw::VERSION_FIELD, Some("type"));
}

// Shown names in scripts written with the zero-width joiner and non-joiner (a Persian word
// with U+200C, a Devanagari conjunct with U+200D) and an emoji sequence: not refused as the
// invisible characters a name must not hold (a bidi control, a zero-width space).
use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(name = "\u{645}\u{6cc}\u{200c}\u{62e}\u{648}\u{627}\u{647}\u{645}")]
struct Wish {
    #[statesync(id)]
    id: u32,
    #[statesync(rename = "\u{915}\u{94d}\u{200d}\u{937}")]
    kshetra: u32,
    #[statesync(rename = "\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}")]
    family: u32,
}

fn main() {
    let old = Wish {
        id: 1,
        kshetra: 1,
        family: 1,
    };
    let new = Wish {
        family: 2,
        ..old.clone()
    };
    assert!(old.diff(&new).unwrap().to_string().contains("\u{1f468}\u{200d}\u{1f469}"));
}

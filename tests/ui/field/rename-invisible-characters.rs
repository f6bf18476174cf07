// A shown name holding a bidirectional control or a zero-width character: one error each
// (they compiled, and plans printed them raw, reordering the line or making two names look
// alike; found by an outside tester).
use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(name = "valve\u{2066}")]
struct Valve {
    #[statesync(id)]
    k: u32,
    #[statesync(rename = "open\u{202e}")]
    open: u32,
    #[statesync(rename = "p\u{200b}")]
    pressure: u32,
    // Drawn as nothing, or blank (an outside tester's list: they compiled).
    #[statesync(rename = "a\u{ad}b")]
    soft_hyphen: u32,
    #[statesync(rename = "\u{3164}")]
    hangul_filler: u32,
    #[statesync(rename = "x\u{2800}")]
    braille_blank: u32,
    #[statesync(rename = "t\u{e0020}")]
    tag_space: u32,
}

fn main() {}

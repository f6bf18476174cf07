use statesync::DiffModel;

// Of two attributes that camel-case alike, the second's variant is named by its
// identifier (`speed_1` is `Speed1`, `speed1` is `speed1`); only an identifier that is
// the other's camel-cased name still clashes.
#[derive(DiffModel, Clone, Debug, PartialEq)]
#[allow(non_snake_case)]
struct Port {
    #[statesync(id)]
    name: String,
    speed: u32,
    Speed: u32,
}

fn main() {}

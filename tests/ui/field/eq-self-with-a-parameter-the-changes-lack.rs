use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
pub struct Gauge<U: Clone + std::fmt::Debug + PartialEq> {
    #[statesync(id)]
    pub name: String,
    #[statesync(eq = Self::same_reading)]
    pub reading: String,
    #[statesync(skip)]
    pub note: U,
}

impl<U: Clone + std::fmt::Debug + PartialEq> Gauge<U> {
    fn same_reading(a: &String, b: &String) -> bool {
        a.len() == b.len()
    }
}

fn main() {}

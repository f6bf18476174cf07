//! Two trees of public models without serde, five levels deep, compile: the serde impls of
//! the generated child diffs put no bound on a concrete type (which rustc would prove
//! through its impl, down to a model that is not serde).

pub mod first {
    use statesync::{DiffModel, Store};

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    pub struct A { #[statesync(id)] pub id: u32, #[statesync(children)] pub kids: Store<B> }
    #[derive(DiffModel, Clone, Debug, PartialEq)]
    pub struct B { #[statesync(id)] pub id: u32, #[statesync(children)] pub kids: Store<C> }
    #[derive(DiffModel, Clone, Debug, PartialEq)]
    pub struct C { #[statesync(id)] pub id: u32, #[statesync(children)] pub kids: Store<D> }
    #[derive(DiffModel, Clone, Debug, PartialEq)]
    pub struct D { #[statesync(id)] pub id: u32, pub v: u32, #[statesync(children)] pub e: Vec<E> }
    #[derive(DiffModel, Clone, Debug, PartialEq)]
    pub struct E { #[statesync(id)] pub id: u32, pub v: u32 }
}

pub mod second {
    use statesync::{DiffModel, Store};

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    pub struct A { #[statesync(id)] pub id: u32, #[statesync(children)] pub kids: Store<B> }
    #[derive(DiffModel, Clone, Debug, PartialEq)]
    pub struct B { #[statesync(id)] pub id: u32, #[statesync(children)] pub kids: Store<C> }
    #[derive(DiffModel, Clone, Debug, PartialEq)]
    pub struct C { #[statesync(id)] pub id: u32, pub v: u32 }
}

fn main() {
    use statesync::DiffModel;
    let a = first::A { id: 1, kids: statesync::Store::new() };
    assert!(a.diff(&a.clone()).unwrap().is_empty());
}

//! Closures called through a `dyn` pointer for the price of their body.
//!
//! The crate's non-generic algorithms (the hash index, the keyed join, the sort, the stack
//! guard) take what is particular to a model type as a callback. A closure made a
//! `&dyn Fn` gets a vtable holding `call`, `call_mut` and `call_once`, and the last comes
//! with two shims compiled for every closure type, called or not (about 50 lines of LLVM
//! IR per closure, hundreds of closures in a crate of 50 models). [`Callback`] and
//! [`CallbackMut`] have one method each, which every closure of the right signature has,
//! so their vtables hold that method and nothing else. Arguments are passed as one value
//! (a tuple for several).

/// A callback called through `&self`: `&dyn Callback<A, R>` in place of `&dyn Fn(A) -> R`.
pub(crate) trait Callback<A, R> {
    /// Calls it.
    fn run(&self, args: A) -> R;
}

impl<A, R, F: Fn(A) -> R> Callback<A, R> for F {
    #[inline]
    fn run(&self, args: A) -> R {
        self(args)
    }
}

/// A callback called through `&mut self`: `&mut dyn CallbackMut<A, R>` in place of
/// `&mut dyn FnMut(A) -> R`.
pub(crate) trait CallbackMut<A, R> {
    /// Calls it.
    fn run_mut(&mut self, args: A) -> R;
}

impl<A, R, F: FnMut(A) -> R> CallbackMut<A, R> for F {
    #[inline]
    fn run_mut(&mut self, args: A) -> R {
        self(args)
    }
}

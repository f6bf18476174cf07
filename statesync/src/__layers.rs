//! What the derive wraps each layer's generated code in: the code when this crate's
//! feature for the layer is on, nothing otherwise. The runtime's features, not the
//! derive's, so decide what a model gets, and a build that names `statesync-derive` itself
//! beside a `statesync` with layers off still compiles. For generated code only.

/// Its input with the `sync` feature, nothing without.
#[cfg(feature = "sync")]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_sync {
    ($($code:tt)*) => { $($code)* };
}

/// Its input with the `sync` feature, nothing without.
#[cfg(not(feature = "sync"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_sync {
    ($($code:tt)*) => {};
}

/// `{ with } else { without }`: the first with the `merge` feature, the second without.
#[cfg(feature = "merge")]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_merge {
    ({ $($with:tt)* } else { $($without:tt)* }) => { $($with)* };
}

/// `{ with } else { without }`: the first with the `merge` feature, the second without.
#[cfg(not(feature = "merge"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_merge {
    ({ $($with:tt)* } else { $($without:tt)* }) => { $($without)* };
}

/// A record's serde impls (see `__serde_record`); without the `serde` feature, nothing.
#[cfg(not(feature = "serde"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __record_serde {
    ($($record:tt)*) => {};
}

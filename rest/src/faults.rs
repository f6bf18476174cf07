//! The service's injected failures: a seeded random draw per mutating request decides
//! whether it is served, refused with a 500 before anything is done, or carried out and
//! then stalled past the client's timeout.

use std::sync::{Mutex, PoisonError};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What the service does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Served normally.
    Serve,
    /// Answered 500 without being carried out.
    Fail,
    /// Carried out, then answered only after the stall.
    Stall,
}

/// The seeded draw. Requests draw in the order they reach it, so a client that sends one
/// request at a time sees the same fates for the same seed; concurrent requests share the
/// same sequence of fates in arrival order.
#[derive(Debug)]
pub(crate) struct Faults {
    failure_rate: f64,
    timeout_rate: f64,
    rng: Mutex<ChaCha8Rng>,
}

impl Faults {
    pub(crate) fn new(seed: u64, failure_rate: f64, timeout_rate: f64) -> Self {
        Self {
            failure_rate,
            timeout_rate,
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
        }
    }

    /// The fate of the next request.
    pub(crate) fn draw(&self) -> Fate {
        if self.failure_rate <= 0.0 && self.timeout_rate <= 0.0 {
            return Fate::Serve;
        }
        // The lock only guards the generator, which a panic cannot leave half-updated.
        let roll: f64 = self
            .rng
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .random();
        if roll < self.failure_rate {
            Fate::Fail
        } else if roll < self.failure_rate + self.timeout_rate {
            Fate::Stall
        } else {
            Fate::Serve
        }
    }
}

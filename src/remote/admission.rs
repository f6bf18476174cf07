//! Which connections are served: at most so many in all and so many per peer address, so
//! that one address cannot take every slot.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// The connections being served, in all and per peer address.
#[derive(Debug)]
pub(crate) struct Admission {
    max_total: usize,
    max_per_peer: usize,
    served: Mutex<Served>,
}

#[derive(Debug, Default)]
struct Served {
    total: usize,
    per_peer: HashMap<IpAddr, usize>,
}

/// A connection's place; given back when dropped.
#[derive(Debug)]
pub(crate) struct Ticket {
    admission: Arc<Admission>,
    peer: IpAddr,
}

impl Admission {
    pub(crate) fn new(max_total: usize, max_per_peer: usize) -> Self {
        Self {
            max_total,
            max_per_peer,
            served: Mutex::default(),
        }
    }

    /// A place for a connection from `peer`, or why there is none.
    pub(crate) fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Ticket, &'static str> {
        let mut served = self.served.lock().unwrap_or_else(PoisonError::into_inner);
        if served.total >= self.max_total {
            return Err("too many connections");
        }
        let from_peer = served.per_peer.entry(peer).or_insert(0);
        if *from_peer >= self.max_per_peer {
            return Err("too many connections from your address");
        }
        *from_peer += 1;
        served.total += 1;
        Ok(Ticket {
            admission: Arc::clone(self),
            peer,
        })
    }

    /// How many connections are served.
    pub(crate) fn served(&self) -> usize {
        self.served
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut served = self
            .admission
            .served
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        served.total = served.total.saturating_sub(1);
        if let Some(from_peer) = served.per_peer.get_mut(&self.peer) {
            *from_peer = from_peer.saturating_sub(1);
            if *from_peer == 0 {
                served.per_peer.remove(&self.peer);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_cannot_take_every_place() {
        let admission = Arc::new(Admission::new(3, 2));
        let one: IpAddr = [127, 0, 0, 1].into();
        let two: IpAddr = [127, 0, 0, 2].into();
        let first = admission.admit(one);
        let second = admission.admit(one);
        assert!(first.is_ok() && second.is_ok());
        assert_eq!(
            admission.admit(one).err(),
            Some("too many connections from your address")
        );
        let third = admission.admit(two);
        assert!(third.is_ok());
        assert_eq!(admission.admit(two).err(), Some("too many connections"));
        drop(first);
        assert!(admission.admit(one).is_ok(), "a place is given back");
        drop((second, third));
        assert_eq!(admission.served(), 0);
    }
}

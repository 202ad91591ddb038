//! Identities shared by every part of the engine: slab references, the
//! "none" and "never" markers, and how a request ended.
//!
//! A [`Slab`] is a free-list arena of generation-checked slots: a [`Ref`]
//! taken while a slot was live stops matching once the slot dies, so events
//! that outlive what they point to (a timeout after the call resolved) find
//! nothing instead of something else.

use crate::calendar::Time;

/// "No index" marker.
pub(crate) const NONE: u32 = u32::MAX;
/// "No deadline".
pub(crate) const NEVER: Time = Time::MAX;

/// A slab index plus the generation that was live when it was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ref {
    pub(crate) idx: u32,
    pub(crate) gen: u32,
}

impl Ref {
    /// Refers to nothing (never matches a slot).
    pub(crate) const NONE: Ref = Ref { idx: NONE, gen: 0 };

    #[inline(always)]
    pub(crate) fn is_none(self) -> bool {
        self.idx == NONE
    }
}

/// How a call (or an attempt of it) ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// Refused at the door: queue full, rate limited, shed, or no replica.
    Rejected,
    /// An error (a failed dependency, an injected error, a crash).
    Failed,
    /// The caller gave up, or the deadline passed.
    Timeout,
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Rejected => "rejected",
            Outcome::Failed => "failed",
            Outcome::Timeout => "timeout",
        }
    }
}

/// What a slab stores: a record that knows its generation and liveness.
pub(crate) trait Slot {
    fn gen(&self) -> u32;
    fn live(&self) -> bool;
    /// Ends the record's life: its generation moves on.
    fn kill(&mut self);
}

/// A free-list arena of generation-checked slots.
pub(crate) struct Slab<T> {
    items: Vec<T>,
    free: Vec<u32>,
}

impl<T: Slot> Slab<T> {
    pub(crate) fn new() -> Self {
        Slab {
            items: Vec::new(),
            free: Vec::new(),
        }
    }

    /// Stores `make(generation)` in a free slot.
    #[inline(always)]
    pub(crate) fn insert(&mut self, make: impl FnOnce(u32) -> T) -> Ref {
        if let Some(idx) = self.free.pop() {
            let gen = self.items[idx as usize].gen();
            self.items[idx as usize] = make(gen);
            Ref { idx, gen }
        } else {
            let idx = self.items.len() as u32;
            self.items.push(make(0));
            Ref { idx, gen: 0 }
        }
    }

    // A slot's generation moves on when it dies, so a reference matching it
    // is a reference to the live occupant (up to 2^32 reuses of one slot).
    #[inline(always)]
    pub(crate) fn get(&self, r: Ref) -> Option<&T> {
        let it = self.items.get(r.idx as usize)?;
        debug_assert!(it.gen() != r.gen || it.live());
        (it.gen() == r.gen).then_some(it)
    }

    #[inline(always)]
    pub(crate) fn get_mut(&mut self, r: Ref) -> Option<&mut T> {
        let it = self.items.get_mut(r.idx as usize)?;
        debug_assert!(it.gen() != r.gen || it.live());
        (it.gen() == r.gen).then_some(it)
    }

    #[inline]
    pub(crate) fn remove(&mut self, r: Ref) {
        self.remove_if(r, |_| true);
    }

    /// Lets `update` change `r` (if live), and removes it if `update`
    /// says so: one lookup.
    #[inline(always)]
    pub(crate) fn remove_if(&mut self, r: Ref, update: impl FnOnce(&mut T) -> bool) {
        if let Some(it) = self.get_mut(r) {
            if update(it) {
                it.kill();
                self.free.push(r.idx);
            }
        }
    }

    /// Live records with their references, in slot order.
    pub(crate) fn live(&self) -> impl Iterator<Item = (Ref, &T)> {
        self.items
            .iter()
            .enumerate()
            .filter(|(_, t)| t.live())
            .map(|(i, t)| {
                (
                    Ref {
                        idx: i as u32,
                        gen: t.gen(),
                    },
                    t,
                )
            })
    }

    /// Live records, mutably, in slot order.
    pub(crate) fn live_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.items.iter_mut().filter(|t| t.live())
    }

    /// Live records.
    #[inline(always)]
    pub(crate) fn held(&self) -> usize {
        self.items.len() - self.free.len()
    }
}

/// Implements [`Slot`] for a record with `gen` and `live` fields.
macro_rules! slot {
    ($t:ty) => {
        impl $crate::engine::ids::Slot for $t {
            #[inline(always)]
            fn gen(&self) -> u32 {
                self.gen
            }
            #[inline(always)]
            fn live(&self) -> bool {
                self.live
            }
            fn kill(&mut self) {
                self.live = false;
                self.gen = self.gen.wrapping_add(1);
            }
        }
    };
}
pub(crate) use slot;

#[cfg(test)]
mod tests {
    use super::*;

    struct Item {
        gen: u32,
        live: bool,
        v: u32,
    }
    slot!(Item);

    /// A live item holding `v`, for [`Slab::insert`].
    fn item(v: u32) -> impl FnOnce(u32) -> Item {
        move |gen| Item { gen, live: true, v }
    }

    #[test]
    fn stale_references_find_nothing() {
        let mut s: Slab<Item> = Slab::new();
        let a = s.insert(item(1));
        s.remove(a);
        assert!(s.get(a).is_none(), "a dead slot is not found");
        let b = s.insert(item(2));
        assert_eq!(a.idx, b.idx, "the free slot is reused");
        assert!(
            s.get(a).is_none(),
            "the old reference misses the new occupant"
        );
        assert_eq!(s.get(b).map(|i| i.v), Some(2));
        assert!(s.get(Ref::NONE).is_none());
        assert_eq!(s.live().count(), 1);
    }

    #[test]
    fn remove_if_changes_the_record_and_removes_it_only_when_told() {
        let mut s: Slab<Item> = Slab::new();
        let a = s.insert(item(2));
        // A count going down (a call's live jobs): kept while above 0.
        let ended = |s: &mut Slab<Item>| {
            s.remove_if(a, |it| {
                it.v -= 1;
                it.v == 0
            })
        };
        ended(&mut s);
        assert_eq!(s.get(a).map(|i| i.v), Some(1), "changed, kept");
        ended(&mut s);
        assert!(s.get(a).is_none(), "removed at 0");
        assert_eq!(s.held(), 0);
        ended(&mut s);
        assert_eq!(s.held(), 0, "a stale reference changes nothing");
    }
}

//! The event calendar: the tiny core every simulation is built on.
//!
//! # Contract
//! * Events are popped in order of `(time, sequence)`, where `sequence` is the
//!   order of insertion. Two events scheduled for the same instant therefore
//!   pop **first in, first out**. Ties never consume randomness.
//! * Time is an integer count of nanoseconds ([`Time`]); there is no floating
//!   point anywhere in the ordering.
//! * Scheduling in the past is a logic error and is clamped to `now` (debug
//!   builds assert).
//!
//! # Why a binary heap, and lanes only for timeouts
//! Any structure that pops the smallest `(time, sequence)` gives the same
//! run, so the choice is only about speed. Measured with callgrind on the
//! case study (instructions per customer; its hops, cache lookups and
//! primary-key queries are constant delays, and each checkout arms a 10 s
//! timeout that it nearly always outlives):
//! * `std`'s heap with the lazy pop below: a pop leaves a hole that the
//!   next push fills with one sift, so most events cost one sift in all.
//! * Lanes for every constant delay lost: 63,071 against 56,951 when each
//!   pop compares the lanes' fronts, 59,745 when only a lane's front waits
//!   in the heap, and 59,011 against 54,560 with a lane for each constant
//!   hop the configuration names. A lane saves no sift, only a level or two
//!   of a smaller heap, and its bookkeeping costs more.
//! * Lanes for timeouts won (54,560 to 52,746): a thousand pending
//!   timeouts no longer add three levels to every other event's sift. So
//!   the engine puts attempt timeouts in lanes
//!   ([`Calendar::schedule_in_lane`]) and everything else in the heap.
//! * A bottom-up heap (the hole sinks to a leaf along branch-free child
//!   choices, then the entry rises) lost: 69,357 against 56,951, since a
//!   follow-up event is often due soon and `std`'s early stop is cheaper.
//! * A radix heap (128 buckets by the highest bit a key differs from the
//!   last key taken in; pushes cost no compare) lost: 61,573 against
//!   50,341, and 2,874 against 2,621 per M/M/10 customer. Nanosecond keys
//!   spread over milliseconds are re-filed a dozen times each on their way
//!   down, more work than the heap's sifts.
//! * A 4-ary heap (half the levels; four children compared per level, in
//!   safe code with its bounds checks) lost too: 55,080 against 50,076.
//! * A sorted run (a `VecDeque` in key order, binary-searched, while at
//!   most 48 events are pending, the heap beyond) lost by far: 56,972
//!   against 48,356, and 2,591 against 2,459 per M/M/10 customer. (The
//!   M/M/10 counts in this list include some 570 instructions of printed
//!   report per customer, as the bench counted until 2026-12-07.) Only a
//!   dozen or two events are pending in both runs (14 on average in the
//!   case study), so the heap is three or four levels deep, and an insert
//!   that moves entries (with the deque's wrap-around) costs more than a
//!   sift.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

/// Simulated time in nanoseconds since the start of the run.
pub type Time = u64;

/// Nanoseconds per second.
pub const NS_PER_S: f64 = 1e9;

/// Converts seconds (as written in scenario files) to integer nanoseconds,
/// rounding to the nearest nanosecond and saturating.
pub fn secs_to_ns(s: f64) -> Time {
    if !(s > 0.0) {
        return 0;
    }
    let ns = (s * NS_PER_S).round();
    if ns >= u64::MAX as f64 {
        u64::MAX
    } else {
        ns as u64
    }
}

/// Converts integer nanoseconds to seconds.
pub fn ns_to_secs(ns: Time) -> f64 {
    ns as f64 / NS_PER_S
}

/// A heap entry. `key` packs `(time << 64) | (sequence << 4) | lane`, so
/// one `u128` comparison orders by time, then FIFO by insertion (cheaper
/// and branch-free compared with a two-field lexicographic compare). Keys
/// are unique (sequence numbers are), so any correct heap pops in the same
/// order; the low four bits say which lane an entry heads (0: none, `i +
/// 1`: lane `i`) and never decide an order.
#[derive(Clone, Copy)]
struct Entry<E> {
    key: u128,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    #[inline(always)]
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    #[inline(always)]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
    #[inline(always)]
    fn lt(&self, other: &Self) -> bool {
        other.key < self.key
    }
    #[inline(always)]
    fn le(&self, other: &Self) -> bool {
        other.key <= self.key
    }
    #[inline(always)]
    fn gt(&self, other: &Self) -> bool {
        other.key > self.key
    }
    #[inline(always)]
    fn ge(&self, other: &Self) -> bool {
        other.key >= self.key
    }
}
impl<E> Ord for Entry<E> {
    #[inline(always)]
    fn cmp(&self, other: &Self) -> Ordering {
        other.key.cmp(&self.key)
    }
}

/// Lanes a calendar can keep (lane `i` is tagged `i + 1` in a key's low
/// four bits).
pub const LANES: usize = 15;
/// The bits of a key that name a lane.
const LANE_BITS: u128 = 0xF;

/// Events scheduled one constant delay after their scheduling instant (a
/// call's timeout). The clock never goes back and sequence numbers grow,
/// so they come in `(time, sequence)` order: the lane's front waits in the
/// heap like any event, the rest in `queue`.
struct Lane<E> {
    delay: Time,
    /// The lane's front is in the heap.
    in_heap: bool,
    queue: VecDeque<Entry<E>>,
}

/// A priority queue of future events, ordered by `(time, insertion sequence)`.
///
/// Popping is lazy: the popped entry stays at the top of the heap (`hole`)
/// until the next `schedule` overwrites it (one sift instead of two: most
/// events schedule a follow-up) or the next `pop` removes it.
///
/// One event may wait beside the heap, in `slot` ([`Calendar::schedule_slot`]):
/// a recurring event (a source's next arrival) that is rescheduled every time
/// it fires then costs no heap operation. It takes its sequence number from
/// the same counter and pops in the same `(time, sequence)` order as if it
/// were in the heap.
///
/// Events far ahead at a constant delay (a timeout: one per call, seconds
/// ahead, most of them outlived by their call) can wait in a lane
/// ([`Calendar::schedule_in_lane`]): only a lane's front is in the heap, so
/// a thousand pending timeouts cost the heap one entry instead of three
/// more levels for every event that passes through it.
pub struct Calendar<E> {
    heap: BinaryHeap<Entry<E>>,
    seq: u64,
    now: Time,
    /// The top of `heap` was already popped.
    hole: bool,
    slot: Option<Entry<E>>,
    lanes: Vec<Lane<E>>,
}

impl<E: Copy> Default for Calendar<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> Calendar<E> {
    pub fn new() -> Self {
        Calendar {
            heap: BinaryHeap::with_capacity(64),
            seq: 0,
            now: 0,
            hole: false,
            slot: None,
            lanes: Vec::new(),
        }
    }

    /// The time of the last popped event (or of the last `advance_to`).
    pub fn now(&self) -> Time {
        self.now
    }

    /// Schedules `event` at absolute time `at`.
    #[inline]
    pub fn schedule(&mut self, at: Time, event: E) {
        let entry = self.entry(at, event);
        self.push(entry);
    }

    /// Schedules `event` at absolute time `at`, in lane `lane` (below
    /// [`LANES`]) if that lane holds events of this delay (`at - now`) or
    /// none at all; otherwise in the heap. The order of events is exactly
    /// as with [`Calendar::schedule`]; only the cost differs, and it is
    /// lowest when the caller keeps one lane for one constant delay.
    #[inline]
    pub fn schedule_in_lane(&mut self, lane: usize, at: Time, event: E) {
        let mut entry = self.entry(at, event);
        let delay = ((entry.key >> 64) as Time) - self.now;
        if lane >= LANES {
            return self.push(entry);
        }
        if lane >= self.lanes.len() {
            self.lanes.resize_with(lane + 1, || Lane {
                delay: 0,
                in_heap: false,
                queue: VecDeque::new(),
            });
        }
        let l = &mut self.lanes[lane];
        if l.in_heap {
            if l.delay == delay {
                entry.key |= (lane + 1) as u128;
                return l.queue.push_back(entry);
            }
            return self.push(entry);
        }
        l.delay = delay;
        l.in_heap = true;
        entry.key |= (lane + 1) as u128;
        self.push(entry);
    }

    /// Schedules `event` at absolute time `at` in the slot beside the heap
    /// (an event already there moves into the heap). The order of events is
    /// exactly as with [`Calendar::schedule`]; only the cost differs.
    #[inline]
    pub fn schedule_slot(&mut self, at: Time, event: E) {
        let entry = self.entry(at, event);
        if let Some(old) = self.slot.replace(entry) {
            self.push(old);
        }
    }

    #[inline]
    fn entry(&mut self, at: Time, event: E) -> Entry<E> {
        debug_assert!(at >= self.now, "scheduled in the past: {at} < {}", self.now);
        let time = at.max(self.now);
        let seq = self.seq;
        // 2^60 events: centuries of simulation at ten million a second.
        debug_assert!(seq < 1 << 60, "sequence numbers overflow the key");
        self.seq += 1;
        Entry {
            key: ((time as u128) << 64) | ((seq as u128) << 4),
            event,
        }
    }

    #[inline]
    fn push(&mut self, entry: Entry<E>) {
        if self.hole {
            // Overwrite the popped top.
            self.hole = false;
            // `PeekMut` sifts it down on drop.
            *self.heap.peek_mut().expect("a hole is a heap entry") = entry;
        } else {
            self.heap.push(entry);
        }
    }

    /// Schedules `event` `delay` nanoseconds from now.
    pub fn schedule_in(&mut self, delay: Time, event: E) {
        let at = self.now.saturating_add(delay);
        self.schedule(at, event);
    }

    /// Time of the next event, if any.
    #[inline]
    pub fn peek_time(&self) -> Option<Time> {
        let h = self.heap.as_slice();
        let heap = if self.hole {
            // The next event is one of the popped top's children.
            match (h.get(1), h.get(2)) {
                (Some(a), Some(b)) => Some(a.key.min(b.key)),
                (Some(a), None) => Some(a.key),
                _ => None,
            }
        } else {
            h.first().map(|e| e.key)
        };
        let key = match (heap, self.slot.map(|e| e.key)) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        Some((key >> 64) as Time)
    }

    /// Pops the next event and advances the clock to its time.
    #[inline]
    pub fn pop(&mut self) -> Option<(Time, E)> {
        self.pop_until(Time::MAX)
    }

    /// Pops the next event if it is due at or before `t` (and advances the
    /// clock to its time); otherwise leaves the pending events as they are.
    #[inline]
    pub fn pop_until(&mut self, t: Time) -> Option<(Time, E)> {
        if self.hole {
            self.hole = false;
            self.heap.pop();
        }
        if let Some(s) = self.slot {
            if self.heap.peek().is_none_or(|e| s.key < e.key) {
                let time = (s.key >> 64) as Time;
                if time > t {
                    return None;
                }
                self.slot = None;
                self.now = time;
                return Some((time, s.event));
            }
        }
        let e = self.heap.peek()?;
        let (time, event, lane) = ((e.key >> 64) as Time, e.event, e.key & LANE_BITS);
        if time > t {
            return None;
        }
        self.hole = true;
        if lane != 0 {
            self.next_of_lane(lane as usize - 1);
        }
        self.now = time;
        Some((time, event))
    }

    /// Lane `i`'s front (the heap's top) popped: the lane's next event
    /// takes its place, or the lane leaves the heap.
    #[inline(never)]
    fn next_of_lane(&mut self, i: usize) {
        let lane = &mut self.lanes[i];
        match lane.queue.pop_front() {
            Some(next) => {
                self.hole = false;
                // `PeekMut` sifts it down on drop.
                *self.heap.peek_mut().expect("the lane's front") = next;
            }
            None => lane.in_heap = false,
        }
    }

    /// Moves the clock forward to `t` without popping (used at the end of
    /// `run_until`, when no event remains before `t`).
    pub fn advance_to(&mut self, t: Time) {
        if t > self.now {
            self.now = t;
        }
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        let queued: usize = self.lanes.iter().map(|l| l.queue.len()).sum();
        self.heap.len() - self.hole as usize + self.slot.is_some() as usize + queued
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_order() {
        let mut c = Calendar::new();
        c.schedule(30, "c");
        c.schedule(10, "a");
        c.schedule(20, "b");
        let order: Vec<_> = std::iter::from_fn(|| c.pop()).collect();
        assert_eq!(order, vec![(10, "a"), (20, "b"), (30, "c")]);
        assert_eq!(c.now(), 30);
    }

    #[test]
    fn equal_times_pop_fifo() {
        // The documented contract: ties break by insertion order.
        let mut c = Calendar::new();
        for i in 0..1000u32 {
            c.schedule(5, i);
        }
        c.schedule(4, 9999);
        assert_eq!(c.pop(), Some((4, 9999)));
        for i in 0..1000u32 {
            assert_eq!(c.pop(), Some((5, i)));
        }
        assert!(c.pop().is_none());
    }

    /// Random pushes and pops (many ties) against a reference that keeps
    /// pending events sorted by (time, insertion order). With `slot`, a third
    /// of the events go through the slot (evicting into the heap).
    /// With `lanes`, two thirds of the events are scheduled in one of three
    /// lanes, mostly each lane one delay, sometimes not.
    fn against_a_stable_sort(mut x: u64, slot: bool, lanes: bool) {
        let mut c = Calendar::new();
        let mut reference: Vec<(Time, u64)> = Vec::new();
        let mut next = 0u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x % 3 != 0 || reference.is_empty() {
                let at = c.now() + (x >> 8) % 8;
                if slot && (x >> 4) % 3 == 0 {
                    c.schedule_slot(at, next);
                } else if lanes && (x >> 4) % 3 != 2 {
                    // Lane by delay mostly, sometimes a lane of another
                    // delay (it must then fall back to the heap).
                    let lane = ((x >> 8) % 8 + (x >> 20) % 2) as usize % 3;
                    c.schedule_in_lane(lane, at, next);
                } else {
                    c.schedule(at, next);
                }
                reference.push((at, next));
                next += 1;
            } else {
                let i = (0..reference.len()).min_by_key(|&i| reference[i]).unwrap();
                let want = reference.remove(i);
                assert_eq!(c.peek_time(), Some(want.0));
                if (x >> 5) % 4 == 0 && want.0 > 0 {
                    // A bounded pop that must not take a later event.
                    assert_eq!(c.pop_until(want.0 - 1), None);
                }
                assert_eq!(c.pop(), Some(want));
            }
            assert_eq!(c.len(), reference.len());
        }
    }

    #[test]
    fn matches_a_stable_sort_under_random_interleaving() {
        against_a_stable_sort(0x2545_f491_4f6c_dd1d, false, false);
    }

    #[test]
    fn lanes_keep_the_order_of_a_stable_sort() {
        against_a_stable_sort(0x6a09_e667_f3bc_c909, false, true);
        against_a_stable_sort(0xbb67_ae85_84ca_a73b, true, true);
    }

    #[test]
    fn a_lane_holds_one_delay_and_only_its_front_is_in_the_heap() {
        let mut c = Calendar::new();
        c.schedule_in_lane(0, 1_000, 0u32);
        c.schedule_in_lane(0, 1_000, 1);
        c.schedule(1_000, 2);
        // Another delay in lane 0 while it holds 1,000 ns: the heap.
        c.schedule_in_lane(0, 1_003, 3);
        assert_eq!((c.heap.len(), c.lanes[0].queue.len()), (3, 1));
        assert_eq!(c.len(), 4);
        assert_eq!(c.pop(), Some((1_000, 0)), "FIFO across lane and heap");
        assert_eq!(c.pop(), Some((1_000, 1)));
        assert_eq!(c.pop(), Some((1_000, 2)));
        assert!(!c.lanes[0].in_heap, "the lane emptied");
        // An empty lane takes any delay.
        c.schedule_in_lane(0, 1_500, 4);
        assert_eq!(c.lanes[0].delay, 500);
        assert_eq!(c.pop(), Some((1_003, 3)));
        assert_eq!(c.pop(), Some((1_500, 4)));
        // A lane number past the last goes to the heap.
        c.schedule_in_lane(LANES, 2_000, 5);
        assert_eq!(c.pop(), Some((2_000, 5)));
        assert!(c.is_empty());
    }

    #[test]
    fn schedule_in_is_relative_to_now() {
        let mut c = Calendar::new();
        c.schedule(100, 1);
        c.pop();
        c.schedule_in(5, 2);
        assert_eq!(c.pop(), Some((105, 2)));
    }

    #[test]
    fn seconds_round_trip() {
        assert_eq!(secs_to_ns(1.5), 1_500_000_000);
        assert_eq!(secs_to_ns(-1.0), 0);
        assert_eq!(secs_to_ns(f64::NAN), 0);
        assert_eq!(ns_to_secs(2_000_000_000), 2.0);
    }

    #[test]
    fn the_slot_keeps_the_order_of_a_stable_sort() {
        against_a_stable_sort(0x9e37_79b9_7f4a_7c15, true, false);
    }
}

//! Named random streams, as the engine holds them: the configuration keeps
//! each stream's name (`(node, purpose)`, see [`crate::rng`]), the state
//! keeps its position. A live reconfiguration keeps the position of every
//! stream whose name survives, starts new names where a fresh run would,
//! and forgets names that went away, so "mistake, then fix at T" draws what
//! a fresh run of the fix draws for a step from its first use on.

use crate::rng::{stream, Stream};
use std::collections::BTreeMap;

/// Index of a stream in [`StreamNames`] and [`Streams`].
pub(crate) type StreamId = u32;

/// The names of a configuration's streams, by id.
#[derive(Clone, Debug, Default)]
pub(crate) struct StreamNames {
    names: Vec<(String, String)>,
}

impl StreamNames {
    /// Registers the stream `(node, purpose)` and returns its id. A name may
    /// repeat; each occurrence is a stream of its own (same seed).
    pub(crate) fn add(&mut self, node: &str, purpose: &str) -> StreamId {
        self.names.push((node.to_string(), purpose.to_string()));
        (self.names.len() - 1) as StreamId
    }

    /// The name of stream `id`: (node, purpose).
    pub(crate) fn name(&self, id: StreamId) -> (&str, &str) {
        let (n, p) = &self.names[id as usize];
        (n, p)
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    /// (name, occurrence) -> id.
    fn index(&self) -> BTreeMap<(&(String, String), usize), usize> {
        let mut seen: BTreeMap<&(String, String), usize> = BTreeMap::new();
        let mut out = BTreeMap::new();
        for (i, n) in self.names.iter().enumerate() {
            let k = seen.entry(n).or_insert(0);
            out.insert((n, *k), i);
            *k += 1;
        }
        out
    }
}

/// The positions of a configuration's streams.
pub(crate) struct Streams {
    rngs: Vec<Stream>,
}

impl Streams {
    /// Every stream of `names` at its start.
    pub(crate) fn new(seed: u64, names: &StreamNames) -> Streams {
        Streams {
            rngs: names
                .names
                .iter()
                .map(|(node, purpose)| stream(seed, node, purpose))
                .collect(),
        }
    }

    #[inline(always)]
    pub(crate) fn get(&mut self, id: StreamId) -> &mut Stream {
        &mut self.rngs[id as usize]
    }

    /// The streams of `new`: a name `old` had keeps its position, a new one
    /// starts fresh.
    pub(crate) fn migrate(&mut self, seed: u64, old: &StreamNames, new: &StreamNames) {
        let index = old.index();
        let mut seen: BTreeMap<&(String, String), usize> = BTreeMap::new();
        let mut rngs = Vec::with_capacity(new.len());
        for n in &new.names {
            let k = seen.entry(n).or_insert(0);
            let kept = index.get(&(n, *k)).map(|&i| self.rngs[i].clone());
            *k += 1;
            rngs.push(kept.unwrap_or_else(|| stream(seed, &n.0, &n.1)));
        }
        self.rngs = rngs;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngCore;

    #[test]
    fn migration_keeps_surviving_names_and_starts_new_ones_fresh() {
        let mut old = StreamNames::default();
        let a = old.add("api", "compute.0");
        let gone = old.add("api", "compute.1");
        let mut s = Streams::new(9, &old);
        let first = s.get(a).next_u64();
        s.get(gone).next_u64();
        let mut new = StreamNames::default();
        let fresh = new.add("api", "key.2");
        let a2 = new.add("api", "compute.0");
        s.migrate(9, &old, &new);
        // The surviving stream continues where it was.
        let mut reference = stream(9, "api", "compute.0");
        assert_eq!(reference.next_u64(), first);
        assert_eq!(s.get(a2).next_u64(), reference.next_u64());
        // The new one starts as a fresh run would start it.
        assert_eq!(
            s.get(fresh).next_u64(),
            stream(9, "api", "key.2").next_u64()
        );
        // A name that went away and comes back starts again from scratch.
        let mut back = StreamNames::default();
        let g = back.add("api", "compute.1");
        s.migrate(9, &new, &back);
        assert_eq!(
            s.get(g).next_u64(),
            stream(9, "api", "compute.1").next_u64()
        );
    }

    #[test]
    fn repeated_names_are_separate_streams() {
        let mut names = StreamNames::default();
        let a = names.add("n", "p");
        let b = names.add("n", "p");
        let mut s = Streams::new(1, &names);
        let x = s.get(a).next_u64();
        let y = s.get(b).next_u64();
        assert_eq!(x, y, "same name, same seed");
        let mut s2 = Streams::new(1, &names);
        s2.get(a).next_u64();
        s2.get(a).next_u64();
        let mut moved = StreamNames::default();
        let a2 = moved.add("n", "p");
        let b2 = moved.add("n", "p");
        s2.migrate(1, &names, &moved);
        let _ = (a2, b2);
        // Occurrences map in order: the second copy is still at its start.
        assert_eq!(s2.get(b2).next_u64(), x);
    }
}

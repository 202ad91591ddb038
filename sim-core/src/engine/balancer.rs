//! Choosing a replica: the balancing policies (round robin, random, least
//! connections, power of two choices, sticky sessions), for load-balancer
//! nodes and for a service's own replicas.

use crate::rng::Stream;
use crate::spec::Balance;
use rand::Rng;
use rustc_hash::FxHashMap;

/// A balancer's running state.
pub(crate) struct Balancer {
    rr: u32,
    /// Sticky sessions: user -> (node, replica).
    sticky: FxHashMap<u64, (u32, u32)>,
}

impl Default for Balancer {
    fn default() -> Self {
        Balancer {
            rr: u32::MAX,
            sticky: FxHashMap::default(),
        }
    }
}

/// A candidate: (node, replica, requests in it).
pub(crate) type Candidate = (u32, u32, u64);

impl Balancer {
    /// Picks a candidate by `policy`; `None` if there is none.
    pub(crate) fn pick(
        &mut self,
        policy: Balance,
        rng: &mut Stream,
        cands: &[Candidate],
        user: u64,
    ) -> Option<(u32, u32)> {
        if cands.is_empty() {
            return None;
        }
        let n = cands.len() as u32;
        let i = match policy {
            Balance::RoundRobin => {
                self.rr = self.rr.wrapping_add(1);
                (self.rr % n) as usize
            }
            Balance::Random => rng.random_range(0..n) as usize,
            Balance::LeastConnections => {
                // Ties go to the first candidate in order after the last pick.
                self.rr = self.rr.wrapping_add(1);
                let start = (self.rr % n) as usize;
                (0..cands.len())
                    .map(|k| (start + k) % cands.len())
                    .min_by_key(|&i| cands[i].2)
                    .expect("a candidate")
            }
            Balance::PowerOfTwo => {
                let a = rng.random_range(0..n) as usize;
                let c = rng.random_range(0..n) as usize;
                if cands[c].2 < cands[a].2 {
                    c
                } else {
                    a
                }
            }
            Balance::Sticky => {
                if let Some(&(nn, r)) = self.sticky.get(&user) {
                    if cands.iter().any(|c| c.0 == nn && c.1 == r) {
                        return Some((nn, r));
                    }
                    // The pinned replica is gone: the session moves.
                }
                self.rr = self.rr.wrapping_add(1);
                let i = (self.rr % n) as usize;
                self.sticky.insert(user, (cands[i].0, cands[i].1));
                i
            }
        };
        Some((cands[i].0, cands[i].1))
    }
}

/// A load-balancer node's counters.
#[derive(Default)]
pub(crate) struct LbState {
    pub(crate) routed: u64,
    pub(crate) to_dead: u64,
}

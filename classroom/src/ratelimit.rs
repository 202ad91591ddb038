//! Token buckets by client address, with the time passed in (so the tests
//! need no clock). Memory is bounded: at most `max_keys` addresses are
//! remembered; full buckets (nothing to remember) are dropped first, and
//! past that every new address is refused until some refill.

use std::collections::BTreeMap;
use std::net::IpAddr;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at_ms: u64,
}

#[derive(Debug)]
pub struct RateLimiter {
    capacity: f64,
    per_ms: f64,
    max_keys: usize,
    buckets: BTreeMap<IpAddr, Bucket>,
}

/// The address a limit applies to: IPv6 clients usually hold a whole /64,
/// so they are limited by it.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl RateLimiter {
    /// `capacity` tokens, refilled at `capacity` per `period_ms`.
    pub fn new(capacity: u32, period_ms: u64, max_keys: usize) -> RateLimiter {
        RateLimiter {
            capacity: f64::from(capacity.max(1)),
            per_ms: f64::from(capacity.max(1)) / period_ms.max(1) as f64,
            max_keys: max_keys.max(1),
            buckets: BTreeMap::new(),
        }
    }

    fn refilled(&self, b: Bucket, now_ms: u64) -> f64 {
        let dt = now_ms.saturating_sub(b.at_ms) as f64;
        (b.tokens + dt * self.per_ms).min(self.capacity)
    }

    /// Whether `ip` still has a token (without taking one).
    pub fn allows(&self, ip: IpAddr, now_ms: u64) -> bool {
        match self.buckets.get(&client_key(ip)) {
            Some(b) => self.refilled(*b, now_ms) >= 1.0,
            None => self.buckets.len() < self.max_keys || self.has_full(now_ms),
        }
    }

    fn has_full(&self, now_ms: u64) -> bool {
        self.buckets
            .values()
            .any(|b| self.refilled(*b, now_ms) >= self.capacity)
    }

    /// Takes a token from `ip`'s bucket; false if it has none left.
    pub fn take(&mut self, ip: IpAddr, now_ms: u64) -> bool {
        let key = client_key(ip);
        if !self.buckets.contains_key(&key) && self.buckets.len() >= self.max_keys {
            self.prune(now_ms);
            if self.buckets.len() >= self.max_keys {
                return false;
            }
        }
        let full = Bucket {
            tokens: self.capacity,
            at_ms: now_ms,
        };
        let b = *self.buckets.get(&key).unwrap_or(&full);
        let tokens = self.refilled(b, now_ms);
        if tokens < 1.0 {
            return false;
        }
        self.buckets.insert(
            key,
            Bucket {
                tokens: tokens - 1.0,
                at_ms: now_ms,
            },
        );
        true
    }

    /// Forgets every address whose bucket has refilled.
    pub fn prune(&mut self, now_ms: u64) {
        let (cap, per_ms) = (self.capacity, self.per_ms);
        self.buckets.retain(|_, b| {
            let dt = now_ms.saturating_sub(b.at_ms) as f64;
            b.tokens + dt * per_ms < cap
        });
    }

    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_bucket_empties_then_refills_at_its_rate() {
        // 10 per minute: 10 at once, then one every 6 s.
        let mut r = RateLimiter::new(10, 60_000, 100);
        let a = ip("192.0.2.1");
        for _ in 0..10 {
            assert!(r.take(a, 0));
        }
        assert!(!r.take(a, 0));
        assert!(!r.allows(a, 5_999));
        assert!(r.take(a, 6_000));
        assert!(!r.take(a, 6_000));
        // another address is not affected
        assert!(r.take(ip("192.0.2.2"), 0));
    }

    #[test]
    fn ipv6_clients_share_their_64_and_mapped_v4_is_v4() {
        let mut r = RateLimiter::new(1, 60_000, 100);
        assert!(r.take(ip("2001:db8:1:2::1"), 0));
        assert!(!r.take(ip("2001:db8:1:2::ffff"), 0));
        assert!(r.take(ip("2001:db8:1:3::1"), 0));
        assert!(r.take(ip("192.0.2.9"), 0));
        assert!(!r.take(ip("::ffff:192.0.2.9"), 0));
    }

    #[test]
    fn memory_is_bounded_by_max_keys() {
        let mut r = RateLimiter::new(2, 1_000, 3);
        for i in 0..3 {
            assert!(r.take(IpAddr::from([10, 0, 0, i]), 0));
        }
        // full of half-empty buckets: a fourth address waits
        assert!(!r.take(ip("10.0.0.9"), 0));
        assert_eq!(r.len(), 3);
        // after a refill the old buckets are forgotten and it gets in
        assert!(r.take(ip("10.0.0.9"), 1_000));
        assert_eq!(r.len(), 1);
    }
}

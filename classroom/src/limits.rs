//! Every cap of the server, in one place: what one misbehaving client, or
//! a flood of them, can make the server hold. `Limits::default()` is what
//! `tailsim-classroom` runs with; the flags can lower or raise each.

use std::time::Duration;

#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Rooms open at once on the server.
    pub max_rooms: usize,
    /// Students in one room (the load test fills one).
    pub max_students: usize,
    /// WebSocket connections on the server, every room together.
    pub max_connections: usize,
    /// A room lives this long, whatever happens in it.
    pub room_ttl: Duration,
    /// A room whose teacher has been away this long expires.
    pub idle_ttl: Duration,
    /// Questions one room may ask (each keeps its answers for the export).
    pub max_questions: usize,
    /// Wrong codes or tokens per address per minute (and the burst).
    pub failed_per_minute: u32,
    /// Rooms one address may open per hour (and the burst).
    pub rooms_per_hour: u32,
    /// Messages per second per connection, and the burst above it.
    pub messages_per_s: u32,
    pub message_burst: u32,
    /// Refused messages before a connection is closed.
    pub strikes: u32,
    /// Seconds a new connection has to say who it is.
    pub hello_timeout: Duration,
    /// Work (events handled and calls made) the server may simulate for
    /// one answer, all seeds together (100 M: a few seconds; every
    /// catalogue lesson fits, see sim-core/tests/it/workshops.rs, which
    /// keeps the same number).
    pub max_work: u64,
    /// Addresses the rate limiters remember at once.
    pub max_addresses: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_rooms: 50,
            max_students: 1_000,
            max_connections: 4_000,
            room_ttl: Duration::from_secs(6 * 3600),
            idle_ttl: Duration::from_secs(45 * 60),
            max_questions: 200,
            failed_per_minute: 10,
            rooms_per_hour: 20,
            messages_per_s: 10,
            message_burst: 30,
            strikes: 20,
            hello_timeout: Duration::from_secs(15),
            max_work: 100_000_000,
            max_addresses: 100_000,
        }
    }
}

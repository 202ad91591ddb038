//! # classroom: tailsim's classroom server
//!
//! A teacher opens a room and gets a join code and a QR code; students
//! join from their phones with the code and a nickname; when the teacher
//! opens a lesson's question, every student commits a prediction and the
//! teacher's screen shows the distribution live; on reveal everyone sees
//! the simulated answer beside it (peer instruction, with the engine as
//! the referee).
//!
//! - [`protocol`]: the WebSocket messages, shared with the page (this
//!   part compiles without the `server` feature, to WebAssembly).
//! - [`histogram`]: the class's guesses binned, every guess counted once.
//! - `room`: one room as a state machine, no sockets and no clock: every
//!   rule about who may do what is there and tested there.
//! - `ratelimit`, `limits`: the caps (see `Limits::default`).
//! - `server`: axum + tokio: static files, `POST /api/rooms`, `/ws`, the
//!   CSV export, the QR code, expiry.
//! - `load`: the load generator of `cargo xtask bench --only classroom`.
//!
//! Safe by default: rooms live in memory and expire; join codes have 39.6
//! bits and wrong guesses are rate-limited per address; only the teacher's
//! token can act for the teacher; every message is size-capped and
//! validated; nicknames refuse markup and invisible characters and are
//! escaped wherever shown (text nodes on the page, quoted cells in the CSV);
//! rooms, students, connections and questions are capped; the server binds
//! 127.0.0.1 unless told otherwise.

pub mod histogram;
pub mod protocol;

#[cfg(feature = "server")]
pub mod csv;
#[cfg(feature = "server")]
pub mod limits;
#[cfg(feature = "server")]
pub mod load;
#[cfg(feature = "server")]
pub mod ratelimit;
#[cfg(feature = "server")]
pub mod room;
#[cfg(feature = "server")]
pub mod server;

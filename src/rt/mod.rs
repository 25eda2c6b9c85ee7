//! The runtime machinery the server, WebSockets and the blocking style are
//! built on, none of it about HTTP or WebSockets: wakers that note which of
//! them fired, a join of two futures in one task, a bounded queue, the
//! shutdown flag, and the timer behind every timeout.
//!
//! Private to the crate. Nothing here imports anything outside `rt/`; the
//! files import each other one way: `wake_flags` under `poll_gates` and
//! `join_pair`, the rest on their own.

// The queue serves WebSockets and the blocking style, each using part of
// it; the wakers and the join, WebSockets alone (the `ws` feature).
#[cfg(any(feature = "ws", feature = "blocking"))]
#[cfg_attr(not(all(feature = "ws", feature = "blocking")), allow(dead_code))]
mod bounded_queue;
mod deadline;
#[cfg(feature = "ws")]
mod join_pair;
#[cfg(feature = "ws")]
mod poll_gates;
mod shutdown_flag;
#[cfg(feature = "ws")]
mod wake_flags;

#[cfg(any(feature = "ws", feature = "blocking"))]
#[cfg_attr(not(all(feature = "ws", feature = "blocking")), allow(unused_imports))]
pub(crate) use bounded_queue::{bounded, bounded_with, Rx, TrySendError, Tx, Wakeups};
pub(crate) use deadline::{Deadline, Inline};
#[cfg(feature = "ws")]
pub(crate) use join_pair::join_pair;
#[cfg(feature = "ws")]
pub(crate) use poll_gates::{Gate, PollGates, Turn};
pub(crate) use shutdown_flag::{Raised, ShutdownFlag};

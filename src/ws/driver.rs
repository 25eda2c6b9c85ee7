//! The connection side of a WebSocket: the state of the one loop that reads
//! frames, writes the handler's messages, pings, and runs the close
//! handshake, in the same task as the handler. The loop is in
//! `event_loop`, the close handshake in `close`, keepalive in `keepalive`.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::live_io::LiveIo;
use super::settings::Timing;
use super::socket::Command;
use crate::hijack::ShutdownSignal;
use crate::rt::{PollGates, Rx, Tx};

/// Most messages written in one batch before the loop reads again.
pub(super) const MAX_BATCH: usize = 64;

pub(super) type Stream = WebSocketStream<LiveIo>;

pub(super) struct Driver {
    pub(super) stream: Stream,
    /// Which rarely-ready sources can have anything new (`gates`).
    pub(super) gates: PollGates,
    /// Whether reading goes before the handler's commands on this turn:
    /// they take turns, so that neither starves the other.
    pub(super) reads_first: bool,
    pub(super) in_tx: Tx<Message>,
    pub(super) out_rx: Rx<Command>,
    pub(super) shutdown: ShutdownSignal,
    pub(super) timing: Timing,
    /// A message the handler has no room for yet; reading waits for it.
    pub(super) pending_in: Option<Message>,
    /// When reading last resumed after waiting for the handler.
    pub(super) resumed: Instant,
    /// When the ping that has not been answered yet went out.
    pub(super) ping_sent: Option<Instant>,
    /// Set once we sent our close frame: the peer must answer by then.
    pub(super) close_deadline: Option<Instant>,
    /// Shared with the senders: set when a close begins, from either side.
    pub(super) closing: Arc<AtomicBool>,
}

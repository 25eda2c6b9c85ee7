//! Running a handler on an upgraded connection: the queues, the socket
//! the handler gets, and the driver, joined in one task.

use std::future::Future;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use futures_util::FutureExt;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

use super::driver::{Driver, Stream};
use super::live_io::LiveIo;
use super::settings::Settings;
use super::socket::{Sender, WebSocket};
use crate::hijack::Upgraded;
use crate::rt::{self, PollGates};

/// Runs `handler` on the upgraded connection until both are done.
///
/// Everything is set up here, before the returned future, and the two
/// halves are joined by a combinator rather than inside an `async` block:
/// an `async` block or `async fn` keeps the values it captured even after
/// moving them on, side by side with their new homes, for as long as it
/// runs. This future is most of an idle connection's memory.
pub(crate) fn run<F, Fut>(
    io: Upgraded,
    settings: Settings,
    protocol: Option<String>,
    handler: F,
) -> impl Future<Output = ()>
where
    F: FnOnce(WebSocket) -> Fut,
    Fut: Future<Output = ()>,
{
    let shutdown = io.shutdown_signal();
    let stream = open(LiveIo::new(io), settings.ws);
    let (out_tx, out_rx) = rt::bounded(settings.queue);
    let (in_tx, in_rx) = rt::bounded(settings.queue);
    let closing = Arc::new(AtomicBool::new(false));
    let sender = Sender {
        tx: out_tx,
        closing: closing.clone(),
    };
    let closer = sender.clone();
    let socket = WebSocket {
        incoming: in_rx,
        sender,
        protocol,
    };
    let handler = async move {
        handler(socket).await;
        // Returning closes with 1000, after what the handler queued (unless
        // a close already began).
        let _ = closer.close(CloseCode::Normal, "").await;
    };
    let driver = Driver {
        stream,
        gates: PollGates::new(),
        reads_first: false,
        in_tx,
        out_rx,
        shutdown,
        timing: settings.timing,
        pending_in: None,
        resumed: Instant::now(),
        ping_sent: None,
        close_deadline: None,
        closing,
    };
    // The handler outlives the connection if it wants to (to clean up);
    // its recv() then returns None and its sends fail.
    rt::join_pair(driver.run(), handler)
}

/// Wraps the upgraded connection in tungstenite, without a handshake (the
/// 101 already went out).
///
/// tokio-tungstenite offers this only as an `async fn`, but one that is
/// ready on its first poll: it just stores the waker it was polled with,
/// which every later read or write replaces. Polling it here, once, keeps
/// its future out of the connection's.
fn open(io: LiveIo, config: WebSocketConfig) -> Stream {
    WebSocketStream::from_raw_socket(io, Role::Server, Some(config))
        .now_or_never()
        .expect("tokio-tungstenite's from_raw_socket is ready on its first poll")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size_of_output<A, R>(_: impl FnOnce(A) -> R) -> usize {
        std::mem::size_of::<R>()
    }

    /// Set up before the future, joined by a combinator: the connection's
    /// future holds no second copy of what it moved into the loop. The
    /// bound: today's size with an empty handler (see the commit) and a
    /// little more.
    #[test]
    fn a_connection_s_future_is_the_loop_and_the_handler() {
        let size = size_of_output(|(io, settings): (Upgraded, Settings)| {
            run(io, settings, None, |_ws: WebSocket| async {})
        });
        assert!(
            size <= 1472,
            "a WebSocket connection's future grew to {size} bytes"
        );
    }
}

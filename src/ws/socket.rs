use std::fmt;
use std::future::{poll_fn, Future};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Poll;

use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use crate::error::{Error, Kind};
use crate::rt::{Rx, Tx};

/// What the handler asks the connection to do.
#[derive(Debug)]
pub(crate) enum Command {
    Send(Message),
    Close(CloseFrame),
}

/// An open WebSocket, as a handler sees it: as plain as eventlet's.
///
/// ```
/// async fn echo(mut ws: gateway::ws::WebSocket) {
///     while let Some(msg) = ws.recv().await {
///         if ws.send(msg).await.is_err() {
///             break;
///         }
///     }
/// }
/// ```
///
/// - [`recv`](WebSocket::recv) gives the next text or binary message, or
///   `None` once the peer closed (or the connection died). Pings are
///   answered and fragments reassembled for you.
/// - [`send`](WebSocket::send) queues a message; it waits only when the
///   outgoing queue is full (a peer that does not read slows you down).
/// - [`sender`](WebSocket::sender) gives a cloneable [`Sender`] for other
///   tasks (chat rooms, pushes).
/// - Returning from the handler closes the connection with 1000.
pub struct WebSocket {
    pub(crate) incoming: Rx<Message>,
    pub(crate) sender: Sender,
    pub(crate) protocol: Option<String>,
}

impl WebSocket {
    /// The next text or binary message; `None` when the peer closed the
    /// connection, it broke, or the server is shutting down and the close
    /// handshake finished.
    pub async fn recv(&mut self) -> Option<Message> {
        self.incoming.recv().await
    }

    /// Sends a message (`String` and `&str` become text; `Vec<u8>` and
    /// `Bytes` binary).
    ///
    /// # Errors
    ///
    /// [`Error::is_client_gone`] once the connection is closed or closing.
    pub fn send(
        &self,
        msg: impl Into<Message>,
    ) -> impl Future<Output = Result<(), Error>> + Send + '_ {
        self.sender.send(msg)
    }

    /// A handle for sending from other tasks.
    pub fn sender(&self) -> Sender {
        self.sender.clone()
    }

    /// The subprotocol agreed in the handshake, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// Starts the close handshake with `code` and `reason` (at most 123
    /// bytes). Messages already received can still be read with `recv`
    /// until it returns `None`.
    ///
    /// # Errors
    ///
    /// [`Error::is_client_gone`] if the connection is already closed.
    pub fn close(
        &self,
        code: CloseCode,
        reason: &str,
    ) -> impl Future<Output = Result<(), Error>> + Send + '_ {
        self.sender.close(code, reason)
    }
}

impl fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocket")
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

/// Sends on a [`WebSocket`] from anywhere; cheap to clone.
#[derive(Clone)]
pub struct Sender {
    pub(crate) tx: Tx<Command>,
    /// Set once a close began (ours or the peer's): later sends fail at
    /// once instead of being queued and dropped.
    pub(crate) closing: Arc<AtomicBool>,
}

impl Sender {
    /// Sends a message; see [`WebSocket::send`].
    ///
    /// # Errors
    ///
    /// [`Error::is_client_gone`] once the connection is closed or closing.
    pub fn send(
        &self,
        msg: impl Into<Message>,
    ) -> impl Future<Output = Result<(), Error>> + Send + '_ {
        let command = match msg.into() {
            Message::Close(Some(frame)) => Command::Close(close_frame(frame.code, &frame.reason)),
            Message::Close(None) => Command::Close(close_frame(CloseCode::Normal, "")),
            msg => Command::Send(msg),
        };
        self.submit(command)
    }

    /// Starts the close handshake; see [`WebSocket::close`].
    ///
    /// # Errors
    ///
    /// [`Error::is_client_gone`] if the connection is already closed.
    pub fn close(
        &self,
        code: CloseCode,
        reason: &str,
    ) -> impl Future<Output = Result<(), Error>> + Send + '_ {
        self.submit(Command::Close(close_frame(code, reason)))
    }

    /// Queues `command` when first polled, as an `async fn` would, but
    /// holding the message once: this future sits in every handler that
    /// waits on a send, so its size is part of each connection's memory.
    fn submit(&self, command: Command) -> impl Future<Output = Result<(), Error>> + Send + '_ {
        let mut command = Some(command);
        let mut checked = false;
        poll_fn(move |cx| {
            if !checked {
                checked = true;
                // Only one close goes out; nothing is sent after it.
                let closed = match command {
                    Some(Command::Close(_)) => self.closing.swap(true, Ordering::AcqRel),
                    _ => self.closing.load(Ordering::Acquire),
                };
                if closed {
                    return Poll::Ready(Err(Error::new(Kind::ClientGone)));
                }
            }
            self.tx
                .poll_send(cx, &mut command)
                .map_err(|()| Error::new(Kind::ClientGone))
        })
    }

    /// Whether the connection is gone (sends would fail).
    pub fn is_closed(&self) -> bool {
        self.closing.load(Ordering::Acquire) || self.tx.is_closed()
    }
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// A close frame; its reason is cut to the 123 bytes a frame has room for,
/// on a char boundary.
fn close_frame(code: CloseCode, reason: &str) -> CloseFrame {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    CloseFrame {
        code,
        reason: reason[..end].into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A handler waiting on a send holds this future: it holds its message
    /// once. The bound: today's size (see the commit) and a little more.
    #[test]
    fn a_send_s_future_stays_small() {
        let (tx, _rx) = crate::rt::bounded::<Command>(1);
        let sender = Sender {
            tx,
            closing: Arc::default(),
        };
        let size = std::mem::size_of_val(&sender.send("x"));
        assert!(size <= 96, "Sender::send's future grew to {size} bytes");
    }
}

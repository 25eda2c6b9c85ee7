//! Closing: ours (the handler's close, its return, a server shutdown),
//! and the peer's bad frames, which get their answers first (spec 8.9).

use std::future::{poll_fn, Future};
use std::sync::atomic::Ordering;
use std::task::Poll;

use futures_util::SinkExt;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::error::{Error as WsError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use super::driver::{Driver, MAX_BATCH};
use super::socket::Command;
use super::timed_write::{timed, End};

/// Turns the handler gets, once a bad frame arrived, to take the messages
/// read before it and queue its answers (spec 8.9).
const LAST_TURNS: usize = 4;

pub(super) fn close_frame(code: CloseCode, reason: &'static str) -> CloseFrame {
    CloseFrame {
        code,
        reason: reason.into(),
    }
}

impl Driver {
    pub(super) async fn start_close(&mut self, frame: CloseFrame) -> Result<(), End> {
        self.closing.store(true, Ordering::Release);
        let limit = self.timing.ping_timeout;
        timed(limit, self.stream.send(Message::Close(Some(frame)))).await?;
        self.close_deadline = Some(Instant::now() + self.timing.close_timeout);
        // Later sends fail at once instead of waiting on a closed queue.
        self.out_rx.close();
        Ok(())
    }

    pub(super) async fn read_failed(&mut self, error: WsError) -> Result<(), End> {
        let frame = match &error {
            WsError::Utf8(_) => Some(close_frame(CloseCode::Invalid, "invalid UTF-8")),
            WsError::Capacity(_) => Some(close_frame(CloseCode::Size, "message too big")),
            WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => None,
            WsError::Protocol(_) => Some(close_frame(CloseCode::Protocol, "protocol error")),
            _ => None,
        };
        tracing::debug!(error = %error, "websocket read failed");
        if let Some(frame) = frame {
            // The read side is done for. What the peer sent before the bad
            // frame was good, and the handler's answers to it go first;
            // then tell the peer why and go.
            self.last_answers().await?;
            let limit = self.timing.ping_timeout;
            let _ = timed(limit, self.stream.send(Message::Close(Some(frame)))).await;
        }
        Err(End::ReadFailed)
    }

    /// Gives the handler a few turns (it runs in this task, between two
    /// polls of the loop) to take the messages it was handed and queue its
    /// answers, and writes them (spec 8.9). Stops at the first turn that
    /// leaves nothing to hand over and nothing to write, or at the
    /// handler's own close: the connection fails with ours instead.
    async fn last_answers(&mut self) -> Result<(), End> {
        let limit = self.timing.ping_timeout;
        // One round more than the handler's turns: a message handed over in
        // the same poll as the bad frame was read wakes the handler too late
        // for the pair's current round, so the handler's first turn may come
        // only after this loop's first resumption.
        for _ in 0..=LAST_TURNS {
            yield_once().await;
            let mut wrote = false;
            let mut closed = false;
            // Bounded, as `send_batch`: senders on other threads may keep
            // the queue full.
            for _ in 0..MAX_BATCH {
                match self.out_rx.try_recv() {
                    Some(Command::Send(msg)) => {
                        timed(limit, self.stream.feed(msg)).await?;
                        wrote = true;
                    }
                    // Nothing queued behind a close goes out (8.11).
                    Some(Command::Close(_)) => {
                        closed = true;
                        break;
                    }
                    None => break,
                }
            }
            if wrote {
                timed(limit, self.stream.flush()).await?;
            }
            let handed_over = self.in_tx.is_empty() || self.in_tx.is_closed();
            if closed || (!wrote && handed_over) {
                break;
            }
        }
        Ok(())
    }
}

/// Pending once, with this half of the pair woken again at once: the
/// pair polls the other half (the handler), if it was woken, before or
/// soon after this one resumes, without going through the scheduler.
fn yield_once() -> impl Future<Output = ()> {
    let mut yielded = false;
    poll_fn(move |cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
}

//! Keepalive: pings for a quiet peer, a dead one dropped (spec 8.12), and
//! memory a burst left behind given back.

use bytes::Bytes;
use futures_util::SinkExt;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::driver::Driver;
use super::timed_write::{timed, End};

impl Driver {
    pub(super) async fn keepalive(&mut self) -> Result<(), End> {
        let Some(every) = self.timing.ping_interval else {
            return Ok(());
        };
        // Once a tick: a quiet connection gives its read-ahead memory back,
        // and the queues what a burst left.
        self.stream.get_mut().release_idle();
        self.in_tx.release_idle();
        self.out_rx.release_idle();
        // While the handler has not taken the last message, the socket is
        // not read: the silence is ours, not the peer's.
        if self.pending_in.is_some() {
            return Ok(());
        }
        let heard = self.stream.get_ref().last_read().max(self.resumed);
        if let Some(sent) = self.ping_sent {
            // Any byte since the ping is an answer.
            if heard < sent {
                if sent.elapsed() >= self.timing.ping_timeout {
                    return Err(End::PeerDead);
                }
                return Ok(());
            }
            self.ping_sent = None;
        }
        // Half an interval, not a whole one: the tick comes once an
        // interval, so a peer whose last answer came just after the last
        // tick is still pinged at this one.
        if heard.elapsed() >= every / 2 && self.close_deadline.is_none() {
            let limit = self.timing.ping_timeout;
            timed(limit, self.stream.send(Message::Ping(Bytes::new()))).await?;
            self.ping_sent = Some(Instant::now());
        }
        Ok(())
    }
}

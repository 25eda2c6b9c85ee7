//! What an app's thread tells its response, and the queue it goes through:
//! the app's thread blocks while eight events wait, the response's task
//! awaits them (spec 10.3).

use bytes::Bytes;

use super::pool::{Pool, PoolWakeups};
use crate::error::Error;
use crate::rt::{self, Rx, Tx};

/// Events that may wait: `send` blocks beyond this. The app's thread and
/// the connection share the machine: every time the queue runs dry and
/// fills again costs both a wake-up and a context switch, so a deeper queue
/// means fewer of them, at the price of memory.
const CAPACITY: usize = 8;

/// A writer blocked on a full queue resumes once it is down to this many.
const LOW_WATER: usize = 1;

/// What the app's thread tells the response.
pub(crate) enum Event {
    /// The head, perhaps with the first chunk (one wake-up, not two), the
    /// rest of the body to follow as chunks.
    Head(http::response::Parts, Option<Bytes>),
    Chunk(Bytes),
    /// The head and the whole body in one buffer (sent with its length).
    Whole(http::response::Parts, Bytes),
    Fail(Error),
}

/// The app's end; clones share the queue.
pub(crate) type EventTx = Tx<Event, PoolWakeups>;
/// The response's end.
pub(crate) type EventRx = Rx<Event, PoolWakeups>;

/// The queue between an app run on `pool` and its response. The pool's
/// threads batch their wake-ups of responses (see `pool::wake_batch`).
pub(crate) fn queue(pool: &'static Pool) -> (EventTx, EventRx) {
    rt::bounded_with(CAPACITY, LOW_WATER, PoolWakeups(pool))
}

#[cfg(test)]
mod tests {
    use std::thread;
    use std::time::Duration;

    use super::*;

    fn chunk(n: u8) -> Event {
        Event::Chunk(Bytes::from(vec![n]))
    }

    fn number(event: Option<Event>) -> Option<u8> {
        match event? {
            Event::Chunk(bytes) => Some(bytes[0]),
            _ => None,
        }
    }

    /// Waits until a sender blocks on the full queue.
    fn until_blocked(rx: &EventRx) {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while rx.blocked() == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the sender never blocked"
            );
            thread::yield_now();
        }
    }

    #[tokio::test]
    async fn spec_10_3_send_blocks_while_eight_events_wait_and_resumes_at_one() {
        let last = CAPACITY as u8 + 2;
        let (tx, mut rx) = queue(crate::blocking::pool::global());
        let (sent_tx, sent_rx) = std::sync::mpsc::channel();
        let app = thread::spawn(move || {
            for n in 0..last {
                tx.send_blocking(chunk(n)).expect("the receiver waits");
                sent_tx.send(n).unwrap();
            }
        });
        until_blocked(&rx);
        let sent: Vec<u8> = sent_rx.try_iter().collect();
        assert_eq!(sent, (0..8).collect::<Vec<_>>(), "eight, then it blocked");
        // Not resumed for every free slot: only once down to one event.
        for n in 0..6 {
            assert_eq!(number(rx.recv().await), Some(n));
            assert_eq!(rx.blocked(), 1, "still blocked with {} waiting", 7 - n);
        }
        assert_eq!(number(rx.recv().await), Some(6));
        assert_eq!(sent_rx.recv_timeout(Duration::from_secs(5)), Ok(8));
        while rx.recv().await.is_some() {}
        app.join().unwrap();
    }

    #[tokio::test]
    async fn spec_10_5_finished_once_the_last_event_is_taken_and_every_sender_gone() {
        let (tx, mut rx) = queue(crate::blocking::pool::global());
        tx.send_blocking(chunk(0)).unwrap();
        tx.send_blocking(chunk(1)).unwrap();
        assert!(!rx.is_finished(), "events wait");
        drop(tx);
        assert_eq!(number(rx.recv().await), Some(0));
        assert!(!rx.is_finished(), "one event still waits");
        assert_eq!(number(rx.recv().await), Some(1));
        assert!(rx.is_finished());

        let (tx, mut rx) = queue(crate::blocking::pool::global());
        tx.send_blocking(chunk(0)).unwrap();
        assert_eq!(number(rx.recv().await), Some(0));
        assert!(!rx.is_finished(), "a sender may still send");
        drop(tx);
        assert!(rx.is_finished());
    }

    #[test]
    fn a_dropped_receiver_fails_sends_and_frees_a_blocked_one() {
        let (tx, rx) = queue(crate::blocking::pool::global());
        let app = thread::spawn(move || {
            let mut sent = 0;
            while tx.send_blocking(chunk(sent)).is_ok() {
                sent += 1;
            }
            sent
        });
        until_blocked(&rx);
        drop(rx);
        assert_eq!(usize::from(app.join().unwrap()), CAPACITY);
    }
}

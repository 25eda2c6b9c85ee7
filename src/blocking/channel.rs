//! The queue between an app's thread and its response: the app's thread
//! blocks while eight events wait, the response's task awaits them.
//!
//! Not tokio's `mpsc::channel`, so that a pool thread's wake-ups of
//! response tasks can go out in [batches](super::wakes): the receiving
//! task is the one that wakes the others. (On its own it measured no
//! faster, though it allocates a few hundred bytes where tokio's took a
//! block of 32 slots, several KiB, and a semaphore.)

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use super::adapter::Event;

/// Events that may wait: `send` blocks beyond this. The app's thread and
/// the connection share the machine: every time the queue runs dry and
/// fills again costs both a wake-up and a context switch, so a deeper queue
/// means fewer of them (eight streamed 5% more per CPU-second than four,
/// sixteen no more than eight), at the price of memory.
const CAPACITY: usize = 8;

/// A writer blocked on a full queue resumes once it is down to this many.
const LOW_WATER: usize = 1;

pub(crate) fn channel() -> (Sender, Receiver) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            events: VecDeque::new(),
            receiver: None,
            senders: 1,
            closed: false,
            blocked: 0,
        }),
        space: Condvar::new(),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

struct Shared {
    state: Mutex<State>,
    /// Senders wait here while the queue is full.
    space: Condvar,
}

struct State {
    events: VecDeque<Event>,
    /// The response's task, waiting for an event.
    receiver: Option<Waker>,
    senders: usize,
    /// The receiver is gone: the client left.
    closed: bool,
    /// Senders waiting on `space`.
    blocked: usize,
}

impl State {
    /// `send` must wait: the client is behind, and has not left.
    fn is_full(&self) -> bool {
        self.events.len() >= CAPACITY && !self.closed
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Only pushes, pops and counts run under the lock: the state is
        // whole even if a panic poisoned it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The app's end; clones share the queue.
pub(crate) struct Sender {
    shared: Arc<Shared>,
}

/// The client went away.
#[derive(Debug)]
pub(crate) struct Closed;

impl Sender {
    /// Whether the receiving side is gone (the client left, or the
    /// response was dropped), so nothing sent would be read.
    pub(crate) fn is_closed(&self) -> bool {
        self.shared.lock().closed
    }

    /// Queues `event`, blocking while the queue is full.
    pub(crate) fn send(&self, event: Event) -> Result<(), Closed> {
        let mut st = self.shared.lock();
        if st.is_full() {
            drop(st);
            st = super::pool::while_blocked(|| self.wait_for_space());
        }
        if st.closed {
            return Err(Closed);
        }
        st.events.push_back(event);
        let receiver = st.receiver.take();
        drop(st);
        if let Some(receiver) = receiver {
            super::wakes::wake(receiver);
        }
        Ok(())
    }
}

impl Sender {
    fn wait_for_space(&self) -> MutexGuard<'_, State> {
        let mut st = self.shared.lock();
        // Once blocked, until the queue is down to `LOW_WATER` (or closed).
        while st.events.len() > LOW_WATER && !st.closed {
            st.blocked += 1;
            st = self
                .shared
                .space
                .wait(st)
                .unwrap_or_else(PoisonError::into_inner);
            st.blocked -= 1;
        }
        st
    }
}

impl Clone for Sender {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.senders -= 1;
        // The last sender gone is the end of the response.
        let receiver = if st.senders == 0 {
            st.receiver.take()
        } else {
            None
        };
        drop(st);
        if let Some(receiver) = receiver {
            super::wakes::wake(receiver);
        }
    }
}

/// The response's end.
pub(crate) struct Receiver {
    shared: Arc<Shared>,
}

impl Receiver {
    /// The next event; `None` once every sender is gone and the queue is
    /// empty.
    pub(crate) async fn recv(&mut self) -> Option<Event> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        // This task may be the one other responses' wake-ups wait on.
        super::wakes::flush();
        let mut st = self.shared.lock();
        if let Some(event) = st.events.pop_front() {
            // Blocked writers wait until the queue is nearly empty, not
            // just no longer full: then each wake-up of the app's thread
            // (two context switches when it shares a core with this one)
            // moves several chunks instead of one.
            let wake_writers = st.blocked > 0 && st.events.len() <= LOW_WATER;
            drop(st);
            if wake_writers {
                self.shared.space.notify_all();
            }
            return Poll::Ready(Some(event));
        }
        if st.senders == 0 {
            return Poll::Ready(None);
        }
        match &mut st.receiver {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl Receiver {
    /// Whether nothing more will come: no event waits and every sender is
    /// gone.
    pub(crate) fn is_finished(&self) -> bool {
        let st = self.shared.lock();
        st.events.is_empty() && st.senders == 0
    }
}

impl Drop for Receiver {
    /// The client left: senders fail from now on, and events already
    /// queued are dropped here rather than by the app's thread.
    fn drop(&mut self) {
        // Gone before it ran, it must not keep the batch it was woken for.
        super::wakes::flush();
        let mut st = self.shared.lock();
        st.closed = true;
        let events = std::mem::take(&mut st.events);
        let blocked = st.blocked > 0;
        drop(st);
        if blocked {
            self.shared.space.notify_all();
        }
        drop(events);
    }
}

#[cfg(test)]
mod tests {
    use std::thread;
    use std::time::Duration;

    use bytes::Bytes;

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

    #[tokio::test]
    async fn events_arrive_in_order_and_end_with_the_last_sender() {
        let (tx, mut rx) = channel();
        let app = thread::spawn(move || {
            let again = tx.clone();
            for n in 0..10 {
                again.send(chunk(n)).expect("the receiver waits");
            }
        });
        for n in 0..10 {
            assert_eq!(number(rx.recv().await), Some(n));
        }
        assert!(rx.recv().await.is_none());
        app.join().unwrap();
    }

    #[tokio::test]
    async fn spec_10_5_finished_once_the_last_event_is_taken_and_every_sender_gone() {
        let (tx, mut rx) = channel();
        tx.send(chunk(0)).unwrap();
        tx.send(chunk(1)).unwrap();
        assert!(!rx.is_finished(), "events wait");
        drop(tx);
        assert_eq!(number(rx.recv().await), Some(0));
        assert!(!rx.is_finished(), "one event still waits");
        assert_eq!(number(rx.recv().await), Some(1));
        assert!(rx.is_finished());

        let (tx, mut rx) = channel();
        tx.send(chunk(0)).unwrap();
        assert_eq!(number(rx.recv().await), Some(0));
        assert!(!rx.is_finished(), "a sender may still send");
        drop(tx);
        assert!(rx.is_finished());
    }

    /// Waits until a sender blocks on the full queue.
    fn until_blocked(rx: &Receiver) {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while rx.shared.lock().blocked == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the sender never blocked"
            );
            thread::yield_now();
        }
    }

    #[tokio::test]
    async fn spec_10_3_send_blocks_while_eight_events_wait_and_resumes_at_one() {
        assert_eq!(CAPACITY, 8, "spec 10.3 says eight");
        let last = CAPACITY as u8 + 2;
        let (tx, mut rx) = channel();
        let (sent_tx, sent_rx) = std::sync::mpsc::channel();
        let app = thread::spawn(move || {
            for n in 0..last {
                tx.send(chunk(n)).expect("the receiver waits");
                sent_tx.send(n).unwrap();
            }
        });
        until_blocked(&rx);
        let sent: Vec<u8> = sent_rx.try_iter().collect();
        assert_eq!(sent, (0..CAPACITY as u8).collect::<Vec<_>>());
        // Not resumed for every free slot: only once down to one event.
        for n in 0..CAPACITY as u8 - 2 {
            assert_eq!(number(rx.recv().await), Some(n));
            assert_eq!(
                rx.shared.lock().blocked,
                1,
                "still blocked with {} events waiting",
                CAPACITY as u8 - 1 - n
            );
        }
        assert_eq!(number(rx.recv().await), Some(CAPACITY as u8 - 2));
        assert_eq!(
            sent_rx.recv_timeout(Duration::from_secs(5)),
            Ok(CAPACITY as u8)
        );
        while rx.recv().await.is_some() {}
        app.join().unwrap();
    }

    #[test]
    fn a_dropped_receiver_fails_sends_and_frees_a_blocked_one() {
        let (tx, rx) = channel();
        let app = thread::spawn(move || {
            let mut sent = 0;
            while tx.send(chunk(sent)).is_ok() {
                sent += 1;
            }
            sent
        });
        until_blocked(&rx);
        drop(rx);
        assert_eq!(usize::from(app.join().unwrap()), CAPACITY);
    }
}

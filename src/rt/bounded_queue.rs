//! The bounded message queues between a WebSocket handler and its
//! connection.
//!
//! tokio's `mpsc` preallocates a block of 32 slots per channel, about 2 KiB
//! for a WebSocket message; with a queue each way that is half the memory of
//! an idle connection. These queues allocate only when a message waits, so
//! an idle connection holds none. The first waiting item lives in the
//! queue itself, so the usual one message in flight allocates nothing
//! either; only a burst spills into a `VecDeque`, whose storage the
//! connection gives back once it is quiet ([`Rx::release_idle`]).

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// Items in order: the first inline, any more in `rest`.
struct Items<T> {
    first: Option<T>,
    rest: VecDeque<T>,
}

impl<T> Items<T> {
    const fn new() -> Self {
        Items {
            first: None,
            rest: VecDeque::new(),
        }
    }

    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    fn push_back(&mut self, item: T) {
        if self.first.is_none() {
            // `rest` is empty whenever `first` is: pop refills `first`.
            self.first = Some(item);
        } else {
            self.rest.push_back(item);
        }
    }

    fn pop_front(&mut self) -> Option<T> {
        let item = self.first.take()?;
        self.first = self.rest.pop_front();
        Some(item)
    }

    /// Frees the overflow storage if nothing is in it.
    fn release_idle(&mut self) {
        if self.rest.is_empty() && self.rest.capacity() > 0 {
            self.rest = VecDeque::new();
        }
    }
}

struct State<T> {
    items: Items<T>,
    cap: usize,
    /// The receiver, waiting for an item.
    receiver: Option<Waker>,
    /// Senders waiting for room.
    senders_waiting: Vec<Waker>,
    /// Live senders; none left ends the queue for the receiver.
    senders: usize,
    receiver_alive: bool,
}

struct Shared<T> {
    state: Mutex<State<T>>,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn release_idle(&self) {
        let mut st = self.lock();
        st.items.release_idle();
        if st.senders_waiting.is_empty() {
            st.senders_waiting = Vec::new();
        }
    }
}

/// A queue of at most `cap` items.
pub(crate) fn bounded<T>(cap: usize) -> (Tx<T>, Rx<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: Items::new(),
            cap: cap.max(1),
            receiver: None,
            senders_waiting: Vec::new(),
            senders: 1,
            receiver_alive: true,
        }),
    });
    (
        Tx {
            shared: shared.clone(),
        },
        Rx { shared },
    )
}

/// The sending end; clones share the queue.
pub(crate) struct Tx<T> {
    shared: Arc<Shared<T>>,
}

/// Why `try_send` did not queue the item.
pub(crate) enum TrySendError<T> {
    Full(T),
    Closed,
}

impl<T> Tx<T> {
    /// Queues `item`, waiting while the queue is full. `Err` gives the item
    /// back when the receiver is gone. (The WebSocket sender drives
    /// [`poll_send`](Tx::poll_send) itself, holding the item once.)
    #[cfg(test)]
    pub(crate) fn send(&self, item: T) -> impl std::future::Future<Output = Result<(), T>> + '_ {
        let mut item = Some(item);
        poll_fn(move |cx| {
            self.poll_send(cx, &mut item)
                .map_err(|()| item.take().expect("polled after completion"))
        })
    }

    /// Queues what `item` holds once there is room, taking it out; `Err`
    /// (leaving it in) when the receiver is gone.
    pub(crate) fn poll_send(
        &self,
        cx: &mut Context<'_>,
        item: &mut Option<T>,
    ) -> Poll<Result<(), ()>> {
        let mut st = self.shared.lock();
        if !st.receiver_alive {
            return Poll::Ready(Err(()));
        }
        if st.items.len() < st.cap {
            st.items
                .push_back(item.take().expect("polled after completion"));
            if let Some(receiver) = st.receiver.take() {
                receiver.wake();
            }
            return Poll::Ready(Ok(()));
        }
        register(&mut st.senders_waiting, cx);
        Poll::Pending
    }

    /// Queues `item` if there is room now.
    pub(crate) fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        let mut st = self.shared.lock();
        if !st.receiver_alive {
            return Err(TrySendError::Closed);
        }
        if st.items.len() >= st.cap {
            return Err(TrySendError::Full(item));
        }
        st.items.push_back(item);
        if let Some(receiver) = st.receiver.take() {
            receiver.wake();
        }
        Ok(())
    }

    /// Ready once there is room; `false` when the receiver is gone.
    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<bool> {
        let mut st = self.shared.lock();
        if !st.receiver_alive {
            return Poll::Ready(false);
        }
        if st.items.len() < st.cap {
            return Poll::Ready(true);
        }
        register(&mut st.senders_waiting, cx);
        Poll::Pending
    }

    /// Gives back storage a burst of items left behind; for a quiet
    /// connection.
    pub(crate) fn release_idle(&self) {
        self.shared.release_idle();
    }

    /// Whether the receiver has taken every item queued so far.
    pub(crate) fn is_empty(&self) -> bool {
        self.shared.lock().items.len() == 0
    }

    /// Whether the receiver is gone.
    pub(crate) fn is_closed(&self) -> bool {
        !self.shared.lock().receiver_alive
    }
}

impl<T> Clone for Tx<T> {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Tx {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Tx<T> {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.senders -= 1;
        if st.senders == 0 {
            if let Some(receiver) = st.receiver.take() {
                receiver.wake();
            }
        }
    }
}

/// The receiving end.
pub(crate) struct Rx<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Rx<T> {
    /// The next item; `None` once every sender is gone and the queue is
    /// empty.
    pub(crate) async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut st = self.shared.lock();
        if let Some(item) = st.items.pop_front() {
            wake_senders(&mut st);
            return Poll::Ready(Some(item));
        }
        if st.senders == 0 {
            return Poll::Ready(None);
        }
        if !st
            .receiver
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            st.receiver = Some(cx.waker().clone());
        }
        Poll::Pending
    }

    /// The next item if one is waiting.
    pub(crate) fn try_recv(&mut self) -> Option<T> {
        let mut st = self.shared.lock();
        let item = st.items.pop_front()?;
        wake_senders(&mut st);
        Some(item)
    }

    /// Refuses further items; senders' next `send` fails. Queued items are
    /// dropped.
    pub(crate) fn close(&mut self) {
        let mut st = self.shared.lock();
        st.receiver_alive = false;
        st.items = Items::new();
        st.senders_waiting.drain(..).for_each(Waker::wake);
    }

    /// Gives back storage a burst of items left behind; for a quiet
    /// connection.
    pub(crate) fn release_idle(&self) {
        self.shared.release_idle();
    }
}

impl<T> Drop for Rx<T> {
    fn drop(&mut self) {
        self.close();
    }
}

/// Wakes the senders waiting for room. Usually there are none: checked
/// first, since draining even an empty `Vec` showed in profiles of small
/// messages.
fn wake_senders<T>(st: &mut State<T>) {
    if !st.senders_waiting.is_empty() {
        st.senders_waiting.drain(..).for_each(Waker::wake);
    }
}

fn register(waiters: &mut Vec<Waker>, cx: &Context<'_>) {
    if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
        waiters.push(cx.waker().clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    #[tokio::test]
    async fn bounded_in_order_and_ends_when_senders_go() {
        let (tx, mut rx) = bounded::<u32>(2);
        tx.send(1).await.unwrap();
        tx.send(2).await.unwrap();
        assert!(matches!(tx.try_send(3), Err(TrySendError::Full(3))));
        assert!(tx.send(3).now_or_never().is_none(), "send waits while full");
        assert_eq!(rx.recv().await, Some(1));
        tx.send(3).await.unwrap();
        assert_eq!(rx.try_recv(), Some(2));
        assert_eq!(rx.recv().await, Some(3));
        drop(tx);
        assert_eq!(rx.recv().await, None);
    }

    #[tokio::test]
    async fn closing_the_receiver_fails_senders() {
        let (tx, mut rx) = bounded::<u32>(1);
        tx.send(1).await.unwrap();
        let waiting = tokio::spawn({
            let tx = tx.clone();
            async move { tx.send(2).await }
        });
        tokio::task::yield_now().await;
        rx.close();
        assert_eq!(waiting.await.unwrap(), Err(2));
        assert!(tx.is_closed());
        assert!(matches!(tx.try_send(3), Err(TrySendError::Closed)));
        assert!(!poll_fn(|cx| tx.poll_ready(cx)).await);
    }

    #[tokio::test]
    async fn an_idle_queue_holds_no_items_storage() {
        let (tx, mut rx) = bounded::<[u8; 64]>(16);
        assert_eq!(rx.shared.lock().items.rest.capacity(), 0);
        // One item in flight at a time never allocates.
        for i in 0..3 {
            tx.send([i; 64]).await.unwrap();
            assert_eq!(rx.recv().await, Some([i; 64]));
        }
        assert_eq!(rx.shared.lock().items.rest.capacity(), 0);
        // A burst spills over, keeps order, and is given back when quiet.
        for i in 0..5 {
            tx.send([i; 64]).await.unwrap();
        }
        assert!(rx.shared.lock().items.rest.capacity() > 0);
        tx.release_idle();
        assert!(
            rx.shared.lock().items.rest.capacity() > 0,
            "kept while full"
        );
        for i in 0..5 {
            assert_eq!(rx.try_recv(), Some([i; 64]));
        }
        rx.release_idle();
        assert_eq!(rx.shared.lock().items.rest.capacity(), 0);
    }
}

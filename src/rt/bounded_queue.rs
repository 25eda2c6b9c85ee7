//! The bounded queue between two sides that run at different paces: a
//! WebSocket handler and its connection (each way), a blocking app's
//! thread and its response.
//!
//! Senders are async ([`Tx::poll_send`], [`Tx::try_send`]) or threads
//! that block ([`Tx::send_blocking`]); the receiver is a task. A sender
//! that blocked on a full queue resumes only once the queue is down to its
//! low-water mark, so that each wake-up of its thread moves several items
//! instead of one (async senders resume at the first free slot).
//!
//! tokio's `mpsc` preallocates a block of 32 slots per channel, which with
//! a queue each way would be much of an idle WebSocket's memory. This queue allocates only when an item waits, so an
//! idle connection holds none. The first waiting item lives in the queue
//! itself, so the usual one item in flight allocates nothing either; only a
//! burst spills into a `VecDeque`, whose storage the owner gives back once
//! it is quiet ([`Rx::release_idle`]).
//!
//! How the receiver is woken is the queue's [`Wakeups`]: directly, or
//! through the blocking pool's batches.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

/// How a queue wakes its receiver and lets its senders block.
pub(crate) trait Wakeups: Send + Sync + 'static {
    /// Wakes the receiving task, outside the queue's lock.
    fn wake(&self, receiver: Waker) {
        receiver.wake();
    }

    /// Called by the receiver before it looks for an item, and when it
    /// closes.
    fn before_receive(&self) {}

    /// Runs a blocking sender's wait for room.
    fn while_blocked<R>(&self, wait: impl FnOnce() -> R) -> R {
        wait()
    }
}

/// Wake-ups as they come, in the sender's thread or task.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Direct;

impl Wakeups for Direct {}

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
    /// A sender that blocked resumes once this many items or fewer wait.
    low_water: usize,
    /// The receiver, waiting for an item.
    receiver: Option<Waker>,
    /// Async senders waiting for room.
    senders_waiting: Vec<Waker>,
    /// Live senders; none left ends the queue for the receiver.
    senders: usize,
    /// Sender threads waiting on `Shared::space`.
    blocked: usize,
    receiver_alive: bool,
}

struct Shared<T, W: Wakeups> {
    state: Mutex<State<T>>,
    /// Sender threads wait here while the queue is full.
    space: Condvar,
    wakeups: W,
}

impl<T, W: Wakeups> Shared<T, W> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Only pushes, pops and counts run under the lock: the state is
        // whole even if a panic poisoned it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn release_idle(&self) {
        let mut st = self.lock();
        st.items.release_idle();
        if st.senders_waiting.is_empty() {
            st.senders_waiting = Vec::new();
        }
    }
}

/// A queue of at most `cap` items, woken directly.
pub(crate) fn bounded<T>(cap: usize) -> (Tx<T>, Rx<T>) {
    bounded_with(cap, cap, Direct)
}

/// A queue of at most `cap` items, whose blocked senders resume once
/// `low_water` or fewer wait, woken through `wakeups`.
pub(crate) fn bounded_with<T, W: Wakeups>(
    cap: usize,
    low_water: usize,
    wakeups: W,
) -> (Tx<T, W>, Rx<T, W>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: Items::new(),
            cap: cap.max(1),
            low_water,
            receiver: None,
            senders_waiting: Vec::new(),
            senders: 1,
            blocked: 0,
            receiver_alive: true,
        }),
        space: Condvar::new(),
        wakeups,
    });
    (
        Tx {
            shared: shared.clone(),
        },
        Rx { shared },
    )
}

/// The sending end; clones share the queue.
pub(crate) struct Tx<T, W: Wakeups = Direct> {
    shared: Arc<Shared<T, W>>,
}

/// Why `try_send` did not queue the item.
pub(crate) enum TrySendError<T> {
    Full(T),
    Closed,
}

/// The receiver is gone; `send_blocking` could not queue the item.
#[derive(Debug)]
pub(crate) struct Closed;

impl<T, W: Wakeups> Tx<T, W> {
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
            self.wake_receiver(st);
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
        self.wake_receiver(st);
        Ok(())
    }

    /// Queues `item`, blocking the thread while the queue is full; once
    /// blocked, until it is down to the low-water mark.
    pub(crate) fn send_blocking(&self, item: T) -> Result<(), Closed> {
        let mut st = self.shared.lock();
        if st.items.len() >= st.cap && st.receiver_alive {
            drop(st);
            st = self.shared.wakeups.while_blocked(|| self.wait_for_space());
        }
        if !st.receiver_alive {
            return Err(Closed);
        }
        st.items.push_back(item);
        self.wake_receiver(st);
        Ok(())
    }

    fn wait_for_space(&self) -> MutexGuard<'_, State<T>> {
        let mut st = self.shared.lock();
        while st.items.len() > st.low_water && st.receiver_alive {
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

    /// Wakes the receiver, if it waits, once the lock is released.
    fn wake_receiver(&self, mut st: MutexGuard<'_, State<T>>) {
        let receiver = st.receiver.take();
        drop(st);
        if let Some(receiver) = receiver {
            self.shared.wakeups.wake(receiver);
        }
    }
}

impl<T, W: Wakeups> Tx<T, W> {
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

impl<T, W: Wakeups> Clone for Tx<T, W> {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Tx {
            shared: self.shared.clone(),
        }
    }
}

impl<T, W: Wakeups> Drop for Tx<T, W> {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.senders -= 1;
        // The last sender gone ends the queue for the receiver.
        let receiver = if st.senders == 0 {
            st.receiver.take()
        } else {
            None
        };
        drop(st);
        if let Some(receiver) = receiver {
            self.shared.wakeups.wake(receiver);
        }
    }
}

/// The receiving end.
pub(crate) struct Rx<T, W: Wakeups = Direct> {
    shared: Arc<Shared<T, W>>,
}

impl<T, W: Wakeups> Rx<T, W> {
    /// The next item; `None` once every sender is gone and the queue is
    /// empty.
    pub(crate) async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.shared.wakeups.before_receive();
        let mut st = self.shared.lock();
        if let Some(item) = st.items.pop_front() {
            make_room(&self.shared, st);
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
        make_room(&self.shared, st);
        Some(item)
    }

    /// Refuses further items; senders' next send fails. Queued items are
    /// dropped, outside the lock.
    pub(crate) fn close(&mut self) {
        self.shared.wakeups.before_receive();
        close(&self.shared);
    }
}

impl<T, W: Wakeups> Rx<T, W> {
    /// Sender threads blocked on the full queue.
    #[cfg(test)]
    pub(crate) fn blocked(&self) -> usize {
        self.shared.lock().blocked
    }

    /// Whether nothing more will come: no item waits and every sender is
    /// gone.
    pub(crate) fn is_finished(&self) -> bool {
        let st = self.shared.lock();
        st.items.len() == 0 && st.senders == 0
    }

    /// Gives back storage a burst of items left behind; for a quiet
    /// connection.
    pub(crate) fn release_idle(&self) {
        self.shared.release_idle();
    }
}

impl<T, W: Wakeups> Drop for Rx<T, W> {
    /// Senders fail from now on; items still queued are dropped here (not
    /// by a sender's thread).
    fn drop(&mut self) {
        self.close();
    }
}

fn close<T, W: Wakeups>(shared: &Shared<T, W>) {
    let mut st = shared.lock();
    st.receiver_alive = false;
    let items = std::mem::replace(&mut st.items, Items::new());
    let waiting = std::mem::take(&mut st.senders_waiting);
    let blocked = st.blocked > 0;
    drop(st);
    waiting.into_iter().for_each(Waker::wake);
    if blocked {
        shared.space.notify_all();
    }
    drop(items);
}

/// An item was taken: wakes the async senders waiting for room, and the
/// blocked ones once the queue is down to the low-water mark. Usually
/// there are none: checked first, since draining even an empty `Vec`
/// showed in profiles of small messages.
fn make_room<T, W: Wakeups>(shared: &Shared<T, W>, mut st: MutexGuard<'_, State<T>>) {
    if !st.senders_waiting.is_empty() {
        st.senders_waiting.drain(..).for_each(Waker::wake);
    }
    // Not at the first free slot: each wake-up of a sender's thread (two
    // context switches when it shares a core with this task) then moves
    // several items instead of one.
    let wake_blocked = st.blocked > 0 && st.items.len() <= st.low_water;
    drop(st);
    if wake_blocked {
        shared.space.notify_all();
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

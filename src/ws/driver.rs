//! The connection side of a WebSocket: one loop that reads frames, writes
//! the handler's messages, pings, and runs the close handshake, in the same
//! task as the handler.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::time::{Instant, Interval, MissedTickBehavior, Sleep};
use tokio_tungstenite::tungstenite::error::{Error as WsError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::config::Config;
use super::live_io::LiveIo;
use super::socket::{Command, Sender, WebSocket};
use crate::hijack::{ShutdownSignal, Upgraded};
use crate::rt::{self, Deadline, Gate, PollGates, Rx, TrySendError, Turn, Tx};

/// Most messages written in one batch before the loop reads again.
const MAX_BATCH: usize = 64;

/// Turns the handler gets, once a bad frame arrived, to take the messages
/// read before it and queue its answers (spec 8.9).
const LAST_TURNS: usize = 4;

/// What the driver needs of a [`Config`], copied out of it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    ws: WebSocketConfig,
    queue: usize,
    timing: Timing,
}

/// The part of [`Settings`] the loop keeps for the connection's life.
#[derive(Debug, Clone, Copy)]
struct Timing {
    ping_interval: Option<Duration>,
    ping_timeout: Duration,
    close_timeout: Duration,
}

impl From<&Config> for Settings {
    fn from(c: &Config) -> Self {
        Settings {
            ws: c.tungstenite(),
            queue: c.queue,
            timing: Timing {
                ping_interval: c.ping_interval,
                ping_timeout: c.ping_timeout,
                close_timeout: c.close_timeout,
            },
        }
    }
}

type Stream = WebSocketStream<LiveIo>;

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
/// its 600-byte future out of the connection's.
fn open(io: LiveIo, config: WebSocketConfig) -> Stream {
    WebSocketStream::from_raw_socket(io, Role::Server, Some(config))
        .now_or_never()
        .expect("tokio-tungstenite's from_raw_socket is ready on its first poll")
}

fn close_frame(code: CloseCode, reason: &'static str) -> CloseFrame {
    CloseFrame {
        code,
        reason: reason.into(),
    }
}

struct Driver {
    stream: Stream,
    /// Which rarely-ready sources can have anything new (`gates`).
    gates: PollGates,
    /// Whether reading goes before the handler's commands on this turn:
    /// they take turns, so that neither starves the other.
    reads_first: bool,
    in_tx: Tx<Message>,
    out_rx: Rx<Command>,
    shutdown: ShutdownSignal,
    timing: Timing,
    /// A message the handler has no room for yet; reading waits for it.
    pending_in: Option<Message>,
    /// When reading last resumed after waiting for the handler.
    resumed: Instant,
    /// When the ping that has not been answered yet went out.
    ping_sent: Option<Instant>,
    /// Set once we sent our close frame: the peer must answer by then.
    close_deadline: Option<Instant>,
    /// Shared with the senders: set when a close begins, from either side.
    closing: Arc<AtomicBool>,
}

/// What woke the loop.
enum Event {
    Command(Option<Command>),
    Read(Option<Result<Message, WsError>>),
    Delivered,
    Tick,
    CloseTimeout,
    Shutdown,
}

/// Why the loop stopped; logged at debug level.
#[derive(Debug)]
enum End {
    Closed,
    PeerDead,
    CloseTimeout,
    WriteFailed,
    ReadFailed,
}

impl Driver {
    // Not an `async fn`: that would hold `self` twice, the argument and
    // its moved copy, for the whole connection.
    #[allow(clippy::manual_async_fn)]
    fn run(mut self) -> impl Future<Output = ()> {
        async move {
            let mut ping = self.timing.ping_interval.map(|every| {
                let mut timer = tokio::time::interval_at(Instant::now() + every, every);
                timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
                timer
            });
            // One future for the whole connection: made anew on every turn of
            // the loop, it would register and unregister a waiter each time.
            let mut signal = self.shutdown.clone();
            let shutdown = signal.requested();
            tokio::pin!(shutdown);
            let mut shutdown_seen = false;
            let mut close_timer = None;
            let end = loop {
                // `next_event` only picks what happened; the handling below
                // needs all of `self` again.
                let event = poll_fn(|cx| {
                    let mut sources = Sources {
                        ping: &mut ping,
                        shutdown: (!shutdown_seen).then_some(shutdown.as_mut()),
                        close_timer: &mut close_timer,
                    };
                    self.next_event(cx, &mut sources)
                })
                .await;
                if matches!(event, Event::Shutdown) {
                    shutdown_seen = true;
                }
                let step = match event {
                    Event::Command(Some(Command::Send(msg))) => self.send_batch(msg).await,
                    Event::Command(Some(Command::Close(frame))) => {
                        Box::pin(self.start_close(frame)).await
                    }
                    Event::Command(None) => {
                        Box::pin(self.start_close(close_frame(CloseCode::Normal, ""))).await
                    }
                    Event::Read(item) => self.on_read(item).await,
                    Event::Delivered => Ok(()),
                    // Once per ping interval: boxed, out of the loop's future.
                    Event::Tick => Box::pin(self.keepalive()).await,
                    Event::CloseTimeout => Err(End::CloseTimeout),
                    Event::Shutdown => {
                        Box::pin(
                            self.start_close(close_frame(CloseCode::Away, "server shutting down")),
                        )
                        .await
                    }
                };
                if let Err(end) = step {
                    break end;
                }
            };
            self.closing.store(true, Ordering::Release);
            tracing::debug!(reason = ?end, "websocket connection ended");
        }
    }

    /// What happened next. Sources that are rarely ready (the stream while
    /// nothing arrives, the timer, the shutdown signal) are polled only
    /// once their own waker fired (`gates`). Reads and the handler's
    /// commands take turns going first: a handler that sends without pause
    /// must not starve reading (pongs, the peer's close), nor a peer that
    /// floods the handler's replies.
    fn next_event<S>(&mut self, cx: &mut Context<'_>, sources: &mut Sources<'_, S>) -> Poll<Event>
    where
        S: Future<Output = ()>,
    {
        let mut fired = self.gates.begin_turn(cx);
        let event = self.poll_sources(cx, &mut fired, sources);
        self.gates.end_turn(fired);
        event
    }

    fn poll_sources<S>(
        &mut self,
        cx: &mut Context<'_>,
        fired: &mut Turn,
        sources: &mut Sources<'_, S>,
    ) -> Poll<Event>
    where
        S: Future<Output = ()>,
    {
        let closing = self.close_deadline.is_some();
        if let Some(shutdown) = sources.shutdown.as_mut().filter(|_| !closing) {
            if let Some(()) = self
                .gates
                .poll(Gate::Rare, fired, |cx| shutdown.as_mut().poll(cx))
            {
                return Poll::Ready(Event::Shutdown);
            }
        }
        if let Some(ping) = sources.ping.as_mut() {
            if self
                .gates
                .poll(Gate::Rare, fired, |cx| ping.poll_tick(cx))
                .is_some()
            {
                return Poll::Ready(Event::Tick);
            }
        }
        if let Some(deadline) = self.close_deadline {
            let timer = sources
                .close_timer
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
            if timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Event::CloseTimeout);
            }
        }
        self.reads_first = !self.reads_first;
        for read in [self.reads_first, !self.reads_first] {
            if read {
                if let Some(event) = self.poll_read(cx, fired) {
                    return Poll::Ready(event);
                }
            } else if !closing {
                if let Poll::Ready(cmd) = self.out_rx.poll_recv(cx) {
                    return Poll::Ready(Event::Command(cmd));
                }
            }
        }
        Poll::Pending
    }

    /// Reads the stream, or, while the handler has no room for the last
    /// message read, waits for room and hands it over.
    fn poll_read(&mut self, cx: &mut Context<'_>, fired: &mut Turn) -> Option<Event> {
        let Some(msg) = self.pending_in.take() else {
            let stream = &mut self.stream;
            return self
                .gates
                .poll(Gate::Busy, fired, |cx| stream.poll_next_unpin(cx))
                .map(Event::Read);
        };
        match self.in_tx.poll_ready(cx) {
            Poll::Ready(room) => {
                // No room means the handler is gone: its messages are dropped.
                if room {
                    let _ = self.in_tx.try_send(msg);
                }
                self.resumed = Instant::now();
                Some(Event::Delivered)
            }
            Poll::Pending => {
                self.pending_in = Some(msg);
                None
            }
        }
    }

    /// Hands a read message to the handler; on a read error, tells the peer
    /// why (if there is a close code for it) and ends.
    async fn on_read(&mut self, item: Option<Result<Message, WsError>>) -> Result<(), End> {
        match item {
            None => Err(End::Closed),
            Some(Ok(msg)) => {
                if msg.is_close() {
                    // The peer began closing: nothing more can be sent.
                    self.closing.store(true, Ordering::Release);
                } else if msg.is_text() || msg.is_binary() {
                    // The handler may have returned: its messages are dropped.
                    if let Err(TrySendError::Full(msg)) = self.in_tx.try_send(msg) {
                        self.pending_in = Some(msg);
                    }
                }
                // Pings are answered by tungstenite itself; a peer's close is
                // echoed by it too, and the stream then ends.
                Ok(())
            }
            // Boxed: a rare path, kept out of the loop's future.
            Some(Err(error)) => Box::pin(self.read_failed(error)).await,
        }
    }

    async fn read_failed(&mut self, error: WsError) -> Result<(), End> {
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

    /// Writes `first` and whatever else is queued (up to a batch), then
    /// flushes once.
    async fn send_batch(&mut self, first: Message) -> Result<(), End> {
        let (stream, out_rx) = (&mut self.stream, &mut self.out_rx);
        let mut close = None;
        // `poll_ready` and `start_send` rather than `feed`: a `Feed` future
        // holds its message, and this future's size is part of every
        // connection's memory.
        timed(self.timing.ping_timeout, async {
            poll_fn(|cx| stream.poll_ready_unpin(cx)).await?;
            stream.start_send_unpin(first)?;
            for _ in 1..MAX_BATCH {
                match out_rx.try_recv() {
                    Some(Command::Send(msg)) => {
                        poll_fn(|cx| stream.poll_ready_unpin(cx)).await?;
                        stream.start_send_unpin(msg)?;
                    }
                    Some(Command::Close(frame)) => {
                        close = Some(frame);
                        break;
                    }
                    None => break,
                }
            }
            poll_fn(|cx| stream.poll_flush_unpin(cx)).await
        })
        .await?;
        match close {
            // Boxed, as the other rare paths: out of the loop's future.
            Some(frame) => Box::pin(self.start_close(frame)).await,
            None => Ok(()),
        }
    }

    async fn start_close(&mut self, frame: CloseFrame) -> Result<(), End> {
        self.closing.store(true, Ordering::Release);
        let limit = self.timing.ping_timeout;
        timed(limit, self.stream.send(Message::Close(Some(frame)))).await?;
        self.close_deadline = Some(Instant::now() + self.timing.close_timeout);
        // Later sends fail at once instead of waiting on a closed queue.
        self.out_rx.close();
        Ok(())
    }

    async fn keepalive(&mut self) -> Result<(), End> {
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

/// Runs one write; a write that cannot finish within the ping timeout means
/// the peer stopped reading: the connection is dropped as dead.
///
/// The timer is armed only once the write has to wait (an
/// [`rt::Deadline`]): most writes finish on their first poll, and arming
/// one (reading the clock, reaching the runtime's timer) for every message
/// showed in profiles.
fn timed<F>(limit: Duration, write: F) -> Timed<F>
where
    F: Future<Output = Result<(), WsError>>,
{
    Timed {
        write,
        limit,
        deadline: Deadline::default(),
    }
}

/// The future [`timed`] returns (a struct: an `async` block would hold the
/// write twice).
#[pin_project::pin_project]
struct Timed<F> {
    #[pin]
    write: F,
    limit: Duration,
    /// Armed when the write first has to wait.
    deadline: Deadline,
}

impl<F> Future for Timed<F>
where
    F: Future<Output = Result<(), WsError>>,
{
    type Output = Result<(), End>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(outcome) = this.write.poll(cx) {
            return Poll::Ready(outcome.map_err(|e| {
                tracing::debug!(error = %e, "websocket write failed");
                End::WriteFailed
            }));
        }
        match Pin::new(this.deadline).poll_wait(*this.limit, cx) {
            Poll::Ready(()) => Poll::Ready(Err(End::PeerDead)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The loop's sources that live beside the driver, in its future.
struct Sources<'a, S> {
    ping: &'a mut Option<Interval>,
    /// Until it fired.
    shutdown: Option<Pin<&'a mut S>>,
    /// Armed once our close frame went out.
    close_timer: &'a mut Option<Pin<Box<Sleep>>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_write_that_waits_past_the_limit_means_a_dead_peer() {
        let limit = Duration::from_secs(20);
        let started = Instant::now();
        let stuck = timed(limit, std::future::pending());
        assert!(matches!(stuck.await, Err(End::PeerDead)));
        assert_eq!(started.elapsed(), limit);

        assert!(matches!(timed(limit, async { Ok(()) }).await, Ok(())));
        let failed = timed(limit, async { Err(WsError::ConnectionClosed) });
        assert!(matches!(failed.await, Err(End::WriteFailed)));
    }
}

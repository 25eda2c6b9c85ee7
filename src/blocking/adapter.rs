use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;

use super::app::BlockingApp;
use super::chunks::{Chunks, Inner};
use super::event::{self, Event, EventRx, EventTx};
use super::pool;
use super::start_response::StartResponse;
use crate::app::{App, Response};
use crate::body::Body;
use crate::callback::state::{CloseGuard, Shared};
use crate::environ::Environ;
use crate::error::{BoxError, Error, Kind};
use crate::status_page::app_failed;

/// Runs a [`BlockingApp`] as an [`App`]: each request calls the app on a
/// thread of gateway's blocking pool, and its writes reach the client
/// through a queue of eight chunks (spec 10).
pub fn blocking<A: BlockingApp>(app: A) -> Blocking<A> {
    Blocking { app: Arc::new(app) }
}

/// A blocking app seen as a return-style one; made by [`blocking`].
pub struct Blocking<A> {
    app: Arc<A>,
}

impl<A> Clone for Blocking<A> {
    fn clone(&self) -> Self {
        Blocking {
            app: self.app.clone(),
        }
    }
}

impl<A> fmt::Debug for Blocking<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blocking").finish_non_exhaustive()
    }
}

impl<A: BlockingApp> App for Blocking<A> {
    async fn call(&self, env: Environ) -> Response {
        let pool = pool::global();
        let (tx, mut rx) = event::queue(pool);
        let app = self.app.clone();
        // The app's own log lines on its thread carry the request's span
        // (the access log's request id).
        let span = tracing::Span::current();
        pool.spawn(move || {
            let _in_span = span.enter();
            run(&*app, env, tx);
        });
        match rx.recv().await {
            Some(Event::Whole(head, bytes)) => Response::from_parts(head, Body::from(bytes)),
            Some(Event::Head(head, first)) => {
                // The app's thread has often returned by now (it runs on
                // until it blocks or ends): then the one chunk it wrote is
                // the whole body, sent with its length (spec 10.5) instead
                // of as a stream that ends a wake-up later.
                if rx.is_finished() {
                    let body = first.map_or_else(Body::empty, Body::from);
                    return Response::from_parts(head, body);
                }
                let first = futures_util::stream::iter(first.map(Ok));
                Response::from_parts(head, Body::from_stream(first.chain(chunks(rx))))
            }
            Some(Event::Fail(error)) => app_failed(error),
            // The thread always says something first; a Chunk cannot come
            // before the head.
            Some(Event::Chunk(_)) | None => app_failed(Error::new(Kind::Panic)),
        }
    }
}

/// The body after the head: chunks until the app's thread is done; a
/// failure aborts the response.
fn chunks(mut rx: EventRx) -> impl futures_util::Stream<Item = Result<Bytes, BoxError>> + Send {
    futures_util::stream::poll_fn(move |cx| {
        rx.poll_recv(cx).map(|event| match event? {
            Event::Chunk(bytes) => Some(Ok(bytes)),
            Event::Fail(error) => Some(Err(error.into())),
            Event::Head(..) | Event::Whole(..) => None,
        })
    })
}

/// On a pool thread: calls the app and sends what it produced; not at all
/// when nobody waits for the answer any more (the client left, or a
/// `Timeout` answered, while the job waited for a thread).
fn run<A: BlockingApp>(app: &A, env: Environ, tx: EventTx) {
    if tx.is_closed() {
        return;
    }
    let shared = Shared::new();
    let mut guard = CloseGuard {
        shared: shared.clone(),
        finished: false,
    };
    let start_response = StartResponse {
        shared: shared.clone(),
        tx: tx.clone(),
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let chunks = app
            .call(env, start_response)
            .map_err(|e| match e.downcast::<Error>() {
                Ok(ours) => *ours,
                Err(other) => Error::with(Kind::App, other),
            })?;
        // The app is over; later writes are writes after close.
        guard.finished = true;
        if !shared.is_started() {
            return Err(Error::new(Kind::NoStartResponse));
        }
        send_body(&shared, &tx, chunks)
    }));
    let failure = match outcome {
        Ok(Ok(())) => return,
        Ok(Err(error)) => error,
        Err(panic) => Error::with(Kind::Panic, crate::error::panic_message(&panic)),
    };
    guard.finished = true;
    // Before the head this becomes a 500, after it an abort; if the client
    // is gone there is no one to tell.
    let _ = tx.send_blocking(Event::Fail(failure));
}

fn send_body(shared: &Shared, tx: &EventTx, chunks: Chunks) -> Result<(), Error> {
    match chunks.0 {
        Inner::Full(bytes) => match shared.take_head() {
            Some(head) => {
                let _ = tx.send_blocking(Event::Whole(head, bytes));
            }
            None if !bytes.is_empty() => {
                let _ = tx.send_blocking(Event::Chunk(bytes));
            }
            None => {}
        },
        Inner::Iter(iter) => {
            if !StartResponse::send_head(shared, tx) {
                return Ok(());
            }
            for item in iter {
                let bytes = item.map_err(|e| Error::with(Kind::App, e))?;
                if !bytes.is_empty() && tx.send_blocking(Event::Chunk(bytes)).is_err() {
                    // The client left: stop pulling; the iterator is dropped
                    // here, on the app's thread.
                    break;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn a_job_nobody_waits_for_is_not_run() {
        static CALLED: AtomicBool = AtomicBool::new(false);
        let app = |_env: Environ, _sr: StartResponse| {
            CALLED.store(true, Ordering::SeqCst);
            Ok::<_, BoxError>(Chunks::empty())
        };
        let (tx, rx) = event::queue(pool::global());
        drop(rx);
        let env = Environ::from_request(http::Request::new(Body::empty()));
        run(&app, env, tx);
        assert!(!CALLED.load(Ordering::SeqCst));
    }
}

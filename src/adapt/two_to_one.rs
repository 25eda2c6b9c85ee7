use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::future::poll_fn;
use futures_util::stream::{Stream, StreamExt};

use crate::app::{App, Response};
use crate::body::Body;
use crate::callback::state::{CloseGuard, Shared};
use crate::callback::{CallbackApp, StartResponse};
use crate::environ::Environ;
use crate::error::{BoxError, Error, Kind};
use crate::status_page::app_failed as failed;

/// Runs a callback-style app as a return-style [`App`] (spec 4).
///
/// This is P. J. Eby's "WSGI 2-to-1 adapter", with an `async_stream`
/// generator in the place of the greenlet. The app runs until it has called
/// `start_response` and then either written its first non-empty chunk or
/// returned; that gives the status and headers. If it returned without
/// writing, its body is passed straight through (keeping its length). If it
/// wrote, the rest of the app runs inside the body stream: every `write()`
/// becomes one yielded chunk, and the write completes when the transport
/// takes it.
///
/// There is no spawned task, no thread and no buffer beyond the one chunk in
/// flight; dropping the response body drops the app.
///
/// ```
/// use gateway::callback::StartResponse;
/// use gateway::http::{HeaderMap, StatusCode};
/// use gateway::{two_to_one, Body, BoxError, Environ};
///
/// async fn legacy(_env: Environ, start_response: StartResponse) -> Result<Body, BoxError> {
///     let write = start_response.start(StatusCode::OK, HeaderMap::new())?;
///     for i in 0..3 {
///         write.write(format!("chunk {i}\n")).await?;
///     }
///     Ok(Body::empty())
/// }
///
/// let app = two_to_one(legacy); // an App: serve it, mount it, wrap it
/// ```
pub fn two_to_one<A: CallbackApp>(app: A) -> TwoToOne<A> {
    TwoToOne { app: Arc::new(app) }
}

/// A callback-style app seen as a return-style one; made by [`two_to_one`].
pub struct TwoToOne<A> {
    app: Arc<A>,
}

impl<A> Clone for TwoToOne<A> {
    fn clone(&self) -> Self {
        TwoToOne {
            app: self.app.clone(),
        }
    }
}

impl<A> fmt::Debug for TwoToOne<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwoToOne").finish_non_exhaustive()
    }
}

type AppResult = Result<Body, BoxError>;

enum Step {
    Chunk(Bytes),
    Done(AppResult),
}

/// Polls the app once and reports a written chunk or its return. A chunk
/// written from another task wakes this task, and is found after the app
/// was polled.
fn step<F>(shared: &Shared, fut: Pin<&mut F>, cx: &mut Context<'_>) -> Poll<Step>
where
    F: Future<Output = AppResult>,
{
    match fut.poll(cx) {
        Poll::Ready(result) => Poll::Ready(Step::Done(result)),
        Poll::Pending => match shared.take_chunk(cx) {
            Some(chunk) => Poll::Ready(Step::Chunk(chunk)),
            None => Poll::Pending,
        },
    }
}

impl<A: CallbackApp> App for TwoToOne<A> {
    fn call(&self, env: Environ) -> impl Future<Output = Response> + Send {
        let shared = Shared::new();
        let start_response = StartResponse::new(shared.clone());
        let app = self.app.clone();
        // Boxed so that it can move into the body stream half-way through.
        // Made here, not in the future below, which would otherwise hold
        // `env` beside it.
        let fut = Box::pin(async move { app.call(env, start_response).await });
        let guard = CloseGuard {
            shared: shared.clone(),
            finished: false,
        };
        respond(shared, fut, guard)
    }
}

/// Runs the app until its head is fixed (spec 4.1) and makes the response.
async fn respond<F>(shared: Arc<Shared>, mut fut: Pin<Box<F>>, mut guard: CloseGuard) -> Response
where
    F: Future<Output = AppResult> + Send + 'static,
{
    match poll_fn(|cx| step(&shared, fut.as_mut(), cx)).await {
        Step::Chunk(first) => {
            let head = shared
                .take_head()
                .expect("a chunk was taken, so start was called");
            // Taking the chunk completed its write: an app that writes once
            // and returns is done on one more poll. Its response is then
            // that chunk with a Content-Length (spec 4.3), not a stream.
            let done = match poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await {
                Poll::Ready(Ok(body)) if http_body::Body::size_hint(&body).exact() == Some(0) => {
                    drop(fut);
                    guard.finished = true;
                    return Response::from_parts(head, Body::from(first));
                }
                Poll::Ready(result) => Some(result),
                Poll::Pending => None,
            };
            let body = Body::from_stream(rest_of_body(shared, fut, first, done, guard));
            Response::from_parts(head, body)
        }
        Step::Done(result) => {
            // The app is over: later writes are writes after close.
            guard.finished = true;
            match (result, shared.take_head()) {
                (Ok(body), Some(head)) => Response::from_parts(head, body),
                (Ok(_), None) => failed(Error::new(Kind::NoStartResponse)),
                // An error of ours passed up by the app names the
                // rule it broke (`?` on a second start, say).
                (Err(error), _) => failed(Error::from_boxed(error, Kind::App)),
            }
        }
    }
}

/// The body after the first written chunk: the rest of the app, then the body
/// it returns. A failure here can only abort the connection.
fn rest_of_body<F>(
    shared: Arc<Shared>,
    mut fut: Pin<Box<F>>,
    first: Bytes,
    done: Option<AppResult>,
    guard: CloseGuard,
) -> impl Stream<Item = Result<Bytes, BoxError>> + Send
where
    F: Future<Output = AppResult> + Send + 'static,
{
    async_stream::stream! {
        // Moved in whole (not just the field set below), so that dropping
        // the stream runs the guard.
        let mut guard = guard;
        yield Ok(first);
        let result = match done {
            // The app returned on the poll after its first write.
            Some(result) => result,
            None => loop {
                match poll_fn(|cx| step(&shared, fut.as_mut(), cx)).await {
                    Step::Chunk(chunk) => yield Ok(chunk),
                    Step::Done(result) => break result,
                }
            },
        };
        drop(fut);
        match result {
            Ok(mut body) => {
                shared.close(Kind::WriteAfterClose);
                while let Some(item) = body.next().await {
                    let failed = item.is_err();
                    yield item;
                    if failed {
                        break;
                    }
                }
                guard.finished = true;
            }
            Err(error) => {
                guard.finished = true;
                // The server logs it as it aborts the connection.
                yield Err(error);
            }
        }
    }
}

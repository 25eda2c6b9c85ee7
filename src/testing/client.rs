use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use hyper_util::rt::TokioIo;

use crate::app::App;
use crate::body::Body;
use crate::error::{BoxError, Error, Kind};
use crate::server::{Limits, Server};

/// Sends requests to an app through the real server, over an in-memory pipe:
/// everything between the bytes on the wire and the app runs as in
/// production (HTTP parsing, limits, the 500 rules, hijacks), with no socket.
///
/// Each request uses a fresh connection.
///
/// ```
/// use gateway::testing::TestClient;
/// use gateway::{Body, Environ, Response};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let client = TestClient::new(|_env: Environ| async { Response::new(Body::from("hi")) });
/// let res = client.get("/").await;
/// assert_eq!(res.status(), 200);
/// assert_eq!(res.text(), "hi");
/// # }
/// ```
pub struct TestClient<A> {
    server: Arc<Server<A>>,
}

impl<A> fmt::Debug for TestClient<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestClient").finish_non_exhaustive()
    }
}

impl<A: App> TestClient<A> {
    /// A client for `app`, served with default [`Limits`].
    pub fn new(app: A) -> Self {
        TestClient::with_limits(app, Limits::default())
    }

    /// A client for `app`, served with `limits`.
    pub fn with_limits(app: A, limits: Limits) -> Self {
        TestClient {
            server: Arc::new(Server::new(app).limits(limits)),
        }
    }

    /// The server behind this client.
    pub fn server(&self) -> &Server<A> {
        &self.server
    }

    /// `GET path`, body read to the end.
    ///
    /// # Panics
    ///
    /// If `path` is not a valid URI, or the server does not answer.
    pub async fn get(&self, path: &str) -> TestResponse {
        let req = Request::get(path).body(Body::empty()).expect("valid path");
        self.request(req).await
    }

    /// Sends `req` and reads the whole response body. A body cut off by the
    /// server (an aborted connection) is reported by
    /// [`TestResponse::is_complete`].
    ///
    /// # Panics
    ///
    /// If the server does not answer with a response head at all.
    pub async fn request(&self, req: Request<Body>) -> TestResponse {
        let res = self.send(req).await.expect("the server answered");
        let (head, mut body) = res.into_parts();
        let mut data = Vec::new();
        let mut error = None;
        while let Some(chunk) = body.chunk().await {
            match chunk {
                Ok(chunk) => data.extend_from_slice(&chunk),
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        TestResponse {
            status: head.status,
            headers: head.headers,
            body: Bytes::from(data),
            error,
        }
    }

    /// Sends `req` and returns the response as soon as its head arrives, for
    /// reading the body at the test's own pace.
    ///
    /// # Errors
    ///
    /// When the server closed the connection without answering.
    pub async fn send(&self, mut req: Request<Body>) -> Result<http::Response<Body>, Error> {
        let (client_io, server_io) = tokio::io::duplex(64 << 10);
        let server = self.server.clone();
        tokio::spawn(async move {
            if let Err(e) = server.serve_connection(server_io).await {
                tracing::debug!(error = %e, "test connection ended with an error");
            }
        });
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(client_io))
            .await
            .map_err(|e| Error::with(Kind::Http, e))?;
        tokio::spawn(async move {
            let _ = conn.with_upgrades().await;
        });
        if !req.headers().contains_key(http::header::HOST) {
            req.headers_mut().insert(
                http::header::HOST,
                http::HeaderValue::from_static("localhost"),
            );
        }
        let res = sender
            .send_request(req)
            .await
            .map_err(|e| Error::with(Kind::Http, e))?;
        Ok(res.map(|b| Body::incoming(b, u64::MAX, None)))
    }
}

#[cfg(feature = "ws")]
impl<A: App> TestClient<A> {
    /// Opens a WebSocket to `path` through the server, in memory.
    ///
    /// ```
    /// use gateway::testing::TestClient;
    /// use gateway::ws::{self, Message, WebSocket};
    /// use gateway::testing::{SinkExt, StreamExt};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let client = TestClient::new(ws::endpoint(|mut ws: WebSocket| async move {
    ///     while let Some(msg) = ws.recv().await {
    ///         let _ = ws.send(msg).await;
    ///     }
    /// }));
    /// let mut socket = client.websocket("/").await.unwrap();
    /// socket.send(Message::text("hi")).await.unwrap();
    /// assert_eq!(socket.next().await.unwrap().unwrap(), Message::text("hi"));
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// The handshake's failure (for a rejected handshake, the HTTP response
    /// is in [`tungstenite::Error::Http`](tokio_tungstenite::tungstenite::Error::Http)).
    pub async fn websocket(
        &self,
        path: &str,
    ) -> Result<TestWebSocket, tokio_tungstenite::tungstenite::Error> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let req = format!("ws://localhost{path}").into_client_request()?;
        self.websocket_request(req).await
    }

    /// Opens a WebSocket with a request of the test's own (to set `Origin`,
    /// `Sec-WebSocket-Protocol`...). Build it with
    /// `tungstenite::client::IntoClientRequest` from a `ws://` URL.
    ///
    /// # Errors
    ///
    /// As for [`websocket`](TestClient::websocket).
    pub async fn websocket_request(
        &self,
        req: Request<()>,
    ) -> Result<TestWebSocket, tokio_tungstenite::tungstenite::Error> {
        let (client_io, server_io) = tokio::io::duplex(64 << 10);
        let server = self.server.clone();
        tokio::spawn(async move {
            if let Err(e) = server.serve_connection(server_io).await {
                tracing::debug!(error = %e, "test connection ended with an error");
            }
        });
        let (socket, _response) = tokio_tungstenite::client_async(req, client_io).await?;
        Ok(socket)
    }
}

/// The client end of a WebSocket opened by [`TestClient::websocket`]: a
/// tokio-tungstenite stream (`Stream` of messages, `Sink` for sending).
#[cfg(feature = "ws")]
pub type TestWebSocket = tokio_tungstenite::WebSocketStream<tokio::io::DuplexStream>;

/// A response read to its end by [`TestClient::request`].
pub struct TestResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    error: Option<BoxError>,
}

impl TestResponse {
    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// One header as a string (`None` if absent or not visible ASCII).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body bytes received (all of them, or up to the abort).
    pub fn bytes(&self) -> &Bytes {
        &self.body
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Whether the body arrived whole: `false` when the server aborted the
    /// connection mid-body.
    pub fn is_complete(&self) -> bool {
        self.error.is_none()
    }
}

impl fmt::Debug for TestResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .field("error", &self.error)
            .finish()
    }
}

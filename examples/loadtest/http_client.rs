//! The HTTP/1.1 client: one keep-alive connection per worker, on hyper's
//! client `conn` API (no pool, nothing between the benchmark and the wire).

use std::net::SocketAddr;

use gateway::http::{header, HeaderValue, Request, StatusCode};
use gateway::{BoxError, Bytes};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::timeouts::{within, IO_TIMEOUT};

/// One keep-alive connection.
#[derive(Debug)]
pub(crate) struct HttpConn {
    sender: SendRequest<Empty<Bytes>>,
    host: HeaderValue,
}

impl HttpConn {
    pub(crate) async fn connect(addr: SocketAddr) -> Result<HttpConn, BoxError> {
        let stream = within(IO_TIMEOUT, "TCP connect", TcpStream::connect(addr)).await??;
        stream.set_nodelay(true)?;
        let (sender, connection) = within(
            IO_TIMEOUT,
            "HTTP/1 handshake",
            http1::handshake(TokioIo::new(stream)),
        )
        .await??;
        // The connection's own task; it ends when the sender is dropped or
        // the server closes, and a failure shows up at the next request.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(HttpConn {
            sender,
            host: HeaderValue::from_str(&addr.to_string())?,
        })
    }

    async fn send(
        &mut self,
        path: &str,
    ) -> Result<hyper::Response<hyper::body::Incoming>, BoxError> {
        let mut req = Request::get(path).body(Empty::new())?;
        req.headers_mut().insert(header::HOST, self.host.clone());
        self.sender.ready().await?;
        let res = self.sender.send_request(req).await?;
        if res.status() != StatusCode::OK {
            return Err(format!("GET {path}: status {}, expected 200", res.status()).into());
        }
        Ok(res)
    }

    /// `GET path`, expecting a 200; the whole body. No timeout of its own:
    /// callers bound it.
    pub(crate) async fn get(&mut self, path: &str) -> Result<Bytes, BoxError> {
        let res = self.send(path).await?;
        Ok(res.into_body().collect().await?.to_bytes())
    }

    /// `GET path`, expecting a 200; how many body bytes came, without
    /// keeping them.
    pub(crate) async fn get_counted(&mut self, path: &str) -> Result<usize, BoxError> {
        let mut body = self.send(path).await?.into_body();
        let mut n = 0;
        while let Some(frame) = body.frame().await {
            if let Some(data) = frame?.data_ref() {
                n += data.len();
            }
        }
        Ok(n)
    }
}

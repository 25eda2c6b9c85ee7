//! HTTP/1.1 workloads over keep-alive connections: many small responses,
//! and few large streamed ones.

use std::net::SocketAddr;

use gateway::BoxError;

use super::{drive, Measurement, Op, Settings};
use crate::http_client::HttpConn;
use crate::payload::{HELLO, STREAM_BYTES};
use crate::server_thread::ServerThread;
use crate::target::Target;
use crate::timeouts::{within, IO_TIMEOUT};

pub(crate) const HELLO_CONNECTIONS: usize = 64;
pub(crate) const STREAM_CONNECTIONS: usize = 8;

struct Get {
    conn: HttpConn,
    path: &'static str,
    /// Read the body into one buffer (small ones) or only count it.
    counted: bool,
}

impl Op for Get {
    async fn once(&mut self) -> Result<u64, BoxError> {
        let n = if self.counted {
            self.conn.get_counted(self.path).await?
        } else {
            self.conn.get(self.path).await?.len()
        };
        Ok(n as u64)
    }
}

/// Opens `n` connections and checks each one's first response in full.
async fn open(
    addr: SocketAddr,
    n: usize,
    path: &'static str,
    expected: &[u8],
) -> Result<Vec<HttpConn>, BoxError> {
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        let mut conn = HttpConn::connect(addr).await?;
        let body = within(IO_TIMEOUT, "first request", conn.get(path)).await??;
        if body != expected {
            return Err(format!(
                "GET {path}: unexpected body ({} bytes, expected {})",
                body.len(),
                expected.len()
            )
            .into());
        }
        conns.push(conn);
    }
    Ok(conns)
}

pub(super) async fn hello(
    server: &ServerThread,
    target: Target,
    settings: &Settings,
) -> Result<Measurement, BoxError> {
    let path = target.hello_path();
    let n = settings.connections(HELLO_CONNECTIONS);
    let conns = open(server.addr(), n, path, HELLO).await?;
    let workers = conns
        .into_iter()
        .map(|conn| Get {
            conn,
            path,
            counted: false,
        })
        .collect();
    let m = drive(workers, settings, server).await?;
    // Every response was read in full; a short one would be a bug.
    if m.bytes != m.ops * HELLO.len() as u64 {
        return Err("some hello responses had the wrong length".into());
    }
    Ok(m)
}

pub(super) async fn stream(
    server: &ServerThread,
    target: Target,
    settings: &Settings,
) -> Result<Measurement, BoxError> {
    let path = target.stream_path();
    let expected = vec![b'x'; STREAM_BYTES];
    let n = settings.connections(STREAM_CONNECTIONS);
    let conns = open(server.addr(), n, path, &expected).await?;
    let workers = conns
        .into_iter()
        .map(|conn| Get {
            conn,
            path,
            counted: true,
        })
        .collect();
    let m = drive(workers, settings, server).await?;
    if m.bytes != m.ops * STREAM_BYTES as u64 {
        return Err("some streamed responses had the wrong length".into());
    }
    Ok(m)
}

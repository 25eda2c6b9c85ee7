//! [`Limits`]: every bound the server puts on a client, with its default.

use std::time::Duration;

/// hyper's own limit on header fields, which [`Limits::max_headers`]
/// defaults to.
pub(crate) const HYPER_DEFAULT_MAX_HEADERS: usize = 100;

/// Bounds the server puts on clients. Every limit has a default chosen to be
/// safe on the open internet and roomy for ordinary apps; each setter says
/// what it is.
///
/// ```
/// use std::time::Duration;
/// use gateway::server::Limits;
///
/// let limits = Limits::default()
///     .max_header_bytes(32 << 10)
///     .header_read_timeout(Duration::from_secs(10));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Limits {
    pub(crate) max_header_bytes: usize,
    pub(crate) max_headers: usize,
    pub(crate) header_read_timeout: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) body_read_timeout: Duration,
    pub(crate) max_connections: usize,
    pub(crate) max_concurrent_streams: u32,
    pub(crate) max_body_bytes: u64,
    pub(crate) shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_bytes: 400 << 10,
            max_headers: HYPER_DEFAULT_MAX_HEADERS,
            header_read_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(60),
            max_connections: 10_000,
            max_concurrent_streams: 200,
            max_body_bytes: 16 << 20,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

impl Limits {
    /// The largest request head (request line and headers) accepted, in
    /// bytes; a larger one gets `431`. Default 400 KiB, about hyper's own;
    /// values under 8 KiB are raised to 8 KiB (hyper's minimum read buffer).
    ///
    /// hyper bounds its write buffer with the same number, so this also caps
    /// how much of a streamed response is gathered into one write: lower
    /// than the default costs throughput on large streams of large chunks,
    /// which then go out in more, smaller writes.
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes.max(8 << 10);
        self
    }

    /// The most header fields in one request; more get `431`. Default 100.
    pub fn max_headers(mut self, count: usize) -> Self {
        self.max_headers = count;
        self
    }

    /// How long a client may take to send a complete request head, counted
    /// from when the server starts waiting for it (including idle keep-alive
    /// time between requests). Slower clients are disconnected. Default 30 s.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// How long a client may take none of the bytes of a response before
    /// it is disconnected: a client that stops reading would otherwise hold
    /// its connection for ever. Any progress, however slow, starts the
    /// count again; time the app takes to produce the response never
    /// counts. Hijacked connections are exempt: their handlers time them
    /// (WebSockets with their `ping_timeout`). On HTTP/2 the same limit
    /// holds per stream: a stream whose window the client keeps closed is
    /// reset, and the connection's other streams go on. Default 60 s;
    /// `Duration::MAX` turns it off.
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// How long a request body may bring no bytes while the app waits to
    /// read it: the app's read then fails with
    /// [`Error::is_body_timeout`](crate::Error::is_body_timeout), and a
    /// callback-style app that passes that error up answers
    /// `408 Request Timeout` (spec 2.7). A client that trickles a body, or
    /// sends its head and stops, would otherwise hold the app, and a
    /// blocking app's thread, for ever. The clock starts at a read that
    /// has to wait and stops when bytes come: time before the app reads,
    /// and between bytes and its next read, never counts. Default 60 s;
    /// `Duration::MAX` turns it off (for long two-way streams, where a
    /// client may wait for the server's answer before it sends more).
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// How many connections are served at once; further ones wait in the
    /// listen backlog until one closes. Default 10,000.
    pub fn max_connections(mut self, count: usize) -> Self {
        self.max_connections = count.max(1);
        self
    }

    /// How many requests one HTTP/2 connection may have in flight at once
    /// (`SETTINGS_MAX_CONCURRENT_STREAMS`); the client is told, and a
    /// stream beyond it is refused. Default 200, hyper's. An HTTP/1
    /// connection has one at a time.
    pub fn max_concurrent_streams(mut self, count: u32) -> Self {
        self.max_concurrent_streams = count.max(1);
        self
    }

    /// The largest request body an app can read, in bytes. A request that
    /// declares a larger `Content-Length` gets `413 Content Too Large`
    /// without the app being called; a chunked body that grows past it
    /// fails, when read, with [`Error::is_body_too_large`](crate::Error::is_body_too_large).
    /// Default 16 MiB.
    pub fn max_body_bytes(mut self, bytes: u64) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// On graceful shutdown, how long in-flight requests and hijacked
    /// connections get to finish before they are cut. Default 30 s.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    pub(crate) fn timeouts(&self) -> Timeouts {
        Timeouts {
            header_read: self.header_read_timeout,
            write: self.write_timeout,
        }
    }
}

/// The limits every connection's future keeps.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    pub(crate) header_read: Duration,
    pub(crate) write: Duration,
}

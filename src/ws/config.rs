use std::time::Duration;

use http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Settings of a WebSocket endpoint, with defaults for the open internet.
///
/// ```
/// use std::time::Duration;
/// use gateway::ws::Config;
///
/// let config = Config::default()
///     .protocols(["chat.v2", "chat.v1"])
///     .allowed_origins(["https://example.com"])
///     .ping_interval(Some(Duration::from_secs(30)));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    pub(crate) max_message_size: usize,
    pub(crate) max_frame_size: usize,
    pub(crate) read_buffer_size: usize,
    pub(crate) write_buffer_size: usize,
    pub(crate) queue: usize,
    pub(crate) ping_interval: Option<Duration>,
    pub(crate) ping_timeout: Duration,
    pub(crate) close_timeout: Duration,
    pub(crate) origins: Origins,
    pub(crate) protocols: Vec<String>,
}

/// Which `Origin`s may open a WebSocket.
#[derive(Debug, Clone)]
pub(crate) enum Origins {
    /// The origin's host and port must be the request's `Host`.
    SameAsHost,
    /// Any origin (for public APIs; beware cross-site WebSocket hijacking).
    Any,
    /// Exactly these (`scheme://host[:port]`, compared case-insensitively).
    List(Vec<HeaderValue>),
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_message_size: 16 << 20,
            max_frame_size: 16 << 20,
            read_buffer_size: 2 << 10,
            write_buffer_size: 64 << 10,
            queue: 16,
            ping_interval: Some(Duration::from_secs(20)),
            ping_timeout: Duration::from_secs(20),
            close_timeout: Duration::from_secs(5),
            origins: Origins::SameAsHost,
            protocols: Vec::new(),
        }
    }
}

impl Config {
    /// The largest message accepted, in bytes, after reassembling fragments;
    /// a larger one closes the connection with 1009. Default 16 MiB.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// The largest single frame accepted, in bytes; a larger one closes the
    /// connection with 1009 before its payload is read. Default 16 MiB.
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame_size = bytes;
        self
    }

    /// The read buffer each connection keeps, in bytes. Small buffers keep
    /// idle connections cheap; while large frames arrive, reads go through a
    /// 64 KiB read-ahead buffer that is given back when the connection goes
    /// quiet. Default 2 KiB: tungstenite zero-fills the buffer before every
    /// read, so a smaller one is also cheaper per message. Values under
    /// 1 KiB are raised to 1 KiB.
    pub fn read_buffer_size(mut self, bytes: usize) -> Self {
        self.read_buffer_size = bytes.max(1024);
        self
    }

    /// How many bytes of outgoing frames are gathered before a write to the
    /// socket. Default 64 KiB.
    pub fn write_buffer_size(mut self, bytes: usize) -> Self {
        self.write_buffer_size = bytes;
        self
    }

    /// How many messages may wait in each direction between the handler and
    /// the connection: a handler that does not call `recv` stops the reading
    /// of the socket after this many (so the peer slows down), and `send`
    /// waits when this many are queued. Default 16.
    pub fn queue(mut self, messages: usize) -> Self {
        self.queue = messages.max(1);
        self
    }

    /// How often the server checks the connection: a peer that has been
    /// silent for half of it or more is pinged (spec 8.12). `None` turns
    /// keepalive pings off. Default 20 s.
    pub fn ping_interval(mut self, interval: Option<Duration>) -> Self {
        self.ping_interval = interval;
        self
    }

    /// How long after a ping the peer has to show any sign of life (a pong or
    /// any frame) before the connection is dropped as dead. Default 20 s.
    pub fn ping_timeout(mut self, timeout: Duration) -> Self {
        self.ping_timeout = timeout;
        self
    }

    /// How long to wait for the peer's reply to our close frame before
    /// dropping the connection. Default 5 s.
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Allow only these origins (`scheme://host[:port]`), instead of the
    /// default: the origin whose host and port are the request's `Host`.
    /// Requests without `Origin` (non-browser clients) are always allowed.
    ///
    /// # Panics
    ///
    /// If an origin is not a valid header value.
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let list = origins
            .into_iter()
            .map(|o| {
                HeaderValue::from_str(o.as_ref()).expect("origin must be a valid header value")
            })
            .collect();
        self.origins = Origins::List(list);
        self
    }

    /// Allow every origin. Only for endpoints that hold nothing a
    /// cross-site page should not reach (browsers send cookies along).
    pub fn any_origin(mut self) -> Self {
        self.origins = Origins::Any;
        self
    }

    /// The subprotocols this endpoint speaks, most preferred first. The
    /// first one of these the client offers is chosen; none chosen when the
    /// client offers none of them.
    pub fn protocols<I, S>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    pub(crate) fn tungstenite(&self) -> WebSocketConfig {
        WebSocketConfig::default()
            .read_buffer_size(self.read_buffer_size)
            .write_buffer_size(self.write_buffer_size)
            .max_write_buffer_size(self.write_buffer_size + self.max_message_size + (64 << 10))
            .max_message_size(Some(self.max_message_size))
            .max_frame_size(Some(self.max_frame_size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_8_17_connections_read_through_a_2_kib_buffer_by_default() {
        assert_eq!(Config::default().tungstenite().read_buffer_size, 2 << 10);
        let set = Config::default().read_buffer_size(8 << 10);
        assert_eq!(set.tungstenite().read_buffer_size, 8 << 10);
        // Less than 1 KiB is raised to 1 KiB.
        let tiny = Config::default().read_buffer_size(10);
        assert_eq!(tiny.tungstenite().read_buffer_size, 1 << 10);
    }
}

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket};

/// The listen backlog [`bind`] asks for. tokio's own `TcpListener::bind`
/// asks for 128, which a burst of connects overflows: clients then wait a
/// second or more to retry.
pub const LISTEN_BACKLOG: u32 = 4096;

/// Binds a listener on `addr` with `SO_REUSEADDR` and a backlog of
/// [`LISTEN_BACKLOG`], ready for [`serve`](crate::serve).
///
/// # Errors
///
/// The operating system's, e.g. `AddrInUse` when the port is taken.
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

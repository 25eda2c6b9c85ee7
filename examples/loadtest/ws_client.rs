//! The WebSocket client: tokio-tungstenite over a plain `TcpStream`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use futures_util::{SinkExt, StreamExt};
use gateway::{BoxError, Bytes};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::timeouts::{within, IO_TIMEOUT};

pub(crate) type Ws = WebSocketStream<TcpStream>;

/// Connects and completes the handshake (a 101, or an error), with
/// tungstenite's defaults unless `config` says otherwise.
pub(crate) async fn connect(
    addr: SocketAddr,
    path: &str,
    config: Option<WebSocketConfig>,
) -> Result<Ws, BoxError> {
    let stream = within(IO_TIMEOUT, "TCP connect", TcpStream::connect(addr)).await??;
    stream.set_nodelay(true)?;
    let url = format!("ws://{addr}{path}");
    let (ws, _response) = within(
        IO_TIMEOUT,
        "WebSocket handshake",
        tokio_tungstenite::client_async_with_config(url, stream, config),
    )
    .await??;
    Ok(ws)
}

/// Loopback source addresses the idle clients spread over: one address has
/// about 28,000 ephemeral ports (Linux's default range), 16 have plenty for
/// 100,000 connections.
const SOURCES: usize = 16;

/// Connects an idle client, the `i`th: from one of [`SOURCES`] loopback
/// addresses when the server is on loopback, and with a 4 KiB read buffer
/// (tungstenite's default of 128 KiB, times 100,000 clients, would not fit
/// in memory; the clients' memory is not what is measured).
pub(crate) async fn connect_idle(addr: SocketAddr, path: &str, i: usize) -> Result<Ws, BoxError> {
    let socket = match addr.ip() {
        IpAddr::V4(ip) if ip.is_loopback() => {
            let socket = TcpSocket::new_v4()?;
            let source = Ipv4Addr::new(127, 0, 0, 1 + (i % SOURCES) as u8);
            socket.bind(SocketAddr::new(source.into(), 0))?;
            socket
        }
        IpAddr::V4(_) => TcpSocket::new_v4()?,
        IpAddr::V6(_) => TcpSocket::new_v6()?,
    };
    let stream = within(IO_TIMEOUT, "TCP connect", socket.connect(addr)).await??;
    let config = WebSocketConfig::default().read_buffer_size(4 << 10);
    let url = format!("ws://{addr}{path}");
    let (ws, _response) = within(
        IO_TIMEOUT,
        "WebSocket handshake",
        tokio_tungstenite::client_async_with_config(url, stream, Some(config)),
    )
    .await??;
    Ok(ws)
}

/// Sends `payload` as one binary message and waits for it to come back.
/// Checks the length only (cheap enough to not be the measured thing);
/// [`verify_echo`] checks the bytes.
pub(crate) async fn echo(ws: &mut Ws, payload: &Bytes) -> Result<Bytes, BoxError> {
    ws.send(Message::Binary(payload.clone())).await?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Binary(echoed))) if echoed.len() == payload.len() => {
                return Ok(echoed)
            }
            Some(Ok(Message::Binary(echoed))) => {
                return Err(format!(
                    "echo of {} bytes came back as {} bytes",
                    payload.len(),
                    echoed.len()
                )
                .into())
            }
            // tungstenite answers pings by itself.
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(other)) => return Err(format!("expected the echo, got {other:?}").into()),
            Some(Err(e)) => return Err(e.into()),
            None => return Err("the server closed instead of echoing".into()),
        }
    }
}

/// One echo whose bytes are compared, before a workload measures.
pub(crate) async fn verify_echo(ws: &mut Ws, payload: &Bytes) -> Result<(), BoxError> {
    let echoed = within(IO_TIMEOUT, "WebSocket echo", echo(ws, payload)).await??;
    if echoed != *payload {
        return Err("the echo's bytes differ from what was sent".into());
    }
    Ok(())
}

/// Sends a close and reads until the server's close (and the end of the
/// stream) arrive.
pub(crate) async fn close(ws: &mut Ws) -> Result<(), BoxError> {
    ws.close(None).await?;
    while let Some(msg) = ws.next().await {
        match msg {
            Ok(_) => {}
            // The server may drop the connection right after its close.
            Err(_) => break,
        }
    }
    Ok(())
}

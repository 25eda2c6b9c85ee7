//! WebSocket handshakes per second: connect, handshake, close, again.

use std::net::SocketAddr;

use gateway::{BoxError, Bytes};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::{drive, Measurement, Op, Settings};
use crate::server_thread::ServerThread;
use crate::target::Target;
use crate::ws_client;

pub(crate) const CLIENTS: usize = 16;

struct Handshake {
    addr: SocketAddr,
    path: &'static str,
    config: Option<WebSocketConfig>,
}

impl Op for Handshake {
    async fn once(&mut self) -> Result<u64, BoxError> {
        let mut ws = ws_client::connect(self.addr, self.path, self.config).await?;
        ws_client::close(&mut ws).await?;
        Ok(0)
    }
}

pub(super) async fn handshakes(
    server: &ServerThread,
    target: Target,
    settings: &Settings,
) -> Result<Measurement, BoxError> {
    let (addr, path) = (server.addr(), target.ws_path());
    // The endpoint must echo, not merely accept.
    let config = settings.ws_client_config();
    let mut ws = ws_client::connect(addr, path, config).await?;
    ws_client::verify_echo(&mut ws, &Bytes::from_static(b"handshake check")).await?;
    ws_client::close(&mut ws).await?;
    let workers = (0..settings.connections(CLIENTS))
        .map(|_| Handshake { addr, path, config })
        .collect();
    drive(workers, settings, server).await
}

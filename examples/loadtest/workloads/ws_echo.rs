//! WebSocket echo workloads: each connection sends one message, waits for
//! its echo, and repeats.

use gateway::{BoxError, Bytes};

use super::{drive, Measurement, Op, Settings};
use crate::server_thread::ServerThread;
use crate::target::Target;
use crate::ws_client::{self, Ws};

pub(crate) const SMALL_CONNECTIONS: usize = 64;
pub(crate) const SMALL_MESSAGE: usize = 32;
pub(crate) const LARGE_CONNECTIONS: usize = 8;
pub(crate) const LARGE_MESSAGE: usize = 64 << 10;

struct Echo {
    ws: Ws,
    payload: Bytes,
}

impl Op for Echo {
    async fn once(&mut self) -> Result<u64, BoxError> {
        Ok(ws_client::echo(&mut self.ws, &self.payload).await?.len() as u64)
    }
}

pub(super) async fn small(
    server: &ServerThread,
    target: Target,
    settings: &Settings,
) -> Result<Measurement, BoxError> {
    let n = settings.connections(SMALL_CONNECTIONS);
    run(server, target, settings, n, SMALL_MESSAGE).await
}

pub(super) async fn large(
    server: &ServerThread,
    target: Target,
    settings: &Settings,
) -> Result<Measurement, BoxError> {
    let n = settings.connections(LARGE_CONNECTIONS);
    run(server, target, settings, n, LARGE_MESSAGE).await
}

async fn run(
    server: &ServerThread,
    target: Target,
    settings: &Settings,
    connections: usize,
    size: usize,
) -> Result<Measurement, BoxError> {
    // Bytes that differ from one position to the next, so a mangled echo
    // shows.
    let payload: Bytes = (0..size).map(|i| (i % 251) as u8).collect();
    let mut workers = Vec::with_capacity(connections);
    for _ in 0..connections {
        let config = settings.ws_client_config();
        let mut ws = ws_client::connect(server.addr(), target.ws_path(), config).await?;
        ws_client::verify_echo(&mut ws, &payload).await?;
        workers.push(Echo {
            ws,
            payload: payload.clone(),
        });
    }
    drive(workers, settings, server).await
}

use crate::rt::ShutdownFlag;

/// Tells a hijack handler that the server is shutting down gracefully.
///
/// Get one from [`Upgraded::shutdown_signal`](super::Upgraded::shutdown_signal)
/// and keep it beside the IO, so a handler can wait for it while it reads:
///
/// ```
/// use gateway::hijack::Upgraded;
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// async fn handler(mut io: Upgraded) {
///     let mut shutdown = io.shutdown_signal();
///     let mut buf = [0u8; 1024];
///     loop {
///         tokio::select! {
///             () = shutdown.requested() => {
///                 let _ = io.write_all(b"server going away\n").await;
///                 return;
///             }
///             n = io.read(&mut buf) => match n {
///                 Ok(0) | Err(_) => return,
///                 Ok(n) => { let _ = io.write_all(&buf[..n]).await; }
///             },
///         }
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct ShutdownSignal {
    /// Started when graceful shutdown begins.
    flag: ShutdownFlag,
}

impl ShutdownSignal {
    pub(crate) fn new(flag: ShutdownFlag) -> Self {
        ShutdownSignal { flag }
    }

    /// Completes once the server began shutting down (at once if it already
    /// has). Handlers should say goodbye and return; after the grace period
    /// the server drops them.
    pub async fn requested(&mut self) {
        self.flag.wait().await;
    }

    /// Whether shutdown has begun.
    pub fn is_requested(&self) -> bool {
        self.flag.is_raised()
    }
}

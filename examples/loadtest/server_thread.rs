//! A server on a runtime thread of its own, pinned to one CPU, whose CPU
//! time can be read while it runs.

use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use core_affinity::CoreId;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::oneshot;

/// What gateway's blocking-pool threads are called (its workers and their
/// watchdog): they run the blocking column's apps.
const BLOCKING_POOL: &str = "gateway-pool";

/// Completes when the server should stop.
pub(crate) type Stop = oneshot::Receiver<()>;

/// Where a server listens.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Listen {
    /// A port of its own on 127.0.0.1.
    Fresh,
    /// `addr`, which no other process may share.
    Exclusive(SocketAddr),
    /// `addr` with `SO_REUSEPORT`: the kernel spreads new connections over
    /// every process listening there (with port 0, the first one picks the
    /// port the others then join).
    Shared(SocketAddr),
}

impl Listen {
    fn bind(self) -> io::Result<TcpListener> {
        match self {
            Listen::Fresh => gateway::server::bind((Ipv4Addr::LOCALHOST, 0).into()),
            Listen::Exclusive(addr) => gateway::server::bind(addr),
            Listen::Shared(addr) => {
                let socket = match addr {
                    SocketAddr::V4(_) => TcpSocket::new_v4()?,
                    SocketAddr::V6(_) => TcpSocket::new_v6()?,
                };
                socket.set_reuseaddr(true)?;
                socket.set_reuseport(true)?;
                socket.bind(addr)?;
                socket.listen(gateway::server::LISTEN_BACKLOG)
            }
        }
    }
}

/// A running server; [`stop`](ServerThread::stop) it when done.
#[derive(Debug)]
pub(crate) struct ServerThread {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    /// Every thread the server's runtime runs on.
    tids: Arc<Mutex<Vec<u32>>>,
}

impl ServerThread {
    /// Binds as `listen` says and runs `serve` on a current-thread runtime
    /// on a new thread, pinned to `core`. One thread on one CPU makes the
    /// servers comparable on a small machine, and their CPU time easy to
    /// read.
    pub(crate) fn spawn<F, Fut>(
        name: &str,
        core: Option<CoreId>,
        listen: Listen,
        serve: F,
    ) -> io::Result<Self>
    where
        F: FnOnce(TcpListener, Stop) -> Fut + Send + 'static,
        Fut: Future<Output = ()>,
    {
        let tids = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = mpsc::channel::<io::Result<SocketAddr>>();
        let (stop_tx, stop_rx) = oneshot::channel();
        let thread = {
            let tids = tids.clone();
            std::thread::Builder::new()
                // Short enough (15 bytes) to tell servers apart in profilers.
                .name(name.to_owned())
                .spawn(move || {
                    let on_start = {
                        let tids = tids.clone();
                        move || register_thread(&tids, core)
                    };
                    on_start();
                    // Blocking-pool threads (if the server ever uses them)
                    // count as the server's too.
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .on_thread_start(on_start)
                        .build();
                    let runtime = match runtime {
                        Ok(rt) => rt,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    runtime.block_on(async move {
                        let listener = match listen.bind() {
                            Ok(listener) => listener,
                            Err(e) => {
                                let _ = ready_tx.send(Err(e));
                                return;
                            }
                        };
                        let _ = ready_tx.send(listener.local_addr());
                        serve(listener, stop_rx).await;
                    });
                    // Connections still open are dropped, not waited for.
                    runtime.shutdown_timeout(Duration::from_secs(1));
                })?
        };
        let addr = ready_rx
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| io::Error::other("server thread did not start within 10 s"))??;
        Ok(ServerThread {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
            tids,
        })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// CPU time the server's threads have used since they started, with
    /// gateway's blocking pool (its own threads, which the runtime's
    /// `on_thread_start` never sees; idle in the other columns).
    pub(crate) fn cpu_time(&self) -> Duration {
        let mut tids = self.tids.lock().expect("tid list never poisoned").clone();
        tids.extend(crate::procfs::threads_named(BLOCKING_POOL));
        tids.sort_unstable();
        tids.dedup();
        tids.into_iter()
            .filter_map(crate::procfs::thread_cpu_time)
            .sum()
    }

    /// Stops the server and waits (a bounded time) for its thread to end.
    /// Async, so the client's runtime keeps closing its side meanwhile.
    pub(crate) async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let Some(thread) = self.thread.take() else {
            return;
        };
        // Graceful shutdown is bounded by the servers themselves; this bound
        // only keeps a broken one from hanging the benchmark.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !thread.is_finished() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if thread.is_finished() {
            let _ = thread.join();
        } else {
            eprintln!("warning: a server thread did not stop within 10 s; left behind");
        }
    }
}

impl Drop for ServerThread {
    /// A server dropped without `stop` (a workload that failed early) is
    /// told to stop, but not waited for.
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn register_thread(tids: &Mutex<Vec<u32>>, core: Option<CoreId>) {
    if let Some(core) = core {
        if !core_affinity::set_for_current(core) {
            eprintln!(
                "warning: a server thread could not be pinned to CPU {}",
                core.id
            );
        }
    }
    if let Some(tid) = crate::procfs::current_tid() {
        tids.lock().expect("tid list never poisoned").push(tid);
    }
}

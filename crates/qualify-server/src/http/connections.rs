//! Accepting connections: at most so many open at once, each closed when a request's headers
//! (or, on an idle keep-alive connection, the next request's) take too long to arrive, TLS when
//! configured, and a graceful drain at shutdown. A client that opens connections and sends
//! nothing holds a slot for the header timeout at most, and never takes the server's last file
//! descriptor.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

/// The bounds every connection is held to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionLimits {
    /// How long a request's headers (or a TLS handshake) may take, counted from when the
    /// connection is ready for them: an idle keep-alive connection is closed after it too.
    pub(crate) header_read_timeout: Duration,
    /// Connections open at once; further ones wait in the listen backlog.
    pub(crate) max_connections: usize,
}

/// The bounds the HTTP settings hold every connection to.
pub(crate) fn limits(settings: &qualify_app::settings::HttpSettings) -> ConnectionLimits {
    ConnectionLimits {
        header_read_timeout: settings.header_read_timeout,
        max_connections: settings
            .max_connections
            .unwrap_or_else(default_max_connections),
    }
}

/// File descriptors kept for everything but clients' connections: the database's files and
/// connections, deliveries to webhooks, the log.
const RESERVED_DESCRIPTORS: u64 = 256;

/// The connection limit when none is configured: what the open-files limit allows once raised
/// as far as this process may (as Go's runtime does), less the reserve; at least 64.
fn default_max_connections() -> usize {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        let raised = rustix::process::Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            limit = raised;
        }
    }
    // No limit at all: one a server of this kind will not outgrow.
    let open_files = limit.current.unwrap_or(1 << 20);
    let allowed = open_files.saturating_sub(RESERVED_DESCRIPTORS).max(64);
    usize::try_from(allowed).unwrap_or(usize::MAX)
}

/// The read buffer a request's line and headers must fit in, in bytes (hyper's default is about
/// 400 KiB; the largest legitimate head, with a 16 KiB token, is far below this). A head still
/// incomplete once the buffer is full is a 431: this bounds what a connection holds.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// How often, at most, the server says it is at its connection limit.
const LIMIT_WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// Serves `routes` on `listener` (over TLS with `tls`) until `shutdown` completes; then stops
/// accepting, lets open connections finish their requests, and returns.
pub(crate) async fn serve<S>(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    routes: S,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()>
where
    S: tower::Service<
            hyper::Request<Incoming>,
            Response = axum::response::Response,
            Error = Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    let mut last_warning: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if last_warning.is_none_or(|at| at.elapsed() >= LIMIT_WARNING_INTERVAL) {
                    last_warning = Some(Instant::now());
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "the connection limit is reached: new connections wait until one closes (--max-connections)"
                    );
                }
                tokio::select! {
                    slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
                    () = &mut shutdown => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    pause_after(error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Answers are small and written whole: waiting to coalesce them only adds latency.
        let _ = stream.set_nodelay(true);
        let (http, watcher, routes, tls) = (
            http.clone(),
            graceful.watcher(),
            routes.clone(),
            tls.clone(),
        );
        tokio::spawn(async move {
            let _slot = slot;
            // Each request knows the address it came from (the lock-outs count failures by it).
            let routes = tower::ServiceExt::map_request(
                routes,
                move |mut request: hyper::Request<Incoming>| {
                    request
                        .extensions_mut()
                        .insert(axum::extract::ConnectInfo(peer));
                    request
                },
            );
            let service = TowerToHyperService::new(routes);
            match tls {
                None => {
                    let connection = http.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(connection).await;
                }
                Some(acceptor) => {
                    let Some(stream) = handshake(&acceptor, stream, limits).await else {
                        return;
                    };
                    let connection = http.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(connection).await;
                }
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// The TLS session over `stream`, if the client completes its handshake in time.
async fn handshake(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    limits: ConnectionLimits,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    match tokio::time::timeout(limits.header_read_timeout, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => Some(stream),
        Ok(Err(error)) => {
            tracing::debug!(%error, "a TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!("a TLS handshake took too long");
            None
        }
    }
}

/// Waits after a failed `accept`, when waiting helps: out of file descriptors or memory, the
/// next attempt would fail the same way at once. A connection that failed on its own (reset
/// before it was accepted) is no reason to wait.
async fn pause_after(error: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "accepting a connection failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

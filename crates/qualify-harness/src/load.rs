//! A closed-loop HTTP/1.1 load generator on hyper's client connections: each of `connections`
//! workers keeps one keep-alive connection, sends a request, reads the whole answer, and sends
//! the next, for a fixed duration. Latencies go into HDR histograms. Built directly on hyper so
//! the generator costs a few microseconds per request and the server, not the generator, is
//! what gets measured.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpStream;

/// One run's numbers.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// Requests answered with 2xx.
    pub ok: u64,
    /// Requests answered otherwise, or failed, by status (0 for transport failures).
    pub failed: BTreeMap<u16, u64>,
    /// How long the run lasted.
    pub seconds: f64,
    /// Successful requests per second.
    pub rps: f64,
    /// Median latency, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency, milliseconds.
    pub p99_ms: f64,
    /// Slowest, milliseconds.
    pub max_ms: f64,
}

/// The requests to send.
pub trait RequestSource: Send + Sync + 'static {
    /// Request number `n` (counted across all workers); `None` when there is nothing left to send.
    fn request(&self, n: u64) -> Option<Request<Full<Bytes>>>;
}

impl<F> RequestSource for F
where
    F: Fn(u64) -> Option<Request<Full<Bytes>>> + Send + Sync + 'static,
{
    fn request(&self, n: u64) -> Option<Request<Full<Bytes>>> {
        self(n)
    }
}

/// A GET of `path` with `token` (if any).
pub fn get(path: &str, token: Option<&str>) -> Request<Full<Bytes>> {
    let mut builder = Request::get(path).header("host", "qualify");
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    builder.body(Full::new(Bytes::new())).unwrap_or_default()
}

/// A POST of a JSON `body` to `path` with `token`, under a fresh `MS-RequestId`.
pub fn post_json(path: &str, token: &str, body: &'static str) -> Request<Full<Bytes>> {
    Request::post(path)
        .header("host", "qualify")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("ms-requestid", uuid::Uuid::new_v4().to_string())
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap_or_default()
}

/// Latencies from 1 µs to a minute, three significant digits.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("constant, valid bounds")
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> Option<Sender> {
    let stream = TcpStream::connect(addr).await.ok()?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(connection);
    Some(sender)
}

/// Runs `connections` workers against `targets` (worker `i` on `targets[i % len]`) for
/// `duration`, or until `source` runs dry.
pub async fn run(
    targets: &[SocketAddr],
    connections: usize,
    duration: Duration,
    source: impl RequestSource,
) -> LoadReport {
    run_paced(targets, connections, duration, None, source).await
}

/// As [`run`], but with `rate`, requests are sent at that steady rate (request `n` not before
/// `n / rate` seconds into the run) rather than as fast as answered: load as a day's traffic
/// brings it, with `connections` enough that the pace never waits for an answer. A request's
/// latency counts from its sending.
pub async fn run_paced(
    targets: &[SocketAddr],
    connections: usize,
    duration: Duration,
    rate: Option<f64>,
    source: impl RequestSource,
) -> LoadReport {
    let source = Arc::new(source);
    let counter = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let deadline = started + duration;
    let workers: Vec<_> = (0..connections)
        .map(|i| {
            let target = targets[i % targets.len()];
            let (source, counter, stop) =
                (Arc::clone(&source), Arc::clone(&counter), Arc::clone(&stop));
            tokio::spawn(async move {
                let mut latencies = histogram();
                let mut failed: BTreeMap<u16, u64> = BTreeMap::new();
                let mut sender = connect(target).await;
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    if let Some(rate) = rate {
                        let due = started + Duration::from_secs_f64(n as f64 / rate);
                        if due >= deadline {
                            break;
                        }
                        tokio::time::sleep_until(due.into()).await;
                    }
                    let Some(request) = source.request(n) else {
                        stop.store(true, Ordering::Relaxed);
                        break;
                    };
                    let sent = Instant::now();
                    let status = match sender.as_mut() {
                        Some(connection) => match connection.send_request(request).await {
                            Ok(response) => {
                                let status = response.status().as_u16();
                                let _ = response.into_body().collect().await;
                                status
                            }
                            Err(_) => 0,
                        },
                        None => 0,
                    };
                    if status == 0 {
                        // The connection broke: count the failure and open another.
                        sender = connect(target).await;
                    }
                    let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                    if (200..300).contains(&status) {
                        let _ = latencies.record(micros.max(1));
                    } else {
                        *failed.entry(status).or_default() += 1;
                    }
                }
                (latencies, failed)
            })
        })
        .collect();
    let mut latencies = histogram();
    let mut failed: BTreeMap<u16, u64> = BTreeMap::new();
    for worker in workers {
        if let Ok((histogram, errors)) = worker.await {
            let _ = latencies.add(&histogram);
            for (status, count) in errors {
                *failed.entry(status).or_default() += count;
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let ms = |micros: u64| micros as f64 / 1000.0;
    LoadReport {
        ok: latencies.len(),
        failed,
        seconds,
        rps: latencies.len() as f64 / seconds,
        p50_ms: ms(latencies.value_at_quantile(0.5)),
        p99_ms: ms(latencies.value_at_quantile(0.99)),
        max_ms: ms(latencies.max()),
    }
}

//! A closed-loop HTTP load generator: `connections` workers each send a request, wait for the
//! whole answer, and send the next, for a fixed duration. Latencies go into HDR histograms.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

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

/// The next request to send: `None` when there is nothing left to send (e.g. no unused customer).
pub trait RequestSource: Send + Sync + 'static {
    /// Builds request number `n` (counted across all workers).
    fn request(&self, client: &reqwest::Client, n: u64) -> Option<reqwest::RequestBuilder>;
}

impl<F> RequestSource for F
where
    F: Fn(&reqwest::Client, u64) -> Option<reqwest::RequestBuilder> + Send + Sync + 'static,
{
    fn request(&self, client: &reqwest::Client, n: u64) -> Option<reqwest::RequestBuilder> {
        self(client, n)
    }
}

/// An HTTP client for load: HTTP/1.1 keep-alive, one pooled connection per worker.
pub fn client(connections: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .http1_only()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default()
}

/// Latencies from 1 µs to a minute, three significant digits.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("constant, valid bounds")
}

/// Runs `connections` workers for `duration` (or until `source` runs dry).
pub async fn run(
    client: &reqwest::Client,
    connections: usize,
    duration: Duration,
    source: impl RequestSource,
) -> LoadReport {
    let source = Arc::new(source);
    let counter = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let deadline = started + duration;
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let (client, source, counter, stop) = (
                client.clone(),
                Arc::clone(&source),
                Arc::clone(&counter),
                Arc::clone(&stop),
            );
            tokio::spawn(async move {
                let mut latencies = histogram();
                let mut failed: BTreeMap<u16, u64> = BTreeMap::new();
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let Some(request) = source.request(&client, n) else {
                        stop.store(true, Ordering::Relaxed);
                        break;
                    };
                    let sent = Instant::now();
                    let status = match request.send().await {
                        Ok(response) => {
                            let status = response.status().as_u16();
                            let _ = response.bytes().await;
                            status
                        }
                        Err(_) => 0,
                    };
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

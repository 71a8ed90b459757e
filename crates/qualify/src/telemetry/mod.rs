//! Logging: `tracing` to stderr, filtered by `RUST_LOG` (default `info`: a line per request), as
//! text or as JSON lines for log collectors.
//!
//! Lines are formatted where they happen and written by a thread of their own, in batches
//! (`tracing-appender`'s non-blocking writer over a buffered stderr, flushed whenever no line
//! is waiting): a request never waits on stderr, so a log reader that stalls (a full pipe, a
//! throttled journald, a paused terminal) slows nothing, and a busy server makes one write per
//! batch instead of one per line. The queue holds at most [`QUEUED_LINES`]; while it is full,
//! new lines are dropped: losing log lines beats the service stopping, or its memory growing.
//! Text lines are formatted by [`line::TextLine`], written for a line per request.

mod line;

use std::io::{BufWriter, IsTerminal};

use qualify_server::LogFormat;
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// The filter without `RUST_LOG`. The certificate verifier logs a partner's receiver with a bad
/// certificate as an ERROR of the server's; it is the receiver's fault, and the delivery attempt
/// already records it (the partner reads it in its validation event's results).
const DEFAULT_FILTER: &str = "info,sqlx=warn,rustls_platform_verifier=off";

/// Lines waiting for the writer thread, at most (about 4 MiB of request lines).
const QUEUED_LINES: usize = 16_384;

/// Installs the global subscriber. Keep the guard for as long as the process logs: dropping it
/// writes out the lines still queued. Safe to call once per process.
pub(crate) fn init(format: LogFormat) -> WorkerGuard {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let ansi = std::io::stderr().is_terminal();
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(QUEUED_LINES)
        .thread_name("qualify-log")
        .finish(BufWriter::new(std::io::stderr()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi);
    let _ = match format {
        LogFormat::Text => builder.event_format(line::TextLine).try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
    guard
}

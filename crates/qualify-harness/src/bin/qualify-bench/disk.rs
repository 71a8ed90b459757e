//! How many fsyncs a second the disk under the benchmark's databases does: durable submissions
//! are bounded by it, so a run reports it beside them and runs on different disks can be
//! compared by submissions per fsync rather than by raw numbers.

use std::io::Write;
use std::time::{Duration, Instant};

/// Appends 4 KiB and `fdatasync`s, over and over for `duration`, in a scratch file in the
/// temporary directory (where the benchmark's SQLite databases live): fsyncs per second.
pub(crate) fn fsyncs_per_second(duration: Duration) -> std::io::Result<f64> {
    let path = std::env::temp_dir().join(format!("qualify-bench-fsync-{}", std::process::id()));
    let outcome = (|| {
        let mut file = std::fs::File::create(&path)?;
        let page = [0u8; 4096];
        let started = Instant::now();
        let mut syncs = 0u32;
        while started.elapsed() < duration {
            file.write_all(&page)?;
            file.sync_data()?;
            syncs += 1;
        }
        Ok(f64::from(syncs) / started.elapsed().as_secs_f64())
    })();
    let _ = std::fs::remove_file(&path);
    outcome
}

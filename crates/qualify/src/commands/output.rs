//! Printing results: JSON for scripts (one document on stdout), aligned columns for people.

use std::io::Write;

use comfy_table::{Table, presets};
use serde::Serialize;

use super::connection::OutputFormat;

/// Prints `value` as JSON, or as a table of `headers` and `rows`.
pub(crate) fn print<T: Serialize>(
    format: OutputFormat,
    value: &T,
    headers: &[&str],
    rows: Vec<Vec<String>>,
) -> anyhow::Result<()> {
    let text = match format {
        OutputFormat::Json => serde_json::to_string_pretty(value)?,
        OutputFormat::Table => {
            let mut table = Table::new();
            table.load_style(presets::NOTHING);
            table.set_header(headers.to_vec());
            for row in rows {
                table.add_row(row);
            }
            table.to_string().trim_end().to_owned()
        }
    };
    ignore_closed_stdout(writeln!(std::io::stdout().lock(), "{text}"))
}

/// A write to stdout whose reader has gone (`qualify … | head -1`) is no failure: whoever
/// closed the pipe has what they wanted.
pub(crate) fn ignore_closed_stdout(written: std::io::Result<()>) -> anyhow::Result<()> {
    match written {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Prints one line of a result on stdout (between tables, say).
pub(crate) fn line(text: &str) -> anyhow::Result<()> {
    ignore_closed_stdout(writeln!(std::io::stdout().lock(), "{text}"))
}

/// `2m 5s`, not `2m 5s 12ms 3us`: a duration as a person reads it, to the second.
pub(crate) fn rounded(duration: std::time::Duration) -> String {
    humantime::format_duration(std::time::Duration::from_secs(duration.as_secs())).to_string()
}

/// Prints one line for people on stderr (progress, notes), keeping stdout for results.
pub(crate) fn note(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// An optional value for a table cell.
pub(crate) fn cell<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

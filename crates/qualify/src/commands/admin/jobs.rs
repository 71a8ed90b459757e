//! `qualify admin jobs`: what each lane of background work holds, which receivers are backed
//! off, and how late decisions ran lately.

use std::time::Duration;

use qualify_app::admin::{Admin, JobsOverview, LATENESS_WINDOW};

use crate::commands::connection::OutputFormat;
use crate::commands::output::{cell, line, print, rounded};

/// Runs `qualify admin jobs`.
pub(super) async fn run(admin: &Admin, output: OutputFormat) -> anyhow::Result<()> {
    let overview = admin.jobs_overview().await?;
    if output == OutputFormat::Json {
        return print(output, &overview, &[], Vec::new());
    }
    let lanes = overview
        .lanes
        .iter()
        .map(|lane| {
            vec![
                lane.lane.to_owned(),
                lane.due.to_string(),
                lane.running.to_string(),
                lane.scheduled.to_string(),
                cell(
                    lane.oldest_due_ms
                        .map(|ms| rounded(Duration::from_millis(ms))),
                ),
            ]
        })
        .collect();
    print(
        output,
        &overview,
        &["LANE", "DUE", "RUNNING", "SCHEDULED", "OLDEST DUE FOR"],
        lanes,
    )?;
    line("")?;
    line(&lateness_line(&overview))?;
    if !overview.open_receivers.is_empty() {
        line("")?;
        let receivers = overview
            .open_receivers
            .iter()
            .map(|open| {
                vec![
                    open.receiver.clone(),
                    open.failures.to_string(),
                    open.until.to_string(),
                ]
            })
            .collect();
        print(
            output,
            &overview.open_receivers,
            &["BACKED-OFF RECEIVER", "FAILURES IN A ROW", "RETRIED FROM"],
            receivers,
        )?;
    }
    Ok(())
}

/// One line on how late decisions ran in the window.
fn lateness_line(overview: &JobsOverview) -> String {
    let window = rounded(LATENESS_WINDOW);
    let late = &overview.decision_lateness;
    match (late.p50_ms, late.p99_ms, late.max_ms) {
        (Some(p50), Some(p99), Some(max)) => format!(
            "Decisions done in the last {window}: {count}, after their due time by p50 {p50}, p99 {p99}, max {max}",
            count = late.count,
            p50 = millis(p50),
            p99 = millis(p99),
            max = millis(max),
        ),
        _ => format!("No decision done in the last {window}"),
    }
}

fn millis(ms: i64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        rounded(Duration::from_millis(u64::try_from(ms).unwrap_or_default()))
    }
}

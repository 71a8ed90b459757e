//! `qualify admin audit`: the audit trail as the operator reads it, everyone's records, each
//! naming who acted; newest first, a page at a time, saying when more follow.

use clap::Args;
use std::io::Write;

use qualify_app::admin::{Admin, TrailSelection};
use qualify_types::{CustomerId, TenantId};
use serde_json::json;

use crate::commands::connection::OutputFormat;

use super::show;

/// `qualify admin audit`.
#[derive(Debug, Args)]
#[command(
    after_help = "Records are listed newest first; when more follow, a last line on stderr says\nhow to see them.\n\nExamples:\n  qualify admin audit --since 2026-11-01\n  qualify admin audit --partner 3f2c7a1e-5b1d-4c7e-9a4b-2f1d3c4b5a6e \\\n      --output json\n  qualify admin audit --oldest-first --since 2026-11-01 --until 2026-11-30"
)]
pub(super) struct AuditArgs {
    /// Only this partner's records.
    #[arg(long, value_name = "TENANT_ID")]
    partner: Option<TenantId>,
    /// Only this customer's.
    #[arg(long, value_name = "CUSTOMER_ID")]
    customer: Option<CustomerId>,
    /// From this date (yyyy-mm-dd) or moment (RFC 3339) [default: 30 days ago].
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Until this date or moment, inclusive [default: now].
    #[arg(long, value_name = "DATE")]
    until: Option<String>,
    /// At most this many records.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    limit: u32,
    /// List the oldest first (Partner Center's order) instead of the newest.
    #[arg(long)]
    oldest_first: bool,
    /// Continue a listing after the record at this position, as its last line says.
    #[arg(long, value_name = "POSITION")]
    after: Option<i64>,
}

/// Prints the records `args` selects.
pub(super) async fn run(
    admin: &Admin,
    args: AuditArgs,
    output: OutputFormat,
) -> anyhow::Result<()> {
    let selection = TrailSelection {
        partner: args.partner,
        customer: args.customer,
        since: args.since.as_deref(),
        until: args.until.as_deref(),
        newest_first: !args.oldest_first,
        after: args.after,
    };
    let page = admin.audit_records(&selection, args.limit).await?;
    let records = &page.records;
    let actor = |record: &qualify_types::AuditRecord| {
        record
            .customized_data
            .iter()
            .find(|pair| pair.key == "Actor")
            .and_then(|pair| pair.value.clone())
            .unwrap_or_default()
    };
    let rows = records
        .iter()
        .map(|r| {
            vec![
                r.operation_date.to_string(),
                r.partner_id.clone(),
                r.customer_id.clone().unwrap_or_default(),
                r.operation_type.clone(),
                actor(r),
            ]
        })
        .collect();
    show(
        output,
        &json!(records),
        &["DATE", "PARTNER", "CUSTOMER", "OPERATION", "ACTOR"],
        rows,
    )?;
    // On stderr, so that stdout stays the records (a JSON array for a script).
    if let Some(after) = page.next_after {
        let older = if args.oldest_first { "later" } else { "older" };
        writeln!(
            std::io::stderr(),
            "more records follow: for the next {} ({older}), run the same command with --after {after}",
            args.limit
        )?;
    }
    Ok(())
}

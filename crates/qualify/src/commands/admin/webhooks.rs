//! `qualify admin webhooks`: every attempt to deliver a partner's event, and a redelivery.

use clap::Subcommand;
use qualify_app::admin::Admin;
use qualify_types::TenantId;
use serde_json::json;

use crate::commands::connection::OutputFormat;

use super::show;

/// `qualify admin webhooks`.
#[derive(Debug, Subcommand)]
pub(super) enum WebhooksCommand {
    /// The latest delivery attempts (partners' receivers and the operator's webhooks), newest first: status, latency, error.
    #[command(
        after_help = "Examples:\n  qualify admin webhooks deliveries\n  qualify admin webhooks deliveries \\\n      --partner 3f2c7a1e-5b1d-4c7e-9a4b-2f1d3c4b5a6e --limit 20 \\\n      --output json"
    )]
    Deliveries {
        /// Only this partner's events.
        #[arg(long, value_name = "TENANT_ID")]
        partner: Option<TenantId>,
        /// At most this many attempts.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        limit: u32,
    },
    /// Deliver an event again, from its first attempt (its delivery ended: delivered or given up).
    #[command(after_help = "Example:\n  qualify admin webhooks redeliver 42")]
    Redeliver {
        /// The delivery's job, as `deliveries` lists it.
        job: i64,
    },
}

/// Runs `command`.
pub(super) async fn run(
    admin: &Admin,
    command: WebhooksCommand,
    output: OutputFormat,
) -> anyhow::Result<()> {
    match command {
        WebhooksCommand::Deliveries { partner, limit } => {
            let attempts = admin.webhook_deliveries(partner, limit).await?;
            let listed: Vec<_> = attempts
                .iter()
                .map(|a| {
                    json!({
                        "job": a.job_id,
                        "eventId": a.event_id,
                        "event": a.event_name,
                        "partner": a.partner,
                        "url": a.url,
                        "attempt": a.attempt,
                        "at": a.at,
                        "statusCode": a.status_code,
                        "latencyMs": a.latency_ms,
                        "error": a.error,
                    })
                })
                .collect();
            let rows = attempts
                .iter()
                .map(|a| {
                    vec![
                        a.at.to_string(),
                        a.job_id.to_string(),
                        a.event_name.clone(),
                        a.partner.to_string(),
                        qualify_app::events::shown_url(&a.url),
                        a.attempt.to_string(),
                        a.status_code.map_or_else(|| "-".into(), |c| c.to_string()),
                        format!("{} ms", a.latency_ms),
                        a.error.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            show(
                output,
                &json!(listed),
                &[
                    "AT", "JOB", "EVENT", "PARTNER", "RECEIVER", "ATTEMPT", "STATUS", "LATENCY",
                    "ERROR",
                ],
                rows,
            )
        }
        WebhooksCommand::Redeliver { job } => {
            admin.redeliver(job).await?;
            show(
                output,
                &json!({ "job": job, "redelivered": true }),
                &["JOB"],
                vec![vec![job.to_string()]],
            )
        }
    }
}

//! `qualify review list|show|approve|deny`: the reviewers' work, from a terminal.

use clap::{Args, Subcommand};
use qualify_client::ReviewFilter;
use qualify_types::{CustomerId, Decision, VettingRequest, VettingRequestId, VettingStatus};

use super::connection::Connection;
use super::output::{cell, print};

/// `qualify review …`.
#[derive(Debug, Args)]
pub(crate) struct ReviewArgs {
    #[command(subcommand)]
    command: ReviewCommand,
    #[command(flatten)]
    connection: Connection,
}

#[derive(Debug, Subcommand)]
enum ReviewCommand {
    /// List vetting requests, oldest first.
    #[command(
        after_help = "Examples:\n  qualify review list --dev-identity operator --status InReview\n  # Decided by any vetting rule:\n  qualify review list --dev-identity operator --decided-by 'rule:*'"
    )]
    List {
        /// Only those in this state: InReview, Approved or Denied.
        #[arg(long)]
        status: Option<VettingStatus>,
        /// Only this customer's.
        #[arg(long, value_name = "ID")]
        customer: Option<CustomerId>,
        /// Only those decided by this reviewer or rule (rule:NAME); a trailing * matches every decider it starts (rule:*).
        #[arg(long, value_name = "WHO")]
        decided_by: Option<String>,
    },
    /// Show one vetting request.
    #[command(
        after_help = "Example:\n  qualify review show 6c1f0a9e-2b3d-4e5f-8a7b-9c0d1e2f3a4b \\\n      --dev-identity operator"
    )]
    Show {
        /// The vetting request's id.
        id: VettingRequestId,
    },
    /// Approve a vetting request.
    #[command(
        after_help = "Example:\n  qualify review approve 6c1f0a9e-2b3d-4e5f-8a7b-9c0d1e2f3a4b \\\n      --dev-identity operator"
    )]
    Approve {
        /// The vetting request's id.
        id: VettingRequestId,
    },
    /// Deny a vetting request, saying why (the partner reads the reason).
    #[command(
        after_help = "Example:\n  qualify review deny 6c1f0a9e-2b3d-4e5f-8a7b-9c0d1e2f3a4b \\\n      --dev-identity operator --reason 'Not an Education Customer'"
    )]
    Deny {
        /// The vetting request's id.
        id: VettingRequestId,
        /// Why, e.g. "Not an Education Customer".
        #[arg(long)]
        reason: String,
    },
}

const HEADERS: [&str; 7] = [
    "ID",
    "CUSTOMER",
    "DOMAIN",
    "QUALIFICATION",
    "STATUS",
    "CREATED",
    "DECIDED BY",
];

fn row(request: &VettingRequest) -> Vec<String> {
    vec![
        request.id.to_string(),
        request.customer_id.to_string(),
        request.customer_domain.clone(),
        match request.education_segment {
            Some(segment) => format!("{} ({segment})", request.qualification),
            None => request.qualification.to_string(),
        },
        match &request.vetting_reason {
            Some(reason) => format!("{}: {reason}", request.vetting_status),
            None => request.vetting_status.to_string(),
        },
        request.created_at.to_string(),
        cell(request.decided_by.as_ref()),
    ]
}

/// Runs a review command.
pub(crate) async fn run(args: ReviewArgs) -> anyhow::Result<()> {
    let client = args.connection.client(false)?;
    let output = args.connection.output();
    let one = |request: VettingRequest| print(output, &request, &HEADERS, vec![row(&request)]);
    match args.command {
        ReviewCommand::List {
            status,
            customer,
            decided_by,
        } => {
            let filter = ReviewFilter {
                status,
                customer_id: customer,
                decided_by,
                ..Default::default()
            };
            let requests = client.all_review_requests(&filter).await?;
            print(
                output,
                &requests,
                &HEADERS,
                requests.iter().map(row).collect(),
            )
        }
        ReviewCommand::Show { id } => one(client.review_request(id).await?),
        ReviewCommand::Approve { id } => one(client.decide(id, &Decision::approve()).await?),
        ReviewCommand::Deny { id, reason } => {
            one(client.decide(id, &Decision::deny(reason)).await?)
        }
    }
}

//! `qualify qualifications get|submit|wait`: a customer's qualifications, asking for one (with
//! `--wait` until the vetting ends), and waiting on one asked for earlier.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use qualify_client::{Client, ClientError, WaitOptions};
use qualify_types::{
    CustomerId, EducationSegment, Qualification, QualificationState, QualificationSubmission,
    VettingStatus,
};

use super::connection::{Connection, OutputFormat};
use super::output::{cell, note, print, rounded};

/// Exit status when `--wait` ends with a denial.
pub(crate) const EXIT_DENIED: u8 = 3;
/// Exit status when `--wait` reaches its timeout.
pub(crate) const EXIT_TIMEOUT: u8 = 4;

/// `qualify qualifications …`.
#[derive(Debug, Args)]
pub(crate) struct QualificationsArgs {
    #[command(subcommand)]
    command: QualificationsCommand,
    #[command(flatten)]
    connection: Connection,
}

#[derive(Debug, Subcommand)]
enum QualificationsCommand {
    /// Show a customer's qualifications, each with the state of its latest vetting request.
    #[command(
        after_help = "Example:\n  qualify qualifications get 3f2c7a1e-5b1d-4c7e-9a4b-2f1d3c4b5a6e \\\n      --dev-identity partner-a"
    )]
    Get {
        /// The customer's id.
        customer: CustomerId,
    },
    /// Submit a qualification for vetting; with --wait, wait for the decision.
    #[command(
        after_help = "Exit status with --wait: 0 Approved, 3 Denied (the reason is printed),\n4 timed out.\n\nExample:\n  qualify qualifications submit 3f2c7a1e-5b1d-4c7e-9a4b-2f1d3c4b5a6e \\\n      --dev-identity partner-a --qualification Education --segment K12 \\\n      --wait --timeout 10m"
    )]
    Submit {
        /// The customer's id.
        customer: CustomerId,
        /// Education, GovernmentCommunityCloud or StateOwnedEntity (any casing).
        #[arg(long, value_name = "QUALIFICATION")]
        qualification: Qualification,
        /// K12 or HigherEducation (Education only).
        #[arg(long, value_name = "SEGMENT")]
        segment: Option<EducationSegment>,
        /// The school's web site (Education only).
        #[arg(long, value_name = "URL")]
        website: Option<String>,
        /// One of your GCC validation codes (GovernmentCommunityCloud only).
        #[arg(long, value_name = "CODE")]
        validation_code: Option<String>,
        /// Wait until the vetting is decided.
        #[arg(long)]
        wait: bool,
        /// How long --wait waits, e.g. 90s, 10m.
        #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = humantime::parse_duration)]
        timeout: Duration,
    },
    /// Wait until a qualification submitted earlier is decided (after a --wait that timed out,
    /// or a submission made elsewhere).
    #[command(
        after_help = "Exit status: 0 Approved, 3 Denied (the reason is printed), 4 timed out.\n\nExample:\n  qualify qualifications wait 3f2c7a1e-5b1d-4c7e-9a4b-2f1d3c4b5a6e \\\n      --dev-identity partner-a --qualification Education --timeout 1h"
    )]
    Wait {
        /// The customer's id.
        customer: CustomerId,
        /// The qualification submitted: Education, GovernmentCommunityCloud or StateOwnedEntity.
        #[arg(long, value_name = "QUALIFICATION")]
        qualification: Qualification,
        /// How long to wait, e.g. 90s, 10m.
        #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = humantime::parse_duration)]
        timeout: Duration,
    },
}

const HEADERS: [&str; 4] = ["QUALIFICATION", "STATUS", "REASON", "CREATED"];

fn row(state: &QualificationState) -> Vec<String> {
    vec![
        state.qualification.to_string(),
        state.vetting_status.to_string(),
        cell(state.vetting_reason.as_ref()),
        cell(state.vetting_created_date),
    ]
}

/// Runs a qualifications command; its exit status says how a `--wait` ended.
pub(crate) async fn run(args: QualificationsArgs) -> anyhow::Result<ExitCode> {
    let output = args.connection.output();
    match args.command {
        QualificationsCommand::Get { customer } => {
            let states = args
                .connection
                .client(false)?
                .qualifications(customer)
                .await?;
            print(output, &states, &HEADERS, states.iter().map(row).collect())?;
            Ok(ExitCode::SUCCESS)
        }
        QualificationsCommand::Submit {
            customer,
            qualification,
            segment,
            website,
            validation_code,
            wait,
            timeout,
        } => {
            let client = args.connection.client(false)?;
            let submission = QualificationSubmission {
                qualification,
                education_segment: segment,
                website,
                validation_code,
            };
            let submitted = client.submit_qualification(customer, &submission).await?;
            if !wait {
                let state = QualificationState {
                    qualification: submitted.qualification,
                    vetting_status: submitted.vetting_status,
                    vetting_reason: None,
                    vetting_created_date: Some(submitted.vetting_create_date),
                };
                print(output, &submitted, &HEADERS, vec![row(&state)])?;
                return Ok(ExitCode::SUCCESS);
            }
            let waiting = Waiting {
                customer,
                qualification,
                timeout,
            };
            wait_for(&client, &waiting, &args.connection, output).await
        }
        QualificationsCommand::Wait {
            customer,
            qualification,
            timeout,
        } => {
            let client = args.connection.client(false)?;
            let waiting = Waiting {
                customer,
                qualification,
                timeout,
            };
            wait_for(&client, &waiting, &args.connection, output).await
        }
    }
}

/// What a `--wait` waits for.
struct Waiting {
    customer: CustomerId,
    qualification: Qualification,
    timeout: Duration,
}

impl Waiting {
    /// The command that waits again for the same decision, with the same server and caller
    /// (`connection`), ready to paste.
    fn again(&self, connection: &Connection) -> String {
        format!(
            "qualify qualifications wait {} --qualification {} --timeout {} {}",
            self.customer,
            self.qualification,
            humantime::format_duration(self.timeout),
            connection.repeated()
        )
    }
}

/// Waits until the customer's `qualification` is decided, prints its state, and says how the
/// wait ended in the exit status.
async fn wait_for(
    client: &Client,
    waiting: &Waiting,
    connection: &Connection,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let &Waiting {
        customer,
        qualification,
        timeout,
    } = waiting;
    let spinner = spinner(qualification);
    let options = WaitOptions {
        timeout,
        ..WaitOptions::default()
    };
    let outcome = client
        .wait_for_vetting(customer, qualification, options)
        .await;
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    match outcome {
        Ok(state) => {
            print(output, &state, &HEADERS, vec![row(&state)])?;
            if state.vetting_status == VettingStatus::Denied {
                note(&format!(
                    "denied: {}",
                    state.vetting_reason.as_deref().unwrap_or("no reason given")
                ));
                return Ok(ExitCode::from(EXIT_DENIED));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(ClientError::VettingTimeout { waited, .. }) => {
            note(&format!(
                "timed out: {qualification} still in review after {}; wait again with:\n  {}",
                rounded(waited),
                waiting.again(connection)
            ));
            Ok(ExitCode::from(EXIT_TIMEOUT))
        }
        Err(error) => Err(error.into()),
    }
}

/// A spinner with the elapsed time, on a terminal only.
fn spinner(qualification: Qualification) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let spinner = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
        spinner.set_style(style);
    }
    spinner.set_message(format!("{qualification} in review…"));
    spinner.enable_steady_tick(Duration::from_millis(120));
    Some(spinner)
}

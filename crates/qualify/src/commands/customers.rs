//! `qualify customers create|list|show`: the partner's customers.

use clap::{Args, Subcommand};
use qualify_types::{
    Address, BillingProfile, CompanyProfile, Customer, CustomerFilter, CustomerId,
    CustomerSearchField, NewCustomer, TenantId,
};

use super::connection::Connection;
use super::output::{cell, print};

/// `qualify customers …`.
#[derive(Debug, Args)]
pub(crate) struct CustomersArgs {
    #[command(subcommand)]
    command: CustomersCommand,
    #[command(flatten)]
    connection: Connection,
}

#[derive(Debug, Subcommand)]
enum CustomersCommand {
    /// Create a customer.
    #[command(
        after_help = "Example:\n  qualify customers create --dev-identity partner-a \\\n      --domain school.onmicrosoft.com --name 'Contoso School'"
    )]
    Create {
        /// The customer's domain, e.g. contoso.onmicrosoft.com.
        #[arg(long)]
        domain: String,
        /// The company's name.
        #[arg(long)]
        name: String,
        /// Billing e-mail.
        #[arg(long)]
        email: Option<String>,
        /// Two-letter country code, e.g. US.
        #[arg(long)]
        country: Option<String>,
        /// The indirect reseller it is for (an indirect provider's customer), its tenant id.
        #[arg(long, value_name = "TENANT_ID")]
        reseller: Option<TenantId>,
    },
    /// List the partner's customers (every page), or find them with Partner Center's search.
    #[command(
        after_help = "Examples:\n  qualify customers list --dev-identity partner-a --output json\n  qualify customers list --dev-identity partner-a --domain school\n  qualify customers list --dev-identity partner-a --company 'contoso sch'"
    )]
    List {
        /// Only those whose domain starts with this, in any case.
        #[arg(long, value_name = "PREFIX", conflicts_with_all = ["company", "reseller"])]
        domain: Option<String>,
        /// Only those whose company name starts with this, in any case.
        #[arg(long, value_name = "PREFIX", conflicts_with = "reseller")]
        company: Option<String>,
        /// Only those of the indirect reseller whose tenant id starts with this.
        #[arg(long, value_name = "PREFIX")]
        reseller: Option<String>,
    },
    /// Show one customer.
    #[command(
        after_help = "Example:\n  qualify customers show 3f2c7a1e-5b1d-4c7e-9a4b-2f1d3c4b5a6e \\\n      --dev-identity partner-a"
    )]
    Show {
        /// The customer's id.
        id: CustomerId,
    },
}

const HEADERS: [&str; 4] = ["ID", "DOMAIN", "NAME", "COUNTRY"];

fn row(customer: &Customer) -> Vec<String> {
    vec![
        customer.id.to_string(),
        customer.company_profile.domain.clone(),
        cell(customer.company_profile.company_name.as_ref()),
        cell(
            customer
                .billing_profile
                .default_address
                .as_ref()
                .and_then(|a| a.country.as_ref()),
        ),
    ]
}

/// Runs a customers command.
pub(crate) async fn run(args: CustomersArgs) -> anyhow::Result<()> {
    let client = args.connection.client(false)?;
    let output = args.connection.output();
    match args.command {
        CustomersCommand::Create {
            domain,
            name,
            email,
            country,
            reseller,
        } => {
            let customer = NewCustomer {
                company_profile: CompanyProfile {
                    domain,
                    ..Default::default()
                },
                billing_profile: BillingProfile {
                    company_name: Some(name),
                    email,
                    default_address: country.map(|country| Address {
                        country: Some(country),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                associated_partner_id: reseller,
            };
            let created = client.create_customer_with(&customer).await?;
            print(output, &created, &HEADERS, vec![row(&created)])
        }
        CustomersCommand::List {
            domain,
            company,
            reseller,
        } => {
            let search = [
                (CustomerSearchField::Domain, domain),
                (CustomerSearchField::CompanyName, company),
                (CustomerSearchField::IndirectReseller, reseller),
            ]
            .into_iter()
            .find_map(|(field, prefix)| prefix.map(|p| CustomerFilter::starts_with(field, p)));
            let customers = match search {
                Some(filter) => client.search_customers(&filter).await?,
                None => client.all_customers().await?,
            };
            print(
                output,
                &customers,
                &HEADERS,
                customers.iter().map(row).collect(),
            )
        }
        CustomersCommand::Show { id } => {
            let customer = client.customer(id).await?;
            print(output, &customer, &HEADERS, vec![row(&customer)])
        }
    }
}

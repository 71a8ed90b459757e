//! `qualify admin …`: operators manage partners, applications, users, reviewers and signing
//! keys directly in the database (so it works before any server is up, and running servers see
//! the change on their next request), through `qualify_app::admin`, which holds the rules and
//! writes each change with its audit record (which `qualify admin audit` reads). Generated secrets and passwords are printed once and
//! stored only as slow hashes.

use std::io::Write;

use anyhow::Context;
use clap::{Args, Subcommand};
use qualify_app::admin::Admin;
use qualify_app::{Clock, Settings};
use qualify_store::{Store, TenantKind};
use qualify_types::TenantId;
use serde_json::{Value, json};
use uuid::Uuid;

mod audit;
mod jobs;
mod webhooks;

use super::connection::OutputFormat;
use super::output::print;
use crate::config::ConfigArgs;

/// `qualify admin …`.
#[derive(Debug, Args)]
pub(crate) struct AdminArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Output format: json prints one JSON object (or array, for lists) [default: table on a terminal, json otherwise].
    #[arg(
        long,
        global = true,
        env = "QUALIFY_OUTPUT",
        value_enum,
        value_name = "FORMAT"
    )]
    output: Option<OutputFormat>,
    /// The same as --output json (kept for scripts written before --output).
    #[arg(long, global = true, hide = true)]
    json: bool,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Partners: tenants whose users and apps submit customers.
    #[command(
        subcommand,
        after_help = "Examples:\n  qualify admin partners create --name 'Contoso Partner'\n  qualify admin partners list"
    )]
    Partners(PartnersCommand),
    /// Applications (client id and secret) of a tenant.
    #[command(
        subcommand,
        after_help = "Example:\n  qualify admin apps create --tenant 3f2c7a1e-5b1d-4c7e-9a4b-2f1d3c4b5a6e \\\n      --name 'Billing sync'"
    )]
    Apps(AppsCommand),
    /// Users of a tenant (App+User sign-in).
    #[command(
        subcommand,
        after_help = "Example:\n  qualify admin users create --tenant 3f2c7a1e-5b1d-4c7e-9a4b-2f1d3c4b5a6e \\\n      --username admin@contoso-partner.com"
    )]
    Users(UsersCommand),
    /// Reviewers: users of the operator tenant who decide vetting requests.
    #[command(
        subcommand,
        after_help = "Example:\n  qualify admin reviewers create --username ana@vetting.example"
    )]
    Reviewers(ReviewersCommand),
    /// The token issuer's signing keys.
    #[command(subcommand, after_help = "Example:\n  qualify admin keys rotate")]
    Keys(KeysCommand),
    /// GCC validation codes issued to partners.
    #[command(
        subcommand,
        after_help = "Example:\n  qualify admin validation-codes list"
    )]
    ValidationCodes(ValidationCodesCommand),
    /// The audit trail: every partner's records and the operator's own, naming who acted.
    Audit(audit::AuditArgs),
    /// Deliveries of events, to partners' receivers and the operator's webhooks: each attempt, and redelivery.
    #[command(
        subcommand,
        after_help = "Example:\n  qualify admin webhooks deliveries --limit 20"
    )]
    Webhooks(webhooks::WebhooksCommand),
    /// Background work: what each lane holds and how long its oldest due job has waited, receivers backed off after failing, and how late decisions ran in the last ten minutes.
    #[command(after_help = "Examples:\n  qualify admin jobs\n  qualify admin jobs --output json")]
    Jobs,
}

#[derive(Debug, Subcommand)]
enum ValidationCodesCommand {
    /// Issue a GCC validation code to a partner; prints the code.
    #[command(
        after_help = "Example:\n  qualify admin validation-codes create \\\n      --tenant 3f2c7a1e-5b1d-4c7e-9a4b-2f1d3c4b5a6e \\\n      --organization 'City of Contoso' --max-creates 5"
    )]
    Create {
        /// The partner it is issued to.
        #[arg(long, value_name = "TENANT_ID")]
        tenant: TenantId,
        /// The government organisation it is for.
        #[arg(long, value_name = "NAME")]
        organization: String,
        /// How many customers it may qualify.
        #[arg(long, value_name = "N")]
        max_creates: u32,
        /// The code [default: a new six-digit one].
        #[arg(long)]
        code: Option<String>,
    },
    /// List validation codes with their remaining creates.
    #[command(
        after_help = "Example:\n  qualify admin validation-codes list \\\n      --tenant 3f2c7a1e-5b1d-4c7e-9a4b-2f1d3c4b5a6e"
    )]
    List {
        /// Only this partner's.
        #[arg(long, value_name = "TENANT_ID")]
        tenant: Option<TenantId>,
    },
}

#[derive(Debug, Subcommand)]
enum PartnersCommand {
    /// Create a partner; prints its tenant id.
    #[command(
        after_help = "Example:\n  qualify admin partners create --name 'Contoso Partner'\n  # With the partner's Entra tenant id as its id:\n  qualify admin partners create --name Contoso \\\n      --id 3f2c7a1e-5b1d-4c7e-9a4b-2f1d3c4b5a6e"
    )]
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
        /// The partner's tenant id (its Microsoft Entra tenant, to accept its Entra tokens) [default: a new one].
        #[arg(long, value_name = "TENANT_ID")]
        id: Option<TenantId>,
    },
    /// List partners.
    #[command(after_help = "Example:\n  qualify admin partners list --output json")]
    List,
    /// Disable a partner: its tokens are refused from the next request on.
    #[command(
        after_help = "Example:\n  qualify admin partners disable 3f2c7a1e-5b1d-4c7e-9a4b-2f1d3c4b5a6e"
    )]
    Disable {
        /// The partner's tenant id.
        tenant_id: TenantId,
    },
}

#[derive(Debug, Subcommand)]
enum AppsCommand {
    /// Register an application; prints its client id and a generated secret (shown once).
    #[command(
        after_help = "Example:\n  qualify admin apps create --tenant 3f2c7a1e-5b1d-4c7e-9a4b-2f1d3c4b5a6e \\\n      --name 'Billing sync'"
    )]
    Create {
        /// The tenant it belongs to.
        #[arg(long, value_name = "TENANT_ID")]
        tenant: TenantId,
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// List applications (of one tenant, or all).
    #[command(
        after_help = "Example:\n  qualify admin apps list --tenant 3f2c7a1e-5b1d-4c7e-9a4b-2f1d3c4b5a6e"
    )]
    List {
        /// Only this tenant's.
        #[arg(long, value_name = "TENANT_ID")]
        tenant: Option<TenantId>,
    },
    /// Disable an application: no more tokens, and its tokens are refused from the next request on.
    #[command(
        after_help = "Example:\n  qualify admin apps disable 6c1f0a9e-2b3d-4e5f-8a7b-9c0d1e2f3a4b"
    )]
    Disable {
        /// The application's client id.
        client_id: Uuid,
    },
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Create a user; prints a generated password (shown once).
    #[command(
        after_help = "Example:\n  qualify admin users create --tenant 3f2c7a1e-5b1d-4c7e-9a4b-2f1d3c4b5a6e \\\n      --username ops@contoso.com"
    )]
    Create {
        /// The tenant it belongs to.
        #[arg(long, value_name = "TENANT_ID")]
        tenant: TenantId,
        /// Sign-in name.
        #[arg(long)]
        username: String,
    },
    /// Disable a user: sign-in refused, refresh tokens revoked, tokens refused from the next request on.
    #[command(after_help = "Example:\n  qualify admin users disable ops@contoso.com")]
    Disable {
        /// Sign-in name.
        username: String,
    },
}

#[derive(Debug, Subcommand)]
enum ReviewersCommand {
    /// Create a reviewer in the operator tenant (creating the tenant and its app if needed).
    #[command(
        after_help = "Example:\n  qualify admin reviewers create --username alice@vetting.example.com"
    )]
    Create {
        /// Sign-in name.
        #[arg(long)]
        username: String,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Make a new key sign tokens; the old one keeps verifying until its tokens expire.
    #[command(
        after_help = "Examples:\n  qualify admin keys rotate\n  qualify admin keys rotate --key-encryption-key-file /etc/qualify/kek"
    )]
    Rotate {
        /// The key-encryption key the server runs with (--key-encryption-key-file of serve): seals the new key, and opens the stored ones [when unset: the settings' key_encryption_key_file].
        #[arg(long, value_name = "FILE")]
        key_encryption_key_file: Option<std::path::PathBuf>,
    },
}

/// Who the audit trail names for these commands: the operating system's user.
#[allow(clippy::disallowed_methods)] // the binary may read its environment
fn actor() -> String {
    format!(
        "admin-cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

/// Prints the outcome: a table, or the JSON value.
fn show(
    output: OutputFormat,
    value: &Value,
    headers: &[&str],
    rows: Vec<Vec<String>>,
) -> anyhow::Result<()> {
    print(output, value, headers, rows)
}

impl AdminArgs {
    /// The output format, chosen as the client commands choose theirs.
    fn output(&self) -> OutputFormat {
        if self.json {
            return OutputFormat::Json;
        }
        self.output.unwrap_or_else(OutputFormat::for_stdout)
    }
}

/// Runs an admin command.
pub(crate) async fn run(args: AdminArgs) -> anyhow::Result<()> {
    let settings = args.config.load()?;
    let store = Store::connect(&settings.store.options())
        .await
        .context("opening the database")?;
    let admin = Admin::new(store.clone(), Clock::wall(), actor());
    let output = args.output();
    let outcome = command(&admin, &settings, args.command, output).await;
    store.close().await;
    outcome
}

async fn command(
    admin: &Admin,
    settings: &Settings,
    command: AdminCommand,
    output: OutputFormat,
) -> anyhow::Result<()> {
    let store = admin.store();
    match command {
        AdminCommand::Partners(PartnersCommand::Create { name, id }) => {
            let id = admin.create_partner(&name, id).await?;
            show(
                output,
                &json!({ "tenantId": id, "name": name }),
                &["TENANT ID", "NAME"],
                vec![vec![id.to_string(), name]],
            )
        }
        AdminCommand::Partners(PartnersCommand::List) => {
            let partners = store.list_tenants(Some(TenantKind::Partner)).await?;
            let value: Vec<Value> = partners
                .iter()
                .map(|t| json!({ "tenantId": t.id, "name": t.name, "disabled": t.disabled, "dev": t.dev }))
                .collect();
            let rows = partners
                .iter()
                .map(|t| vec![t.id.to_string(), t.name.clone(), state(t.disabled)])
                .collect();
            show(output, &json!(value), &["TENANT ID", "NAME", "STATE"], rows)
        }
        AdminCommand::Partners(PartnersCommand::Disable { tenant_id }) => {
            admin.disable_partner(tenant_id).await?;
            show(
                output,
                &json!({ "tenantId": tenant_id, "disabled": true }),
                &["TENANT ID", "STATE"],
                vec![vec![tenant_id.to_string(), state(true)]],
            )
        }
        AdminCommand::Apps(AppsCommand::Create { tenant, name }) => {
            let app = admin.create_app(tenant, &name).await?;
            let value = json!({ "tenantId": tenant, "clientId": app.client_id, "clientSecret": app.client_secret, "name": name });
            show(
                output,
                &value,
                &["TENANT ID", "CLIENT ID", "CLIENT SECRET (shown once)"],
                vec![vec![
                    tenant.to_string(),
                    app.client_id.to_string(),
                    app.client_secret,
                ]],
            )
        }
        AdminCommand::Apps(AppsCommand::List { tenant }) => {
            let apps = store.list_apps(tenant).await?;
            let value: Vec<Value> = apps
                .iter()
                .map(|a| json!({ "tenantId": a.tenant_id, "clientId": a.client_id, "name": a.name, "disabled": a.disabled }))
                .collect();
            let rows = apps
                .iter()
                .map(|a| {
                    vec![
                        a.client_id.to_string(),
                        a.tenant_id.to_string(),
                        a.name.clone(),
                        state(a.disabled),
                    ]
                })
                .collect();
            show(
                output,
                &json!(value),
                &["CLIENT ID", "TENANT ID", "NAME", "STATE"],
                rows,
            )
        }
        AdminCommand::Apps(AppsCommand::Disable { client_id }) => {
            admin.disable_app(client_id).await?;
            show(
                output,
                &json!({ "clientId": client_id, "disabled": true }),
                &["CLIENT ID", "STATE"],
                vec![vec![client_id.to_string(), state(true)]],
            )
        }
        AdminCommand::Users(UsersCommand::Create { tenant, username }) => {
            let password = admin.create_user(tenant, &username).await?;
            let value = json!({ "tenantId": tenant, "username": username.to_lowercase(), "password": password });
            show(
                output,
                &value,
                &["TENANT ID", "USERNAME", "PASSWORD (shown once)"],
                vec![vec![tenant.to_string(), username.to_lowercase(), password]],
            )
        }
        AdminCommand::Users(UsersCommand::Disable { username }) => {
            admin.disable_user(&username).await?;
            show(
                output,
                &json!({ "username": username.to_lowercase(), "disabled": true }),
                &["USERNAME", "STATE"],
                vec![vec![username.to_lowercase(), state(true)]],
            )
        }
        AdminCommand::Reviewers(ReviewersCommand::Create { username }) => {
            let reviewer = admin.create_reviewer(&username).await?;
            let mut value = json!({ "tenantId": reviewer.tenant_id, "clientId": reviewer.client_id, "username": reviewer.username, "password": reviewer.password });
            if let Some(secret) = &reviewer.client_secret {
                value["clientSecret"] = json!(secret);
            }
            let row = vec![
                reviewer.tenant_id.to_string(),
                reviewer.client_id.to_string(),
                reviewer
                    .client_secret
                    .unwrap_or_else(|| "(existing app)".into()),
                reviewer.username,
                reviewer.password,
            ];
            let _ = writeln!(std::io::stderr(), "Secrets are shown once; store them now.");
            show(
                output,
                &value,
                &[
                    "OPERATOR TENANT",
                    "CLIENT ID",
                    "CLIENT SECRET",
                    "USERNAME",
                    "PASSWORD",
                ],
                vec![row],
            )
        }
        AdminCommand::ValidationCodes(ValidationCodesCommand::Create {
            tenant,
            organization,
            max_creates,
            code,
        }) => {
            let code = admin
                .issue_validation_code(tenant, &organization, max_creates, code.as_deref())
                .await?
                .validation_id;
            let value = json!({ "tenantId": tenant, "validationId": code, "organizationName": organization, "maxCreates": max_creates });
            show(
                output,
                &value,
                &[
                    "TENANT ID",
                    "VALIDATION CODE",
                    "ORGANIZATION",
                    "MAX CREATES",
                ],
                vec![vec![
                    tenant.to_string(),
                    code,
                    organization,
                    max_creates.to_string(),
                ]],
            )
        }
        AdminCommand::ValidationCodes(ValidationCodesCommand::List { tenant }) => {
            let codes = store.validation_codes(tenant).await?;
            let value: Vec<Value> = codes
                .iter()
                .map(|c| json!({ "tenantId": c.partner_tenant_id, "validationId": c.validation_id, "organizationName": c.organization_name, "maxCreates": c.max_creates, "remainingCreates": c.remaining_creates }))
                .collect();
            let rows = codes
                .iter()
                .map(|c| {
                    vec![
                        c.partner_tenant_id.to_string(),
                        c.validation_id.clone(),
                        c.organization_name.clone(),
                        c.max_creates.to_string(),
                        c.remaining_creates.to_string(),
                    ]
                })
                .collect();
            show(
                output,
                &json!(value),
                &[
                    "TENANT ID",
                    "VALIDATION CODE",
                    "ORGANIZATION",
                    "MAX",
                    "REMAINING",
                ],
                rows,
            )
        }
        AdminCommand::Audit(args) => audit::run(admin, args, output).await,
        AdminCommand::Webhooks(command) => webhooks::run(admin, command, output).await,
        AdminCommand::Jobs => jobs::run(admin, output).await,
        AdminCommand::Keys(KeysCommand::Rotate {
            key_encryption_key_file,
        }) => {
            // The flag, or the file the settings name (as the servers' own).
            let kek = key_encryption_key_file
                .as_deref()
                .or(settings.identity.key_encryption_key_file.as_deref())
                .map(qualify_app::identity::KeyEncryptionKey::from_file)
                .transpose()?;
            let kid = admin.rotate_signing_key(kek.as_ref()).await?;
            show(
                output,
                &json!({ "kid": kid }),
                &["NEW SIGNING KEY (kid)"],
                vec![vec![kid]],
            )
        }
    }
}

fn state(disabled: bool) -> String {
    if disabled {
        "disabled".into()
    } else {
        "enabled".into()
    }
}

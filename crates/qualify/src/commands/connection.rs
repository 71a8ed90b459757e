//! The flags every client command shares: which server, who is calling, and how to print.

use std::io::IsTerminal;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use qualify_client::{Client, Credentials};
use qualify_types::dev;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// Aligned columns, for people.
    Table,
    /// JSON, for scripts.
    Json,
}

/// Which well-known development identity to act as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DevIdentityName {
    /// Partner A.
    PartnerA,
    /// Partner B.
    PartnerB,
    /// The operator's reviewer.
    Operator,
}

/// Connection and identity flags, each also read from a `QUALIFY_*` variable. Listed under
/// their own headings in `--help`, after the command's own options, which are what a reader
/// came for.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Connection")]
pub(crate) struct Connection {
    /// The server's URL.
    #[arg(
        long,
        global = true,
        env = "QUALIFY_SERVER",
        default_value = "http://127.0.0.1:8080",
        value_name = "URL"
    )]
    server: String,
    /// The caller's tenant id.
    #[arg(long, global = true, env = "QUALIFY_TENANT", value_name = "TENANT_ID")]
    tenant: Option<String>,
    /// The application's client id.
    #[arg(long, global = true, env = "QUALIFY_CLIENT_ID", value_name = "ID")]
    client_id: Option<String>,
    /// The application's secret.
    #[arg(
        long,
        global = true,
        env = "QUALIFY_CLIENT_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    client_secret: Option<String>,
    /// A user's sign-in name, for an App+User token.
    #[arg(long, global = true, env = "QUALIFY_USERNAME", value_name = "NAME")]
    username: Option<String>,
    /// The user's password.
    #[arg(
        long,
        global = true,
        env = "QUALIFY_PASSWORD",
        value_name = "PASSWORD",
        hide_env_values = true
    )]
    password: Option<String>,
    /// An access token to send as is (e.g. one from Microsoft Entra ID) instead of credentials.
    #[arg(
        long,
        global = true,
        env = "QUALIFY_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    token: Option<String>,
    /// Act as a well-known development identity (a server running with --dev).
    #[arg(
        long,
        global = true,
        env = "QUALIFY_DEV_IDENTITY",
        value_enum,
        value_name = "WHO"
    )]
    dev_identity: Option<DevIdentityName>,
    /// Output format [default: table on a terminal, json otherwise].
    #[arg(
        long,
        global = true,
        help_heading = "Output",
        env = "QUALIFY_OUTPUT",
        value_enum,
        value_name = "FORMAT"
    )]
    output: Option<OutputFormat>,
}

/// `text` quoted for a POSIX shell when it needs to be (`'Contoso School'`), as is otherwise.
pub(crate) fn quoted(text: &str) -> String {
    shlex::try_quote(text).map_or_else(|_| format!("'{text}'"), |q| q.into_owned())
}

impl OutputFormat {
    /// The format when none is asked for: a table for a person at a terminal, JSON for a
    /// program reading a pipe.
    pub(crate) fn for_stdout() -> Self {
        if std::io::stdout().is_terminal() {
            Self::Table
        } else {
            Self::Json
        }
    }
}

impl Connection {
    /// The output format.
    pub(crate) fn output(&self) -> OutputFormat {
        self.output.unwrap_or_else(OutputFormat::for_stdout)
    }

    /// The credentials the flags describe; App-only when `app_only` or when no user is given.
    pub(crate) fn credentials(&self, app_only: bool) -> anyhow::Result<Credentials> {
        if let Some(token) = &self.token {
            return Ok(Credentials::Token(token.clone()));
        }
        let identity = self.dev_identity.map(|name| match name {
            DevIdentityName::PartnerA => dev::PARTNER_A,
            DevIdentityName::PartnerB => dev::PARTNER_B,
            DevIdentityName::Operator => dev::OPERATOR,
        });
        let pick = |flag: &Option<String>, from_identity: fn(&dev::DevIdentity) -> &'static str| {
            flag.clone()
                .or_else(|| identity.as_ref().map(|i| from_identity(i).to_owned()))
        };
        let (Some(tenant), Some(client_id), Some(client_secret)) = (
            pick(&self.tenant, |i| i.tenant_id),
            pick(&self.client_id, |i| i.client_id),
            pick(&self.client_secret, |i| i.client_secret),
        ) else {
            bail!(
                "no credentials: pass --dev-identity partner-a|partner-b|operator, or --tenant, --client-id and --client-secret (or QUALIFY_TENANT, QUALIFY_CLIENT_ID, QUALIFY_CLIENT_SECRET), or --token"
            );
        };
        let tenant = tenant
            .parse()
            .with_context(|| format!("--tenant '{tenant}' is not a tenant id (a GUID)"))?;
        let user = pick(&self.username, |i| i.username).zip(pick(&self.password, |i| i.password));
        Ok(match user {
            Some((username, password)) if !app_only => Credentials::User {
                tenant,
                client_id,
                client_secret,
                username,
                password,
            },
            _ => Credentials::App {
                tenant,
                client_id,
                client_secret,
            },
        })
    }

    /// These flags as a command line would repeat them, for a hint a person pastes: the server
    /// and who is calling, each value quoted for the shell. Secrets (`--client-secret`,
    /// `--password`, `--token`) are never printed; given as variables, as recommended, they
    /// still apply when the hint is run in the same shell.
    pub(crate) fn repeated(&self) -> String {
        let mut flags: Vec<(&str, String)> = vec![("--server", self.server.clone())];
        if let Some(name) = self.dev_identity.and_then(|n| n.to_possible_value()) {
            flags.push(("--dev-identity", name.get_name().to_owned()));
        }
        for (flag, value) in [
            ("--tenant", &self.tenant),
            ("--client-id", &self.client_id),
            ("--username", &self.username),
        ] {
            if let Some(value) = value {
                flags.push((flag, value.clone()));
            }
        }
        flags
            .into_iter()
            .map(|(flag, value)| format!("{flag} {}", quoted(&value)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A client of the server with these credentials, sharing its tokens with the command
    /// line's other runs (`token_store.rs`).
    pub(crate) fn client(&self, app_only: bool) -> anyhow::Result<Client> {
        let mut builder = Client::builder(&self.server)?.credentials(self.credentials(app_only)?);
        if let Some(store) = super::token_store::FileTokenStore::for_this_user() {
            builder = builder.token_store(std::sync::Arc::new(store));
        }
        Ok(builder.build()?)
    }
}

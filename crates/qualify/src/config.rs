//! Loading the [`Settings`], layered: their defaults, then the config file (`--config` or
//! `QUALIFY_CONFIG`, TOML), then `QUALIFY_*` environment variables, then flags. Every command
//! that works on the database (`serve`, `admin`, `migrate`, `backup`, `restore`) loads them
//! here, from its [`ConfigArgs`] and its own flags, so `--config`, the variables and
//! `--database` mean the same everywhere. The keys are the fields of `qualify_app::Settings`,
//! and `--help` shows their defaults from `Settings::default()` ([`with_defaults`]), never from
//! text copied into a flag's help. Loading reads files and the environment but changes nothing.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use qualify_app::Settings;
use qualify_store::DatabaseUrl;
use serde::Serialize;

/// Where a command's settings come from besides its own flags. Flattened into each command
/// that works on the database.
#[derive(Debug, Clone, Args, Serialize)]
pub(crate) struct ConfigArgs {
    /// TOML config file (the keys of `qualify serve --help`, with underscores).
    #[arg(long, global = true, env = "QUALIFY_CONFIG", value_name = "FILE")]
    #[serde(skip)]
    pub(crate) config: Option<PathBuf>,
    /// Database: sqlite:///path/file.db, a file path, or postgres://….
    #[arg(long, global = true, value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) database: Option<DatabaseFlag>,
}

impl ConfigArgs {
    /// The settings these name, with no other flag given.
    pub(crate) fn load(&self) -> anyhow::Result<Settings> {
        load(self.config.as_deref(), self)
    }
}

/// `--database` as given. It is checked with the other settings (a URL Qualify can't use is a
/// startup error, not a usage error), and printed without its password.
#[derive(Clone, Serialize)]
#[serde(transparent)]
pub(crate) struct DatabaseFlag(String);

impl From<String> for DatabaseFlag {
    fn from(url: String) -> Self {
        Self(url)
    }
}

impl std::fmt::Debug for DatabaseFlag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.parse::<DatabaseUrl>() {
            Ok(url) => write!(f, "{url}"),
            Err(_) => f.write_str("<not a database URL>"),
        }
    }
}

/// `command`, with every flag that is a settings key (`--job-workers` for `job_workers`)
/// showing its default in `--help`, as `Settings::default()` has it: one source for defaults.
/// A setting whose default is absent (an option) says in its own help what that means.
pub(crate) fn with_defaults(command: clap::Command) -> clap::Command {
    let defaults = Settings::default().defaults();
    add_defaults(command, &defaults)
}

fn add_defaults(
    mut command: clap::Command,
    defaults: &std::collections::BTreeMap<String, serde_json::Value>,
) -> clap::Command {
    // Switches (`--dev`) are off unless given: no default to show.
    let ids: Vec<String> = command
        .get_arguments()
        .filter(|arg| arg.get_action().takes_values())
        .map(|arg| arg.get_id().to_string())
        .collect();
    for id in ids {
        let shown = match defaults.get(&id.replace('-', "_")) {
            Some(serde_json::Value::String(text)) => text.clone(),
            Some(serde_json::Value::Array(items)) if !items.is_empty() => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map_or_else(|| item.to_string(), str::to_owned)
                })
                .collect::<Vec<_>>()
                .join(","),
            Some(value @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => {
                value.to_string()
            }
            _ => continue,
        };
        command = command.mut_arg(id, |arg| {
            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            arg.help(format!("{help} [default: {shown}]"))
        });
    }
    let names: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .collect();
    for name in names {
        command = command.mut_subcommand(name, |sub| add_defaults(sub, defaults));
    }
    command
}

/// Layers the sources; `flags` holds only the flags given on the command line, under their
/// keys. The settings are checked before they are returned.
pub(crate) fn load(file: Option<&Path>, flags: &impl Serialize) -> anyhow::Result<Settings> {
    let mut figment = Figment::new();
    if let Some(file) = file {
        anyhow::ensure!(
            file.exists(),
            "the config file {} does not exist",
            file.display()
        );
        figment = figment.merge(Toml::file(file));
    }
    let keys = Settings::keys();
    // Other QUALIFY_* variables belong to the client commands (QUALIFY_SERVER, …).
    let variables = Env::prefixed("QUALIFY_").only(&keys).filter(|key| {
        !crate::environment::is_set_and_empty(&format!(
            "QUALIFY_{}",
            key.as_str().to_ascii_uppercase()
        ))
    });
    let figment = figment.merge(variables).merge(Serialized::defaults(flags));
    // The sections are flattened into one map of keys, which serde can't check for strays.
    let given: std::collections::BTreeMap<String, figment::value::Value> =
        figment.extract().context("reading the configuration")?;
    if let Some(unknown) = given.keys().find(|key| !keys.contains(&key.as_str())) {
        anyhow::bail!(
            "reading the configuration: unknown key `{unknown}`; the keys are those of `qualify serve --help`, with underscores"
        );
    }
    let settings: Settings = figment.extract().context("reading the configuration")?;
    settings.check()?;
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[derive(Serialize)]
    struct NoFlags {}

    /// Every label and help text of every command, with the command's path.
    fn helps(command: &clap::Command, path: &str, into: &mut Vec<(String, String, String)>) {
        for arg in command.get_arguments() {
            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            into.push((path.to_owned(), arg.get_id().to_string(), help));
        }
        for sub in command.get_subcommands() {
            helps(sub, &format!("{path} {}", sub.get_name()), into);
        }
    }

    #[test]
    fn trusted_proxies_are_addresses_or_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("qualify.toml");
        std::fs::write(
            &file,
            r#"trusted_proxies = ["10.0.0.7", "10.1.0.0/16", "fd00::/8"]"#,
        )
        .unwrap();
        let settings = load(Some(&file), &NoFlags {}).unwrap();
        let expected: Vec<ipnet::IpNet> = ["10.0.0.7/32", "10.1.0.0/16", "fd00::/8"]
            .iter()
            .map(|net| net.parse().unwrap())
            .collect();
        assert_eq!(settings.http.trusted_proxies, expected);
        std::fs::write(&file, r#"trusted_proxies = ["proxy.internal"]"#).unwrap();
        let refused = format!("{:#}", load(Some(&file), &NoFlags {}).unwrap_err());
        assert!(
            refused.contains("neither an address nor a CIDR block"),
            "{refused}"
        );
    }

    #[test]
    fn no_flag_writes_a_default_by_hand_and_help_shows_the_settings_own() {
        use clap::CommandFactory;
        let mut written = Vec::new();
        helps(&crate::cli::Cli::command(), "qualify", &mut written);
        let keys = Settings::keys();
        for (path, id, help) in &written {
            if keys.contains(&id.as_str()) {
                assert!(!help.contains("[default:"), "{path} --{id}: {help}");
            }
        }
        let mut shown = Vec::new();
        helps(&crate::cli::command(), "qualify", &mut shown);
        let help_of = |path: &str, id: &str| {
            shown
                .iter()
                .find(|(p, i, _)| p == path && i == id)
                .map(|(_, _, help)| help.clone())
                .unwrap_or_else(|| panic!("{path} --{id}"))
        };
        let defaults = Settings::default();
        assert!(
            help_of("qualify serve", "job_workers")
                .ends_with(&format!("[default: {}]", defaults.jobs.job_workers))
        );
        assert!(help_of("qualify serve", "listen").ends_with("[default: 127.0.0.1:8080]"));
        for command in [
            "qualify serve",
            "qualify migrate",
            "qualify backup",
            "qualify admin",
        ] {
            assert!(
                help_of(command, "database")
                    .ends_with(&format!("[default: {}]", defaults.store.database)),
                "{command}"
            );
        }
        // A switch is off unless given.
        assert!(!help_of("qualify serve", "dev").contains("[default:"));
    }

    #[test]
    fn defaults_make_a_local_sqlite_server() {
        let settings = load(None, &NoFlags {}).unwrap();
        assert_eq!(settings.http.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(
            settings.store.database.to_string(),
            "sqlite://qualify-data/qualify.db"
        );
        assert_eq!(
            settings
                .vetting
                .submission_policy()
                .max_requests_per_qualification,
            3
        );
    }

    #[test]
    fn the_file_is_overridden_by_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("qualify.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:9000\"\ncontract = \"sdk\"\ntoken_lifetime = \"10m\"\n",
        )
        .unwrap();
        #[derive(Serialize)]
        struct Flags {
            listen: &'static str,
        }
        let settings = load(
            Some(&file),
            &Flags {
                listen: "127.0.0.1:9001",
            },
        )
        .unwrap();
        assert_eq!(settings.http.listen.to_string(), "127.0.0.1:9001");
        assert_eq!(settings.http.contract.name(), "sdk");
        assert_eq!(settings.identity.token_lifetime, Duration::from_secs(600));
    }

    #[test]
    fn an_unknown_key_or_an_option_of_the_other_backend_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("qualify.toml");
        std::fs::write(&file, "listn = \"0.0.0.0:9000\"\n").unwrap();
        let error = load(Some(&file), &NoFlags {}).unwrap_err();
        assert!(format!("{error:#}").contains("listn"), "{error:#}");
        std::fs::write(&file, "db_max_connections = 16\n").unwrap();
        let error = load(Some(&file), &NoFlags {}).unwrap_err();
        assert!(format!("{error:#}").contains("PostgreSQL"), "{error:#}");
    }
}

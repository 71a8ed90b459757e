//! Loading `qualify serve`'s [`Settings`], layered: their defaults, then the config file
//! (`--config` or `QUALIFY_CONFIG`, TOML), then `QUALIFY_*` environment variables, then flags.
//! The keys are the fields of `qualify_app::Settings`, the one structure the server reads.
//! Loading reads files and the environment but changes nothing.

use std::path::Path;

use anyhow::Context;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use qualify_app::Settings;
use serde::Serialize;

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
    let figment = figment
        .merge(Env::prefixed("QUALIFY_").only(&keys))
        .merge(Serialized::defaults(flags));
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

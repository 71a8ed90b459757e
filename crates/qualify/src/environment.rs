//! `QUALIFY_*` variables set to the empty string count as unset: `QUALIFY_SERVER=` in a shell,
//! or an empty line of an env file, means "no value", so the default applies instead of an error
//! about `''`. Both readers of the variables, clap's flags and the settings, ask here.

/// Whether the variable `name` is set, to nothing.
pub(crate) fn is_set_and_empty(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|value| value.is_empty())
}

/// `command` and its subcommands, with each flag whose variable is set and empty no longer read
/// from it (clap would otherwise take the empty value as given).
pub(crate) fn without_empty_variables(command: clap::Command) -> clap::Command {
    let command = command.mut_args(|arg| match arg.get_env() {
        Some(name) if name.to_str().is_some_and(is_set_and_empty) => arg.env(None),
        _ => arg,
    });
    let subcommands: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .collect();
    subcommands.into_iter().fold(command, |command, name| {
        command.mut_subcommand(name, without_empty_variables)
    })
}

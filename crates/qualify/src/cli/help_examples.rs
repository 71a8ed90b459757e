//! The examples of every command's `--help`, checked over the whole help tree: each line is
//! printed as written on a terminal of 80 columns (so no example is ever wrapped inside an
//! argument, and what a person pastes is what was written), and each example is a command line
//! `qualify` accepts.

use clap::Command;

/// The narrowest terminal the examples are written for.
const COLUMNS: usize = 80;

/// Every command of the tree under `command`, with its path (`qualify admin audit`).
fn walk(command: &Command, path: &str, found: &mut Vec<(String, Command)>) {
    found.push((path.to_owned(), command.clone()));
    for sub in command.get_subcommands() {
        walk(sub, &format!("{path} {}", sub.get_name()), found);
    }
}

/// The commands whose help shows examples, each with its examples' text.
fn commands_with_examples() -> Vec<(String, Command, String)> {
    let mut root = super::command();
    root.build();
    let mut commands = Vec::new();
    walk(&root, "qualify", &mut commands);
    commands
        .into_iter()
        .filter_map(|(path, command)| {
            let text = command
                .get_after_long_help()
                .or(command.get_after_help())?
                .to_string();
            Some((path, command, text))
        })
        .collect()
}

/// The command lines in `text`: indented lines that run `qualify` (directly, or inside `$(…)` of
/// another program's line), their `\` continuations joined.
fn command_lines(text: &str) -> Vec<String> {
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in text.lines().filter(|line| line.starts_with("  ")) {
        let line = line.trim();
        if let Some(continued) = line.strip_suffix('\\') {
            current.push_str(continued);
            current.push(' ');
        } else {
            current.push_str(line);
            joined.push(std::mem::take(&mut current));
        }
    }
    joined
        .into_iter()
        .flat_map(|line| {
            // `curl … $(qualify token …)`: the qualify command inside.
            let inner: Vec<String> = line
                .split("$(qualify ")
                .skip(1)
                .filter_map(|rest| {
                    rest.split_once(')')
                        .map(|(args, _)| format!("qualify {args}"))
                })
                .collect();
            if line.starts_with("qualify ") {
                vec![line]
            } else {
                inner
            }
        })
        .collect()
}

/// `line` as the shell would hand it to `qualify`: command substitutions other than qualify's
/// own made a plain word, a redirection dropped, then split as the shell splits words.
fn words(line: &str) -> Vec<String> {
    let line = line.replace("$(date +%F)", "2026-12-01");
    let line = line.split(" > ").next().unwrap_or_default();
    shlex::split(line).unwrap_or_else(|| panic!("not a shell command line: {line}"))
}

#[test]
fn every_example_is_printed_as_written_on_80_columns() {
    let commands = commands_with_examples();
    assert!(commands.len() > 20, "the walk found the help tree");
    for (path, command, text) in commands {
        let printed = command
            .clone()
            .term_width(COLUMNS)
            .render_long_help()
            .to_string();
        for line in text.lines().filter(|line| !line.is_empty()) {
            assert!(
                line.chars().count() <= COLUMNS,
                "`{path} --help`: longer than {COLUMNS} columns:\n{line}"
            );
            assert!(
                printed.lines().any(|printed| printed.trim_end() == line),
                "`{path} --help` does not print this line as written (wrapped?):\n{line}\n\nit prints:\n{printed}"
            );
        }
    }
}

#[test]
fn every_example_is_a_command_line_qualify_accepts() {
    let mut checked = 0;
    for (path, _, text) in commands_with_examples() {
        for line in command_lines(&text) {
            let words = words(&line);
            if let Err(error) = super::command().try_get_matches_from(&words) {
                panic!("`{path} --help` shows an example qualify refuses:\n{line}\n{error}");
            }
            checked += 1;
        }
    }
    assert!(checked > 30, "{checked} examples found");
}

#[test]
fn a_wrapped_example_would_be_caught() {
    // The check above holds only if a line longer than the terminal is wrapped: show it is.
    let long = format!(
        "  qualify customers create --name '{}'",
        "x".repeat(COLUMNS)
    );
    let printed = super::command()
        .after_help(long.clone())
        .term_width(COLUMNS)
        .render_long_help()
        .to_string();
    assert!(!printed.lines().any(|line| line.trim_end() == long));
}

//! The command line's own behaviour: usage errors, startup errors, migrations.

use std::process::Command;

use crate::process::BINARY;

#[test]
fn a_usage_error_exits_2() {
    let output = Command::new(BINARY)
        .args(["serve", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_startup_error_exits_1_with_one_readable_line() {
    let output = Command::new(BINARY)
        .args(["serve", "--database", "mysql://nope/q"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("unsupported database URL"), "{stderr}");
}

#[test]
fn migrate_applies_the_schema_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("nested/q.db").display());
    for _ in 0..2 {
        let output = Command::new(BINARY)
            .args(["migrate", "--database", &database])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(String::from_utf8_lossy(&output.stdout).contains("migrations applied"));
    }
    assert!(dir.path().join("nested/q.db").exists());
}

/// `--config`, the `QUALIFY_*` variables and `--database` mean the same to every command that
/// works on the database: the file's database is the one `migrate`, `admin` and `backup` use,
/// the variable overrides the file, and the flag overrides both.
#[test]
fn every_command_on_the_database_reads_the_same_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let in_file = dir.path().join("from-file.db");
    let from_variable = dir.path().join("from-variable.db");
    let from_flag = dir.path().join("from-flag.db");
    let config = dir.path().join("qualify.toml");
    std::fs::write(
        &config,
        format!("database = \"sqlite://{}\"\n", in_file.display()),
    )
    .unwrap();
    let run = |args: &[&str], variable: Option<&std::path::Path>| {
        let mut command = Command::new(BINARY);
        command.args(args).env_remove("QUALIFY_DATABASE");
        if let Some(variable) = variable {
            command.env(
                "QUALIFY_DATABASE",
                format!("sqlite://{}", variable.display()),
            );
        }
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let config = config.to_str().unwrap();
    assert!(run(&["migrate", "--config", config], None).contains("from-file.db"));
    assert!(in_file.exists());
    run(
        &[
            "admin", "--config", config, "--output", "json", "partners", "create", "--name",
            "Contoso",
        ],
        None,
    );
    let listed = run(
        &[
            "admin", "partners", "list", "--output", "json", "--config", config,
        ],
        None,
    );
    assert!(listed.contains("Contoso"), "{listed}");
    let copy = dir.path().join("copy.db");
    run(
        &["backup", copy.to_str().unwrap(), "--config", config],
        None,
    );
    assert!(copy.exists());
    assert!(
        run(&["migrate", "--config", config], Some(&from_variable)).contains("from-variable.db")
    );
    let flag = format!("sqlite://{}", from_flag.display());
    assert!(
        run(
            &["migrate", "--config", config, "--database", &flag],
            Some(&from_variable)
        )
        .contains("from-flag.db")
    );
}

/// The script is larger than a pipe's buffer, so the write meets the closed pipe.
#[test]
fn a_reader_that_stops_early_never_makes_the_binary_panic() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut child = Command::new(BINARY)
        .args(["completions", "bash"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then close the pipe, as `| head -1` does.
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(!first.is_empty());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}

#[test]
fn the_version_names_the_commit_it_was_built_from() {
    let output = Command::new(BINARY).arg("--version").output().unwrap();
    assert!(output.status.success());
    let version = String::from_utf8(output.stdout).unwrap();
    assert!(
        version.starts_with(&format!("qualify {} (", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    match head {
        // Built from a checkout (as CI is): the build script ran against this HEAD.
        Ok(head) if head.status.success() => {
            let head = String::from_utf8(head.stdout).unwrap();
            let commit = version
                .split("commit ")
                .nth(1)
                .and_then(|rest| rest.split([',', ')']).next())
                .unwrap_or_default();
            assert!(
                commit.len() >= 7 && head.starts_with(commit),
                "{version} does not name HEAD {head}"
            );
        }
        _ => assert!(version.contains("no git commit recorded"), "{version}"),
    }
}

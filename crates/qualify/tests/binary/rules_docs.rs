//! docs/rules.md's two examples, run as written against a fresh `qualify serve --rules`.

use std::process::Command;

use crate::process::{BINARY, start};

/// The body of the first `lang` block after `marker` in `doc`.
fn block(doc: &str, marker: &str, lang: &str) -> String {
    let at = doc
        .find(marker)
        .unwrap_or_else(|| panic!("docs/rules.md has no {marker}"));
    let fence = format!("```{lang}\n");
    let start = doc[at..].find(&fence).expect("a fenced block") + at + fence.len();
    let end = doc[start..].find("```").expect("its end") + start;
    doc[start..end].to_owned()
}

/// What the script says it prints: its trailing `# …` lines.
fn expected(script: &str) -> Vec<String> {
    let mut lines: Vec<String> = script
        .lines()
        .rev()
        .map_while(|line| line.strip_prefix("# ").map(str::to_owned))
        .collect();
    lines.reverse();
    lines
}

/// Checks the example's rules file with `qualify rules check`, serves it, and runs its script.
fn run_example(name: &str) {
    let doc = include_str!("../../../../docs/rules.md");
    let rules = block(doc, &format!("<!-- example:{name}:rules -->"), "toml");
    let script = block(doc, &format!("<!-- example:{name}:script -->"), "bash");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules.toml");
    std::fs::write(&file, rules).unwrap();
    let file = file.to_str().unwrap();

    let check = Command::new(BINARY)
        .args(["rules", "check", file])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    let database = format!("sqlite://{}", dir.path().join("q.db").display());
    let server = start(&["--dev", "--database", &database, "--rules", file]);
    let output = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("QUALIFY", &server.base)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Vec<&str> = stdout.lines().collect();
    assert_eq!(printed, expected(&script), "{stdout}");
}

#[test]
fn the_test_suites_example_approves_after_two_days_on_its_clock() {
    run_example("test-suite");
}

#[test]
fn the_operators_example_denies_free_mail_and_holds_the_rest() {
    run_example("operator");
}

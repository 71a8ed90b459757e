//! The README's walk-through, run as written against a real server.

use std::process::Command;

use crate::process::start;

/// The shell block between the walk-through markers.
fn walkthrough() -> String {
    let readme = include_str!("../../../../README.md");
    let start = readme
        .find("<!-- walkthrough:start -->")
        .expect("start marker");
    let end = readme.find("<!-- walkthrough:end -->").expect("end marker");
    let block = &readme[start..end];
    let body_start = block.find("```bash\n").expect("a bash block") + "```bash\n".len();
    let body_end = block[body_start..].find("```").expect("its end") + body_start;
    block[body_start..body_end].to_owned()
}

/// Runs `script`, as written, with bash against the server at `base` (never the default port:
/// the walk-through must work wherever the reader's server listens, told by `QUALIFY`).
fn run(script: &str, base: &str) -> std::process::Output {
    assert!(
        !base.ends_with(":8080"),
        "the test server listens on a port of its own"
    );
    // The script sets its own `set -euo pipefail`: bash is run without options, as a reader runs it.
    Command::new("bash")
        .args(["-c", script])
        .env("QUALIFY", base)
        .output()
        .unwrap()
}

#[tokio::test]
async fn the_readme_walkthrough_works_as_written() {
    let script = walkthrough();
    let expected = script
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("# {"))
        .map(|rest| format!("{{{rest}"))
        .expect("the walk-through ends with the expected answer as a comment");
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("q.db").display());
    let server = start(&["--dev", "--database", &database]);
    let output = run(&script, &server.base);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout.lines().last(), Some(expected.as_str()), "{stdout}");
    assert!(
        stdout.contains(r#""vettingStatus":"InReview""#),
        "step 3 answered InReview: {stdout}"
    );
}

#[tokio::test]
async fn the_walkthrough_stops_at_the_first_failure_with_the_servers_answer() {
    let script = walkthrough().replace("password=dev-user-password-a", "password=not-the-password");
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("q.db").display());
    let server = start(&["--dev", "--database", &database]);
    let output = run(&script, &server.base);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(!output.status.success(), "{stdout}\n{stderr}");
    // The token request was refused: the script says why, in the server's words, and goes no
    // further (no customer was made, nothing else was sent).
    assert!(
        stderr.contains("qualify answered: ") && stderr.contains("invalid_grant"),
        "{stderr}"
    );
    assert!(stdout.is_empty(), "nothing after the failure ran: {stdout}");
    assert!(
        !server.log().contains("route=/v1/customers")
            && !server.log().contains("\"route\":\"/v1/customers\""),
        "the script went on after the failure: {}",
        server.log()
    );
}

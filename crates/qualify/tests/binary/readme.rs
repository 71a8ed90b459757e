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
    let body_start = block.find("```sh\n").expect("a sh block") + "```sh\n".len();
    let body_end = block[body_start..].find("```").expect("its end") + body_start;
    block[body_start..body_end].to_owned()
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
    let script = script.replace(
        "export QUALIFY=http://127.0.0.1:8080",
        &format!("export QUALIFY={}", server.base),
    );
    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .output()
        .unwrap();
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

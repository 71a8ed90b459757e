//! docs/testing.md's curl example, run as written against a fresh `qualify serve --dev`.

use std::process::Command;

use crate::process::start;

#[test]
fn the_testing_documents_curl_example_runs_as_written() {
    let doc = include_str!("../../../../docs/testing.md");
    let marker = "<!-- example:curl -->\n```bash\n";
    let start_at = doc.find(marker).expect("the curl example") + marker.len();
    let end_at = doc[start_at..].find("```").expect("its end") + start_at;
    let script = &doc[start_at..end_at];
    let expected: Vec<&str> = {
        let mut lines: Vec<&str> = script
            .lines()
            .rev()
            .map_while(|line| line.strip_prefix("# "))
            .collect();
        lines.reverse();
        lines
    };

    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("q.db").display());
    let server = start(&["--dev", "--database", &database]);
    let output = Command::new("bash")
        .arg("-c")
        .arg(script)
        .env("QUALIFY", &server.base)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout.lines().collect::<Vec<_>>(), expected, "{stdout}");
}

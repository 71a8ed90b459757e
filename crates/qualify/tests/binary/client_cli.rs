//! The client commands, run as processes against a real server process.

use std::process::{Command, Output};

use serde_json::Value;

use crate::process::{BINARY, ServerProcess, start};

/// Runs `qualify args…` against `server`, with JSON output (stdout is not a terminal).
fn qualify(server: &ServerProcess, args: &[&str]) -> Output {
    Command::new(BINARY)
        .args(args)
        .env("QUALIFY_SERVER", &server.base)
        .env_remove("QUALIFY_OUTPUT")
        .output()
        .unwrap()
}

/// Runs a command that must succeed, and parses its JSON output.
fn json(server: &ServerProcess, args: &[&str]) -> Value {
    let output = qualify(server, args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&output.stdout)))
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn dev_server() -> (tempfile::TempDir, ServerProcess) {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("q.db").display());
    let server = start(&["--dev", "--database", &database]);
    (dir, server)
}

#[tokio::test]
async fn every_client_command_works_and_prints_json_for_scripts() {
    let (_dir, server) = dev_server();
    let a = ["--dev-identity", "partner-a"];
    let reviewer = ["--dev-identity", "operator"];

    let created = json(
        &server,
        &[
            &[
                "customers",
                "create",
                "--domain",
                "cli.onmicrosoft.com",
                "--name",
                "CLI School",
                "--country",
                "us",
            ][..],
            &a,
        ]
        .concat(),
    );
    let customer = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["billingProfile"]["defaultAddress"]["country"], "US");
    let listed = json(&server, &[&["customers", "list"][..], &a].concat());
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(
        json(
            &server,
            &[&["customers", "show", &customer][..], &a].concat()
        ),
        created
    );

    let submitted = json(
        &server,
        &[
            &[
                "qualifications",
                "submit",
                &customer,
                "--qualification",
                "education",
                "--segment",
                "K12",
                "--website",
                "cli.edu",
            ][..],
            &a,
        ]
        .concat(),
    );
    assert_eq!(submitted["vettingStatus"], "InReview");
    let states = json(
        &server,
        &[&["qualifications", "get", &customer][..], &a].concat(),
    );
    assert_eq!(states[0]["qualification"], "Education");

    let open = json(
        &server,
        &[
            &[
                "review",
                "list",
                "--status",
                "InReview",
                "--customer",
                &customer,
            ][..],
            &reviewer,
        ]
        .concat(),
    );
    let id = open[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(open[0]["website"], "cli.edu");
    assert_eq!(
        json(&server, &[&["review", "show", &id][..], &reviewer].concat())["id"],
        id.as_str()
    );
    let approved = json(
        &server,
        &[&["review", "approve", &id][..], &reviewer].concat(),
    );
    assert_eq!(approved["vettingStatus"], "Approved");
    assert_eq!(approved["decidedBy"], "reviewer@operator.test");

    // `qualify token` prints a token that works with any HTTP client.
    let token = qualify(&server, &[&["token"][..], &a].concat());
    let token = String::from_utf8(token.stdout).unwrap();
    let response = reqwest::Client::new()
        .get(format!(
            "{}/v1/customers/{customer}/qualifications",
            server.base
        ))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"qualifications":[{"qualification":"Education","vettingStatus":"Approved"}]}"#
    );

    // A table for people when asked.
    let table = qualify(
        &server,
        &[
            &["qualifications", "get", &customer, "--output", "table"][..],
            &a,
        ]
        .concat(),
    );
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table.contains("QUALIFICATION") && table.contains("Approved"),
        "{table}"
    );
}

#[tokio::test]
async fn submit_wait_exits_0_when_approved_3_when_denied_and_4_on_timeout() {
    let (_dir, server) = dev_server();
    let a = ["--dev-identity", "partner-a"];
    let reviewer = ["--dev-identity", "operator"];
    for (n, (decision, expected)) in [(Some("approve"), 0), (Some("deny"), 3), (None, 4)]
        .into_iter()
        .enumerate()
    {
        let domain = format!("wait{n}.onmicrosoft.com");
        let customer = json(
            &server,
            &[
                &["customers", "create", "--domain", &domain, "--name", "W"][..],
                &a,
            ]
            .concat(),
        );
        let customer = customer["id"].as_str().unwrap().to_owned();
        let timeout = if decision.is_some() { "5m" } else { "1s" };
        let waiting = Command::new(BINARY)
            .args(
                [
                    &[
                        "qualifications",
                        "submit",
                        &customer,
                        "--qualification",
                        "StateOwnedEntity",
                        "--wait",
                        "--timeout",
                        timeout,
                    ][..],
                    &a,
                ]
                .concat(),
            )
            .env("QUALIFY_SERVER", &server.base)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(decision) = decision {
            // The request exists once the waiting command has submitted it.
            let id = loop {
                let open = json(
                    &server,
                    &[&["review", "list", "--customer", &customer][..], &reviewer].concat(),
                );
                if let Some(id) = open[0]["id"].as_str() {
                    break id.to_owned();
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            };
            let mut args = vec!["review", decision, &id];
            if decision == "deny" {
                args.extend(["--reason", "Not a State Owned Entity"]);
            }
            json(&server, &[&args[..], &reviewer].concat());
        }
        let output = waiting.wait_with_output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(expected),
            "{decision:?}: {}",
            stderr(&output)
        );
        match expected {
            3 => assert!(
                stderr(&output).contains("Not a State Owned Entity"),
                "{}",
                stderr(&output)
            ),
            4 => assert!(stderr(&output).contains("timed out"), "{}", stderr(&output)),
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_request_whose_wait_timed_out_can_be_waited_on_again() {
    let (_dir, server) = dev_server();
    let a = ["--dev-identity", "partner-a"];
    let customer = json(
        &server,
        &[
            &[
                "customers",
                "create",
                "--domain",
                "again.onmicrosoft.com",
                "--name",
                "A",
            ][..],
            &a,
        ]
        .concat(),
    );
    let customer = customer["id"].as_str().unwrap();
    let submit = [
        "qualifications",
        "submit",
        customer,
        "--qualification",
        "StateOwnedEntity",
        "--wait",
        "--timeout",
        "1s",
    ];
    let timed_out = qualify(&server, &[&submit[..], &a].concat());
    assert_eq!(timed_out.status.code(), Some(4), "{}", stderr(&timed_out));
    // The note says how to wait on it again, with the same server and caller: pasted into a
    // shell where nothing else says which server (no QUALIFY_SERVER), it waits again.
    let again = stderr(&timed_out)
        .lines()
        .skip_while(|line| !line.contains("wait again with:"))
        .nth(1)
        .map(str::trim)
        .unwrap_or_else(|| panic!("a command to wait again: {}", stderr(&timed_out)))
        .to_owned();
    assert!(
        again.starts_with(&format!(
            "qualify qualifications wait {customer} --qualification StateOwnedEntity --timeout 1s"
        )) && again.contains(&format!("--server {}", server.base))
            && again.contains("--dev-identity partner-a"),
        "{again}"
    );
    let wait = [
        "qualifications",
        "wait",
        customer,
        "--qualification",
        "StateOwnedEntity",
        "--timeout",
        "1s",
    ];
    let on_path = std::path::Path::new(BINARY).parent().unwrap();
    let path = format!(
        "{}:{}",
        on_path.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let still = Command::new("bash")
        .args(["-c", &again])
        .env("PATH", path)
        .env_remove("QUALIFY_SERVER")
        .env_remove("QUALIFY_DEV_IDENTITY")
        .output()
        .unwrap();
    assert_eq!(still.status.code(), Some(4), "{}", stderr(&still));
    assert!(
        stderr(&still).contains("still in review"),
        "{}",
        stderr(&still)
    );
    let reviewer = ["--dev-identity", "operator"];
    let open = json(
        &server,
        &[&["review", "list", "--customer", customer][..], &reviewer].concat(),
    );
    let id = open[0]["id"].as_str().unwrap();
    json(
        &server,
        &[&["review", "approve", id][..], &reviewer].concat(),
    );
    let decided = json(&server, &[&wait[..], &a].concat());
    assert_eq!(decided["vettingStatus"], "Approved", "{decided}");
    // Waiting on a qualification never submitted fails at once, saying so.
    let never = qualify(
        &server,
        &[
            &[
                "qualifications",
                "wait",
                customer,
                "--qualification",
                "Education",
            ][..],
            &a,
        ]
        .concat(),
    );
    assert_eq!(never.status.code(), Some(1), "{}", stderr(&never));
}

#[tokio::test]
async fn failures_exit_1_with_one_readable_line() {
    let (_dir, server) = dev_server();
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "customers",
                "list",
                "--dev-identity",
                "partner-a",
                "--server",
                "http://127.0.0.1:1",
            ],
            "could not reach",
        ),
        (
            &[
                "customers",
                "list",
                "--dev-identity",
                "partner-a",
                "--client-secret",
                "wrong",
            ],
            "invalid_client",
        ),
        (&["customers", "list"], "no credentials"),
        (
            &[
                "customers",
                "show",
                "0a1b2c3d-0000-4000-8000-00000000000f",
                "--dev-identity",
                "partner-a",
            ],
            "code 60003",
        ),
    ];
    for (args, expected) in cases {
        let output = qualify(&server, args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let text = stderr(&output);
        assert_eq!(text.lines().count(), 1, "{args:?}: {text}");
        assert!(
            text.starts_with("error: ") && text.contains(expected),
            "{args:?}: {text}"
        );
    }
    // Usage errors are 2.
    assert_eq!(
        qualify(
            &server,
            &[
                "customers",
                "show",
                "not-a-guid",
                "--dev-identity",
                "partner-a"
            ]
        )
        .status
        .code(),
        Some(2)
    );
}

/// The subcommands a `--help` lists under "Commands:", but `help`.
fn subcommands(help: &str) -> Vec<String> {
    let Some((_, listed)) = help.split_once("Commands:\n") else {
        return Vec::new();
    };
    listed
        .lines()
        .take_while(|line| !line.trim().is_empty())
        // A command's line starts two spaces in; its description's continuations start further.
        .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_command_has_help_with_an_example_and_completions_exist() {
    // Every command and group, found by walking the help itself, so a new one can't be missed.
    let mut pending: Vec<Vec<String>> = vec![Vec::new()];
    let mut seen = 0;
    while let Some(command) = pending.pop() {
        let output = Command::new(BINARY)
            .args(&command)
            .arg("--help")
            .output()
            .unwrap();
        assert!(output.status.success(), "{command:?}");
        let help = String::from_utf8(output.stdout).unwrap();
        assert!(
            help.contains("Example") || help.contains("then try:"),
            "{command:?} has no example:\n{help}"
        );
        // The connection flags come after the command's own, under a heading of their own.
        if let Some(connection) = help.find("\nConnection:\n") {
            let own = help.find("\nOptions:\n").expect("own options");
            assert!(own < connection, "{command:?}:\n{help}");
            assert!(
                !help[own..connection].contains("--client-secret"),
                "{command:?} lists a connection flag among its own:\n{help}"
            );
        }
        for sub in subcommands(&help) {
            let mut next = command.clone();
            next.push(sub);
            pending.push(next);
        }
        seen += 1;
    }
    assert!(seen >= 40, "walked only {seen} commands");
    for shell in ["bash", "zsh", "fish"] {
        let output = Command::new(BINARY)
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(output.status.success(), "{shell}");
        let script = String::from_utf8(output.stdout).unwrap();
        assert!(
            script.contains("qualifications") && script.contains("review"),
            "{shell}"
        );
    }
}

#[tokio::test]
async fn empty_variables_count_as_unset() {
    let (_dir, server) = dev_server();
    // QUALIFY_OUTPUT= is no format: the default (JSON, stdout being a pipe) applies.
    let listed = Command::new(BINARY)
        .args(["customers", "list", "--dev-identity", "partner-a"])
        .env("QUALIFY_SERVER", &server.base)
        .env("QUALIFY_OUTPUT", "")
        .env("QUALIFY_TOKEN", "")
        .output()
        .unwrap();
    assert!(listed.status.success(), "{}", stderr(&listed));
    serde_json::from_slice::<Value>(&listed.stdout).expect("JSON");
    // QUALIFY_SERVER= is no server: the default one is tried, not the URL ''.
    let defaulted = Command::new(BINARY)
        .args(["customers", "list", "--dev-identity", "partner-a", "--help"])
        .env("QUALIFY_SERVER", "")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&defaulted.stdout);
    assert!(
        help.contains("[default: http://127.0.0.1:8080]") && !help.contains("QUALIFY_SERVER=]"),
        "{help}"
    );
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("empty.db").display());
    // And the settings: QUALIFY_JOB_WORKERS= is the default number of workers, not an error.
    let admin = Command::new(BINARY)
        .args(["admin", "--database", &database, "partners", "list"])
        .env("QUALIFY_JOB_WORKERS", "")
        .env("QUALIFY_OUTPUT", "")
        .output()
        .unwrap();
    assert!(admin.status.success(), "{}", stderr(&admin));
}

#[tokio::test]
async fn customers_list_finds_by_domain_company_and_reseller() {
    let (_dir, server) = dev_server();
    let a = ["--dev-identity", "partner-a"];
    const RESELLER: &str = "5eed0000-0000-4000-8000-00000000beef";
    for (domain, name, reseller) in [
        ("alpha-school.edu", "Alpha School", None),
        ("beta.edu", "Alpha Beta", Some(RESELLER)),
        ("gamma.edu", "Gamma", None),
    ] {
        let mut args = vec!["customers", "create", "--domain", domain, "--name", name];
        if let Some(reseller) = reseller {
            args.extend(["--reseller", reseller]);
        }
        json(&server, &[&args[..], &a].concat());
    }
    let domains = |found: Value| -> Vec<String> {
        found
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["companyProfile"]["domain"].as_str().unwrap().to_owned())
            .collect()
    };
    let list = |extra: &[&str]| json(&server, &[&["customers", "list"][..], extra, &a].concat());
    assert_eq!(domains(list(&["--domain", "ALPHA"])), ["alpha-school.edu"]);
    assert_eq!(
        domains(list(&["--company", "alpha"])),
        ["beta.edu", "alpha-school.edu"],
        "in the order of the company name: 'alpha beta' before 'alpha school'"
    );
    assert_eq!(domains(list(&["--reseller", "5EED"])), ["beta.edu"]);
    assert_eq!(domains(list(&[])).len(), 3);
}

/// `qualify test conformance` fails a build on findings at or above `--fail-on`; the command
/// line itself, run as documented (one process per command), leaves no finding: its runs share
/// one token.
#[tokio::test]
async fn conformance_gates_a_build_and_the_cli_itself_has_no_finding() {
    let (dir, server) = dev_server();
    let store = dir.path().join("tokens.json");
    let run = |args: &[&str]| {
        Command::new(BINARY)
            .args(args)
            .args(["--dev-identity", "partner-b", "--output", "json"])
            .env("QUALIFY_SERVER", &server.base)
            .env("QUALIFY_TOKEN_CACHE", &store)
            .output()
            .unwrap()
    };
    let created = run(&[
        "customers",
        "create",
        "--domain",
        "gate.onmicrosoft.com",
        "--name",
        "Gate",
    ]);
    assert!(created.status.success(), "{}", stderr(&created));
    for _ in 0..3 {
        assert!(run(&["customers", "list"]).status.success());
    }
    let clean = run(&["test", "conformance", "--fail-on", "info"]);
    assert!(
        clean.status.success(),
        "{}{}",
        String::from_utf8_lossy(&clean.stdout),
        stderr(&clean)
    );
    let report: Value = serde_json::from_slice(&clean.stdout).unwrap();
    assert_eq!(report["items"], serde_json::json!([]), "{report}");

    // A hand-written call without Partner Center's headers: two findings of severity info.
    let token = String::from_utf8(
        Command::new(BINARY)
            .args([
                "token",
                "--dev-identity",
                "partner-b",
                "--server",
                &server.base,
            ])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let bare = reqwest::Client::new()
        .get(format!("{}/v1/customers", server.base))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap();
    assert!(bare.status().is_success());
    let failing = run(&["test", "conformance", "--fail-on", "info"]);
    assert_eq!(failing.status.code(), Some(1), "{}", stderr(&failing));
    assert!(
        stderr(&failing).contains("at or above info"),
        "{}",
        stderr(&failing)
    );
    let report: Value = serde_json::from_slice(&failing.stdout).unwrap();
    let codes: Vec<&str> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| finding["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"correlation-id-missing"), "{codes:?}");
    let passing = run(&["test", "conformance", "--fail-on", "warning"]);
    assert!(passing.status.success(), "{}", stderr(&passing));
}

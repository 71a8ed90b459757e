//! `qualify backup` while submissions pour in, then `qualify restore`: every submission
//! acknowledged before the backup began is in the restored database; a restore never overwrites
//! data unless told to; PostgreSQL and foreign files are refused with a clear word.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use qualify_types::dev::PARTNER_A;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::process::{BINARY, create_customer, start, submit_state_owned, user_token};

const CUSTOMERS: usize = 400;
const SUBMITTERS: usize = 8;

/// Runs `qualify args…`; its exit status and what it printed (stdout, then stderr).
async fn qualify(args: &[&str]) -> (bool, String) {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    // On a blocking thread: the submitters go on while it runs.
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(BINARY)
            .args(args)
            .env_remove("QUALIFY_DATABASE")
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), printed)
}

async fn state_owned_count(http: &reqwest::Client, base: &str, token: &str, id: &str) -> usize {
    let listed: Value = http
        .get(format!("{base}/v1/customers/{id}/qualifications"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    listed["qualifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["qualification"] == "StateOwnedEntity")
        .count()
}

#[tokio::test]
async fn a_backup_under_write_load_restores_every_submission_acknowledged_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("live.db").display());
    let backup = dir.path().join("copy.db");
    let restored = format!("sqlite://{}", dir.path().join("restored.db").display());
    let server = start(&["--dev", "--database", &database]);
    let token = user_token(&server.base, PARTNER_A).await;
    let http = reqwest::Client::new();

    let mut customers = Vec::new();
    for n in 0..CUSTOMERS {
        customers.push(
            create_customer(&server.base, &token, &format!("backup{n}.onmicrosoft.com")).await,
        );
    }

    // Submitters go through the customers; each acknowledged submission is noted as made
    // before the backup began or not (read after the answer came, so "before" is certain).
    let backup_began = Arc::new(AtomicBool::new(false));
    let before_backup = Arc::new(Mutex::new(Vec::<String>::new()));
    let acknowledged = Arc::new(tokio::sync::Notify::new());
    let queue = Arc::new(Mutex::new(customers.clone()));
    let submitters: Vec<_> = (0..SUBMITTERS)
        .map(|_| {
            let (http, base, token) = (http.clone(), server.base.clone(), token.clone());
            let (queue, began, before, acknowledged) = (
                queue.clone(),
                backup_began.clone(),
                before_backup.clone(),
                acknowledged.clone(),
            );
            tokio::spawn(async move {
                loop {
                    let Some(customer) = queue.lock().await.pop() else {
                        return;
                    };
                    let answer = submit_state_owned(&http, &base, &token, &customer).await;
                    assert_eq!(answer.status(), 201);
                    if !began.load(Ordering::SeqCst) {
                        before.lock().await.push(customer);
                    }
                    acknowledged.notify_one();
                }
            })
        })
        .collect();

    // Once a quarter of the submissions are in, back up while the rest keep coming.
    while before_backup.lock().await.len() < CUSTOMERS / 4 {
        acknowledged.notified().await;
    }
    backup_began.store(true, Ordering::SeqCst);
    let (ok, printed) =
        qualify(&["backup", backup.to_str().unwrap(), "--database", &database]).await;
    assert!(ok, "qualify backup: {printed}");
    assert!(printed.contains("checked"), "{printed}");
    // It holds password hashes: its owner's alone, whatever the umask.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&backup).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    // A second backup to the same file refuses, as a restore over data does, unless told.
    let (ok, printed) =
        qualify(&["backup", backup.to_str().unwrap(), "--database", &database]).await;
    assert!(!ok, "a second backup to one file needs --replace");
    assert!(printed.contains("--replace"), "{printed}");
    for submitter in submitters {
        submitter.await.unwrap();
    }
    server.terminate().unwrap();

    let (ok, printed) =
        qualify(&["restore", backup.to_str().unwrap(), "--database", &restored]).await;
    assert!(ok, "qualify restore: {printed}");
    let (ok, printed) =
        qualify(&["restore", backup.to_str().unwrap(), "--database", &restored]).await;
    assert!(!ok, "a second restore over the data needs --replace");
    assert!(printed.contains("--replace"), "{printed}");

    let server = start(&["--dev", "--database", &restored]);
    let token = user_token(&server.base, PARTNER_A).await;
    let must_be_there = before_backup.lock().await.clone();
    assert!(must_be_there.len() >= CUSTOMERS / 4);
    for customer in &must_be_there {
        assert_eq!(
            state_owned_count(&http, &server.base, &token, customer).await,
            1,
            "customer {customer}'s submission was acknowledged before the backup began"
        );
    }
    // Those acknowledged later may or may not be in the copy; never twice.
    for customer in &customers {
        assert!(state_owned_count(&http, &server.base, &token, customer).await <= 1);
    }
    // Not under a running server, even told to replace: it keeps keys and caches in memory.
    let replace = [
        "restore",
        backup.to_str().unwrap(),
        "--database",
        &restored,
        "--replace",
    ];
    let (ok, printed) = qualify(&replace).await;
    assert!(!ok, "a restore under a running server");
    assert!(printed.contains("stop every process"), "{printed}");
    server.terminate().unwrap();
    let (ok, printed) = qualify(&replace).await;
    assert!(ok, "once the server is stopped: {printed}");
}

#[tokio::test]
async fn what_backup_and_restore_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, printed) = qualify(&[
        "backup",
        dir.path().join("x.db").to_str().unwrap(),
        "--database",
        "postgres://qualify@db.internal/qualify",
    ])
    .await;
    assert!(!ok);
    assert!(printed.contains("pg_dump"), "{printed}");

    let foreign = dir.path().join("foreign.db");
    std::fs::write(&foreign, b"").unwrap();
    let (ok, printed) = qualify(&[
        "restore",
        foreign.to_str().unwrap(),
        "--database",
        &format!("sqlite://{}", dir.path().join("q.db").display()),
    ])
    .await;
    assert!(!ok);
    assert!(printed.contains("not a Qualify database"), "{printed}");
}

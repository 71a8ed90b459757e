//! Starting `qualify serve` as a child process on a free port, and talking to it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

pub(crate) const BINARY: &str = env!("CARGO_BIN_EXE_qualify");

/// A running `qualify serve`.
pub(crate) struct ServerProcess {
    pub(crate) child: Child,
    pub(crate) base: String,
    /// Everything the server logged, for assertions and for failure messages.
    pub(crate) log: Arc<Mutex<String>>,
}

impl ServerProcess {
    /// Starts `qualify serve --listen 127.0.0.1:0` with `args`, and waits until it logs the
    /// address it serves on.
    pub(crate) fn start(args: &[&str]) -> Self {
        let mut child = Command::new(BINARY)
            .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("qualify starts");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push_str(&line);
                sink.lock().unwrap().push('\n');
                if let Ok(event) = serde_json::from_str::<Value>(&line)
                    && event["message"] == "serving"
                {
                    let _ = tx.send(event["local_addr"].as_str().unwrap_or_default().to_owned());
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!("the server did not start:\n{}", log.lock().unwrap());
            }
        };
        Self {
            child,
            base: format!("http://{addr}"),
            log,
        }
    }

    /// Sends SIGTERM and waits for the process to exit; returns whether it exited successfully.
    pub(crate) fn terminate(mut self) -> (bool, String) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the log reader drain what the process wrote last.
                std::thread::sleep(Duration::from_millis(100));
                return (status.success(), self.log.lock().unwrap().clone());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "the server did not stop after SIGTERM:\n{}",
                    self.log.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no chance to flush or close anything.
    pub(crate) fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An App+User token of a well-known identity.
pub(crate) async fn user_token(base: &str, who: qualify_types::dev::DevIdentity) -> String {
    let form = [
        ("grant_type", "password"),
        ("client_id", who.client_id),
        ("client_secret", who.client_secret),
        ("username", who.username),
        ("password", who.password),
        (
            "scope",
            "https://api.partnercenter.microsoft.com/user_impersonation",
        ),
    ];
    let response = reqwest::Client::new()
        .post(format!("{base}/{}/oauth2/v2.0/token", who.tenant_id))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "token: {}",
        response.status()
    );
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

//! `qualify serve` as a child process: started on a free port (it logs the address it serves
//! on), optionally pinned to a CPU, its log kept, stopped with SIGTERM or killed with SIGKILL.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

/// How to start a server.
#[derive(Debug, Clone)]
pub struct ServerCommand {
    /// The `qualify` binary.
    pub binary: PathBuf,
    /// The arguments that make it serve on a free port and log JSON (for `qualify`:
    /// `serve --listen 127.0.0.1:0 --log-format json`).
    pub prefix: Vec<String>,
    /// Further arguments.
    pub args: Vec<String>,
    /// `RUST_LOG` for the server; `None` leaves it unset, so the server logs as it does by
    /// default (`info`: a line per request).
    pub rust_log: Option<String>,
    /// Pin the server to this CPU (with `taskset`), so a load generator on another CPU does not
    /// compete with it.
    pub cpu: Option<usize>,
}

impl ServerCommand {
    /// `binary serve` with `args`, logging at `info`, not pinned.
    pub fn new(binary: impl AsRef<Path>, args: &[&str]) -> Self {
        let prefix = ["serve", "--listen", "127.0.0.1:0", "--log-format", "json"];
        Self {
            binary: binary.as_ref().to_owned(),
            prefix: prefix.map(str::to_owned).to_vec(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            rust_log: Some("info".into()),
            cpu: None,
        }
    }

    /// `binary serve` with `args`, configured as a user's server is by default: text logs at the
    /// default level.
    pub fn defaults(binary: impl AsRef<Path>, args: &[&str]) -> Self {
        Self {
            prefix: ["serve", "--listen", "127.0.0.1:0"]
                .map(str::to_owned)
                .to_vec(),
            rust_log: None,
            ..Self::new(binary, args)
        }
    }

    /// Another program that serves on a free port and logs `{"message":"serving","local_addr":…}`
    /// on stderr as `qualify serve` does.
    pub fn other(binary: impl AsRef<Path>, args: &[&str]) -> Self {
        Self {
            prefix: Vec::new(),
            ..Self::new(binary, args)
        }
    }
}

/// How much of a server's log is kept (a benchmark's server logs a line per request); the rest
/// is read and dropped, so the server never blocks on its stderr.
const LOG_KEPT: usize = 16 << 20;

/// The address in the log line saying the server serves, JSON or text:
/// `{"message":"serving","local_addr":"127.0.0.1:8080",…}` or `… serving local_addr=127.0.0.1:8080 …`.
fn serving_on(line: &str) -> Option<String> {
    serving_field(line, "local_addr")
}

/// `field` of the log line saying the server serves, JSON or text.
fn serving_field(line: &str, field: &str) -> Option<String> {
    if let Ok(event) = serde_json::from_str::<Value>(line) {
        return (event["message"] == "serving")
            .then(|| event[field].as_str().map(str::to_owned))
            .flatten();
    }
    let (_, after) = line.split_once(" serving ")?;
    after
        .split_whitespace()
        .find_map(|pair| pair.strip_prefix(field)?.strip_prefix('='))
        .map(str::to_owned)
}

/// A running `qualify serve`. Killed when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// Everything the server logged so far.
    pub log: Arc<Mutex<String>>,
    /// From spawning to the log line saying it serves (its listener is bound and it is ready).
    pub startup: Duration,
    /// Told when the log reader has read the server's last line (its stderr closed).
    log_drained: std::sync::mpsc::Receiver<()>,
}

impl ServerProcess {
    /// Starts the server and waits (at most a minute) until it serves.
    pub fn spawn(command: &ServerCommand) -> anyhow::Result<Self> {
        let mut process = match command.cpu {
            Some(cpu) => {
                let mut taskset = Command::new("taskset");
                taskset.args(["-c", &cpu.to_string()]).arg(&command.binary);
                taskset
            }
            None => Command::new(&command.binary),
        };
        let started = Instant::now();
        process.args(&command.prefix).args(&command.args);
        match &command.rust_log {
            Some(filter) => process.env("RUST_LOG", filter),
            None => process.env_remove("RUST_LOG"),
        };
        let mut child = process
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", command.binary.display()))?;
        let stderr = child.stderr.take().context("the server's stderr")?;
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let (drained, log_drained) = std::sync::mpsc::channel::<()>();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(mut log) = sink.lock()
                    && log.len() < LOG_KEPT
                {
                    log.push_str(&line);
                    log.push('\n');
                }
                if let Some(addr) = serving_on(&line) {
                    let _ = tx.send(addr);
                }
            }
            let _ = drained.send(());
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => Ok(Self {
                child,
                base: format!("http://{addr}"),
                log,
                startup: started.elapsed(),
                log_drained,
            }),
            Err(_) => {
                let _ = child.kill();
                let log = log.lock().map(|l| l.clone()).unwrap_or_default();
                bail!("the server did not start:\n{log}")
            }
        }
    }

    /// Starts `binary serve args…` (logging at `info`), panicking if it can't: for tests.
    pub fn start(binary: impl AsRef<Path>, args: &[&str]) -> Self {
        Self::spawn(&ServerCommand::new(binary, args)).unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Waits until the server has logged a line containing `needle` (what another process
    /// did is seen only in its log); false if it has not `within` that long.
    pub fn wait_for_log(&self, needle: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.log().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// Sends the process `SIGHUP`.
    pub fn hang_up(&self) -> anyhow::Result<()> {
        let status = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .context("running kill -HUP")?;
        anyhow::ensure!(status.success(), "kill -HUP failed: {status}");
        Ok(())
    }

    /// Its resident memory now, in KiB (`VmRSS` in `/proc`).
    pub fn rss_kib(&self) -> Option<u64> {
        self.proc_status("VmRSS:")
    }

    /// The most resident memory it has had, in KiB (`VmHWM` in `/proc`).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        self.proc_status("VmHWM:")
    }

    /// The CPU time all its threads have used so far (user and system), in seconds: what a
    /// request costs the server, whatever the machine's other load does to its throughput.
    pub fn cpu_seconds(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // The command name (field 2) may hold spaces; the fields after its closing parenthesis
        // start at field 3, so utime and stime (fields 14 and 15) are the 12th and 13th of them.
        let mut after_name = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
        let user: u64 = after_name.next()?.parse().ok()?;
        let system: u64 = after_name.next()?.parse().ok()?;
        // Linux reports them in USER_HZ, which is 100 on x86_64 and aarch64.
        Some((user + system) as f64 / 100.0)
    }

    fn proc_status(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|line| line.starts_with(field))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Where the server serves `/metrics` (`--metrics-listen`), as it logged when it started.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.log()
            .lines()
            .find_map(|line| serving_field(line, "metrics_addr"))?
            .parse()
            .ok()
    }

    /// The address it serves on.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.base
            .trim_start_matches("http://")
            .parse()
            .unwrap_or_else(|_| std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Sends SIGTERM and waits (at most a minute) for the process to exit; returns whether it
    /// exited successfully, and its whole log.
    pub fn terminate(mut self) -> anyhow::Result<(bool, String)> {
        let pid = self.child.id().to_string();
        anyhow::ensure!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()?
                .success(),
            "kill -TERM {pid}"
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait()? {
                // The log reader has the process's last lines once it reads the end of its
                // stderr; a busy machine may take a while to schedule it.
                let _ = self.log_drained.recv_timeout(Duration::from_secs(30));
                return Ok((status.success(), self.log()));
            }
            if Instant::now() > deadline {
                bail!("the server did not stop after SIGTERM:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no chance to flush or close anything.
    pub fn kill_9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An App+User access token of a well-known development identity.
pub async fn user_token(
    base: &str,
    who: qualify_types::dev::DevIdentity,
) -> anyhow::Result<String> {
    let user = User {
        tenant: who.tenant_id,
        client_id: who.client_id,
        client_secret: who.client_secret,
        username: who.username,
        password: who.password,
    };
    password_token(base, &user).await
}

/// A user who signs in with an application: what the password grant takes.
#[derive(Debug, Clone, Copy)]
pub struct User<'a> {
    /// The tenant.
    pub tenant: &'a str,
    /// The application's client id.
    pub client_id: &'a str,
    /// Its secret.
    pub client_secret: &'a str,
    /// The user's sign-in name.
    pub username: &'a str,
    /// The user's password.
    pub password: &'a str,
}

/// An App+User access token of `user`.
pub async fn password_token(base: &str, user: &User<'_>) -> anyhow::Result<String> {
    let form = [
        ("grant_type", "password"),
        ("client_id", user.client_id),
        ("client_secret", user.client_secret),
        ("username", user.username),
        ("password", user.password),
        (
            "scope",
            "https://api.partnercenter.microsoft.com/user_impersonation",
        ),
    ];
    let response = reqwest::Client::new()
        .post(format!("{base}/{}/oauth2/v2.0/token", user.tenant))
        .form(&form)
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "token: HTTP {}",
        response.status()
    );
    let body: Value = response.json().await?;
    body["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("access_token")
}

/// A partner made on demand (`POST /test/v1/partners`): its tenant id and a user token.
pub async fn partner_on_demand(base: &str) -> anyhow::Result<(qualify_types::TenantId, String)> {
    let created: Value = reqwest::Client::new()
        .post(format!("{base}/test/v1/partners"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let field = |name: &str| {
        created[name]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("a new partner's {name}"))
    };
    let tenant = field("tenantId")?;
    let (client_id, client_secret) = (field("clientId")?, field("clientSecret")?);
    let (username, password) = (field("username")?, field("password")?);
    let token = password_token(
        base,
        &User {
            tenant: &tenant,
            client_id: &client_id,
            client_secret: &client_secret,
            username: &username,
            password: &password,
        },
    )
    .await?;
    Ok((tenant.parse().context("a tenant id")?, token))
}

//! A hostile test suite beside the crash suite's load, as a shared development server meets
//! one: a partner of its own (made on demand) setting the costliest fault patterns it may, sending
//! requests for them to match or miss, and putting a secret where the journal must not keep it (a
//! query string, keys outside any word list, a body that is not JSON). Its requests must never get
//! a 5xx of the server's own, and at the end its journal must hold no trace of the secret.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use serde_json::{Value, json};

/// What the journal must never keep: shaped as a client secret is.
const SECRET: &str = "Q8Z~hostile0secret1canary2value3xyz";

/// The hostile partner: where it sends, and its token.
#[derive(Debug, Clone)]
pub(crate) struct Hostile {
    http: reqwest::Client,
    token: String,
}

/// What its requests got.
#[derive(Debug, Default)]
pub(crate) struct HostileCounts {
    /// Requests answered.
    pub(crate) answered: usize,
    /// Answers that were a 5xx the server made itself (not a fault's, not a lost connection).
    pub(crate) server_errors: Vec<String>,
}

impl Hostile {
    /// A partner made on demand at `base`.
    pub(crate) async fn new(base: &str) -> anyhow::Result<Self> {
        let (_, token) = qualify_harness::partner_on_demand(base)
            .await
            .context("the hostile partner")?;
        Ok(Self {
            http: reqwest::Client::new(),
            token,
        })
    }

    /// Rounds of hostile requests to `base` until `stop` (a round at least).
    pub(crate) async fn until_stopped(self, base: String, stop: Arc<AtomicBool>) -> HostileCounts {
        let mut counts = HostileCounts::default();
        loop {
            if self.round(&base, &mut counts).await.is_err() || stop.load(Ordering::Relaxed) {
                // An error is the server gone (killed): the next cycle starts another.
                return counts;
            }
        }
    }

    /// One round: the costliest faults, requests for them, secrets where they don't belong.
    pub(crate) async fn round(
        &self,
        base: &str,
        counts: &mut HostileCounts,
    ) -> reqwest::Result<()> {
        // 4 KiB of patterns, each as costly to match as a pattern may be.
        let costly = format!("/v1/{}b", "*a".repeat(125));
        let faults: Vec<Value> = (0..16)
            .map(|_| json!({"path": costly, "status": 409}))
            .collect();
        let long_path = format!("/v1/{}", "a".repeat(400));
        let query = format!("/v1/customers?size=1&client_secret={SECRET}&pwd={SECRET}");
        let requests = [
            (
                reqwest::Method::PUT,
                "/test/v1/faults".to_owned(),
                json!({ "faults": faults }).to_string(),
            ),
            (reqwest::Method::GET, long_path, String::new()),
            (
                reqwest::Method::POST,
                query,
                json!({"pwd": SECRET, "passwd": SECRET, "credential": SECRET, "cookie": SECRET})
                    .to_string(),
            ),
            (
                reqwest::Method::POST,
                "/v1/customers".to_owned(),
                format!("{{\"password\": \"{SECRET}\""),
            ),
            (
                reqwest::Method::POST,
                "/v1/customers".to_owned(),
                format!("grant_type=password&password={SECRET}"),
            ),
        ];
        for (method, path, body) in requests {
            let status = self
                .http
                .request(method.clone(), format!("{base}{path}"))
                .bearer_auth(&self.token)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await?
                .status();
            counts.answered += 1;
            if status.is_server_error() {
                counts
                    .server_errors
                    .push(format!("{method} {path:.60}: {status}"));
            }
        }
        Ok(())
    }

    /// Whether the journal of this partner at `base` holds the secret anywhere.
    pub(crate) async fn journal_keeps_the_secret(&self, base: &str) -> anyhow::Result<bool> {
        let journal = self
            .http
            .get(format!("{base}/test/v1/journal"))
            .bearer_auth(&self.token)
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        anyhow::ensure!(journal.contains("/v1/customers"), "an empty journal");
        Ok(journal.contains(SECRET))
    }
}

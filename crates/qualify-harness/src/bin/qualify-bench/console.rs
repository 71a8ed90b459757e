//! `qualify-bench console`: how long each page of the reviewer console takes with 100,000
//! vetting requests in the database (a third of them in review), timed from this process over
//! loopback: the server's time to render, plus one local round trip.

use std::time::Instant;

use anyhow::Context;
use clap::Args;
use qualify_types::dev;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::Common;
use crate::servers::{median, prepared, qualify, qualify_binary};

#[derive(Debug, Args)]
pub(crate) struct ConsoleArgs {
    #[command(flatten)]
    common: Common,
    /// Vetting requests in the database (three for each customer seeded).
    #[arg(long, default_value_t = 100_000)]
    requests: usize,
    /// Times each page is fetched.
    #[arg(long, default_value_t = 50)]
    runs: usize,
}

/// A signed-in reviewer's browser, as far as timing pages needs one.
struct Session {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

/// The value after `marker` in `html`, up to the next quote.
fn attribute_after<'a>(html: &'a str, marker: &str) -> Option<&'a str> {
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(&html[start..start + end])
}

/// The `name=value` of a response's `Set-Cookie` named `name`.
fn cookie_of(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .find(|pair| pair.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

impl Session {
    /// Signs the development reviewer in through the sign-in form.
    async fn sign_in(base: String) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let form = http.get(format!("{base}/console/sign-in")).send().await?;
        let sign_in_cookie = cookie_of(&form, "qualify-sign-in").context("the sign-in cookie")?;
        let html = form.text().await?;
        let csrf = attribute_after(&html, r#"name="csrf" value=""#).context("the sign-in form")?;
        let signed_in = http
            .post(format!("{base}/console/sign-in"))
            .header(COOKIE, &sign_in_cookie)
            .form(&[
                ("username", dev::OPERATOR.username),
                ("password", dev::OPERATOR.password),
                ("csrf", csrf),
            ])
            .send()
            .await?;
        anyhow::ensure!(
            signed_in.headers().get(LOCATION).is_some(),
            "sign-in refused: {}",
            signed_in.status()
        );
        let cookie = cookie_of(&signed_in, "qualify-session").context("the session cookie")?;
        Ok(Self { http, base, cookie })
    }

    /// The page at `path`, and how long it took.
    async fn fetch(&self, path: &str) -> anyhow::Result<(String, f64)> {
        let started = Instant::now();
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await?;
        let status = response.status();
        let body = response.text().await?;
        let millis = started.elapsed().as_secs_f64() * 1000.0;
        anyhow::ensure!(status.is_success(), "{path}: {status}");
        Ok((body, millis))
    }
}

/// Prints, for each page, the median, 95th percentile and slowest time over `runs` fetches.
pub(crate) async fn console(args: ConsoleArgs, cpu: Option<usize>) -> anyhow::Result<()> {
    let binary = qualify_binary(&args.common)?;
    let customers = args.requests.div_ceil(3);
    let (db, _seeded) = prepared(&binary, customers, 0, cpu).await?;
    let server = qualify(&binary, &db.url().expose(), &[], cpu)?;
    let session = Session::sign_in(format!("http://{}", server.addr())).await?;
    let (queue, _) = session.fetch("/console").await?;
    let request = attribute_after(&queue, r#"href="/console/requests/"#)
        .map(|id| format!("/console/requests/{id}"))
        .context("a request in the queue")?;
    let mut pages = vec![
        ("queue, in review (first page)", "/console".to_owned()),
        ("queue, denied", "/console?status=Denied".to_owned()),
        ("a request and its customer's history", request),
        ("sign-in form", "/console/sign-in".to_owned()),
    ];
    if let Some(next) = attribute_after(&queue, r#"rel="next" href=""#) {
        pages.push(("queue, in review (second page)", next.replace("&amp;", "&")));
    }
    println!(
        "console      {} vetting requests ({customers} customers), {} fetches of each page:",
        customers * 3,
        args.runs
    );
    let mut report = Vec::new();
    for (name, path) in &pages {
        let mut times = Vec::with_capacity(args.runs);
        for _ in 0..args.runs.max(1) {
            times.push(session.fetch(path).await?.1);
        }
        times.sort_by(f64::total_cmp);
        let p95 = times[(times.len() * 95 / 100).min(times.len() - 1)];
        let slowest = times[times.len() - 1];
        let median = median(times.clone());
        println!(
            "  {name:<40} median {median:6.2} ms   p95 {p95:6.2} ms   slowest {slowest:6.2} ms"
        );
        report.push(serde_json::json!({"page": name, "median_ms": median, "p95_ms": p95, "slowest_ms": slowest}));
    }
    server.terminate()?;
    if let Some(path) = &args.common.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(())
}

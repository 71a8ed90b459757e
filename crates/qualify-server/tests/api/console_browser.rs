//! The reviewer console in a real browser: headless Chromium (Debian's `chromium`), driven
//! through WebDriver (`chromedriver`). A reviewer signs in, finds a submission made through the
//! API in the queue, opens it and denies it with a reason (through the keyboard shortcuts and the
//! Deny button), is taken to the next request in review and approves it from the keyboard; the
//! partner reads `Denied` with that reason, and `Approved`.
//! Screenshots of the queue and the request page are saved under `target/console-screenshots/`
//! (and one of the page at the moment of a failure).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use qualify_store::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Where the screenshots go.
fn screenshots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/console-screenshots")
}

/// `chromedriver` on a free port, stopped when dropped.
struct Driver {
    process: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Driver {
    async fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Driver {
            process: Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver starts"),
            url: format!("http://127.0.0.1:{port}"),
        };
        // Ready when its status says so: polled, as a process's start has no other signal.
        let http = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(status) = http.get(format!("{}/status", driver.url)).send().await
                && status.status() == StatusCode::OK
            {
                return driver;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("chromedriver did not become ready");
    }

    /// A headless Chromium with a profile of its own, and nothing that reaches the internet.
    async fn browser(&self, profile: &Path) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-quic", "--window-size=1280,860",
                    format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        ClientBuilder::rustls()
            .expect("a TLS configuration")
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a browser session")
    }
}

/// WebDriver's Enter key.
const ENTER: char = '\u{E007}';

/// Presses and releases `key` as a person at the keyboard does: a real key event, not a script's.
async fn press(browser: &Client, key: char) -> Result<(), fantoccini::error::CmdError> {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    browser.perform_actions(keys).await
}

async fn save_screenshot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.expect("a screenshot");
    std::fs::create_dir_all(screenshots()).unwrap();
    std::fs::write(screenshots().join(name), png).unwrap();
}

#[tokio::test]
async fn a_reviewer_denies_in_a_real_browser_and_the_partner_reads_the_reason() {
    if !Path::new(CHROMEDRIVER).exists() || !Path::new(CHROMIUM).exists() {
        assert!(
            std::env::var_os("QUALIFY_REQUIRE_BROWSER").is_none(),
            "QUALIFY_REQUIRE_BROWSER is set, but {CHROMIUM} or {CHROMEDRIVER} is missing"
        );
        eprintln!(
            "skipped: no {CHROMIUM} and {CHROMEDRIVER} (Debian's chromium and chromium-driver)"
        );
        return;
    }
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let partner = server.token(PARTNER_A, Grant::User).await;
    let mut customers = Vec::new();
    for (domain, body) in [
        (
            "browser-school.edu",
            json!({"qualification": "Education", "educationSegment": "HigherEducation", "website": "https://browser-school.edu"}),
        ),
        (
            "springfield-k12.org",
            json!({"qualification": "Education", "educationSegment": "K12"}),
        ),
        (
            "state-utility.example",
            json!({"qualification": "StateOwnedEntity"}),
        ),
    ] {
        let customer = server.create_customer(&partner, domain).await;
        assert_eq!(
            server.submit(&partner, &customer, &body).await.status(),
            StatusCode::CREATED
        );
        customers.push(customer);
    }
    let customer = &customers[0];

    let driver = Driver::start().await;
    let profile = tempfile::tempdir().unwrap();
    let browser = driver.browser(profile.path()).await;
    let reason = "Not an accredited institution";
    let walked = async {
        browser.goto(&server.url("/console")).await?;
        // Not signed in: the sign-in form.
        browser
            .find(Locator::Id("username"))
            .await?
            .send_keys(OPERATOR.username)
            .await?;
        browser
            .find(Locator::Id("password"))
            .await?
            .send_keys(OPERATOR.password)
            .await?;
        browser
            .find(Locator::XPath("//button[.='Sign in']"))
            .await?
            .click()
            .await?;
        // The queue, with the submission in it.
        let link = browser
            .wait()
            .for_element(Locator::XPath(
                "//table[contains(@class,'queue')]//tr[td[.='browser-school.edu']]//a",
            ))
            .await?;
        save_screenshot(&browser, "queue.png").await;
        // From the keyboard: j moves to the oldest request, Enter opens it.
        press(&browser, 'j').await?;
        let focused = browser.active_element().await?.attr("href").await?;
        assert_eq!(
            focused,
            link.attr("href").await?,
            "j moves to the first request"
        );
        press(&browser, ENTER).await?;
        // Its page: d moves to the reason; deny with it.
        browser
            .wait()
            .for_element(Locator::XPath("//h1[.='Education for browser-school.edu']"))
            .await?;
        press(&browser, 'd').await?;
        let reason_field = browser.active_element().await?;
        assert_eq!(reason_field.attr("name").await?.as_deref(), Some("reason"));
        reason_field.send_keys(reason).await?;
        save_screenshot(&browser, "request.png").await;
        browser
            .find(Locator::XPath("//button[.='Deny']"))
            .await?
            .click()
            .await?;
        // Decided: on to the oldest request still in review; a moves to Approve, Enter approves.
        browser
            .wait()
            .for_element(Locator::XPath(
                "//h1[.='Education for springfield-k12.org']",
            ))
            .await?;
        press(&browser, 'a').await?;
        assert_eq!(browser.active_element().await?.text().await?, "Approve");
        press(&browser, ENTER).await?;
        browser
            .wait()
            .for_element(Locator::XPath(
                "//h1[.='StateOwnedEntity for state-utility.example']",
            ))
            .await?;
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    if let Err(error) = walked {
        save_screenshot(&browser, "failure.png").await;
        let _ = browser.close().await;
        panic!(
            "the walk through the console failed: {error}; see {}",
            screenshots().display()
        );
    }
    browser.close().await.unwrap();

    let listed = server.qualifications(&partner, customer).await;
    assert_eq!(listed["qualifications"][0]["vettingStatus"], "Denied");
    assert_eq!(listed["qualifications"][0]["vettingReason"], reason);
    let approved = server.qualifications(&partner, &customers[1]).await;
    assert_eq!(approved["qualifications"][0]["vettingStatus"], "Approved");
    server.stop().await;
}

//! The reviewer console in a real browser: headless Chromium (Debian's `chromium`), driven
//! through WebDriver (`chromedriver`). A reviewer mistypes the password (the name stays), signs
//! in, finds a submission made through the API in the queue (its partner shown by name), opens it
//! and denies it with a reason (through the keyboard shortcuts and the Deny button, outlined in
//! red beside a filled Approve), is taken to the next request in review with the denial
//! confirmed and linked, and approves that one from the keyboard; `?status=Denied` shows the
//! denial. The partner reads `Denied` with that reason, and `Approved`.
//!
//! Every page is laid out at 1024 and at 1920 px wide (no horizontal scrolling, the queue's
//! filters on one row) and photographed at both widths under `target/console-screenshots/`
//! (`<page>-<width>.png`, and `failure.png` at the moment of a failure), for a person to look at.

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

/// The widths a reviewer's screen is expected to have: a small laptop and a large monitor.
const WIDTHS: [u32; 2] = [1024, 1920];
/// The width the walk itself runs at.
const WORKING_WIDTH: u32 = 1280;

/// Lays the current page out at each of [`WIDTHS`], checks that it holds (nothing scrolls
/// sideways; the queue's filters, when shown, on one row) and photographs it as `<page>-<width>.png`.
async fn check_layout(browser: &Client, page: &str) -> Result<(), fantoccini::error::CmdError> {
    for width in WIDTHS {
        browser.set_window_size(width, 900).await?;
        let measured = browser
            .execute(
                "const doc = document.documentElement; \
                 const bottoms = [...document.querySelectorAll('.filters > *')] \
                   .map(e => Math.round(e.getBoundingClientRect().bottom)); \
                 return { scrolls: doc.scrollWidth > doc.clientWidth, \
                          filterRows: new Set(bottoms).size };",
                Vec::new(),
            )
            .await?;
        // Photographed first, so that a layout that fails can be looked at.
        save_screenshot(browser, &format!("{page}-{width}.png")).await;
        assert_eq!(
            measured["scrolls"], false,
            "{page} at {width} px scrolls sideways"
        );
        assert!(
            measured["filterRows"].as_u64().unwrap() <= 1,
            "{page} at {width} px wraps its filters: {measured}"
        );
    }
    browser.set_window_size(WORKING_WIDTH, 900).await
}

/// The text of the element `locator` finds.
async fn text_of(
    browser: &Client,
    locator: Locator<'_>,
) -> Result<String, fantoccini::error::CmdError> {
    browser.find(locator).await?.text().await
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
        browser.set_window_size(WORKING_WIDTH, 900).await?;
        browser.goto(&server.url("/console")).await?;
        // Not signed in: the sign-in form. A mistyped password keeps the name.
        browser
            .find(Locator::Id("username"))
            .await?
            .send_keys(OPERATOR.username)
            .await?;
        browser
            .find(Locator::Id("password"))
            .await?
            .send_keys("not-the-password")
            .await?;
        browser
            .find(Locator::XPath("//button[.='Sign in']"))
            .await?
            .click()
            .await?;
        browser
            .wait()
            .for_element(Locator::XPath("//p[@role='alert']"))
            .await?;
        let kept = browser
            .find(Locator::Id("username"))
            .await?
            .prop("value")
            .await?;
        assert_eq!(kept.as_deref(), Some(OPERATOR.username), "the name is kept");
        let focused = browser.active_element().await?.attr("id").await?;
        assert_eq!(
            focused.as_deref(),
            Some("password"),
            "and the password has the focus"
        );
        check_layout(&browser, "sign-in").await?;
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
        // The queue, with the submission in it, its partner by name.
        let link = browser
            .wait()
            .for_element(Locator::XPath(
                "//table[contains(@class,'queue')]//tr[td[.='browser-school.edu']]//a",
            ))
            .await?;
        let partner_cell = browser
            .find(Locator::XPath(
                "//table[contains(@class,'queue')]//tr[td[.='browser-school.edu']]/td[7]",
            ))
            .await?;
        assert_eq!(partner_cell.text().await?, PARTNER_A.display_name);
        let detail = partner_cell.attr("title").await?.unwrap_or_default();
        assert!(detail.contains(PARTNER_A.tenant_id), "{detail}");
        check_layout(&browser, "queue").await?;
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
        let decided_url = browser.current_url().await?;
        press(&browser, 'd').await?;
        let reason_field = browser.active_element().await?;
        assert_eq!(reason_field.attr("name").await?.as_deref(), Some("reason"));
        reason_field.send_keys(reason).await?;
        // Deny doesn't look like Approve and doesn't dominate it.
        let approve = browser.find(Locator::Id("approve")).await?;
        let deny = browser.find(Locator::Id("deny")).await?;
        let (approve_colour, deny_colour) = (
            approve.css_value("background-color").await?,
            deny.css_value("background-color").await?,
        );
        assert_ne!(approve_colour, deny_colour, "Deny and Approve look alike");
        let (_, _, approve_width, _) = approve.rectangle().await?;
        let (_, _, deny_width, _) = deny.rectangle().await?;
        assert!(
            deny_width < 2.0 * approve_width,
            "Deny ({deny_width} px) dominates Approve ({approve_width} px)"
        );
        check_layout(&browser, "request").await?;
        deny.click().await?;
        // Decided: on to the oldest request still in review, the denial confirmed at the top.
        browser
            .wait()
            .for_element(Locator::XPath(
                "//h1[.='Education for springfield-k12.org']",
            ))
            .await?;
        let confirmation = text_of(&browser, Locator::Id("decided")).await?;
        for said in ["Denied", "Education for browser-school.edu", reason] {
            assert!(confirmation.contains(said), "{said}: {confirmation}");
        }
        check_layout(&browser, "decided").await?;
        // Its link shows the decided request.
        browser
            .find(Locator::LinkText("See the decided request"))
            .await?
            .click()
            .await?;
        browser
            .wait()
            .for_element(Locator::XPath("//h1[.='Education for browser-school.edu']"))
            .await?;
        assert_eq!(browser.current_url().await?.path(), decided_url.path());
        assert!(
            text_of(&browser, Locator::Css(".facts"))
                .await?
                .contains("Denied")
        );
        browser.back().await?;
        // a moves to Approve, Enter approves.
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
        let confirmation = text_of(&browser, Locator::Id("decided")).await?;
        assert!(
            confirmation.contains("Approved") && confirmation.contains("springfield-k12.org"),
            "{confirmation}"
        );
        // The queue filtered by status, as the API and the CLI name it.
        browser.goto(&server.url("/console?status=Denied")).await?;
        let current = text_of(&browser, Locator::Css("a[aria-current='page']")).await?;
        assert!(current.starts_with("Denied"), "{current}");
        browser
            .find(Locator::XPath(
                "//table[contains(@class,'queue')]//tr[td[.='browser-school.edu']]",
            ))
            .await?;
        // The conformance report, linked from every page of a development server's console.
        browser
            .find(Locator::LinkText("Conformance"))
            .await?
            .click()
            .await?;
        browser
            .find(Locator::XPath("//h1[.='Conformance']"))
            .await?;
        check_layout(&browser, "conformance").await?;
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

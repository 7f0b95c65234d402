//! Real Chromium for the console tests: Debian's `chromium` driven through
//! `chromedriver` (WebDriver) with fantoccini. The driver listens on a free
//! loopback port of its own; Chromium runs headless with a fresh profile and
//! without the background services that would try to reach the network.
//!
//! When either program is missing, [`Browser::launch`] prints a SKIPPED line
//! and returns `None` (`.ci/run` installs both with apt).

use std::path::Path;
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tokio::process::{Child, Command};

/// Where Debian installs them.
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long any page condition may take on a loaded machine.
pub const PATIENCE: Duration = Duration::from_secs(180);

/// A headless Chromium session; the driver is killed when dropped.
pub struct Browser {
    pub client: Client,
    _driver: Child,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds loopback");
    listener.local_addr().expect("has an address").port()
}

impl Browser {
    /// Starts chromedriver and a Chromium window of `width` × `height`, or says
    /// SKIPPED and returns `None` when they are not installed.
    pub async fn launch(test: &str, width: u32, height: u32) -> Option<Self> {
        Self::launch_with(test, width, height, &[]).await
    }

    /// [`Browser::launch`] with more Chromium flags (`--force-dark-mode`).
    pub async fn launch_with(test: &str, width: u32, height: u32, flags: &[&str]) -> Option<Self> {
        if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
            eprintln!(
                "SKIPPED {test}: {CHROMIUM} or {CHROMEDRIVER} is missing (apt-get install chromium chromium-driver); \
                 the console was not tested in a browser"
            );
            return None;
        }
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().expect("a profile directory");
        let mut args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--hide-scrollbars",
        ]
        .map(str::to_owned)
        .to_vec();
        args.push(format!("--window-size={width},{height}"));
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.extend(flags.iter().map(|flag| (*flag).to_owned()));
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": args,
            }
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            panic!("capabilities are an object");
        };
        let webdriver = format!("http://127.0.0.1:{port}");
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let client = loop {
            let mut builder = ClientBuilder::new(HttpConnector::new());
            builder.capabilities(capabilities.clone());
            match builder.connect(&webdriver).await {
                Ok(client) => break client,
                Err(error) => {
                    assert!(tokio::time::Instant::now() < deadline, "chromedriver/Chromium did not start: {error}");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        };
        Some(Self { client, _driver: driver, _profile: profile })
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|error| panic!("opens {url}: {error}"));
    }

    /// The element `css` finds, waiting for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                return element;
            }
            assert!(tokio::time::Instant::now() < deadline, "no element {css} on {}", self.path().await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Types `text` into the field `css` finds.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clears the field");
        field.send_keys(text).await.expect("types");
    }

    /// Chooses the option with `value` of the select `css` finds.
    pub async fn choose(&self, css: &str, value: &str) {
        self.find(css).await.select_by_value(value).await.unwrap_or_else(|error| panic!("chooses {value}: {error}"));
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|error| panic!("clicks {css}: {error}"));
    }

    /// Clicks a button that submits a form and waits until the next page has
    /// replaced this one (so that a notice left from the previous action is
    /// never mistaken for this one's).
    pub async fn submit(&self, css: &str) {
        self.client.execute("window.flockrelayOldPage = true;", vec![]).await.expect("marks the page");
        self.click(css).await;
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let old = self.client.execute("return window.flockrelayOldPage === true;", vec![]).await;
            if matches!(old, Ok(serde_json::Value::Bool(false))) {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "clicking {css} never loaded a new page");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The page's HTML as the browser has it.
    pub async fn source(&self) -> String {
        self.client.source().await.expect("reads the page")
    }

    /// What the page shows as text (read again if the page changed meanwhile).
    pub async fn text(&self) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Ok(text) = self.find("body").await.text().await {
                return text;
            }
            assert!(tokio::time::Instant::now() < deadline, "the page's text cannot be read");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The current path and query.
    pub async fn path(&self) -> String {
        match self.client.current_url().await {
            Ok(url) => match url.query() {
                Some(query) => format!("{}?{query}", url.path()),
                None => url.path().to_owned(),
            },
            Err(_) => "(unknown)".to_owned(),
        }
    }

    /// Waits until the page's text contains `wanted`.
    pub async fn wait_text(&self, wanted: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let text = self.text().await;
            if text.contains(wanted) {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "the page never said {wanted:?}; it says:\n{text}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Reloads `url` until its text contains `wanted` (for things the server
    /// finishes in the background).
    pub async fn reload_until(&self, url: &str, wanted: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            self.goto(url).await;
            let text = self.text().await;
            if text.contains(wanted) {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "{url} never said {wanted:?}; it says:\n{text}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// A PNG of the window.
    pub async fn screenshot(&self) -> Vec<u8> {
        self.client.screenshot().await.expect("takes a screenshot")
    }
}

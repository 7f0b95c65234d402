//! The console in real Chromium (headless, through chromedriver): what an
//! operator does, start to end, with the secrets they type never coming back
//! in any page, hostile alert text shown as text, and forged forms refused.
//! Every wait is a page condition polled with minutes of patience; nothing
//! here depends on how fast the machine is.

use serde_json::json;

use crate::support::browser::Browser;
use crate::support::receiver::{Receiver, Reply};
use crate::support::relay::{Relay, Setup, TOKEN};

const HEADER_SECRET: &str = "hdr-secret-7d41c9e2b8";
const BEARER_SECRET: &str = "bearer-secret-52af0c13e6";
const PASSWORD_SECRET: &str = "basic-password-9be7f1a4c0";
const SOURCE_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The last path segment of a Slack webhook URL is its credential.
const SLACK_SECRET: &str = "slacksecretsegment0042";
const SECRETS: [&str; 5] = [HEADER_SECRET, BEARER_SECRET, PASSWORD_SECRET, SOURCE_SECRET, SLACK_SECRET];

const HOSTILE_TITLE: &str = "<script>window.pwned=1</script> \"double\" 'single' {{ 7*7 }} {% raw %}";
const HOSTILE_DESCRIPTION: &str = "<img src=x onerror=\"window.pwned=2\"> & </pre><b>bold</b>";

async fn relay() -> Relay {
    Relay::with(Setup {
        delivery: "allowed_cidrs = [\"127.0.0.0/8\"]\nbreaker_threshold = 100\nretry_schedule = [\"1s\"]".into(),
        ..Setup::default()
    })
    .await
}

/// Signs in through the form, from wherever the browser was sent.
async fn sign_in(browser: &Browser, relay: &Relay, start: &str) {
    browser.goto(&relay.url(start)).await;
    browser.find("#token").await;
    assert!(browser.path().await.starts_with("/sign-in?next="), "no session: sent to sign in");
    browser.fill("#token", TOKEN).await;
    browser.submit("form[action='/sign-in'] button[type=submit]").await;
    browser.find("nav[aria-label='Console sections']").await;
}

/// The id of the only destination whose URL is `url`.
async fn destination_with(relay: &Relay, flock: &str, url: &str) -> String {
    let (_, list) = relay.get("/api/v1/flock/settings/webhooks/generic/list", &[("flock_id", flock)]).await;
    list["generic_webhooks"]
        .as_array()
        .and_then(|hooks| hooks.iter().find(|hook| hook["url"] == url))
        .and_then(|hook| hook["webhook_id"].as_str())
        .unwrap_or_else(|| panic!("{url} is a destination of {flock}: {list}"))
        .to_owned()
}

/// The row of a destination on the destinations page.
async fn row_of(browser: &Browser, id: &str) -> String {
    let index: serde_json::Value = browser
        .client
        .execute(
            "var rows = document.querySelectorAll('tbody tr');\
             for (var i = 0; i < rows.length; i++) { if (rows[i].textContent.indexOf(arguments[0]) >= 0) return rows[i].id; }\
             return null;",
            vec![json!(id)],
        )
        .await
        .expect("runs");
    format!("#{}", index.as_str().unwrap_or_else(|| panic!("no row for {id}")))
}

#[tokio::test]
async fn an_operator_sets_up_watches_replays_and_recovers_in_chromium() {
    let Some(browser) =
        Browser::launch("browser::an_operator_sets_up_watches_replays_and_recovers_in_chromium", 1280, 900).await
    else {
        return;
    };
    let good = Receiver::start(Reply::new(200, "ok")).await;
    let bad = Receiver::start(Reply::new(500, "receiver is down")).await;
    let relay = relay().await;
    let mut seen_pages: Vec<(String, String)> = Vec::new();

    // Sign in, from a deep link.
    sign_in(&browser, &relay, "/flocks").await;
    assert_eq!(browser.path().await, "/flocks", "back where the link pointed");

    // Create a flock and give it its own destinations.
    browser.fill("#flock-name", "Datacenter").await;
    browser.submit("form[action='/flocks/create'] button").await;
    browser.wait_text("Flock created.").await;
    let (_, flocks) = relay.get("/api/v1/flocks/list", &[]).await;
    let flock = flocks["flocks"]
        .as_object()
        .and_then(|flocks| flocks.iter().find(|(_, name)| *name == "Datacenter"))
        .map(|(id, _)| id.clone())
        .expect("the flock exists");
    browser
        .submit(&format!("form[action='/flocks/settings']:has(input[value='{flock}']) button[value='enable']"))
        .await;
    browser.wait_text("Flock settings changed.").await;
    browser.wait_text("Uses its own destinations, enabled.").await;

    // Add a generic destination with a header and a bearer token, and a failing one with Basic auth.
    browser.goto(&relay.url("/destinations")).await;
    browser.choose("#generic-flock", &flock).await;
    browser.fill("#generic-url", &good.url("/alerts")).await;
    browser.fill("#generic-headers", &format!("{{\"X-Api-Key\": \"{HEADER_SECRET}\"}}")).await;
    browser.choose("#generic-auth", "bearer").await;
    browser.fill("#generic-token", BEARER_SECRET).await;
    browser.submit("section[aria-labelledby='add-generic'] button[type=submit]").await;
    browser.wait_text("Destination added.").await;
    browser.choose("#generic-flock", &flock).await;
    browser.fill("#generic-url", &bad.url("/alerts")).await;
    browser.choose("#generic-auth", "basic").await;
    browser.fill("#generic-username", "relay").await;
    browser.fill("#generic-password", PASSWORD_SECRET).await;
    browser.submit("section[aria-labelledby='add-generic'] button[type=submit]").await;
    browser.wait_text("Destination added.").await;
    browser.choose("#slack-flock", &flock).await;
    browser.fill("#slack-url", &good.url(&format!("/services/T0001/B0001/{SLACK_SECRET}"))).await;
    browser.fill("#slack-channel", "#soc").await;
    browser.submit("section[aria-labelledby='add-slack'] button[type=submit]").await;
    browser.wait_text("Destination added.").await;
    let good_id = destination_with(&relay, &flock, &good.url("/alerts")).await;
    let bad_id = destination_with(&relay, &flock, &bad.url("/alerts")).await;

    // A refused add shows the API's message.
    browser.fill("#generic-url", "ftp://127.0.0.1/x").await;
    browser.submit("section[aria-labelledby='add-generic'] button[type=submit]").await;
    browser.wait_text("invalid url:").await;

    // Send test: the outcome is shown inline, and the test arrives.
    let row = row_of(&browser, &good_id).await;
    browser.submit(&format!("{row} form[action='/destinations/test'] button")).await;
    browser.wait_text("Test notification delivered to").await;
    let outcome = browser.find("[data-test-outcome]").await.text().await.expect("text");
    assert!(outcome.starts_with("Delivered") && outcome.contains("HTTP 200") && outcome.contains(" ms"), "{outcome}");
    let test = good.single();
    assert_eq!(test.header("x-api-key"), Some(HEADER_SECRET), "the header set in the form is sent");
    assert_eq!(test.header("authorization"), Some(format!("Bearer {BEARER_SECRET}").as_str()));
    let row = row_of(&browser, &bad_id).await;
    browser.submit(&format!("{row} form[action='/destinations/test'] button")).await;
    browser.wait_text("was not delivered").await;
    let outcome = browser.find("[data-test-outcome]").await.text().await.expect("text");
    assert!(outcome.starts_with("Not delivered") && outcome.contains("HTTP 500"), "{outcome}");
    seen_pages.push(("/destinations".into(), browser.source().await));

    // Preview: the request for a sample alert, secrets masked.
    browser.goto(&relay.url(&format!("/destinations/preview?id={}", urlencode(&good_id)))).await;
    browser.wait_text("X-Api-Key").await;
    browser.wait_text("Port Scan").await;
    seen_pages.push(("preview".into(), browser.source().await));
    let (_, slack) = relay.get("/api/v1/flock/settings/webhooks/slack", &[("flock_id", &flock)]).await;
    assert_eq!(slack["slack_webhooks"].as_array().map(Vec::len), Some(1), "{slack}");
    let slack_id = relay
        .delivery
        .catalogue()
        .destinations()
        .iter()
        .find(|d| d.channel.kind().as_str() == "slack")
        .map(|d| d.id.clone())
        .expect("the Slack destination");
    browser.goto(&relay.url(&format!("/destinations/preview?id={}", urlencode(&slack_id)))).await;
    browser.wait_text("/services/T0001/B0001/").await;
    seen_pages.push(("Slack preview".into(), browser.source().await));

    // Alerts arrive: one hostile.
    let alerts = json!([
        {"id": "plain-1", "flock_id": flock, "kind": "canary.incident", "title": "Port scan", "description": "22, 80"},
        {"id": "hostile-1", "flock_id": flock, "kind": "canary.incident", "title": HOSTILE_TITLE, "description": HOSTILE_DESCRIPTION},
        {"id": "plain-2", "flock_id": flock, "kind": "canary.incident", "title": "Token opened", "description": "a document"},
    ]);
    relay.ingest(&alerts).await;

    // Watch the failing destination's messages fail.
    let failed = format!("/messages?destination={}&status=failed", urlencode(&bad_id));
    browser.reload_until(&relay.url(&failed), "hostile-1").await;
    let deadline = tokio::time::Instant::now() + crate::support::browser::PATIENCE;
    loop {
        browser.goto(&relay.url(&failed)).await;
        let rows =
            browser.client.find_all(fantoccini::Locator::Css("tbody tr a[href^='/messages/msg']")).await.expect("rows");
        if rows.len() == 3 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "three messages never failed");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    seen_pages.push(("failed list".into(), browser.source().await));

    // The hostile message: its text is shown as text, nothing of it runs or renders.
    let hostile = message_link(&browser, &relay, &bad_id, "hostile-1").await;
    browser.goto(&relay.url(&hostile)).await;
    browser.wait_text("Attempts").await;
    let text = browser.text().await;
    assert!(text.contains("<script>window.pwned=1</script>"), "shown as text:\n{text}");
    assert!(text.contains("{{ 7*7 }}") && !text.contains(" 49 "), "not evaluated:\n{text}");
    let scripts = browser.client.find_all(fantoccini::Locator::Css("script")).await.expect("finds");
    assert_eq!(scripts.len(), 1, "only the console's own script");
    assert!(browser.client.find_all(fantoccini::Locator::Css("main img, main b")).await.expect("finds").is_empty());
    let pwned = browser.client.execute("return window.pwned === undefined;", vec![]).await.expect("runs");
    assert_eq!(pwned, json!(true), "no alert text ran");
    seen_pages.push(("hostile message".into(), browser.source().await));

    // Replay it once the receiver is back: delivered.
    bad.script([Reply::new(200, "ok")]);
    browser.submit("form[action='/messages/replay'] button").await;
    browser.wait_text("Message queued again.").await;
    browser.reload_until(&relay.url(&hostile), "delivered").await;
    seen_pages.push(("replayed message".into(), browser.source().await));

    // Recover the other two: counted first, then queued again.
    bad.script([Reply::new(200, "ok"), Reply::new(200, "ok")]);
    browser.goto(&relay.url("/messages")).await;
    browser.choose("#r-destination", &bad_id).await;
    browser.fill("#r-since", "2000-01-01T00:00:00Z").await;
    browser.submit("form[action='/messages/recover'] button[type=submit]").await;
    browser.wait_text("Recover 2 failed message(s)?").await;
    browser.submit("form[action='/messages/recover'] button[name=confirm]").await;
    browser.wait_text("2 failed message(s) queued again.").await;
    browser.reload_until(&relay.url(&failed), "No messages match.").await;

    // The overview's figures change without a reload.
    browser.goto(&relay.url("/")).await;
    browser.wait_text("Needs a person").await;
    browser.client.execute("window.notReloaded = true;", vec![]).await.expect("runs");
    let first = browser.find("[data-live='now']").await.text().await.expect("text");
    let deadline = tokio::time::Instant::now() + crate::support::browser::PATIENCE;
    loop {
        let now = browser.find("[data-live='now']").await.text().await.expect("text");
        if now != first {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the live figures never refreshed");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let kept = browser.client.execute("return window.notReloaded === true;", vec![]).await.expect("runs");
    assert_eq!(kept, json!(true), "refreshed in place, not reloaded");
    seen_pages.push(("/".into(), browser.source().await));

    // Sources: add one, see its URL and a refusal.
    browser.goto(&relay.url("/sources")).await;
    browser.fill("#s-id", "svix").await;
    browser.choose("#s-flock", &flock).await;
    browser.choose("#s-scheme", "standard_webhooks").await;
    browser.fill("#s-secrets", SOURCE_SECRET).await;
    browser.submit("form[action='/sources/add'] button").await;
    browser.wait_text("Source added.").await;
    let hook = relay.url("/hooks/svix");
    let url = browser.find("#url-1").await.prop("value").await.expect("reads").unwrap_or_default();
    assert_eq!(url, hook);
    let refused = relay.client.post(&hook).body("{}").send().await.expect("answers");
    assert_eq!(refused.status().as_u16(), 401);
    browser.reload_until(&relay.url("/sources"), "hook_missing_credentials").await;
    seen_pages.push(("/sources".into(), browser.source().await));

    // Every page, read whole: no secret anywhere.
    for path in ["/", "/flocks", "/destinations", "/messages", "/sources"] {
        browser.goto(&relay.url(path)).await;
        seen_pages.push((path.into(), browser.source().await));
    }
    for (page, html) in &seen_pages {
        for secret in SECRETS {
            assert!(!html.contains(secret), "{page} shows a secret");
        }
    }

    // A forged form is refused: a wrong token, then none.
    browser.goto(&relay.url("/flocks")).await;
    browser.fill("#flock-name", "Forged").await;
    browser
        .client
        .execute(
            "document.querySelector(\"form[action='/flocks/create'] input[name=csrf_token]\").value = 'forged';",
            vec![],
        )
        .await
        .expect("runs");
    browser.submit("form[action='/flocks/create'] button").await;
    browser.wait_text("missing or wrong CSRF token").await;
    browser.goto(&relay.url("/flocks")).await;
    browser.fill("#flock-name", "Forged").await;
    browser
        .client
        .execute("document.querySelector(\"form[action='/flocks/create'] input[name=csrf_token]\").remove();", vec![])
        .await
        .expect("runs");
    browser.submit("form[action='/flocks/create'] button").await;
    browser.wait_text("missing or wrong CSRF token").await;
    let (_, flocks) = relay.get("/api/v1/flocks/list", &[]).await;
    assert!(!flocks.to_string().contains("Forged"), "nothing forged was created: {flocks}");

    // Sign out: the pages ask for the token again.
    browser.goto(&relay.url("/")).await;
    browser.submit("form[action='/sign-out'] button").await;
    browser.wait_text("Signed out.").await;
    browser.goto(&relay.url("/messages")).await;
    browser.find("#token").await;
    assert!(browser.path().await.starts_with("/sign-in"), "signed out: {}", browser.path().await);
    browser.client.close().await.expect("closes the session");
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The link to the message of `alert` at `destination`.
async fn message_link(browser: &Browser, relay: &Relay, destination: &str, alert: &str) -> String {
    browser
        .goto(&relay.url(&format!("/messages?destination={}&alert={}", urlencode(destination), urlencode(alert))))
        .await;
    let link = browser.find("tbody a[href^='/messages/msg']").await;
    link.attr("href").await.expect("reads").expect("a link")
}

/// Not a test: takes the README's screenshots of a relay with some traffic
/// (`cargo test --test it -- --ignored browser::screenshots`), written to
/// `docs/console/*.png`.
#[tokio::test]
#[ignore = "writes docs/console/*.png; run by hand when the pages change"]
async fn screenshots_of_the_main_pages() {
    use crate::support::hec::FakeHec;
    let good = Receiver::start(Reply::new(200, "ok")).await;
    let bad = Receiver::start(Reply::new(503, "{\"error\":\"maintenance\"}")).await;
    let hec = FakeHec::start().await;
    let extra = format!(
        r#"[flocks."flock:datacenter"]
name = "Datacenter"
use_global = false

[destinations.soc_webhook]
generic = {{ url = "{good}" }}

[destinations.automation]
flock = "flock:datacenter"
generic = {{ url = "{bad}", headers = {{ "X-Api-Key" = "screenshot-secret" }} }}

[destinations.dc_hec]
flock = "flock:datacenter"
splunk = {{ host = "127.0.0.1", port = {port}, token = "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", https = false }}

[destinations.archive]
enabled = false
generic = {{ url = "{archive}" }}

[sources.canary_console]
flock = "flock:datacenter"
scheme = "bearer"
token = "screenshot-source-token"

[sources.flowcode]
scheme = "standard_webhooks"
secrets = ["{SOURCE_SECRET}"]
"#,
        good = good.url("/alerts"),
        bad = bad.url("/hook"),
        port = hec.addr.port(),
        archive = good.url("/archive"),
    );
    let relay = Relay::with(Setup {
        delivery: "allowed_cidrs = [\"127.0.0.0/8\"]\nbreaker_threshold = 4\nbreaker_cooldown = \"10m\"\nretry_schedule = [\"0s\", \"1s\", \"1h\"]".into(),
        extra,
        ..Setup::default()
    })
    .await;
    let alerts: Vec<_> = (0..12)
        .map(|n| {
            let flock = if n % 3 == 0 { "flock:datacenter" } else { "flock:default" };
            json!({"flock_id": flock, "kind": "canary.incident", "severity": "high",
                   "title": format!("Port scan on fileserver-{n:02}"), "description": "203.0.113.7 scanned 22, 80, 445",
                   "source": {"ip": "203.0.113.7"}})
        })
        .collect();
    relay.ingest(&json!(alerts)).await;
    for _ in 0..3 {
        let _ = relay.client.post(relay.url("/hooks/canary_console")).body("{}").send().await;
    }
    let _ = relay.client.post(relay.url("/hooks/flowcode")).header("webhook-id", "x").body("{}").send().await;
    crate::support::relay::eventually(std::time::Duration::from_secs(120), "traffic settles", || async {
        let (_, listed) = relay.get("/api/v1/destinations", &[]).await;
        listed.to_string().contains("hec_code_4") && good.requests().len() >= 8
    })
    .await;

    let directory = crate::support::root().join("docs/console");
    std::fs::create_dir_all(&directory).expect("creates docs/console");
    /// One window: file name suffix, size, extra Chromium flags, pages.
    struct Shot {
        suffix: &'static str,
        width: u32,
        height: u32,
        flags: &'static [&'static str],
        pages: &'static [&'static str],
    }
    let shots = [
        Shot {
            suffix: "",
            width: 1280,
            height: 1000,
            flags: &[],
            pages: &["/", "/flocks", "/destinations", "/messages", "MESSAGE", "/sources", "PREVIEW"],
        },
        Shot { suffix: "-phone", width: 390, height: 844, flags: &[], pages: &["/", "/destinations"] },
        Shot { suffix: "-dark", width: 1280, height: 1000, flags: &["--force-dark-mode"], pages: &["/", "/messages"] },
    ];
    for Shot { suffix, width, height, flags, pages } in shots {
        let Some(browser) = Browser::launch_with("browser::screenshots_of_the_main_pages", width, height, flags).await
        else {
            return;
        };
        sign_in(&browser, &relay, "/").await;
        for page in pages {
            let (path, name) = match *page {
                "/" => ("/".to_owned(), "overview".to_owned()),
                "MESSAGE" => {
                    let link = message_link(&browser, &relay, "automation", "").await;
                    (link, "message".to_owned())
                }
                "PREVIEW" => ("/destinations/preview?id=soc_webhook".to_owned(), "preview".to_owned()),
                other => (other.to_owned(), other.trim_start_matches('/').to_owned()),
            };
            browser.goto(&relay.url(&path)).await;
            if path == "/destinations" {
                let row = row_of(&browser, "automation").await;
                browser.submit(&format!("{row} form[action='/destinations/test'] button")).await;
                browser.wait_text("was not delivered").await;
            }
            browser.find("main").await;
            let png = browser.screenshot().await;
            std::fs::write(directory.join(format!("{name}{suffix}.png")), png).expect("writes the screenshot");
        }
        browser.client.close().await.expect("closes");
    }
}

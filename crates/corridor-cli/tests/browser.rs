#![allow(clippy::unwrap_used)]
//! The dashboard in a real browser: headless Chromium driven over WebDriver (chromedriver)
//! against the dashboard process (`corridor serve dashboard`) of a corridor of service
//! processes. The page loads with no console error and names every country of the topology;
//! a consignment declared through the CLI appears without a reload and reaches "completed";
//! its page shows every node's events, a verified trace and a verified proof; one refused at
//! a border shows as refused; a node killed mid-run shows as down, and as up once it is
//! back; an unknown consignment's page is a 404 that says so. Screenshots at 1280x800 and
//! at a phone's width go to `target/tmp/screenshots/`.
//!
//! It needs Chromium and its WebDriver: `chromedriver` on the `PATH` (Debian: `apt-get
//! install chromium chromium-driver`, which `.ci/run` runs, and which this test runs itself
//! when it can), or the one `$CORRIDOR_CHROMEDRIVER` names.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Corridor, ROUTE, Service, corridor_root, deploy, sync};
use corridor_topology::Topology;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// How long the page may take to show what the corridor did (it is pushed within a second
/// or two; the margin is for a loaded machine).
const PATIENCE: Duration = Duration::from_secs(60);

/// The chromedriver to use: `$CORRIDOR_CHROMEDRIVER`, or `chromedriver` on the `PATH`,
/// installed with apt-get (under a lock, once for every test binary) when it is missing.
fn chromedriver() -> PathBuf {
    if let Some(p) = std::env::var_os("CORRIDOR_CHROMEDRIVER") {
        return p.into();
    }
    let found = || {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("chromedriver"))
                .find(|p| p.is_file())
        })
    };
    if let Some(p) = found() {
        return p;
    }
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(target).unwrap();
    let lock = std::fs::File::create(target.join("chromium-install.lock")).unwrap();
    lock.lock().unwrap();
    if found().is_none() {
        for args in [
            &["update"][..],
            &["install", "-y", "chromium", "chromium-driver"][..],
        ] {
            let status = Command::new("apt-get").args(args).status();
            assert!(
                status.as_ref().is_ok_and(|s| s.success()),
                "apt-get {args:?}: {status:?}: the browser test needs Chromium and its \
                 WebDriver (apt-get install chromium chromium-driver), or \
                 $CORRIDOR_CHROMEDRIVER naming a chromedriver"
            );
        }
    }
    found().expect("chromedriver is not on the PATH after installing chromium-driver")
}

/// A chromedriver child on a free port, once it said it serves there.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Self {
        let mut child = Command::new(chromedriver())
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        // "ChromeDriver was started successfully on port 40387." (no newline after it).
        let mut out = child.stdout.take().unwrap();
        let mut said = Vec::new();
        let mut byte = [0u8; 1];
        let marker = "started successfully on port ";
        let port = loop {
            assert_eq!(
                out.read(&mut byte).unwrap(),
                1,
                "chromedriver ended: {said:?}"
            );
            said.push(byte[0]);
            let text = String::from_utf8_lossy(&said);
            if let Some(rest) = text.split(marker).nth(1)
                && rest.ends_with('.')
            {
                break rest.trim_end_matches('.').to_owned();
            }
        };
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// A headless browser session with a `width` x `height` window.
    async fn browser(&self, width: u32, height: u32) -> Client {
        let caps = json!({
            "goog:chromeOptions": {
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--hide-scrollbars", format!("--window-size={width},{height}"),
                ],
            },
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .unwrap()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Chromium's console since it was last asked (chromedriver's `se/log`).
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.into()))
    }
}

/// The console's errors since it was last asked.
async fn console_errors(b: &Client) -> Vec<String> {
    let log = b.issue_cmd(BrowserLog).await.unwrap();
    log.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["level"] == "SEVERE")
        .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The text of the element `css`, or "" while there is none.
async fn text(b: &Client, css: &str) -> String {
    match b.find(Locator::Css(css)).await {
        Ok(e) => e.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Asks the page every 100 ms, for at most [`PATIENCE`], until `css`'s text satisfies `done`.
async fn until(b: &Client, css: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let t = text(b, css).await;
        if done(&t) {
            return t;
        }
        assert!(Instant::now() < deadline, "{css}: never, last {t:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Asks the page until the attribute `name` of `css` is `want`.
async fn until_attr(b: &Client, css: &str, name: &str, want: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let got = match b.find(Locator::Css(css)).await {
            Ok(e) => e.attr(name).await.unwrap_or_default(),
            Err(_) => None,
        };
        if got.as_deref() == Some(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{css} {name}: never {want:?}, last {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Saves a screenshot of the page as `target/tmp/screenshots/NAME.png`.
async fn screenshot(b: &Client, name: &str) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = b.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// Declares the sample consignment through the CLI, with `change` applied to its file;
/// returns its id.
fn declare(c: &Corridor, dir: &Path, name: &str, change: impl Fn(String) -> String) -> String {
    let file = dir.join(format!("{name}.json"));
    let text = std::fs::read_to_string(deploy("examples/consignment.json")).unwrap();
    std::fs::write(&file, change(text)).unwrap();
    c.declare(&file)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_in_a_browser_follows_the_corridor_live() {
    let dir = tempfile::tempdir().unwrap();
    let c = corridor_root(dir.path());
    let t = Topology::load(&c.topology).unwrap();
    let _registry = c.registry();
    let mut nodes: Vec<Option<Service>> = ROUTE.iter().map(|cc| Some(c.node(cc))).collect();
    let _declarant = c.declarant();
    c.register_operators();
    sync(&t).await;
    let dashboard = Service::start(&[
        "dashboard",
        "--topology",
        c.topology.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    let url = format!("http://{}", dashboard.addr);
    let driver = Driver::start();
    let b = driver.browser(1280, 800).await;

    // The page, live, naming every country of the topology on its map.
    b.goto(&format!("{url}/")).await.unwrap();
    until(&b, "#live", |t| t == "live").await;
    let map = text(&b, "#map").await;
    for country in &t.countries {
        assert!(
            map.contains(&country.name),
            "{} not on the map: {map}",
            country.name
        );
        until_attr(
            &b,
            &format!("#map g[data-country='{}']", country.code),
            "data-up",
            "true",
        )
        .await;
    }
    // Marked, to show below that nothing reloads the page.
    b.execute("window.stillTheSamePage = true;", vec![])
        .await
        .unwrap();

    // Declared through the CLI: it appears, and reaches "completed" as officers move it.
    let id = declare(&c, dir.path(), "cleared", |s| s);
    let row = format!("#consignments tr[data-id='{id}']");
    until(&b, &format!("{row} td.state"), |t| t == "awaiting arrival").await;
    c.carry(&id, "checked");
    until(&b, &format!("{row} td.state"), |t| t == "completed").await;
    let same = b
        .execute("return window.stillTheSamePage === true;", vec![])
        .await
        .unwrap();
    assert_eq!(same, Value::Bool(true), "the page was reloaded");
    screenshot(&b, "dashboard-1280x800").await;

    // Its page: every node's events, its trace verified, its proof made and verified.
    b.find(Locator::Css(&row))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(&b, "#trace-verdict", |t| {
        t == "trace verified across every ledger"
    })
    .await;
    for cc in ROUTE {
        let events = b
            .find_all(Locator::Css(&format!("#events tr[data-country='{cc}']")))
            .await
            .unwrap();
        assert!(events.len() >= 3, "{cc}: {} events", events.len());
    }
    let completed = text(&b, "#events tr[data-country='TR']:last-child").await;
    assert!(completed.contains("consignment.completed"), "{completed}");
    until(&b, "#proof-verdict", |t| {
        t.starts_with("proof verified offline: ")
    })
    .await;
    assert_eq!(
        b.current_url().await.unwrap().path(),
        format!("/consignments/{id}")
    );
    screenshot(&b, "dashboard-consignment").await;

    // Refused at the first border: restricted goods (HS 93, arms) go to the red lane.
    let refused = declare(&c, dir.path(), "refused", |s| {
        s.replace("8507600000", "9303200000")
            .replace("KTZE-2027-000001", "KTZE-2027-000002")
            .replace("XSRE-2027-0001", "XSRE-2027-0002")
    });
    let out = c.officer("arrive", "CN", &refused, &["--post", "CNXIY"]);
    assert!(out.contains("awaiting an officer"), "{out}");
    c.officer(
        "decide",
        "CN",
        &refused,
        &["refuse", "--findings", "undeclared firearms"],
    );
    let row = format!("#consignments tr[data-id='{refused}']");
    until(&b, &format!("{row} td.state"), |t| t == "refused").await;

    // A node killed mid-run shows as down; started again, as up.
    nodes[1].take().unwrap().kill_9();
    until_attr(&b, "#map g[data-country='KZ']", "data-up", "false").await;
    let map = text(&b, "#map").await;
    assert!(map.contains("Kazakhstan (KZ) down"), "{map}");
    screenshot(&b, "dashboard-node-down").await;
    nodes[1] = Some(c.node("KZ"));
    until_attr(&b, "#map g[data-country='KZ']", "data-up", "true").await;

    // No console error along the way.
    assert_eq!(console_errors(&b).await, Vec::<String>::new());

    // At a phone's width: the route down the page, every country still named.
    b.set_window_size(390, 844).await.unwrap();
    b.goto(&format!("{url}/")).await.unwrap();
    until(&b, "#live", |t| t == "live").await;
    let map = text(&b, "#map").await;
    for country in &t.countries {
        assert!(map.contains(&country.name), "{map}");
    }
    screenshot(&b, "dashboard-phone").await;
    assert_eq!(console_errors(&b).await, Vec::<String>::new());

    // An unknown consignment's page: 404, saying so.
    let unknown = "ab".repeat(32);
    b.goto(&format!("{url}/consignments/{unknown}"))
        .await
        .unwrap();
    let why = text(&b, "#why").await;
    assert!(why.contains("is not known at any node"), "{why}");
    b.close().await.unwrap();
}

//! The web app in a real browser: headless Chromium driven over WebDriver
//! (chromedriver, through `fantoccini`), with DevTools commands sent
//! through chromedriver's `goog/cdp/execute` for the network and the
//! screen size.
//!
//! The browser reaches the server through a small TCP relay of the test's
//! own. Cutting the relay takes the network away from the page and its
//! service worker alike (DevTools' offline switch, also set, reaches only
//! the page); the relay can also swallow the answer to one `/sync`
//! request after the server has handled it, and it counts every byte the
//! browser receives.
//!
//! Without Chromium and chromedriver the tests say so and pass; with the
//! `CI` variable set they fail instead. `BANSO_SCREENSHOTS=1` makes
//! `screens_fit_a_phone_and_a_desktop` write its pictures to
//! `docs/screenshots/`.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, count, temp_dir, village};

/// One browser at a time: they are heavy, and the timings must not be
/// shared with another one.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// DevTools' "3G" preset: 400 kbps each way (50,000 bytes a second, as
/// DevTools counts) and 400 ms round trip, which DevTools applies as
/// 2,000 ms per request.
const THREE_G: (f64, f64) = (2000.0, 50_000.0);

const WAIT: Duration = Duration::from_secs(40);

// ------------------------------------------------------------------ relay

const PASS: u8 = 0;
const CUT: u8 = 1;
const SWALLOW_SYNC_ANSWER: u8 = 2;

/// A TCP relay from the browser to the server.
struct Relay {
    port: u16,
    mode: Arc<AtomicU8>,
    received: Arc<AtomicU64>,
    swallowed: Arc<AtomicU64>,
}

impl Relay {
    fn start(target: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the relay");
        let port = listener.local_addr().unwrap().port();
        let relay = Relay {
            port,
            mode: Arc::new(AtomicU8::new(PASS)),
            received: Arc::new(AtomicU64::new(0)),
            swallowed: Arc::new(AtomicU64::new(0)),
        };
        let (mode, received, swallowed) = (
            relay.mode.clone(),
            relay.received.clone(),
            relay.swallowed.clone(),
        );
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(client) = conn else { continue };
                if mode.load(Ordering::SeqCst) == CUT {
                    drop(client);
                    continue;
                }
                let (mode, received, swallowed) =
                    (mode.clone(), received.clone(), swallowed.clone());
                std::thread::spawn(move || relay_one(client, target, mode, received, swallowed));
            }
        });
        relay
    }

    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }

    fn received(&self) -> u64 {
        self.received.load(Ordering::SeqCst)
    }
}

fn relay_one(
    client: TcpStream,
    target: u16,
    mode: Arc<AtomicU8>,
    received: Arc<AtomicU64>,
    swallowed: Arc<AtomicU64>,
) {
    let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
        return;
    };
    let (Ok(mut c_in), Ok(mut s_out)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let swallow = Arc::new(AtomicBool::new(false));
    let (up_mode, up_swallow) = (mode.clone(), swallow.clone());
    let (up_client, up_server) = (client.try_clone(), server.try_clone());
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match c_in.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let m = up_mode.load(Ordering::SeqCst);
            if m == CUT {
                break;
            }
            if m == SWALLOW_SYNC_ANSWER && buf[..n].starts_with(b"POST /api/v1/sync ") {
                up_swallow.store(true, Ordering::SeqCst);
                up_mode.store(PASS, Ordering::SeqCst);
            }
            if s_out.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        for s in [up_client, up_server].into_iter().flatten() {
            let _ = s.shutdown(Shutdown::Both);
        }
    });
    let (mut s_in, mut c_out) = (server, client);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match s_in.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if swallow.load(Ordering::SeqCst) {
            // The server has done the work; the phone never hears of it.
            swallowed.fetch_add(1, Ordering::SeqCst);
            break;
        }
        if mode.load(Ordering::SeqCst) == CUT {
            break;
        }
        received.fetch_add(n as u64, Ordering::SeqCst);
        if c_out.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = s_in.shutdown(Shutdown::Both);
    let _ = c_out.shutdown(Shutdown::Both);
}

// ------------------------------------------------------------------ browser

/// Chromium and chromedriver, or why the test cannot run.
fn tools() -> Option<(PathBuf, PathBuf)> {
    let path = |var: &str, default: &str| {
        PathBuf::from(std::env::var(var).unwrap_or_else(|_| default.to_string()))
    };
    let chromium = path("BANSO_CHROMIUM", "/usr/bin/chromium");
    let driver = path("BANSO_CHROMEDRIVER", "/usr/bin/chromedriver");
    if chromium.exists() && driver.exists() {
        return Some((chromium, driver));
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI needs Chromium and chromedriver for the browser tests (apt-get install chromium chromium-driver)"
    );
    eprintln!(
        "browser test skipped: {} or {} is missing (apt-get install chromium chromium-driver)",
        chromium.display(),
        driver.display()
    );
    None
}

struct Browser {
    client: Option<Client>,
    driver: Child,
    driver_port: u16,
    session: String,
    http: reqwest::Client,
    base: String,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Browser {
    /// A fresh browser (its own profile) whose pages open `base`.
    async fn start(base: &str) -> Option<Browser> {
        let (chromium, driver_path) = tools()?;
        let driver_port = free_port();
        let driver = Command::new(driver_path)
            .arg(format!("--port={driver_port}"))
            // Chromium on Linux takes its language (dates in fields, too)
            // from the environment.
            .env("LANGUAGE", "vi")
            .env("LANG", "vi_VN.UTF-8")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let http = reqwest::Client::new();
        let url = format!("http://127.0.0.1:{driver_port}");
        let started = Instant::now();
        while http.get(format!("{url}/status")).send().await.is_err() {
            assert!(started.elapsed() < WAIT, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = temp_dir("chromium");
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                    "--lang=vi", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&url)
            .await
            .expect("a WebDriver session");
        let session = client
            .session_id()
            .await
            .expect("session id")
            .expect("a session");
        Some(Browser {
            client: Some(client),
            driver,
            driver_port,
            session,
            http,
            base: base.to_string(),
        })
    }

    fn c(&self) -> &Client {
        self.client.as_ref().expect("the browser is open")
    }

    /// A DevTools command on the page's target.
    async fn cdp(&self, cmd: &str, params: Value) -> Value {
        let res = self
            .http
            .post(format!(
                "http://127.0.0.1:{}/session/{}/goog/cdp/execute",
                self.driver_port, self.session
            ))
            .json(&json!({ "cmd": cmd, "params": params }))
            .send()
            .await
            .expect("cdp command");
        let body: Value = res.json().await.expect("cdp answer");
        assert!(body["value"].get("error").is_none(), "{cmd}: {body}");
        body["value"].clone()
    }

    /// The page's network: `None` for the real one, else (latency ms,
    /// bytes a second), or offline.
    async fn network(&self, offline: bool, throttle: Option<(f64, f64)>) {
        let (latency, rate) = throttle.unwrap_or((0.0, -1.0));
        self.cdp("Network.enable", json!({})).await;
        self.cdp(
            "Network.emulateNetworkConditions",
            json!({
                "offline": offline,
                "latency": latency,
                "downloadThroughput": rate,
                "uploadThroughput": rate,
            }),
        )
        .await;
    }

    /// The screen of a phone (360 px wide) or of a desktop.
    async fn screen(&self, width: u32, height: u32) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({
                "width": width, "height": height,
                "deviceScaleFactor": 1, "mobile": width < 600,
            }),
        )
        .await;
    }

    async fn open(&self, path: &str) {
        self.c()
            .goto(&format!("{}{}", self.base, path))
            .await
            .expect("open the page");
    }

    async fn js(&self, script: &str) -> Value {
        self.c().execute(script, vec![]).await.expect(script)
    }

    /// Waits until `script` returns something truthy, and returns it.
    async fn until(&self, script: &str, what: &str) -> Value {
        let started = Instant::now();
        loop {
            if let Ok(v) = self.c().execute(script, vec![]).await {
                let truthy = match &v {
                    Value::Null => false,
                    Value::Bool(b) => *b,
                    Value::Number(n) => n.as_f64() != Some(0.0),
                    Value::String(s) => !s.is_empty(),
                    _ => true,
                };
                if truthy {
                    return v;
                }
            }
            if started.elapsed() > WAIT {
                let screen = self
                    .js("return document.getElementById('app')?.innerText")
                    .await;
                panic!("timed out waiting for {what}; the screen shows: {screen}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn visible(&self, css: &str) {
        let script = format!(
            "const e = document.querySelector({}); return Boolean(e && e.offsetParent !== null)",
            json!(css)
        );
        self.until(&script, css).await;
    }

    /// Clicks `css`, finding it again if the screen was redrawn between
    /// finding and clicking (the top strip is redrawn at every sync).
    async fn click(&self, css: &str) {
        for attempt in 0.. {
            self.visible(css).await;
            let done = match self.c().find(Locator::Css(css)).await {
                Ok(el) => el.click().await.map(|_| ()),
                Err(e) => Err(e),
            };
            match done {
                Ok(()) => return,
                Err(e) if attempt < 20 => {
                    eprintln!("click {css}: {e}; again");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("click {css}: {e}"),
            }
        }
    }

    async fn type_in(&self, css: &str, text: &str) {
        self.visible(css).await;
        self.c()
            .find(Locator::Css(css))
            .await
            .expect(css)
            .send_keys(text)
            .await
            .expect(css);
    }

    /// Logs in from the login screen and waits for the home screen with the
    /// village's households on the phone and the service worker in charge.
    async fn log_in(&self, username: &str, households: usize) {
        self.open("/").await;
        self.type_in("#username", username).await;
        self.type_in("#password", PASSWORD).await;
        self.click("#login button[type=submit]").await;
        self.visible("#new-visit").await;
        self.until(
            &format!(
                "return (async () => (await idbCount('households')) >= {households})()
                   .then((x) => x, () => false);"
            )
            .replace("idbCount", IDB_COUNT),
            "the households on the phone",
        )
        .await;
        self.until(
            "return Boolean(navigator.serviceWorker.controller)",
            "the service worker",
        )
        .await;
    }

    /// Cuts the network of the page and of its service worker, or brings
    /// it back.
    async fn online(&self, relay: &Relay, on: bool) {
        relay.set(if on { PASS } else { CUT });
        self.network(!on, None).await;
        self.until(
            &format!("return document.getElementById('net')?.dataset.online === '{on}'"),
            "the network state on screen",
        )
        .await;
    }

    /// Records a visit to the household found by `search`, giving the first
    /// kind of help; returns the record's id.
    async fn record_visit(&self, search: &str) -> String {
        self.click("#new-visit").await;
        self.type_in("#visit-form input[name=q]", search).await;
        self.click("#visit-household-results button").await;
        self.click("#help-vneid").await;
        self.click("#save").await;
        self.visible("#records").await;
        self.js("return document.querySelector('#records li').dataset.id")
            .await
            .as_str()
            .expect("the new record's id")
            .to_string()
    }

    async fn state_of(&self, id: &str) -> String {
        let v = self
            .js(&format!(
                "return document.querySelector('#records li[data-id=\"{id}\"]')?.dataset.state"
            ))
            .await;
        v.as_str().unwrap_or("").to_string()
    }

    async fn until_state(&self, id: &str, state: &str) {
        self.until(
            &format!(
                "return document.querySelector('#records li[data-id=\"{id}\"]')?.dataset.state === '{state}'"
            ),
            &format!("record {id} to be {state}"),
        )
        .await;
    }

    /// Waits until the top of the screen says `n` records wait.
    async fn until_waiting(&self, n: usize) {
        self.until(
            &format!("return document.getElementById('waiting-count')?.dataset.count === '{n}'"),
            &format!("{n} records waiting"),
        )
        .await;
    }

    /// A picture of the whole page.
    async fn picture(&self) -> Vec<u8> {
        let shot = self
            .cdp(
                "Page.captureScreenshot",
                json!({ "format": "png", "captureBeyondViewport": true }),
            )
            .await;
        base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("png data"))
            .expect("png")
    }

    async fn close(mut self) {
        if let Some(c) = self.client.take() {
            let _ = c.close().await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A test that failed still closes its browser: chromedriver ends
        // Chromium when the session is deleted.
        if self.client.is_some()
            && let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.driver_port))
        {
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = write!(
                s,
                "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                self.session
            );
            let _ = s.read(&mut [0u8; 512]);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `idbCount(store)`: how many rows a store of the app's database holds.
const IDB_COUNT: &str = "((store) => new Promise((resolve, reject) => {
  const r = indexedDB.open('banso');
  r.onerror = () => reject(r.error);
  r.onsuccess = () => {
    const db = r.result;
    if (!db.objectStoreNames.contains(store)) { db.close(); resolve(0); return; }
    const q = db.transaction(store).objectStore(store).count();
    q.onsuccess = () => { db.close(); resolve(q.result); };
    q.onerror = () => { db.close(); reject(q.error); };
  };
}))";

// ------------------------------------------------------------------ world

/// A village with a team, three households and its team leader
/// (`totruong`), served through a relay.
struct Village {
    app: TestApp,
    relay: Relay,
    admin: String,
    households: Vec<String>,
}

async fn a_village() -> Village {
    let app = TestApp::spawn().await;
    let na_pinh = village(&app, "01273", "Thôn Nà Pình");
    let admin = app.admin_token().await;
    let res = app
        .post_json(
            "/api/v1/teams",
            Some(&admin),
            &json!({ "village_id": na_pinh.id, "name": "Tổ CNSCĐ thôn Nà Pình" }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let mut households = Vec::new();
    for (head, code) in [
        ("Nguyễn Văn An", "NP-001"),
        ("Nông Thị Hoa", "NP-002"),
        ("Hoàng Văn Dũng", "NP-003"),
    ] {
        let res = app
            .post_json(
                "/api/v1/households",
                Some(&admin),
                &json!({ "village_id": na_pinh.id, "head_name": head, "code": code,
                         "size": 4, "poverty_status": "poor" }),
            )
            .await;
        assert_eq!(res.status(), 201);
        households.push(
            res.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    app.create_user("totruong", "team_leader", Some(&na_pinh.code))
        .await;
    let port: u16 = app.address.rsplit(':').next().unwrap().parse().unwrap();
    let relay = Relay::start(port);
    Village {
        app,
        relay,
        admin,
        households,
    }
}

impl Village {
    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.relay.port)
    }

    fn n(&self, sql: &str) -> i64 {
        count(&mut self.app.conn(), sql)
    }
}

/// The village, and a browser logged in as its team leader; the guard
/// keeps other browser tests waiting.
async fn logged_in() -> Option<(tokio::sync::MutexGuard<'static, ()>, Village, Browser)> {
    let one = ONE_BROWSER.lock().await;
    let v = a_village().await;
    let b = Browser::start(&v.base()).await?;
    b.log_in("totruong", 3).await;
    Some((one, v, b))
}

// ------------------------------------------------------------------ tests

#[actix_web::test]
async fn a_visit_recorded_offline_reaches_the_server_once() {
    let Some((_one, v, b)) = logged_in().await else {
        return;
    };

    b.online(&v.relay, false).await;
    // Typed without accents, found with them.
    let id = b.record_visit("nguyen van").await;
    assert_eq!(b.state_of(&id).await, "waiting");
    b.until_waiting(1).await;

    // A reload with no network: the service worker serves the app, the
    // record is still there and still waits.
    b.c().refresh().await.expect("reload");
    b.until(
        "return document.documentElement.dataset.ready === 'true'",
        "the app offline",
    )
    .await;
    b.until_state(&id, "waiting").await;
    assert_eq!(v.n("SELECT count(*) AS n FROM assistances"), 0);

    // Back online: the app sends it by itself.
    b.online(&v.relay, true).await;
    b.until_state(&id, "sent").await;
    assert_eq!(v.n("SELECT count(*) AS n FROM assistances"), 1);
    assert_eq!(
        v.n(&format!(
            "SELECT count(*) AS n FROM assistances WHERE id = '{id}' AND household_id = '{}' \
             AND kinds = ARRAY['vneid']",
            v.households[0]
        )),
        1
    );
    b.until_waiting(0).await;
    b.close().await;
}

#[actix_web::test]
async fn a_visit_resent_after_a_lost_answer_is_stored_once() {
    let Some((_one, v, b)) = logged_in().await else {
        return;
    };

    v.relay.set(SWALLOW_SYNC_ANSWER);
    let id = b.record_visit("hoa").await;
    // The server stored it, but the phone never heard: it still waits.
    let started = Instant::now();
    while v.relay.swallowed.load(Ordering::SeqCst) == 0 {
        assert!(started.elapsed() < WAIT, "the sync request never came");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        v.n(&format!(
            "SELECT count(*) AS n FROM assistances WHERE id = '{id}'"
        )),
        1
    );
    b.until_state(&id, "waiting").await;

    // Sent again: the server knows it by its id and keeps the one copy.
    b.click("#sync-now").await;
    b.until_state(&id, "sent").await;
    assert_eq!(v.n("SELECT count(*) AS n FROM assistances"), 1);
    assert_eq!(
        v.n("SELECT count(*) AS n FROM audit_events WHERE entity = 'assistance' AND action = 'create'"),
        1
    );
    b.close().await;
}

#[actix_web::test]
async fn a_rejected_visit_is_corrected_and_sent_again() {
    let Some((_one, v, b)) = logged_in().await else {
        return;
    };
    let id = b.record_visit("dung").await;
    b.until_state(&id, "sent").await;

    let res = v
        .app
        .post_json(
            &format!("/api/v1/assistances/{id}/reject"),
            Some(&v.admin),
            &json!({ "reason": "Thiếu ghi chú về kết quả" }),
        )
        .await;
    assert_eq!(res.status(), 200);

    // The officer's answer comes back to the phone, with the reason.
    b.click("#sync-now").await;
    b.until_state(&id, "rejected").await;
    let shown = b
        .js(&format!(
            "return document.querySelector('#records li[data-id=\"{id}\"]').innerText"
        ))
        .await;
    assert!(
        shown.as_str().unwrap().contains("Thiếu ghi chú về kết quả"),
        "{shown}"
    );

    b.click(&format!("#records li[data-id=\"{id}\"] a")).await;
    b.visible("#problem").await;
    b.type_in(
        "#visit-form textarea[name=notes]",
        "Đã hướng dẫn kích hoạt VNeID",
    )
    .await;
    b.click("#save").await;
    b.until_state(&id, "sent").await;
    assert_eq!(
        v.n(&format!(
            "SELECT count(*) AS n FROM assistances WHERE id = '{id}' AND status = 'submitted' \
             AND notes = 'Đã hướng dẫn kích hoạt VNeID' AND version = 3 AND status_reason IS NULL"
        )),
        1
    );
    assert_eq!(v.n("SELECT count(*) AS n FROM assistances"), 1);
    b.close().await;
}

#[actix_web::test]
async fn the_first_visit_is_small_on_3g_and_the_next_one_needs_no_network() {
    let _one = ONE_BROWSER.lock().await;
    let v = a_village().await;
    let Some(b) = Browser::start(&v.base()).await else {
        return;
    };
    b.screen(360, 740).await;
    b.network(false, Some(THREE_G)).await;
    let before = v.relay.received();
    b.open("/").await;
    b.visible("#login button[type=submit]").await;
    let usable_ms = b.js("return window.bansoReadyAt").await.as_f64().unwrap();
    // Everything the first visit fetches, the service worker's copies
    // included.
    b.until(
        "return navigator.serviceWorker.ready.then((r) => Boolean(r.active))",
        "the service worker",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let first_bytes = v.relay.received() - before;

    b.network(false, None).await;
    b.log_in("totruong", 3).await;
    b.online(&v.relay, false).await;
    b.open("/").await;
    b.visible("#new-visit").await;
    let repeat_ms = b.js("return window.bansoReadyAt").await.as_f64().unwrap();
    let from_worker = b
        .js("return performance.getEntriesByType('navigation')[0].workerStart > 0")
        .await;

    eprintln!(
        "web app, DevTools 3G (2,000 ms a request, 50,000 B/s): first visit to the login page \
         {first_bytes} bytes received in all, usable after {usable_ms:.0} ms"
    );
    eprintln!(
        "web app, network off: repeat visit (home screen) rendered from the service worker after {repeat_ms:.0} ms"
    );
    assert!(first_bytes < 100_000, "{first_bytes} bytes");
    assert_eq!(from_worker, Value::Bool(true));
    b.close().await;
}

/// Checks what a phone user needs on the screen in view: no sideways
/// scrolling, tap targets of 44 px or more, every field labelled.
async fn check_screen(b: &Browser, width: u32, name: &str) {
    let report = b
        .js(r#"
        const problems = [];
        if (document.documentElement.scrollWidth > window.innerWidth)
          problems.push(`scrolls sideways: ${document.documentElement.scrollWidth} > ${window.innerWidth}`);
        for (const el of document.querySelectorAll('button, a.button, input, select, textarea, .records a, .row')) {
          if (el.offsetParent === null || el.type === 'hidden') continue;
          const r = el.getBoundingClientRect();
          const small = el.type === 'checkbox' || el.type === 'radio'
            ? el.closest('.check, .radio').getBoundingClientRect().height < 44
            : r.height < 44;
          if (small) problems.push(`small target: ${el.outerHTML.slice(0, 80)}`);
          if (['INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName) && el.labels.length === 0 && !el.getAttribute('aria-label'))
            problems.push(`no label: ${el.outerHTML.slice(0, 80)}`);
        }
        return problems;
        "#)
        .await;
    assert_eq!(report, json!([]), "{name} at {width} px");
}

async fn save_picture(b: &Browser, name: &str, width: u32) {
    if std::env::var_os("BANSO_SCREENSHOTS").is_none() {
        return;
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&dir).expect("docs/screenshots");
    std::fs::write(dir.join(format!("{name}-{width}.png")), b.picture().await).expect("save");
}

/// A phone and a desktop.
const SIZES: [(u32, u32); 2] = [(360, 740), (1280, 800)];

#[actix_web::test]
async fn screens_fit_a_phone_and_a_desktop() {
    let Some((_one, v, b)) = logged_in().await else {
        return;
    };
    // Records in each state: verified, rejected, sent, waiting.
    let verified = b.record_visit("nguyen van an").await;
    let rejected = b.record_visit("nong thi").await;
    let sent = b.record_visit("hoang").await;
    for id in [&verified, &rejected, &sent] {
        b.until_state(id, "sent").await;
    }
    for (id, action, reason) in [
        (&verified, "verify", None),
        (&rejected, "reject", Some("Ngày hỗ trợ chưa đúng")),
    ] {
        let body = reason.map_or(json!({}), |r| json!({ "reason": r }));
        let res = v
            .app
            .post_json(
                &format!("/api/v1/assistances/{id}/{action}"),
                Some(&v.admin),
                &body,
            )
            .await;
        assert_eq!(res.status(), 200);
    }
    b.click("#sync-now").await;
    b.until_state(&verified, "verified").await;
    b.until_state(&rejected, "rejected").await;
    b.online(&v.relay, false).await;
    b.record_visit("an").await;

    for (width, height) in SIZES {
        b.screen(width, height).await;
        b.open("/#/").await;
        b.visible("#records").await;
        check_screen(&b, width, "home").await;
        save_picture(&b, "home", width).await;
    }
    for (width, height) in SIZES {
        b.screen(width, height).await;
        b.open("/#/households").await;
        b.type_in("input[name=q]", "nguyen").await;
        check_screen(&b, width, "households").await;
        save_picture(&b, "households", width).await;

        b.open("/#/visit/new").await;
        b.type_in("#visit-form input[name=q]", "hoa").await;
        b.click("#visit-household-results button").await;
        b.click("#help-vneid").await;
        b.click("#help-cashless").await;
        b.click("#help-cashless-not_done").await;
        check_screen(&b, width, "visit").await;
        save_picture(&b, "visit", width).await;

        b.open("/#/training/new").await;
        b.visible("#training-form").await;
        check_screen(&b, width, "training").await;
        save_picture(&b, "training", width).await;

        b.open("/#/household/new").await;
        b.type_in("#household-form input[name=head_name]", "Nguyen Van An")
            .await;
        b.visible("#likely-duplicates").await;
        check_screen(&b, width, "household").await;
        save_picture(&b, "household", width).await;
    }

    // The login screen, in both languages.
    b.online(&v.relay, true).await;
    b.open("/#/").await;
    b.until_waiting(0).await;
    b.click("#logout").await;
    b.visible("#login").await;
    for (width, height) in SIZES {
        b.screen(width, height).await;
        check_screen(&b, width, "login").await;
        save_picture(&b, "login", width).await;
    }
    b.click("#lang").await;
    b.until(
        "return document.querySelector('#login h1')?.textContent === 'Log in'",
        "the English login screen",
    )
    .await;
    b.close().await;
}

//! The web app in a real browser: headless Chromium driven over WebDriver
//! (chromedriver, through `fantoccini`), with DevTools commands sent
//! through chromedriver's `goog/cdp/execute` for the network and the
//! screen size.
//!
//! The browser reaches the server through a small TCP relay of the test's
//! own. Cutting the relay takes the network away from the page and its
//! service worker alike (DevTools' offline switch, also set, reaches only
//! the page); the relay can also swallow the answers to `/sync` requests
//! after the server has handled them, and it counts every byte the
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
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use chrono::Datelike;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, count, id_of, temp_dir, village};
use crate::reports::post as post_ok;

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
/// Requests to `/sync` are cut before they reach the server: what the
/// phone recorded keeps waiting while the rest of the network works.
const CUT_SYNC: u8 = 3;

/// A TCP relay from the browser to the server.
struct Relay {
    port: u16,
    mode: Arc<AtomicU8>,
    received: Arc<AtomicU64>,
    swallowed: Arc<AtomicU64>,
    /// When set, `GET /sw.js` is answered with this script instead of the
    /// server's: a new version of the app, as far as the browser can tell.
    worker: Arc<Mutex<Option<Vec<u8>>>>,
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
            worker: Arc::new(Mutex::new(None)),
        };
        let (mode, received, swallowed, worker) = (
            relay.mode.clone(),
            relay.received.clone(),
            relay.swallowed.clone(),
            relay.worker.clone(),
        );
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(client) = conn else { continue };
                if mode.load(Ordering::SeqCst) == CUT {
                    drop(client);
                    continue;
                }
                let ends = Ends {
                    mode: mode.clone(),
                    received: received.clone(),
                    swallowed: swallowed.clone(),
                    worker: worker.clone(),
                };
                std::thread::spawn(move || relay_one(client, target, ends));
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

/// What one relayed connection shares with the relay.
struct Ends {
    mode: Arc<AtomicU8>,
    received: Arc<AtomicU64>,
    swallowed: Arc<AtomicU64>,
    worker: Arc<Mutex<Option<Vec<u8>>>>,
}

fn relay_one(client: TcpStream, target: u16, ends: Ends) {
    let Ends {
        mode,
        received,
        swallowed,
        worker,
    } = ends;
    let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
        return;
    };
    let (Ok(mut c_in), Ok(mut s_out), Ok(mut c_reply)) =
        (client.try_clone(), server.try_clone(), client.try_clone())
    else {
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
            }
            if m == CUT_SYNC && buf[..n].starts_with(b"POST /api/v1/sync ") {
                break;
            }
            let new_worker = worker.lock().map(|w| w.clone()).unwrap_or(None);
            if let Some(script) = new_worker.filter(|_| buf[..n].starts_with(b"GET /sw.js ")) {
                // The answer before on this connection is complete (the
                // browser does not pipeline), so this one may follow it.
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/javascript; charset=utf-8\r\n\
                     Cache-Control: no-cache\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    script.len()
                );
                let _ = c_reply.write_all(head.as_bytes());
                let _ = c_reply.write_all(&script);
                break;
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
                    "--lang=vi", "--window-size=1280,900", "--hide-scrollbars",
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
        let browser = Browser {
            client: Some(client),
            driver,
            driver_port,
            session,
            http,
            base: base.to_string(),
        };
        // The clock of a phone in Vietnam, whatever the machine's: "today"
        // and "this month" are the server's.
        browser
            .cdp(
                "Emulation.setTimezoneOverride",
                json!({ "timezoneId": "Asia/Ho_Chi_Minh" }),
            )
            .await;
        Some(browser)
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

    /// The element `css`, once it is on screen.
    async fn element(&self, css: &str) -> fantoccini::elements::Element {
        self.visible(css).await;
        self.c().find(Locator::Css(css)).await.expect(css)
    }

    async fn type_in(&self, css: &str, text: &str) {
        self.element(css).await.send_keys(text).await.expect(css);
    }

    /// Replaces what `css` holds with `text`, as a person typing.
    async fn fill(&self, css: &str, text: &str) {
        let el = self.element(css).await;
        el.clear().await.expect(css);
        el.send_keys(text).await.expect(css);
    }

    /// The id of the newest record on the home screen.
    async fn newest_record(&self) -> String {
        self.visible("#records").await;
        self.js("return document.querySelector('#records li').dataset.id")
            .await
            .as_str()
            .expect("the new record's id")
            .to_string()
    }

    /// Logs in from the login screen and waits for the home screen with the
    /// village's households on the phone and the service worker in charge.
    async fn log_in(&self, username: &str, households: usize) {
        self.submit_login(username).await;
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

    async fn submit_login(&self, username: &str) {
        self.open("/").await;
        self.type_in("#username", username).await;
        self.type_in("#password", PASSWORD).await;
        self.click("#login button[type=submit]").await;
    }

    /// Logs in as an officer and waits for the dashboard, with the service
    /// worker in charge.
    async fn log_in_office(&self, username: &str) {
        self.submit_login(username).await;
        self.visible("#dashboard").await;
        self.until(
            "return Boolean(navigator.serviceWorker.controller)",
            "the service worker",
        )
        .await;
    }

    /// Picks `value` in the select `css`.
    async fn choose(&self, css: &str, value: &str) {
        let select = self.element(css).await;
        select.select_by_value(value).await.expect(css);
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
        self.newest_record().await
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
    village: banso::units::model::UnitRow,
    team: String,
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
    let team = id_of(&res.json::<Value>().await.unwrap());
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
        village: na_pinh,
        team,
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
    // (Chromium itself may resend a request whose connection dropped;
    // those answers are swallowed too.)
    b.until_state(&id, "waiting").await;
    assert_eq!(v.n("SELECT count(*) AS n FROM assistances"), 1);

    // Sent again: the server knows it by its id and keeps the one copy.
    v.relay.set(PASS);
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
async fn a_session_and_a_likely_duplicate_household_are_recorded_offline() {
    let Some((_one, v, b)) = logged_in().await else {
        return;
    };
    b.visible("#new-training").await;
    b.online(&v.relay, false).await;

    // A household whose head has the name of one already registered,
    // typed without accents.
    b.click("#new-household").await;
    b.fill("#household-form input[name=head_name]", "Nguyen Van An")
        .await;
    b.visible("#likely-duplicates").await;
    b.fill("#household-form input[name=size]", "5").await;
    b.click("#save").await;
    let household = b.newest_record().await;

    b.click("#new-training").await;
    b.click("#topic-digital_skills").await;
    b.click("#topic-scam_awareness").await;
    b.fill("#training-form input[name='attendees.total']", "25")
        .await;
    b.fill("#training-form input[name='attendees.women']", "14")
        .await;
    b.fill("#training-form input[name=place]", "Nhà văn hoá thôn")
        .await;
    b.click("#save").await;
    let training = b.newest_record().await;
    b.until_waiting(2).await;

    b.online(&v.relay, true).await;
    b.until_state(&training, "sent").await;
    // The server's duplicate warning, with the household it looks like.
    b.until_state(&household, "conflict").await;
    assert_eq!(
        v.n(&format!(
            "SELECT count(*) AS n FROM trainings WHERE id = '{training}' AND attendees_total = 25 \
             AND attendees_women = 14 AND place = 'Nhà văn hoá thôn' \
             AND topics @> ARRAY['digital_skills', 'scam_awareness']"
        )),
        1
    );
    assert_eq!(v.n("SELECT count(*) AS n FROM households"), 3);

    b.click(&format!("#records li[data-id=\"{household}\"] a"))
        .await;
    b.visible("#likely-duplicates").await;
    let warning = b
        .js("return document.getElementById('likely-duplicates').innerText")
        .await;
    assert!(
        warning.as_str().unwrap().contains("Nguyễn Văn An (NP-001)"),
        "{warning}"
    );
    b.click("#confirm-new").await;
    b.until_state(&household, "sent").await;
    assert_eq!(
        v.n(&format!(
            "SELECT count(*) AS n FROM households WHERE id = '{household}' \
             AND head_name = 'Nguyen Van An' AND size = 5"
        )),
        1
    );
    assert_eq!(v.n("SELECT count(*) AS n FROM households"), 4);
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
    // The officers' screens never reached the team leader's phone.
    let office = b
        .js("return caches.keys()
               .then((names) => Promise.all(names.map((n) => caches.open(n).then((c) => c.keys()))))
               .then((lists) => [...lists.flat().map((r) => r.url),
                                 ...performance.getEntriesByType('resource').map((e) => e.name)]
                 .filter((u) => /\\/(office|audit|exports)\\.js$/.test(u)))")
        .await;
    assert_eq!(office, json!([]));
    b.close().await;
}

/// Checks what a phone user needs on the screen in view: no sideways
/// scrolling, tap targets of 44 px or more, every field labelled, and
/// every text in contrast AA with what is behind it (4.5:1, or 3:1 for
/// large text), as WCAG 2 computes it from the colours the browser uses.
async fn check_screen(b: &Browser, width: u32, name: &str) {
    let report = b
        .js(r#"
        const problems = [];
        const rgb = (s) => {
          const m = /rgba?\(([^)]+)\)/.exec(s || '');
          if (!m) return null;
          const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
          return { c: p.slice(0, 3), a: p.length > 3 ? p[3] : 1 };
        };
        const lum = ([r, g, b]) => {
          const f = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
          return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
        };
        const behind = (el) => {
          for (let e = el; e; e = e.parentElement) {
            const bg = rgb(getComputedStyle(e).backgroundColor);
            if (bg && bg.a > 0) return bg.c;
          }
          return [255, 255, 255];
        };
        let lowest = 21;
        const walker = document.createTreeWalker(document.getElementById('app'), NodeFilter.SHOW_TEXT);
        const seen = new Set();
        while (walker.nextNode()) {
          const el = walker.currentNode.parentElement;
          if (!walker.currentNode.textContent.trim() || seen.has(el)) continue;
          seen.add(el);
          const box = el.getBoundingClientRect();
          if (box.width === 0 || box.height === 0 || el.closest('[hidden], :disabled')) continue;
          const cs = getComputedStyle(el);
          const fg = rgb(el instanceof SVGElement ? cs.fill : cs.color);
          if (!fg) continue;
          const [a, z] = [lum(fg.c), lum(behind(el))];
          const ratio = (Math.max(a, z) + 0.05) / (Math.min(a, z) + 0.05);
          const size = parseFloat(cs.fontSize);
          const large = size >= 24 || (parseInt(cs.fontWeight, 10) >= 700 && size >= 18.66);
          lowest = Math.min(lowest, ratio);
          if (ratio < (large ? 3 : 4.5))
            problems.push(`contrast ${ratio.toFixed(2)}: ${el.outerHTML.slice(0, 80)}`);
        }
        window.bansoLowestContrast = lowest;
        if (document.documentElement.scrollWidth > window.innerWidth)
          problems.push(`scrolls sideways: ${document.documentElement.scrollWidth} > ${window.innerWidth}`);
        for (const el of document.querySelectorAll('button, a.button, input, select, textarea, .records a, .row, .bar-row')) {
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
    let lowest = b.js("return window.bansoLowestContrast").await;
    let lowest = lowest.as_f64().unwrap_or(0.0);
    eprintln!("{name} at {width} px: lowest text contrast {lowest:.2}:1");
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

// ------------------------------------------------------------------ office

/// The village of `a_village` and a second one in the same commune
/// (Thục Phán, 01273), with visits and a session this month and last, some
/// verified; and the commune's officer (`canbo.xa`).
struct Office {
    v: Village,
    commune: banso::units::model::UnitRow,
    khuoi_ky: banso::units::model::UnitRow,
    officer: uuid::Uuid,
    /// Visits of this month still waiting for checking.
    submitted: Vec<String>,
    /// The session of this month, waiting for checking.
    training: String,
}

async fn an_office() -> Office {
    let v = a_village().await;
    let (app, admin) = (&v.app, &v.admin);
    let commune = crate::helpers::unit(app, "01273");
    let khuoi_ky = village(app, "01273", "Thôn Khuổi Ky");
    post_ok(
        app,
        admin,
        "/api/v1/teams",
        json!({ "village_id": khuoi_ky.id, "name": "Tổ CNSCĐ thôn Khuổi Ky" }),
    )
    .await;
    let mut kk = Vec::new();
    for (head, poverty) in [("Lục Văn Sáng", "poor"), ("Đàm Thị Xuân", "not_poor")] {
        let body = json!({ "village_id": khuoi_ky.id, "head_name": head, "size": 5,
                           "poverty_status": poverty });
        kk.push(id_of(
            &post_ok(app, admin, "/api/v1/households", body).await,
        ));
    }
    let today = banso::units::repo::today();
    let last_month = (today.with_day(1).unwrap() - chrono::Days::new(1)).with_day(3);
    let (today, last_month) = (today.to_string(), last_month.unwrap().to_string());
    let visit = |household: String, on: String| {
        let body = json!({ "id": uuid::Uuid::new_v4(), "household_id": household,
                           "visited_on": on, "help": [{ "kind": "vneid", "outcome": "done" }] });
        async move { id_of(&post_ok(app, admin, "/api/v1/assistances", body).await) }
    };
    let hh = &v.households;
    let mut verified = Vec::new();
    for (household, on) in [
        (hh[0].clone(), today.clone()),
        (hh[2].clone(), last_month.clone()),
        (kk[0].clone(), today.clone()),
    ] {
        verified.push(visit(household, on).await);
    }
    let mut submitted = Vec::new();
    for household in [hh[1].clone(), kk[1].clone(), kk[0].clone()] {
        submitted.push(visit(household, today.clone()).await);
    }
    for id in &verified {
        post_ok(
            app,
            admin,
            &format!("/api/v1/assistances/{id}/verify"),
            json!({}),
        )
        .await;
    }
    let body = json!({
        "id": uuid::Uuid::new_v4(), "team_id": v.team, "held_on": today, "duration_minutes": 90,
        "topics": ["digital_skills"], "place": "Nhà văn hoá thôn",
        "attendees": { "total": 18, "women": 9, "ethnic_minority": 15, "poor": 4 },
    });
    let training = id_of(&post_ok(app, admin, "/api/v1/trainings", body).await);
    let officer = app.create_user("canbo.xa", "officer", Some("01273")).await;
    Office {
        v,
        commune,
        khuoi_ky,
        officer,
        submitted,
        training,
    }
}

/// The number at `path` (`members.total`) of a summary's indicators;
/// `null` for the share without poor households.
fn at_path<'a>(figures: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(figures, |v, k| &v[k])
}

fn same_number(shown: &str, expected: &Value) -> bool {
    match expected {
        Value::Null => shown == "null",
        v => shown.parse::<f64>().ok() == v.as_f64(),
    }
}

impl Browser {
    /// Reads the dashboard on screen and the report API for the same unit,
    /// period and status, and checks that every figure, every bar and
    /// every point of the line are the API's. Returns the API's answer.
    async fn dashboard_matches(&self, app: &TestApp, token: &str) -> Value {
        let shown = self
            .js(r#"
            const d = document.getElementById('dashboard').dataset;
            const line = document.getElementById('month-line');
            return {
              unit: d.unit, from: d.from, to: d.to, status: d.status,
              figures: [...document.querySelectorAll('#dashboard [data-figure]')]
                .map((e) => [e.dataset.figure, e.dataset.value]),
              bars: [...document.querySelectorAll('#child-bars [data-unit]')]
                .map((e) => [e.dataset.unit, e.dataset.value]),
              show: document.getElementById('show').value,
              line: line ? { from: line.dataset.from, to: line.dataset.to,
                points: [...line.querySelectorAll('circle')].map((c) => [c.dataset.month, c.dataset.value]) } : null,
            };
            "#)
            .await;
        let query = |from: &Value, to: &Value, group: &str| {
            format!(
                "unit_id={}&from={}&to={}&status={}&group_by={group}",
                shown["unit"].as_str().unwrap(),
                from.as_str().unwrap(),
                to.as_str().unwrap(),
                shown["status"].as_str().unwrap()
            )
        };
        let api =
            crate::reports::summary(app, token, &query(&shown["from"], &shown["to"], "child"))
                .await;
        let figures = shown["figures"].as_array().unwrap();
        assert!(figures.len() >= 10, "{shown}");
        for pair in figures {
            let (path, value) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
            let expected = at_path(&api["totals"], path);
            assert!(
                same_number(value, expected),
                "{path}: shown {value}, the API says {expected}"
            );
        }
        let chart = shown["show"].as_str().unwrap();
        let rows = api["rows"].as_array().unwrap();
        let bars = shown["bars"].as_array().unwrap();
        assert_eq!(bars.len(), rows.len(), "{shown}");
        for row in rows {
            let id = row["unit"]["id"].as_str().unwrap();
            let bar = bars
                .iter()
                .find(|b| b[0] == id)
                .expect("a bar for each row");
            assert!(
                same_number(bar[1].as_str().unwrap(), at_path(row, chart)),
                "{id}: {bar}"
            );
        }
        let line = &shown["line"];
        let by_month =
            crate::reports::summary(app, token, &query(&line["from"], &line["to"], "month")).await;
        let points = line["points"].as_array().unwrap();
        let months = by_month["rows"].as_array().unwrap();
        assert_eq!(points.len(), months.len(), "{line}");
        for (p, m) in points.iter().zip(months) {
            assert_eq!(p[0], m["month"]);
            assert!(
                same_number(p[1].as_str().unwrap(), at_path(m, chart)),
                "{p} {m}"
            );
        }
        api
    }

    /// Waits for the dashboard of `unit` with `status`.
    async fn until_dashboard(&self, unit: &uuid::Uuid, extra: &str) {
        self.until(
            &format!(
                "return Boolean(document.querySelector('#dashboard[data-unit=\"{unit}\"]{extra}'))"
            ),
            &format!("the dashboard of {unit} {extra}"),
        )
        .await;
    }

    /// Sets a date field as a date picker does, and tells the page.
    async fn set_date(&self, css: &str, value: &str) {
        self.visible(css).await;
        self.js(&format!(
            "const e = document.querySelector({}); e.value = {}; e.dispatchEvent(new Event('change', {{ bubbles: true }}));",
            json!(css),
            json!(value)
        ))
        .await;
    }
}

/// The office, a browser on it (not logged in yet) and the officer's access
/// token; the guard keeps other browser tests waiting.
async fn at_the_office() -> Option<(
    tokio::sync::MutexGuard<'static, ()>,
    Office,
    Browser,
    String,
)> {
    let one = ONE_BROWSER.lock().await;
    let o = an_office().await;
    let b = Browser::start(&o.v.base()).await?;
    let token = o.v.app.tokens("canbo.xa").await["access_token"]
        .as_str()
        .expect("the officer's token")
        .to_string();
    Some((one, o, b, token))
}

fn poor_reached(summary: &Value) -> i64 {
    summary["totals"]["poor_households_assisted"]
        .as_i64()
        .unwrap()
}

#[actix_web::test]
async fn the_dashboard_shows_the_report_apis_figures_and_drills_down() {
    let Some((_one, o, b, token)) = at_the_office().await else {
        return;
    };
    let app = &o.v.app;
    b.log_in_office("canbo.xa").await;

    // The first screen: the commune, this month, verified records; the
    // poor households reached, first. Two poor households had a verified
    // visit this month (a third, still unchecked, does not count yet).
    b.until_dashboard(&o.commune.id, "[data-status=verified]")
        .await;
    let headline = b
        .js("return document.getElementById('headline').innerText")
        .await;
    assert!(
        headline.as_str().unwrap().contains("tháng này"),
        "{headline}"
    );
    let s = b.dashboard_matches(app, &token).await;
    assert_eq!(poor_reached(&s), 2, "{s}");
    assert_eq!(s["rows"].as_array().unwrap().len(), 2);

    // Submitted records too.
    b.choose("#status", "all").await;
    b.until_dashboard(&o.commune.id, "[data-status=all]").await;
    let s = b.dashboard_matches(app, &token).await;
    assert_eq!(poor_reached(&s), 3, "{s}");
    assert_eq!(s["totals"]["visits"], 5);

    // Another figure in the charts.
    b.choose("#show", "visits").await;
    b.until_dashboard(&o.commune.id, "[data-show=visits]").await;
    b.dashboard_matches(app, &token).await;

    // Down to Khuổi Ky, its own figures, and back up.
    b.click(&format!("#child-bars [data-unit=\"{}\"]", o.khuoi_ky.id))
        .await;
    b.until_dashboard(&o.khuoi_ky.id, "[data-status=all]").await;
    let s = b.dashboard_matches(app, &token).await;
    assert_eq!(s["unit"]["name"], "Thôn Khuổi Ky");
    assert_eq!(s["totals"]["visits"], 3);
    assert_eq!(poor_reached(&s), 1);
    b.visible("#no-children").await;
    b.click(&format!("#crumbs a[data-unit=\"{}\"]", o.commune.id))
        .await;
    b.until_dashboard(&o.commune.id, "[data-status=all]").await;
    assert_eq!(
        b.js("return document.getElementById('crumbs')").await,
        Value::Null
    );

    // Last month: one verified visit, to a poor household of Nà Pình.
    b.choose("#status", "verified").await;
    b.until_dashboard(&o.commune.id, "[data-status=verified]")
        .await;
    b.choose("#period", "last_month").await;
    b.until_dashboard(&o.commune.id, "[data-period=last_month]")
        .await;
    let s = b.dashboard_matches(app, &token).await;
    assert_eq!(poor_reached(&s), 1, "{s}");
    assert_eq!(s["totals"]["visits"], 1);

    // A range of one's own, and one that ends before it starts.
    b.choose("#period", "custom").await;
    let from = o.v.village.valid_from.to_string();
    b.set_date("#to", "2025-01-01").await;
    b.set_date("#from", "2025-06-01").await;
    b.until(
        "return document.getElementById('range-error')?.textContent.length > 0",
        "the range refused",
    )
    .await;
    b.set_date("#from", &from).await;
    b.set_date("#to", &banso::units::repo::today().to_string())
        .await;
    b.until_dashboard(&o.commune.id, &format!("[data-from=\"{from}\"]"))
        .await;
    let s = b.dashboard_matches(app, &token).await;
    assert_eq!(poor_reached(&s), 3, "{s}");

    // A unit outside the area (or none at all) in the address: the
    // server's reason, and a way to try again.
    b.open("/#/dashboard?unit=00000000-0000-0000-0000-000000000000")
        .await;
    b.visible("#office-error").await;
    let said = b
        .js("return document.getElementById('office-error').innerText")
        .await;
    assert!(!said.as_str().unwrap().trim().is_empty(), "{said}");
    b.close().await;
}

impl Browser {
    /// The ids of the records the queue lists, in order.
    async fn queue_ids(&self) -> Vec<String> {
        self.js("return [...document.querySelectorAll('#queue-list li')].map((e) => e.dataset.id)")
            .await
            .as_array()
            .expect("the records listed")
            .iter()
            .map(|x| x.as_str().unwrap_or("").to_string())
            .collect()
    }
}

/// The ids of the visits waiting for checking, newest first as the
/// database orders them.
fn submitted_newest_first(v: &Village) -> Vec<String> {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    diesel::sql_query(
        "SELECT id::text AS id FROM assistances WHERE status = 'submitted' \
         ORDER BY created_at DESC, id DESC",
    )
    .load::<Row>(&mut v.app.conn())
    .expect("the visits")
    .into_iter()
    .map(|r| r.id)
    .collect()
}

#[actix_web::test]
async fn an_officer_verifies_several_records_at_once_and_locks_a_month() {
    let _one = ONE_BROWSER.lock().await;
    let o = an_office().await;
    let Some(b) = Browser::start(&o.v.base()).await else {
        return;
    };
    let v = &o.v;
    b.log_in_office("canbo.xa").await;
    b.click("#tab-queue").await;
    b.until(
        "return document.querySelector('#queue')?.dataset.count === '3'",
        "three visits waiting",
    )
    .await;
    let shown = b.queue_ids().await;
    // Newest first, in the server's order: the last one recorded on top.
    assert_eq!(shown, submitted_newest_first(v));
    let mut expected = o.submitted.clone();
    expected.sort();
    let mut sorted = shown.clone();
    sorted.sort();
    assert_eq!(sorted, expected);

    // Two a page: the rest comes through the server's cursor, in the same
    // order, each once.
    b.open("/#/queue?per=2").await;
    b.until(
        "return document.querySelector('#queue')?.dataset.count === '2' && !document.getElementById('queue-more').hidden",
        "the first page of two",
    )
    .await;
    b.click("#queue-more").await;
    b.until(
        "return document.querySelector('#queue')?.dataset.count === '3' && document.getElementById('queue-more').hidden",
        "the second page",
    )
    .await;
    let paged = b.queue_ids().await;
    assert_eq!(paged, shown);
    // Only the hash changes, so the paged list stays on screen until the
    // new one replaces it: it is marked, and the new one waited for.
    b.js("document.getElementById('queue').dataset.stale = '1'")
        .await;
    b.open("/#/queue").await;
    b.until(
        "const q = document.querySelector('#queue'); return q && !q.dataset.stale && q.dataset.count === '3'",
        "three visits waiting",
    )
    .await;

    // Rejecting needs a reason: nothing changes without one.
    b.click(&format!("#pick-{}", shown[0])).await;
    b.click("#reject-selected").await;
    b.until(
        "return document.getElementById('reject-reason-error')?.textContent.length > 0",
        "the reason asked for",
    )
    .await;
    assert_eq!(
        v.n("SELECT count(*) AS n FROM assistances WHERE status = 'rejected'"),
        0
    );

    // Who was visited, without opening each record.
    let listed = b
        .js("return document.getElementById('queue-list').innerText")
        .await;
    for who in [
        "Nông Thị Hoa · Thôn Nà Pình",
        "Đàm Thị Xuân · Thôn Khuổi Ky",
    ] {
        assert!(listed.as_str().unwrap().contains(who), "{who}: {listed}");
    }

    // One of them changes on the server while the officer looks.
    let stale = &o.submitted[2];
    let res = crate::helpers::patch(
        &v.app,
        &v.admin,
        &format!("/api/v1/assistances/{stale}"),
        None,
        &json!({ "notes": "Đã bổ sung", "version": 1 }),
    )
    .await;
    assert_eq!(res.status(), 200);

    // All three at once: two verified, the changed one refused and named.
    b.click("#select-all").await;
    b.until(
        "return document.getElementById('selected-count')?.dataset.count === '3'",
        "three selected",
    )
    .await;
    b.click("#verify-selected").await;
    b.visible("#queue-done[data-done=\"2\"]").await;
    b.visible("#queue-failed").await;
    let failed = b
        .js("return document.getElementById('queue-failed').innerText")
        .await;
    assert!(
        failed.as_str().unwrap().contains("Lục Văn Sáng"),
        "{failed}"
    );
    b.until(
        "return document.querySelector('#queue')?.dataset.count === '1'",
        "the changed visit still waiting",
    )
    .await;
    assert_eq!(
        v.n(&format!(
            "SELECT count(*) AS n FROM assistances WHERE id = '{stale}' AND status = 'submitted' AND version = 2"
        )),
        1
    );
    // Seen again, it is verified.
    b.click(".verify-one").await;
    b.visible("#queue-done[data-done=\"1\"]").await;
    b.visible("#queue-empty").await;
    let ids = o
        .submitted
        .iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(
        v.n(&format!(
            "SELECT count(*) AS n FROM assistances WHERE id IN ({ids}) AND status = 'verified' \
             AND status_by = '{}'",
            o.officer
        )),
        3
    );

    // The month still has a session to check: the lock says so, and
    // nothing is locked.
    b.click("#to-months").await;
    b.visible("#months").await;
    b.until(
        "const u = document.getElementById('unchecked'); return u && u.dataset.trainings === '1' && u.dataset.assistances === '0'",
        "one session unchecked",
    )
    .await;
    b.click("#lock").await;
    b.visible("#lock-unchecked[data-trainings=\"1\"]").await;
    let warning = b
        .js("return document.getElementById('lock-unchecked').innerText")
        .await;
    assert!(
        warning.as_str().unwrap().contains("Thôn Nà Pình"),
        "{warning}"
    );
    assert_eq!(v.n("SELECT count(*) AS n FROM period_locks"), 0);

    // Rejected with a reason, from the queue of sessions.
    b.click("#unchecked-queue").await;
    b.until(
        "return document.querySelector('#queue')?.dataset.count === '1'",
        "the session waiting",
    )
    .await;
    b.type_in("#reject-reason", "Thiếu danh sách người tham dự")
        .await;
    b.click(".reject-one").await;
    b.visible("#queue-done[data-done=\"1\"]").await;
    assert_eq!(
        v.n(&format!(
            "SELECT count(*) AS n FROM trainings WHERE id = '{}' AND status = 'rejected' \
             AND status_reason = 'Thiếu danh sách người tham dự' AND status_by = '{}'",
            o.training, o.officer
        )),
        1
    );

    // Now everything is checked: the month locks.
    b.click("#to-months").await;
    b.visible("#unchecked[data-trainings=\"0\"][data-assistances=\"0\"]")
        .await;
    b.type_in("#lock-reason", "Báo cáo tháng đã gửi").await;
    b.click("#lock").await;
    b.visible("#lock-state[data-locked=\"true\"]").await;
    let month = format!("{}-01", &banso::units::repo::today().to_string()[..7]);
    assert_eq!(
        v.n(&format!(
            "SELECT count(*) AS n FROM period_locks WHERE unit_id = '{}' AND month = '{month}' \
             AND reason = 'Báo cáo tháng đã gửi' AND locked_by = '{}'",
            o.commune.id, o.officer
        )),
        1
    );

    // Unlocking needs a reason too.
    b.click("#unlock").await;
    b.until(
        "return document.getElementById('lock-reason-error')?.textContent.length > 0",
        "the reason asked for",
    )
    .await;
    assert_eq!(v.n("SELECT count(*) AS n FROM period_locks"), 1);
    b.type_in("#lock-reason", "Bổ sung hoạt động còn thiếu")
        .await;
    b.click("#unlock").await;
    b.visible("#lock-state[data-locked=\"false\"]").await;
    assert_eq!(v.n("SELECT count(*) AS n FROM period_locks"), 0);
    b.close().await;
}

// ------------------------------------------------------------------ field, continued

/// `editSession(change)`: changes the session the app keeps in IndexedDB,
/// as the next day (or a revoked token) would find it.
const EDIT_SESSION: &str = "((change) => new Promise((resolve, reject) => {
  const r = indexedDB.open('banso');
  r.onerror = () => reject(r.error);
  r.onsuccess = () => {
    const db = r.result;
    const tx = db.transaction('meta', 'readwrite');
    const meta = tx.objectStore('meta');
    const get = meta.get('session');
    get.onsuccess = () => { const s = get.result; change(s); meta.put(s, 'session'); };
    tx.oncomplete = () => { db.close(); resolve(true); };
    tx.onerror = () => { db.close(); reject(tx.error); };
  };
}))";

impl Browser {
    /// Changes the stored session with `change` (JavaScript taking the
    /// session) and opens the app again, as a phone does the next morning.
    async fn reopen_with_session(&self, change: &str) {
        self.js(&format!("return {EDIT_SESSION}({change})")).await;
        self.c().refresh().await.expect("reload");
        self.until(
            "return document.documentElement.dataset.ready === 'true'",
            "the app again",
        )
        .await;
    }

    /// Records a visit to the household found by `search`, asking for the
    /// position and waiting for `seen` where it is shown.
    async fn visit_located(&self, search: &str, seen: &str) -> String {
        self.click("#new-visit").await;
        self.type_in("#visit-form input[name=q]", search).await;
        self.click("#visit-household-results button").await;
        self.click("#help-vneid").await;
        self.click("#take-position").await;
        self.until(
            &format!(
                "return document.getElementById('position-text')?.textContent.includes({})",
                json!(seen)
            ),
            seen,
        )
        .await;
        self.click("#save").await;
        self.newest_record().await
    }
}

#[actix_web::test]
async fn a_phone_stays_logged_in_across_days_with_its_refresh_token() {
    let Some((_one, v, b)) = logged_in().await else {
        return;
    };
    let tokens = || {
        v.n("SELECT count(*) AS n FROM refresh_tokens \
             WHERE user_id = (SELECT id FROM users WHERE username = 'totruong')")
    };
    let used = || {
        v.n(
            "SELECT count(*) AS n FROM refresh_tokens WHERE used_at IS NOT NULL \
             AND user_id = (SELECT id FROM users WHERE username = 'totruong')",
        )
    };
    assert_eq!((tokens(), used()), (1, 0));

    // The next morning the access token has expired: the app renews it
    // with the refresh token before it sends.
    b.reopen_with_session("(s) => { s.access_until = 0; }")
        .await;
    let first = b.record_visit("hoa").await;
    b.until_state(&first, "sent").await;
    assert_eq!((tokens(), used()), (2, 1));

    // An access token the server no longer takes, though the phone thinks
    // it good: refused once, renewed, and the call made again.
    b.reopen_with_session(
        "(s) => { s.access_token = 'not-a-token'; s.access_until = Date.now() + 3600000; }",
    )
    .await;
    let second = b.record_visit("dung").await;
    b.until_state(&second, "sent").await;
    assert_eq!((tokens(), used()), (3, 2));
    assert_eq!(v.n("SELECT count(*) AS n FROM assistances"), 2);

    // A refresh token the server refuses (revoked, or past its 30 days):
    // the login screen, and what waits on the phone stays there.
    b.online(&v.relay, false).await;
    let third = b.record_visit("an").await;
    b.reopen_with_session("(s) => { s.refresh_token = 'revoked'; s.access_until = 0; }")
        .await;
    v.relay.set(PASS);
    b.network(false, None).await;
    b.visible("#login").await;
    let kept = b
        .js(&format!(
            "return {IDB_COUNT}('records').then((n) => n, () => -1)"
        ))
        .await;
    assert_eq!(kept, json!(3));
    assert_eq!(v.n("SELECT count(*) AS n FROM assistances"), 2);

    // Logged in again, it is sent.
    b.log_in("totruong", 3).await;
    b.until_state(&third, "sent").await;
    assert_eq!(v.n("SELECT count(*) AS n FROM assistances"), 3);
    b.close().await;
}

#[actix_web::test]
async fn a_visit_keeps_a_position_only_when_asked_for_and_given() {
    let Some((_one, v, b)) = logged_in().await else {
        return;
    };
    let origin = v.base();
    b.cdp(
        "Browser.grantPermissions",
        json!({ "origin": origin, "permissions": ["geolocation"] }),
    )
    .await;
    b.cdp(
        "Emulation.setGeolocationOverride",
        json!({ "latitude": 22.6657, "longitude": 106.2522, "accuracy": 15 }),
    )
    .await;
    let placed = b.visit_located("hoa", "22,66570").await;

    // The phone refuses to tell: the visit is recorded without it.
    b.cdp(
        "Browser.setPermission",
        json!({ "origin": origin, "permission": { "name": "geolocation" }, "setting": "denied" }),
    )
    .await;
    let unplaced = b.visit_located("dung", "Không lấy được vị trí").await;

    // Not asked for: none either.
    let plain = b.record_visit("nguyen").await;
    for id in [&placed, &unplaced, &plain] {
        b.until_state(id, "sent").await;
    }
    assert_eq!(
        v.n(&format!(
            "SELECT count(*) AS n FROM assistances WHERE id = '{placed}' \
             AND abs(latitude - 22.6657) < 1e-9 AND abs(longitude - 106.2522) < 1e-9 \
             AND accuracy_m = 15"
        )),
        1
    );
    assert_eq!(
        v.n(&format!(
            "SELECT count(*) AS n FROM assistances WHERE id IN ('{unplaced}', '{plain}') \
             AND latitude IS NULL AND longitude IS NULL AND accuracy_m IS NULL"
        )),
        2
    );
    b.close().await;
}

#[actix_web::test]
async fn a_new_version_takes_over_only_when_no_form_is_open() {
    let Some((_one, v, b)) = logged_in().await else {
        return;
    };
    // A visit waits on the phone: its sync never reaches the server.
    v.relay.set(CUT_SYNC);
    let waiting = b.record_visit("hoa").await;
    b.until_state(&waiting, "waiting").await;

    // A form open, half filled in.
    b.click("#new-visit").await;
    b.type_in("#visit-form input[name=q]", "dung").await;
    b.click("#visit-household-results button").await;
    b.click("#help-vneid").await;
    b.until(
        "return document.getElementById('saved')?.textContent.length > 0",
        "the draft saved",
    )
    .await;
    let draft = b
        .js("return location.hash.split('/').pop()")
        .await
        .as_str()
        .unwrap()
        .to_string();
    b.js("window.bansoBefore = true").await;

    // The server's next version: another service worker script.
    let current = reqwest::get(v.app.url("/sw.js"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    *v.relay.worker.lock().unwrap() =
        Some(format!("{current}\n// the next version\n").into_bytes());
    b.js(
        "return navigator.serviceWorker.getRegistration().then((r) => r.update()).then(() => true)",
    )
    .await;
    b.until(
        "return navigator.serviceWorker.getRegistration().then((r) => Boolean(r.waiting) && r.waiting.state === 'installed')",
        "the new version installed",
    )
    .await;

    // Asked to take over, as another window would, it finds the form
    // open and keeps waiting; the page is not reloaded.
    b.js("return navigator.serviceWorker.getRegistration().then((r) => { r.waiting.postMessage('take-over'); return true; })")
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        b.js("return navigator.serviceWorker.getRegistration().then((r) => Boolean(r.waiting))")
            .await,
        json!(true)
    );
    assert_eq!(
        b.js(
            "return window.bansoBefore === true && Boolean(document.getElementById('visit-form'))"
        )
        .await,
        json!(true)
    );

    // The form left: the new version takes over, the page reloads into
    // it, and nothing on the phone is lost.
    b.click("a.brand").await;
    b.until(
        "return window.bansoBefore === undefined && document.documentElement.dataset.ready === 'true'",
        "the page reloaded into the new version",
    )
    .await;
    b.until(
        "return navigator.serviceWorker.getRegistration().then((r) => !r.waiting && Boolean(r.active) && Boolean(navigator.serviceWorker.controller))",
        "the new version in charge",
    )
    .await;
    b.until_state(&waiting, "waiting").await;
    b.until_state(&draft, "draft").await;

    v.relay.set(PASS);
    b.click("#sync-now").await;
    b.until_state(&waiting, "sent").await;
    assert_eq!(
        v.n(&format!(
            "SELECT count(*) AS n FROM assistances WHERE id = '{waiting}'"
        )),
        1
    );
    assert_eq!(v.n("SELECT count(*) AS n FROM assistances"), 1);
    b.close().await;
}

#[actix_web::test]
async fn office_screens_fit_a_phone_and_a_desktop() {
    let _one = ONE_BROWSER.lock().await;
    let o = an_office().await;
    let Some(b) = Browser::start(&o.v.base()).await else {
        return;
    };
    // The exports screen is shown with a file taken; it is not kept.
    b.cdp("Browser.setDownloadBehavior", json!({ "behavior": "deny" }))
        .await;
    b.log_in_office("canbo.xa").await;
    for (width, height) in SIZES {
        b.screen(width, height).await;
        b.open("/#/dashboard?status=all").await;
        b.until_dashboard(&o.commune.id, "[data-status=all]").await;
        b.visible("#child-bars").await;
        check_screen(&b, width, "dashboard").await;
        save_picture(&b, "dashboard", width).await;

        b.open("/#/queue").await;
        b.visible("#queue-list").await;
        b.click(&format!("#pick-{}", o.submitted[0])).await;
        check_screen(&b, width, "queue").await;
        save_picture(&b, "queue", width).await;

        b.open("/#/months").await;
        b.visible("#lock-state").await;
        b.click("#lock").await;
        b.visible("#lock-unchecked").await;
        check_screen(&b, width, "months").await;
        save_picture(&b, "months", width).await;

        b.open("/#/audit").await;
        b.visible("#audit-list").await;
        check_screen(&b, width, "audit").await;
        save_picture(&b, "audit", width).await;

        b.open("/#/exports").await;
        b.visible("#export-lists").await;
        b.click("#export-assistances-csv").await;
        b.visible("#export-assistances-status[data-state=done]")
            .await;
        check_screen(&b, width, "exports").await;
        save_picture(&b, "exports", width).await;
    }
    // The officer's figures, in English.
    b.open("/#/dashboard").await;
    b.click("#lang").await;
    b.until(
        "return document.getElementById('headline')?.innerText.includes('this month')",
        "the English dashboard",
    )
    .await;
    b.close().await;
}

// ------------------------------------------------------------------ audit trail and exports

impl Browser {
    /// The ids of the events listed on the audit screen, in order.
    async fn audit_ids(&self) -> Vec<i64> {
        self.js("return [...document.querySelectorAll('#audit-list li')].map((e) => Number(e.dataset.id))")
            .await
            .as_array()
            .expect("the events listed")
            .iter()
            .map(|v| v.as_i64().expect("an id"))
            .collect()
    }

    /// Opens the audit screen at `query` and waits for it.
    async fn open_audit(&self, query: &str) {
        self.open(&format!("/#/audit{query}")).await;
        self.until(
            &format!(
                "return document.querySelector('#audit')?.dataset.query === {}",
                json!(query.trim_start_matches('?'))
            ),
            "the audit trail",
        )
        .await;
        self.visible("#audit-count").await;
    }

    /// Shows every page of the list on screen ("Xem thêm" until it is gone).
    async fn every_page(&self, more: &str, section: &str) {
        loop {
            let shown = self
                .js(&format!(
                    "const m = document.querySelector({}); return Boolean(m && !m.hidden)",
                    json!(more)
                ))
                .await;
            if shown != json!(true) {
                return;
            }
            let before = self
                .js(&format!(
                    "return document.querySelector({}).dataset.count",
                    json!(section)
                ))
                .await;
            self.click(more).await;
            self.until(
                &format!(
                    "return document.querySelector({}).dataset.count !== {before}",
                    json!(section)
                ),
                "the next page",
            )
            .await;
        }
    }
}

/// The ids of the events `sql` (a condition on `audit_events`) selects in
/// the commune, newest first: what the officer's screen must list.
fn trail_ids(v: &Village, commune: &banso::units::model::UnitRow, sql: &str) -> Vec<i64> {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    diesel::sql_query(format!(
        "SELECT id FROM audit_events WHERE area_path LIKE '{}%' AND ({sql}) ORDER BY id DESC",
        commune.path
    ))
    .load::<Row>(&mut v.app.conn())
    .expect("the events")
    .into_iter()
    .map(|r| r.id)
    .collect()
}

#[actix_web::test]
async fn an_officer_reads_the_audit_trail_of_the_area_filtered() {
    let Some((_one, o, b, token)) = at_the_office().await else {
        return;
    };
    let (v, app) = (&o.v, &o.v.app);
    // What the officer does in the test: one visit verified, one sent back.
    post_ok(
        app,
        &token,
        &format!("/api/v1/assistances/{}/verify", o.submitted[0]),
        json!({}),
    )
    .await;
    post_ok(
        app,
        &token,
        &format!("/api/v1/assistances/{}/reject", o.submitted[1]),
        json!({ "reason": "Thiếu kết quả hỗ trợ" }),
    )
    .await;
    b.log_in_office("canbo.xa").await;
    b.click("#tab-audit").await;
    b.visible("#audit-list").await;
    // Newest first: the officer's login, then the rejection, then the
    // verification, all in the first page.
    let all = trail_ids(v, &o.commune, "true");
    assert!(all.len() > 3, "{all:?}");
    let shown = b.audit_ids().await;
    assert_eq!(shown, all.iter().copied().take(50).collect::<Vec<_>>());
    let listed = b
        .js("return document.getElementById('audit-list').innerText")
        .await;
    let listed = listed.as_str().unwrap();
    for said in [
        "Trả lại · Lượt hỗ trợ",
        "Lý do: Thiếu kết quả hỗ trợ",
        "Xác nhận · Lượt hỗ trợ",
        "canbo.xa",
        "Tại Thôn Nà Pình",
        "Tại Thôn Khuổi Ky",
    ] {
        assert!(listed.contains(said), "{said}: {listed}");
    }

    // Who acted and what: exactly the rejection.
    b.fill("#audit-actor", "canbo.xa").await;
    b.choose("#audit-action", "reject").await;
    b.click("#audit-apply").await;
    b.until(
        "return document.getElementById('audit')?.dataset.query.includes('actor=canbo.xa') && document.getElementById('audit').dataset.count === '1'",
        "the officer's rejection alone",
    )
    .await;
    let expected = trail_ids(
        v,
        &o.commune,
        &format!("action = 'reject' AND actor_id = '{}'", o.officer),
    );
    assert_eq!(expected.len(), 1);
    assert_eq!(b.audit_ids().await, expected);

    // Every event about visits, two a page, through the server's cursor:
    // each listed once, newest first, as the database holds them.
    b.open_audit("?entity=assistance&per=2").await;
    assert_eq!(b.audit_ids().await.len(), 2);
    b.every_page("#audit-more", "#audit").await;
    let expected = trail_ids(v, &o.commune, "entity = 'assistance'");
    assert!(expected.len() >= 8, "{expected:?}");
    assert_eq!(b.audit_ids().await, expected);

    // One village of the commune, picked from the units of the area.
    b.open_audit("").await;
    b.choose("#audit-unit", &o.khuoi_ky.id.to_string()).await;
    b.click("#audit-apply").await;
    b.until(
        &format!(
            "return document.getElementById('audit')?.dataset.query.includes('unit={}')",
            o.khuoi_ky.id
        ),
        "Khuổi Ky's events",
    )
    .await;
    let expected = trail_ids(v, &o.commune, &format!("unit_id = '{}'", o.khuoi_ky.id));
    assert!(!expected.is_empty());
    b.until(
        &format!(
            "return document.getElementById('audit')?.dataset.count === '{}'",
            expected.len()
        ),
        "Khuổi Ky's events listed",
    )
    .await;
    assert_eq!(b.audit_ids().await, expected);

    // A period: nothing happened before today; a range that ends before it
    // starts is refused on screen.
    let today = banso::units::repo::today();
    let yesterday = (today - chrono::Days::new(1)).to_string();
    b.open_audit(&format!("?from={yesterday}&to={yesterday}"))
        .await;
    assert_eq!(b.audit_ids().await, Vec::<i64>::new());
    b.visible("#audit-count").await;
    b.set_date("#audit-from", &today.to_string()).await;
    b.set_date("#audit-to", &yesterday).await;
    b.click("#audit-apply").await;
    b.until(
        "return document.getElementById('audit-error')?.textContent.length > 0",
        "the range refused",
    )
    .await;
    b.close().await;
}

/// What the API answers the officer for `path` as a file.
async fn api_file(app: &TestApp, token: &str, path: &str, format: &str) -> Vec<u8> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let res = app.get(&format!("{path}{sep}format={format}"), token).await;
    assert_eq!(res.status(), 200, "{path}");
    res.bytes().await.unwrap().to_vec()
}

fn sheet(bytes: &[u8]) -> Vec<Vec<String>> {
    use calamine::Reader;
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("an XLSX file");
    let name = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&name).expect("its worksheet");
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

impl Browser {
    /// Presses the export button `css` and waits for the file it saves in
    /// `dir`; returns its name and bytes.
    async fn export(&self, css: &str, dir: &std::path::Path) -> (String, Vec<u8>) {
        let status = self
            .js(&format!(
                "return document.querySelector({}).closest('.export').querySelector('.export-status').id",
                json!(css)
            ))
            .await;
        let status = status.as_str().unwrap().to_string();
        self.js(&format!(
            "document.getElementById('{status}').dataset.state = ''"
        ))
        .await;
        self.click(css).await;
        let name = self
            .until(
                &format!(
                    "const s = document.getElementById('{status}'); return s.dataset.state === 'done' ? s.dataset.file : (s.dataset.state === 'failed' ? 'failed: ' + s.textContent : '')"
                ),
                "the file downloaded",
            )
            .await;
        let name = name.as_str().unwrap().to_string();
        assert!(!name.starts_with("failed"), "{name}");
        let path = dir.join(&name);
        let started = Instant::now();
        loop {
            let partial = std::fs::read_dir(dir)
                .map(|d| {
                    d.flatten()
                        .any(|e| e.file_name().to_string_lossy().ends_with(".crdownload"))
                })
                .unwrap_or(false);
            if path.exists() && !partial {
                break;
            }
            assert!(
                started.elapsed() < WAIT,
                "{name} never reached {}",
                dir.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let bytes = std::fs::read(&path).expect("the downloaded file");
        std::fs::remove_file(&path).expect("remove the file");
        (name, bytes)
    }

    /// The API address (with its filters) an export button asks for.
    async fn export_path(&self, id: &str) -> String {
        self.js(&format!(
            "return document.getElementById('export-{id}').dataset.path"
        ))
        .await
        .as_str()
        .unwrap()
        .to_string()
    }
}

#[actix_web::test]
async fn an_officer_exports_the_summary_and_the_lists_as_files() {
    let Some((_one, o, b, token)) = at_the_office().await else {
        return;
    };
    let app = &o.v.app;
    let dir = temp_dir("downloads");
    b.cdp(
        "Browser.setDownloadBehavior",
        json!({ "behavior": "allow", "downloadPath": dir.to_string_lossy() }),
    )
    .await;
    b.log_in_office("canbo.xa").await;

    // The dashboard's figures, all records of this month, by village.
    b.choose("#status", "all").await;
    b.until_dashboard(&o.commune.id, "[data-status=all]").await;
    let path = b.export_path("summary").await;
    assert!(
        path.contains(&format!("unit_id={}", o.commune.id))
            && path.contains("status=all")
            && path.contains("group_by=child"),
        "{path}"
    );
    let (name, csv) = b.export("#export-summary-csv", &dir).await;
    assert!(
        name.starts_with("tong-hop-") && name.ends_with(".csv"),
        "{name}"
    );
    assert_eq!(csv, api_file(app, &token, &path, "csv").await);
    let text = String::from_utf8(csv).unwrap();
    assert!(
        text.contains("Thôn Khuổi Ky") && text.contains("Thôn Nà Pình"),
        "{text}"
    );
    let (name, xlsx) = b.export("#export-summary-xlsx", &dir).await;
    assert!(name.ends_with(".xlsx"), "{name}");
    let got = sheet(&xlsx);
    assert_eq!(got, sheet(&api_file(app, &token, &path, "xlsx").await));
    assert_eq!(
        got.len(),
        4,
        "the header, the totals and two villages: {got:?}"
    );

    // The lists of the area: this month's visits waiting for checking, the
    // sessions, the households, members and teams.
    b.click("#tab-exports").await;
    b.visible("#export-lists").await;
    b.choose("#export-status", "submitted").await;
    b.until(
        "return location.hash.includes('status=submitted') && Boolean(document.getElementById('export-lists'))",
        "the visits waiting for checking",
    )
    .await;
    let path = b.export_path("assistances").await;
    assert!(path.contains("status=submitted"), "{path}");
    let (name, csv) = b.export("#export-assistances-csv", &dir).await;
    assert!(name.starts_with("luot-ho-tro-"), "{name}");
    assert_eq!(csv, api_file(app, &token, &path, "csv").await);
    // A header and the three visits waiting.
    assert_eq!(String::from_utf8(csv).unwrap().lines().count(), 4);
    for (list, format) in [
        ("trainings", "xlsx"),
        ("households", "xlsx"),
        ("households", "csv"),
        ("members", "csv"),
        ("teams", "xlsx"),
    ] {
        let path = b.export_path(list).await;
        let (name, bytes) = b.export(&format!("#export-{list}-{format}"), &dir).await;
        assert!(name.ends_with(&format!(".{format}")), "{name}");
        let api = api_file(app, &token, &path, format).await;
        if format == "csv" {
            assert_eq!(bytes, api, "{list}");
        } else {
            assert_eq!(sheet(&bytes), sheet(&api), "{list}");
        }
    }
    // Each file the officer took is in the trail.
    assert_eq!(
        o.v.n(&format!(
            "SELECT count(*) AS n FROM audit_events WHERE action = 'export' AND actor_id = '{}'",
            o.officer
        )),
        // The browser's eight files and the test's own eight from the API.
        16
    );

    // No network: said in Vietnamese, and nothing saved.
    b.online(&o.v.relay, false).await;
    b.click("#export-teams-csv").await;
    b.until(
        "return document.getElementById('export-teams-status')?.dataset.state === 'failed'",
        "the export refused offline",
    )
    .await;
    let said = b
        .js("return document.getElementById('export-teams-status').textContent")
        .await;
    assert!(said.as_str().unwrap().contains("Không có mạng"), "{said}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    b.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

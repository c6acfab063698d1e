//! Webhooks: a client registers a URL and is sent the changes of its area,
//! signed, in order per record, retried while its receiver is away.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::clients::token;
use crate::helpers::{TestApp, TestDb, count, fields, patch, problem, village};

/// Settings of a server that may send to a receiver on this machine and
/// retries quickly.
const QUICK: &[(&str, &str)] = &[
    ("BANSO_WEBHOOKS_ALLOW_LOOPBACK", "true"),
    ("BANSO_WEBHOOKS_RETRY_BASE_MS", "100"),
    ("BANSO_WEBHOOKS_RETRY_MAX_MS", "400"),
    ("BANSO_WEBHOOKS_TIMEOUT_MS", "2000"),
];

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Got {
    id: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// A webhook receiver on loopback: keeps what it is sent and answers with
/// the status it is told.
#[derive(Clone)]
struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Got>>>,
    answer: Arc<AtomicU16>,
}

impl Receiver {
    fn new() -> Receiver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Receiver {
            port,
            got: Arc::default(),
            answer: Arc::new(AtomicU16::new(200)),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/banso", self.port)
    }

    /// Listens (again) on its port until the handle stops it.
    fn start(&self) -> actix_web::dev::ServerHandle {
        let me = self.clone();
        let server = actix_web::HttpServer::new(move || {
            let me = me.clone();
            actix_web::App::new().default_service(actix_web::web::to(
                move |req: actix_web::HttpRequest, body: actix_web::web::Bytes| {
                    let me = me.clone();
                    async move {
                        let h = |n: &str| {
                            req.headers()
                                .get(n)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("")
                                .to_string()
                        };
                        me.got.lock().unwrap().push(Got {
                            id: h("webhook-id"),
                            timestamp: h("webhook-timestamp"),
                            signature: h("webhook-signature"),
                            body: body.to_vec(),
                        });
                        let status =
                            actix_web::http::StatusCode::from_u16(me.answer.load(Ordering::SeqCst))
                                .unwrap();
                        actix_web::HttpResponse::build(status).body("ok")
                    }
                },
            ))
        })
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", self.port))
        .expect("bind the receiver")
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        handle
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
}

/// Whether `got` carries a valid `v1` signature made with `secret`.
fn signed_with(got: &Got, secret: &str) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.", got.id, got.timestamp).as_bytes());
    mac.update(&got.body);
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    got.signature
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .any(|s| s == expected)
}

/// Registers an integration client of `area` (a unit code) with `scopes`
/// and returns a token of it.
async fn client(
    app: &TestApp,
    admin: &str,
    client_id: &str,
    area: &str,
    scopes: &[&str],
) -> String {
    let area = crate::helpers::unit(app, area).id.to_string();
    let res = app
        .post_json(
            "/api/v1/clients",
            Some(admin),
            &json!({ "client_id": client_id, "name": "Cổng dữ liệu", "area_id": area, "scopes": scopes }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let res = token(app, client_id, created["client_secret"].as_str().unwrap()).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

async fn register(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post_json("/api/v1/webhooks", Some(token), &body).await
}

/// Registers a webhook of households at `receiver`: the answer and its id.
async fn household_hook(app: &TestApp, token: &str, receiver: &Receiver) -> (Value, String) {
    let res = register(
        app,
        token,
        json!({ "url": receiver.url(), "entities": ["household"] }),
    )
    .await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let hook = created["webhook"]["id"].as_str().unwrap().to_string();
    (created, hook)
}

async fn deliveries(app: &TestApp, token: &str, hook: &str, query: &str) -> Vec<Value> {
    let res = app
        .get(&format!("/api/v1/webhooks/{hook}/deliveries{query}"), token)
        .await;
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

/// Waits up to `secs` for `done`, checking every 100 ms.
async fn until<F, Fut>(secs: u64, what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = std::time::Instant::now() + Duration::from_secs(secs);
    while !done().await {
        assert!(std::time::Instant::now() < end, "gave up waiting: {what}");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn household(app: &TestApp, token: &str, village: &str, head: &str) -> String {
    let res = app
        .post_json(
            "/api/v1/households",
            Some(token),
            &json!({ "village_id": village, "head_name": head, "size": 3, "poverty_status": "poor" }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    body["id"].as_str().unwrap().to_string()
}

async fn resize(app: &TestApp, token: &str, id: &str, version: i64, size: i64) {
    let res = patch(
        app,
        token,
        &format!("/api/v1/households/{id}"),
        None,
        &json!({ "size": size, "version": version }),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

#[actix_web::test]
async fn a_receiver_that_goes_away_gets_every_change_once_and_in_order() {
    let app = TestApp::spawn_on(TestDb::from_template(), QUICK).await;
    let admin = app.admin_token().await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let portal = client(&app, &admin, "portal.caobang", "04", &["changes:read"]).await;
    let cb = village(&app, "01273", "Thôn Nà Pình").id.to_string();
    let elsewhere = village(&app, "00691", "Thôn Lũng Cú").id.to_string();

    let receiver = Receiver::new();
    let mut up = receiver.start();
    let res = register(
        &app,
        &portal,
        json!({ "url": receiver.url(), "entities": ["team", "household"] }),
    )
    .await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let created: Value = res.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{created}");
    let hook = created["webhook"]["id"].as_str().unwrap().to_string();
    assert_eq!(created["webhook"]["entities"], json!(["team", "household"]));
    assert_eq!(created["webhook"]["url"], receiver.url());
    // Kept sealed: the database does not hold the secret as it was shown.
    let key = &secret["whsec_".len()..];
    assert_eq!(
        count(
            &mut app.conn(),
            &format!("SELECT count(*) AS n FROM webhooks WHERE secret LIKE '%{key}%'")
        ),
        0
    );

    // While the receiver is up.
    let a = household(&app, &officer, &cb, "Hà Văn Chính").await;
    let b = household(&app, &officer, &cb, "Nông Thị Lan").await;
    let res = app
        .post_json(
            "/api/v1/teams",
            Some(&admin),
            &json!({ "village_id": cb, "name": "Tổ Nà Pình" }),
        )
        .await;
    assert_eq!(res.status(), 201);
    // Outside the client's area: never sent.
    let outside = household(&app, &admin, &elsewhere, "Giàng A Páo").await;
    resize(&app, &officer, &a, 1, 4).await;
    until(20, "the first four changes", || async {
        receiver.got().len() >= 4
    })
    .await;

    // The receiver goes away; changes go on.
    up.stop(false).await;
    resize(&app, &officer, &a, 2, 5).await;
    resize(&app, &officer, &b, 1, 2).await;
    resize(&app, &officer, &a, 3, 6).await;
    until(20, "failed attempts while the receiver is away", || async {
        deliveries(&app, &portal, &hook, "?status=pending")
            .await
            .iter()
            .any(|d| d["attempts"].as_i64().unwrap() >= 2 && d["last_error"] == "could not connect")
    })
    .await;
    let waiting = deliveries(&app, &portal, &hook, "?status=pending").await;
    // Only the head of each record's queue is tried: a's later changes wait.
    for d in &waiting {
        assert!(d["next_attempt_at"].is_string(), "{d}");
        assert!(d["last_status"].is_null(), "{d}");
    }
    let tried_of_a: Vec<&Value> = waiting
        .iter()
        .filter(|d| d["change"]["entity_id"] == a.as_str() && d["attempts"].as_i64() > Some(0))
        .collect();
    assert_eq!(tried_of_a.len(), 1, "{waiting:?}");

    // Back again, on the same port.
    up = receiver.start();
    until(30, "every delivery delivered", || async {
        count(
            &mut app.conn(),
            "SELECT count(*) AS n FROM webhook_deliveries WHERE status <> 'delivered'",
        ) == 0
    })
    .await;
    up.stop(true).await;

    // What the client's change feed lists, of the types it wants.
    banso::audit::chain::link_all(&mut app.conn()).unwrap();
    let feed: Value = app
        .get("/api/v1/changes?limit=500", &portal)
        .await
        .json()
        .await
        .unwrap();
    let expected: Vec<Value> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["entity"] == "household" || c["entity"] == "team")
        .cloned()
        .collect();
    assert_eq!(expected.len(), 7, "{feed}");

    let got = receiver.got();
    // Exactly once: as many requests as changes, no webhook-id twice.
    assert_eq!(got.len(), expected.len(), "{got:?}");
    let ids: HashSet<&str> = got.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(ids.len(), got.len());
    let mut seen_seqs = Vec::new();
    let mut last_of: HashMap<String, i64> = HashMap::new();
    for g in &got {
        assert!(signed_with(g, &secret), "bad signature on {g:?}");
        let sent_at: i64 = g.timestamp.parse().unwrap();
        assert!((chrono::Utc::now().timestamp() - sent_at).abs() < 300);
        let body = g.json();
        let data = &body["data"];
        assert_eq!(
            body["type"],
            format!(
                "{}.{}",
                data["entity"].as_str().unwrap(),
                data["action"].as_str().unwrap()
            )
        );
        assert_ne!(data["entity_id"], outside.as_str());
        // In order per record.
        let seq = data["seq"].as_i64().unwrap();
        let record = data["entity_id"].as_str().unwrap().to_string();
        if let Some(before) = last_of.insert(record.clone(), seq) {
            assert!(before < seq, "{record}: {seq} came after {before}");
        }
        seen_seqs.push(seq);
    }
    seen_seqs.sort();
    let mut expected_seqs: Vec<i64> = expected
        .iter()
        .map(|c| c["seq"].as_i64().unwrap())
        .collect();
    expected_seqs.sort();
    assert_eq!(seen_seqs, expected_seqs);
    // Each item as the feed has it.
    for g in &got {
        let data = g.json()["data"].clone();
        assert!(expected.contains(&data), "{data} is not in the feed");
    }

    // The deliveries as the client sees them, with their retries.
    let all = deliveries(&app, &portal, &hook, "").await;
    assert_eq!(all.len(), 7);
    assert!(all.iter().all(|d| d["status"] == "delivered"
        && d["last_status"] == 200
        && d["last_error"].is_null()
        && d["next_attempt_at"].is_null()
        && d["delivered_at"].is_string()));
    assert!(
        all.iter().any(|d| d["attempts"].as_i64().unwrap() >= 3),
        "{all:?}"
    );
    // Newest first, paged.
    let first = app
        .get(
            &format!("/api/v1/webhooks/{hook}/deliveries?limit=4"),
            &portal,
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = deliveries(&app, &portal, &hook, &format!("?cursor={cursor}")).await;
    assert_eq!(first["items"].as_array().unwrap().len() + rest.len(), 7);
    assert!(
        first["items"][3]["change"]["seq"].as_i64().unwrap()
            > rest[0]["change"]["seq"].as_i64().unwrap()
    );
    let one = app
        .get(
            &format!("/api/v1/webhooks/{hook}/deliveries/{}", got[0].id),
            &portal,
        )
        .await;
    assert_eq!(one.status(), 200);

    // Metrics count the attempts.
    let metrics = app.get("/metrics", &admin).await.text().await.unwrap();
    for outcome in ["delivered", "retrying"] {
        assert!(
            metrics.contains(&format!(
                "banso_webhook_attempts_total{{outcome=\"{outcome}\"}}"
            )),
            "{outcome}"
        );
    }
}

#[actix_web::test]
async fn a_delivery_that_keeps_failing_is_marked_failed_and_can_be_redelivered() {
    let mut settings = QUICK.to_vec();
    settings.push(("BANSO_WEBHOOKS_GIVE_UP_SECS", "1"));
    let app = TestApp::spawn_on(TestDb::from_template(), &settings).await;
    let admin = app.admin_token().await;
    let portal = client(&app, &admin, "portal.caobang", "04", &["changes:read"]).await;
    let cb = village(&app, "01273", "Thôn Nà Pình").id.to_string();
    let receiver = Receiver::new();
    let _up = receiver.start();
    receiver.answer.store(500, Ordering::SeqCst);
    let (created, hook) = household_hook(&app, &portal, &receiver).await;
    let old_secret = created["secret"].as_str().unwrap().to_string();

    let a = household(&app, &admin, &cb, "Hà Văn Chính").await;
    resize(&app, &admin, &a, 1, 4).await;
    until(20, "both deliveries failed", || async {
        deliveries(&app, &portal, &hook, "?status=failed")
            .await
            .len()
            == 2
    })
    .await;
    let failed = deliveries(&app, &portal, &hook, "?status=failed").await;
    for d in &failed {
        assert_eq!(d["last_error"], "answered 500", "{d}");
        assert_eq!(d["last_status"], 500);
        assert!(d["attempts"].as_i64().unwrap() >= 1);
        assert!(d["next_attempt_at"].is_null());
        assert!(d["delivered_at"].is_null());
    }
    let create = failed
        .iter()
        .find(|d| d["change"]["action"] == "create")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Redelivery on request, once the receiver works.
    receiver.answer.store(200, Ordering::SeqCst);
    let before = receiver.got().len();
    let res = app
        .post_json(
            &format!("/api/v1/webhooks/{hook}/deliveries/{create}/redeliver"),
            Some(&portal),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let asked: Value = res.json().await.unwrap();
    assert_eq!(asked["status"], "pending");
    until(20, "the redelivery", || async {
        deliveries(&app, &portal, &hook, "?status=delivered")
            .await
            .len()
            == 1
    })
    .await;
    let got = receiver.got();
    assert_eq!(got.len(), before + 1);
    let last = got.last().unwrap();
    assert_eq!(last.id, create, "the same webhook-id");
    assert!(signed_with(last, &old_secret));

    // A rotated secret signs next to the old one during the grace period.
    let res = app
        .post_json(
            &format!("/api/v1/webhooks/{hook}/rotate"),
            Some(&portal),
            &json!({ "grace_hours": 1 }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let rotated: Value = res.json().await.unwrap();
    let new_secret = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, old_secret);
    assert!(rotated["webhook"]["previous_secret_valid_until"].is_string());
    resize(&app, &admin, &a, 2, 5).await;
    until(20, "the delivery after the rotation", || async {
        receiver.got().len() == before + 2
    })
    .await;
    let last = receiver.got().last().unwrap().clone();
    assert_eq!(last.signature.split(' ').count(), 2);
    assert!(signed_with(&last, &new_secret) && signed_with(&last, &old_secret));
    // Without grace only the new one signs.
    let res = app
        .post_json(
            &format!("/api/v1/webhooks/{hook}/rotate"),
            Some(&portal),
            &json!({ "grace_hours": 0 }),
        )
        .await;
    let newest: Value = res.json().await.unwrap();
    let newest = newest["secret"].as_str().unwrap().to_string();
    resize(&app, &admin, &a, 3, 6).await;
    until(20, "the delivery after the second rotation", || async {
        receiver.got().len() == before + 3
    })
    .await;
    let last = receiver.got().last().unwrap().clone();
    assert!(signed_with(&last, &newest));
    assert!(!signed_with(&last, &new_secret) && !signed_with(&last, &old_secret));
    problem(
        app.post_json(
            &format!("/api/v1/webhooks/{hook}/rotate"),
            Some(&portal),
            &json!({ "grace_hours": 1000 }),
        )
        .await,
        422,
    )
    .await;
}

#[actix_web::test]
async fn bad_webhooks_are_refused_with_what_is_wrong() {
    // Without BANSO_WEBHOOKS_ALLOW_LOOPBACK.
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let portal = client(&app, &admin, "portal.caobang", "04", &["changes:read"]).await;
    for url in [
        "http://portal.caobang.gov.vn/hook",
        "https://127.0.0.1/hook",
        "https://[::1]:8443/hook",
        "https://localhost/hook",
        "https://10.0.0.7/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://user:password@portal.caobang.gov.vn/hook",
        "ftp://portal.caobang.gov.vn/hook",
        "not a url",
        "",
    ] {
        let body = problem(
            register(
                &app,
                &portal,
                json!({ "url": url, "entities": ["household"] }),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(
            fields(&body),
            crate::helpers::pairs(&[("url", "invalid")]),
            "{url}: {body}"
        );
    }
    let body = problem(
        register(
            &app,
            &portal,
            json!({ "url": "https://localhost/hook", "entities": ["household", "person"] }),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        fields(&body),
        crate::helpers::pairs(&[("url", "invalid"), ("entities", "unknown")])
    );
    assert!(body.to_string().contains("person"), "{body}");
    let body = problem(
        register(
            &app,
            &portal,
            json!({ "url": "https://10.0.0.7/", "entities": [] }),
        )
        .await,
        422,
    )
    .await;
    assert!(fields(&body).contains(&("entities".to_string(), "required".to_string())));
    // Records that are not in the feed are not offered either.
    let body = problem(
        register(
            &app,
            &portal,
            json!({ "url": "https://10.0.0.7/", "entities": ["user"] }),
        )
        .await,
        422,
    )
    .await;
    assert!(fields(&body).contains(&("entities".to_string(), "unknown".to_string())));
    problem(
        register(
            &app,
            &portal,
            json!({ "url": "https://10.0.0.7/", "entities": ["household"], "secret": "x" }),
        )
        .await,
        422,
    )
    .await;
    // Accounts have no webhooks; a client needs changes:read.
    problem(
        register(
            &app,
            &admin,
            json!({ "url": "https://10.0.0.7/", "entities": ["household"] }),
        )
        .await,
        403,
    )
    .await;
    let reader = client(&app, &admin, "reports.caobang", "04", &["reports:read"]).await;
    problem(app.get("/api/v1/webhooks", &reader).await, 403).await;
    problem(
        app.client
            .get(app.url("/api/v1/webhooks"))
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    assert_eq!(
        count(&mut app.conn(), "SELECT count(*) AS n FROM webhooks"),
        0
    );
}

#[actix_web::test]
async fn a_client_manages_its_own_webhooks_and_never_sees_anothers() {
    let app = TestApp::spawn_on(TestDb::from_template(), QUICK).await;
    let admin = app.admin_token().await;
    let mine = client(&app, &admin, "portal.caobang", "04", &["changes:read"]).await;
    let theirs = client(&app, &admin, "portal.other", "04", &["changes:read"]).await;
    let receiver = Receiver::new();
    let (created, hook) = household_hook(&app, &mine, &receiver).await;
    let path = format!("/api/v1/webhooks/{hook}");

    let listed: Value = app
        .get("/api/v1/webhooks", &mine)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert!(listed["items"][0].get("secret").is_none(), "{listed}");
    let listed: Value = app
        .get("/api/v1/webhooks", &theirs)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"], json!([]));

    // Another client's webhook is not found, whatever is asked of it.
    problem(app.get(&path, &theirs).await, 404).await;
    problem(
        patch(
            &app,
            &theirs,
            &path,
            None,
            &json!({ "active": false, "version": 1 }),
        )
        .await,
        404,
    )
    .await;
    problem(crate::helpers::delete(&app, &theirs, &path).await, 404).await;
    problem(
        app.post_json(&format!("{path}/rotate"), Some(&theirs), &json!({}))
            .await,
        404,
    )
    .await;
    problem(app.get(&format!("{path}/deliveries"), &theirs).await, 404).await;
    // Nor is a delivery that does not exist.
    let unknown = uuid::Uuid::new_v4();
    problem(
        app.post_json(
            &format!("{path}/deliveries/{unknown}/redeliver"),
            Some(&mine),
            &json!({}),
        )
        .await,
        404,
    )
    .await;
    problem(
        app.get(&format!("{path}/deliveries/{unknown}"), &mine)
            .await,
        404,
    )
    .await;
    problem(
        app.get(&format!("{path}/deliveries?status=lost"), &mine)
            .await,
        422,
    )
    .await;

    // Edits name the version they are based on.
    let body = problem(
        patch(&app, &mine, &path, None, &json!({ "active": false })).await,
        422,
    )
    .await;
    assert!(fields(&body).contains(&("version".to_string(), "required".to_string())));
    let body = problem(
        patch(
            &app,
            &mine,
            &path,
            None,
            &json!({ "active": false, "version": 7 }),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(body["current"]["version"], 1);
    let body = problem(
        patch(
            &app,
            &mine,
            &path,
            Some("\"1\""),
            &json!({ "url": "https://10.1.1.1/" }),
        )
        .await,
        422,
    )
    .await;
    assert!(fields(&body).contains(&("url".to_string(), "invalid".to_string())));
    let res = patch(
        &app,
        &mine,
        &path,
        Some("\"1\""),
        &json!({ "entities": ["assistance", "household"], "active": false }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let edited: Value = res.json().await.unwrap();
    assert_eq!(edited["entities"], json!(["household", "assistance"]));
    assert_eq!(edited["active"], false);
    assert_eq!(edited["version"], 2);

    // Changes, audited as the client did them, never with the secret.
    let secret = created["secret"].as_str().unwrap();
    let key = &secret["whsec_".len()..];
    assert_eq!(
        count(
            &mut app.conn(),
            &format!(
                "SELECT count(*) AS n FROM audit_events WHERE entity = 'webhook' AND actor_kind = 'client' \
                 AND entity_id = '{hook}'"
            )
        ),
        2
    );
    assert_eq!(
        count(
            &mut app.conn(),
            &format!(
                "SELECT count(*) AS n FROM audit_events WHERE entity = 'webhook' \
                 AND (coalesce(after::text, '') || coalesce(before::text, '') || coalesce(sealed, '')) LIKE '%{key}%'"
            )
        ),
        0
    );

    let res = crate::helpers::delete(&app, &mine, &path).await;
    assert_eq!(res.status(), 204);
    problem(app.get(&path, &mine).await, 404).await;
    assert_eq!(
        count(&mut app.conn(), "SELECT count(*) AS n FROM webhooks"),
        0
    );
}

/// The trigger that fills the outbox lists the actions of the change feed,
/// and only those: it is SQL, so this keeps it in step with the code.
#[actix_web::test]
async fn the_outbox_trigger_takes_the_changes_the_feed_lists() {
    let app = TestApp::spawn().await;
    #[derive(diesel::QueryableByName)]
    struct Src {
        #[diesel(sql_type = diesel::sql_types::Text)]
        prosrc: String,
    }
    let src: Src = diesel::RunQueryDsl::get_result(
        diesel::sql_query("SELECT prosrc FROM pg_proc WHERE proname = 'webhook_outbox'"),
        &mut app.conn(),
    )
    .unwrap();
    for a in banso::audit::Action::ALL {
        assert_eq!(
            src.prosrc.contains(&format!("'{}'", a.as_str())),
            a.is_change(),
            "{}",
            a.as_str()
        );
    }
}

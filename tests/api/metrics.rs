//! `GET /metrics`: Prometheus text that a scraper can parse, reachable only
//! from the allowed addresses or with an admin's token, and with no ids or
//! personal data in its labels.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::helpers::db::TestDb;
use crate::helpers::{TestApp, problem, village};

async fn scrape(app: &TestApp, token: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(app.url("/metrics"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

/// One sample of the text format: `name{label="value",...} number`.
struct Sample {
    metric: String,
    labels: HashMap<String, String>,
    value: f64,
}

/// Parses the Prometheus text format (0.0.4) strictly: every sample's
/// family has a `# TYPE`, label values are quoted with `\\`, `\"` and `\n`
/// escapes, and every value is a number.
fn samples(text: &str) -> Vec<Sample> {
    let mut types: HashMap<String, String> = HashMap::new();
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            types.insert(name.to_string(), kind.to_string());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        assert!(!line.starts_with('#'), "unknown comment {line}");
        let name_end = line.find(['{', ' ']).expect("a metric name");
        let metric = line[..name_end].to_string();
        assert!(
            metric
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "{line}"
        );
        let mut labels = HashMap::new();
        let mut rest = &line[name_end..];
        if let Some(body) = rest.strip_prefix('{') {
            let mut chars = body.char_indices().peekable();
            let close;
            loop {
                let (start, c) = chars.next().expect("a label or }");
                if c == '}' {
                    close = start;
                    break;
                }
                if c == ',' {
                    continue;
                }
                let eq = body[start..].find('=').expect("label=") + start;
                let key = body[start..eq].to_string();
                while chars.peek().is_some_and(|(i, _)| *i <= eq) {
                    chars.next();
                }
                assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "{line}");
                let mut value = String::new();
                loop {
                    match chars.next().expect("a closing quote") {
                        (_, '\\') => match chars.next().expect("an escape").1 {
                            'n' => value.push('\n'),
                            other => value.push(other),
                        },
                        (_, '"') => break,
                        (_, c) => value.push(c),
                    }
                }
                labels.insert(key, value);
            }
            rest = &body[close + 1..];
        }
        let value: f64 = match rest.trim() {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("not a number in {line}")),
        };
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| metric.strip_suffix(suffix))
            .filter(|base| types.get(*base).is_some_and(|t| t == "histogram"))
            .unwrap_or(&metric);
        assert!(types.contains_key(family), "no # TYPE for {metric}");
        out.push(Sample {
            metric,
            labels,
            value,
        });
    }
    out
}

fn value(s: &Sample) -> f64 {
    s.value
}

fn find<'a>(all: &'a [Sample], metric: &str, labels: &[(&str, &str)]) -> Option<&'a Sample> {
    all.iter().find(|s| {
        s.metric == metric
            && labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
    })
}

#[actix_web::test]
async fn metrics_are_scraped_parsed_and_name_no_one() {
    let app = TestApp::spawn_on(
        TestDb::from_template(),
        &[
            ("BANSO_METRICS_ALLOW", "10.99.0.0/16"),
            ("BANSO_INSTANCE", "banso-a"),
        ],
    )
    .await;

    // This test's client (127.0.0.1) is not an allowed address.
    let res = scrape(&app, None).await;
    problem(res, 401).await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    problem(scrape(&app, Some(&officer)).await, 403).await;

    // Some work: a wrong password, a team, a household, its export, a visit.
    let res = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({ "username": "canbo.caobang", "password": "not the password" }),
        )
        .await;
    assert_eq!(res.status(), 401);
    let admin = app.admin_token().await;
    let v = village(&app, "01273", "Thôn Nà Pình");
    let res = app
        .post_json(
            "/api/v1/teams",
            Some(&admin),
            &json!({ "village_id": v.id, "name": "Tổ Nà Pình" }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let res = app
        .post_json(
            "/api/v1/households",
            Some(&admin),
            &json!({ "village_id": v.id, "head_name": "Nông Văn Dũng", "size": 4, "poverty_status": "poor", "code": "CB-0042" }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let household: Value = res.json().await.unwrap();
    let hid = household["id"].as_str().unwrap().to_string();
    let res = app
        .get(&format!("/api/v1/households/{hid}/export"), &admin)
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .post_json(
            "/api/v1/assistances",
            Some(&admin),
            &json!({ "id": uuid::Uuid::new_v4(), "household_id": hid, "visited_on": banso::units::repo::today(),
                     "help": [{ "kind": "vneid", "outcome": "done" }] }),
        )
        .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    app.get(&format!("/api/v1/households/{hid}"), &admin).await;

    let res = scrape(&app, Some(&admin)).await;
    assert_eq!(res.status(), 200);
    let ctype = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    let text = res.text().await.unwrap();
    let all = samples(&text);

    let created = find(
        &all,
        "banso_http_requests_total",
        &[
            ("route", "/api/v1/households"),
            ("method", "POST"),
            ("status", "201"),
        ],
    )
    .expect("requests by route pattern and status");
    assert!(value(created) >= 1.0);
    assert!(
        find(
            &all,
            "banso_http_requests_total",
            &[
                ("route", "/api/v1/households/{id}"),
                ("method", "GET"),
                ("status", "200")
            ],
        )
        .is_some(),
        "the pattern, not the path, names the route"
    );
    let labels = [
        ("route", "/api/v1/households"),
        ("method", "POST"),
        ("status", "201"),
    ];
    let count = find(&all, "banso_http_request_duration_seconds_count", &labels)
        .expect("a latency histogram");
    assert!(value(count) >= 1.0);
    let mut with_le = labels.to_vec();
    with_le.push(("le", "+Inf"));
    let inf = find(&all, "banso_http_request_duration_seconds_bucket", &with_le).unwrap();
    assert_eq!(value(inf), value(count));
    assert!(find(&all, "banso_http_request_duration_seconds_sum", &labels).is_some());
    assert!(find(&all, "banso_db_pool_connections", &[("state", "in_use")]).is_some());
    assert_eq!(
        find(&all, "banso_db_pool_max_connections", &[]).map(value),
        Some(4.0)
    );
    assert!(value(find(&all, "banso_db_pool_wait_seconds_count", &[]).unwrap()) >= 1.0);
    assert!(find(&all, "banso_db_pool_waits_total", &[]).is_some());
    assert!(
        find(
            &all,
            "banso_activity_writer_queue",
            &[("kind", "assistance")]
        )
        .is_some()
    );
    assert!(
        find(
            &all,
            "banso_activity_writer_batch_size_count",
            &[("kind", "assistance")]
        )
        .is_some(),
        "{text}"
    );
    let lag = find(&all, "banso_audit_unlinked_oldest_seconds", &[]).expect("the linker's lag");
    assert!(value(lag) >= 0.0);
    assert!(find(&all, "banso_audit_unlinked_events", &[]).is_some());
    assert!(value(find(&all, "banso_login_failures_total", &[]).unwrap()) >= 1.0);
    assert!(find(&all, "banso_login_throttled_total", &[]).is_some());
    assert!(value(find(&all, "banso_exports_total", &[("kind", "household")]).unwrap()) >= 1.0);
    assert_eq!(
        find(&all, "banso_instance_info", &[("instance", "banso-a")]).map(value),
        Some(1.0)
    );

    // No label carries an id, a name, a code or an address.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for s in &all {
        for (k, v) in s.labels.iter() {
            *seen.entry(k.to_string()).or_default() += 1;
            assert!(uuid::Uuid::parse_str(v).is_err(), "an id in {k}={v}");
            let route_id = v.split('/').any(|seg| uuid::Uuid::parse_str(seg).is_ok());
            assert!(!route_id, "an id in {k}={v}");
            for secret in ["Nông", "CB-0042", "canbo", "127.0.0.1", &hid] {
                assert!(!v.contains(secret), "{secret} in {k}={v}");
            }
        }
    }
    for k in seen.keys() {
        assert!(
            [
                "route", "method", "status", "state", "kind", "instance", "version", "le"
            ]
            .contains(&k.as_str()),
            "unexpected label {k}"
        );
    }
}

#[actix_web::test]
async fn an_allowed_address_needs_no_token() {
    let app = TestApp::spawn_on(
        TestDb::from_template(),
        &[("BANSO_METRICS_ALLOW", "127.0.0.1")],
    )
    .await;
    let res = scrape(&app, None).await;
    assert_eq!(res.status(), 200);
    let all = samples(&res.text().await.unwrap());
    assert!(find(&all, "banso_http_requests_in_flight", &[]).is_some());
}

#[actix_web::test]
async fn two_servers_scraped_at_once_each_show_their_own_pool_and_name() {
    // Tests (and an operator's side-by-side instances) run several servers
    // in one process: what belongs to a server must never show in
    // another's answer, however the scrapes interleave.
    let a = TestApp::spawn_on(
        TestDb::from_template(),
        &[("BANSO_INSTANCE", "banso-a"), ("BANSO_POOL_SIZE", "3")],
    )
    .await;
    let b = TestApp::spawn_on(
        TestDb::from_template(),
        &[("BANSO_INSTANCE", "banso-b"), ("BANSO_POOL_SIZE", "5")],
    )
    .await;
    let (admin_a, admin_b) = (a.admin_token().await, b.admin_token().await);
    let mut scrapes = Vec::new();
    for _ in 0..20 {
        scrapes.push((&a, &admin_a, "banso-a", 3.0));
        scrapes.push((&b, &admin_b, "banso-b", 5.0));
    }
    let answers = futures_util::future::join_all(scrapes.iter().map(|(app, token, _, _)| async {
        let res = scrape(app, Some(token)).await;
        assert_eq!(res.status(), 200);
        res.text().await.unwrap()
    }))
    .await;
    for ((_, _, name, pool), text) in scrapes.iter().zip(&answers) {
        let all = samples(text);
        let names: Vec<&str> = all
            .iter()
            .filter(|s| s.metric == "banso_instance_info")
            .map(|s| s.labels["instance"].as_str())
            .collect();
        assert_eq!(names, vec![*name], "{text}");
        assert_eq!(
            find(&all, "banso_db_pool_max_connections", &[]).map(value),
            Some(*pool),
            "{name}"
        );
        let queues = all
            .iter()
            .filter(|s| s.metric == "banso_activity_writer_queue")
            .count();
        assert_eq!(queues, 2, "one queue per writer: {text}");
    }
}

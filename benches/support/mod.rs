//! What the benchmarks share: a database (`DATABASE_URL`, else a private
//! durable cluster under target/), a running server, a load loop and
//! latency statistics, and pgbench as the reference measured in the same
//! run.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use banso::auth::Role;
use banso::auth::tokens::{TokenService, load_keys};
use banso::config::Settings;
use banso::db::embedded::{EmbeddedPostgres, Options};
use diesel::{Connection, PgConnection, RunQueryDsl};

pub struct Bench {
    pub url: String,
    pub admin_url: String,
    _cluster: Option<EmbeddedPostgres>,
}

/// Connects to the server and makes a fresh database `name` on it.
pub fn database(name: &str) -> Bench {
    database_kept(name, true)
}

/// Connects to the server and makes the database `name` on it when it is
/// missing, or anew when `fresh`; otherwise keeps what it holds.
pub fn database_kept(name: &str, fresh: bool) -> Bench {
    let (pattern, cluster) = match std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        Some(url) => {
            let base = url.split('?').next().unwrap_or(&url);
            let cut = base.rfind('/').unwrap_or(base.len());
            let query = url
                .split_once('?')
                .map(|(_, q)| format!("?{q}"))
                .unwrap_or_default();
            (format!("{}/{{db}}{query}", &base[..cut]), None)
        }
        None => {
            let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-pg");
            // Durable settings, as in production: the comparison with
            // pgbench is only fair on the same fsync behaviour.
            let pg = EmbeddedPostgres::start(
                &root,
                &Options {
                    ephemeral: false,
                    ..Default::default()
                },
            )
            .expect("start the benchmark cluster");
            (pg.url("{db}"), Some(pg))
        }
    };
    let admin_url = pattern.replace("{db}", "postgres");
    let mut admin = PgConnection::establish(&admin_url).expect("connect");
    if fresh {
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .expect("drop");
    }
    #[derive(diesel::QueryableByName)]
    struct Exists {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        exists: bool,
    }
    let exists =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<diesel::sql_types::Text, _>(name)
            .get_result::<Exists>(&mut admin)
            .expect("pg_database")
            .exists;
    if !exists {
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .expect("create");
    }
    Bench {
        url: pattern.replace("{db}", name),
        admin_url,
        _cluster: cluster,
    }
}

/// A running server on port 0 and a token for `role` in `area`.
pub struct Server {
    pub base: String,
    pub tokens: Arc<TokenService>,
}

pub fn start_server(url: &str, workers: usize, pool: u32) -> Server {
    let keys_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-keys");
    let vars = [
        ("DATABASE_URL", url.to_string()),
        ("BANSO_LISTEN", "127.0.0.1:0".to_string()),
        ("BANSO_WORKERS", workers.to_string()),
        ("BANSO_POOL_SIZE", pool.to_string()),
        ("BANSO_JWT_KEYS_DIR", keys_dir.display().to_string()),
    ];
    let settings =
        Settings::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .expect("settings");
    let keys = load_keys(&keys_dir).expect("keys");
    let make = || {
        TokenService::new(
            &keys,
            &settings.issuer,
            &settings.audience,
            settings.access_token_ttl,
        )
        .expect("tokens")
    };
    let tokens = Arc::new(make());
    let server_tokens = make();
    let pool = banso::db::build_pool(url, &settings);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app =
                banso::startup::Application::build(settings, pool, server_tokens).expect("build");
            tx.send(app.port()).expect("send port");
            app.run_until_stopped().await.expect("serve");
        })
    });
    let port = rx.recv().expect("server port");
    Server {
        base: format!("http://127.0.0.1:{port}"),
        tokens,
    }
}

impl Server {
    pub fn token(&self, user: uuid::Uuid, role: Role, area: Option<uuid::Uuid>) -> String {
        self.tokens.issue(user, role, area).expect("token")
    }
}

/// Latencies of one scenario.
pub struct Stats {
    pub name: String,
    pub requests: usize,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub errors: usize,
}

impl Stats {
    pub fn from(name: &str, mut samples: Vec<Duration>, seconds: f64, errors: usize) -> Stats {
        samples.sort();
        let at = |q: f64| {
            if samples.is_empty() {
                return f64::NAN;
            }
            let i = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
            samples[i].as_secs_f64() * 1000.0
        };
        Stats {
            name: name.to_string(),
            requests: samples.len(),
            seconds,
            p50_ms: at(0.50),
            p95_ms: at(0.95),
            p99_ms: at(0.99),
            errors,
        }
    }

    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    pub fn row(&self) -> String {
        format!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
            self.name,
            self.requests,
            self.rate(),
            self.p50_ms,
            self.p95_ms,
            self.p99_ms,
            self.errors
        )
    }
}

pub const TABLE_HEAD: &str = "| scenario | requests | req/s | p50 ms | p95 ms | p99 ms | errors |\n| --- | --- | --- | --- | --- | --- | --- |";

/// Runs `total` requests from `concurrency` clients; `make` builds the
/// i-th request. Answers other than `expect` count as errors.
pub async fn load<F>(name: &str, concurrency: usize, total: usize, expect: u16, make: F) -> Stats
where
    F: Fn(&reqwest::Client, usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("client");
    let make = Arc::new(make);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, make, next) = (client.clone(), make.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut errors = 0;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let t = Instant::now();
                match make(&client, i).send().await {
                    Ok(res) if res.status().as_u16() == expect => {
                        let _ = res.bytes().await;
                        samples.push(t.elapsed());
                    }
                    Ok(res) => {
                        errors += 1;
                        if errors == 1 {
                            eprintln!(
                                "unexpected {}: {}",
                                res.status(),
                                res.text().await.unwrap_or_default()
                            );
                        }
                    }
                    Err(e) => {
                        errors += 1;
                        if errors == 1 {
                            eprintln!("request failed: {e}");
                        }
                    }
                }
            }
            (samples, errors)
        }));
    }
    let mut samples = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (s, e) = t.await.expect("client task");
        samples.extend(s);
        errors += e;
    }
    Stats::from(name, samples, started.elapsed().as_secs_f64(), errors)
}

/// Transactions per second that pgbench reports for `script` with
/// `clients` clients over `seconds`, on the database at `url`.
pub fn pgbench(url: &str, script: &str, clients: usize, seconds: u64, init: &str) -> f64 {
    let bin = banso::db::embedded::find_bin_dir()
        .map(|d| d.join("pgbench"))
        .unwrap_or_else(|| "pgbench".into());
    let mut conn = PgConnection::establish(url).expect("connect for pgbench");
    diesel::sql_query(init)
        .execute(&mut conn)
        .expect("pgbench setup");
    let file = std::env::temp_dir().join(format!("banso-pgbench-{}.sql", std::process::id()));
    std::fs::write(&file, script).expect("write pgbench script");
    let out = Command::new(bin)
        .args(["-n", "-f"])
        .arg(&file)
        .args([
            "-c",
            &clients.to_string(),
            "-j",
            &clients.min(2).to_string(),
            "-T",
            &seconds.to_string(),
        ])
        .arg(url)
        .output()
        .expect("run pgbench");
    let text = String::from_utf8_lossy(&out.stdout);
    let tps = text
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| {
            l.trim_start_matches("tps = ")
                .split_whitespace()
                .next()?
                .parse::<f64>()
                .ok()
        });
    match tps {
        Some(t) => t,
        None => panic!(
            "pgbench gave no tps: {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// What `wrk` measured: completed requests, the rate, latency percentiles
/// and the answers that were not 2xx or 3xx.
pub struct Wrk {
    pub requests: u64,
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub non_2xx: u64,
}

/// Runs `wrk` (a separate process, so the load generator's own costs are
/// as small as they can be) with the Lua `script` against `url`.
pub fn wrk(url: &str, script: &str, connections: usize, seconds: u64) -> Wrk {
    let file = std::env::temp_dir().join(format!(
        "banso-wrk-{}-{connections}.lua",
        std::process::id()
    ));
    std::fs::write(&file, script).expect("write wrk script");
    let out = Command::new("wrk")
        .args(["-t2", "--latency", "-c", &connections.to_string()])
        .args(["-d", &format!("{seconds}s"), "-s"])
        .arg(&file)
        .arg(url)
        .output()
        .unwrap_or_else(|e| panic!("cannot run wrk ({e}); install it: apt-get install wrk"));
    let text = String::from_utf8_lossy(&out.stdout);
    let ms = |v: &str| -> f64 {
        let (n, unit) = v.split_at(v.find(|c: char| c.is_alphabetic()).unwrap_or(v.len()));
        let n: f64 = n.parse().unwrap_or(f64::NAN);
        match unit {
            "us" => n / 1000.0,
            "ms" => n,
            "s" => n * 1000.0,
            "m" => n * 60_000.0,
            _ => f64::NAN,
        }
    };
    let field = |prefix: &str| -> Option<&str> {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .map(|l| l[prefix.len()..].trim())
    };
    let requests = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next()?.parse().ok());
    let rate = field("Requests/sec:").and_then(|v| v.parse().ok());
    match (requests, rate) {
        (Some(requests), Some(rate)) => Wrk {
            requests,
            rate,
            p50_ms: field("50%").map_or(f64::NAN, ms),
            p99_ms: field("99%").map_or(f64::NAN, ms),
            non_2xx: field("Non-2xx or 3xx responses:")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        },
        _ => panic!(
            "wrk gave no result: {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

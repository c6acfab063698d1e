//! Exports benchmark: a CSV export of every assistance visit through HTTP
//! (`GET /api/v1/assistances?format=csv`), in rows per second, against
//! `COPY (SELECT … FROM assistances) TO STDOUT` of the same rows by `psql`
//! on the same server in the same run, and the service's resident memory
//! (RSS) during each export, sampled every 20 ms. The service runs in this
//! process and the client only counts lines, so the RSS is the service's.
//! Two sizes, a tenth and all of the visits, show whether memory grows
//! with the rows.
//!
//! Run with `cargo bench --bench exports`; `BANSO_BENCH_VISITS` sets the
//! number of visits (default 1,000,000). docs/benchmarks.md has the results.

mod support;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use banso::auth::Role;
use banso::db::schema::{units, users};
use banso::demo::{Lcg, generate_registry};
use banso::units::model::UnitRow;
use diesel::prelude::*;
use uuid::Uuid;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// Samples the RSS until stopped; the peak in KiB.
fn sample_rss(stop: Arc<AtomicBool>, peak: Arc<AtomicU64>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            peak.fetch_max(rss_kib(), Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(20));
        }
    })
}

struct Run {
    rows: u64,
    seconds: f64,
    first_byte_ms: f64,
    peak_rss_mib: f64,
}

/// One CSV export over HTTP, counted line by line.
fn export(base: &str, token: &str, query: &str) -> Run {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(rss_kib()));
    let sampler = sample_rss(stop.clone(), peak.clone());
    let started = Instant::now();
    let (lines, first) = rt.block_on(async {
        let client = reqwest::Client::new();
        let mut res = client
            .get(format!("{base}/api/v1/assistances?{query}format=csv"))
            .bearer_auth(token)
            .send()
            .await
            .expect("export");
        assert_eq!(res.status(), 200);
        let mut lines = 0u64;
        let mut first = None;
        while let Some(chunk) = res.chunk().await.expect("chunk") {
            first.get_or_insert_with(|| started.elapsed());
            lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        }
        (lines, first.unwrap_or_default())
    });
    let seconds = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    sampler.join().expect("sampler");
    Run {
        rows: lines.saturating_sub(1),
        seconds,
        first_byte_ms: first.as_secs_f64() * 1000.0,
        peak_rss_mib: peak.load(Ordering::Relaxed) as f64 / 1024.0,
    }
}

/// `COPY … TO STDOUT` of the same rows by psql, its output counted.
fn copy(url: &str, limit: Option<u64>) -> (u64, f64) {
    let limit = limit
        .map(|n| format!(" ORDER BY id LIMIT {n}"))
        .unwrap_or_default();
    let sql = format!(
        "COPY (SELECT a.id, a.visited_on, a.area_path, a.team_id, a.household_id, a.kinds, \
         a.outcomes, a.status, a.status_reason, a.recorded_at, a.archived_at \
         FROM assistances a WHERE a.archived_at IS NULL{limit}) TO STDOUT WITH (FORMAT csv)"
    );
    let started = Instant::now();
    let mut child = Command::new("psql")
        .args(["-X", "-q", "-c", &sql, url])
        .stdout(Stdio::piped())
        .spawn()
        .expect("run psql");
    let mut out = child.stdout.take().expect("stdout");
    let mut buf = vec![0u8; 1 << 16];
    let mut lines = 0u64;
    loop {
        let n = std::io::Read::read(&mut out, &mut buf).expect("read psql");
        if n == 0 {
            break;
        }
        lines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
    }
    assert!(child.wait().expect("psql").success());
    (lines, started.elapsed().as_secs_f64())
}

fn main() {
    let visits: u64 = std::env::var("BANSO_BENCH_VISITS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let bench = support::database("banso_bench_exports");
    let mut conn = PgConnection::establish(&bench.url).expect("connect");
    banso::db::migrate(&mut conn).expect("migrate");
    banso::units::import::import(&mut conn, banso::units::import::Source::bundled(), None)
        .expect("units");
    // Five villages in each commune of Cao Bằng, with teams and households.
    let communes: Vec<UnitRow> = units::table
        .filter(units::level.eq("commune"))
        .filter(units::province_code.eq("04"))
        .filter(units::valid_to.is_null())
        .order(units::code)
        .select(UnitRow::as_select())
        .load(&mut conn)
        .expect("communes");
    let villages: Vec<UnitRow> = communes
        .iter()
        .flat_map(|c| (1..=5).map(move |n| (c, n)))
        .map(|(c, n)| {
            banso::units::repo::create_village(
                &mut conn,
                c,
                &format!("Thôn {n}"),
                "Thôn",
                c.valid_from,
            )
            .expect("village")
        })
        .collect();
    generate_registry(&mut conn, &villages, 40..=40, &mut Lcg(21)).expect("registry");
    let admin = Uuid::now_v7();
    diesel::insert_into(users::table)
        .values((
            users::id.eq(admin),
            users::username.eq("admin.bench"),
            users::password_hash.eq("not-a-login"),
            users::role.eq("admin"),
        ))
        .execute(&mut conn)
        .expect("admin");
    // The visits: households of every village, spread over two years, in
    // batches of 100,000 so that no statement runs long.
    let seeding = Instant::now();
    diesel::sql_query(
        "CREATE TEMP TABLE bench_h AS SELECT row_number() OVER (ORDER BY h.id) - 1 AS k, \
         h.id, h.area_path, t.id AS team_id FROM households h \
         JOIN teams t ON t.village_id = h.village_id AND t.status = 'active'",
    )
    .execute(&mut conn)
    .expect("households");
    let mut done = 0u64;
    while done < visits {
        let n = (visits - done).min(100_000);
        diesel::sql_query(format!(
            "INSERT INTO assistances (id, household_id, team_id, area_path, visited_on, \
             member_ids, kinds, outcomes, recorded_at, received_at, recorded_by, status, body_hash) \
             SELECT gen_random_uuid(), h.id, h.team_id, h.area_path, \
                    DATE '2024-11-01' + (i % 730)::int, '{{}}', ARRAY['vneid'], \
                    '[{{\"kind\":\"vneid\",\"outcome\":\"done\"}}]'::jsonb, now(), now(), \
                    '{admin}', CASE WHEN i % 3 = 0 THEN 'submitted' ELSE 'verified' END, \
                    '\\x00'::bytea \
             FROM generate_series({}::bigint, {}::bigint) AS i \
             JOIN bench_h h ON h.k = i % (SELECT count(*) FROM bench_h)",
            done + 1,
            done + n
        ))
        .execute(&mut conn)
        .expect("visits");
        done += n;
    }
    diesel::sql_query("VACUUM ANALYZE assistances")
        .execute(&mut conn)
        .expect("analyze");
    let stored: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT count(*) FROM assistances)",
    ))
    .get_result(&mut conn)
    .expect("count");
    println!(
        "seeded {stored} visits in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    let server = support::start_server(&bench.url, 2, 8);
    let token = server.token(admin, Role::Admin, None);
    let idle = rss_kib() as f64 / 1024.0;
    // A warm-up, so that caches are the same for both sides.
    let _ = copy(&bench.url, None);

    println!("\n| what | rows | seconds | rows/s | first byte ms | peak RSS MiB |");
    println!("| --- | --- | --- | --- | --- | --- |");
    println!("| service idle, before the exports | | | | | {idle:.0} |");
    let tenth = (stored as u64 / 10).max(1);
    for (label, limit) in [("a tenth", Some(tenth)), ("all", None)] {
        let (rows, secs) = copy(&bench.url, limit);
        println!(
            "| `COPY … TO STDOUT` by psql, {label} | {rows} | {secs:.2} | {:.0} | | |",
            rows as f64 / secs
        );
        // The export of a tenth: the visits of the first days (a filter
        // of the list), about a tenth of them.
        let query = match limit {
            Some(_) => "from=2024-11-01&to=2025-01-12&".to_string(),
            None => String::new(),
        };
        let run = export(&server.base, &token, &query);
        println!(
            "| `GET /assistances?format=csv`, {label} | {} | {:.2} | {:.0} | {:.0} | {:.0} |",
            run.rows,
            run.seconds,
            run.rows as f64 / run.seconds,
            run.first_byte_ms,
            run.peak_rss_mib
        );
    }
    drop(conn);
    let mut admin_conn = PgConnection::establish(&bench.admin_url).expect("connect");
    // The database is large: it does not outlive the run.
    let _ = diesel::sql_query("DROP DATABASE IF EXISTS banso_bench_exports WITH (FORCE)")
        .execute(&mut admin_conn);
}

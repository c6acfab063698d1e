//! Reports benchmark: `GET /api/v1/reports/summary` at province scale, a
//! year of Cao Bằng grouped by commune and a year of each of its communes,
//! against plain SQL over the raw tables answering the same questions on
//! the same server in the same run. Run with `cargo bench --bench reports`
//! (docs/benchmarks.md has the targets and the figures).
//!
//! The database is made once by `banso seed --scale province` at
//! `BANSO_BENCH_FRACTION` (default 0.1) and kept (`banso_bench_reports`), so
//! later runs measure at once; `BANSO_BENCH_RESEED=1` makes it anew, with
//! `BANSO_BENCH_JOBS` batches at once (default 2).
//! `BANSO_BENCH_SCALE=national` seeds `--scale national` instead (its own
//! database, `banso_bench_reports_national`) and asks the same questions
//! as an admin, of Cao Bằng and of the province with the most villages.

mod support;

use std::time::{Duration, Instant};

use banso::auth::Role;
use banso::db::schema::{app_meta, units, users};
use banso::units::model::UnitRow;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Text};
use uuid::Uuid;

const MARK: &str = "bench_reports_seeded";
/// Requests per HTTP scenario and runs per SQL reference, after warming up.
const ROUNDS: usize = 60;

fn main() {
    let fraction: f64 = std::env::var("BANSO_BENCH_FRACTION")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.1);
    let reseed = std::env::var("BANSO_BENCH_RESEED").is_ok_and(|v| v == "1");
    let national = std::env::var("BANSO_BENCH_SCALE").is_ok_and(|v| v == "national");
    let (scale, db) = if national {
        (banso::seed::Scale::National, "banso_bench_reports_national")
    } else {
        (banso::seed::Scale::Province, "banso_bench_reports")
    };
    let bench = support::database_kept(db, reseed);
    let mut conn = PgConnection::establish(&bench.url).expect("connect");
    banso::db::migrate(&mut conn).expect("migrate");
    let seeded: Option<String> = app_meta::table
        .find(MARK)
        .select(app_meta::value)
        .first(&mut conn)
        .optional()
        .expect("app_meta");
    let settings = banso::config::Settings::from_lookup(|k| match k {
        "BANSO_ADMIN_PASSWORD" => Some("benchmark password".into()),
        _ => None,
    })
    .expect("settings");
    match seeded {
        Some(f) => println!("reusing {db}, seeded at fraction {f}"),
        None => {
            let t = Instant::now();
            let jobs = std::env::var("BANSO_BENCH_JOBS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(2);
            banso::seed::run(
                &mut conn,
                &|| PgConnection::establish(&bench.url).map_err(Into::into),
                &settings,
                scale,
                fraction,
                jobs,
                &mut std::io::stdout(),
            )
            .expect("seed");
            diesel::sql_query("VACUUM ANALYZE")
                .execute(&mut conn)
                .expect("vacuum");
            diesel::insert_into(app_meta::table)
                .values((
                    app_meta::key.eq(MARK),
                    app_meta::value.eq(fraction.to_string()),
                ))
                .execute(&mut conn)
                .expect("mark");
            println!("seeded in {:.0} s", t.elapsed().as_secs_f64());
        }
    }
    // A running service links audit events into the chain as they come; a
    // seed writes millions with none linked. Linked here first, so the
    // figures are those of a service in its steady state, not of one
    // catching up beside the reports.
    let t = Instant::now();
    let linked = banso::audit::chain::link_all(&mut conn).expect("link the audit chain");
    if linked > 0 {
        diesel::sql_query("VACUUM ANALYZE audit_events")
            .execute(&mut conn)
            .expect("vacuum");
        println!(
            "linked {linked} audit events in {:.0} s",
            t.elapsed().as_secs_f64()
        );
    }
    let visits: i64 = diesel::dsl::select(diesel::dsl::sql::<BigInt>(
        "(SELECT count(*) FROM assistances)",
    ))
    .get_result(&mut conn)
    .expect("count");
    let trainings: i64 = diesel::dsl::select(diesel::dsl::sql::<BigInt>(
        "(SELECT count(*) FROM trainings)",
    ))
    .get_result(&mut conn)
    .expect("count");
    let size: String = diesel::dsl::select(diesel::dsl::sql::<Text>(
        "pg_size_pretty(pg_database_size(current_database()))",
    ))
    .get_result(&mut conn)
    .expect("size");
    println!("data: {visits} visits, {trainings} training sessions, database {size}");

    let today = banso::units::repo::today();
    let cao_bang = province_of_code(&mut conn, "04", today);
    // Nationally, also the province with the most villages (the seed spreads
    // villages over the communes of today, so the most communes): the
    // largest year any province officer can ask for.
    let mut provinces = vec![cao_bang.clone()];
    if national {
        let largest: String = diesel::dsl::select(diesel::dsl::sql::<Text>(
            "(SELECT province_code FROM units WHERE level = 'village' AND valid_to IS NULL \
             GROUP BY province_code ORDER BY count(*) DESC, province_code LIMIT 1)",
        ))
        .get_result(&mut conn)
        .expect("the largest province");
        let largest = province_of_code(&mut conn, &largest, today);
        if largest.id != cao_bang.id {
            provinces.push(largest);
        }
    }
    // The demo's province officer; the national seed has an admin only.
    let (username, role, area) = if national {
        ("admin", Role::Admin, None)
    } else {
        ("canbo.caobang", Role::Officer, Some(cao_bang.id))
    };
    let reader: Uuid = users::table
        .filter(users::username.eq(username))
        .select(users::id)
        .first(&mut conn)
        .expect("the account reading the reports");
    // The year: the last whole calendar year the seed covers.
    let year = today.format("%Y").to_string().parse::<i32>().expect("year") - 1;
    let (from, to) = (
        chrono::NaiveDate::from_ymd_opt(year, 1, 1).expect("date"),
        chrono::NaiveDate::from_ymd_opt(year, 12, 31).expect("date"),
    );

    let server = support::start_server(&bench.url, 2, 8);
    let token = server.token(reader, role, area);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    for province in &provinces {
        let (by_commune, one_commune) =
            measure(&rt, &server.base, &token, &mut conn, province, from, to);
        if national {
            println!(
                "target (at 10 million activities, the national tenth): a province's year p95 < 300 ms: {:.1} ms by commune for {}",
                by_commune, province.name
            );
        } else {
            println!(
                "targets (at 2 million activities): province by commune p95 < 100 ms: {by_commune:.1} ms; a commune p95 < 20 ms: {one_commune:.1} ms",
            );
        }
    }
}

/// The province of today with `code`.
fn province_of_code(conn: &mut PgConnection, code: &str, today: chrono::NaiveDate) -> UnitRow {
    banso::units::repo::find_by_code(conn, code, today)
        .expect("units")
        .into_iter()
        .find(|u| u.level == "province")
        .unwrap_or_else(|| panic!("no province {code}"))
}

/// Asks `province`'s year by commune and each of its communes' years over
/// HTTP and in plain SQL, after checking that both give the same figures;
/// prints the table and gives the HTTP p95s (by commune, a commune) in ms.
fn measure(
    rt: &tokio::runtime::Runtime,
    base: &str,
    token: &str,
    conn: &mut PgConnection,
    province: &UnitRow,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> (f64, f64) {
    let communes: Vec<UnitRow> = units::table
        .filter(units::parent_id.eq(province.id))
        .filter(units::level.eq("commune"))
        .filter(units::valid_to.is_null())
        .order(units::code)
        .select(UnitRow::as_select())
        .load(conn)
        .expect("communes");
    let period = format!("from={from}&to={to}");

    // The same figures both ways first: the benchmark measures answers
    // that agree.
    let body: serde_json::Value = rt.block_on(async {
        reqwest::Client::new()
            .get(format!(
                "{base}/api/v1/reports/summary?unit_id={}&{period}&group_by=child",
                province.id
            ))
            .bearer_auth(token)
            .send()
            .await
            .expect("summary")
            .json()
            .await
            .expect("json")
    });
    let plain = plain_province(conn, province, from, to);
    let total = plain.iter().find(|r| r.key.is_none()).expect("total row");
    let t = &body["totals"];
    assert_eq!(t["visits"].as_i64(), Some(total.visits), "visits");
    assert_eq!(
        t["households_assisted"].as_i64(),
        Some(total.assisted),
        "households assisted"
    );
    assert_eq!(
        t["poor_households_assisted"].as_i64(),
        Some(total.poor_assisted),
        "poor households assisted"
    );
    assert_eq!(t["trainings"].as_i64(), Some(total.trainings), "trainings");
    assert_eq!(
        t["households"]["total"].as_i64(),
        Some(total.households),
        "households"
    );
    assert_eq!(
        t["attendees"]["total"].as_i64(),
        Some(total.attendees),
        "attendees"
    );
    assert_eq!(
        t["poor_households"].as_i64(),
        Some(total.poor_households),
        "poor households"
    );
    assert_eq!(t["teams_active"].as_i64(), Some(total.teams), "teams");
    assert_eq!(
        t["members"]["total"].as_i64(),
        Some(total.members),
        "members"
    );
    println!(
        "{from}..{to} for {}: {} visits, {} households assisted, {} rows",
        province.name,
        total.visits,
        total.assisted,
        body["rows"].as_array().map_or(0, Vec::len)
    );

    let mut rows = Vec::new();
    let (p, tk, pd, b) = (
        province.id,
        token.to_owned(),
        period.clone(),
        base.to_owned(),
    );
    let by_commune = rt.block_on(support::load(
        "province by commune, a year (HTTP)",
        1,
        ROUNDS,
        200,
        move |c, _| {
            c.get(format!(
                "{b}/api/v1/reports/summary?unit_id={p}&{pd}&group_by=child"
            ))
            .bearer_auth(&tk)
        },
    ));
    let ids: Vec<Uuid> = communes.iter().map(|c| c.id).collect();
    let (tk, pd, b) = (token.to_owned(), period.clone(), base.to_owned());
    let one_commune = rt.block_on(support::load(
        "a commune, a year (HTTP, every commune in turn)",
        1,
        ROUNDS.max(ids.len()),
        200,
        move |c, i| {
            c.get(format!(
                "{b}/api/v1/reports/summary?unit_id={}&{pd}",
                ids[i % ids.len()]
            ))
            .bearer_auth(&tk)
        },
    ));
    let sql_province = timed("province by commune, a year (plain SQL)", || {
        plain_province(conn, province, from, to);
    });
    let mut i = 0;
    let sql_commune = timed("a commune, a year (plain SQL)", || {
        plain_province(conn, &communes[i % communes.len()], from, to);
        i += 1;
    });
    rows.extend([&by_commune, &sql_province, &one_commune, &sql_commune]);
    println!(
        "\n{}: {} communes\n{}",
        province.name,
        communes.len(),
        support::TABLE_HEAD
    );
    for r in &rows {
        println!("{}", r.row());
    }
    println!(
        "\nratio HTTP / plain SQL at p95: province by commune {:.2}, a commune {:.2}",
        by_commune.p95_ms / sql_province.p95_ms,
        one_commune.p95_ms / sql_commune.p95_ms
    );
    (by_commune.p95_ms, one_commune.p95_ms)
}

fn timed(name: &str, mut f: impl FnMut()) -> support::Stats {
    f();
    let started = Instant::now();
    let samples: Vec<Duration> = (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    support::Stats::from(name, samples, started.elapsed().as_secs_f64(), 0)
}

#[derive(QueryableByName, Debug)]
struct PlainRow {
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    key: Option<String>,
    #[diesel(sql_type = BigInt)]
    visits: i64,
    #[diesel(sql_type = BigInt)]
    assisted: i64,
    #[diesel(sql_type = BigInt)]
    poor_assisted: i64,
    #[diesel(sql_type = BigInt)]
    trainings: i64,
    #[diesel(sql_type = BigInt)]
    attendees: i64,
    #[diesel(sql_type = BigInt)]
    households: i64,
    #[diesel(sql_type = BigInt)]
    poor_households: i64,
    #[diesel(sql_type = BigInt)]
    teams: i64,
    #[diesel(sql_type = BigInt)]
    members: i64,
}

/// The summary's main figures for `unit` grouped by the units one level
/// down, straight from the raw tables: visits (verified), distinct
/// households assisted and poor ones, training sessions and attendees, the
/// households registered, teams and members active on `to`. The villages a
/// unit holds are those whose commune of some period lies under it, as the
/// service counts them.
fn plain_province(
    conn: &mut PgConnection,
    unit: &UnitRow,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Vec<PlainRow> {
    let lo = unit.path.clone();
    let hi = format!("{}\u{10FFFF}", unit.path);
    let key_pos = lo.len() as i32 + 1;
    diesel::sql_query(
        "WITH v AS ( \
           SELECT DISTINCT u.path AS now_path, substring(vc.path FROM $3 FOR 32) AS key \
           FROM village_communes vc JOIN units u ON u.id = vc.village_id \
           WHERE vc.path >= $1 AND vc.path < $2), \
         a AS ( \
           SELECT v.key, count(*) AS visits, count(DISTINCT a.household_id) AS assisted, \
                  count(DISTINCT a.household_id) FILTER (WHERE h.poverty_status <> 'not_poor') \
                    AS poor_assisted \
           FROM assistances a JOIN v ON a.area_path = v.now_path \
           JOIN households h ON h.id = a.household_id \
           WHERE a.visited_on BETWEEN $4 AND $5 AND a.status = 'verified' \
             AND a.archived_at IS NULL \
           GROUP BY ROLLUP (v.key)), \
         t AS ( \
           SELECT v.key, count(*) AS trainings, sum(t.attendees_total) AS attendees \
           FROM trainings t JOIN v ON t.area_path = v.now_path \
           WHERE t.held_on BETWEEN $4 AND $5 AND t.status = 'verified' AND t.archived_at IS NULL \
           GROUP BY ROLLUP (v.key)), \
         h AS ( \
           SELECT v.key, count(*) AS households, \
                  count(*) FILTER (WHERE h.poverty_status <> 'not_poor') AS poor_households \
           FROM households h JOIN v ON h.area_path = v.now_path WHERE h.archived_at IS NULL \
           GROUP BY ROLLUP (v.key)), \
         tm AS ( \
           SELECT v.key, count(*) AS teams FROM teams t JOIN v ON t.area_path = v.now_path \
           WHERE t.archived_at IS NULL AND (t.founded_on IS NULL OR t.founded_on <= $5) \
             AND (t.dissolved_on IS NULL OR t.dissolved_on > $5) \
           GROUP BY ROLLUP (v.key)), \
         m AS ( \
           SELECT v.key, count(*) AS members FROM members m JOIN v ON m.area_path = v.now_path \
           WHERE m.archived_at IS NULL AND m.joined_on <= $5 \
             AND (m.left_on IS NULL OR m.left_on > $5) \
           GROUP BY ROLLUP (v.key)) \
         SELECT h.key, coalesce(a.visits, 0)::bigint AS visits, \
                coalesce(a.assisted, 0)::bigint AS assisted, \
                coalesce(a.poor_assisted, 0)::bigint AS poor_assisted, \
                coalesce(t.trainings, 0)::bigint AS trainings, \
                coalesce(t.attendees, 0)::bigint AS attendees, \
                h.households, h.poor_households, \
                coalesce(tm.teams, 0)::bigint AS teams, coalesce(m.members, 0)::bigint AS members \
         FROM h LEFT JOIN a ON a.key IS NOT DISTINCT FROM h.key \
         LEFT JOIN t ON t.key IS NOT DISTINCT FROM h.key \
         LEFT JOIN tm ON tm.key IS NOT DISTINCT FROM h.key \
         LEFT JOIN m ON m.key IS NOT DISTINCT FROM h.key",
    )
    .bind::<Text, _>(lo)
    .bind::<Text, _>(hi)
    .bind::<diesel::sql_types::Integer, _>(key_pos)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .load(conn)
    .expect("plain SQL")
}

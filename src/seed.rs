//! `banso seed --scale province|national [--fraction F]`: realistic data at
//! the sizes reports must answer for, made with the same inserts the
//! service and the demo use (every check, trigger and audit event holds).
//!
//! - `province`: Cao Bằng as the demo has it (its 1,462 villages founded
//!   under the communes before the 2025 reform and moved to today's, the
//!   published 1,462 teams and 6,686 members), about 85 households a
//!   village and two years of activities, about 2 million.
//! - `national`: the 34 provinces of today, 75,000 villages with a team
//!   each, 350,000 members, 25 million households and about 100 million
//!   activities over two years.
//!
//! Members per village are fixed for the whole run, so a resumed run makes
//! the same teams. `--fraction` scales households and activities (and, for `national`,
//! villages, teams and members too). Villages are filled in batches, each
//! its own transaction, `--jobs` at once on their own connections, with a
//! line of progress per batch; a batch always
//! makes the same data (its generator is seeded by its number), and a run
//! that was stopped resumes at the first village without a team.

use std::collections::HashMap;
use std::io::Write;
use std::time::Instant;

use diesel::prelude::*;
use uuid::Uuid;

use crate::config::Settings;
use crate::db::schema::{app_meta, teams, units};
use crate::demo::{self, Lcg, Pace};
use crate::units::import::{self, Source};
use crate::units::model::UnitRow;
use crate::units::repo as unit_repo;

type Failure = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scale {
    Province,
    National,
}

/// Households per village (a mean; each village has 70% to 130% of it).
const PROVINCE_HOUSEHOLDS: f64 = 85.0;
const NATIONAL_VILLAGES: f64 = 75_000.0;
const NATIONAL_MEMBERS: f64 = 350_000.0;
const NATIONAL_HOUSEHOLDS: f64 = 25_000_000.0;
/// The demo's pattern gives 0.75 visits per household over the period;
/// these many rounds of it give about 16 a household (2 million in Cao
/// Bằng) and about 4 (100 million in the country).
const PROVINCE_ROUNDS: usize = 21;
const NATIONAL_ROUNDS: usize = 5;
/// One training session a month per team.
const SESSION_DAYS: usize = 30;
/// The reports' running totals, kept by triggers on every write.
const RUNNING_TOTALS: [&str; 6] = [
    "report_visit_months",
    "report_visit_years",
    "report_household_months",
    "report_household_counts",
    "report_household_years",
    "report_household_year_counts",
];
/// About this many visits per transaction.
const BATCH_VISITS: f64 = 20_000.0;
const MONTHS: u32 = 24;

/// What a seed made, in all (including what an earlier, stopped run made).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Made {
    pub villages: i64,
    pub teams: i64,
    pub members: i64,
    pub households: i64,
    pub trainings: i64,
    pub visits: i64,
}

/// Seeds the database on `conn`, the villages' batches on `jobs`
/// connections from `connect` at once; writes progress to `out`.
pub fn run(
    conn: &mut PgConnection,
    connect: Connect,
    settings: &Settings,
    scale: Scale,
    fraction: f64,
    jobs: usize,
    out: &mut dyn Write,
) -> Result<Made, Failure> {
    if !(fraction > 0.0 && fraction <= 1.0) {
        return Err("--fraction must be more than 0 and at most 1".into());
    }
    if jobs == 0 {
        return Err("--jobs must be at least 1".into());
    }
    let started = Instant::now();
    let today = unit_repo::today();
    let first = crate::activities::month_of(today) - chrono::Months::new(MONTHS);
    let (villages, until, households, rounds, checker, locked) = match scale {
        Scale::Province => {
            if !demo_stage_done(conn)? {
                writeln!(out, "units and accounts of the demo …")?;
                demo::load_units_and_accounts(conn, settings)?;
            }
            let (villages, waiting) = demo::demo_villages(conn)?;
            // The villages of the split commune record until the reform.
            let reform = chrono::NaiveDate::from_ymd_opt(2025, 6, 30).ok_or("bad date")?;
            let until: HashMap<Uuid, chrono::NaiveDate> = villages
                .iter()
                .map(|v| (v.id, today))
                .chain(waiting.iter().map(|v| (v.id, reform)))
                .collect();
            // Cao Bằng's published members, and five in each waiting village.
            let mut members = demo::spread(
                villages.len(),
                demo::DEMO_MEMBERS,
                3,
                9,
                &mut Lcg(0x7365_6564),
            )
            .ok_or("the members do not fit the teams")?;
            members.extend(waiting.iter().map(|_| 5));
            let all: Vec<UnitRow> = villages.into_iter().chain(waiting).collect();
            let province = demo::demo_province(conn)?;
            (
                (all, members),
                until,
                PROVINCE_HOUSEHOLDS * fraction,
                PROVINCE_ROUNDS,
                "canbo.caobang",
                vec![province],
            )
        }
        Scale::National => {
            let (villages, provinces) = national_villages(conn, settings, fraction, out)?;
            let until = villages.iter().map(|v| (v.id, today)).collect();
            let total = ((NATIONAL_MEMBERS * fraction).round() as usize)
                .clamp(3 * villages.len(), 9 * villages.len());
            let members = demo::spread(villages.len(), total, 3, 9, &mut Lcg(0x7365_6564))
                .ok_or("the members do not fit the teams")?;
            (
                (villages, members),
                until,
                NATIONAL_HOUSEHOLDS / NATIONAL_VILLAGES,
                NATIONAL_ROUNDS,
                "admin",
                provinces,
            )
        }
    };
    let (villages, sizes) = villages;
    let who = demo::recorders(conn, checker)?;
    let per_village = households.max(1.0);
    let low = ((per_village * 0.7).round() as usize).max(1);
    let high = ((per_village * 1.3).round() as usize).max(low);
    let done: std::collections::HashSet<Uuid> = teams::table
        .filter(teams::village_id.eq_any(villages.iter().map(|v| v.id).collect::<Vec<_>>()))
        .select(teams::village_id)
        .load::<Uuid>(conn)?
        .into_iter()
        .collect();
    let per_batch = ((BATCH_VISITS / (per_village * 0.75 * rounds as f64)).floor() as usize).max(1);
    let pace = Pace {
        first,
        visit_rounds: rounds,
        session_days: SESSION_DAYS,
    };
    writeln!(
        out,
        "seeding {} villages ({} done before), {low} to {high} households each, activities from {first} to {today}, {per_batch} villages a batch, {jobs} at once",
        villages.len(),
        done.len()
    )?;
    let batches: Vec<(usize, Vec<UnitRow>, Vec<usize>)> = villages
        .iter()
        .cloned()
        .zip(sizes)
        .collect::<Vec<_>>()
        .chunks(per_batch)
        .enumerate()
        .filter_map(|(number, c)| {
            let (todo, sizes): (Vec<UnitRow>, Vec<usize>) = c
                .iter()
                .filter(|(v, _)| !done.contains(&v.id))
                .cloned()
                .unzip();
            (!todo.is_empty()).then_some((number, todo, sizes))
        })
        .collect();
    let fill = Fill {
        low,
        high,
        until: &until,
        pace: &pace,
        who: &who,
    };
    let mut rows = 0usize;
    let mut filled = done.len();
    fill_in_parallel(connect, jobs, batches, &fill, |made| {
        let Filled {
            villages: n,
            counts,
            sessions: s,
            visits: v,
        } = made;
        filled += n;
        rows += counts.teams + counts.members + counts.households + s + v;
        let secs = started.elapsed().as_secs_f64();
        writeln!(
            out,
            "{filled}/{} villages · +{} households · +{s} sessions · +{v} visits · {:.0} rows/s · {secs:.0} s",
            villages.len(),
            counts.households,
            rows as f64 / secs.max(0.001),
        )?;
        Ok(())
    })?;
    for unit in &locked {
        demo::lock_months(conn, unit, first, who.checker)?;
    }
    writeln!(out, "announcing the registry in the change feed …")?;
    // The activities and month locks were written with their events.
    crate::changes::announce::unlisted_registry(conn, "seed")?;
    if scale == Scale::Province {
        // `serve --demo` on this database finds its registry and activities.
        demo::mark_seeded(conn)?;
    }
    // Every visit written updated its running totals, and those rows are
    // covered by their indexes, so each update left a new entry in every
    // index of its table: after a seed the covering ones are two to three
    // times the size of their tables, and the planner reads the tables
    // instead (docs/benchmarks.md). Rebuilt once, as after any bulk load.
    writeln!(out, "rebuilding the running totals' indexes …")?;
    for table in RUNNING_TOTALS {
        diesel::sql_query(format!("REINDEX TABLE {table}")).execute(conn)?;
    }
    diesel::sql_query(format!(
        "ANALYZE units, village_communes, teams, members, households, trainings, assistances, {}",
        RUNNING_TOTALS.join(", ")
    ))
    .execute(conn)?;
    let made = totals(conn, &villages)?;
    writeln!(
        out,
        "seeded in {:.0} s: {} villages, {} teams, {} members, {} households, {} training sessions, {} visits",
        started.elapsed().as_secs_f64(),
        made.villages,
        made.teams,
        made.members,
        made.households,
        made.trainings,
        made.visits
    )?;
    for (table, bytes) in sizes_of(conn)? {
        writeln!(out, "  {table}: {:.1} MiB", bytes as f64 / 1048576.0)?;
    }
    Ok(made)
}

/// Opens one more connection to the database being seeded.
pub type Connect<'a> = &'a (dyn Fn() -> Result<PgConnection, Failure> + Sync);

/// What every batch is filled with.
struct Fill<'a> {
    low: usize,
    high: usize,
    until: &'a HashMap<Uuid, chrono::NaiveDate>,
    pace: &'a Pace,
    who: &'a demo::Recorders,
}

/// What one batch made.
struct Filled {
    villages: usize,
    counts: demo::Counts,
    sessions: usize,
    visits: usize,
}

/// Fills `batches` (number, villages, members of each) on `jobs`
/// connections at once, each batch in its own transaction; `done` hears of
/// each batch as it commits. Batches hold disjoint villages and every
/// running total is kept per village, so they do not wait for each other.
/// After the first failure no batch starts, and the failure is returned
/// once the batches under way have ended.
fn fill_in_parallel(
    connect: Connect,
    jobs: usize,
    batches: Vec<(usize, Vec<UnitRow>, Vec<usize>)>,
    fill: &Fill,
    mut done: impl FnMut(Filled) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let queue = std::sync::Mutex::new(batches.into_iter());
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (tx, rx) = std::sync::mpsc::channel::<Result<Filled, Failure>>();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let (tx, queue, stop) = (tx.clone(), &queue, &stop);
            scope.spawn(move || {
                let mut conn = match connect() {
                    Ok(conn) => conn,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let Ok(Some((number, villages, sizes))) = queue.lock().map(|mut q| q.next())
                    else {
                        break;
                    };
                    let made = fill_batch(&mut conn, number, villages, &sizes, fill);
                    let failed = made.is_err();
                    if tx.send(made).is_err() || failed {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut failure = None;
        for made in rx {
            if let Err(e) = made.and_then(&mut done) {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                failure.get_or_insert(e);
            }
        }
        failure.map_or(Ok(()), Err)
    })
}

/// One batch in one transaction: each village's team, members and
/// households, then the teams' activities. The batch's generator is seeded
/// by its number, so a batch makes the same data whenever it runs.
fn fill_batch(
    conn: &mut PgConnection,
    number: usize,
    villages: Vec<UnitRow>,
    sizes: &[usize],
    fill: &Fill,
) -> Result<Filled, Failure> {
    let mut rng = Lcg(0x6261_7463_6800 ^ number as u64);
    conn.transaction::<_, Failure, _>(|conn| {
        let mut counts = demo::Counts::default();
        for (village, size) in villages.iter().zip(sizes) {
            let c = demo::generate_registry_sized(
                conn,
                std::slice::from_ref(village),
                fill.low..=fill.high,
                Some(*size),
                &mut rng,
            )?;
            counts.teams += c.teams;
            counts.members += c.members;
            counts.households += c.households;
        }
        let teams_here: Vec<(Uuid, Uuid, String)> = teams::table
            .filter(teams::village_id.eq_any(villages.iter().map(|v| v.id).collect::<Vec<_>>()))
            .order(teams::area_path)
            .select((teams::id, teams::village_id, teams::area_path))
            .load(conn)?;
        let (sessions, visits) =
            demo::activities_for(conn, &teams_here, fill.until, fill.pace, fill.who, &mut rng)?;
        Ok(Filled {
            villages: villages.len(),
            counts,
            sessions,
            visits,
        })
    })
}

fn demo_stage_done(conn: &mut PgConnection) -> Result<bool, Failure> {
    Ok(app_meta::table
        .find(demo::STAGE_UNITS)
        .select(app_meta::key)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

const NATIONAL_STAGE: &str = "seed_national_villages";

/// The villages of the national seed, made once: spread over the communes
/// of today of every province (a province's first commune, then every
/// province's second, and so on), and an `admin` account.
fn national_villages(
    conn: &mut PgConnection,
    settings: &Settings,
    fraction: f64,
    out: &mut dyn Write,
) -> Result<(Vec<UnitRow>, Vec<UnitRow>), Failure> {
    let today = unit_repo::today();
    let has_units: bool =
        diesel::select(diesel::dsl::exists(units::table.select(units::id))).get_result(conn)?;
    if !has_units {
        writeln!(out, "importing the units of Vietnam …")?;
        import::import(
            conn,
            Source::bundled(),
            Some(&crate::audit::Ctx::system("seed")),
        )?;
    }
    if crate::users::repo::find_by_username(conn, "admin")?.is_none() {
        let password = match &settings.admin_password {
            Some(p) => p.clone(),
            None => {
                let p = demo::random_password()?;
                writeln!(out, "account admin, its password shown only this once: {p}")?;
                p
            }
        };
        crate::cli::create_user(
            conn,
            "admin",
            "admin",
            None,
            Some("Quản trị hệ thống"),
            &password,
        )?;
    }
    let current = |q: units::BoxedQuery<'static, diesel::pg::Pg>| {
        q.filter(units::valid_from.le(today))
            .filter(units::valid_to.is_null().or(units::valid_to.ge(today)))
    };
    let provinces: Vec<UnitRow> = current(units::table.into_boxed())
        .filter(units::level.eq("province"))
        .order(units::code)
        .select(UnitRow::as_select())
        .load(conn)?;
    let made: bool = app_meta::table
        .find(NATIONAL_STAGE)
        .select(app_meta::key)
        .first::<String>(conn)
        .optional()?
        .is_some();
    if !made {
        let wanted = ((NATIONAL_VILLAGES * fraction).round() as usize).max(provinces.len());
        let mut lists = Vec::new();
        for p in &provinces {
            let communes: Vec<UnitRow> = current(units::table.into_boxed())
                .filter(units::level.eq("commune"))
                .filter(units::province_code.eq(p.code.clone()))
                .order(units::code)
                .select(UnitRow::as_select())
                .load(conn)?;
            lists.push(communes);
        }
        let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
        let order: Vec<&UnitRow> = (0..longest)
            .flat_map(|i| lists.iter().filter_map(move |l| l.get(i)))
            .collect();
        if order.is_empty() {
            return Err("there are no communes of today to seed".into());
        }
        writeln!(
            out,
            "making {wanted} villages in {} communes …",
            order.len().min(wanted)
        )?;
        let mut rng = Lcg(0x7669_6c6c);
        conn.transaction::<_, Failure, _>(|conn| {
            for i in 0..wanted {
                let commune = order[i % order.len()];
                let kind = rng.pick(demo::VILLAGE_TYPES);
                let name = format!(
                    "{kind} {} {}",
                    rng.pick(demo::VILLAGE_NAMES),
                    i / order.len() + 1
                );
                unit_repo::create_village(conn, commune, &name, kind, commune.valid_from)?;
            }
            diesel::insert_into(app_meta::table)
                .values((
                    app_meta::key.eq(NATIONAL_STAGE),
                    app_meta::value.eq(wanted.to_string()),
                ))
                .execute(conn)?;
            Ok(())
        })?;
    }
    let villages: Vec<UnitRow> = current(units::table.into_boxed())
        .filter(units::level.eq("village"))
        .order((units::path, units::id))
        .select(UnitRow::as_select())
        .load(conn)?;
    Ok((villages, provinces))
}

fn totals(conn: &mut PgConnection, villages: &[UnitRow]) -> Result<Made, Failure> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        teams: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        members: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        households: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        trainings: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        visits: i64,
    }
    let ids: Vec<Uuid> = villages.iter().map(|v| v.id).collect();
    let n: N = diesel::sql_query(
        "SELECT (SELECT count(*) FROM teams WHERE village_id = ANY($1)) AS teams, \
                (SELECT count(*) FROM members m JOIN teams t ON t.id = m.team_id \
                 WHERE t.village_id = ANY($1)) AS members, \
                (SELECT count(*) FROM households WHERE village_id = ANY($1)) AS households, \
                (SELECT count(*) FROM trainings WHERE village_id = ANY($1)) AS trainings, \
                (SELECT count(*) FROM assistances a JOIN teams t ON t.id = a.team_id \
                 WHERE t.village_id = ANY($1)) AS visits",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(&ids)
    .get_result(conn)?;
    Ok(Made {
        villages: villages.len() as i64,
        teams: n.teams,
        members: n.members,
        households: n.households,
        trainings: n.trainings,
        visits: n.visits,
    })
}

/// The size on disk of the database and of its largest tables (with their
/// indexes).
fn sizes_of(conn: &mut PgConnection) -> Result<Vec<(String, i64)>, Failure> {
    #[derive(QueryableByName)]
    struct S {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        bytes: i64,
    }
    let rows: Vec<S> = diesel::sql_query(
        "SELECT 'database' AS name, pg_database_size(current_database()) AS bytes \
         UNION ALL (SELECT c.relname::text, pg_total_relation_size(c.oid) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind = 'r' \
         ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 8)",
    )
    .load(conn)?;
    Ok(rows.into_iter().map(|s| (s.name, s.bytes)).collect())
}

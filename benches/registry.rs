//! Registry benchmark: 10,000 teams and 200,000 households in the database,
//! then lists, searches and reads of one commune through HTTP, and a
//! 10,000-row household import. Run with `cargo bench --bench registry`
//! (docs/benchmarks.md has the targets and the latest results).

mod support;

use std::sync::Arc;
use std::time::Instant;

use banso::auth::Role;
use banso::demo::{Lcg, generate_registry};
use banso::units::model::{NewUnit, UnitRow, path_segment};
use diesel::prelude::*;
use uuid::Uuid;

use banso::db::schema::{households, units};
use support::{TABLE_HEAD, load};

const VILLAGES: usize = 10_000;
const HOUSEHOLDS_PER_VILLAGE: usize = 20;
const CONCURRENCY: usize = 4;
const REQUESTS: usize = 2_000;

/// What the scenarios need to build their requests.
struct Ctx {
    base: String,
    auth: String,
    commune: Uuid,
    commune_ids: Vec<Uuid>,
    province_ids: Vec<Uuid>,
}

type Scenario = fn(&Ctx, &reqwest::Client, usize) -> reqwest::RequestBuilder;

/// Villages spread over every current commune, inserted in bulk.
fn make_villages(conn: &mut PgConnection) -> Vec<UnitRow> {
    let communes: Vec<UnitRow> = units::table
        .filter(units::level.eq("commune"))
        .filter(units::valid_to.is_null())
        .order(units::code)
        .select(UnitRow::as_select())
        .load(conn)
        .expect("communes");
    let mut rows = Vec::with_capacity(VILLAGES);
    let mut i = 0;
    while rows.len() < VILLAGES {
        let commune = &communes[i % communes.len()];
        let n = i / communes.len() + 1;
        let id = Uuid::now_v7();
        let code = format!("{}-{n:02}", commune.code);
        let name = format!("Thôn {n}");
        rows.push(NewUnit {
            id,
            level: "village".into(),
            search_text: format!("{} {code}", banso::text::fold(&name)),
            code,
            short_name: format!("{n}"),
            name,
            unit_type: "Thôn".into(),
            parent_id: Some(commune.id),
            province_code: commune.province_code.clone(),
            valid_from: commune.valid_from,
            valid_to: None,
            path: format!("{}{}", commune.path, path_segment(id)),
        });
        i += 1;
    }
    for chunk in rows.chunks(1000) {
        diesel::insert_into(units::table)
            .values(chunk)
            .execute(conn)
            .expect("villages");
    }
    units::table
        .filter(units::level.eq("village"))
        .select(UnitRow::as_select())
        .load(conn)
        .expect("load villages")
}

fn main() {
    let bench = support::database("banso_bench_registry");
    let mut conn = PgConnection::establish(&bench.url).expect("connect");
    banso::db::migrate(&mut conn).expect("migrate");
    banso::units::import::import(&mut conn, banso::units::import::Source::bundled(), None)
        .expect("units");

    let t = Instant::now();
    let villages = make_villages(&mut conn);
    let counts = conn
        .transaction::<_, Box<dyn std::error::Error + Send + Sync>, _>(|conn| {
            generate_registry(
                conn,
                &villages,
                HOUSEHOLDS_PER_VILLAGE..=HOUSEHOLDS_PER_VILLAGE,
                &mut Lcg(7),
            )
        })
        .expect("generate");
    diesel::sql_query("ANALYZE")
        .execute(&mut conn)
        .expect("analyze");
    println!(
        "generated {} villages, {} teams, {} members, {} households in {:.1} s",
        villages.len(),
        counts.teams,
        counts.members,
        counts.households,
        t.elapsed().as_secs_f64()
    );

    // One commune of Cao Bằng and its province, as an officer sees them.
    let province: UnitRow = units::table
        .filter(units::level.eq("province"))
        .filter(units::code.eq("04"))
        .filter(units::valid_to.is_null())
        .select(UnitRow::as_select())
        .first(&mut conn)
        .expect("Cao Bằng");
    let commune: UnitRow = units::table
        .filter(units::parent_id.eq(province.id))
        .order(units::code)
        .select(UnitRow::as_select())
        .first(&mut conn)
        .expect("a commune");
    let commune_households: Vec<Uuid> = households::table
        .filter(households::commune_id.eq(commune.id))
        .select(households::id)
        .load(&mut conn)
        .expect("household ids");
    let province_households: Vec<Uuid> = households::table
        .filter(households::area_path.ge(province.path.clone()))
        .filter(households::area_path.lt(format!("{}0", &province.path[..province.path.len() - 1])))
        .select(households::id)
        .load(&mut conn)
        .expect("household ids");
    println!(
        "commune {} holds {} households; province {} holds {}",
        commune.name,
        commune_households.len(),
        province.name,
        province_households.len()
    );

    let server = support::start_server(&bench.url, 2, 8);
    let token = server.token(Uuid::now_v7(), Role::Officer, Some(province.id));
    let base = server.base.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let reference = support::pgbench(&bench.url, "SELECT 1;\n", CONCURRENCY, 10, "SELECT 1");

    let ctx = Arc::new(Ctx {
        base: base.clone(),
        auth: format!("Bearer {token}"),
        commune: commune.id,
        commune_ids: commune_households,
        province_ids: province_households,
    });
    let scenarios: [(&str, Scenario); 7] = [
        ("households of one commune (list)", |x, c, _| {
            c.get(format!(
                "{}/api/v1/households?unit_id={}",
                x.base, x.commune
            ))
        }),
        ("households of one commune (search q)", |x, c, i| {
            let q = ["nong", "hoang%20van", "ly%20thi", "trieu", "ma%20minh"][i % 5];
            c.get(format!(
                "{}/api/v1/households?unit_id={}&q={q}",
                x.base, x.commune
            ))
        }),
        ("household by id (commune)", |x, c, i| {
            c.get(format!(
                "{}/api/v1/households/{}",
                x.base,
                x.commune_ids[i % x.commune_ids.len()]
            ))
        }),
        ("household by id (province)", |x, c, i| {
            c.get(format!(
                "{}/api/v1/households/{}",
                x.base,
                x.province_ids[(i * 7919) % x.province_ids.len()]
            ))
        }),
        ("teams of one commune (list)", |x, c, _| {
            c.get(format!("{}/api/v1/teams?unit_id={}", x.base, x.commune))
        }),
        ("members of one commune (list)", |x, c, _| {
            c.get(format!("{}/api/v1/members?unit_id={}", x.base, x.commune))
        }),
        ("households of the province (first page)", |x, c, _| {
            c.get(format!("{}/api/v1/households", x.base))
        }),
    ];
    let results = rt.block_on(async move {
        let mut results = Vec::new();
        for (name, scenario) in scenarios {
            // A short warm-up fills connection pools and caches first.
            let x = ctx.clone();
            load(name, CONCURRENCY, REQUESTS / 10, 200, move |c, i| {
                scenario(&x, c, i).header("authorization", x.auth.as_str())
            })
            .await;
            let x = ctx.clone();
            results.push(
                load(name, CONCURRENCY, REQUESTS, 200, move |c, i| {
                    scenario(&x, c, i).header("authorization", x.auth.as_str())
                })
                .await,
            );
        }
        results
    });

    // The import: 10,000 rows into villages of the province.
    let village_codes: Vec<String> = villages
        .iter()
        .filter(|v| v.province_code == "04")
        .map(|v| v.code.clone())
        .collect();
    let mut import_times = Vec::new();
    for round in 0..3 {
        let mut csv = String::from(
            "village_code,code,head_name,size,ethnicity,phone,poverty_status,poverty_standard,survey_year,deprivations,has_smartphone,has_internet\n",
        );
        for n in 0..10_000 {
            let v = &village_codes[n % village_codes.len()];
            csv.push_str(&format!(
                "{v},IMP{round}-{n:05},Lục Văn Nhập {n},{},Tày,09{:08},poor,2022-2025,2024,information_access;telecom_services,no,unknown\n",
                1 + n % 7,
                n
            ));
        }
        let token = server.token(Uuid::now_v7(), Role::Officer, Some(province.id));
        let url = format!("{}/api/v1/households/import", server.base);
        let t = Instant::now();
        let status = rt.block_on(async {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .header("content-type", "text/csv")
                .body(csv)
                .send()
                .await
                .expect("import request")
                .status()
        });
        assert_eq!(status.as_u16(), 201, "import round {round}");
        import_times.push(t.elapsed().as_secs_f64());
    }

    println!("\nreference: pgbench `SELECT 1`, {CONCURRENCY} clients: {reference:.0} tps\n");
    println!("{TABLE_HEAD}");
    for r in &results {
        println!("{}", r.row());
    }
    println!(
        "\nimport of 10,000 households (3 rounds): {}",
        import_times
            .iter()
            .map(|s| format!("{s:.2} s"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

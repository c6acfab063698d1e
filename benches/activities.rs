//! Activities benchmark: the sustained rate of `POST /api/v1/assistances`
//! (each with its audit event, in one transaction) against PostgreSQL's own
//! single-row insert rate measured by pgbench on the same server in the
//! same run, and the time of a 500-visit `/sync` batch. Run with
//! `cargo bench --bench activities` (docs/benchmarks.md has the targets).
//!
//! The same load can be driven by `wrk` against a separate `banso serve`,
//! with a team leader's token in place of TOKEN and a household of that
//! leader's village in place of HOUSEHOLD, using this `visit.lua`:
//!
//! ```lua
//! local function uuid()
//!   return (string.gsub('xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx', '[xy]', function (c)
//!     local v = (c == 'x') and math.random(0, 0xf) or math.random(8, 0xb)
//!     return string.format('%x', v)
//!   end))
//! end
//! wrk.method = "POST"
//! wrk.headers["Content-Type"] = "application/json"
//! wrk.headers["Authorization"] = "Bearer TOKEN"
//! request = function()
//!   local body = '{"id":"' .. uuid() .. '","household_id":"HOUSEHOLD",'
//!     .. '"visited_on":"2026-10-15","help":[{"kind":"vneid","outcome":"done"}]}'
//!   return wrk.format(nil, "/api/v1/assistances", nil, body)
//! end
//! ```

mod support;

use std::sync::Arc;
use std::time::Instant;

use banso::auth::Role;
use banso::db::schema::{households, units, users};
use banso::demo::{Lcg, generate_registry};
use banso::units::model::UnitRow;
use diesel::prelude::*;
use uuid::Uuid;

use support::{TABLE_HEAD, load};

const CLIENTS: usize = 8;
const REQUESTS: usize = 4_000;
const SECONDS: u64 = 15;

struct Ctx {
    base: String,
    /// Per village: a team leader's token and the village's households.
    villages: Vec<(String, Vec<Uuid>)>,
}

fn main() {
    let bench = support::database("banso_bench_activities");
    let mut conn = PgConnection::establish(&bench.url).expect("connect");
    banso::db::migrate(&mut conn).expect("migrate");
    banso::units::import::import(&mut conn, banso::units::import::Source::bundled())
        .expect("units");

    // One village in each commune of Cao Bằng, each with its team and 50
    // households, and a team leader account per village.
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
        .map(|c| {
            banso::units::repo::create_village(&mut conn, c, "Thôn Một", "Thôn", c.valid_from)
                .expect("village")
        })
        .collect();
    generate_registry(&mut conn, &villages, 50..=50, &mut Lcg(11)).expect("registry");
    diesel::sql_query("ANALYZE")
        .execute(&mut conn)
        .expect("analyze");

    let server = support::start_server(&bench.url, 2, 16);
    let mut ctx_villages = Vec::new();
    for v in &villages {
        let user_id = Uuid::now_v7();
        // The benchmark logs nobody in: the hash is never checked.
        diesel::insert_into(users::table)
            .values((
                users::id.eq(user_id),
                users::username.eq(format!("leader.{}", v.code.replace('-', "."))),
                users::password_hash.eq("not-a-login"),
                users::role.eq("team_leader"),
                users::area_unit_id.eq(v.id),
            ))
            .execute(&mut conn)
            .expect("user");
        let ids: Vec<Uuid> = households::table
            .filter(households::village_id.eq(v.id))
            .select(households::id)
            .load(&mut conn)
            .expect("households");
        ctx_villages.push((server.token(user_id, Role::TeamLeader, Some(v.id)), ids));
    }
    let ctx = Arc::new(Ctx {
        base: server.base.clone(),
        villages: ctx_villages,
    });

    // PostgreSQL alone: one single-row insert per transaction, same
    // durability, same number of clients.
    let reference = support::pgbench(
        &bench.url,
        "INSERT INTO bench_insert (household_id, payload) VALUES (gen_random_uuid(), '{\"kind\": \"vneid\"}');\n",
        CLIENTS,
        SECONDS,
        "CREATE TABLE IF NOT EXISTS bench_insert (id bigserial PRIMARY KEY, household_id uuid NOT NULL, \
         payload jsonb NOT NULL, at timestamptz NOT NULL DEFAULT now())",
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let make = |ctx: Arc<Ctx>| {
        move |c: &reqwest::Client, i: usize| {
            let (token, households) = &ctx.villages[i % ctx.villages.len()];
            let household = households[(i / ctx.villages.len()) % households.len()];
            c.post(format!("{}/api/v1/assistances", ctx.base))
                .bearer_auth(token)
                .json(&serde_json::json!({
                    "id": Uuid::new_v4(),
                    "household_id": household,
                    "visited_on": "2026-10-15",
                    "help": [{ "kind": "vneid", "outcome": "done" }, { "kind": "cashless", "outcome": "partly", "reason": "chưa có CCCD gắn chip" }],
                    "notes": "Hỗ trợ cài VNeID và mở ví điện tử",
                    "position": { "latitude": 22.6657, "longitude": 106.2570, "accuracy_m": 12.5 },
                }))
        }
    };
    let (warm, visits) = rt.block_on(async {
        let warm = load(
            "POST /assistances (warm-up)",
            CLIENTS,
            REQUESTS / 10,
            201,
            make(ctx.clone()),
        )
        .await;
        let visits = load(
            "POST /assistances",
            CLIENTS,
            REQUESTS,
            201,
            make(ctx.clone()),
        )
        .await;
        (warm, visits)
    });
    let _ = warm;

    // 500-visit sync batches, one village's leader each.
    let mut batches = Vec::new();
    for round in 0..5 {
        let (token, households) = &ctx.villages[round];
        let items: Vec<serde_json::Value> = (0..500)
            .map(|i| {
                serde_json::json!({
                    "type": "assistance", "op": "create", "id": Uuid::new_v4(),
                    "data": {
                        "household_id": households[i % households.len()],
                        "visited_on": "2026-10-20",
                        "help": [{ "kind": "digital_skills", "outcome": "done" }],
                    },
                })
            })
            .collect();
        let url = format!("{}/api/v1/sync", ctx.base);
        let t = Instant::now();
        let body: serde_json::Value = rt.block_on(async {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .json(&serde_json::json!({ "items": items }))
                .send()
                .await
                .expect("sync")
                .json()
                .await
                .expect("sync answer")
        });
        let secs = t.elapsed().as_secs_f64();
        let created = body["results"]
            .as_array()
            .map_or(0, |r| r.iter().filter(|a| a["status"] == "created").count());
        assert_eq!(created, 500, "sync round {round}: {body}");
        batches.push(secs);
    }

    let linked: i64 = {
        banso::audit::chain::link_pending(&mut conn).expect("link");
        let verdict = banso::audit::chain::verify(&mut conn).expect("verify");
        assert!(verdict.ok, "audit chain broken after the load");
        verdict.checked
    };

    println!(
        "\nreference: pgbench, one INSERT per transaction, {CLIENTS} clients, {SECONDS} s: {reference:.0} tps"
    );
    println!("{TABLE_HEAD}");
    println!("{}", visits.row());
    println!(
        "\nratio to PostgreSQL's insert rate: {:.2} (target at least 0.50); p99 {:.1} ms (target under 50 ms)",
        visits.rate() / reference,
        visits.p99_ms
    );
    println!(
        "500-visit /sync batches: {}",
        batches
            .iter()
            .map(|s| format!("{s:.2} s"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("audit chain verified after the run: {linked} events");
}

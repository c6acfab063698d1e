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

/// The numbers of concurrent clients, for pgbench and for the service.
const CONNECTIONS: [usize; 2] = [8, 64];
const SECONDS: u64 = 10;
/// Visits per transaction in the database-only floor.
const FLOOR_BATCH: usize = 64;

struct Ctx {
    base: String,
    /// Per village: a team leader's token and the village's households.
    villages: Vec<(String, Vec<Uuid>)>,
}

fn main() {
    let bench = support::database("banso_bench_activities");
    let mut conn = PgConnection::establish(&bench.url).expect("connect");
    banso::db::migrate(&mut conn).expect("migrate");
    banso::units::import::import(&mut conn, banso::units::import::Source::bundled(), None)
        .expect("units");

    // One village in each commune of Cao Bằng, each with its team and 50
    // households, and a team leader account per village: the villages the
    // load records visits in.
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
    // The rest of the province, so that tables have the sizes of a real
    // one (lookups and foreign-key checks go through indexes, as they do
    // in production, not through a one-page table): nine more villages per
    // commune with their teams and households, and 20,000 other accounts.
    let others: Vec<UnitRow> = communes
        .iter()
        .flat_map(|c| (2..=10).map(move |n| (c, n)))
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
    generate_registry(&mut conn, &others, 20..=40, &mut Lcg(12)).expect("registry");
    diesel::sql_query(
        "INSERT INTO users (id, username, password_hash, role, area_unit_id) \
         SELECT gen_random_uuid(), 'thanhvien.' || i, 'not-a-login', 'member', \
                (SELECT id FROM units WHERE level = 'village' ORDER BY id OFFSET i % 500 LIMIT 1) \
         FROM generate_series(1, 20000) AS i",
    )
    .execute(&mut conn)
    .expect("accounts");

    let server = support::start_server(&bench.url, 2, 16);
    let mut ctx_villages = Vec::new();
    let mut leader_of_first = None;
    for v in &villages {
        let user_id = Uuid::now_v7();
        leader_of_first.get_or_insert(user_id);
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
    diesel::sql_query("ANALYZE")
        .execute(&mut conn)
        .expect("analyze");

    // PostgreSQL alone: one single-row insert per transaction, same
    // durability, at the same numbers of clients as the service gets.
    let reference: Vec<(usize, f64)> = CONNECTIONS
        .iter()
        .map(|&clients| {
            let tps = support::pgbench(
                &bench.url,
                "INSERT INTO bench_insert (household_id, payload) VALUES (gen_random_uuid(), '{\"kind\": \"vneid\"}');\n",
                clients,
                SECONDS,
                "CREATE TABLE IF NOT EXISTS bench_insert (id bigserial PRIMARY KEY, household_id uuid NOT NULL, \
                 payload jsonb NOT NULL, at timestamptz NOT NULL DEFAULT now())",
            );
            (clients, tps)
        })
        .collect();

    // The service, driven by wrk: a warm-up, then each number of clients.
    let _ = support::wrk(&server.base, &visit_script(&ctx, 1), 16, 3);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let before = count_visits(&mut conn);
    let mut runs = Vec::new();
    for (i, &connections) in CONNECTIONS.iter().enumerate() {
        let run = support::wrk(
            &server.base,
            &visit_script(&ctx, 2 + i),
            connections,
            SECONDS,
        );
        runs.push((connections, run));
    }
    // Every answered visit is stored once: wrk counts what was answered,
    // and stops with at most one request in flight per connection.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let stored = count_visits(&mut conn) - before;

    // 500-visit sync batches, one village's leader each.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
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
        let verdict = banso::audit::chain::verify(&mut conn, None).expect("verify");
        assert!(verdict.ok, "audit chain broken after the load");
        verdict.checked
    };

    // The floor under any implementation: PostgreSQL alone storing the
    // same visits with their audit events (linked by the service's linker,
    // which runs meanwhile; their hashes are stand-ins, so this runs after
    // the chain was verified), 64 to a transaction, with no HTTP, no checks
    // and no client code at all.
    let floor_tps = support::pgbench(
        &bench.url,
        &floor_script(&mut conn, &villages[0], leader_of_first),
        2,
        SECONDS,
        "SELECT 1",
    );
    let floor = floor_tps * FLOOR_BATCH as f64;

    let answered: u64 = runs.iter().map(|(_, r)| r.requests - r.non_2xx).sum();
    let slack = CONNECTIONS.iter().sum::<usize>() as i64 + 16;
    assert!(
        stored >= answered as i64 - slack && stored <= answered as i64 + slack,
        "{answered} visits answered (after the warm-up) but {stored} stored"
    );
    println!(
        "\n| clients | pgbench tps | POST /assistances req/s | ratio | p50 ms | p99 ms | non-2xx |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for ((clients, tps), (_, run)) in reference.iter().zip(&runs) {
        println!(
            "| {clients} | {tps:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
            run.rate,
            run.rate / tps,
            run.p50_ms,
            run.p99_ms,
            run.non_2xx
        );
    }
    let best_pg = reference.iter().map(|(_, t)| *t).fold(0.0, f64::max);
    let best = runs
        .iter()
        .max_by(|a, b| a.1.rate.total_cmp(&b.1.rate))
        .map(|(c, r)| (*c, r.rate, r.p99_ms))
        .unwrap_or_default();
    println!(
        "\nbest service rate {:.0} req/s ({} clients, p99 {:.1} ms) against pgbench's best {best_pg:.0} tps: \
         ratio {:.2} (target at least 0.50, p99 under 50 ms)",
        best.1,
        best.0,
        best.2,
        best.1 / best_pg
    );
    println!("visits answered 2xx after the warm-up: {answered}; stored: {stored}");
    println!(
        "PostgreSQL alone, the same visits and audit events {FLOOR_BATCH} to a transaction, 2 clients: \
         {floor:.0} visits/s ({:.2} of its single-insert rate)",
        floor / best_pg
    );
    println!(
        "the service against that floor: {:.0} / {floor:.0} = {:.2} (goal at least 0.60)",
        best.1,
        best.1 / floor
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

fn count_visits(conn: &mut PgConnection) -> i64 {
    use banso::db::schema::assistances;
    assistances::table
        .filter(
            assistances::visited_on.eq(chrono::NaiveDate::from_ymd_opt(2026, 10, 15).expect("day")),
        )
        .count()
        .get_result(conn)
        .expect("count visits")
}

/// The wrk script: each request a team leader's new visit, with an id made
/// of the run, wrk's thread and a counter, so that no id repeats.
fn visit_script(ctx: &Ctx, run: usize) -> String {
    let villages: Vec<String> = ctx
        .villages
        .iter()
        .map(|(token, households)| {
            let ids: Vec<String> = households.iter().map(|h| format!("\"{h}\"")).collect();
            format!("{{\"{token}\", {{{}}}}}", ids.join(","))
        })
        .collect();
    format!(
        r#"local villages = {{ {villages} }}
local counter = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function request()
  counter = counter + 1
  local v = villages[counter % #villages + 1]
  local h = v[2][math.floor(counter / #villages) % #v[2] + 1]
  local id = string.format("%08x-%04x-4000-8000-%012x", {run}, tid, counter)
  local body = '{{"id":"' .. id .. '","household_id":"' .. h .. '","visited_on":"2026-10-15",'
    .. '"help":[{{"kind":"vneid","outcome":"done"}},{{"kind":"cashless","outcome":"partly","reason":"chưa có CCCD gắn chip"}}],'
    .. '"notes":"Hỗ trợ cài VNeID và mở ví điện tử",'
    .. '"position":{{"latitude":22.6657,"longitude":106.257,"accuracy_m":12.5}}}}'
  return wrk.format("POST", "/api/v1/assistances",
    {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. v[1]}}, body)
end
"#,
        villages = villages.join(",\n")
    )
}

/// A pgbench script storing `FLOOR_BATCH` visits of the first village, each
/// with an audit event like the service's (the same columns, an `after` of
/// the same size), in one transaction of two statements.
fn floor_script(conn: &mut PgConnection, village: &UnitRow, leader: Option<Uuid>) -> String {
    use banso::db::schema::teams;
    let leader = leader.expect("a leader");
    let household: Uuid = households::table
        .filter(households::village_id.eq(village.id))
        .select(households::id)
        .first(conn)
        .expect("household");
    let team: Uuid = teams::table
        .filter(teams::village_id.eq(village.id))
        .select(teams::id)
        .first(conn)
        .expect("team");
    let path = &village.path;
    let outcomes = r#"[{"kind": "vneid", "reason": null, "outcome": "done"}, {"kind": "cashless", "reason": "chưa có CCCD gắn chip", "outcome": "partly"}]"#;
    let after = format!(
        r#"{{"id": "00000000-0000-4000-8000-000000000000", "help": {outcomes}, "notes": "Hỗ trợ cài VNeID và mở ví điện tử", "status": "submitted", "team_id": "{team}", "version": 1, "position": {{"latitude": 22.6657, "longitude": 106.257, "accuracy_m": 12.5}}, "status_at": null, "status_by": null, "created_at": "2026-11-22T02:29:20.478458Z", "member_ids": [], "updated_at": "2026-11-22T02:29:20.478458Z", "visited_on": "2026-10-16", "archived_at": null, "received_at": "2026-11-22T02:29:20.479107Z", "recorded_at": "2026-11-22T02:29:20.479107Z", "recorded_by": "{leader}", "household_id": "{household}", "status_reason": null}}"#
    );
    let n = FLOOR_BATCH;
    format!(
        "BEGIN;\n\
         INSERT INTO assistances (id, household_id, team_id, area_path, visited_on, member_ids, kinds, outcomes, notes, latitude, longitude, accuracy_m, recorded_at, received_at, recorded_by, body_hash) \
         SELECT gen_random_uuid(), '{household}', '{team}', '{path}', '2026-10-16', '{{}}', '{{vneid,cashless}}', '{outcomes}'::jsonb, 'Hỗ trợ cài VNeID và mở ví điện tử', 22.6657, 106.257, 12.5, now(), now(), '{leader}', sha256(random()::text::bytea) FROM generate_series(1, {n});\n\
         INSERT INTO audit_events (event_id, at, actor_kind, actor_id, action, entity, entity_id, unit_id, area_path, after, request_id, address, content_hash) \
         SELECT gen_random_uuid(), now(), 'user', '{leader}', 'create', 'assistance', gen_random_uuid()::text, '{village_id}', '{path}', '{after}'::jsonb, gen_random_uuid(), '127.0.0.1', sha256(random()::text::bytea) FROM generate_series(1, {n});\n\
         COMMIT;\n",
        village_id = village.id,
    )
}

//! Demo data, loaded once by `banso serve --demo`: the real units, generated
//! villages for every commune of Cao Bằng, their teams, members and
//! households, and accounts to look around with. The same generator fills
//! the benchmark databases.
//!
//! Each stage is recorded in `app_meta` when done, so a later version of
//! Bản Số adds the stages an older demo database lacks, and none twice.

use diesel::prelude::*;
use uuid::Uuid;

use crate::activities::http::NewRecord;
use crate::config::Settings;
use crate::db::schema::{app_meta, units};
use crate::households::model::HouseholdChanges;
use crate::members::model::MemberChanges;
use crate::teams::model::TeamChanges;
use crate::units::import::{self, Source};
use crate::units::model::UnitRow;
use crate::units::repo as unit_repo;
use crate::{households, members, teams, text};

/// The province the demo fills with villages.
pub const DEMO_PROVINCE: &str = "04";
/// Cao Bằng's published figures, which the demo reproduces.
pub const DEMO_TEAMS: usize = 1_462;
pub const DEMO_MEMBERS: usize = 6_686;
/// A commune split between two in the reform (Phường Quang Trung of Hà
/// Giang, now in Tuyên Quang): a few of its villages wait for an officer.
pub const DEMO_SPLIT_COMMUNE: &str = "00688";
const DEMO_SPLIT_VILLAGES: usize = 3;
pub(crate) const STAGE_UNITS: &str = "demo_loaded";
const STAGE_REGISTRY: &str = "demo_registry_loaded";
const STAGE_ACTIVITIES: &str = "demo_activities_loaded";
/// The demo's activities run from this day to the day it is loaded.
const DEMO_FIRST_DAY: (i32, u32, u32) = (2025, 1, 1);
/// The day of the reform: villages recorded before it lived in the old
/// communes and districts.
const REFORM_DAY: (i32, u32, u32) = (2025, 7, 1);

pub(crate) const VILLAGE_NAMES: &[&str] = &[
    "Nà Pình",
    "Khuổi Khon",
    "Pác Bó",
    "Lũng Nặm",
    "Nà Mạ",
    "Cốc Phường",
    "Bó Lếch",
    "Nặm Dân",
    "Phiêng Pẻn",
    "Khau Vai",
    "Nà Giàng",
    "Lũng Rì",
    "Tổng Ngảo",
    "Nà Chào",
    "Đông Sằng",
    "Pác Ngàm",
    "Kéo Yến",
    "Nà Lẹng",
    "Bản Mới",
    "Cốc Xả",
    "Lũng Pán",
    "Nà Rầy",
    "Khuổi Phầy",
    "Bó Củng",
];
pub(crate) const VILLAGE_TYPES: &[&str] = &["Thôn", "Bản", "Xóm"];
const FAMILY_NAMES: &[&str] = &[
    "Nông", "Hoàng", "Lý", "Triệu", "Đàm", "Lục", "Bế", "Nguyễn", "Vi", "Ma", "Lương", "Sầm", "Hà",
    "Giàng",
];
const MIDDLE_NAMES: &[&str] = &[
    "Văn",
    "Thị",
    "Đức",
    "Minh",
    "Thị Thu",
    "Văn Tuấn",
    "Ngọc",
    "Seo",
];
const GIVEN_NAMES: &[&str] = &[
    "An", "Bình", "Cường", "Dung", "Giang", "Hoa", "Hùng", "Lan", "Linh", "Mai", "Nam", "Phúc",
    "Quân", "Sơn", "Thảo", "Tuấn", "Vân", "Xuân", "Páo", "Mỷ", "Chứ", "Pằn",
];
const ETHNICITIES: &[&str] = &["Tày", "Nùng", "H'Mông", "Dao", "Kinh", "Sán Chỉ", "Lô Lô"];
const PHONE_PREFIXES: &[&str] = &[
    "086", "096", "097", "098", "032", "088", "091", "094", "089", "090",
];

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// A small deterministic generator, so every demo looks the same.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }

    pub(crate) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.next(items.len())]
    }

    fn person(&mut self) -> String {
        format!(
            "{} {} {}",
            self.pick(FAMILY_NAMES),
            self.pick(MIDDLE_NAMES),
            self.pick(GIVEN_NAMES)
        )
    }

    fn phone(&mut self) -> String {
        format!("{}{:07}", self.pick(PHONE_PREFIXES), self.next(10_000_000))
    }
}

pub(crate) fn random_password() -> Result<String, Failure> {
    let mut raw = [0u8; 12];
    getrandom::fill(&mut raw).map_err(|e| format!("random: {e}"))?;
    Ok(base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        raw,
    ))
}

pub(crate) fn stage_done(conn: &mut PgConnection, stage: &str) -> Result<bool, Failure> {
    Ok(app_meta::table
        .find(stage)
        .select(app_meta::key)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

pub(crate) fn mark_done(conn: &mut PgConnection, stage: &str) -> Result<(), Failure> {
    diesel::insert_into(app_meta::table)
        .values((
            app_meta::key.eq(stage),
            app_meta::value.eq(chrono::Utc::now().to_rfc3339()),
        ))
        .execute(conn)?;
    Ok(())
}

pub(crate) fn demo_province(conn: &mut PgConnection) -> Result<UnitRow, Failure> {
    Ok(
        unit_repo::find_by_code(conn, DEMO_PROVINCE, unit_repo::today())?
            .into_iter()
            .find(|u| u.level == "province")
            .ok_or("the demo province is not among today's units")?,
    )
}

pub(crate) fn children(
    conn: &mut PgConnection,
    parent: Uuid,
    level: &str,
) -> Result<Vec<UnitRow>, Failure> {
    Ok(units::table
        .filter(units::parent_id.eq(parent))
        .filter(units::level.eq(level))
        .filter(units::valid_to.is_null())
        .order(units::code)
        .select(UnitRow::as_select())
        .load(conn)?)
}

fn day(d: (i32, u32, u32)) -> Result<chrono::NaiveDate, Failure> {
    Ok(chrono::NaiveDate::from_ymd_opt(d.0, d.1, d.2).ok_or("bad demo date")?)
}

/// The villages of the demo: those of today's Cao Bằng, and those of the
/// split commune still waiting for their new commune.
pub(crate) fn demo_villages(
    conn: &mut PgConnection,
) -> Result<(Vec<UnitRow>, Vec<UnitRow>), Failure> {
    let province = demo_province(conn)?;
    let mut villages = Vec::new();
    for commune in children(conn, province.id, "commune")? {
        villages.extend(children(conn, commune.id, "village")?);
    }
    let waiting = match split_commune(conn)? {
        Some(c) => units::table
            .filter(units::parent_id.eq(c.id))
            .filter(units::level.eq("village"))
            .order(units::code)
            .select(UnitRow::as_select())
            .load(conn)?,
        None => Vec::new(),
    };
    Ok((villages, waiting))
}

fn split_commune(conn: &mut PgConnection) -> Result<Option<UnitRow>, Failure> {
    let before = day(REFORM_DAY)?.pred_opt().ok_or("bad demo date")?;
    Ok(unit_repo::find_by_code(conn, DEMO_SPLIT_COMMUNE, before)?
        .into_iter()
        .find(|u| u.level == "commune"))
}

/// Records the registry and activity stages as done, for a database that
/// `banso seed --scale province` filled.
pub(crate) fn mark_seeded(conn: &mut PgConnection) -> Result<(), Failure> {
    for stage in [STAGE_REGISTRY, STAGE_ACTIVITIES] {
        if !stage_done(conn, stage)? {
            mark_done(conn, stage)?;
        }
    }
    Ok(())
}

/// Loads the stages of the demo that this database lacks.
pub fn load(conn: &mut PgConnection, settings: &Settings) -> Result<(), Failure> {
    let stages = [STAGE_UNITS, STAGE_REGISTRY, STAGE_ACTIVITIES];
    if stages
        .iter()
        .try_fold(true, |all, s| Ok::<_, Failure>(all && stage_done(conn, s)?))?
    {
        tracing::info!("demo data already loaded");
        return Ok(());
    }
    if !stage_done(conn, STAGE_UNITS)? {
        load_units_and_accounts(conn, settings)?;
    }
    if !stage_done(conn, STAGE_REGISTRY)? {
        conn.transaction::<_, Failure, _>(|conn| {
            let (villages, waiting) = demo_villages(conn)?;
            let mut rng = Lcg(0x0062_616e_736f);
            let counts =
                generate_registry_sized(conn, &villages, 20..=45, Some(DEMO_MEMBERS), &mut rng)?;
            let other = generate_registry(conn, &waiting, 20..=45, &mut rng)?;
            tracing::info!(
                teams = counts.teams + other.teams,
                members = counts.members + other.members,
                households = counts.households + other.households,
                "demo registry loaded"
            );
            mark_done(conn, STAGE_REGISTRY)
        })?;
        println!(
            "Demo registry loaded: {DEMO_TEAMS} teams with {DEMO_MEMBERS} members in Cao Bằng, and households in every village."
        );
    }
    if !stage_done(conn, STAGE_ACTIVITIES)? {
        let (trainings, visits) = conn.transaction::<_, Failure, _>(|conn| {
            let counts = generate_activities(conn, &mut Lcg(0x0061_6374))?;
            mark_done(conn, STAGE_ACTIVITIES)?;
            Ok(counts)
        })?;
        tracing::info!(trainings, visits, "demo activities loaded");
        println!(
            "Demo activities loaded: {trainings} training sessions and {visits} assistance visits from January 2025 to this month; all but the last two months verified and locked."
        );
    }
    // The registry was written in bulk, without an event per record: the
    // change feed lists it from here.
    crate::changes::announce::unlisted(conn, "demo")?;
    // Fresh statistics for the tables just filled, so the first reports are
    // planned on what the tables hold rather than on empty ones.
    diesel::sql_query(
        "ANALYZE units, village_communes, teams, members, households, trainings, assistances",
    )
    .execute(conn)?;
    Ok(())
}

/// Training sessions and visits for every team of the demo from January
/// 2025 to the day of the load (the villages waiting for their new commune
/// only until the reform), recorded by the team leader account in its
/// village (else the admin); records older than the previous month are
/// verified by the province officer and their months locked.
fn generate_activities(conn: &mut PgConnection, rng: &mut Lcg) -> Result<(usize, usize), Failure> {
    use crate::db::schema::teams as tt;
    use std::collections::HashMap;

    let province = demo_province(conn)?;
    let (villages, waiting) = demo_villages(conn)?;
    let first = day(DEMO_FIRST_DAY)?;
    let reform = day(REFORM_DAY)?;
    let today = unit_repo::today();
    let who = recorders(conn, "canbo.caobang")?;
    // Until when each village records: today, or the reform for a village
    // no officer of today can see yet.
    let until: HashMap<Uuid, chrono::NaiveDate> = villages
        .iter()
        .map(|v| (v.id, today))
        .chain(
            waiting
                .iter()
                .map(|v| (v.id, reform.pred_opt().unwrap_or(reform))),
        )
        .collect();
    let ids: Vec<Uuid> = until.keys().copied().collect();
    let teams: Vec<(Uuid, Uuid, String)> = tt::table
        .filter(tt::village_id.eq_any(&ids))
        .filter(tt::status.eq("active"))
        .order(tt::area_path)
        .select((tt::id, tt::village_id, tt::area_path))
        .load(conn)?;
    let pace = Pace {
        first,
        visit_rounds: 1,
        session_days: 61,
    };
    let stored = activities_for(conn, &teams, &until, &pace, &who, rng)?;
    lock_months(conn, &province, first, who.checker)?;
    Ok(stored)
}

/// Who records and verifies generated activities: the team leader account
/// in its own village, else `admin`; the officer `checker` (else `admin`)
/// verifies.
pub(crate) struct Recorders {
    pub recorder: Uuid,
    pub checker: Uuid,
    pub leader: Option<(Uuid, Option<Uuid>)>,
}

pub(crate) fn recorders(conn: &mut PgConnection, checker: &str) -> Result<Recorders, Failure> {
    use crate::db::schema::users;
    let recorder: Uuid = users::table
        .filter(users::username.eq("admin"))
        .select(users::id)
        .first(conn)?;
    let checker: Uuid = users::table
        .filter(users::username.eq(checker))
        .select(users::id)
        .first(conn)
        .optional()?
        .unwrap_or(recorder);
    let leader: Option<(Uuid, Option<Uuid>)> = users::table
        .filter(users::username.eq("totruong"))
        .select((users::id, users::area_unit_id))
        .first(conn)
        .optional()?;
    Ok(Recorders {
        recorder,
        checker,
        leader,
    })
}

/// How many activities a team records: from `first` on, one session every
/// `session_days` days, and the demo's pattern of visits per household
/// `visit_rounds` times over.
pub(crate) struct Pace {
    pub first: chrono::NaiveDate,
    pub visit_rounds: usize,
    pub session_days: usize,
}

/// Training sessions and visits for `teams` (id, village, path) from
/// `pace.first` to each village's day in `until` (else today), stored with
/// the activities' own inserts and their audit events; records older than
/// the previous month are then verified. Returns (sessions, visits).
pub(crate) fn activities_for(
    conn: &mut PgConnection,
    teams: &[(Uuid, Uuid, String)],
    until: &std::collections::HashMap<Uuid, chrono::NaiveDate>,
    pace: &Pace,
    who: &Recorders,
    rng: &mut Lcg,
) -> Result<(usize, usize), Failure> {
    use crate::activities::body_hash;
    use crate::audit::{Action, Entity, Event};
    use crate::db::schema::{assistances, households as hh, members as mm, trainings};
    use std::collections::HashMap;

    let first = pace.first;
    let today = unit_repo::today();
    let (recorder, checker, leader) = (who.recorder, who.checker, who.leader);
    let ids: Vec<Uuid> = teams.iter().map(|t| t.1).collect();
    let mut members: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (team, id) in mm::table
        .filter(mm::team_id.eq_any(teams.iter().map(|t| t.0).collect::<Vec<_>>()))
        .order(mm::id)
        .select((mm::team_id, mm::id))
        .load::<(Uuid, Uuid)>(conn)?
    {
        members.entry(team).or_default().push(id);
    }
    let mut homes: HashMap<Uuid, Vec<(Uuid, String)>> = HashMap::new();
    for (village, id, poverty) in hh::table
        .filter(hh::village_id.eq_any(&ids))
        .order(hh::id)
        .select((hh::village_id, hh::id, hh::poverty_status))
        .load::<(Uuid, Uuid, String)>(conn)?
    {
        homes.entry(village).or_default().push((id, poverty));
    }
    let kinds = [
        "vneid",
        "public_services",
        "cashless",
        "ecommerce",
        "device_connection",
        "digital_skills",
        "scam_awareness",
        "policy_jobs_info",
    ];
    let topics = [
        "vneid",
        "public_services",
        "cashless",
        "ecommerce",
        "digital_skills",
        "scam_awareness",
        "policy_jobs_info",
    ];
    let mut sessions = Vec::new();
    let mut visits = Vec::new();
    for (team_id, village_id, area_path) in teams {
        let last = until.get(village_id).copied().unwrap_or(today);
        let span = (last - first).num_days().max(0) as usize + 1;
        let by = match leader {
            Some((id, Some(area))) if area == *village_id => id,
            _ => recorder,
        };
        let crew = members.get(team_id).cloned().unwrap_or_default();
        for _ in 0..span / pace.session_days + 1 {
            let held_on = first + chrono::Duration::days(rng.next(span) as i64);
            let total = 8 + rng.next(30) as i32;
            sessions.push((
                Uuid::new_v4(),
                by,
                crate::trainings::model::TrainingChanges {
                    team_id: *team_id,
                    village_id: *village_id,
                    area_path: area_path.clone(),
                    place: Some("Nhà văn hoá thôn".into()),
                    held_on,
                    duration_minutes: 60 + 30 * rng.next(4) as i32,
                    topics: vec![Some(topics[rng.next(topics.len())].into())],
                    trainer_ids: crew.iter().take(2).copied().map(Some).collect(),
                    attendees_total: total,
                    attendees_women: rng.next(total as usize + 1) as i32,
                    attendees_ethnic_minority: rng.next(total as usize + 1) as i32,
                    attendees_poor: rng.next(total as usize + 1) as i32,
                    household_ids: vec![],
                    notes: None,
                },
            ));
        }
        for (household_id, poverty) in homes.get(village_id).map_or(&[][..], Vec::as_slice) {
            // Poor and near-poor households are visited most, some twice.
            let visits_here = match (poverty.as_str(), rng.next(12)) {
                ("not_poor", r) if r < 4 => 1,
                ("not_poor", _) => 0,
                (_, r) if r < 4 => 2,
                (_, r) if r < 10 => 1,
                _ => 0,
            };
            for _ in 0..visits_here * pace.visit_rounds {
                let visited_on = first + chrono::Duration::days(rng.next(span) as i64);
                let kind = kinds[rng.next(kinds.len())];
                let outcome = ["done", "done", "done", "partly", "not_done"][rng.next(5)];
                visits.push((
                    Uuid::new_v4(),
                    by,
                    crate::assistances::model::AssistanceChanges {
                        household_id: *household_id,
                        team_id: *team_id,
                        area_path: area_path.clone(),
                        visited_on,
                        member_ids: crew.iter().take(1).copied().map(Some).collect(),
                        kinds: vec![Some(kind.into())],
                        outcomes: serde_json::json!([{
                            "kind": kind,
                            "outcome": outcome,
                            "reason": (outcome != "done").then_some("Hộ chưa có điện thoại thông minh"),
                        }]),
                        notes: None,
                        latitude: None,
                        longitude: None,
                        accuracy_m: None,
                    },
                ));
            }
        }
    }
    let ctx = crate::audit::Ctx::system("demo");
    let hash = body_hash(&serde_json::json!({ "demo": true }));
    let place: HashMap<&str, Uuid> = teams.iter().map(|t| (t.2.as_str(), t.1)).collect();
    let mut stored = (0, 0);
    for chunk in sessions.chunks(1000) {
        let new: Vec<_> = chunk
            .iter()
            .map(|(id, by, c)| NewRecord {
                id: *id,
                changes: c,
                recorded_at: c.held_on.and_hms_opt(10, 0, 0).map(|t| t.and_utc()),
                recorded_by: *by,
                body_hash: &hash,
            })
            .collect();
        let rows = crate::trainings::repo::insert_many(conn, &new)?;
        let events: Vec<_> = rows
            .iter()
            .map(|r| {
                let village = place
                    .get(r.area_path.as_str())
                    .copied()
                    .unwrap_or(r.village_id);
                (
                    &ctx,
                    Event::new(Action::Create, Entity::Training, r.id).at(village, &r.area_path),
                )
            })
            .collect();
        crate::audit::record_many(conn, &events)?;
        stored.0 += rows.len();
    }
    for chunk in visits.chunks(1000) {
        let new: Vec<_> = chunk
            .iter()
            .map(|(id, by, c)| NewRecord {
                id: *id,
                changes: c,
                recorded_at: c.visited_on.and_hms_opt(15, 0, 0).map(|t| t.and_utc()),
                recorded_by: *by,
                body_hash: &hash,
            })
            .collect();
        let rows = crate::assistances::repo::insert_many(conn, &new)?;
        let events: Vec<_> = rows
            .iter()
            .filter_map(|r| {
                let village = place.get(r.area_path.as_str())?;
                Some((
                    &ctx,
                    Event::new(Action::Create, Entity::Assistance, r.id).at(*village, &r.area_path),
                ))
            })
            .collect();
        crate::audit::record_many(conn, &events)?;
        stored.1 += rows.len();
    }

    // Officers verified and locked every month before the previous one.
    let open_from = crate::activities::month_of(
        crate::activities::month_of(today)
            .pred_opt()
            .ok_or("bad demo date")?,
    );
    // By the ids just made, a thousand at a time, as an officer's bulk
    // verification would: the running totals' triggers then look up the
    // rows a statement touched instead of reading their tables whole.
    let old_sessions: Vec<Uuid> = sessions
        .iter()
        .filter(|(_, _, c)| c.held_on < open_from)
        .map(|(id, _, _)| *id)
        .collect();
    let old_visits: Vec<Uuid> = visits
        .iter()
        .filter(|(_, _, c)| c.visited_on < open_from)
        .map(|(id, _, _)| *id)
        .collect();
    for ids in old_sessions.chunks(1000) {
        diesel::update(trainings::table)
            .filter(trainings::id.eq_any(ids))
            .set((
                trainings::status.eq("verified"),
                trainings::status_by.eq(checker),
                trainings::status_at.eq(diesel::dsl::now),
                trainings::version.eq(trainings::version + 1),
            ))
            .execute(conn)?;
    }
    for ids in old_visits.chunks(1000) {
        diesel::update(assistances::table)
            .filter(assistances::id.eq_any(ids))
            .set((
                assistances::status.eq("verified"),
                assistances::status_by.eq(checker),
                assistances::status_at.eq(diesel::dsl::now),
                assistances::version.eq(assistances::version + 1),
            ))
            .execute(conn)?;
    }
    Ok(stored)
}

/// The officer `checker` locked every month of `unit` from `first` to the
/// one before the previous month.
pub(crate) fn lock_months(
    conn: &mut PgConnection,
    unit: &UnitRow,
    first: chrono::NaiveDate,
    checker: Uuid,
) -> Result<(), Failure> {
    use crate::audit::{Action, Entity, Event};
    use crate::db::schema::period_locks;
    let ctx = crate::audit::Ctx::system("demo");
    let open_from = crate::activities::month_of(
        crate::activities::month_of(unit_repo::today())
            .pred_opt()
            .ok_or("bad demo date")?,
    );
    let mut month = first;
    let mut events = Vec::new();
    while month < open_from {
        let locked = diesel::insert_into(period_locks::table)
            .values((
                period_locks::unit_id.eq(unit.id),
                period_locks::month.eq(month),
                period_locks::area_path.eq(&unit.path),
                period_locks::reason.eq("Báo cáo tháng đã gửi"),
                period_locks::locked_by.eq(checker),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
        if locked > 0 {
            events.push((
                &ctx,
                Event::new(
                    Action::Lock,
                    Entity::Period,
                    format!("{}/{}", unit.id, month.format("%Y-%m")),
                )
                .at(unit.id, &unit.path),
            ));
        }
        month = month + chrono::Months::new(1);
    }
    crate::audit::record_many(conn, &events)?;
    Ok(())
}

/// Spreads `total` over `n` parts of `low..=high`, at random but
/// deterministically; `None` when it cannot be done.
pub(crate) fn spread(
    n: usize,
    total: usize,
    low: usize,
    high: usize,
    rng: &mut Lcg,
) -> Option<Vec<usize>> {
    if n * low > total || n * high < total {
        return None;
    }
    let mut parts: Vec<usize> = (0..n).map(|_| low + rng.next(high - low + 1)).collect();
    let mut sum: usize = parts.iter().sum();
    while sum != total {
        let i = rng.next(n);
        if sum > total && parts[i] > low {
            parts[i] -= 1;
            sum -= 1;
        } else if sum < total && parts[i] < high {
            parts[i] += 1;
            sum += 1;
        }
    }
    Some(parts)
}

pub(crate) fn load_units_and_accounts(
    conn: &mut PgConnection,
    settings: &Settings,
) -> Result<(), Failure> {
    let has_units: bool =
        diesel::select(diesel::dsl::exists(units::table.select(units::id))).get_result(conn)?;
    if !has_units {
        for report in import::import(
            conn,
            Source::bundled(),
            Some(&crate::audit::Ctx::system("demo")),
        )? {
            tracing::info!(%report, "imported");
        }
    }
    let province = demo_province(conn)?;
    let generated_password = settings.admin_password.is_none();
    let password = match &settings.admin_password {
        Some(p) => p.clone(),
        None => random_password()?,
    };

    let (first_commune, first_village) = conn.transaction::<_, Failure, _>(|conn| {
        // The villages were founded under the communes before the reform
        // (old Cao Bằng's 161), and followed them into today's 56.
        let before = day(REFORM_DAY)?.pred_opt().ok_or("bad demo date")?;
        let old_province = unit_repo::find_by_code(conn, DEMO_PROVINCE, before)?
            .into_iter()
            .find(|u| u.level == "province")
            .ok_or("the demo province is not among the units before the reform")?;
        let mut old_communes = Vec::new();
        for district in children_at(conn, old_province.id, "district", before)? {
            old_communes.extend(children_at(conn, district.id, "commune", before)?);
        }
        let mut rng = Lcg(0x0062_616e_736f);
        let sizes = spread(old_communes.len(), DEMO_TEAMS, 4, 14, &mut rng)
            .ok_or("the demo villages do not fit the communes")?;
        let split: Vec<(UnitRow, usize)> = split_commune(conn)?
            .map(|c| (c, DEMO_SPLIT_VILLAGES))
            .into_iter()
            .collect();
        for (commune, count) in old_communes.into_iter().zip(sizes).chain(split) {
            for _ in 0..count {
                let kind = rng.pick(VILLAGE_TYPES);
                let name = format!("{kind} {}", rng.pick(VILLAGE_NAMES));
                unit_repo::create_village(conn, &commune, &name, kind, commune.valid_from)?;
            }
        }
        let moved = unit_repo::rehome_villages(conn)?;
        tracing::info!(moved, "demo villages moved to their communes of today");
        let communes = children(conn, province.id, "commune")?;
        let first_commune = communes
            .first()
            .ok_or("the demo province has no communes")?
            .clone();
        let first_village = children(conn, first_commune.id, "village")?
            .into_iter()
            .next()
            .ok_or("no village was generated")?;
        let accounts = [
            ("admin", "admin", None, "Quản trị hệ thống"),
            (
                "canbo.caobang",
                "officer",
                Some(province.code.as_str()),
                "Cán bộ tỉnh Cao Bằng",
            ),
            (
                "canbo.xa",
                "officer",
                Some(first_commune.code.as_str()),
                "Cán bộ xã",
            ),
            (
                "totruong",
                "team_leader",
                Some(first_village.code.as_str()),
                "Tổ trưởng",
            ),
            (
                "canbo.tuyenquang",
                "officer",
                Some("08"),
                "Cán bộ tỉnh Tuyên Quang",
            ),
        ];
        for (username, role, area, display) in accounts {
            if crate::users::repo::find_by_username(conn, username)?.is_none() {
                crate::cli::create_user(conn, username, role, area, Some(display), &password)?;
            }
        }
        mark_done(conn, STAGE_UNITS)?;
        Ok((first_commune, first_village))
    })?;

    println!(
        "Demo data loaded: units of Vietnam, {DEMO_TEAMS} villages in {}, founded under its communes before the 2025 reform and moved to today's, and {DEMO_SPLIT_VILLAGES} villages of a split commune of Tuyên Quang waiting to be assigned.",
        province.name
    );
    println!(
        "Demo accounts: admin (everything), canbo.caobang (province officer), canbo.xa (officer of {}), totruong (team leader of {}), canbo.tuyenquang (assigns the waiting villages).",
        first_commune.name, first_village.name
    );
    if generated_password {
        println!("Their password, shown only this once: {password}");
    } else {
        println!("Their password is the value of BANSO_ADMIN_PASSWORD.");
    }
    Ok(())
}

fn children_at(
    conn: &mut PgConnection,
    parent: Uuid,
    level: &str,
    at: chrono::NaiveDate,
) -> Result<Vec<UnitRow>, Failure> {
    Ok(units::table
        .filter(units::parent_id.eq(parent))
        .filter(units::level.eq(level))
        .filter(units::valid_from.le(at))
        .filter(units::valid_to.is_null().or(units::valid_to.ge(at)))
        .order(units::code)
        .select(UnitRow::as_select())
        .load(conn)?)
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub teams: usize,
    pub members: usize,
    pub households: usize,
}

/// Generates a team with 3 to 7 members and `per_village` households in
/// every village given. Inserts go in batches of a thousand rows.
pub fn generate_registry(
    conn: &mut PgConnection,
    villages: &[UnitRow],
    per_village: std::ops::RangeInclusive<usize>,
    rng: &mut Lcg,
) -> Result<Counts, Failure> {
    generate_registry_sized(conn, villages, per_village, None, rng)
}

/// As `generate_registry`, with exactly `members` members in all when
/// given (3 to 9 per team).
pub fn generate_registry_sized(
    conn: &mut PgConnection,
    villages: &[UnitRow],
    per_village: std::ops::RangeInclusive<usize>,
    members: Option<usize>,
    rng: &mut Lcg,
) -> Result<Counts, Failure> {
    let mut counts = Counts::default();
    let mut team_rows = Vec::new();
    let mut member_rows = Vec::new();
    let mut household_rows = Vec::new();
    let span = per_village.end() - per_village.start() + 1;
    let sizes = match members {
        Some(total) => {
            spread(villages.len(), total, 3, 9, rng).ok_or("the members do not fit the teams")?
        }
        None => (0..villages.len()).map(|_| 3 + rng.next(5)).collect(),
    };
    for (village, size) in villages.iter().zip(sizes) {
        let commune_id = village.parent_id.ok_or("a village without a commune")?;
        let team_id = Uuid::now_v7();
        let team_name = format!("Tổ công nghệ số cộng đồng {}", village.name);
        team_rows.push((
            team_id,
            TeamChanges {
                village_id: village.id,
                area_path: village.path.clone(),
                search_text: text::fold(&team_name),
                name: team_name,
                // The teams were founded from 2022 on.
                founded_on: chrono::NaiveDate::from_ymd_opt(
                    2022,
                    3 + rng.next(10) as u32,
                    1 + rng.next(28) as u32,
                ),
                decision_number: Some(format!("{}/QĐ-UBND", 100 + rng.next(900))),
                status: "active".into(),
                dissolved_on: None,
            },
        ));
        for i in 0..size {
            let full_name = rng.person();
            let role = match i {
                0 => "leader",
                1 => "deputy",
                _ => "member",
            };
            member_rows.push((
                Uuid::now_v7(),
                MemberChanges {
                    team_id,
                    area_path: village.path.clone(),
                    search_text: text::fold(&full_name),
                    full_name,
                    gender: ["female", "male"][rng.next(2)].into(),
                    birth_year: Some(1970 + rng.next(38) as i32),
                    ethnicity: Some(rng.pick(ETHNICITIES).into()),
                    phone: Some(rng.phone()),
                    team_role: role.into(),
                    affiliation: [
                        "youth_union",
                        "womens_union",
                        "commune_police",
                        "teacher",
                        "village_head",
                        "other",
                    ][rng.next(6)]
                    .into(),
                    joined_on: chrono::NaiveDate::from_ymd_opt(
                        2023 + rng.next(2) as i32,
                        1 + rng.next(12) as u32,
                        1 + rng.next(28) as u32,
                    )
                    .ok_or("bad date")?,
                    left_on: None,
                },
            ));
        }
        for n in 0..per_village.start() + rng.next(span) {
            let head = rng.person();
            let code = format!("{}-{:04}", village.code, n + 1);
            let poverty = ["poor", "near_poor", "not_poor", "not_poor"][rng.next(4)];
            let mut deprivations = Vec::new();
            if poverty != "not_poor" {
                for d in [
                    "information_access",
                    "telecom_services",
                    "health_insurance",
                    "housing_quality",
                ] {
                    if rng.next(3) == 0 {
                        deprivations.push(Some(d.to_string()));
                    }
                }
            }
            household_rows.push((
                Uuid::now_v7(),
                HouseholdChanges {
                    village_id: village.id,
                    commune_id,
                    area_path: village.path.clone(),
                    search_text: households::repo::search_text(Some(&head), Some(&code)),
                    code: Some(code),
                    head_name: Some(head),
                    size: 1 + rng.next(8) as i32,
                    ethnicity: Some(rng.pick(ETHNICITIES).into()),
                    phone: (rng.next(3) > 0).then(|| rng.phone()),
                    poverty_status: poverty.into(),
                    poverty_standard: Some("2022-2025".into()),
                    survey_year: Some(2024),
                    deprivations,
                    has_smartphone: ["yes", "no", "unknown"][rng.next(3)].into(),
                    has_internet: ["yes", "no", "unknown"][rng.next(3)].into(),
                },
            ));
        }
    }
    for chunk in team_rows.chunks(1000) {
        for (id, t) in chunk {
            teams::repo::insert(conn, *id, t)?;
        }
        counts.teams += chunk.len();
    }
    for (id, m) in &member_rows {
        members::repo::insert(conn, *id, *id, m)?;
    }
    counts.members = member_rows.len();
    counts.households = households::repo::insert_many(conn, &household_rows)?.len();
    Ok(counts)
}

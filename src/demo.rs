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
const STAGE_UNITS: &str = "demo_loaded";
const STAGE_REGISTRY: &str = "demo_registry_loaded";
const STAGE_ACTIVITIES: &str = "demo_activities_loaded";
/// Months of activities the demo holds, ending with the current one.
const DEMO_MONTHS: u32 = 4;

const VILLAGE_NAMES: &[&str] = &[
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
const VILLAGE_TYPES: &[&str] = &["Thôn", "Bản", "Xóm"];
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

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
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

fn random_password() -> Result<String, Failure> {
    let mut raw = [0u8; 12];
    getrandom::fill(&mut raw).map_err(|e| format!("random: {e}"))?;
    Ok(base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        raw,
    ))
}

fn stage_done(conn: &mut PgConnection, stage: &str) -> Result<bool, Failure> {
    Ok(app_meta::table
        .find(stage)
        .select(app_meta::key)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

fn mark_done(conn: &mut PgConnection, stage: &str) -> Result<(), Failure> {
    diesel::insert_into(app_meta::table)
        .values((
            app_meta::key.eq(stage),
            app_meta::value.eq(chrono::Utc::now().to_rfc3339()),
        ))
        .execute(conn)?;
    Ok(())
}

fn demo_province(conn: &mut PgConnection) -> Result<UnitRow, Failure> {
    Ok(
        unit_repo::find_by_code(conn, DEMO_PROVINCE, unit_repo::today())?
            .into_iter()
            .find(|u| u.level == "province")
            .ok_or("the demo province is not among today's units")?,
    )
}

fn children(conn: &mut PgConnection, parent: Uuid, level: &str) -> Result<Vec<UnitRow>, Failure> {
    Ok(units::table
        .filter(units::parent_id.eq(parent))
        .filter(units::level.eq(level))
        .filter(units::valid_to.is_null())
        .order(units::code)
        .select(UnitRow::as_select())
        .load(conn)?)
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
            let province = demo_province(conn)?;
            let mut villages = Vec::new();
            for commune in children(conn, province.id, "commune")? {
                villages.extend(children(conn, commune.id, "village")?);
            }
            let counts = generate_registry(conn, &villages, 20..=45, &mut Lcg(0x0062_616e_736f))?;
            tracing::info!(
                teams = counts.teams,
                members = counts.members,
                households = counts.households,
                "demo registry loaded"
            );
            mark_done(conn, STAGE_REGISTRY)
        })?;
        println!("Demo registry loaded: a team, its members and households in every village.");
    }
    if !stage_done(conn, STAGE_ACTIVITIES)? {
        let (trainings, visits) = conn.transaction::<_, Failure, _>(|conn| {
            let counts = generate_activities(conn, &mut Lcg(0x0061_6374))?;
            mark_done(conn, STAGE_ACTIVITIES)?;
            Ok(counts)
        })?;
        tracing::info!(trainings, visits, "demo activities loaded");
        println!(
            "Demo activities loaded: {trainings} training sessions and {visits} assistance visits over {DEMO_MONTHS} months; the oldest month is verified and locked."
        );
    }
    Ok(())
}

/// Months of training sessions and visits for every team of the demo
/// province, recorded by its team leader account (or the admin), with the
/// older months verified by the province officer and the oldest locked.
fn generate_activities(conn: &mut PgConnection, rng: &mut Lcg) -> Result<(usize, usize), Failure> {
    use crate::activities::{body_hash, month_of};
    use crate::db::schema::{households as hh, members as mm, period_locks, teams as tt, users};

    let province = demo_province(conn)?;
    let scope = crate::auth::Scope::from_path(&province.path);
    let recorder: Uuid = users::table
        .filter(users::username.eq("admin"))
        .select(users::id)
        .first(conn)?;
    let checker: Uuid = users::table
        .filter(users::username.eq("canbo.caobang"))
        .select(users::id)
        .first(conn)
        .unwrap_or(recorder);
    let leader: Option<(Uuid, Option<Uuid>)> = users::table
        .filter(users::username.eq("totruong"))
        .select((users::id, users::area_unit_id))
        .first(conn)
        .optional()?;
    let teams: Vec<(Uuid, Uuid, String)> = tt::table
        .filter(scope.area_filter::<tt::table>("teams"))
        .filter(tt::status.eq("active"))
        .select((tt::id, tt::village_id, tt::area_path))
        .load(conn)?;
    let today = unit_repo::today();
    let first_month =
        (0..DEMO_MONTHS - 1).fold(month_of(today), |m, _| month_of(m.pred_opt().unwrap_or(m)));
    let ctx = crate::audit::Ctx::system("demo");
    let kinds = [
        "vneid",
        "public_services",
        "cashless",
        "ecommerce",
        "digital_skills",
        "scam_awareness",
    ];
    let topics = [
        "vneid",
        "public_services",
        "cashless",
        "ecommerce",
        "digital_skills",
        "scam_awareness",
    ];
    let (mut trainings, mut visits) = (0, 0);
    for (team_id, village_id, area_path) in &teams {
        let by = match leader {
            Some((id, Some(area))) if area == *village_id => id,
            _ => recorder,
        };
        let trainers: Vec<Uuid> = mm::table
            .filter(mm::team_id.eq(team_id))
            .select(mm::id)
            .limit(2)
            .load(conn)?;
        let homes: Vec<(Uuid, String)> = hh::table
            .filter(hh::village_id.eq(village_id))
            .select((hh::id, hh::poverty_status))
            .load(conn)?;
        let days_so_far = (today - first_month).num_days().max(1);
        for _ in 0..(DEMO_MONTHS as usize * 2) {
            let held_on =
                first_month + chrono::Duration::days(rng.next(days_so_far as usize) as i64);
            let total = 8 + rng.next(30) as i32;
            let changes = crate::trainings::model::TrainingChanges {
                team_id: *team_id,
                village_id: *village_id,
                area_path: area_path.clone(),
                place: Some("Nhà văn hoá thôn".into()),
                held_on,
                duration_minutes: 60 + 30 * rng.next(4) as i32,
                topics: vec![Some(topics[rng.next(topics.len())].into())],
                trainer_ids: trainers.iter().copied().map(Some).collect(),
                attendees_total: total,
                attendees_women: rng.next(total as usize + 1) as i32,
                attendees_ethnic_minority: rng.next(total as usize + 1) as i32,
                attendees_poor: rng.next(total as usize + 1) as i32,
                household_ids: vec![],
                notes: None,
            };
            let id = Uuid::new_v4();
            let recorded_at = held_on.and_hms_opt(17, 0, 0).map(|t| t.and_utc());
            let hash = body_hash(&serde_json::json!({ "demo": id }));
            let new = NewRecord {
                id,
                changes: &changes,
                recorded_at,
                recorded_by: by,
                body_hash: &hash,
            };
            if let Some(row) = crate::trainings::repo::insert_many(conn, &[new])?.pop() {
                crate::audit::record(
                    conn,
                    &ctx,
                    crate::audit::Event::new(
                        crate::audit::Action::Create,
                        crate::audit::Entity::Training,
                        row.id,
                    )
                    .at(*village_id, area_path),
                )?;
                trainings += 1;
            }
        }
        for (household_id, poverty) in &homes {
            // Poor and near-poor households first: most of them are visited.
            let chance = if poverty == "not_poor" { 4 } else { 10 };
            if rng.next(12) >= chance {
                continue;
            }
            let visited_on =
                first_month + chrono::Duration::days(rng.next(days_so_far as usize) as i64);
            let kind = kinds[rng.next(kinds.len())];
            let outcome = ["done", "done", "done", "partly", "not_done"][rng.next(5)];
            let help = serde_json::json!([{
                "kind": kind,
                "outcome": outcome,
                "reason": (outcome != "done").then_some("Hộ chưa có điện thoại thông minh"),
            }]);
            let changes = crate::assistances::model::AssistanceChanges {
                household_id: *household_id,
                team_id: *team_id,
                area_path: area_path.clone(),
                visited_on,
                member_ids: trainers.iter().take(1).copied().map(Some).collect(),
                kinds: vec![Some(kind.into())],
                outcomes: help,
                notes: None,
                latitude: None,
                longitude: None,
                accuracy_m: None,
            };
            let id = Uuid::new_v4();
            let recorded_at = visited_on.and_hms_opt(10, 0, 0).map(|t| t.and_utc());
            let hash = body_hash(&serde_json::json!({ "demo": id }));
            let new = NewRecord {
                id,
                changes: &changes,
                recorded_at,
                recorded_by: by,
                body_hash: &hash,
            };
            if let Some(row) = crate::assistances::repo::insert_many(conn, &[new])?.pop() {
                crate::audit::record(
                    conn,
                    &ctx,
                    crate::audit::Event::new(
                        crate::audit::Action::Create,
                        crate::audit::Entity::Assistance,
                        row.id,
                    )
                    .at(*village_id, area_path),
                )?;
                if month_of(visited_on) == first_month {
                    crate::assistances::repo::set_status(conn, row.id, "verified", None, checker)?;
                }
                visits += 1;
            }
        }
    }
    // The oldest month's sessions are verified too, and the month locked.
    diesel::update(crate::db::schema::trainings::table)
        .filter(crate::db::schema::trainings::held_on.ge(first_month))
        .filter(crate::db::schema::trainings::held_on.lt(first_month + chrono::Months::new(1)))
        .filter(scope.area_filter::<crate::db::schema::trainings::table>("trainings"))
        .set((
            crate::db::schema::trainings::status.eq("verified"),
            crate::db::schema::trainings::status_by.eq(checker),
            crate::db::schema::trainings::status_at.eq(diesel::dsl::now),
            crate::db::schema::trainings::version.eq(crate::db::schema::trainings::version + 1),
        ))
        .execute(conn)?;
    let locked = diesel::insert_into(period_locks::table)
        .values((
            period_locks::unit_id.eq(province.id),
            period_locks::month.eq(first_month),
            period_locks::area_path.eq(&province.path),
            period_locks::reason.eq("Báo cáo tháng đã gửi"),
            period_locks::locked_by.eq(checker),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    if locked > 0 {
        crate::audit::record(
            conn,
            &ctx,
            crate::audit::Event::new(
                crate::audit::Action::Lock,
                crate::audit::Entity::Period,
                format!("{}/{}", province.id, first_month.format("%Y-%m")),
            )
            .at(province.id, &province.path),
        )?;
    }
    Ok((trainings, visits))
}

fn load_units_and_accounts(conn: &mut PgConnection, settings: &Settings) -> Result<(), Failure> {
    let has_units: bool =
        diesel::select(diesel::dsl::exists(units::table.select(units::id))).get_result(conn)?;
    if !has_units {
        for report in import::import(conn, Source::bundled())? {
            tracing::info!(%report, "imported");
        }
    }
    let province = demo_province(conn)?;
    let communes = children(conn, province.id, "commune")?;
    let first_commune = communes
        .first()
        .ok_or("the demo province has no communes")?
        .clone();
    let generated_password = settings.admin_password.is_none();
    let password = match &settings.admin_password {
        Some(p) => p.clone(),
        None => random_password()?,
    };

    let first_village = conn.transaction::<_, Failure, _>(|conn| {
        let mut rng = Lcg(0x0062_616e_736f);
        let mut first_village = None;
        for commune in &communes {
            let count = 4 + rng.next(5);
            for _ in 0..count {
                let kind = rng.pick(VILLAGE_TYPES);
                let name = format!("{kind} {}", rng.pick(VILLAGE_NAMES));
                let v = unit_repo::create_village(conn, commune, &name, kind, commune.valid_from)?;
                first_village.get_or_insert(v);
            }
        }
        let first_village = first_village.ok_or("no village was generated")?;
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
        ];
        for (username, role, area, display) in accounts {
            if crate::users::repo::find_by_username(conn, username)?.is_none() {
                crate::cli::create_user(conn, username, role, area, Some(display), &password)?;
            }
        }
        mark_done(conn, STAGE_UNITS)?;
        Ok(first_village)
    })?;

    println!(
        "Demo data loaded: units of Vietnam, villages in every commune of {}.",
        province.name
    );
    println!(
        "Demo accounts: admin (everything), canbo.caobang (province officer), canbo.xa (officer of {}), totruong (team leader of {}).",
        first_commune.name, first_village.name
    );
    if generated_password {
        println!("Their password, shown only this once: {password}");
    } else {
        println!("Their password is the value of BANSO_ADMIN_PASSWORD.");
    }
    Ok(())
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
    let mut counts = Counts::default();
    let mut team_rows = Vec::new();
    let mut member_rows = Vec::new();
    let mut household_rows = Vec::new();
    let span = per_village.end() - per_village.start() + 1;
    for village in villages {
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
                founded_on: chrono::NaiveDate::from_ymd_opt(2025, 8, 1 + rng.next(28) as u32),
                decision_number: Some(format!("{}/QĐ-UBND", 100 + rng.next(900))),
                status: "active".into(),
                dissolved_on: None,
            },
        ));
        for i in 0..3 + rng.next(5) {
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
                    joined_on: chrono::NaiveDate::from_ymd_opt(2025, 9, 1 + rng.next(28) as u32)
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
    counts.households = households::repo::insert_many(conn, &household_rows)?;
    Ok(counts)
}

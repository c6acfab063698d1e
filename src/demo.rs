//! Demo data, loaded once by `banso serve --demo`: the real units, generated
//! villages for every commune of Cao Bằng, and accounts to look around with.

use diesel::prelude::*;

use crate::config::Settings;
use crate::db::schema::{app_meta, units};
use crate::units::import::{self, Source};
use crate::units::model::UnitRow;
use crate::units::repo as unit_repo;

/// The province the demo fills with villages.
pub const DEMO_PROVINCE: &str = "04";
const MARKER: &str = "demo_loaded";

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

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// A small deterministic generator, so every demo looks the same.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
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

/// Loads the demo unless it was loaded before. Returns whether it did.
pub fn load(conn: &mut PgConnection, settings: &Settings) -> Result<bool, Failure> {
    let done: Option<String> = app_meta::table
        .find(MARKER)
        .select(app_meta::value)
        .first(conn)
        .optional()?;
    if done.is_some() {
        tracing::info!("demo data already loaded");
        return Ok(false);
    }
    let has_units: bool =
        diesel::select(diesel::dsl::exists(units::table.select(units::id))).get_result(conn)?;
    if !has_units {
        for report in import::import(conn, Source::bundled())? {
            tracing::info!(%report, "imported");
        }
    }
    let today = unit_repo::today();
    let province = unit_repo::find_by_code(conn, DEMO_PROVINCE, today)?
        .into_iter()
        .find(|u| u.level == "province")
        .ok_or("the demo province is not among today's units")?;
    let communes: Vec<UnitRow> = units::table
        .filter(units::parent_id.eq(province.id))
        .filter(units::level.eq("commune"))
        .filter(units::valid_to.is_null())
        .order(units::code)
        .select(UnitRow::as_select())
        .load(conn)?;

    let generated_password = settings.admin_password.is_none();
    let password = match &settings.admin_password {
        Some(p) => p.clone(),
        None => random_password()?,
    };
    let first_commune = communes
        .first()
        .ok_or("the demo province has no communes")?
        .clone();

    conn.transaction::<_, Failure, _>(|conn| {
        let mut rng = Lcg(0x0062_616e_736f);
        let mut villages = 0;
        for commune in &communes {
            let count = 4 + rng.next(5);
            for _ in 0..count {
                let name = format!(
                    "{} {}",
                    VILLAGE_TYPES[rng.next(VILLAGE_TYPES.len())],
                    VILLAGE_NAMES[rng.next(VILLAGE_NAMES.len())]
                );
                let kind = name.split(' ').next().unwrap_or("Thôn");
                unit_repo::create_village(conn, commune, &name, kind, commune.valid_from)?;
                villages += 1;
            }
        }
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
        ];
        for (username, role, area, display) in accounts {
            if crate::users::repo::find_by_username(conn, username)?.is_none() {
                crate::cli::create_user(conn, username, role, area, Some(display), &password)?;
            }
        }
        diesel::insert_into(app_meta::table)
            .values((
                app_meta::key.eq(MARKER),
                app_meta::value.eq(chrono::Utc::now().to_rfc3339()),
            ))
            .execute(conn)?;
        tracing::info!(communes = communes.len(), villages, "demo data loaded");
        Ok(())
    })?;

    println!(
        "Demo data loaded: units of Vietnam, villages in every commune of {}.",
        province.name
    );
    println!(
        "Demo accounts: admin (everything), canbo.caobang (province officer), canbo.xa (officer of {}).",
        first_commune.name
    );
    if generated_password {
        println!("Their password, shown only this once: {password}");
    } else {
        println!("Their password is the value of BANSO_ADMIN_PASSWORD.");
    }
    Ok(true)
}

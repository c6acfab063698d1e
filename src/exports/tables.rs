//! The columns of each list's file and how a row reads in them: codes with
//! their names (the catalogue's for kinds of help and topics, the
//! glossary's for the closed code sets), places and teams by name.
//!
//! Visits leave out their notes and position: they describe the household
//! (an erasure removes them), and the visits' file is not limited to the
//! officers that may read households.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{Array, Text, Uuid as SqlUuid};
use uuid::Uuid;

use super::{Cell, Lang};
use crate::assistances::model::AssistanceRow;
use crate::audit::Entity;
use crate::auth::Role;
use crate::error::ApiError;
use crate::households::model::HouseholdRow;
use crate::members::model::MemberRow;
use crate::records::last_unit;
use crate::teams::model::TeamRow;
use crate::trainings::model::TrainingRow;

/// Who may export personal data (households, members): officers and
/// admins, each inside its area.
pub const PERSONAL_READERS: &[Role] = &[Role::Admin, Role::Officer];

/// A list's file: what it is about, its name and its columns, each in
/// Vietnamese and English.
pub struct Sheet {
    pub entity: Entity,
    /// The file's and the worksheet's name (at most 31 characters).
    pub stem: (&'static str, &'static str),
    pub columns: &'static [(&'static str, &'static str)],
    /// Holds personal data: only `PERSONAL_READERS` may export it.
    pub personal: bool,
}

/// A row of a list that an export can write.
pub trait Record: Send + 'static {
    fn sheet() -> &'static Sheet;
    fn id(&self) -> Uuid;
    /// The village it lives in.
    fn village(&self) -> Option<Uuid>;
    fn team(&self) -> Option<Uuid> {
        None
    }
    /// Its cells, in the order of `sheet().columns`.
    fn cells(&self, names: &Names, out: &mut Vec<Cell>);
}

#[derive(QueryableByName)]
struct PlaceRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    code: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    commune: Option<String>,
}

#[derive(QueryableByName)]
struct TeamName {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Entry {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    code: String,
    #[diesel(sql_type = Text)]
    name: String,
}

/// A village as the files name it.
#[derive(Debug, Clone)]
pub struct Place {
    pub code: String,
    pub name: String,
    pub commune: String,
}

/// Names of what rows refer to by id or code: the catalogue (read once)
/// and the villages and teams of the rows seen (read per batch, only
/// those not known yet, and forgotten past a bound so that memory stays
/// flat however long the export).
pub struct Names {
    pub lang: Lang,
    catalog: HashMap<(String, String), String>,
    places: HashMap<Uuid, Place>,
    teams: HashMap<Uuid, String>,
}

const REMEMBERED: usize = 20_000;

impl Names {
    pub fn new(conn: &mut PgConnection, lang: Lang) -> Result<Names, ApiError> {
        let column = lang.pick("name_vi", "name_en");
        let entries: Vec<Entry> = diesel::sql_query(format!(
            "SELECT kind, code, {column} AS name FROM catalog_entries"
        ))
        .load(conn)?;
        Ok(Names {
            lang,
            catalog: entries
                .into_iter()
                .map(|e| ((e.kind, e.code), e.name))
                .collect(),
            places: HashMap::new(),
            teams: HashMap::new(),
        })
    }

    /// Reads the names of the villages and teams of `rows` not known yet.
    pub fn learn<R: Record>(
        &mut self,
        conn: &mut PgConnection,
        rows: &[R],
    ) -> Result<(), ApiError> {
        if self.places.len() > REMEMBERED {
            self.places.clear();
        }
        if self.teams.len() > REMEMBERED {
            self.teams.clear();
        }
        let mut villages: Vec<Uuid> = rows
            .iter()
            .filter_map(R::village)
            .filter(|v| !self.places.contains_key(v))
            .collect();
        villages.sort_unstable();
        villages.dedup();
        if !villages.is_empty() {
            let found: Vec<PlaceRow> = diesel::sql_query(
                "SELECT v.id, v.code, v.name, c.name AS commune FROM units v \
                 LEFT JOIN units c ON c.id = v.parent_id WHERE v.id = ANY($1)",
            )
            .bind::<Array<SqlUuid>, _>(&villages)
            .load(conn)?;
            for p in found {
                self.places.insert(
                    p.id,
                    Place {
                        code: p.code,
                        name: p.name,
                        commune: p.commune.unwrap_or_default(),
                    },
                );
            }
        }
        let mut teams: Vec<Uuid> = rows
            .iter()
            .filter_map(R::team)
            .filter(|t| !self.teams.contains_key(t))
            .collect();
        teams.sort_unstable();
        teams.dedup();
        if !teams.is_empty() {
            let found: Vec<TeamName> =
                diesel::sql_query("SELECT id, name FROM teams WHERE id = ANY($1)")
                    .bind::<Array<SqlUuid>, _>(&teams)
                    .load(conn)?;
            self.teams.extend(found.into_iter().map(|t| (t.id, t.name)));
        }
        Ok(())
    }

    /// The catalogue's name of a code of `kind`, else the code itself.
    pub fn entry(&self, kind: &str, code: &str) -> String {
        self.catalog
            .get(&(kind.to_string(), code.to_string()))
            .cloned()
            .unwrap_or_else(|| code.to_string())
    }

    fn place(&self, village: Option<Uuid>, out: &mut Vec<Cell>) {
        match village.and_then(|v| self.places.get(&v)) {
            Some(p) => {
                out.push(Cell::Text(p.commune.clone()));
                out.push(Cell::Text(p.name.clone()));
                out.push(Cell::Text(p.code.clone()));
            }
            None => out.extend([Cell::Empty, Cell::Empty, Cell::Empty]),
        }
    }

    fn team(&self, team: Uuid) -> Cell {
        self.teams.get(&team).cloned().into()
    }

    /// The glossary's name of a code of a closed set.
    pub fn label(&self, code: &str) -> String {
        label(self.lang, code)
    }
}

/// The words for the codes of the closed sets, Vietnamese and English.
const LABELS: &[(&str, &str, &str)] = &[
    ("province", "Tỉnh", "Province"),
    ("district", "Huyện", "District"),
    ("commune", "Xã", "Commune"),
    ("village", "Thôn", "Village"),
    ("female", "Nữ", "Female"),
    ("male", "Nam", "Male"),
    ("leader", "Tổ trưởng", "Leader"),
    ("deputy", "Tổ phó", "Deputy"),
    ("member", "Thành viên", "Member"),
    ("youth_union", "Đoàn Thanh niên", "Youth Union"),
    ("womens_union", "Hội Liên hiệp Phụ nữ", "Women's Union"),
    ("commune_police", "Công an xã", "Commune police"),
    ("teacher", "Giáo viên", "Teacher"),
    ("village_head", "Trưởng thôn", "Village head"),
    ("other", "Khác", "Other"),
    ("active", "Đang hoạt động", "Active"),
    ("dissolved", "Đã giải thể", "Dissolved"),
    ("poor", "Hộ nghèo", "Poor"),
    ("near_poor", "Hộ cận nghèo", "Near-poor"),
    ("not_poor", "Không nghèo", "Not poor"),
    ("yes", "Có", "Yes"),
    ("no", "Không", "No"),
    ("unknown", "Chưa rõ", "Unknown"),
    ("submitted", "Chờ xác nhận", "Submitted"),
    ("verified", "Đã xác nhận", "Verified"),
    ("rejected", "Bị trả lại", "Rejected"),
    ("done", "Hoàn thành", "Done"),
    ("partly", "Một phần", "Partly done"),
    ("not_done", "Chưa thực hiện", "Not done"),
    ("employment", "Việc làm", "Employment"),
    ("dependents", "Người phụ thuộc", "Dependents"),
    ("nutrition", "Dinh dưỡng", "Nutrition"),
    ("health_insurance", "Bảo hiểm y tế", "Health insurance"),
    (
        "adult_education",
        "Trình độ giáo dục của người lớn",
        "Adult education",
    ),
    (
        "child_schooling",
        "Tình trạng đi học của trẻ em",
        "Child schooling",
    ),
    ("housing_quality", "Chất lượng nhà ở", "Housing quality"),
    ("housing_area", "Diện tích nhà ở", "Housing area"),
    ("drinking_water", "Nguồn nước sinh hoạt", "Drinking water"),
    ("sanitation", "Nhà tiêu hợp vệ sinh", "Sanitation"),
    (
        "telecom_services",
        "Sử dụng dịch vụ viễn thông",
        "Telecom services",
    ),
    (
        "information_access",
        "Phương tiện tiếp cận thông tin",
        "Information access",
    ),
];

pub fn label(lang: Lang, code: &str) -> String {
    LABELS
        .iter()
        .find(|(c, _, _)| *c == code)
        .map_or(code, |(_, vi, en)| lang.pick(vi, en))
        .to_string()
}

fn codes(list: &[Option<String>]) -> impl Iterator<Item = &str> {
    list.iter().flatten().map(String::as_str)
}

fn joined<'a>(items: impl Iterator<Item = String> + 'a) -> Cell {
    let text = items.collect::<Vec<_>>().join("; ");
    if text.is_empty() {
        Cell::Empty
    } else {
        Cell::Text(text)
    }
}

const PLACE: [(&str, &str); 3] = [
    ("Xã", "Commune"),
    ("Thôn", "Village"),
    ("Mã thôn", "Village code"),
];

macro_rules! columns {
    ($($c:expr),* $(,)?) => {{
        const C: &[(&str, &str)] = &[$($c),*];
        C
    }};
}

static VISITS: Sheet = Sheet {
    entity: Entity::Assistance,
    stem: ("Lượt hỗ trợ", "Assistance visits"),
    personal: false,
    columns: columns![
        ("ID", "ID"),
        ("Ngày hỗ trợ", "Visit date"),
        PLACE[0],
        PLACE[1],
        PLACE[2],
        ("Tổ CNSCĐ", "Team"),
        ("ID hộ", "Household ID"),
        ("Mã nội dung hỗ trợ", "Kind codes"),
        ("Nội dung hỗ trợ", "Kinds of help"),
        ("Kết quả", "Outcomes"),
        ("Số thành viên hỗ trợ", "Members who helped"),
        ("Trạng thái", "Status"),
        ("Lý do trạng thái", "Status reason"),
        ("Thời điểm ghi", "Recorded at"),
        ("Ngày lưu trữ", "Archived at"),
    ],
};

impl Record for AssistanceRow {
    fn sheet() -> &'static Sheet {
        &VISITS
    }
    fn id(&self) -> Uuid {
        self.id
    }
    fn village(&self) -> Option<Uuid> {
        last_unit(&self.area_path)
    }
    fn team(&self) -> Option<Uuid> {
        Some(self.team_id)
    }
    fn cells(&self, names: &Names, out: &mut Vec<Cell>) {
        out.push(Cell::Text(self.id.to_string()));
        out.push(Cell::Date(self.visited_on));
        names.place(self.village(), out);
        out.push(names.team(self.team_id));
        out.push(Cell::Text(self.household_id.to_string()));
        out.push(joined(codes(&self.kinds).map(str::to_string)));
        out.push(joined(
            codes(&self.kinds).map(|k| names.entry("assistance_kind", k)),
        ));
        let help: Vec<crate::assistances::dto::Help> =
            serde_json::from_value(self.outcomes.clone()).unwrap_or_default();
        out.push(joined(help.iter().map(|h| {
            format!(
                "{}: {}",
                names.entry("assistance_kind", &h.kind),
                names.label(&h.outcome)
            )
        })));
        out.push(Cell::Int(self.member_ids.iter().flatten().count() as i64));
        out.push(Cell::Text(names.label(&self.status)));
        out.push(self.status_reason.clone().into());
        out.push(Cell::Instant(self.recorded_at));
        out.push(self.archived_at.into());
    }
}

static TRAININGS: Sheet = Sheet {
    entity: Entity::Training,
    stem: ("Buổi tập huấn", "Training sessions"),
    personal: false,
    columns: columns![
        ("ID", "ID"),
        ("Ngày tập huấn", "Date held"),
        PLACE[0],
        PLACE[1],
        PLACE[2],
        ("Tổ CNSCĐ", "Team"),
        ("Địa điểm", "Place"),
        ("Thời lượng (phút)", "Duration (minutes)"),
        ("Mã chủ đề", "Topic codes"),
        ("Chủ đề", "Topics"),
        ("Người tham dự", "Attendees"),
        ("Nữ", "Women"),
        ("Dân tộc thiểu số", "Ethnic minority"),
        ("Hộ nghèo, cận nghèo", "From poor households"),
        ("Số người hướng dẫn", "Trainers"),
        ("Ghi chú", "Notes"),
        ("Trạng thái", "Status"),
        ("Lý do trạng thái", "Status reason"),
        ("Thời điểm ghi", "Recorded at"),
        ("Ngày lưu trữ", "Archived at"),
    ],
};

impl Record for TrainingRow {
    fn sheet() -> &'static Sheet {
        &TRAININGS
    }
    fn id(&self) -> Uuid {
        self.id
    }
    fn village(&self) -> Option<Uuid> {
        Some(self.village_id)
    }
    fn team(&self) -> Option<Uuid> {
        Some(self.team_id)
    }
    fn cells(&self, names: &Names, out: &mut Vec<Cell>) {
        out.push(Cell::Text(self.id.to_string()));
        out.push(Cell::Date(self.held_on));
        names.place(Some(self.village_id), out);
        out.push(names.team(self.team_id));
        out.push(self.place.clone().into());
        out.push(Cell::Int(self.duration_minutes.into()));
        out.push(joined(codes(&self.topics).map(str::to_string)));
        out.push(joined(
            codes(&self.topics).map(|t| names.entry("training_topic", t)),
        ));
        out.push(Cell::Int(self.attendees_total.into()));
        out.push(Cell::Int(self.attendees_women.into()));
        out.push(Cell::Int(self.attendees_ethnic_minority.into()));
        out.push(Cell::Int(self.attendees_poor.into()));
        out.push(Cell::Int(self.trainer_ids.iter().flatten().count() as i64));
        out.push(self.notes.clone().into());
        out.push(Cell::Text(names.label(&self.status)));
        out.push(self.status_reason.clone().into());
        out.push(Cell::Instant(self.recorded_at));
        out.push(self.archived_at.into());
    }
}

static HOUSEHOLDS: Sheet = Sheet {
    entity: Entity::Household,
    stem: ("Hộ gia đình", "Households"),
    personal: true,
    columns: columns![
        ("ID", "ID"),
        PLACE[0],
        PLACE[1],
        PLACE[2],
        ("Mã hộ", "Household code"),
        ("Chủ hộ", "Head of household"),
        ("Số nhân khẩu", "Size"),
        ("Dân tộc", "Ethnicity"),
        ("Điện thoại", "Phone"),
        ("Phân loại hộ", "Poverty status"),
        ("Chuẩn nghèo", "Poverty standard"),
        ("Năm rà soát", "Survey year"),
        ("Thiếu hụt", "Deprivations"),
        ("Có điện thoại thông minh", "Has a smartphone"),
        ("Có Internet", "Has internet"),
        ("Ngày cập nhật", "Updated at"),
        ("Ngày xóa dữ liệu cá nhân", "Erased at"),
        ("Ngày lưu trữ", "Archived at"),
    ],
};

impl Record for HouseholdRow {
    fn sheet() -> &'static Sheet {
        &HOUSEHOLDS
    }
    fn id(&self) -> Uuid {
        self.id
    }
    fn village(&self) -> Option<Uuid> {
        Some(self.village_id)
    }
    fn cells(&self, names: &Names, out: &mut Vec<Cell>) {
        out.push(Cell::Text(self.id.to_string()));
        names.place(Some(self.village_id), out);
        out.push(self.code.clone().into());
        out.push(self.head_name.clone().into());
        out.push(Cell::Int(self.size.into()));
        out.push(self.ethnicity.clone().into());
        out.push(self.phone.clone().into());
        out.push(Cell::Text(names.label(&self.poverty_status)));
        out.push(self.poverty_standard.clone().into());
        out.push(self.survey_year.into());
        out.push(joined(codes(&self.deprivations).map(|d| names.label(d))));
        out.push(Cell::Text(names.label(&self.has_smartphone)));
        out.push(Cell::Text(names.label(&self.has_internet)));
        out.push(Cell::Instant(self.updated_at));
        out.push(self.erased_at.into());
        out.push(self.archived_at.into());
    }
}

static MEMBERS: Sheet = Sheet {
    entity: Entity::Member,
    stem: ("Thành viên tổ", "Team members"),
    personal: true,
    columns: columns![
        ("ID", "ID"),
        ("ID người", "Person ID"),
        PLACE[0],
        PLACE[1],
        PLACE[2],
        ("Tổ CNSCĐ", "Team"),
        ("Họ và tên", "Full name"),
        ("Giới tính", "Gender"),
        ("Năm sinh", "Birth year"),
        ("Dân tộc", "Ethnicity"),
        ("Điện thoại", "Phone"),
        ("Vai trò", "Role"),
        ("Thành phần", "Affiliation"),
        ("Ngày tham gia", "Joined on"),
        ("Ngày rời tổ", "Left on"),
        ("Ngày lưu trữ", "Archived at"),
    ],
};

impl Record for MemberRow {
    fn sheet() -> &'static Sheet {
        &MEMBERS
    }
    fn id(&self) -> Uuid {
        self.id
    }
    fn village(&self) -> Option<Uuid> {
        last_unit(&self.area_path)
    }
    fn team(&self) -> Option<Uuid> {
        Some(self.team_id)
    }
    fn cells(&self, names: &Names, out: &mut Vec<Cell>) {
        out.push(Cell::Text(self.id.to_string()));
        out.push(Cell::Text(self.person_id.to_string()));
        names.place(self.village(), out);
        out.push(names.team(self.team_id));
        out.push(Cell::Text(self.full_name.clone()));
        out.push(Cell::Text(names.label(&self.gender)));
        out.push(self.birth_year.into());
        out.push(self.ethnicity.clone().into());
        out.push(self.phone.clone().into());
        out.push(Cell::Text(names.label(&self.team_role)));
        out.push(Cell::Text(names.label(&self.affiliation)));
        out.push(Cell::Date(self.joined_on));
        out.push(self.left_on.into());
        out.push(self.archived_at.into());
    }
}

static TEAMS: Sheet = Sheet {
    entity: Entity::Team,
    stem: ("Tổ công nghệ số cộng đồng", "Community digital teams"),
    personal: false,
    columns: columns![
        ("ID", "ID"),
        PLACE[0],
        PLACE[1],
        PLACE[2],
        ("Tên tổ", "Team name"),
        ("Ngày thành lập", "Founded on"),
        ("Số quyết định", "Decision number"),
        ("Trạng thái", "Status"),
        ("Ngày giải thể", "Dissolved on"),
        ("Ngày lưu trữ", "Archived at"),
    ],
};

impl Record for TeamRow {
    fn sheet() -> &'static Sheet {
        &TEAMS
    }
    fn id(&self) -> Uuid {
        self.id
    }
    fn village(&self) -> Option<Uuid> {
        Some(self.village_id)
    }
    fn cells(&self, names: &Names, out: &mut Vec<Cell>) {
        out.push(Cell::Text(self.id.to_string()));
        names.place(Some(self.village_id), out);
        out.push(Cell::Text(self.name.clone()));
        out.push(self.founded_on.into());
        out.push(self.decision_number.clone().into());
        out.push(Cell::Text(names.label(&self.status)));
        out.push(self.dissolved_on.into());
        out.push(self.archived_at.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sheet_name_fits_a_worksheet_and_labels_have_both_languages() {
        for s in [&VISITS, &TRAININGS, &HOUSEHOLDS, &MEMBERS, &TEAMS] {
            assert!(s.stem.0.chars().count() <= 31 && s.stem.1.chars().count() <= 31);
        }
        assert_eq!(label(Lang::Vi, "near_poor"), "Hộ cận nghèo");
        assert_eq!(label(Lang::En, "not_done"), "Not done");
        assert_eq!(label(Lang::Vi, "no_such_code"), "no_such_code");
    }
}

//! `/households`, `/households/{id}` and the data-subject rights: consents,
//! export, erasure.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use diesel::prelude::*;
use serde_json::{Value, json};
use uuid::Uuid;

use super::dto::{
    ConsentDto, ConsentInput, ConsentPurpose, EraseRequest, HouseholdDto, HouseholdFilters,
    HouseholdInput, page,
};
use super::model::{ConsentRow, HouseholdChanges, HouseholdRow};
use super::repo;
use crate::audit::erasure::Target;
use crate::audit::{self, Action, Ctx, Entity, Event};
use crate::auth::{AuthUser, Role, Scope};
use crate::db;
use crate::domain::{
    self, Check, Invalid, Name, Phone, PovertyStatus, YesNoUnknown, short_text, this_year, year,
};
use crate::error::ApiError;
use crate::json::{Json, Query};
use crate::pagination;
use crate::records::{self, ListParams};
use crate::state::AppState;

/// Team leaders manage the households of their village; officers those of
/// their area.
pub const WRITERS: &[Role] = &[Role::Admin, Role::Officer, Role::TeamLeader];
const ERASERS: &[Role] = &[Role::Admin, Role::Officer];

const ENTITY: Entity = Entity::Household;

fn event(action: Action, row: &HouseholdRow) -> Event {
    Event::new(action, ENTITY, row.id).at(row.village_id, &row.area_path)
}

/// Reads of personal data are recorded too. Their transaction commits
/// without waiting for the disk: a read must stay as fast as a read, and
/// at worst the last fraction of a second of read events is lost in a
/// crash of the database server itself.
pub(crate) fn read_event(conn: &mut PgConnection, ctx: &Ctx, event: Event) -> Result<(), ApiError> {
    conn.transaction(|conn| {
        diesel::sql_query("SET LOCAL synchronous_commit = off").execute(conn)?;
        audit::record(conn, ctx, event)
    })
}

/// The read event of a page of households, placed at the caller's area.
pub(crate) fn list_read(scope: &Scope) -> Event {
    let mut e = Event::of(Action::Read, ENTITY);
    if let Scope::Subtree { lo, .. } = scope {
        e.area_path = Some(lo.clone());
        e.unit_id = crate::records::last_unit(lo);
    }
    e
}

fn respond(status: StatusCode, row: HouseholdRow) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::ETAG, records::etag(row.version)))
        .json(HouseholdDto::from(row))
}

/// The longest household code, in characters (ASCII only).
pub const MAX_CODE_CHARS: usize = 30;
/// The most people a household is registered with.
pub const MAX_SIZE: i32 = 50;
/// The longest ethnicity and poverty standard, in characters.
pub const MAX_SHORT_CHARS: usize = 50;
/// The earliest poverty survey year taken.
pub const FIRST_SURVEY_YEAR: i32 = 2010;
/// The longest note of a consent and reason of an erasure, in characters.
pub const MAX_NOTE_CHARS: usize = 500;

/// The free text of a field, at most `max` characters as sent (as the
/// document's `maxLength` counts them, white space included), then
/// trimmed, composed and checked by `short_text`.
fn text_field(raw: &str, max: usize) -> Result<Option<String>, Invalid> {
    within(raw, max).and_then(|raw| short_text(raw, max))
}

/// A name of at most `NAME_MAX_CHARS` characters as sent, then read as a
/// `Name`.
fn name_field(raw: &str) -> Result<Name, Invalid> {
    within(raw, domain::NAME_MAX_CHARS).and_then(Name::parse)
}

fn within(raw: &str, max: usize) -> Result<&str, Invalid> {
    if raw.chars().count() > max {
        Err(Invalid {
            code: "too_long",
            message: format!("must be at most {max} characters"),
        })
    } else {
        Ok(raw)
    }
}

/// A household code from the poverty survey: letters, digits and `-_./`.
pub fn household_code(raw: &str) -> Result<Option<String>, Invalid> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s.len() > MAX_CODE_CHARS
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
    {
        return Err(Invalid {
            code: "invalid_code",
            message: "must be up to 30 letters, digits or - _ . /".into(),
        });
    }
    Ok(Some(s.to_string()))
}

/// Checks the fields that need no database; the village is checked by the
/// caller. Shared by the API and the spreadsheet import.
pub fn check_fields(
    check: &mut Check,
    prefix: &str,
    input: &HouseholdInput,
) -> Option<HouseholdChanges> {
    let f = |name: &str| format!("{prefix}{name}");
    let code = check.take(
        &f("code"),
        household_code(input.code.as_deref().unwrap_or("")),
    );
    let name = check.take(&f("head_name"), name_field(&input.head_name));
    if !(1..=MAX_SIZE).contains(&input.size) {
        check.fail(
            &f("size"),
            "out_of_range",
            format!("must be between 1 and {MAX_SIZE}"),
        );
    }
    let ethnicity = check.take(
        &f("ethnicity"),
        text_field(input.ethnicity.as_deref().unwrap_or(""), MAX_SHORT_CHARS),
    );
    let phone = check.take_opt(
        &f("phone"),
        input.phone.clone().filter(|p| !p.trim().is_empty()),
        |p| Phone::parse(&p),
    );
    let standard = check.take(
        &f("poverty_standard"),
        text_field(
            input.poverty_standard.as_deref().unwrap_or(""),
            MAX_SHORT_CHARS,
        ),
    );
    let survey_year = check.take_opt(&f("survey_year"), input.survey_year, |y| {
        year(y, FIRST_SURVEY_YEAR, this_year())
    });
    let deprivations = check.take(
        &f("deprivations"),
        domain::deprivations(&input.deprivations),
    );
    let poverty = check.take(
        &f("poverty_status"),
        PovertyStatus::parse(&input.poverty_status),
    );
    let mut yes_no = |field: &str, raw: &Option<String>| match raw.as_deref() {
        None => Some(YesNoUnknown::Unknown),
        Some(v) => check.take(&f(field), YesNoUnknown::parse(v)),
    };
    let smartphone = yes_no("has_smartphone", &input.has_smartphone);
    let internet = yes_no("has_internet", &input.has_internet);
    let (poverty, smartphone, internet) = (poverty?, smartphone?, internet?);
    let (code, name, ethnicity, phone, standard, survey_year, deprivations) = (
        code?,
        name?,
        ethnicity?,
        phone?,
        standard?,
        survey_year?,
        deprivations?,
    );
    let head_name = name.into_inner();
    Some(HouseholdChanges {
        village_id: input.village_id,
        commune_id: Uuid::nil(),
        area_path: String::new(),
        search_text: repo::search_text(Some(&head_name), code.as_deref()),
        code,
        head_name: Some(head_name),
        size: input.size,
        ethnicity,
        phone: phone.map(Phone::into_inner),
        poverty_status: poverty.as_str().into(),
        poverty_standard: standard,
        survey_year,
        deprivations: deprivations.into_iter().map(Some).collect(),
        has_smartphone: smartphone.as_str().into(),
        has_internet: internet.as_str().into(),
    })
}

fn parse(
    conn: &mut PgConnection,
    scope: &Scope,
    input: &HouseholdInput,
) -> Result<HouseholdChanges, ApiError> {
    let mut check = Check::new();
    let village = records::village_in_scope(conn, scope, input.village_id)?;
    let village = check.take("village_id", village);
    let changes = check_fields(&mut check, "", input);
    check.finish()?;
    match (village, changes) {
        (Some(village), Some(mut changes)) => {
            changes.commune_id = village
                .parent_id
                .ok_or_else(|| ApiError::internal("a village without a commune"))?;
            changes.area_path = village.path;
            Ok(changes)
        }
        _ => Err(ApiError::internal(
            "household input passed its check with a missing field",
        )),
    }
}

/// 409 naming the likely duplicates the caller may see; a code already
/// used elsewhere in the commune is said without naming that household.
fn duplicates_conflict(scope: &Scope, candidates: Vec<super::dto::Candidate>) -> ApiError {
    let same_code = candidates.iter().any(|c| c.reason == "same_code");
    let visible: Vec<_> = candidates
        .into_iter()
        .filter(|c| scope.contains_path(&c.area_path))
        .collect();
    let detail = if same_code {
        "another household of this commune has this code; correct the code or update that household"
    } else {
        "this looks like a household already registered; send \"confirm_new\": true if it is a different one"
    };
    ApiError::Conflict {
        detail: detail.into(),
        current: Some(json!({ "candidates": visible })),
    }
}

/// Whether `input` describes the stored household as it is (a resend of
/// its creation), field by field as they would be written.
pub fn matches(
    conn: &mut PgConnection,
    scope: &Scope,
    row: &HouseholdRow,
    input: &HouseholdInput,
) -> Result<bool, ApiError> {
    let c = parse(conn, scope, input)?;
    Ok(c.village_id == row.village_id
        && c.code == row.code
        && c.head_name == row.head_name
        && c.size == row.size
        && c.ethnicity == row.ethnicity
        && c.phone == row.phone
        && c.poverty_status == row.poverty_status
        && c.poverty_standard == row.poverty_standard
        && c.survey_year == row.survey_year
        && c.deprivations == row.deprivations
        && c.has_smartphone == row.has_smartphone
        && c.has_internet == row.has_internet)
}

/// Creates a household after the duplicate check (API and sync, which
/// passes the hash of its item).
pub fn create_in(
    conn: &mut PgConnection,
    scope: &Scope,
    id: Uuid,
    input: &HouseholdInput,
    body_hash: Option<&[u8]>,
) -> Result<HouseholdRow, ApiError> {
    let changes = parse(conn, scope, input)?;
    let candidates = repo::likely_duplicates(conn, &changes, None)?;
    // The same code is never a new household; the same name may be.
    if candidates.iter().any(|c| c.reason == "same_code")
        || (!candidates.is_empty() && !input.confirm_new)
    {
        return Err(duplicates_conflict(scope, candidates));
    }
    repo::insert(conn, id, &changes, body_hash)
}

/// Applies a merge patch to a household the caller may change (API and
/// sync), with its audit events: the update, placed at the household's
/// village; and, when it moved to another village, its leaving, placed at
/// the old one, so that the old area's change feed tells its mirrors to
/// drop the household.
pub fn update_in(
    conn: &mut PgConnection,
    scope: &Scope,
    ctx: &Ctx,
    id: Uuid,
    expected: i32,
    patch: Value,
) -> Result<HouseholdRow, ApiError> {
    let current: HouseholdRow = records::claim(conn, scope, id, Some(expected))?;
    records::refuse_archived(current.archived_at)?;
    refuse_erased(&current)?;
    let input = records::apply_patch(&HouseholdInput::from_row(&current), patch)?;
    let changes = parse(conn, scope, &input)?;
    let clashes: Vec<_> = repo::likely_duplicates(conn, &changes, Some(id))?
        .into_iter()
        .filter(|c| c.reason == "same_code")
        .collect();
    if !clashes.is_empty() {
        return Err(duplicates_conflict(scope, clashes));
    }
    let row = repo::update(conn, id, &changes)?;
    // The leaving first: a mirror that sees both (its area holds both
    // villages) applies them in feed order and keeps the household.
    if row.village_id != current.village_id {
        let e = event(Action::MoveOut, &current)
            .before(json!({ "village_id": current.village_id }))
            .after(json!({ "village_id": row.village_id }));
        audit::record(conn, ctx, e)?;
    }
    let e = event(Action::Update, &row)
        .after(json!({
            "record": super::dto::audit_view(&row),
            "personal_fields_changed": super::dto::changed_personal_fields(&current, &row),
        }))
        .before(super::dto::audit_view(&current));
    audit::record(conn, ctx, e)?;
    Ok(row)
}

/// List households
///
/// Households inside the caller's area, by id unless `sort` says otherwise.
/// Every list is recorded in the audit trail (which households, not their
/// data). Every role, inside its area. As a file (`format=csv|xlsx` or
/// `Accept`): every matching row with the same filters, headers in
/// Vietnamese or with `lang=en` in English; each export is one audit event
/// `export`. Files of this list hold personal data: officers and admins
/// only (403 for other roles).
#[utoipa::path(
    get,
    path = "/api/v1/households",
    tag = "households",
    operation_id = "listHouseholds",
    params(crate::openapi::households::HouseholdList, HouseholdFilters),
    responses(
        (
            status = 200,
            description = "A page of households, or every matching household as a file.",
            content(
                (super::dto::HouseholdPage = "application/json"),
                (String = "text/csv"),
                (inline(crate::openapi::households::Workbook) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            ),
            headers(
                ("Content-Disposition" = String, description = "Files only: `attachment` with a file name that says what and when (Vietnam's time): an ASCII `filename` and the UTF-8 `filename*` (RFC 8187)."),
            ("Cache-Control" = String, description = "`no-store`: the answer holds personal data."),
            ),
        ),
        (status = 406, response = crate::openapi::problems::NotAcceptable),
        (status = 422, response = crate::openapi::problems::Validation),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    params: Query<ListParams>,
    filters: Query<HouseholdFilters>,
) -> Result<HttpResponse, ApiError> {
    let (params, filters) = (params.into_inner(), filters.into_inner());
    params.check()?;
    if let Some(d) = &filters.deprivation {
        domain::Deprivation::parse(d)
            .map_err(|e| ApiError::validation("deprivation", e.code, e.message))?;
    }
    if let Some(wanted) = crate::exports::wanted(&req)? {
        return crate::exports::serve(&req, &state.pool, user, wanted, move |c, s, after, n| {
            repo::list(
                c,
                s,
                &params,
                &filters,
                &crate::pagination::Order::by_id_after::<HouseholdRow>(after),
                n,
            )
        })
        .await;
    }
    let limit = pagination::limit(params.limit)?;
    let order =
        pagination::Order::parse::<HouseholdRow>(params.sort.as_deref(), params.cursor.as_deref())?;
    let ctx = Ctx::user(&user, &req);
    let rows = db::run(&state.pool, move |conn| {
        let scope = Scope::of(conn, &user)?;
        let rows = order.page(
            repo::list(conn, &scope, &params, &filters, &order, limit)?,
            limit,
        );
        let ids: Vec<Uuid> = rows.items.iter().map(|r| r.id).collect();
        read_event(
            conn,
            &ctx,
            list_read(&scope)
                .after(json!({ "ids": ids, "unit_id": params.unit_id, "q": params.q.is_some() })),
        )?;
        Ok(rows)
    })
    .await?;
    Ok(HttpResponse::Ok().json(page(rows)))
}

/// Get a household
///
/// One household; the read is recorded in the audit trail. Every role,
/// inside its area.
#[utoipa::path(
    get,
    path = "/api/v1/households/{id}",
    tag = "households",
    operation_id = "getHousehold",
    params(("id" = Uuid, Path, description = "The household's id.")),
    responses((
        status = 200,
        description = "The household.",
        body = HouseholdDto,
        headers(
            ("ETag" = String, description = "The household's version, such as `\"3\"`; send it back in `If-Match`."),
            ("Cache-Control" = String, description = "`no-store`: the answer holds personal data."),
        ),
    ))
)]
pub async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let ctx = Ctx::user(&user, &req);
    let row = db::run(&state.pool, move |conn| {
        let scope = Scope::of(conn, &user)?;
        let row = repo::get(conn, &scope, id)?;
        read_event(conn, &ctx, event(Action::Read, &row))?;
        Ok(row)
    })
    .await?;
    Ok(respond(StatusCode::OK, row))
}

/// Register a household
///
/// Registers a household after a duplicate check: a code used by a live
/// household of the commune, or (without `confirm_new`) the same head name
/// in the village, is a 409 with `current.candidates` (those inside the
/// caller's area). The registration is recorded in the audit trail, its
/// personal fields as "(recorded)". `admin`, `officer` and `team_leader`,
/// inside their area.
#[utoipa::path(
    post,
    path = "/api/v1/households",
    tag = "households",
    operation_id = "createHousehold",
    request_body = HouseholdInput,
    responses(
        (status = 201, description = "The new household.", body = HouseholdDto,
            headers(
                ("ETag" = String, description = "The household's version, `\"1\"`."),
            ("Cache-Control" = String, description = "`no-store`: the answer holds personal data."),
            )),
        (status = 409, response = crate::openapi::problems::Conflict),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    body: Json<HouseholdInput>,
) -> Result<HttpResponse, ApiError> {
    user.require(WRITERS)?;
    let input = body.into_inner();
    let ctx = Ctx::user(&user, &req);
    let row = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let scope = Scope::of(conn, &user)?;
            let row = create_in(conn, &scope, Uuid::now_v7(), &input, None)?;
            audit::record(
                conn,
                &ctx,
                event(Action::Create, &row).after(super::dto::audit_view(&row)),
            )?;
            Ok(row)
        })
    })
    .await?;
    Ok(respond(StatusCode::CREATED, row))
}

fn refuse_erased(row: &HouseholdRow) -> Result<(), ApiError> {
    if row.erased_at.is_some() {
        Err(ApiError::conflict(
            "this household's personal data was erased; it cannot be changed",
        ))
    } else {
        Ok(())
    }
}

/// Update a household
///
/// Applies a JSON merge patch (RFC 7396); the result is checked as a
/// create is. The version goes in `If-Match` or `version`. Archived or
/// erased households are refused (409), and so is a code used by another
/// live household of the commune. A move to another village is recorded
/// as the household leaving the old one, so that the old area's change
/// feed drops it. `admin`, `officer` and `team_leader`, inside their area.
#[utoipa::path(
    patch,
    path = "/api/v1/households/{id}",
    tag = "households",
    operation_id = "updateHousehold",
    params(
        ("id" = Uuid, Path, description = "The household's id."),
        ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^\s*(W/)?"*[+-]?[0-9]{1,9}"*\s*$"#, description = "The ETag of the version the change is based on (`\"3\"`, `W/\"3\"` or `3`); wins over a `version` in the body. 422 if unreadable, 409 with `current` if stale."),
    ),
    request_body(content(
        (super::dto::HouseholdPatch = "application/json"),
        (super::dto::HouseholdPatch = "application/merge-patch+json"),
    )),
    responses(
        (status = 200, description = "The updated household.", body = HouseholdDto,
            headers(
                ("ETag" = String, description = "The household's new version."),
            ("Cache-Control" = String, description = "`no-store`: the answer holds personal data."),
            )),
        (status = 409, response = crate::openapi::problems::Conflict),
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    user.require(WRITERS)?;
    let id = id.into_inner();
    let body = body.into_inner();
    let expected = records::expected_version(&req, records::body_version(&body)?)?;
    let ctx = Ctx::user(&user, &req);
    let row = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let scope = Scope::of(conn, &user)?;
            update_in(conn, &scope, &ctx, id, expected, body)
        })
    })
    .await?;
    Ok(respond(StatusCode::OK, row))
}

/// List a household's consents
///
/// The consent history, oldest first, unpaged; the newest is in force. The
/// read is recorded in the audit trail. Every role, inside its area.
#[utoipa::path(
    get,
    path = "/api/v1/households/{id}/consents",
    tag = "households",
    operation_id = "listHouseholdConsents",
    params(("id" = Uuid, Path, description = "The household's id.")),
    responses((
        status = 200,
        description = "The consents.",
        body = super::dto::ConsentList,
        headers(("Cache-Control" = String, description = "`no-store`: the answer holds personal data."),),
    ))
)]
pub async fn consents(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let ctx = Ctx::user(&user, &req);
    let rows = db::run(&state.pool, move |conn| {
        let scope = Scope::of(conn, &user)?;
        let household = repo::get(conn, &scope, id)?;
        read_event(conn, &ctx, event(Action::ReadConsents, &household))?;
        repo::consents(conn, id)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .json(json!({ "items": rows.into_iter().map(ConsentDto::from).collect::<Vec<_>>() })))
}

/// Record a consent
///
/// Adds a consent record (given or withdrawn); the newest is in force. An
/// erased household takes none (409). Recorded in the audit trail without
/// who gave it or the note. `admin`, `officer` and `team_leader`, inside
/// their area.
#[utoipa::path(
    post,
    path = "/api/v1/households/{id}/consents",
    tag = "households",
    operation_id = "recordHouseholdConsent",
    params(("id" = Uuid, Path, description = "The household's id.")),
    request_body = ConsentInput,
    responses(
        (status = 201, description = "The consent record.", body = ConsentDto,
            headers(("Cache-Control" = String, description = "`no-store`: the answer holds personal data."),)),
        (status = 409, response = crate::openapi::problems::Conflict),
    )
)]
pub async fn record_consent(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: Json<ConsentInput>,
) -> Result<HttpResponse, ApiError> {
    user.require(WRITERS)?;
    let id = id.into_inner();
    let input = body.into_inner();
    let mut check = Check::new();
    let given_by = check.take("given_by", name_field(&input.given_by));
    let mut purposes = Vec::new();
    for (i, p) in input.purposes.iter().enumerate() {
        if let Some(p) = check.take(&format!("purposes[{i}]"), ConsentPurpose::parse(p))
            && !purposes.contains(&p.as_str().to_string())
        {
            purposes.push(p.as_str().to_string());
        }
    }
    if input.given && purposes.is_empty() {
        check.fail("purposes", "required", "consent names at least one purpose");
    }
    if input.given_on > crate::units::repo::today() {
        check.fail("given_on", "in_future", "must not be in the future");
    }
    let note = check.take(
        "note",
        text_field(input.note.as_deref().unwrap_or(""), MAX_NOTE_CHARS),
    );
    check.finish()?;
    let (Some(given_by), Some(note)) = (given_by, note) else {
        return Err(ApiError::internal(
            "consent passed its check with a missing field",
        ));
    };
    let ctx = Ctx::user(&user, &req);
    let row = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let scope = Scope::of(conn, &user)?;
            let household = repo::get_for_update(conn, &scope, id)?;
            refuse_erased(&household)?;
            let row = repo::add_consent(
                conn,
                &ConsentRow {
                    id: Uuid::now_v7(),
                    household_id: id,
                    given: input.given,
                    given_on: input.given_on,
                    given_by: given_by.into_inner(),
                    purposes: purposes.into_iter().map(Some).collect(),
                    note,
                    recorded_by: user.id,
                    recorded_at: chrono::Utc::now(),
                },
            )?;
            // Who gave consent is a person's name: the trail keeps the rest.
            let e = event(Action::Consent, &household).after(json!({
                "id": row.id, "given": row.given, "given_on": row.given_on,
                "purposes": row.purposes, "recorded_by": row.recorded_by,
            }));
            audit::record(conn, &ctx, e)?;
            Ok(row)
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(ConsentDto::from(row)))
}

/// Export a household
///
/// Everything stored about the household (its record and its consents), as
/// an attachment, for handing to it; recorded in the audit trail. `admin`,
/// `officer` and `team_leader`, inside their area.
#[utoipa::path(
    get,
    path = "/api/v1/households/{id}/export",
    tag = "households",
    operation_id = "exportHousehold",
    params(("id" = Uuid, Path, description = "The household's id.")),
    responses((
        status = 200,
        description = "The household and its consents.",
        body = super::dto::HouseholdExport,
        headers(
            ("Content-Disposition" = String, description = "`attachment; filename=\"household-<id>.json\"`."),
            ("Cache-Control" = String, description = "`no-store`: the answer holds personal data."),
        ),
    ))
)]
pub async fn export(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    user.require(WRITERS)?;
    let id = id.into_inner();
    let ctx = Ctx::user(&user, &req);
    let (household, consents) = db::run(&state.pool, move |conn| {
        let scope = Scope::of(conn, &user)?;
        let household = repo::get(conn, &scope, id)?;
        let consents = repo::consents(conn, id)?;
        audit::record(conn, &ctx, event(Action::Export, &household))?;
        Ok((household, consents))
    })
    .await?;
    crate::metrics::export_served("household");
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"household-{id}.json\""),
        ))
        .json(json!({
            "exported_at": chrono::Utc::now(),
            "household": HouseholdDto::from(household),
            "consents": consents.into_iter().map(ConsentDto::from).collect::<Vec<_>>(),
        })))
}

/// The keys of a household's events that an erasure removes: its code and
/// the fields shown as "(recorded)".
const ERASED_FIELDS: &[&str] = &[
    "code",
    "head_name",
    "phone",
    "ethnicity",
    "given_by",
    "note",
];
/// The keys of its visits' events that an erasure removes.
const ERASED_VISIT_FIELDS: &[&str] = &["notes", "position", "latitude", "longitude", "accuracy_m"];

/// Erase a household's personal data
///
/// Blanks the head's name, the code, the ethnicity and the phone, who gave
/// its consents and their notes, and the notes and positions of its
/// visits, in the records and in the audit trail; the household is then
/// frozen (409 for any further change or consent). The version goes in
/// `If-Match` or `version`. `admin` and `officer`, inside their area.
#[utoipa::path(
    post,
    path = "/api/v1/households/{id}/erase",
    tag = "households",
    operation_id = "eraseHousehold",
    params(
        ("id" = Uuid, Path, description = "The household's id."),
        ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^\s*(W/)?"*[+-]?[0-9]{1,9}"*\s*$"#, description = "The ETag of the version the erasure is based on (`\"3\"`, `W/\"3\"` or `3`); wins over a `version` in the body. 422 if unreadable, 409 with `current` if stale."),
    ),
    request_body = EraseRequest,
    responses(
        (status = 200, description = "The erased household.", body = HouseholdDto,
            headers(
                ("ETag" = String, description = "The household's new version."),
                ("Cache-Control" = String, description = "`no-store`: the answer holds personal data."),
            )),
        (status = 409, response = crate::openapi::problems::Conflict),
    )
)]
pub async fn erase(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: Json<EraseRequest>,
) -> Result<HttpResponse, ApiError> {
    user.require(ERASERS)?;
    let id = id.into_inner();
    let body = body.into_inner();
    let expected = records::expected_version(&req, body.version)?;
    let reason = text_field(&body.reason, MAX_NOTE_CHARS)
        .map_err(|e| ApiError::validation("reason", e.code, e.message))?
        .ok_or_else(|| ApiError::validation("reason", "required", "say why the data is erased"))?;
    let ctx = Ctx::user(&user, &req);
    let row = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let scope = Scope::of(conn, &user)?;
            let current = repo::get_for_update(conn, &scope, id)?;
            if current.version != expected {
                return Err(records::stale(&HouseholdDto::from(current)));
            }
            refuse_erased(&current)?;
            let (row, visits) = repo::erase(conn, id, user.id, &reason)?;
            // What the trail holds of the household and its visits goes
            // too; the events name the records, the reason and which
            // fields of which events were erased, never the data.
            let erased = audit::erasure::erase(
                conn,
                &[
                    Target {
                        entity: ENTITY,
                        ids: vec![id.to_string()],
                        keys: ERASED_FIELDS,
                    },
                    Target {
                        entity: Entity::Assistance,
                        ids: visits.iter().map(Uuid::to_string).collect(),
                        keys: ERASED_VISIT_FIELDS,
                    },
                ],
            )?;
            let mut events = vec![(
                &ctx,
                event(Action::Erase, &row).after(json!({
                    "reason": reason, "visits": visits, "erased": erased,
                })),
            )];
            for v in &visits {
                let e = Event::new(Action::Erase, Entity::Assistance, v)
                    .at(row.village_id, &row.area_path);
                events.push((&ctx, e));
            }
            audit::record_many(conn, &events)?;
            Ok(row)
        })
    })
    .await?;
    Ok(respond(StatusCode::OK, row))
}

/// Households for the shared archive handler.
pub struct Household;

impl records::Archivable for Household {
    type Row = HouseholdRow;
    const WRITERS: &'static [Role] = WRITERS;

    fn archived(row: &HouseholdRow) -> bool {
        row.archived_at.is_some()
    }

    fn archive(conn: &mut PgConnection, id: Uuid) -> Result<HouseholdRow, ApiError> {
        repo::archive(conn, id)
    }

    fn archive_event(before: &HouseholdRow, after: &HouseholdRow) -> Event {
        event(Action::Archive, after).before(super::dto::audit_view(before))
    }
}

//! `/members`, `/members/{id}`, `/members/{id}/move`, `/members/{id}/history`.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;

use super::dto::{MemberDto, MemberFilters, MemberInput, MoveRequest, page};
use super::model::{MemberChanges, MemberRow};
use super::repo;
use crate::audit::{self, Action, Ctx, Entity, Event};
use crate::auth::{AuthUser, Role, Scope};
use crate::db;
use crate::domain::{
    Affiliation, Check, Gender, Invalid, Name, Phone, TeamRole, short_text, this_year, year,
};
use crate::error::ApiError;
use crate::json::{Json, Query};
use crate::pagination;
use crate::records::{self, ListParams};
use crate::state::AppState;
use crate::teams::model::TeamRow;
use crate::text;

/// Team leaders manage their own team's members: their scope is their village.
const WRITERS: &[Role] = &[Role::Admin, Role::Officer, Role::TeamLeader];

/// Members are placed by their team's village, whose id the path ends with.
fn event(action: Action, row: &MemberRow) -> Event {
    let mut e = Event::new(action, Entity::Member, row.id);
    e.area_path = Some(row.area_path.clone());
    e.unit_id = crate::records::last_unit(&row.area_path);
    e
}

fn respond(status: StatusCode, row: MemberRow) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::ETAG, records::etag(row.version)))
        .json(MemberDto::from(row))
}

/// An active, unarchived team inside the scope.
pub fn team_in_scope(
    conn: &mut PgConnection,
    scope: &Scope,
    team_id: Uuid,
) -> Result<Result<TeamRow, Invalid>, ApiError> {
    team_visible(conn, scope, team_id, true)
}

/// A team inside the scope; with `joining`, it must also be active and not
/// archived (a membership that only ends may belong to a dissolved team).
pub fn team_visible(
    conn: &mut PgConnection,
    scope: &Scope,
    team_id: Uuid,
    joining: bool,
) -> Result<Result<TeamRow, Invalid>, ApiError> {
    match crate::teams::repo::get(conn, scope, team_id) {
        Ok(t) if joining && (t.archived_at.is_some() || t.status != "active") => Ok(Err(Invalid {
            code: "team_not_active",
            message: "the team is dissolved or archived".into(),
        })),
        Ok(t) => Ok(Ok(t)),
        Err(ApiError::NotFound) => Ok(Err(Invalid {
            code: "unknown_team",
            message: "no such team in your area".into(),
        })),
        Err(e) => Err(e),
    }
}

/// Checks a membership and turns it into the columns to write; `joining`
/// when it starts now (create, or the new side of a move).
fn parse(
    conn: &mut PgConnection,
    scope: &Scope,
    input: MemberInput,
    joining: bool,
) -> Result<MemberChanges, ApiError> {
    let mut check = Check::new();
    let team = team_visible(conn, scope, input.team_id, joining)?;
    let team = check.take("team_id", team);
    let name = check.take("full_name", Name::parse(&input.full_name));
    let gender = check.take("gender", Gender::parse(&input.gender));
    let birth_year = check.take_opt("birth_year", input.birth_year, |y| {
        year(y, this_year() - 100, this_year() - 10)
    });
    let ethnicity = check.take(
        "ethnicity",
        short_text(
            input.ethnicity.as_deref().unwrap_or(""),
            super::dto::MAX_ETHNICITY_CHARS,
        ),
    );
    let phone = check.take_opt("phone", input.phone.filter(|p| !p.trim().is_empty()), |p| {
        Phone::parse(&p)
    });
    let team_role = check.take("team_role", TeamRole::parse(&input.team_role));
    let affiliation = check.take("affiliation", Affiliation::parse(&input.affiliation));
    if input.joined_on > crate::units::repo::today() {
        check.fail("joined_on", "in_future", "must not be in the future");
    }
    if input.left_on.is_some_and(|l| l < input.joined_on) {
        check.fail("left_on", "before_joining", "must not be before joined_on");
    }
    check.finish()?;
    let (
        Some(team),
        Some(name),
        Some(gender),
        Some(birth_year),
        Some(ethnicity),
        Some(phone),
        Some(team_role),
        Some(affiliation),
    ) = (
        team,
        name,
        gender,
        birth_year,
        ethnicity,
        phone,
        team_role,
        affiliation,
    )
    else {
        return Err(ApiError::internal(
            "member input passed its check with a missing field",
        ));
    };
    Ok(MemberChanges {
        team_id: team.id,
        area_path: team.area_path,
        search_text: text::fold(name.as_str()),
        full_name: name.into_inner(),
        gender: gender.as_str().into(),
        birth_year,
        ethnicity,
        phone: phone.map(Phone::into_inner),
        team_role: team_role.as_str().into(),
        affiliation: affiliation.as_str().into(),
        joined_on: input.joined_on,
        left_on: input.left_on,
    })
}

/// List members
///
/// Memberships inside the caller's area, by id unless `sort` says
/// otherwise. Every role, inside its area. As a file (`format=csv|xlsx` or
/// `Accept`): every matching row with the same filters, headers in
/// Vietnamese or with `lang=en` in English; each export is one audit event
/// `export`. Files of this list hold personal data: officers and admins
/// only (403 for other roles).
#[utoipa::path(
    get,
    path = "/api/v1/members",
    tag = "members",
    operation_id = "listMembers",
    params(
        crate::openapi::registry::RegistryList<MemberRow>,
        ("team_id" = Option<Uuid>, Query, description = "Only memberships of this team; an unknown team gives an empty list."),
        MemberFilters,
        crate::openapi::registry::AsFile,
    ),
    responses(
        (
            status = 200,
            description = "A page of memberships, or every matching membership as a file.",
            content(
                (super::dto::MemberPage = "application/json"),
                (String = "text/csv"),
                (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            ),
            headers(
                ("Content-Disposition" = String, description = "Files only: `attachment` with a file name that says what and when (Vietnam's time): an ASCII `filename` and the UTF-8 `filename*` (RFC 8187)."),
                ("Cache-Control" = String, description = "Files only: `no-store`."),
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
    filters: Query<MemberFilters>,
) -> Result<HttpResponse, ApiError> {
    let (params, filters) = (params.into_inner(), filters.into_inner());
    params.check()?;
    if let Some(wanted) = crate::exports::wanted(&req)? {
        return crate::exports::serve(&req, &state.pool, user, wanted, move |c, s, after, n| {
            repo::list(
                c,
                s,
                &params,
                &filters,
                &crate::pagination::Order::by_id_after::<MemberRow>(after),
                n,
            )
        })
        .await;
    }
    let limit = pagination::limit(params.limit)?;
    let order =
        pagination::Order::parse::<MemberRow>(params.sort.as_deref(), params.cursor.as_deref())?;
    let rows = db::run(&state.pool, move |conn| {
        let scope = Scope::of(conn, &user)?;
        let rows = repo::list(conn, &scope, &params, &filters, &order, limit)?;
        Ok(order.page(rows, limit))
    })
    .await?;
    Ok(HttpResponse::Ok().json(page(rows)))
}

/// Get a membership
///
/// Every role, inside its area.
#[utoipa::path(
    get,
    path = "/api/v1/members/{id}",
    tag = "members",
    operation_id = "getMember",
    params(("id" = Uuid, Path, description = "The membership's id.")),
    responses((
        status = 200,
        description = "The membership.",
        body = MemberDto,
        headers(("ETag" = String, description = "The membership's version, such as `\"3\"`; send it back in `If-Match`.")),
    ))
)]
pub async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let row = db::run(&state.pool, move |conn| {
        let scope = Scope::of(conn, &user)?;
        repo::get(conn, &scope, id)
    })
    .await?;
    Ok(respond(StatusCode::OK, row))
}

/// A person's memberships
///
/// Every membership of the same person that the caller may see, oldest
/// first, unpaged. Every role, inside its area.
#[utoipa::path(
    get,
    path = "/api/v1/members/{id}/history",
    tag = "members",
    operation_id = "getMemberHistory",
    params(("id" = Uuid, Path, description = "Any of the person's memberships.")),
    responses((status = 200, description = "The memberships.", body = super::dto::MemberHistory))
)]
pub async fn history(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let rows = db::run(&state.pool, move |conn| {
        let scope = Scope::of(conn, &user)?;
        let member = repo::get(conn, &scope, id)?;
        repo::history(conn, &scope, member.person_id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "items": rows.into_iter().map(MemberDto::from).collect::<Vec<_>>()
    })))
}

/// Add a member
///
/// Adds a person to an active team. `admin`, `officer` and `team_leader`
/// (its own village's team).
#[utoipa::path(
    post,
    path = "/api/v1/members",
    tag = "members",
    operation_id = "createMember",
    request_body = MemberInput,
    responses(
        (status = 201, description = "The new membership.", body = MemberDto,
            headers(("ETag" = String, description = "The membership's version, `\"1\"`."))),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    body: Json<MemberInput>,
) -> Result<HttpResponse, ApiError> {
    user.require(WRITERS)?;
    let input = body.into_inner();
    let ctx = Ctx::user(&user, &req);
    let row = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let scope = Scope::of(conn, &user)?;
            let changes = parse(conn, &scope, input, true)?;
            let row = repo::insert(conn, Uuid::now_v7(), Uuid::now_v7(), &changes)?;
            audit::record(
                conn,
                &ctx,
                event(Action::Create, &row).after(MemberDto::from(row.clone())),
            )?;
            Ok(row)
        })
    })
    .await?;
    Ok(respond(StatusCode::CREATED, row))
}

/// Update a membership
///
/// Applies a JSON merge patch (RFC 7396); the result is checked as a
/// create is. The version goes in `If-Match` or `version` (422 without,
/// 409 with `current` if stale). `team_id` never changes here (use the
/// move). Archived memberships are refused (409). `admin`, `officer` and
/// `team_leader` (its own village's team).
#[utoipa::path(
    patch,
    path = "/api/v1/members/{id}",
    tag = "members",
    operation_id = "updateMember",
    params(
        ("id" = Uuid, Path, description = "The membership's id."),
        ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^\s*(W/)?"*[+-]?[0-9]{1,9}"*\s*$"#, description = "The ETag of the version the change is based on (`\"3\"`, `W/\"3\"` or `3`); wins over a `version` in the body. 422 if unreadable, 409 with `current` if stale."),
    ),
    request_body(content(
        (super::dto::MemberPatch = "application/json"),
        (super::dto::MemberPatch = "application/merge-patch+json"),
    )),
    responses(
        (status = 200, description = "The updated membership.", body = MemberDto,
            headers(("ETag" = String, description = "The membership's new version."))),
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
            let current: MemberRow = records::claim(conn, &scope, id, Some(expected))?;
            records::refuse_archived(current.archived_at)?;
            let input = records::apply_patch(&MemberInput::from(&current), body)?;
            if input.team_id != current.team_id {
                return Err(ApiError::validation(
                    "team_id",
                    "use_move",
                    "move a member to another team with POST /members/{id}/move, which keeps the history",
                ));
            }
            let changes = parse(conn, &scope, input, false)?;
            let row = repo::update(conn, id, &changes)?;
            let e = event(Action::Update, &row)
                .before(MemberDto::from(current))
                .after(MemberDto::from(row.clone()));
            audit::record(conn, &ctx, e)?;
            Ok(row)
        })
    })
    .await?;
    Ok(respond(StatusCode::OK, row))
}

/// Move a member to another team
///
/// Ends the current membership on `on` and opens one in the new team from
/// that day, with the same `person_id`. The version goes in `If-Match` or
/// `version` (422 without, 409 with `current` if stale). `admin`,
/// `officer` and `team_leader` (its own village's team).
#[utoipa::path(
    post,
    path = "/api/v1/members/{id}/move",
    tag = "members",
    operation_id = "moveMember",
    params(
        ("id" = Uuid, Path, description = "The current membership's id."),
        ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^\s*(W/)?"*[+-]?[0-9]{1,9}"*\s*$"#, description = "The ETag of the version the change is based on (`\"3\"`, `W/\"3\"` or `3`); wins over a `version` in the body. 422 if unreadable, 409 with `current` if stale."),
    ),
    request_body = MoveRequest,
    responses(
        (status = 201, description = "The new membership.", body = MemberDto,
            headers(("ETag" = String, description = "The new membership's version, `\"1\"`."))),
        (status = 409, response = crate::openapi::problems::Conflict),
    )
)]
pub async fn move_to_team(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: Json<MoveRequest>,
) -> Result<HttpResponse, ApiError> {
    user.require(WRITERS)?;
    let id = id.into_inner();
    let body = body.into_inner();
    let expected = records::expected_version(&req, body.version)?;
    let ctx = Ctx::user(&user, &req);
    let row = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let scope = Scope::of(conn, &user)?;
            let current: MemberRow = records::claim(conn, &scope, id, Some(expected))?;
            let mut check = Check::new();
            if current.left_on.is_some() || current.archived_at.is_some() {
                check.fail("id", "not_current", "this membership has already ended");
            }
            if body.team_id == current.team_id {
                check.fail("team_id", "same_team", "the member is already in this team");
            }
            if body.on < current.joined_on {
                check.fail(
                    "on",
                    "before_joining",
                    "must not be before the member joined",
                );
            }
            if body.on > crate::units::repo::today() {
                check.fail("on", "in_future", "must not be in the future");
            }
            check.finish()?;
            let mut old = MemberInput::from(&current);
            old.left_on = Some(body.on);
            let closing = parse(conn, &scope, old.clone(), false)?;
            let closed = repo::update(conn, id, &closing)?;
            let e = event(Action::MoveOut, &closed)
                .before(MemberDto::from(current.clone()))
                .after(MemberDto::from(closed.clone()));
            audit::record(conn, &ctx, e)?;
            let new = MemberInput {
                team_id: body.team_id,
                team_role: body
                    .team_role
                    .map_or(old.team_role.clone(), |r| r.as_str().to_string()),
                joined_on: body.on,
                left_on: None,
                ..old
            };
            let opening = parse(conn, &scope, new, true)?;
            let row = repo::insert(conn, Uuid::now_v7(), current.person_id, &opening)?;
            audit::record(
                conn,
                &ctx,
                event(Action::MoveIn, &row).after(MemberDto::from(row.clone())),
            )?;
            Ok(row)
        })
    })
    .await?;
    Ok(respond(StatusCode::CREATED, row))
}

/// Members for the shared archive handler.
pub struct Member;

impl records::Archivable for Member {
    type Row = MemberRow;
    const WRITERS: &'static [Role] = WRITERS;

    fn archived(row: &MemberRow) -> bool {
        row.archived_at.is_some()
    }

    fn archive(conn: &mut PgConnection, id: Uuid) -> Result<MemberRow, ApiError> {
        repo::archive(conn, id)
    }

    fn archive_event(before: &MemberRow, after: &MemberRow) -> Event {
        event(Action::Archive, after).before(MemberDto::from(before.clone()))
    }
}

//! `/teams`, `/teams/{id}`, `/teams/{id}/members`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;

use super::dto::{TeamDto, TeamFilters, TeamInput};
use super::model::{TeamChanges, TeamRow};
use super::repo;
use crate::audit::{self, Action, Ctx, Entity, Event};
use crate::auth::{AuthUser, Role, Scope};
use crate::db;
use crate::domain::{Check, Name, TeamStatus, short_text};
use crate::error::ApiError;
use crate::json::{Json, Query};
use crate::pagination;
use crate::records::{self, ListParams};
use crate::state::AppState;
use crate::text;

const WRITERS: &[Role] = &[Role::Admin, Role::Officer];
const ENTITY: Entity = Entity::Team;

fn respond(status: actix_web::http::StatusCode, row: TeamRow) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::ETAG, records::etag(row.version)))
        .json(TeamDto::from(row))
}

/// Checks a team's input and turns it into the columns to write.
fn parse(
    conn: &mut PgConnection,
    scope: &Scope,
    input: TeamInput,
) -> Result<TeamChanges, ApiError> {
    let mut check = Check::new();
    let village = records::village_in_scope(conn, scope, input.village_id)?;
    let village = check.take("village_id", village);
    let name = check.take("name", Name::parse(&input.name));
    let decision_number = check.take(
        "decision_number",
        short_text(
            input.decision_number.as_deref().unwrap_or(""),
            super::dto::MAX_DECISION_NUMBER_CHARS,
        ),
    );
    let status = match input.status.as_deref() {
        None => TeamStatus::Active,
        Some(s) => check
            .take("status", TeamStatus::parse(s))
            .unwrap_or(TeamStatus::Active),
    };
    let today = crate::units::repo::today();
    if input.founded_on.is_some_and(|d| d > today) {
        check.fail("founded_on", "in_future", "must not be in the future");
    }
    match (status, input.dissolved_on) {
        (TeamStatus::Dissolved, None) => check.fail(
            "dissolved_on",
            "required",
            "a dissolved team needs its dissolution date",
        ),
        (TeamStatus::Active, Some(_)) => check.fail(
            "dissolved_on",
            "not_allowed",
            "an active team has no dissolution date",
        ),
        (_, Some(d)) if input.founded_on.is_some_and(|f| d < f) => check.fail(
            "dissolved_on",
            "before_founding",
            "must not be before founded_on",
        ),
        _ => {}
    }
    check.finish()?;
    let (Some(village), Some(name), Some(decision_number)) = (village, name, decision_number)
    else {
        return Err(ApiError::internal(
            "team input passed its check with a missing field",
        ));
    };
    Ok(TeamChanges {
        village_id: village.id,
        area_path: village.path,
        search_text: text::fold(name.as_str()),
        name: name.into_inner(),
        founded_on: input.founded_on,
        decision_number,
        status: status.as_str().to_string(),
        dissolved_on: input.dissolved_on,
    })
}

/// List teams
///
/// Teams inside the caller's area, by id unless `sort` says otherwise.
/// Every role, inside its area. As a file (`format=csv|xlsx` or `Accept`):
/// every matching row with the same filters, headers in Vietnamese or with
/// `lang=en` in English; each export is one audit event `export`.
#[utoipa::path(
    get,
    path = "/api/v1/teams",
    tag = "teams",
    operation_id = "listTeams",
    params(
        crate::openapi::registry::RegistryList<TeamRow>,
        TeamFilters,
        crate::openapi::registry::AsFile,
    ),
    responses(
        (
            status = 200,
            description = "A page of teams, or every matching team as a file.",
            content(
                (super::dto::TeamPage = "application/json"),
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
    filters: Query<TeamFilters>,
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
                &crate::pagination::Order::by_id_after::<TeamRow>(after),
                n,
            )
        })
        .await;
    }
    let limit = pagination::limit(params.limit)?;
    let order =
        pagination::Order::parse::<TeamRow>(params.sort.as_deref(), params.cursor.as_deref())?;
    let page = db::run(&state.pool, move |conn| {
        let scope = Scope::of(conn, &user)?;
        let rows = repo::list(conn, &scope, &params, &filters, &order, limit)?;
        Ok(order.page(rows, limit))
    })
    .await?;
    Ok(HttpResponse::Ok().json(pagination::Page {
        items: page
            .items
            .into_iter()
            .map(TeamDto::from)
            .collect::<Vec<_>>(),
        next_cursor: page.next_cursor,
    }))
}

/// Get a team
///
/// Every role, inside its area.
#[utoipa::path(
    get,
    path = "/api/v1/teams/{id}",
    tag = "teams",
    operation_id = "getTeam",
    params(("id" = Uuid, Path, description = "The team's id.")),
    responses((
        status = 200,
        description = "The team.",
        body = TeamDto,
        headers(("ETag" = String, description = "The team's version, such as `\"3\"`; send it back in `If-Match`.")),
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
    Ok(respond(actix_web::http::StatusCode::OK, row))
}

/// Create a team
///
/// Founds a team in a village; a village has at most one active, unarchived
/// team (409). `admin` and `officer`.
#[utoipa::path(
    post,
    path = "/api/v1/teams",
    tag = "teams",
    operation_id = "createTeam",
    request_body = TeamInput,
    responses(
        (status = 201, description = "The new team.", body = TeamDto,
            headers(("ETag" = String, description = "The team's version, `\"1\"`."))),
        (status = 409, response = crate::openapi::problems::Conflict),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    body: Json<TeamInput>,
) -> Result<HttpResponse, ApiError> {
    user.require(WRITERS)?;
    let input = body.into_inner();
    let ctx = Ctx::user(&user, &req);
    let row = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let scope = Scope::of(conn, &user)?;
            let changes = parse(conn, &scope, input)?;
            let row = repo::insert(conn, Uuid::now_v7(), &changes)?;
            let e = Event::new(Action::Create, ENTITY, row.id)
                .at(row.village_id, &row.area_path)
                .after(TeamDto::from(row.clone()));
            audit::record(conn, &ctx, e)?;
            Ok(row)
        })
    })
    .await?;
    Ok(respond(actix_web::http::StatusCode::CREATED, row))
}

/// Update a team
///
/// Applies a JSON merge patch (RFC 7396); the result is checked as a create
/// is. The version goes in `If-Match` or `version` (422 without, 409 with
/// `current` if stale). Archived teams are refused (409), and so is a
/// second active team in the village. `admin` and `officer`.
#[utoipa::path(
    patch,
    path = "/api/v1/teams/{id}",
    tag = "teams",
    operation_id = "updateTeam",
    params(
        ("id" = Uuid, Path, description = "The team's id."),
        ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^\s*(W/)?"*[+-]?[0-9]{1,9}"*\s*$"#, description = "The ETag of the version the change is based on (`\"3\"`, `W/\"3\"` or `3`); wins over a `version` in the body. 422 if unreadable, 409 with `current` if stale."),
    ),
    request_body(content(
        (super::dto::TeamPatch = "application/json"),
        (super::dto::TeamPatch = "application/merge-patch+json"),
    )),
    responses(
        (status = 200, description = "The updated team.", body = TeamDto,
            headers(("ETag" = String, description = "The team's new version."))),
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
            let current: TeamRow = records::claim(conn, &scope, id, Some(expected))?;
            records::refuse_archived(current.archived_at)?;
            let input = records::apply_patch(&TeamInput::from(&current), body)?;
            if input.village_id != current.village_id {
                // Members and records hang on the team's village.
                return Err(ApiError::validation(
                    "village_id",
                    "immutable",
                    "a team's village does not change; dissolve the team and found one in the other village",
                ));
            }
            let changes = parse(conn, &scope, input)?;
            let row = repo::update(conn, id, &changes)?;
            let e = Event::new(Action::Update, ENTITY, id)
                .at(row.village_id, &row.area_path)
                .before(TeamDto::from(current))
                .after(TeamDto::from(row.clone()));
            audit::record(conn, &ctx, e)?;
            Ok(row)
        })
    })
    .await?;
    Ok(respond(actix_web::http::StatusCode::OK, row))
}

/// List a team's members
///
/// The team's memberships, with the member list's filters. Every role,
/// inside its area; a team outside it is a 404.
#[utoipa::path(
    get,
    path = "/api/v1/teams/{id}/members",
    tag = "teams",
    operation_id = "listTeamMembers",
    params(
        ("id" = Uuid, Path, description = "The team's id."),
        crate::openapi::registry::RegistryList<crate::members::model::MemberRow>,
        crate::members::dto::MemberFilters,
    ),
    responses(
        (status = 200, description = "A page of memberships.", body = crate::members::dto::MemberPage),
        (status = 422, response = crate::openapi::problems::Validation),
    )
)]
pub async fn members(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    params: Query<ListParams>,
    filters: Query<crate::members::dto::MemberFilters>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (params, mut filters) = (params.into_inner(), filters.into_inner());
    params.check()?;
    filters.team_id = Some(id);
    let limit = pagination::limit(params.limit)?;
    let order = pagination::Order::parse::<crate::members::model::MemberRow>(
        params.sort.as_deref(),
        params.cursor.as_deref(),
    )?;
    let page = db::run(&state.pool, move |conn| {
        let scope = Scope::of(conn, &user)?;
        repo::get(conn, &scope, id)?;
        let rows = crate::members::repo::list(conn, &scope, &params, &filters, &order, limit)?;
        Ok(order.page(rows, limit))
    })
    .await?;
    Ok(HttpResponse::Ok().json(crate::members::dto::page(page)))
}

/// Teams for the shared archive handler.
pub struct Team;

impl records::Archivable for Team {
    type Row = TeamRow;
    const WRITERS: &'static [Role] = WRITERS;

    fn archived(row: &TeamRow) -> bool {
        row.archived_at.is_some()
    }

    fn archive(conn: &mut PgConnection, id: Uuid) -> Result<TeamRow, ApiError> {
        repo::archive(conn, id)
    }

    fn archive_event(before: &TeamRow, after: &TeamRow) -> Event {
        Event::new(Action::Archive, ENTITY, after.id)
            .at(after.village_id, &after.area_path)
            .before(TeamDto::from(before.clone()))
    }
}

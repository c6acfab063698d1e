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
        short_text(input.decision_number.as_deref().unwrap_or(""), 100),
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
    let expected = records::expected_version(&req, records::body_version(&body))?;
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

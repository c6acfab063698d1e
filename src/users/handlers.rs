//! `/users` and `/users/{id}`.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use diesel::prelude::*;
use uuid::Uuid;

use super::dto::{NewUser, UserDto, UserFilters, UserPatch};
use super::model::UserRow;
use super::repo;
use crate::audit::{self, Action, Ctx, Entity, Event};
use crate::auth::{AuthUser, Role, Scope, password};
use crate::db;
use crate::db::schema::{units, users};
use crate::domain::{Check, Name};
use crate::error::ApiError;
use crate::json::{Json, Query};
use crate::pagination;
use crate::records::{self, ListParams};
use crate::state::AppState;

const MANAGERS: &[Role] = &[Role::Admin, Role::Officer];
/// The roles an officer may give and manage.
const FIELD_ROLES: &[Role] = &[Role::TeamLeader, Role::Member];

/// An account's event, placed at its area.
pub fn account_event(
    conn: &mut PgConnection,
    action: Action,
    row: &UserRow,
) -> Result<Event, ApiError> {
    let mut e = Event::new(action, Entity::User, row.id);
    if let Some(area) = row.area_unit_id {
        e = e.at_unit(conn, area)?;
    }
    Ok(e)
}

fn respond(status: StatusCode, row: UserRow) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::ETAG, records::etag(row.version)))
        .json(UserDto::from(row))
}

/// Accounts whose area lies inside the scope (admins see every account).
fn visible(
    conn: &mut PgConnection,
    scope: &Scope,
    filters: &UserFilters,
    params: &ListParams,
    only: Option<Uuid>,
    order: &pagination::Order,
    limit: i64,
) -> Result<Vec<UserRow>, ApiError> {
    let mut query = users::table
        .left_join(units::table.on(users::area_unit_id.eq(units::id.nullable())))
        .into_boxed();
    // By the path of each account's area unit: accounts without an area
    // lie outside every area but the whole country's.
    query = query.filter(scope.filter_on("units.path"));
    if let Some(id) = only {
        query = query.filter(users::id.eq(id));
    }
    if let Some(role) = filters.role {
        query = query.filter(users::role.eq(role.as_str()));
    }
    if let Some(active) = filters.active {
        query = query.filter(users::active.eq(active));
    }
    if let Some(q) = params.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        query = query.filter(users::username.like(crate::text::contains_pattern(q)));
    }
    if let Some(since) = params.updated_since {
        query = query.filter(users::updated_at.ge(since));
    }
    if let Some(f) = records::unit_filter_on(conn, "units.path", params.unit_id)? {
        query = query.filter(f);
    }
    if let Some(f) = order.after() {
        query = query.filter(f);
    }
    Ok(query
        .order(order.sql())
        .limit(limit + 1)
        .select(UserRow::as_select())
        .load(conn)?)
}

fn find_visible(conn: &mut PgConnection, scope: &Scope, id: Uuid) -> Result<UserRow, ApiError> {
    visible(
        conn,
        scope,
        &UserFilters::default(),
        &ListParams::default(),
        Some(id),
        &pagination::Order::by_id::<UserRow>(),
        1,
    )?
    .into_iter()
    .next()
    .ok_or(ApiError::NotFound)
}

impl records::Versioned for UserRow {
    type Key = Uuid;
    type Dto = UserDto;

    fn lock(conn: &mut PgConnection, scope: &Scope, id: Uuid) -> Result<UserRow, ApiError> {
        // The row lock first; the read after it sees the last commit.
        users::table
            .find(id)
            .select(users::id)
            .for_update()
            .first::<Uuid>(conn)?;
        find_visible(conn, scope, id)
    }

    fn version(&self) -> i32 {
        self.version
    }

    fn dto(&self) -> UserDto {
        UserDto::from(self.clone())
    }
}

/// Checks an area and a member link for a role, within the caller's scope:
/// the area must lie inside it, and a caller with an area cannot leave the
/// account's area out.
fn check_placement(
    conn: &mut PgConnection,
    scope: &Scope,
    check: &mut Check,
    role: Role,
    area: Option<Uuid>,
    member: Option<Uuid>,
) -> Result<(), ApiError> {
    let area_path = match area {
        Some(id) => crate::auth::access::unit_path(conn, id)?,
        None => None,
    };
    match (area, &area_path) {
        // A caller with an area makes and keeps every account inside it,
        // admins' too: an account without an area would see the country.
        (None, _) if matches!(scope, Scope::Subtree { .. }) => check.fail(
            "area_id",
            "required",
            "an account you manage needs an area inside yours",
        ),
        (Some(_), None) => check.fail("area_id", "unknown_unit", "no such unit in your area"),
        (Some(_), Some(p)) if !scope.contains_path(p) => {
            check.fail("area_id", "unknown_unit", "no such unit in your area")
        }
        _ => {
            if let Err(why) = repo::check_area(conn, role, area) {
                check.fail("area_id", "wrong_level", why);
            }
        }
    }
    if let Some(member_id) = member {
        match crate::members::repo::get(conn, scope, member_id) {
            Ok(m) if area_path.as_deref() != Some(m.area_path.as_str()) => check.fail(
                "member_id",
                "other_village",
                "the member belongs to a team of another village than the account's area",
            ),
            Ok(_) => {}
            Err(ApiError::NotFound) => {
                check.fail("member_id", "unknown_member", "no such member in your area")
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// List accounts
///
/// Accounts whose area lies inside the caller's, by id unless `sort` says
/// otherwise. `admin` (every account of its area, all if it has none) and `officer`
/// (accounts whose area lies in its own; it creates and manages only
/// `team_leader` and `member` accounts).
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    operation_id = "listUsers",
    params(
        ("unit_id" = Option<Uuid>, Query, description = "Only accounts whose area lies in this unit or below it; an unknown unit gives an empty list."),
        ("q" = Option<String>, Query, max_length = 100, pattern = r"^[^\u0000]*$", description = "Part of the username; at most 100 characters (422 otherwise), no NUL (400)."),
        ("updated_since" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "Only accounts created or changed at or after this instant."),
        UserFilters,
        ("limit" = Option<i32>, Query, minimum = 1, maximum = 500, description = "Page size, 1 to 500 (default 50; 422 otherwise)."),
        ("cursor" = Option<String>, Query, min_length = 1, pattern = r"^[A-Za-z0-9_-]+$", description = "The `next_cursor` of the previous page, as it was (422 if not one this list issued under this order): base64url without padding."),
        ("sort" = Option<String>, Query, description = "The order: a key, `-` before it for descending; ties follow by id in the same direction. Without it, or blank: by id. Anything else: 422 naming `sort`.", pattern = r"^\s*(-?(id|created_at|updated_at))?\s*$"),
    ),
    responses(
        (status = 200, description = "A page of accounts.", body = super::dto::UserPage),
        (status = 422, response = crate::openapi::problems::Validation),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    params: Query<ListParams>,
    filters: Query<UserFilters>,
) -> Result<HttpResponse, ApiError> {
    user.require(MANAGERS)?;
    let (params, filters) = (params.into_inner(), filters.into_inner());
    params.check()?;
    let limit = pagination::limit(params.limit)?;
    let order =
        pagination::Order::parse::<UserRow>(params.sort.as_deref(), params.cursor.as_deref())?;
    let page = db::run(&state.pool, move |conn| {
        let scope = Scope::of(conn, &user)?;
        let rows = visible(conn, &scope, &filters, &params, None, &order, limit)?;
        Ok(order.page(rows, limit))
    })
    .await?;
    Ok(HttpResponse::Ok().json(pagination::Page {
        items: page
            .items
            .into_iter()
            .map(UserDto::from)
            .collect::<Vec<_>>(),
        next_cursor: page.next_cursor,
    }))
}

/// Get an account
///
/// `admin` (every account of its area, all if it has none) and `officer`
/// (accounts whose area lies in its own; it creates and manages only
/// `team_leader` and `member` accounts).
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    tag = "users",
    operation_id = "getUser",
    params(("id" = Uuid, Path, description = "The account's id.")),
    responses(
        (status = 200, description = "The account.", body = UserDto,
            headers(("ETag" = String, description = "The account's version, such as `\"3\"`; send it back in `If-Match`."))),
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    user.require(MANAGERS)?;
    let id = id.into_inner();
    let row = db::run(&state.pool, move |conn| {
        let scope = Scope::of(conn, &user)?;
        find_visible(conn, &scope, id)
    })
    .await?;
    Ok(respond(StatusCode::OK, row))
}

/// Create an account
///
/// Creates an account that can log in at once; a username taken is a 409.
/// `admin` (every account of its area, all if it has none) and `officer`
/// (accounts whose area lies in its own; it creates and manages only
/// `team_leader` and `member` accounts).
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    operation_id = "createUser",
    request_body = NewUser,
    responses(
        (status = 201, description = "The new account.", body = UserDto,
            headers(("ETag" = String, description = "The account's version, `\"1\"`."))),
        (status = 409, response = crate::openapi::problems::Conflict),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    body: Json<NewUser>,
) -> Result<HttpResponse, ApiError> {
    user.require(MANAGERS)?;
    let body = body.into_inner();
    if user.role == Role::Officer && !FIELD_ROLES.contains(&body.role) {
        return Err(ApiError::Forbidden(
            "officers create team_leader and member accounts only".into(),
        ));
    }
    let mut check = Check::new();
    let username = match repo::parse_username(&body.username) {
        Ok(u) => Some(u),
        Err(why) => {
            check.fail("username", "invalid", why);
            None
        }
    };
    if let Err(why) = password::check_rules(
        &body.password,
        username.as_deref().unwrap_or(&body.username),
    ) {
        check.fail("password", "weak", why);
    }
    let display_name = check.take_opt("display_name", body.display_name.clone(), |n| {
        Name::parse(&n)
    });
    let (role, area, member) = (body.role, body.area_id, body.member_id);
    let ctx = Ctx::user(&user, &req);
    let checker = user.clone();
    let check = db::run(&state.pool, move |conn| {
        let scope = Scope::of(conn, &checker)?;
        let mut check = check;
        check_placement(conn, &scope, &mut check, role, area, member)?;
        Ok(check)
    })
    .await?;
    check.finish()?;
    let (Some(username), Some(display_name)) = (username, display_name) else {
        return Err(ApiError::internal(
            "account passed its check with a missing field",
        ));
    };
    let password = body.password;
    let hash = web::block(move || password::hash(&password))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let row = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            if repo::find_by_username(conn, &username)?.is_some() {
                return Err(ApiError::conflict(format!("username {username} is taken")));
            }
            let row = repo::create(
                conn,
                &username,
                &hash,
                role,
                area,
                display_name.as_ref().map(Name::as_str),
            )?;
            let row = match member {
                Some(m) => repo::set_member(conn, row.id, Some(m))?,
                None => row,
            };
            let e = account_event(conn, Action::Create, &row)?.after(UserDto::from(row.clone()));
            audit::record(conn, &ctx, e)?;
            Ok(row)
        })
    })
    .await?;
    Ok(respond(StatusCode::CREATED, row))
}

/// Update an account
///
/// Changes the fields sent; the version goes in `If-Match` or `version`
/// (422 without either, 409 with `current` when stale). Only an admin
/// changes `role` and `area_id`. Deactivating or a new password ends the
/// account's sessions; another role or area ends its access tokens.
/// `admin` (every account of its area, all if it has none) and `officer`
/// (accounts whose area lies in its own; it creates and manages only
/// `team_leader` and `member` accounts).
#[utoipa::path(
    patch,
    path = "/api/v1/users/{id}",
    tag = "users",
    operation_id = "updateUser",
    params(
        ("id" = Uuid, Path, description = "The account's id."),
        ("If-Match" = Option<String>, Header, pattern = r#"^\s*(W/)?"*[+-]?[0-9]{1,9}"*\s*$"#, description = "The ETag of the version the change is based on (`\"3\"`, `W/\"3\"` or `3`); wins over a `version` in the body. 422 if unreadable."),
    ),
    request_body = UserPatch,
    responses(
        (status = 200, description = "The updated account.", body = UserDto,
            headers(("ETag" = String, description = "The account's new version."))),
        (status = 409, response = crate::openapi::problems::Conflict),
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    tokens: web::Data<crate::auth::tokens::TokenService>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: Json<UserPatch>,
) -> Result<HttpResponse, ApiError> {
    user.require(MANAGERS)?;
    let id = id.into_inner();
    let patch = body.into_inner();
    let expected = records::expected_version(&req, patch.version)?;
    if user.role == Role::Officer && (patch.role.is_some() || patch.area_id.is_some()) {
        return Err(ApiError::Forbidden(
            "only an admin changes an account's role or area".into(),
        ));
    }
    if user.id == id && patch.active == Some(false) {
        return Err(ApiError::validation(
            "active",
            "self",
            "you cannot deactivate your own account",
        ));
    }
    let mut check = Check::new();
    // Absent: unchanged; null or empty: cleared; text: a name.
    let display_name = match patch.display_name.clone() {
        None => None,
        Some(None) => Some(None),
        Some(Some(n)) if n.trim().is_empty() => Some(None),
        Some(Some(n)) => check.take("display_name", Name::parse(&n)).map(Some),
    };
    let new_hash = match &patch.password {
        Some(p) => {
            let p = p.clone();
            Some(
                web::block(move || password::hash(&p))
                    .await
                    .map_err(ApiError::internal)?
                    .map_err(ApiError::internal)?,
            )
        }
        None => None,
    };
    let ctx = Ctx::user(&user, &req);
    let row = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let scope = Scope::of(conn, &user)?;
            let current: UserRow = records::claim(conn, &scope, id, Some(expected))?;
            let current_role: Role = current.role.parse().map_err(ApiError::internal)?;
            if user.role == Role::Officer && !FIELD_ROLES.contains(&current_role) {
                return Err(ApiError::Forbidden(
                    "officers manage team_leader and member accounts only".into(),
                ));
            }
            if let Some(p) = &patch.password
                && let Err(why) = password::check_rules(p, &current.username)
            {
                check.fail("password", "weak", why);
            }
            let role = patch.role.unwrap_or(current_role);
            let area = patch.area_id.or(current.area_unit_id);
            let member = patch.member_id.unwrap_or(current.member_id);
            check_placement(conn, &scope, &mut check, role, area, member)?;
            check.finish()?;
            let display_name = match display_name {
                Some(name) => name.map(Name::into_inner),
                None => current.display_name.clone(),
            };
            let active = patch.active.unwrap_or(current.active);
            let row = repo::update(
                conn,
                id,
                role,
                area,
                display_name.as_deref(),
                member,
                active,
                new_hash.as_deref(),
            )?;
            // A deactivated account, a new password, or another role or
            // area ends the account's access tokens at once; the first two
            // end its refresh tokens too, while after the others a refresh
            // gives a token that says what the account now is.
            let ended = if !active
                || new_hash.is_some()
                || role != current_role
                || area != current.area_unit_id
            {
                Some(crate::auth::sessions::end(conn, id)?)
            } else {
                None
            };
            if !active || new_hash.is_some() {
                crate::auth::repo::revoke_user(conn, id)?;
            }
            let mut after = serde_json::to_value(UserDto::from(row.clone())).unwrap_or_default();
            if new_hash.is_some() {
                // That it changed, never what it is.
                after["password_changed"] = serde_json::Value::Bool(true);
            }
            let e = account_event(conn, Action::Update, &row)?
                .before(UserDto::from(current))
                .after(after);
            audit::record(conn, &ctx, e)?;
            Ok((row, ended))
        })
    })
    .await?;
    let (row, ended) = row;
    if let Some(ended) = ended {
        tokens.sessions().ended_here(ended).await;
    }
    Ok(respond(StatusCode::OK, row))
}

//! Queries on `users`.

use diesel::prelude::*;
use uuid::Uuid;

use super::model::{NewUserRow, UserRow};
use crate::auth::Role;
use crate::db::schema::{units, users};
use crate::error::ApiError;

pub fn find(conn: &mut PgConnection, id: Uuid) -> Result<UserRow, ApiError> {
    Ok(users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)?)
}

/// Usernames: 3 to 64 characters of a-z, 0-9, '.', '_' and '-', stored in
/// lower case.
pub fn parse_username(raw: &str) -> Result<String, String> {
    let name = raw.trim().to_lowercase();
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if !(3..=64).contains(&name.len()) || !ok_chars {
        return Err("username must be 3 to 64 characters of a-z, 0-9, '.', '_' or '-'".into());
    }
    Ok(name)
}

/// Checks that a role fits its area: officers work at a province, district
/// or commune office; team leaders and members in a village.
pub fn check_area(conn: &mut PgConnection, role: Role, area: Option<Uuid>) -> Result<(), String> {
    let level: Option<String> = match area {
        Some(id) => units::table
            .find(id)
            .select(units::level)
            .first(conn)
            .optional()
            .map_err(|e| e.to_string())?,
        None => None,
    };
    match (role, area, level.as_deref()) {
        (Role::Client, _, _) => {
            Err("integration clients are not accounts: use banso client create".into())
        }
        (_, Some(_), None) => Err("the area is not a known unit".into()),
        (Role::Admin, _, _) => Ok(()),
        (_, None, _) => Err(format!("a {role} needs an area")),
        (Role::Officer, _, Some("province" | "district" | "commune")) => Ok(()),
        (Role::Officer, _, Some(l)) => Err(format!(
            "an officer's area must be a province, district or commune, not a {l}"
        )),
        (Role::TeamLeader | Role::Member, _, Some("village")) => Ok(()),
        (_, _, Some(l)) => Err(format!("a {role}'s area must be a village, not a {l}")),
    }
}

/// Creates an account; the password is hashed by the caller (on a blocking
/// thread) and its rules checked there too.
pub fn create(
    conn: &mut PgConnection,
    username: &str,
    password_hash: &str,
    role: Role,
    area: Option<Uuid>,
    display_name: Option<&str>,
) -> Result<UserRow, ApiError> {
    let row = NewUserRow {
        id: Uuid::now_v7(),
        username,
        password_hash,
        role: role.as_str(),
        area_unit_id: area,
        display_name,
    };
    Ok(diesel::insert_into(users::table)
        .values(&row)
        .returning(UserRow::as_returning())
        .get_result(conn)?)
}

pub fn find_by_username(
    conn: &mut PgConnection,
    username: &str,
) -> Result<Option<UserRow>, ApiError> {
    Ok(users::table
        .filter(users::username.eq(username))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn set_member(
    conn: &mut PgConnection,
    id: Uuid,
    member: Option<Uuid>,
) -> Result<UserRow, ApiError> {
    Ok(diesel::update(users::table.find(id))
        .set(users::member_id.eq(member))
        .returning(UserRow::as_returning())
        .get_result(conn)?)
}

/// Writes an account's changeable fields and bumps its version.
#[allow(clippy::too_many_arguments)]
pub fn update(
    conn: &mut PgConnection,
    id: Uuid,
    role: Role,
    area: Option<Uuid>,
    display_name: Option<&str>,
    member: Option<Uuid>,
    active: bool,
    password_hash: Option<&str>,
) -> Result<UserRow, ApiError> {
    let target = users::table.find(id);
    if let Some(hash) = password_hash {
        diesel::update(target)
            .set(users::password_hash.eq(hash))
            .execute(conn)?;
    }
    Ok(diesel::update(target)
        .set((
            users::role.eq(role.as_str()),
            users::area_unit_id.eq(area),
            users::display_name.eq(display_name),
            users::member_id.eq(member),
            users::active.eq(active),
            users::version.eq(users::version + 1),
            users::updated_at.eq(diesel::dsl::now),
        ))
        .returning(UserRow::as_returning())
        .get_result(conn)?)
}

/// Gives the account a new password hash and ends every session it has,
/// refresh tokens included. Returns the account and what ended, for
/// `SessionView::ended_here` once the transaction has committed.
pub fn set_password(
    conn: &mut PgConnection,
    id: Uuid,
    password_hash: &str,
) -> Result<(UserRow, crate::auth::sessions::Ended), ApiError> {
    let row = diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(password_hash),
            users::version.eq(users::version + 1),
            users::updated_at.eq(diesel::dsl::now),
        ))
        .returning(UserRow::as_returning())
        .get_result(conn)?;
    let ended = crate::auth::sessions::end(conn, id)?;
    crate::auth::repo::revoke_user(conn, id)?;
    Ok((row, ended))
}

//! Diesel rows for `users`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::users;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: Uuid,
    pub username: String,
    pub role: String,
    pub area_unit_id: Option<Uuid>,
    pub display_name: Option<String>,
    pub member_id: Option<Uuid>,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUserRow<'a> {
    pub id: Uuid,
    pub username: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub area_unit_id: Option<Uuid>,
    pub display_name: Option<&'a str>,
}

// The orders its list takes (`sort`).
crate::pagination::sortable!(UserRow, users, created_at: instant, updated_at: instant);

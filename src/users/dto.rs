//! Accounts over the wire. Password hashes never leave the server.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::model::UserRow;
use crate::auth::Role;

#[derive(Debug, Serialize)]
pub struct UserDto {
    pub id: Uuid,
    pub username: String,
    pub role: String,
    pub area_id: Option<Uuid>,
    pub display_name: Option<String>,
    pub member_id: Option<Uuid>,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<UserRow> for UserDto {
    fn from(r: UserRow) -> Self {
        UserDto {
            id: r.id,
            username: r.username,
            role: r.role,
            area_id: r.area_unit_id,
            display_name: r.display_name,
            member_id: r.member_id,
            active: r.active,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub role: Role,
    pub area_id: Option<Uuid>,
    pub display_name: Option<String>,
    pub member_id: Option<Uuid>,
}

/// Absent fields stay as they are; `member_id: null` unlinks.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub version: Option<i64>,
    /// `null` clears it.
    #[serde(default, with = "double_option")]
    pub display_name: Option<Option<String>>,
    pub active: Option<bool>,
    #[serde(default, with = "double_option")]
    pub member_id: Option<Option<Uuid>>,
    pub password: Option<String>,
    pub role: Option<Role>,
    pub area_id: Option<Uuid>,
}

/// Tells a field sent as `null` from a field not sent.
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
    where
        T: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Option::<T>::deserialize(d).map(Some)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct UserFilters {
    pub role: Option<Role>,
    pub active: Option<bool>,
}

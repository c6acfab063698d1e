//! Accounts over the wire. Password hashes never leave the server.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::model::UserRow;
use crate::auth::Role;

/// A user account. Password hashes never leave the server.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = User)]
pub struct UserDto {
    pub id: Uuid,
    /// 3 to 64 characters of a-z, 0-9, `.`, `_`, `-`.
    pub username: String,
    #[schema(value_type = Role)]
    pub role: String,
    /// The unit the account works in; `null` only for admins.
    #[schema(required = true)]
    pub area_id: Option<Uuid>,
    #[schema(required = true)]
    pub display_name: Option<String>,
    /// The member row of the person who uses the account.
    #[schema(required = true)]
    pub member_id: Option<Uuid>,
    pub active: bool,
    #[schema(minimum = 1)]
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[schema(schema_with = crate::openapi::users::username)]
    pub username: String,
    /// 10 to 128 characters, not the username.
    #[schema(schema_with = crate::openapi::auth::new_password)]
    pub password: String,
    pub role: Role,
    /// Inside the caller's area: a province, district or commune for an
    /// officer, a village for a team leader or member; admins need none
    /// (a caller with an area gives every account one inside it).
    pub area_id: Option<Uuid>,
    #[schema(schema_with = crate::openapi::users::display_name)]
    pub display_name: Option<String>,
    /// A member inside the caller's area whose team serves the account's
    /// village.
    pub member_id: Option<Uuid>,
}

/// The fields sent change, the others stay; `null` clears `display_name`
/// and `member_id` and leaves the other fields as they are.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// The version the change is based on; `If-Match` wins over it, and
    /// one of the two is needed (422).
    #[schema(value_type = Option<i32>)]
    pub version: Option<i64>,
    /// `null` or a blank text clears it.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>, schema_with = crate::openapi::users::display_name_patch)]
    pub display_name: Option<Option<String>>,
    /// `false` deactivates the account and ends its sessions; not your own
    /// (422).
    pub active: Option<bool>,
    /// `null` unlinks.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub member_id: Option<Option<Uuid>>,
    /// A new password (10 to 128 characters, not the username); ends every
    /// session of the account.
    #[schema(schema_with = crate::openapi::users::new_password_patch)]
    pub password: Option<String>,
    /// Admins only (403).
    pub role: Option<Role>,
    /// Admins only (403).
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

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserFilters {
    /// Only this role (400 for another value).
    #[param(value_type = Option<Role>)]
    pub role: Option<Role>,
    /// Only active (`true`) or deactivated (`false`) accounts.
    pub active: Option<bool>,
}

/// A page of accounts.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct UserPage {
    pub items: Vec<UserDto>,
    /// Give it as `cursor` to get the next page; `null` on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

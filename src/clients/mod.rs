//! Integration clients: provincial portals and other systems that read the
//! records of their area with their own credentials. A client gets a
//! short-lived access token from `POST /auth/token` (client credentials)
//! and may then do what its scopes allow inside its area: read, and with
//! `activities:write` record sessions and visits as a team would.

pub mod handlers;
pub mod repo;
pub mod scopes;

//! Integration clients: provincial portals and other systems that read the
//! records of their area with their own credentials. A client gets a
//! short-lived access token from `POST /auth/token` (client credentials)
//! and may then read, never write, inside its area.

pub mod handlers;
pub mod repo;
pub mod scopes;

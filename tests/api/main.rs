//! Bản Số's one integration-test binary: every test talks HTTP to a real
//! server on port 0, backed by its own PostgreSQL database cloned from a
//! migrated template.

mod helpers;

mod auth;
mod cli;
mod errors;
mod health;
mod import;
mod migrations;
mod schema;
mod units;

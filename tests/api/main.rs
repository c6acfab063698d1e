//! Bản Số's one integration-test binary: every test talks HTTP to a real
//! server on port 0, backed by its own PostgreSQL database cloned from a
//! migrated template.

mod helpers;

mod activities;
mod audit;
mod audit_trust;
mod auth;
mod backup;
mod bulk;
mod catalog;
mod changes;
mod cli;
mod client_admin;
mod clients;
mod concurrent;
mod conditional;
mod cors;
mod demo;
mod errors;
mod exports;
mod faults;
mod health;
mod households;
mod import;
mod instances;
mod language;
mod localized;
mod members;
mod metrics;
mod migrations;
mod openapi;
mod periods;
mod replica;
mod reports;
mod resends;
mod schema;
mod schemathesis;
mod seed;
mod sessions;
mod sorting;
mod sync;
mod teams;
mod units;
mod users;
mod web;
mod web_browser;
mod webhooks;

//! Bản Số: the registry and activity records of Vietnam's community digital
//! technology teams, served over a JWT-authenticated REST API.
//!
//! A request enters through [`startup`], which wires the actix-web app: the
//! request-id and tracing middleware from [`telemetry`], the problem+json
//! fallback from [`error`], and one route module per resource ([`auth`],
//! [`units`], ...). Handlers parse input into domain types, ask
//! [`auth::AuthUser`] who is calling, and do all their database work in one
//! [`db::run`] closure on the blocking pool, where every query that reads
//! records is filtered by the caller's [`auth::access::Scope`]. Every failure
//! is an [`error::ApiError`] rendered as an RFC 9457 problem document.

pub mod activities;
pub mod assistances;
pub mod audit;
pub mod auth;
pub mod catalog;
pub mod changes;
pub mod cli;
pub mod clients;
pub mod conditional;
pub mod config;
pub mod cors;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod exports;
pub mod health;
pub mod households;
pub mod json;
pub mod members;
pub mod messages;
pub mod metrics;
pub mod openapi;
pub mod pagination;
pub mod periods;
pub mod ratelimit;
pub mod records;
pub mod reports;
pub mod seed;
pub mod startup;
pub mod state;
pub mod sync;
pub mod teams;
pub mod telemetry;
pub mod text;
pub mod trainings;
pub mod units;
pub mod users;
pub mod web;
pub mod webhooks;

/// mimalloc instead of the system allocator: the service allocates and
/// frees many small buffers per request from several threads, where glibc's
/// allocator spent a tenth of the CPU of a recorded visit.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

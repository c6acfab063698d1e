//! Tests for /api/v1/teams.

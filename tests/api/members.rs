//! Tests for /api/v1/members.

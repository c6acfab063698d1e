//! Tests for /api/v1/audit.

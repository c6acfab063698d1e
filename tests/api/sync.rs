//! Tests for /api/v1/sync.

//! Tests for /api/v1/households.

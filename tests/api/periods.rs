//! Tests for /api/v1/periods.

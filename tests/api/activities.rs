//! Tests for /api/v1/activities.

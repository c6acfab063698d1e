ALTER TABLE users
    DROP COLUMN sessions_ended_at,
    DROP COLUMN session_epoch;

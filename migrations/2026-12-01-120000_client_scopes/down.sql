ALTER TABLE clients
    DROP COLUMN version,
    DROP COLUMN session_epoch,
    DROP COLUMN revoked_at,
    DROP COLUMN previous_secret_until,
    DROP COLUMN previous_secret_hash,
    DROP COLUMN rate_per_minute,
    DROP COLUMN scopes;

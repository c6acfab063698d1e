-- Ending an account's sessions at once. Every access token carries the
-- session epoch its account had when it was issued; logout, deactivation,
-- a new password and a change of role or area raise the epoch, and a token
-- of an older epoch is refused on its next request. `sessions_ended_at`
-- says when that last happened.
ALTER TABLE users
    ADD COLUMN session_epoch bigint NOT NULL DEFAULT 0 CHECK (session_epoch >= 0),
    ADD COLUMN sessions_ended_at timestamptz;

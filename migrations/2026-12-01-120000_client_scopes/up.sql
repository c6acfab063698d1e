-- What an integration client may do, how fast, and how its secret and
-- tokens end. Clients registered before scopes existed keep what they could
-- do then: read inside their area.
ALTER TABLE clients
    ADD COLUMN scopes text[] NOT NULL
        DEFAULT '{registry:read,activities:read,reports:read,changes:read}'
        CHECK (scopes <@ ARRAY['registry:read', 'activities:read', 'activities:write',
                               'reports:read', 'audit:read', 'changes:read']::text[]
               AND cardinality(scopes) > 0),
    -- Requests per minute (a token bucket that holds as many).
    ADD COLUMN rate_per_minute integer NOT NULL DEFAULT 600
        CHECK (rate_per_minute BETWEEN 1 AND 100000),
    -- After a rotation the previous secret keeps working until then.
    ADD COLUMN previous_secret_hash text,
    ADD COLUMN previous_secret_until timestamptz,
    ADD COLUMN revoked_at timestamptz,
    -- Raised when the client is revoked or its scopes change: tokens of an
    -- older epoch are refused at once (see auth::sessions).
    ADD COLUMN session_epoch bigint NOT NULL DEFAULT 0 CHECK (session_epoch >= 0),
    ADD COLUMN version integer NOT NULL DEFAULT 1;

ALTER TABLE clients ALTER COLUMN scopes DROP DEFAULT;

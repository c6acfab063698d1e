-- Accounts, refresh tokens and the failed-login counts used for throttling.
CREATE TABLE users (
    id uuid PRIMARY KEY,
    username text NOT NULL CHECK (username = lower(username) AND username <> ''),
    password_hash text NOT NULL,
    role text NOT NULL CHECK (role IN ('admin', 'officer', 'team_leader', 'member')),
    area_unit_id uuid REFERENCES units (id),
    display_name text,
    active boolean NOT NULL DEFAULT true,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (role = 'admin' OR area_unit_id IS NOT NULL),
    UNIQUE (username)
);

CREATE INDEX users_area ON users (area_unit_id);

-- Only a SHA-256 of each token is kept. Tokens of one login form a family:
-- presenting a used token revokes the whole family.
CREATE TABLE refresh_tokens (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id),
    family_id uuid NOT NULL,
    token_hash bytea NOT NULL UNIQUE,
    issued_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    revoked_at timestamptz
);

CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE login_failures (
    id bigserial PRIMARY KEY,
    username text NOT NULL,
    address text NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX login_failures_username ON login_failures (username, at);
CREATE INDEX login_failures_address ON login_failures (address, at);

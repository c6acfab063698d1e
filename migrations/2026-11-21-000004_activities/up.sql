-- Activities recorded from the field (training sessions and household
-- assistance visits), reporting-month locks, and the audit trail.
--
-- Activity ids are made by the phone that recorded them, so a record sent
-- twice is stored once; `body_hash` is the hash of the first request, to
-- tell a resend from a different record under the same id.

CREATE TABLE trainings (
    id uuid PRIMARY KEY,
    team_id uuid NOT NULL REFERENCES teams (id),
    village_id uuid NOT NULL REFERENCES units (id),
    area_path text COLLATE "C" NOT NULL,
    place text,
    held_on date NOT NULL,
    duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 1 AND 1440),
    topics text[] NOT NULL,
    trainer_ids uuid[] NOT NULL DEFAULT '{}',
    attendees_total integer NOT NULL CHECK (attendees_total BETWEEN 0 AND 10000),
    attendees_women integer NOT NULL DEFAULT 0,
    attendees_ethnic_minority integer NOT NULL DEFAULT 0,
    attendees_poor integer NOT NULL DEFAULT 0,
    household_ids uuid[] NOT NULL DEFAULT '{}',
    notes text,
    recorded_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    recorded_by uuid NOT NULL REFERENCES users (id),
    status text NOT NULL DEFAULT 'submitted' CHECK (status IN ('submitted', 'verified', 'rejected')),
    status_reason text,
    status_by uuid REFERENCES users (id),
    status_at timestamptz,
    body_hash bytea NOT NULL,
    archived_at timestamptz,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (attendees_women BETWEEN 0 AND attendees_total),
    CHECK (attendees_ethnic_minority BETWEEN 0 AND attendees_total),
    CHECK (attendees_poor BETWEEN 0 AND attendees_total)
);

CREATE INDEX trainings_area ON trainings (area_path, held_on);
CREATE INDEX trainings_team ON trainings (team_id, held_on);
CREATE INDEX trainings_updated ON trainings (updated_at);

CREATE TABLE assistances (
    id uuid PRIMARY KEY,
    household_id uuid NOT NULL REFERENCES households (id),
    team_id uuid NOT NULL REFERENCES teams (id),
    area_path text COLLATE "C" NOT NULL,
    visited_on date NOT NULL,
    member_ids uuid[] NOT NULL DEFAULT '{}',
    kinds text[] NOT NULL,
    -- One entry per kind: {"kind", "outcome": done|partly|not_done, "reason"}.
    outcomes jsonb NOT NULL,
    notes text,
    latitude double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude double precision CHECK (longitude BETWEEN -180 AND 180),
    accuracy_m real CHECK (accuracy_m >= 0),
    recorded_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    recorded_by uuid NOT NULL REFERENCES users (id),
    status text NOT NULL DEFAULT 'submitted' CHECK (status IN ('submitted', 'verified', 'rejected')),
    status_reason text,
    status_by uuid REFERENCES users (id),
    status_at timestamptz,
    body_hash bytea NOT NULL,
    archived_at timestamptz,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((latitude IS NULL) = (longitude IS NULL))
);

CREATE INDEX assistances_area ON assistances (area_path, visited_on);
CREATE INDEX assistances_household ON assistances (household_id, visited_on);
CREATE INDEX assistances_team ON assistances (team_id, visited_on);
CREATE INDEX assistances_updated ON assistances (updated_at);

-- A locked reporting month of a unit: nothing in it or under it dated in
-- that month is created, changed or archived.
CREATE TABLE period_locks (
    unit_id uuid NOT NULL REFERENCES units (id),
    month date NOT NULL CHECK (extract(day FROM month) = 1),
    area_path text COLLATE "C" NOT NULL,
    reason text,
    locked_by uuid NOT NULL REFERENCES users (id),
    locked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (unit_id, month)
);

CREATE INDEX period_locks_month ON period_locks (month, area_path);

-- The audit trail. Writers insert events with the hash of their content;
-- a single linker then chains them in commit order (seq, prev_hash,
-- chain_hash), so no writer waits on another for the chain.
CREATE TABLE audit_events (
    id bigserial PRIMARY KEY,
    event_id uuid NOT NULL UNIQUE,
    at timestamptz NOT NULL,
    actor_kind text NOT NULL CHECK (actor_kind IN ('user', 'client', 'system', 'anonymous')),
    actor_id uuid,
    actor_name text,
    action text NOT NULL,
    entity text NOT NULL,
    entity_id text,
    unit_id uuid,
    area_path text COLLATE "C",
    before jsonb,
    after jsonb,
    request_id uuid,
    address text,
    content_hash bytea NOT NULL,
    seq bigint UNIQUE,
    prev_hash bytea,
    chain_hash bytea
);

CREATE INDEX audit_events_unlinked ON audit_events (id) WHERE seq IS NULL;
CREATE INDEX audit_events_area ON audit_events (area_path, id);
CREATE INDEX audit_events_entity ON audit_events (entity, entity_id);
CREATE INDEX audit_events_actor ON audit_events (actor_id, id);
CREATE INDEX audit_events_at ON audit_events (at);

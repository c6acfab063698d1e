-- Webhooks: an integration client registers HTTPS URLs that are sent the
-- changes of its area, as the change feed lists them. Every change appends
-- an audit event in its own transaction; a trigger on audit_events writes
-- one delivery per matching webhook in that same transaction (an outbox),
-- and a background sender delivers them.
CREATE TABLE webhooks (
    id uuid PRIMARY KEY,
    client_id uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    url text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    -- The record types wanted: the change feed's entity names.
    entities text[] NOT NULL CHECK (cardinality(entities) > 0),
    active boolean NOT NULL DEFAULT true,
    -- The signing secret, sealed with ChaCha20-Poly1305 under a key kept in
    -- the key folder (not in the database): base64 of nonce and ciphertext.
    secret text NOT NULL,
    -- The secret before the last rotation, also signing until the time set.
    previous_secret text,
    previous_secret_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version integer NOT NULL DEFAULT 1
);
CREATE INDEX webhooks_client ON webhooks (client_id, created_at);

CREATE TABLE webhook_deliveries (
    -- Sent as the `webhook-id` header: the same on every attempt.
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    webhook_id uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id bigint NOT NULL REFERENCES audit_events (id),
    entity text NOT NULL,
    entity_id text NOT NULL,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- Retries stop this long (a setting) after this moment: the change,
    -- or the last redelivery asked for.
    retry_from timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    last_status integer,
    last_error text,
    delivered_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (webhook_id, event_id)
);
-- What is due, and a record's earlier deliveries still waiting (the order
-- per record), among the pending ones only.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_record ON webhook_deliveries (webhook_id, entity, entity_id)
    WHERE status = 'pending';

-- Which instance sends, for how long: a lease renewed on every pass, so
-- one instance sends at a time and another takes over when it stops.
CREATE TABLE webhook_sender (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    holder uuid NOT NULL,
    until timestamptz NOT NULL
);

-- One delivery per webhook that wants the event: a change (the actions of
-- the change feed) to a record of a type it wants, inside its client's
-- area, for an active client with changes:read. Statement-level, so a batch
-- of events is one insert; and while no webhook is active it ends after one
-- probe of a table of a few rows.
CREATE FUNCTION webhook_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM webhooks WHERE active LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    INSERT INTO webhook_deliveries (webhook_id, event_id, entity, entity_id)
    SELECT w.id, n.id, n.entity, coalesce(n.entity_id, '')
    FROM new_events AS n
    JOIN webhooks AS w ON w.active AND n.entity = ANY (w.entities)
    JOIN clients AS c ON c.id = w.client_id AND c.active AND 'changes:read' = ANY (c.scopes)
    JOIN units AS u ON u.id = c.area_unit_id
    WHERE n.action IN ('create', 'update', 'archive', 'move_out', 'move_in', 'consent',
                       'erase', 'import', 'verify', 'reject', 'reopen', 'lock', 'unlock')
      AND n.area_path >= u.path
      AND n.area_path < left(u.path, -1) || '0'
    ORDER BY n.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER audit_events_webhooks AFTER INSERT ON audit_events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION webhook_outbox();

-- Integration clients: provincial portals and other systems that read the
-- records of their area over the API with their own credentials
-- (client-credentials tokens). Only a hash of each secret is kept.
CREATE TABLE clients (
    id uuid PRIMARY KEY,
    client_id text NOT NULL UNIQUE CHECK (client_id ~ '^[a-z0-9._-]{3,64}$'),
    secret_hash text NOT NULL,
    name text NOT NULL CHECK (name <> ''),
    area_unit_id uuid REFERENCES units (id),
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Catalogue entries carry a version, like every other record a client
-- edits, so that of two edits based on the same version only one wins.
ALTER TABLE catalog_entries ADD COLUMN version integer NOT NULL DEFAULT 1;

-- A household created through sync keeps the hash of the item that made
-- it, so that a resend of that item is recognised whatever was changed
-- since. Households created otherwise have none.
ALTER TABLE households ADD COLUMN body_hash bytea;

ALTER TABLE households DROP COLUMN body_hash;
ALTER TABLE catalog_entries DROP COLUMN version;

-- Events are sealed: `sealed` is the exact text whose SHA-256 is the
-- content hash (the event's columns, with every leaf of `before` and
-- `after` replaced by a salted commitment), `openings` each leaf's salt and
-- exact text. Older events have neither and are checked the first way
-- (see `banso audit rehash`).
ALTER TABLE audit_events ADD COLUMN sealed text;
ALTER TABLE audit_events ADD COLUMN openings text;
CREATE INDEX audit_events_erase ON audit_events (action) WHERE action IN ('erase', 'hashing_changed');

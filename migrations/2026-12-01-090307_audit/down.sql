DROP INDEX audit_events_erase;
ALTER TABLE audit_events DROP COLUMN openings;
ALTER TABLE audit_events DROP COLUMN sealed;

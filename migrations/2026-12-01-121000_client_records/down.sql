-- Fails while records made by a client exist: archive or reassign them first.
DROP TRIGGER assistances_recorder ON assistances;
DROP TRIGGER trainings_recorder ON trainings;
DROP FUNCTION recorder_exists();
ALTER TABLE assistances ADD CONSTRAINT assistances_recorded_by_fkey
    FOREIGN KEY (recorded_by) REFERENCES users (id);
ALTER TABLE trainings ADD CONSTRAINT trainings_recorded_by_fkey
    FOREIGN KEY (recorded_by) REFERENCES users (id);

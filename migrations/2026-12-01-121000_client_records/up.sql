-- An integration client with the activities:write scope records sessions
-- and visits as a team would, so a recorder is an account or a client. The
-- foreign keys to users give way to a trigger that accepts either.
ALTER TABLE trainings DROP CONSTRAINT trainings_recorded_by_fkey;
ALTER TABLE assistances DROP CONSTRAINT assistances_recorded_by_fkey;

CREATE FUNCTION recorder_exists() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM users WHERE id = NEW.recorded_by)
       AND NOT EXISTS (SELECT 1 FROM clients WHERE id = NEW.recorded_by) THEN
        RAISE EXCEPTION 'recorded_by % is neither an account nor a client', NEW.recorded_by
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER trainings_recorder BEFORE INSERT OR UPDATE OF recorded_by ON trainings
    FOR EACH ROW EXECUTE FUNCTION recorder_exists();
CREATE TRIGGER assistances_recorder BEFORE INSERT OR UPDATE OF recorded_by ON assistances
    FOR EACH ROW EXECUTE FUNCTION recorder_exists();

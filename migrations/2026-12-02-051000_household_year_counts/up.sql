-- The households visited per village and calendar year, counted: one row
-- per village, year, kind of help and the household's flags (`poor`,
-- `lacking`, and `verified`: visited by a verified visit that year), with
-- how many rows of `report_household_years` hold them. A summary over a
-- whole calendar year counts a province's households visited from a few
-- dozen rows per village instead of a row per household and kind. Rows of
-- households visited in more than one village that year (`shared`) are
-- left out: the summary counts them distinct, from their own rows.
-- Kept by statement-level triggers on `report_household_years`, so in the
-- same transaction as the visits that change it.
CREATE TABLE report_household_year_counts (
    village_id uuid NOT NULL,
    year integer NOT NULL,
    kind text NOT NULL,
    poor boolean NOT NULL,
    lacking boolean NOT NULL,
    verified boolean NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (village_id, year, kind, poor, lacking, verified)
);

-- The statement that applies the rows of `src` (rows of
-- `report_household_years` with a `sign` of 1 or -1) to the counts.
CREATE FUNCTION report_household_year_counts_sql(src text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $fn$
SELECT format($q$
        WITH d AS (%s)
        INSERT INTO report_household_year_counts AS t
            (village_id, year, kind, poor, lacking, verified, n)
        SELECT d.village_id, d.year, d.kind, d.poor, d.lacking, d.months_verified <> 0,
               sum(d.sign)
        FROM d WHERE NOT d.shared
        GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(d.sign) <> 0
        ORDER BY 1, 2, 3, 4, 5, 6
        ON CONFLICT (village_id, year, kind, poor, lacking, verified)
            DO UPDATE SET n = t.n + EXCLUDED.n
    $q$, src)
$fn$;

CREATE FUNCTION report_household_year_counts_changed() RETURNS trigger
    LANGUAGE plpgsql AS $fn$
BEGIN
    EXECUTE report_household_year_counts_sql(report_rows(TG_OP));
    RETURN NULL;
END $fn$;

CREATE TRIGGER report_household_year_counts_inserted AFTER INSERT ON report_household_years
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_household_year_counts_changed();
CREATE TRIGGER report_household_year_counts_updated AFTER UPDATE ON report_household_years
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_household_year_counts_changed();
CREATE TRIGGER report_household_year_counts_deleted AFTER DELETE ON report_household_years
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_household_year_counts_changed();

-- The yearly rows are rebuilt by inserting them again, which fills the
-- counts through the triggers.
CREATE OR REPLACE FUNCTION report_backfill() RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    q text;
BEGIN
    LOCK TABLE assistances, households IN SHARE MODE;
    TRUNCATE report_visit_months, report_household_months, report_household_counts,
        report_household_years, report_visit_years, report_household_year_counts;
    FOREACH q IN ARRAY report_visits_sql('SELECT r.*, 1 AS sign FROM assistances r') LOOP
        EXECUTE q;
    END LOOP;
    EXECUTE report_visit_years_sql('SELECT r.*, 1 AS sign FROM assistances r');
    EXECUTE report_households_sql('SELECT r.*, 1 AS sign FROM households r');
    FOREACH q IN ARRAY report_years_sql(
        'SELECT DISTINCT village_id, extract(year FROM month)::integer AS year, kind, household_id
         FROM report_household_months') LOOP
        EXECUTE q;
    END LOOP;
END $fn$;

-- The counts of the yearly rows already stored.
DO $$ BEGIN
    EXECUTE report_household_year_counts_sql('SELECT r.*, 1 AS sign FROM report_household_years r');
END $$;

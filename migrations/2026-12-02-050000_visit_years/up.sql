-- Visits per village, calendar year and status, as `report_visit_months`
-- holds them per month (`kind` and `outcome` '' for the visits themselves,
-- else one row per kind of help and outcome). A summary over whole
-- calendar years (the year an officer reports) reads a twelfth of the rows
-- it would read month by month. Kept by statement-level triggers of their
-- own, in the same transaction as every write of the visits.
CREATE TABLE report_visit_years (
    village_id uuid NOT NULL,
    -- The first day of the year, so that the summary's ranges of whole
    -- months select whole years with the same comparisons.
    year date NOT NULL,
    status text NOT NULL,
    kind text NOT NULL,
    outcome text NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (village_id, year, status, kind, outcome)
);

-- The statement that applies the visits of `src` (rows of `assistances`
-- with a `sign` of 1 or -1) to the yearly rows.
CREATE FUNCTION report_visit_years_sql(src text) RETURNS text LANGUAGE sql IMMUTABLE AS $fn$
SELECT format($q$
        WITH d AS (%s),
        e AS (
            SELECT report_village_of(d.area_path) AS village_id,
                   date_trunc('year', d.visited_on)::date AS year,
                   d.status, ''::text AS kind, ''::text AS outcome, d.sign
            FROM d WHERE d.archived_at IS NULL AND d.status IN ('submitted', 'verified')
          UNION ALL
            SELECT report_village_of(d.area_path), date_trunc('year', d.visited_on)::date,
                   d.status, o.kind,
                   CASE WHEN o.outcome IN ('done', 'partly') THEN o.outcome ELSE 'not_done' END,
                   d.sign
            FROM d CROSS JOIN LATERAL jsonb_to_recordset(d.outcomes) AS o(kind text, outcome text)
            WHERE d.archived_at IS NULL AND d.status IN ('submitted', 'verified')
              AND o.kind IS NOT NULL
        )
        INSERT INTO report_visit_years AS t (village_id, year, status, kind, outcome, n)
        SELECT village_id, year, status, kind, outcome, sum(sign)
        FROM e GROUP BY village_id, year, status, kind, outcome HAVING sum(sign) <> 0
        ORDER BY village_id, year, status, kind, outcome
        ON CONFLICT (village_id, year, status, kind, outcome) DO UPDATE SET n = t.n + EXCLUDED.n
    $q$, src)
$fn$;

CREATE FUNCTION report_visit_years_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    EXECUTE report_visit_years_sql(report_rows(TG_OP));
    RETURN NULL;
END $fn$;

CREATE TRIGGER report_visit_years_inserted AFTER INSERT ON assistances
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_visit_years_changed();
CREATE TRIGGER report_visit_years_updated AFTER UPDATE ON assistances
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_visit_years_changed();
CREATE TRIGGER report_visit_years_deleted AFTER DELETE ON assistances
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_visit_years_changed();

CREATE OR REPLACE FUNCTION report_backfill() RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    q text;
BEGIN
    LOCK TABLE assistances, households IN SHARE MODE;
    TRUNCATE report_visit_months, report_household_months, report_household_counts,
        report_household_years, report_visit_years;
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

-- The years of the visits already stored.
DO $$ BEGIN
    EXECUTE report_visit_years_sql('SELECT r.*, 1 AS sign FROM assistances r');
END $$;

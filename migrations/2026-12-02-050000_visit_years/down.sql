-- report_backfill as the _household_years migration made it.
CREATE OR REPLACE FUNCTION report_backfill() RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    q text;
BEGIN
    LOCK TABLE assistances, households IN SHARE MODE;
    TRUNCATE report_visit_months, report_household_months, report_household_counts,
        report_household_years;
    FOREACH q IN ARRAY report_visits_sql('SELECT r.*, 1 AS sign FROM assistances r') LOOP
        EXECUTE q;
    END LOOP;
    EXECUTE report_households_sql('SELECT r.*, 1 AS sign FROM households r');
    FOREACH q IN ARRAY report_years_sql(
        'SELECT DISTINCT village_id, extract(year FROM month)::integer AS year, kind, household_id
         FROM report_household_months') LOOP
        EXECUTE q;
    END LOOP;
END $fn$;

DROP TRIGGER report_visit_years_deleted ON assistances;
DROP TRIGGER report_visit_years_updated ON assistances;
DROP TRIGGER report_visit_years_inserted ON assistances;
DROP FUNCTION report_visit_years_changed();
DROP FUNCTION report_visit_years_sql(text);
DROP TABLE report_visit_years;

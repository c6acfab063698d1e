-- The functions as the _scale migration made them.
CREATE OR REPLACE FUNCTION report_visits_sql(src text) RETURNS text[] LANGUAGE sql IMMUTABLE AS $fn$
SELECT ARRAY[
    format($q$
        WITH d AS (%s),
        e AS (
            SELECT report_village_of(d.area_path) AS village_id,
                   date_trunc('month', d.visited_on)::date AS month,
                   d.status, ''::text AS kind, ''::text AS outcome, d.sign
            FROM d WHERE d.archived_at IS NULL AND d.status IN ('submitted', 'verified')
          UNION ALL
            SELECT report_village_of(d.area_path), date_trunc('month', d.visited_on)::date,
                   d.status, o.kind,
                   CASE WHEN o.outcome IN ('done', 'partly') THEN o.outcome ELSE 'not_done' END,
                   d.sign
            FROM d CROSS JOIN LATERAL jsonb_to_recordset(d.outcomes) AS o(kind text, outcome text)
            WHERE d.archived_at IS NULL AND d.status IN ('submitted', 'verified')
              AND o.kind IS NOT NULL
        )
        INSERT INTO report_visit_months AS t (village_id, month, status, kind, outcome, n)
        SELECT village_id, month, status, kind, outcome, sum(sign)
        FROM e GROUP BY village_id, month, status, kind, outcome HAVING sum(sign) <> 0
        ORDER BY village_id, month, status, kind, outcome
        ON CONFLICT (village_id, month, status, kind, outcome) DO UPDATE SET n = t.n + EXCLUDED.n
    $q$, src),
    format($q$
        WITH d AS (%s),
        e AS (
            SELECT report_village_of(d.area_path) AS village_id,
                   date_trunc('month', d.visited_on)::date AS month,
                   d.status, ''::text AS kind, d.household_id, d.sign
            FROM d WHERE d.archived_at IS NULL AND d.status IN ('submitted', 'verified')
          UNION ALL
            SELECT report_village_of(d.area_path), date_trunc('month', d.visited_on)::date,
                   d.status, o.kind, d.household_id, d.sign
            FROM d CROSS JOIN LATERAL jsonb_to_recordset(d.outcomes) AS o(kind text)
            WHERE d.archived_at IS NULL AND d.status IN ('submitted', 'verified')
              AND o.kind IS NOT NULL
        ),
        g AS (
            SELECT village_id, month, status, kind, household_id, sum(sign)::integer AS n
            FROM e GROUP BY village_id, month, status, kind, household_id HAVING sum(sign) <> 0
        )
        INSERT INTO report_household_months AS t
            (village_id, month, status, kind, household_id, n, poor, lacking)
        SELECT g.village_id, g.month, g.status, g.kind, g.household_id, g.n,
               h.poverty_status <> 'not_poor', report_lacking(h.poverty_status, h.deprivations)
        FROM g JOIN households h ON h.id = g.household_id
        ORDER BY g.village_id, g.month, g.status, g.kind, g.household_id
        ON CONFLICT (village_id, month, status, kind, household_id)
            DO UPDATE SET n = t.n + EXCLUDED.n, poor = EXCLUDED.poor, lacking = EXCLUDED.lacking
    $q$, src),
    'DELETE FROM report_household_months WHERE n = 0'
]
$fn$;

CREATE OR REPLACE FUNCTION report_households_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    EXECUTE report_households_sql(report_rows(TG_OP));
    IF TG_OP = 'UPDATE' THEN
        UPDATE report_household_months t
        SET poor = n.poverty_status <> 'not_poor',
            lacking = report_lacking(n.poverty_status, n.deprivations)
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE t.household_id = n.id
          AND (n.poverty_status, n.deprivations) IS DISTINCT FROM (o.poverty_status, o.deprivations);
    END IF;
    RETURN NULL;
END $fn$;

CREATE OR REPLACE FUNCTION report_backfill() RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    q text;
BEGIN
    LOCK TABLE assistances, households IN SHARE MODE;
    TRUNCATE report_visit_months, report_household_months, report_household_counts;
    FOREACH q IN ARRAY report_visits_sql('SELECT r.*, 1 AS sign FROM assistances r') LOOP
        EXECUTE q;
    END LOOP;
    EXECUTE report_households_sql('SELECT r.*, 1 AS sign FROM households r');
END $fn$;

DROP FUNCTION report_years_sql(text);
DROP TABLE report_household_years;

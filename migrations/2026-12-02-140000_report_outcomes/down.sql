-- The triggers' statements as they were, with jsonb_to_recordset.
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
] || report_years_sql(format($k$
        WITH d AS (%s)
        SELECT report_village_of(d.area_path) AS village_id,
               extract(year FROM d.visited_on)::integer AS year, ''::text AS kind, d.household_id
        FROM d
      UNION
        SELECT report_village_of(d.area_path), extract(year FROM d.visited_on)::integer, o.kind,
               d.household_id
        FROM d CROSS JOIN LATERAL jsonb_to_recordset(d.outcomes) AS o(kind text)
        WHERE o.kind IS NOT NULL
    $k$, src))
$fn$;

CREATE OR REPLACE FUNCTION report_visit_years_sql(src text) RETURNS text LANGUAGE sql IMMUTABLE AS $fn$
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

DROP FUNCTION report_outcomes(jsonb);

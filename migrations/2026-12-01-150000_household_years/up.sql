-- The households visited per village, year and kind of help, one row
-- each, with the months of the year they were visited as bit masks (bit 0
-- for January): one mask for visits submitted or verified, one for visits
-- verified. A summary over whole months of one year counts a household
-- once by testing its mask, without a distinct count over its months: a
-- province's year reads a row per household visited, not one per month.
--
-- A household visited in two villages in one year (it moved) has a row in
-- each, marked `shared`; summaries count the shared rows with a distinct
-- count, so a commune holding both villages counts it once.
CREATE TABLE report_household_years (
    village_id uuid NOT NULL,
    year integer NOT NULL,
    kind text NOT NULL,
    household_id uuid NOT NULL,
    months_all integer NOT NULL,
    months_verified integer NOT NULL,
    poor boolean NOT NULL,
    lacking boolean NOT NULL,
    shared boolean NOT NULL DEFAULT false,
    PRIMARY KEY (village_id, year, kind, household_id)
);
CREATE INDEX report_household_years_household
    ON report_household_years (household_id, year, kind);
CREATE INDEX report_household_years_shared
    ON report_household_years (year, kind) WHERE shared;

-- The statements that bring the rows of the `(village_id, year, kind,
-- household_id)` keys that `keys` selects in line with
-- `report_household_months`, then mark which households are shared.
CREATE FUNCTION report_years_sql(keys text) RETURNS text[] LANGUAGE sql IMMUTABLE AS $fn$
SELECT ARRAY[
    format($q$
        WITH k AS (%1$s),
        m AS (
            SELECT k.village_id, k.year, k.kind, k.household_id,
                   coalesce(bit_or(1 << (extract(month FROM t.month)::integer - 1)), 0) AS months_all,
                   coalesce(bit_or(1 << (extract(month FROM t.month)::integer - 1))
                       FILTER (WHERE t.status = 'verified'), 0) AS months_verified,
                   coalesce(bool_or(t.poor), false) AS poor,
                   coalesce(bool_or(t.lacking), false) AS lacking
            FROM k LEFT JOIN report_household_months t
              ON t.village_id = k.village_id AND t.kind = k.kind
             AND t.household_id = k.household_id AND t.n > 0
             AND t.month >= make_date(k.year, 1, 1) AND t.month < make_date(k.year + 1, 1, 1)
            GROUP BY 1, 2, 3, 4
        ),
        gone AS (
            DELETE FROM report_household_years y USING m
            WHERE m.months_all = 0 AND y.village_id = m.village_id AND y.year = m.year
              AND y.kind = m.kind AND y.household_id = m.household_id
        )
        INSERT INTO report_household_years AS y
            (village_id, year, kind, household_id, months_all, months_verified, poor, lacking)
        SELECT village_id, year, kind, household_id, months_all, months_verified, poor, lacking
        FROM m WHERE months_all <> 0
        ORDER BY village_id, year, kind, household_id
        ON CONFLICT (village_id, year, kind, household_id) DO UPDATE
            SET months_all = EXCLUDED.months_all, months_verified = EXCLUDED.months_verified,
                poor = EXCLUDED.poor, lacking = EXCLUDED.lacking
    $q$, keys),
    format($q$
        WITH k AS (SELECT DISTINCT household_id, year, kind FROM (%1$s) k),
        c AS (
            SELECT y.household_id, y.year, y.kind, count(*) > 1 AS shared
            FROM k JOIN report_household_years y
              ON y.household_id = k.household_id AND y.year = k.year AND y.kind = k.kind
            GROUP BY 1, 2, 3
        )
        UPDATE report_household_years y SET shared = c.shared
        FROM c
        WHERE y.household_id = c.household_id AND y.year = c.year AND y.kind = c.kind
          AND y.shared <> c.shared
    $q$, keys)
]
$fn$;

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
        UPDATE report_household_years t
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

-- The years of the visits already stored.
DO $$
DECLARE
    q text;
BEGIN
    FOREACH q IN ARRAY report_years_sql(
        'SELECT DISTINCT village_id, extract(year FROM month)::integer AS year, kind, household_id
         FROM report_household_months') LOOP
        EXECUTE q;
    END LOOP;
END $$;

-- Running totals for the summary report, kept in the same transaction as
-- every write of the records they count, so the summary stays exact and
-- live while it reads a few rows per village and month instead of every
-- visit.
--
-- Statement-level triggers read the rows a statement wrote (its transition
-- tables), add them up per key and apply the differences in key order, so a
-- batch of a thousand visits is one upsert and two writers never take the
-- same total rows in opposite orders.
--
-- Only records that count are added: submitted or verified, not archived.
-- The village of a record is the last segment of its `area_path`, so a
-- village that moves to another commune keeps its totals.

CREATE FUNCTION report_village_of(path text) RETURNS uuid
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT right(rtrim(path, '/'), 32)::uuid $$;

-- Poor or near-poor and lacking information access: the information
-- deprivations of the 2022-2025 poverty standard.
CREATE FUNCTION report_lacking(poverty_status text, deprivations text[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT poverty_status <> 'not_poor'
                 AND deprivations && ARRAY['information_access', 'telecom_services'] $$;

-- The rows a statement wrote, as a trigger's own statements see them: the
-- new ones with a sign of 1, the old ones with -1.
CREATE FUNCTION report_rows(op text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE op
        WHEN 'INSERT' THEN 'SELECT r.*, 1 AS sign FROM new_rows r'
        WHEN 'DELETE' THEN 'SELECT r.*, -1 AS sign FROM old_rows r'
        ELSE 'SELECT r.*, 1 AS sign FROM new_rows r UNION ALL SELECT r.*, -1 FROM old_rows r'
    END $$;

-- Visits per village, month and status: `kind` and `outcome` are '' for the
-- visits themselves, else one row per kind of help and outcome.
CREATE TABLE report_visit_months (
    village_id uuid NOT NULL,
    month date NOT NULL,
    status text NOT NULL,
    kind text NOT NULL,
    outcome text NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (village_id, month, status, kind, outcome)
);

-- The households visited per village, month and status (`kind` '' for any
-- visit, else the kind of help), with how many visits put them there and
-- the household's poverty flags as they are now: the distinct counts come
-- from here rather than from every visit.
CREATE TABLE report_household_months (
    village_id uuid NOT NULL,
    month date NOT NULL,
    status text NOT NULL,
    kind text NOT NULL,
    household_id uuid NOT NULL,
    n integer NOT NULL,
    poor boolean NOT NULL,
    lacking boolean NOT NULL,
    PRIMARY KEY (village_id, month, status, kind, household_id)
);
CREATE INDEX report_household_months_household ON report_household_months (household_id);
CREATE INDEX report_household_months_empty ON report_household_months (village_id) WHERE n = 0;

-- Households registered (not archived) per village and the figures of the
-- summary.
CREATE TABLE report_household_counts (
    village_id uuid NOT NULL,
    poverty_status text NOT NULL,
    has_smartphone text NOT NULL,
    has_internet text NOT NULL,
    lacking boolean NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (village_id, poverty_status, has_smartphone, has_internet, lacking)
);

-- The statements that apply the visits of `src` (rows of `assistances`
-- with a `sign` of 1 or -1) to both visit tables. The trigger runs them
-- itself, as only its own statements see the transition tables.
CREATE FUNCTION report_visits_sql(src text) RETURNS text[] LANGUAGE sql IMMUTABLE AS $fn$
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

CREATE FUNCTION report_assistances_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    q text;
BEGIN
    FOREACH q IN ARRAY report_visits_sql(report_rows(TG_OP)) LOOP
        EXECUTE q;
    END LOOP;
    RETURN NULL;
END $fn$;

CREATE TRIGGER report_assistances_inserted AFTER INSERT ON assistances
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_assistances_changed();
CREATE TRIGGER report_assistances_updated AFTER UPDATE ON assistances
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_assistances_changed();
CREATE TRIGGER report_assistances_deleted AFTER DELETE ON assistances
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_assistances_changed();

-- The statement that applies the households of `src` (rows of `households`
-- with a `sign`) to the registered counts.
CREATE FUNCTION report_households_sql(src text) RETURNS text LANGUAGE sql IMMUTABLE AS $fn$
SELECT format($q$
        WITH d AS (%s)
        INSERT INTO report_household_counts AS t
            (village_id, poverty_status, has_smartphone, has_internet, lacking, n)
        SELECT report_village_of(d.area_path), d.poverty_status, d.has_smartphone,
               d.has_internet, report_lacking(d.poverty_status, d.deprivations), sum(d.sign)
        FROM d WHERE d.archived_at IS NULL
        GROUP BY 1, 2, 3, 4, 5 HAVING sum(d.sign) <> 0
        ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (village_id, poverty_status, has_smartphone, has_internet, lacking)
            DO UPDATE SET n = t.n + EXCLUDED.n
    $q$, src)
$fn$;

-- A household's poverty flags also change on the households it is counted
-- as visited.
CREATE FUNCTION report_households_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
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

CREATE TRIGGER report_households_inserted AFTER INSERT ON households
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_households_changed();
CREATE TRIGGER report_households_updated AFTER UPDATE ON households
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_households_changed();
CREATE TRIGGER report_households_deleted AFTER DELETE ON households
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_households_changed();

-- Rebuilds every total from the records: run once here for the records
-- made before these tables, and by hand should a total ever be doubted.
CREATE FUNCTION report_backfill() RETURNS void LANGUAGE plpgsql AS $fn$
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

SELECT report_backfill();

-- The partial months at the ends of a period are counted from the visits.
CREATE INDEX assistances_visited ON assistances (visited_on);

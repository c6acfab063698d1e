-- The commune a village belonged to in each period of the unit lists.
--
-- A village outlives the reform of its commune: when communes merge its
-- village follows to the new commune, and when a commune is split an
-- officer assigns each village to its new commune. The village's own row
-- in `units` (and the `area_path` of its records) holds where it is now;
-- this table keeps where it was in every period, so a report for a unit of
-- any period finds the villages it held, and none twice: a village has at
-- most one commune per period, and every commune belongs to one period.
CREATE TABLE village_communes (
    village_id uuid NOT NULL REFERENCES units (id),
    commune_id uuid NOT NULL REFERENCES units (id),
    -- The village's path in that period: its commune's path and its own id.
    path text COLLATE "C" NOT NULL,
    -- The officer who assigned the village to a commune of a split; NULL
    -- when it was created there or followed its commune whole.
    assigned_by uuid REFERENCES users (id),
    assigned_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (village_id, commune_id)
);

-- "The villages a unit held" is one range scan on this index.
CREATE INDEX village_communes_path ON village_communes (path, village_id);
CREATE INDEX village_communes_commune ON village_communes (commune_id);

INSERT INTO village_communes (village_id, commune_id, path)
SELECT id, parent_id, path FROM units WHERE level = 'village' AND parent_id IS NOT NULL;

-- Villages waiting for their new commune are found from the old commune.
CREATE INDEX units_village_parent ON units (parent_id) WHERE level = 'village';

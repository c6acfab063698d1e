-- Administrative units of every period, and the official old-to-new lineage.
-- A unit is identified by its level, code and the first day of its period;
-- villages have no national code and get one generated under their commune.
CREATE TABLE units (
    id uuid PRIMARY KEY,
    level text NOT NULL CHECK (level IN ('province', 'district', 'commune', 'village')),
    code text NOT NULL CHECK (code <> ''),
    name text NOT NULL CHECK (name <> ''),
    short_name text NOT NULL,
    unit_type text NOT NULL,
    parent_id uuid REFERENCES units (id),
    province_code text NOT NULL,
    valid_from date NOT NULL,
    -- Last day in force, inclusive; NULL while the unit is current.
    valid_to date,
    -- Ancestors' ids and its own, as 32 hex digits each, each followed by '/':
    -- "everything under this unit" is one range scan on this column.
    path text COLLATE "C" NOT NULL,
    -- Lower-case name without diacritics, plus the code, for `q` searches.
    search_text text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (valid_to IS NULL OR valid_to >= valid_from),
    CHECK ((level = 'province') = (parent_id IS NULL)),
    UNIQUE (level, code, valid_from)
);

CREATE INDEX units_parent_code ON units (parent_id, code);
CREATE INDEX units_path ON units (path);
CREATE INDEX units_level_code ON units (level, code);

CREATE TABLE unit_lineage (
    old_unit_id uuid NOT NULL REFERENCES units (id),
    new_unit_id uuid NOT NULL REFERENCES units (id),
    relation text NOT NULL CHECK (relation IN ('whole', 'partial', 'unchanged', 'renamed', 'type_changed')),
    note text,
    PRIMARY KEY (old_unit_id, new_unit_id)
);

CREATE INDEX unit_lineage_new ON unit_lineage (new_unit_id);

-- Small key-value facts about this database (demo data loaded, ...).
CREATE TABLE app_meta (
    key text PRIMARY KEY,
    value text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

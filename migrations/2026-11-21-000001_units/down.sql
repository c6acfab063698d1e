DROP TABLE app_meta;
DROP TABLE unit_lineage;
DROP TABLE units;

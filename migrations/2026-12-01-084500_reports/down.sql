DROP INDEX units_village_parent;
DROP TABLE village_communes;

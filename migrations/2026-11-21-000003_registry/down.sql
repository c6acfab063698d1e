DROP INDEX users_member;
ALTER TABLE users DROP COLUMN member_id;
DROP TABLE catalog_entries;
DROP TABLE household_consents;
DROP TABLE households;
DROP TABLE members;
DROP TABLE teams;

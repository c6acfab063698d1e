CREATE INDEX teams_updated ON teams (updated_at);
DROP INDEX teams_updated_id;
DROP INDEX teams_created;

CREATE INDEX members_updated ON members (updated_at);
DROP INDEX members_updated_id;
DROP INDEX members_created;
DROP INDEX members_joined;

CREATE INDEX households_updated ON households (updated_at);
DROP INDEX households_updated_id;
DROP INDEX households_created;

CREATE INDEX trainings_updated ON trainings (updated_at);
DROP INDEX trainings_updated_id;
DROP INDEX trainings_created;
DROP INDEX trainings_held;

CREATE INDEX assistances_updated ON assistances (updated_at);
DROP INDEX assistances_updated_id;
DROP INDEX assistances_created;
DROP INDEX assistances_visited;
CREATE INDEX assistances_visited ON assistances (visited_on);

-- Lists sorted by a date or an instant page with the row comparison
-- (key, id) > (last key, last id): each order has an index that serves it
-- in either direction. (updated_at, id) replaces the index on updated_at
-- alone, which updated_since used and which it serves as well.
-- (visited_on, id) also serves what the reports' index on visited_on alone
-- did, so it takes that one's place.
DROP INDEX assistances_visited;
CREATE INDEX assistances_visited ON assistances (visited_on, id);
CREATE INDEX assistances_created ON assistances (created_at, id);
CREATE INDEX assistances_updated_id ON assistances (updated_at, id);
DROP INDEX assistances_updated;

CREATE INDEX trainings_held ON trainings (held_on, id);
CREATE INDEX trainings_created ON trainings (created_at, id);
CREATE INDEX trainings_updated_id ON trainings (updated_at, id);
DROP INDEX trainings_updated;

CREATE INDEX households_created ON households (created_at, id);
CREATE INDEX households_updated_id ON households (updated_at, id);
DROP INDEX households_updated;

CREATE INDEX members_joined ON members (joined_on, id);
CREATE INDEX members_created ON members (created_at, id);
CREATE INDEX members_updated_id ON members (updated_at, id);
DROP INDEX members_updated;

CREATE INDEX teams_created ON teams (created_at, id);
CREATE INDEX teams_updated_id ON teams (updated_at, id);
DROP INDEX teams_updated;

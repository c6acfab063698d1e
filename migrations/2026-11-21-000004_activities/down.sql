DROP TABLE audit_events;
DROP TABLE period_locks;
DROP TABLE assistances;
DROP TABLE trainings;

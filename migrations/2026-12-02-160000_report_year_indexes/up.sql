-- A summary over a whole calendar year reads one year of every village of
-- the unit from the yearly totals. Their keys lead with the village, so
-- that read was a scan of the whole table (every year, both statuses);
-- these indexes hold the year's rows together, with every column the
-- summary reads, so it is one range of an index read without the table
-- (once vacuumed). At the province's full size the visits' query went
-- from 48 ms to 27.5 ms in psql (docs/benchmarks.md).
CREATE INDEX report_visit_years_year
    ON report_visit_years (year, status, village_id) INCLUDE (kind, outcome, n);
CREATE INDEX report_household_year_counts_year
    ON report_household_year_counts (year, village_id) INCLUDE (kind, poor, lacking, verified, n);

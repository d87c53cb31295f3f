-- "Ignore for 60 minutes": an issue ignored until a time (unix ms) comes back unresolved when
-- the time is up (substatus archived_until_condition_met meanwhile). NULL: not timed.
ALTER TABLE issues ADD COLUMN ignored_until INTEGER;
CREATE INDEX issues_ignored_until ON issues(ignored_until) WHERE ignored_until IS NOT NULL;

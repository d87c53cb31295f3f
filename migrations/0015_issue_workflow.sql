-- "Ignore for 60 minutes": an issue ignored until a time (unix ms) comes back unresolved when
-- the time is up (substatus archived_until_condition_met meanwhile). NULL: not timed.
ALTER TABLE issues ADD COLUMN ignored_until INTEGER;
CREATE INDEX issues_ignored_until ON issues(ignored_until) WHERE ignored_until IS NOT NULL;

-- Who an issue is assigned to (NULL: nobody).
ALTER TABLE issues ADD COLUMN assignee_id INTEGER REFERENCES users(id) ON DELETE SET NULL;
CREATE INDEX issues_assignee ON issues(assignee_id) WHERE assignee_id IS NOT NULL;

-- The user a token acts for (`/api/0/auth/`, `assigned:me`); NULL for tokens made without one.
ALTER TABLE api_tokens ADD COLUMN user_id INTEGER REFERENCES users(id) ON DELETE SET NULL;

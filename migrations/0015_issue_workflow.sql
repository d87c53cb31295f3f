-- "Ignore for 60 minutes": an issue ignored until a time (unix ms) comes back unresolved when
-- the time is up (substatus archived_until_condition_met meanwhile). NULL: not timed.
ALTER TABLE issues ADD COLUMN ignored_until INTEGER;
CREATE INDEX issues_ignored_until ON issues(ignored_until) WHERE ignored_until IS NOT NULL;

-- Who an issue is assigned to (NULL: nobody).
ALTER TABLE issues ADD COLUMN assignee_id INTEGER REFERENCES users(id) ON DELETE SET NULL;
CREATE INDEX issues_assignee ON issues(assignee_id) WHERE assignee_id IS NOT NULL;

-- The user a token acts for (`/api/0/auth/`, `assigned:me`); NULL for tokens made without one.
ALTER TABLE api_tokens ADD COLUMN user_id INTEGER REFERENCES users(id) ON DELETE SET NULL;

-- What happened to an issue, as Sentry's activity: status changes and assignments with who
-- made them, notes, regressions. `data` is JSON (a note's text, an assignee, an ignore's end).
CREATE TABLE issue_activity (
    id          INTEGER PRIMARY KEY,
    issue_id    INTEGER NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    type        TEXT NOT NULL,      -- set_resolved | set_unresolved | set_ignored | assigned | unassigned | note | set_regression
    user_id     INTEGER REFERENCES users(id) ON DELETE SET NULL,
    data        TEXT NOT NULL DEFAULT '{}',
    created_at  INTEGER NOT NULL
);
CREATE INDEX issue_activity_issue ON issue_activity(issue_id, id);
-- A regression is recorded once, however often the evaluator looks.
CREATE UNIQUE INDEX issue_activity_regression ON issue_activity(issue_id, created_at)
    WHERE type = 'set_regression';

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

-- Releases: made by sentry-cli (`releases new`) or by the first event that names one. Ordered
-- by `date_created`, as Sentry orders them: an issue resolved in a release (or in the next one)
-- regresses only when an event of a release created after `resolved_in_release` arrives.
CREATE TABLE releases (
    id              INTEGER PRIMARY KEY,
    version         TEXT NOT NULL UNIQUE,
    date_created    INTEGER NOT NULL,
    date_released   INTEGER,            -- finalized (sentry-cli releases finalize)
    first_event     INTEGER,
    last_event      INTEGER,
    ref             TEXT,
    url             TEXT,
    status          TEXT NOT NULL DEFAULT 'open'    -- open | archived
);
CREATE INDEX releases_date_created ON releases(date_created, id);
CREATE TABLE release_projects (
    release_id  INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    PRIMARY KEY (release_id, project_id)
) WITHOUT ROWID;
CREATE TABLE deploys (
    id              INTEGER PRIMARY KEY,
    release_id      INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    environment     TEXT NOT NULL,
    name            TEXT,
    url             TEXT,
    date_started    INTEGER,
    date_finished   INTEGER NOT NULL
);
CREATE INDEX deploys_release ON deploys(release_id, date_finished);
-- issues.resolved_in_release (there since 0001) is the release an issue was resolved in ("in
-- release X"), or the newest one when it was resolved "in the next release". NULL: resolved
-- outright (any new event regresses it).

-- The releases of events stored before this migration.
INSERT INTO releases (version, date_created, first_event, last_event)
    SELECT release, MIN(received), MIN(timestamp), MAX(timestamp) FROM events
    WHERE release IS NOT NULL GROUP BY release;
INSERT INTO release_projects (release_id, project_id)
    SELECT DISTINCT r.id, e.project_id FROM events e JOIN releases r ON r.version = e.release;

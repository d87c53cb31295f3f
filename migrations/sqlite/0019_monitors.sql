-- Cron monitors (Sentry's crons): a monitor per slug, its state per environment, and every run
-- a client reported or Snag judged (missed, timed out). Times are unix ms.
CREATE TABLE monitors (
    id                      INTEGER PRIMARY KEY,
    guid                    TEXT NOT NULL UNIQUE,           -- 32 hex: the API's id
    project_id              INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    slug                    TEXT NOT NULL UNIQUE,           -- unique in the organization, as in Sentry
    name                    TEXT NOT NULL,
    status                  TEXT NOT NULL DEFAULT 'active', -- active | disabled
    is_muted                INTEGER NOT NULL DEFAULT 0,     -- muted: no issue, no alert
    schedule_type           TEXT NOT NULL,                  -- crontab | interval
    schedule                TEXT NOT NULL,                  -- '0 2 * * *' | '30 minute'
    timezone                TEXT NOT NULL DEFAULT 'UTC',
    checkin_margin          INTEGER NOT NULL DEFAULT 1,     -- minutes
    max_runtime             INTEGER NOT NULL DEFAULT 30,    -- minutes
    failure_issue_threshold INTEGER NOT NULL DEFAULT 1,
    recovery_threshold      INTEGER NOT NULL DEFAULT 1,
    created_at              INTEGER NOT NULL
);
CREATE INDEX monitors_project ON monitors(project_id);

-- A monitor in one environment: what it expects next, and its open incident.
CREATE TABLE monitor_environments (
    id                  INTEGER PRIMARY KEY,
    monitor_id          INTEGER NOT NULL REFERENCES monitors(id) ON DELETE CASCADE,
    environment         TEXT NOT NULL,
    status              TEXT NOT NULL DEFAULT 'active', -- active (no result yet) | ok | error
    created_at          INTEGER NOT NULL,
    last_checkin        INTEGER,
    next_checkin        INTEGER,        -- when the next check-in is expected
    next_checkin_latest INTEGER,        -- that plus the margin: missed once past it
    incident_started    INTEGER,        -- when the open incident began (status error)
    issue_id            INTEGER REFERENCES issues(id) ON DELETE SET NULL,
    owed_occurrence     INTEGER,        -- a failing check-in whose issue event is not yet written
    UNIQUE (monitor_id, environment)
);
CREATE INDEX monitor_environments_due ON monitor_environments(next_checkin_latest);
CREATE INDEX monitor_environments_owed ON monitor_environments(owed_occurrence)
    WHERE owed_occurrence IS NOT NULL;

CREATE TABLE check_ins (
    id                     INTEGER PRIMARY KEY,
    guid                   TEXT NOT NULL,       -- 32 hex: the client's check_in_id, or Snag's
    monitor_environment_id INTEGER NOT NULL REFERENCES monitor_environments(id) ON DELETE CASCADE,
    status                 TEXT NOT NULL,       -- in_progress | ok | error | missed | timeout
    date_added             INTEGER NOT NULL,
    date_updated           INTEGER NOT NULL,
    expected_time          INTEGER,             -- when the schedule expected it
    timeout_at             INTEGER,             -- in progress: when it times out
    duration               INTEGER,             -- ms
    release                TEXT,
    trace_id               TEXT                 -- 32 hex
);
CREATE UNIQUE INDEX check_ins_guid ON check_ins(monitor_environment_id, guid);
CREATE INDEX check_ins_environment ON check_ins(monitor_environment_id, date_added);
CREATE INDEX check_ins_timeout ON check_ins(timeout_at) WHERE timeout_at IS NOT NULL;
-- The newest run still in progress (a check-in without an id closes it).
CREATE INDEX check_ins_in_progress ON check_ins(monitor_environment_id, date_added)
    WHERE status = 'in_progress';
CREATE INDEX check_ins_added ON check_ins(date_added);

-- Check-ins per environment and hour by status, and their durations: the timelines.
CREATE TABLE monitor_hours (
    monitor_environment_id INTEGER NOT NULL REFERENCES monitor_environments(id) ON DELETE CASCADE,
    hour            INTEGER NOT NULL,           -- ms / 3,600,000
    ok              INTEGER NOT NULL DEFAULT 0,
    error           INTEGER NOT NULL DEFAULT 0,
    missed          INTEGER NOT NULL DEFAULT 0,
    timeout         INTEGER NOT NULL DEFAULT 0,
    in_progress     INTEGER NOT NULL DEFAULT 0,
    duration_sum    INTEGER NOT NULL DEFAULT 0, -- ms, of the runs that reported one
    duration_count  INTEGER NOT NULL DEFAULT 0,
    duration_max    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (monitor_environment_id, hour)
) WITHOUT ROWID;

-- Alerts: per-project settings, per-issue rule state (cooldown, re-arm), and the log of every
-- alert (written before it is sent: retries survive restarts, nothing is sent twice).
CREATE TABLE alert_settings (
    project_id          INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    on_new              INTEGER NOT NULL DEFAULT 1,
    on_regression       INTEGER NOT NULL DEFAULT 1,
    on_spike            INTEGER NOT NULL DEFAULT 1,
    spike_min_count     INTEGER NOT NULL DEFAULT 10,
    spike_ratio         REAL NOT NULL DEFAULT 4,
    spike_z             REAL NOT NULL DEFAULT 4,
    frequency_count     INTEGER,                -- "more than N events in M minutes" (NULL: off)
    frequency_minutes   INTEGER,
    cooldown_minutes    INTEGER NOT NULL DEFAULT 30,
    recipients          TEXT,                   -- comma-separated emails; NULL: every user
    max_emails_per_hour INTEGER NOT NULL DEFAULT 20
);

CREATE TABLE alert_state (
    issue_id        INTEGER NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    rule            TEXT NOT NULL,              -- spike | frequency
    last_fired      INTEGER,                    -- unix ms
    armed           INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (issue_id, rule)
) WITHOUT ROWID;

CREATE TABLE alert_log (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    issue_id        INTEGER REFERENCES issues(id) ON DELETE CASCADE,
    rule            TEXT NOT NULL,              -- new | regression | spike | escalating | frequency | digest
    dedupe_key      TEXT NOT NULL UNIQUE,       -- one alert per issue and episode
    reason          TEXT NOT NULL,
    recipients      TEXT NOT NULL,              -- comma-separated
    subject         TEXT NOT NULL,
    body_text       TEXT NOT NULL,
    body_html       TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    status          TEXT NOT NULL,              -- pending | sent | failed | mail_off | capped
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    sent_at         INTEGER
);
CREATE INDEX alert_log_due ON alert_log(status, next_attempt_at);
CREATE INDEX alert_log_issue ON alert_log(issue_id, id DESC);
CREATE INDEX alert_log_project_created ON alert_log(project_id, created_at);

-- Where the alert evaluator has read up to (new issues by id, regressions by time).
CREATE TABLE alert_cursors (
    name    TEXT PRIMARY KEY,
    value   INTEGER NOT NULL
) WITHOUT ROWID;

-- A resolved issue that receives an event becomes unresolved/regressed at this time.
ALTER TABLE issues ADD COLUMN regressed_at INTEGER;
CREATE INDEX issues_regressed_at ON issues(regressed_at) WHERE regressed_at IS NOT NULL;

-- Issues with events in recent minutes (the spike detector's candidates).
CREATE INDEX issue_minutes_minute ON issue_minutes(minute);

-- An existing issue's counters (times_seen, last_seen, the latest title, culprit, level,
-- release, metadata, and its minute counts) arrive as one appended row per issue and minute of
-- each batch, and the batch writer folds these rows into `issues` and `issue_minutes` about
-- every quarter second and whenever it is idle. Updating the issue row (and its three
-- sort indexes) and a minute row per issue and batch rewrote pages scattered over both tables
-- in every commit; the appended rows fill one page. New issues are written whole at once.
CREATE TABLE issue_counts_pending (
    id          INTEGER PRIMARY KEY,
    issue_id    INTEGER NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    minute      INTEGER NOT NULL,       -- unix minute of receive time
    count       INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,       -- the latest event of the row: its time and fields
    title       TEXT NOT NULL,
    culprit     TEXT NOT NULL,
    level       TEXT NOT NULL,
    release     TEXT,
    metadata    TEXT NOT NULL
);

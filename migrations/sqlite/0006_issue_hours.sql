-- Minute buckets older than two days are rolled up into hours (the 14-day chart and the API's
-- stats read both); the minutes themselves serve rates and spike detection.
CREATE TABLE issue_hours (
    issue_id    INTEGER NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    hour        INTEGER NOT NULL,       -- unix hours
    count       INTEGER NOT NULL,
    PRIMARY KEY (issue_id, hour)
) WITHOUT ROWID;

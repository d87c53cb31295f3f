-- What ingest did with what SDKs sent, per project and minute, as Sentry's outcomes (read by
-- the organization stats, `stats_v2/`): accepted, rate_limited, invalid. Ingest counts them in
-- memory and adds them here every few seconds (a crash loses at most those seconds of counts,
-- never an event). Kept 90 days, as Sentry keeps them; projects' deletion leaves their history.
CREATE TABLE outcomes (
    minute      INTEGER NOT NULL,   -- unix minutes
    project_id  INTEGER NOT NULL,
    category    TEXT NOT NULL,      -- error | attachment
    outcome     TEXT NOT NULL,      -- accepted | rate_limited | invalid
    reason      TEXT NOT NULL,      -- why not accepted ('' when accepted)
    quantity    INTEGER NOT NULL,   -- items; bytes for attachments
    times_seen  INTEGER NOT NULL,   -- decisions counted
    PRIMARY KEY (minute, project_id, category, outcome, reason)
) WITHOUT ROWID;

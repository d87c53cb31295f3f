-- Tag counts are written in the event's transaction as one row per event (an append, instead
-- of an upsert per tag), and the batch writer folds these rows into issue_tags about every
-- quarter second. An issue's tag counts are issue_tags plus its pending rows.
CREATE TABLE issue_tags_pending (
    id          INTEGER PRIMARY KEY,
    issue_id    INTEGER NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    timestamp   INTEGER NOT NULL,
    tags        BLOB NOT NULL           -- JSONB [["key","value"], …]
);

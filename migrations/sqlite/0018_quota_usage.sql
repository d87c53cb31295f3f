-- Quotas counted by all nodes together (when several share a PostgreSQL database; SQLite has
-- one node, which counts in memory): per key window or project day, how many events the
-- nodes took between them. Each node takes a share at a time and counts it down in memory.
CREATE TABLE quota_usage (
    scope    TEXT NOT NULL,     -- key:<public key> | day:<project id>
    slot     INTEGER NOT NULL,  -- the window's (or day's) number
    taken    INTEGER NOT NULL,  -- events the nodes took, at most the limit
    granted  INTEGER NOT NULL,  -- what the last ask got
    ends_at  INTEGER NOT NULL,  -- unix ms when the window ends (the row can go then)
    PRIMARY KEY (scope, slot)
) WITHOUT ROWID;

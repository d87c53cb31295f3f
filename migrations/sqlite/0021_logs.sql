-- Structured logs (src/logs): the lines of one log item make one block, a zstd frame of
-- compact JSON (src/logs/block.rs), found by time, project, level and the words of
-- log_search.
CREATE TABLE log_blocks (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL,
    -- Earliest and latest line, nanoseconds since the Unix epoch.
    first_ns INTEGER NOT NULL,
    last_ns INTEGER NOT NULL,
    -- When it arrived, milliseconds since the Unix epoch.
    received INTEGER NOT NULL,
    lines INTEGER NOT NULL,
    -- A bit per level held (trace 1, debug 2, info 4, warn 8, error 16, fatal 32).
    levels INTEGER NOT NULL,
    -- The lines' size as Relay bills it.
    bytes INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX log_blocks_project_last ON log_blocks (project_id, last_ns);

-- The words of each block (rowid = log_blocks.id): body words, t<trace id>, a<attribute hash>.
-- Only the index is kept (content=''), without positions (detail=none); rows are deleted with
-- their blocks (contentless_delete, 12 bytes a block).
CREATE VIRTUAL TABLE log_search USING fts5 (
    words, content = '', contentless_delete = 1, detail = none
);

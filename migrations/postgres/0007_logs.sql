-- Structured logs (src/logs): the lines of one log item make one block, a zstd frame of
-- compact JSON (src/logs/block.rs), found by time, project, level and its words.
CREATE TABLE log_blocks (
    id BIGINT PRIMARY KEY,
    project_id BIGINT NOT NULL,
    -- Earliest and latest line, nanoseconds since the Unix epoch.
    first_ns BIGINT NOT NULL,
    last_ns BIGINT NOT NULL,
    -- When it arrived, milliseconds since the Unix epoch.
    received BIGINT NOT NULL,
    lines INTEGER NOT NULL,
    -- A bit per level held (trace 1, debug 2, info 4, warn 8, error 16, fatal 32).
    levels INTEGER NOT NULL,
    -- The lines' size as Relay bills it.
    bytes BIGINT NOT NULL,
    -- Already compressed: stored as is, not compressed again.
    data BYTEA NOT NULL,
    -- Body words, t<trace id>, a<attribute hash>: lexemes as given (array_to_tsvector).
    words TSVECTOR NOT NULL
);
ALTER TABLE log_blocks ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE INDEX log_blocks_project_last ON log_blocks (project_id, last_ns);
CREATE INDEX log_blocks_words ON log_blocks USING gin (words);

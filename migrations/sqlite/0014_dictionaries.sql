-- Events of one project repeat the same stacks, SDK blocks and contexts, so each project gets
-- zstd dictionaries trained from its own events. An event's blob names its dictionary in its
-- zstd frame header (the dictionary's own id, the key here); a blob without one was written
-- before the project had a dictionary.
CREATE TABLE zstd_dicts (
    id          INTEGER PRIMARY KEY,    -- the dictionary's zstd id
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    data        BLOB NOT NULL,
    samples     INTEGER NOT NULL,       -- events it was trained from
    created_at  INTEGER NOT NULL
);
CREATE INDEX zstd_dicts_project ON zstd_dicts(project_id, created_at);

-- The events a project stored before its first dictionary are rewritten with it: those with
-- ids from next_id up to (not including) end_id, the first id stored with the dictionary.
CREATE TABLE event_recompression (
    project_id  INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    next_id     INTEGER NOT NULL,
    end_id      INTEGER NOT NULL
);

-- A rewritten blob changes the project's stored bytes.
CREATE TRIGGER events_usage_rewritten AFTER UPDATE OF data ON events BEGIN
    UPDATE project_usage SET event_bytes = event_bytes - length(OLD.data) + length(NEW.data)
        WHERE project_id = NEW.project_id;
END;

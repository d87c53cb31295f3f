-- Retention deletes events, attachments and whole issues. Two things must outlive them:

-- The highest issue id and short id each project has used, so that an issue opened after the
-- newest ones were deleted never takes an id (or a PROJ-N name) that links or mails pointed to.
CREATE TABLE issue_id_floors (
    project_id      INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    max_issue_id    INTEGER NOT NULL,
    max_short_id    INTEGER NOT NULL
);

-- What each project holds now: events stored and the bytes of their payloads (the compressed
-- events and the attachments). The batch writer adds one row per project and batch; deletes
-- subtract through the triggers below, whatever deleted the rows (retention, the cascade of
-- an issue's deletion).
CREATE TABLE project_usage (
    project_id          INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    events              INTEGER NOT NULL DEFAULT 0,
    event_bytes         INTEGER NOT NULL DEFAULT 0,
    attachments         INTEGER NOT NULL DEFAULT 0,
    attachment_bytes    INTEGER NOT NULL DEFAULT 0
);

INSERT INTO project_usage (project_id, events, event_bytes)
    SELECT project_id, COUNT(*), SUM(length(data)) FROM events GROUP BY project_id;
INSERT INTO project_usage (project_id, attachments, attachment_bytes)
    SELECT project_id, COUNT(*), SUM(length(data)) FROM attachments GROUP BY project_id
    ON CONFLICT (project_id) DO UPDATE SET attachments = excluded.attachments,
        attachment_bytes = excluded.attachment_bytes;

CREATE TRIGGER events_usage_deleted AFTER DELETE ON events BEGIN
    UPDATE project_usage SET events = events - 1, event_bytes = event_bytes - length(OLD.data)
        WHERE project_id = OLD.project_id;
END;

CREATE TRIGGER attachments_usage_deleted AFTER DELETE ON attachments BEGIN
    UPDATE project_usage SET attachments = attachments - 1,
            attachment_bytes = attachment_bytes - length(OLD.data)
        WHERE project_id = OLD.project_id;
END;

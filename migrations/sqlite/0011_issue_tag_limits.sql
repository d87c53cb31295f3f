-- Distinct tag values kept per issue (10,000) and per (issue, key) (1,000): counted as rows are
-- inserted, and a value not seen before is not added past either limit (known values keep
-- counting). Whatever events carry, an issue's tag rows stay few enough to read on every view.
ALTER TABLE issues ADD COLUMN tag_values INTEGER NOT NULL DEFAULT 0;

CREATE TABLE issue_tag_keys (
    issue_id    INTEGER NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    tag_values  INTEGER NOT NULL,
    PRIMARY KEY (issue_id, key)
) WITHOUT ROWID;

INSERT INTO issue_tag_keys (issue_id, key, tag_values)
    SELECT issue_id, key, COUNT(*) FROM issue_tags GROUP BY issue_id, key;
UPDATE issues SET tag_values = (SELECT COUNT(*) FROM issue_tags t WHERE t.issue_id = issues.id);

-- Fires for the upsert's updates too (before the conflict is known): those rows exist.
CREATE TRIGGER issue_tags_limit BEFORE INSERT ON issue_tags
WHEN ((SELECT tag_values FROM issues WHERE id = NEW.issue_id) >= 10000
      OR (SELECT tag_values FROM issue_tag_keys WHERE issue_id = NEW.issue_id AND key = NEW.key) >= 1000)
     AND NOT EXISTS (SELECT 1 FROM issue_tags
                     WHERE issue_id = NEW.issue_id AND key = NEW.key AND value = NEW.value)
BEGIN
    SELECT RAISE(IGNORE);
END;

CREATE TRIGGER issue_tags_counted AFTER INSERT ON issue_tags BEGIN
    INSERT INTO issue_tag_keys (issue_id, key, tag_values) VALUES (NEW.issue_id, NEW.key, 1)
        ON CONFLICT (issue_id, key) DO UPDATE SET tag_values = tag_values + 1;
    UPDATE issues SET tag_values = tag_values + 1 WHERE id = NEW.issue_id;
END;

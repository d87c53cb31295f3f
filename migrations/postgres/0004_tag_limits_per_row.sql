-- A row trigger AFTER INSERT fires at the end of its statement on PostgreSQL (SQLite fires it
-- after each row), so a fold inserting thousands of new tag values in one statement saw the
-- counts from before it and let them all past the limits (10,000 values per issue, 1,000 per
-- key). The limits' BEFORE trigger now also counts each new value it lets in, row by row;
-- the AFTER trigger goes.
CREATE OR REPLACE FUNCTION issue_tags_limit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM issue_tags
               WHERE issue_id = NEW.issue_id AND key = NEW.key AND value = NEW.value) THEN
        RETURN NEW;
    END IF;
    IF (SELECT tag_values FROM issues WHERE id = NEW.issue_id) >= 10000
       OR (SELECT tag_values FROM issue_tag_keys
           WHERE issue_id = NEW.issue_id AND key = NEW.key) >= 1000 THEN
        RETURN NULL;
    END IF;
    INSERT INTO issue_tag_keys (issue_id, key, tag_values) VALUES (NEW.issue_id, NEW.key, 1)
        ON CONFLICT (issue_id, key) DO UPDATE SET tag_values = issue_tag_keys.tag_values + 1;
    UPDATE issues SET tag_values = tag_values + 1 WHERE id = NEW.issue_id;
    RETURN NEW;
END $$;

DROP TRIGGER issue_tags_counted ON issue_tags;
DROP FUNCTION issue_tags_counted();

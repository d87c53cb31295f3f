-- Quotas counted by all nodes together (as migrations/sqlite/0018_quota_usage.sql).
CREATE TABLE quota_usage (
    scope    TEXT NOT NULL,
    slot     BIGINT NOT NULL,
    taken    BIGINT NOT NULL,
    granted  BIGINT NOT NULL,
    ends_at  BIGINT NOT NULL,
    PRIMARY KEY (scope, slot)
);

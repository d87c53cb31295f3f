-- Per-project grouping rules in Sentry's text syntax, applied at ingest (GROUPING.md §1, §5, §7):
-- stack-trace rules (`stack.function:runApp -app -group`) and fingerprint rules
-- (`error.type:DatabaseError -> database-error`). Empty text: the built-in rules only.
ALTER TABLE projects ADD COLUMN stacktrace_rules TEXT NOT NULL DEFAULT '';
ALTER TABLE projects ADD COLUMN fingerprint_rules TEXT NOT NULL DEFAULT '';

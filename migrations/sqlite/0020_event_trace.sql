-- The trace an event belongs to (`contexts.trace.trace_id`, 32 hex): the errors of a cron
-- run's trace, of a log line's (`trace:` in the issue search).
ALTER TABLE events ADD COLUMN trace_id TEXT;
CREATE INDEX events_trace ON events(trace_id) WHERE trace_id IS NOT NULL;
